"""Generates tests/fixtures/template-renders-extra.json: airtask's own template cases, rendered
by Jinja2 3.1.6 + pendulum 3.1.0 in a context built the way Airflow 3.0.6 builds it (sandboxed
environment, StrictUndefined, the `do` extension, Airflow's filters and macros). They cover what
../shared/reference/template-renders-airflow-3.0.6.json (rendered by real Airflow) does not.

A developer tool, never a dependency of airtask:
    python3 -m venv /tmp/tplref && /tmp/tplref/bin/pip install jinja2==3.1.6 pendulum==3.1.0 python-dateutil
    /tmp/tplref/bin/python scripts/gen_template_cases.py > tests/fixtures/template-renders-extra.json
"""

import datetime
import json
import sys

import dateutil.relativedelta
import pendulum
from jinja2 import StrictUndefined
from jinja2.sandbox import SandboxedEnvironment

REF = json.load(open("../shared/reference/template-renders-airflow-3.0.6.json"))
CTX = REF["context"]
LOGICAL = pendulum.parse(CTX["logical_date"])
RUN_ID = CTX["run_id"]
XCOMS = CTX["xcoms"]


class TI:
    task_id = CTX["task_id"]
    dag_id = CTX["dag_id"]
    run_id = RUN_ID
    try_number = 1
    map_index = -1

    def xcom_pull(self, task_ids=None, dag_id=None, key="return_value", include_prior_dates=False, *, map_indexes=None, default=None, run_id=None):
        if task_ids is None:
            task_ids = self.task_id
        if isinstance(task_ids, str):
            v = XCOMS.get(task_ids, {}).get(key)
            if v is None and map_indexes is not None:
                return default
            return v
        return [XCOMS[t][key] for t in task_ids if key in XCOMS.get(t, {})]


def ds_add(ds, days):
    if not days:
        return str(ds)
    return (datetime.datetime.strptime(str(ds), "%Y-%m-%d") + datetime.timedelta(days=days)).strftime("%Y-%m-%d")


def ds_format(ds, input_format, output_format):
    return datetime.datetime.strptime(str(ds), input_format).strftime(output_format)


_datetime = datetime


class Macros:
    datetime = _datetime.datetime
    timedelta = _datetime.timedelta
    dateutil = dateutil
    ds_add = staticmethod(ds_add)
    ds_format = staticmethod(ds_format)
    json = json


def filters():
    return {
        "ds": lambda v: None if v is None else v.strftime("%Y-%m-%d"),
        "ds_nodash": lambda v: None if v is None else v.strftime("%Y%m%d"),
        "ts": lambda v: None if v is None else v.isoformat(),
        "ts_nodash": lambda v: None if v is None else v.strftime("%Y%m%dT%H%M%S"),
        "ts_nodash_with_tz": lambda v: None if v is None else v.isoformat().replace("-", "").replace(":", ""),
    }


def context():
    return {
        "ds": CTX["ds"], "ds_nodash": CTX["ds_nodash"], "ts": CTX["ts"], "ts_nodash": CTX["ts_nodash"],
        "ts_nodash_with_tz": CTX["ts_nodash_with_tz"], "logical_date": LOGICAL,
        "data_interval_start": LOGICAL, "data_interval_end": LOGICAL, "run_id": RUN_ID,
        "params": json.loads(json.dumps(CTX["params"])), "ti": TI(), "task_instance": TI(),
        "macros": Macros(), "task_instance_key_str": CTX["task_instance_key_str"],
    }


TEMPLATES = [
    # context and dates
    "{{ data_interval_start }}", "{{ logical_date.strftime('%Y/%m/%d %H:%M') }}", "{{ logical_date.month }}",
    "{{ ts_nodash }}|{{ ds_nodash }}", "{{ ti.task_id }}:{{ ti.map_index }}:{{ ti.try_number + 1 }}",
    "{{ logical_date.strftime('%A %B %d %j %U %p') }}", "{{ logical_date.isoformat(' ') }}",
    "{{ (logical_date - macros.timedelta(hours=7)).isoformat() }}", "{{ logical_date.in_timezone('Asia/Kolkata') }}",
    "{{ logical_date.subtract(months=1).to_date_string() }}", "{{ logical_date.end_of('month') }}",
    "{{ logical_date.start_of('week').format('dddd Do MMMM YYYY') }}", "{{ logical_date.weekday() }}|{{ logical_date.isoweekday() }}",
    "{{ logical_date.date() }}", "{{ logical_date.timestamp() }}", "{{ logical_date > macros.datetime(2020, 1, 1).replace(tzinfo=logical_date.tzinfo) }}",
    "{{ logical_date + macros.dateutil.relativedelta.relativedelta(months=-3, day=31) }}",
    "{{ macros.ds_add(ds, 7) }}|{{ macros.ds_add(ds, 0) }}", "{{ macros.ds_format('2025-03-09', '%Y-%m-%d', '%d %b %Y') }}",
    "{{ macros.datetime(2024, 2, 29).strftime('%A %j') }}", "{{ macros.timedelta(seconds=90) }}|{{ macros.timedelta(days=-1) }}",
    "{{ macros.timedelta(hours=36).total_seconds() }}", "{{ macros.timedelta(minutes=1.5) }}",
    "{{ macros.json.dumps(params.cfg) }}", "{{ macros.json.dumps({'b': 1, 'a': [1, 2]}, sort_keys=True) }}",
    "{{ macros.json.loads('{\"a\": [1, 2]}')['a'][1] }}", "{{ logical_date | ts_nodash }}",
    # numbers and printing
    "{{ 3 / 2 }}|{{ 7 // -2 }}|{{ -7 % 3 }}|{{ 2 ** 10 }}|{{ 2 ** -1 }}", "{{ 1e20 }}|{{ 1.5e-7 }}|{{ 123456789.0 * 1000000000 }}",
    "{{ 0.1 * 3 }}|{{ 1 - 0.9 }}|{{ 100.0 }}", "{{ [1.5, 'x', None, {'k': (1, 2)}] }}", "{{ {'a': [1, {'b': none}]} }}",
    "{{ ('a',) + ('b', 'c') }}", "{{ [1, 2] + [3] }}|{{ [0] * 3 }}|{{ 'ab' * 2 }}", "{{ 'x' ~ 1 ~ none ~ 2.0 }}",
    "{{ -params.n }}|{{ +params.ratio }}", "{{ 10 % 3 }}|{{ 10.5 % 3 }}|{{ -10 // 3 }}",
    # filters
    "{{ 2.5 | round }}|{{ 3.14159 | round(2) }}|{{ 2.675 | round(2) }}|{{ 2.5 | round(0, 'floor') }}|{{ 3 | round }}",
    "{{ 42.7 | int }}|{{ '0x1A' | int(0, 16) }}|{{ 'abc' | int }}|{{ 'abc' | int(-1) }}|{{ '3.7' | int }}|{{ true | int }}",
    "{{ [1, 2, 3] | sum }}|{{ [1.5, 2] | sum(start=10) }}", "{{ ['b', 'A', 'c'] | sort }}|{{ ['b', 'A', 'c'] | sort(case_sensitive=true) }}|{{ [3, 1, 2] | sort(reverse=true) }}",
    "{{ 'a,b,,c'.split(',') }}|{{ ' a  b '.split() }}|{{ 'a-b-c'.rsplit('-', 1) }}", "{{ 'Hello World' | replace('o', '0', 1) }}",
    "{{ 'hello' | truncate(3) }}|{{ 'a quick brown fox jumps over' | truncate(12) }}|{{ 'a quick brown fox jumps over' | truncate(12, true) }}",
    "{{ [1, 2, 3, 4, 5] | batch(2) | list }}|{{ [1, 2, 3, 4, 5] | slice(2) | list }}", "[{{ 'hello' | center(11) }}]|[{{ 'ab' | center(5) }}]",
    "{{ [{'n': 'b', 'v': 2}, {'n': 'a', 'v': 1}] | sort(attribute='n') | map(attribute='v') | list }}",
    "{{ [1, 2, 3, 4] | select('odd') | list }}|{{ [1, 2, 3, 4] | reject('even') | list }}|{{ [0, 1, '', 'x'] | select | list }}",
    "{{ [{'a': 1}, {'a': 0}] | selectattr('a') | list }}|{{ [{'a': 1}, {'a': 0}] | rejectattr('a', 'equalto', 1) | list }}",
    "{{ {'b': 1, 'a': 2} | dictsort(by='value') }}|{{ {'b': 1, 'a': 2} | items | list }}",
    "{{ 'abc' | reverse }}|{{ [3, 1, 2] | min }}|{{ [3, 1, 2] | max }}|{{ 'xyz' | first }}|{{ range(5) | last }}",
    "{{ 'foo bar-baz (qux' | title }}|[{{ '  x  ' | trim }}]|{{ 'xxhixx' | trim('x') }}", "{{ '<b>x</b>  y' | striptags }}|{{ '<a>&\"' | e }}",
    "{{ 1234567 | filesizeformat }}|{{ 1 | filesizeformat }}|{{ 2048 | filesizeformat(true) }}", "{{ 'a b/c?d=é' | urlencode }}",
    "{{ {'a': 1, 'b': [1, 2]} | tojson(indent=2) }}", "{{ '<tag>' | tojson }}", "{{ 5 | string | length }}|{{ 'one two  three' | wordcount }}",
    "{{ [['a', 1], ['b', 2]] | map('first') | list }}|{{ 'abc' | list }}|{{ -3.5 | abs }}", "{{ [1, 1, 2] | unique | list }}|{{ ['A', 'a'] | unique | list }}",
    "{{ 'abc' | capitalize }}|{{ 'hello world' | upper | lower }}", "{{ [1, 2] | join }}|{{ ['a', 'b'] | join('|') }}",
    "{{ ['x', 'y'] | map('upper') | join }}", "{{ [{'g': 'a', 'v': 1}, {'g': 'b', 'v': 2}, {'g': 'a', 'v': 3}] | groupby('g') }}",
    "{{ 'line1\\nline2' | indent(2) }}|{{ 'line1\\nline2' | indent(2, true) }}", "{{ '%s=%d' | format('a', 3) }}",
    "{{ none | default('d', true) }}|{{ 0 | default(5, boolean=true) }}|{{ '' | default('e') }}",
    # statements
    "{% for x in [] %}a{% else %}empty{% endfor %}", "{% for x in 'abc' %}{{ loop.revindex }}{{ loop.cycle('+', '-') }}{% endfor %}",
    "{% set a, b = 1, 2 %}{{ a }}{{ b }}", "{% for k, v in params.cfg.items() %}{{ k }}={{ v }};{% endfor %}",
    "{% set ns = namespace(total=0) %}{% for i in [1, 2, 3] %}{% set ns.total = ns.total + i %}{% endfor %}{{ ns.total }}",
    "{% macro greet(name, greeting='hi') %}{{ greeting }} {{ name }}{% endmacro %}{{ greet('bob') }}/{{ greet('amy', 'yo') }}",
    "{% filter upper %}abc {{ ds }}{% endfilter %}", "{% set block %}x{{ 1 + 1 }}{% endset %}[{{ block }}]",
    "a {%- if true -%} b {%- endif -%} c", "{% for x in [1, 2, 3] if x > 1 %}{{ x }}{{ loop.length }}{% endfor %}",
    "{% set x = 1 %}{% for i in [1] %}{% set x = 2 %}{% endfor %}{{ x }}", "{% for a, b in [(1, 2), (3, 4)] %}{{ a + b }},{% endfor %}",
    "{% set d = {} %}{% do d.update({'k': 'v'}) %}{{ d }}", "{% set l = [3, 1] %}{% do l.sort() %}{{ l }}",
    "{# comment #}x{#- trimmed -#} y", "{{ loop is defined }}",
    # str and list methods
    "{{ '{}-{}'.format(ds, 1) }}|{{ '%05.1f' % 3.14159 }}|{{ '{:>8}'.format('x') }}|{{ '{:,}'.format(1234567) }}",
    "{{ '%(a)s-%(b)d' % {'a': 'x', 'b': 2} }}", "{{ ' x '.strip() }}|{{ 'abc'.startswith(('x', 'a')) }}|{{ 'abc'.find('c') }}",
    "{{ 'Hello'[1:-1] }}|{{ 'Hello'[::-1] }}|{{ [1, 2, 3, 4][1::2] }}|{{ [1, 2, 3][-1] }}", "{{ 'a_b'.replace('_', '-').upper() }}",
    "{{ params.cfg.get('missing', 'dflt') }}|{{ params.cfg.get('depth') }}", "{{ params.cfg.values() | list }}",
    "{{ 'x=1'.partition('=') }}", "{{ '42'.zfill(5) }}|{{ '-42'.zfill(5) }}", "{{ 'AbC'.swapcase() }}|{{ 'abc'.islower() }}",
    # tests and logic
    "{{ 3 is odd }}|{{ 4 is divisibleby 2 }}|{{ none is none }}|{{ 'x' is string }}|{{ params is mapping }}",
    "{{ [1] is sequence }}|{{ 1 is number }}|{{ 1.0 is float }}|{{ 1 is integer }}|{{ true is boolean }}",
    "{{ 'a' in 'abc' }}|{{ 1 in [1, 2] }}|{{ 'k' not in {'k': 1} }}", "{{ 1 < 2 < 3 }}|{{ 3 > 2 > 2 }}|{{ 1 == 1.0 }}|{{ true == 1 }}",
    "{{ true and 'x' }}|{{ '' or 'fallback' }}|{{ not [] }}", "{{ 'b' if params.flag else 'c' }}",
    # errors
    "{{ 1 / 0 }}", "{{ [1, 2][5] }}", "{{ 'x' | nosuchfilter }}", "{{ params.n.foo }}", "{{ 'a' < 1 }}",
    "{{ undefined_thing | upper }}", "{% break %}", "{{ none.attr }}", "{{ [1, 2] | join(1) }}x", "{% for %}",
    "{{ macros.ds_add(ds) }}", "{{ params['n'] + none }}", "{{ 'abc'.nosuchmethod() }}", "{{ range(3, 1, 0) }}",
]


def main():
    env = SandboxedEnvironment(undefined=StrictUndefined, extensions=["jinja2.ext.do"], cache_size=0)
    env.filters.update(filters())
    cases = []
    for i, t in enumerate(TEMPLATES):
        case = {"id": f"own_{i:03d}", "template": t}
        try:
            case["expected"] = env.from_string(t).render(**context())
        except Exception as e:  # noqa: BLE001 - every failure is a case
            case["error"] = {"class": type(e).__name__, "message": str(e)}
        cases.append(case)
    json.dump({"generator": "scripts/gen_template_cases.py", "cases": cases}, sys.stdout, indent=1, ensure_ascii=False)
    sys.stdout.write("\n")


main()
