//! From definition bytes to a validated [`Workflow`], collecting every diagnostic on the way.

use std::collections::{BTreeSet, HashMap};

use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp, civil};

use crate::cron::{self, Schedule};
use crate::diag::{Diagnostic, Pos};
use crate::env::expand_vars;
use crate::model::{
    MapSource, Mapping, OperatorCatalog, Origin, Parameter, Task, TriggerRule, Workflow,
};
use crate::rules;
use crate::value::{self, Cast, Map, Value};
use crate::yaml::{self, Key, Node, Yaml};

/// What the loader needs from its caller. The loader itself reads no environment, clock or
/// file: everything comes in here.
pub struct LoadOptions<'a> {
    /// Environment lookup for `$NAME` expansion.
    pub env: &'a dyn Fn(&str) -> Option<String>,
    /// The current time (relative dates such as `"3 days"`, and `for_create`).
    pub now: Timestamp,
    /// Apply the rules of `CreateWorkflow` too: `start_date` must be in the future.
    pub for_create: bool,
    /// The operators this runtime implements.
    pub catalog: &'a dyn OperatorCatalog,
}

/// The outcome of loading a definition.
#[derive(Debug, Clone)]
pub struct Report {
    /// The workflow, when the definition has no errors.
    pub workflow: Option<Workflow>,
    /// Errors and warnings, in the order found.
    pub diagnostics: Vec<Diagnostic>,
}

impl Report {
    /// True when there is at least one error.
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }
}

/// Loads and validates a definition.
pub fn load(bytes: &[u8], opts: &LoadOptions<'_>) -> Report {
    let mut l = Loader {
        opts,
        diags: Vec::new(),
    };
    let workflow = l.load(bytes);
    let has_errors = l.diags.iter().any(Diagnostic::is_error);
    Report {
        workflow: if has_errors { None } else { workflow },
        diagnostics: l.diags,
    }
}

/// The error for a definition of `len` bytes, when that is over MWAA Serverless's 50 KB quota.
/// Callers that can see the size before reading (an S3 object's Content-Length, a file's
/// metadata) use it to refuse without reading.
pub fn size_diagnostic(len: u64) -> Option<Diagnostic> {
    (len > rules::MAX_DEFINITION_BYTES as u64).then(|| {
        Diagnostic::error(format!(
            "the definition is {len} bytes; MWAA Serverless accepts definitions of at most {} \
             bytes (50 KB). Split the workflow or move long inline text (scripts, SQL, \
             templates) to S3.",
            rules::MAX_DEFINITION_BYTES
        ))
    })
}

struct Loader<'a> {
    opts: &'a LoadOptions<'a>,
    diags: Vec<Diagnostic>,
}

/// One key and value of a mapping.
type Entry = (Key, Node);
/// The entries of a mapping.
type Entries<'a> = &'a [Entry];

fn entries(node: &Node) -> Option<&[(Key, Node)]> {
    match &node.value {
        Yaml::Map(m) => Some(m),
        _ => None,
    }
}

fn get<'n>(m: &'n [(Key, Node)], key: &str) -> Option<&'n Node> {
    m.iter().find(|(k, _)| k.text == key).map(|(_, v)| v)
}

/// dag-factory's recursive dict merge: values of `over` win; mappings merge key by key; lists
/// and scalars are replaced whole.
fn merge(base: &Node, over: &Node) -> Node {
    match (&base.value, &over.value) {
        (Yaml::Map(b), Yaml::Map(o)) => {
            let mut out: Vec<(Key, Node)> = Vec::with_capacity(b.len() + o.len());
            for (k, v) in o {
                match get(b, &k.text) {
                    Some(bv) => out.push((k.clone(), merge(bv, v))),
                    None => out.push((k.clone(), v.clone())),
                }
            }
            for (k, v) in b {
                if get(o, &k.text).is_none() {
                    out.push((k.clone(), v.clone()));
                }
            }
            Node {
                value: Yaml::Map(out),
                pos: over.pos,
            }
        }
        _ => over.clone(),
    }
}

/// Airflow's KEY_REGEX (`^[\w.-]+$`) and length limit.
fn check_id(id: &str) -> Result<(), String> {
    if id.is_empty() {
        return Err("it is empty".into());
    }
    if id.chars().count() > rules::MAX_ID_LEN {
        return Err(format!(
            "it is longer than {} characters",
            rules::MAX_ID_LEN
        ));
    }
    if let Some(c) = id
        .chars()
        .find(|c| !(c.is_alphanumeric() || matches!(c, '_' | '.' | '-')))
    {
        return Err(format!(
            "it contains {c:?}; ids may contain only letters, digits, '_', '-' and '.'"
        ));
    }
    Ok(())
}

fn duration_of(v: &Value) -> Result<SignedDuration, String> {
    match v {
        Value::Int(i) => Ok(SignedDuration::from_secs(*i)),
        Value::Float(f) if f.is_finite() => {
            SignedDuration::try_from_secs_f64(*f).map_err(|_| format!("{f} is out of range"))
        }
        Value::Duration(d) => Ok(*d),
        other => Err(format!(
            "it must be a number of seconds or a {{__type__: datetime.timedelta, ...}} object, \
             found {}",
            other.kind()
        )),
    }
}

/// A duration setting checked against MWAA Serverless's bounds: 0 (or, with `positive`, more
/// than 0) to `max_secs`. Null means "not set".
fn bounded_duration(
    name: &str,
    value: &Value,
    positive: bool,
    max_secs: i64,
) -> Result<Option<SignedDuration>, String> {
    if *value == Value::Null {
        return Ok(None);
    }
    let d = duration_of(value).map_err(|why| format!("{name} is not a duration: {why}"))?;
    let low_ok = if positive {
        d.is_positive()
    } else {
        !d.is_negative()
    };
    if low_ok && d <= SignedDuration::from_secs(max_secs) {
        return Ok(Some(d));
    }
    let low = if positive {
        "more than 0 and at most"
    } else {
        "0 to"
    };
    Err(format!(
        "{name} is {}; MWAA Serverless allows {low} {max_secs} s",
        secs_text(d)
    ))
}

/// An outlet as Airflow builds it: an `airflow.sdk.Asset` with a name or a URI (a missing one
/// is the other).
fn asset(v: &Value) -> Option<crate::model::Asset> {
    let Value::Map(m) = v else { return None };
    let class = m.get("__type__").and_then(Value::as_str)?;
    if !crate::value::ASSET_TYPES.contains(&class) {
        return None;
    }
    let name = m.get("name").and_then(Value::as_str);
    let uri = m.get("uri").and_then(Value::as_str);
    let (name, uri) = match (name, uri) {
        (Some(n), Some(u)) => (n, u),
        (Some(n), None) => (n, n),
        (None, Some(u)) => (u, u),
        (None, None) => return None,
    };
    Some(crate::model::Asset {
        name: name.to_owned(),
        uri: uri.to_owned(),
    })
}

fn secs_text(d: SignedDuration) -> String {
    let s = d.as_secs_f64();
    if s.fract() == 0.0 {
        format!("{} s", s as i64)
    } else {
        format!("{s} s")
    }
}

/// One group of `task_groups`.
struct Group {
    name: String,
    parent: Option<(String, Pos)>,
    /// Id of the group once parents are resolved (`outer.inner`).
    full_id: String,
    /// What member ids are prefixed with (`prefix_group_id: false` keeps the parent's).
    child_prefix: String,
    prefix_group_id: bool,
    dependencies: Vec<(String, Pos)>,
    default_args: Option<Node>,
    pos: Pos,
}

/// A task definition before validation.
struct TaskDef<'n> {
    full_id: String,
    /// The task's key (or `task_id`) as written, before any group prefix.
    name: String,
    group: Option<usize>,
    node_pos: Pos,
    entries: Entries<'n>,
}

/// The task-level settings being collected, with their defaults.
struct Settings {
    retries: u32,
    retry_delay: SignedDuration,
    execution_timeout: SignedDuration,
    trigger_rule: TriggerRule,
    params: Map,
    role_arn: Option<String>,
    do_xcom_push: bool,
    parameters: Vec<Parameter>,
    outlets: Vec<crate::model::Asset>,
}

impl std::default::Default for Settings {
    fn default() -> Self {
        Settings {
            retries: 0,
            retry_delay: SignedDuration::from_secs(rules::MAX_RETRY_DELAY_SECS),
            execution_timeout: SignedDuration::from_secs(rules::MAX_EXECUTION_TIMEOUT_SECS),
            trigger_rule: TriggerRule::AllSuccess,
            params: Map::default(),
            role_arn: None,
            do_xcom_push: true,
            parameters: Vec::new(),
            outlets: Vec::new(),
        }
    }
}

/// Keys of a task that are structure, not settings or operator parameters.
const STRUCTURE_KEYS: &[&str] = &[
    "operator",
    "decorator",
    "dependencies",
    "depends_on",
    "task_group_name",
    "parent_group_name",
    "task_id",
    "expand",
    "partial",
];

/// Checks that `arn` is a well-formed IAM role ARN (`arn:aws:iam::<12 digits>:role/<name>`, any
/// partition, with a path); the error says what to write.
///
/// # Errors
/// When it is not one.
pub fn check_role_arn(arn: &str) -> Result<(), String> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let ok = parts.len() == 6
        && parts[0] == "arn"
        && parts[1].starts_with("aws")
        && parts[2] == "iam"
        && parts[3].is_empty()
        && parts[4].len() == 12
        && parts[4].bytes().all(|b| b.is_ascii_digit())
        && parts[5].strip_prefix("role/").is_some_and(|name| {
            let name = name.rsplit('/').next().unwrap_or("");
            !name.is_empty()
                && name.len() <= 64
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c))
        });
    if ok {
        Ok(())
    } else {
        Err(format!(
            "'{arn}' is not an IAM role ARN; write arn:aws:iam::<12-digit account>:role/<name>"
        ))
    }
}

impl Loader<'_> {
    fn push(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }

    fn load(&mut self, bytes: &[u8]) -> Option<Workflow> {
        if let Some(d) = size_diagnostic(bytes.len() as u64) {
            self.push(d);
            return None;
        }
        let text = match std::str::from_utf8(bytes) {
            Ok(t) => t,
            Err(e) => {
                let before = &bytes[..e.valid_up_to()];
                let line = before.iter().filter(|b| **b == b'\n').count() + 1;
                let line_start = before
                    .iter()
                    .rposition(|b| *b == b'\n')
                    .map_or(0, |i| i + 1);
                let col = String::from_utf8_lossy(&before[line_start..])
                    .chars()
                    .count()
                    + 1;
                self.push(
                    Diagnostic::error(format!(
                        "the definition is not valid UTF-8 (byte 0x{:02x} at offset {}); save it \
                         as UTF-8",
                        bytes[e.valid_up_to()],
                        e.valid_up_to()
                    ))
                    .at(Pos { line, col }),
                );
                return None;
            }
        };
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let text = expand_vars(text, self.opts.env);
        let root = match yaml::parse(&text) {
            Ok(Some(root)) => root,
            Ok(None) => {
                self.push(Diagnostic::error(
                    "the definition is empty; it must be a mapping of one workflow id to its \
                     settings, e.g. `my_workflow: {schedule: None, tasks: {...}}`",
                ));
                return None;
            }
            Err(e) => {
                let mut d = Diagnostic::error(format!("the YAML cannot be read: {}", e.message));
                d.pos = e.pos;
                self.push(d);
                return None;
            }
        };
        let Some(top) = entries(&root) else {
            self.push(
                Diagnostic::error(format!(
                    "the definition must be a mapping of one workflow id to its settings, found \
                     {}",
                    root.value.kind()
                ))
                .at(root.pos),
            );
            return None;
        };
        if let Some(id_node) = get(top, "dag_id")
            && get(top, "tasks").is_some()
        {
            return self.flat(id_node, &root);
        }
        let defaults = get(top, "default");
        let dags: Vec<&(Key, Node)> = top
            .iter()
            .filter(|(k, _)| k.text != "default" && k.text != "task_groups")
            .collect();
        let (dag_key, dag_node) = match dags.as_slice() {
            [one] => (&one.0, &one.1),
            [] => {
                self.push(
                    Diagnostic::error(
                        "the definition holds no workflow; write `<workflow_id>:` at the top \
                         level with the workflow's settings and tasks below it",
                    )
                    .at(root.pos),
                );
                return None;
            }
            [_, second, ..] => {
                let names: Vec<&str> = dags.iter().map(|(k, _)| k.text.as_str()).collect();
                self.push(
                    Diagnostic::error(format!(
                        "the definition holds {} workflows ({}); MWAA Serverless takes exactly \
                         one workflow per definition file",
                        dags.len(),
                        names.join(", ")
                    ))
                    .at(second.0.pos),
                );
                return None;
            }
        };
        let dag_node = match defaults {
            Some(d) if entries(d).is_some() => std::borrow::Cow::Owned(merge(d, dag_node)),
            Some(d) => {
                self.push(
                    Diagnostic::error(format!(
                        "`default` must be a mapping of workflow settings, found {}",
                        d.value.kind()
                    ))
                    .key("default")
                    .at(d.pos),
                );
                return None;
            }
            None => std::borrow::Cow::Borrowed(dag_node),
        };
        self.workflow(dag_key, &dag_node)
    }

    /// The MWAA Serverless user guide's flat form: `dag_id:`, the settings and `tasks:` at the
    /// top level. Read as the workflow `dag_id` names, with a warning that says how dag-factory
    /// wants it written.
    fn flat(&mut self, id_node: &Node, root: &Node) -> Option<Workflow> {
        let Yaml::Str(id) = &id_node.value else {
            self.push(
                Diagnostic::error(format!(
                    "dag_id must be the workflow id, a string, found {}",
                    id_node.value.kind()
                ))
                .key("dag_id")
                .at(id_node.pos),
            );
            return None;
        };
        self.push(
            Diagnostic::warning(format!(
                "the definition is in the flat form of the MWAA Serverless user guide (`dag_id`, \
                 the settings and `tasks` at the top level); it is read as workflow '{id}'. \
                 dag-factory expects the workflow id as the one top-level key with the settings \
                 indented below it: `{id}:` then `  schedule: ...` and `  tasks: ...`"
            ))
            .key("dag_id")
            .at(id_node.pos),
        );
        let key = Key {
            text: id.clone(),
            pos: id_node.pos,
        };
        self.workflow(&key, root)
    }

    /// Casts the value of a key that is ignored anyway. A `__type__` airtask does not know
    /// (`airflow.datasets.DatasetAlias` in `outlets`) cannot matter there: it becomes one
    /// warning that the key is ignored, not an error.
    fn cast_ignored(
        &mut self,
        node: &Node,
        task: Option<&str>,
        key: &str,
        reason: &str,
    ) -> Option<Value> {
        match value::cast(node) {
            Err(d)
                if d.key.as_deref() == Some("__type__")
                    && d.message.starts_with("unknown `__type__`") =>
            {
                let ty = d
                    .message
                    .split('\'')
                    .nth(1)
                    .unwrap_or("an unknown type")
                    .to_owned();
                self.push(
                    Diagnostic::warning(format!(
                        "`{key}` is ignored: {reason}. Its value holds a `__type__` airtask does \
                         not know ({ty}), which does not matter as the key is ignored"
                    ))
                    .task_opt(task)
                    .key(key)
                    .at(d.pos.unwrap_or(node.pos)),
                );
                None
            }
            _ => self.cast(node, task, key),
        }
    }

    /// The one warning for a dag-factory callback given by name and file.
    fn callback_pair_warning(&mut self, task: Option<&str>, key: &str, pos: Pos) {
        // The pair earns one warning, on its `_name` key.
        if !key.ends_with("_name") {
            return;
        }
        let callback = rules::dag_factory_callback(key).unwrap_or(key);
        self.push(
            Diagnostic::warning(format!(
                "`{key}` and `{callback}_file` are ignored: dag-factory makes them the \
                 `{callback}` (a Python function), and MWAA Serverless does not run callbacks"
            ))
            .task_opt(task)
            .key(key)
            .at(pos),
        );
    }

    fn cast(&mut self, node: &Node, task: Option<&str>, key: &str) -> Option<Value> {
        match value::cast(node) {
            Ok(Cast::Value(v)) => Some(v),
            Ok(Cast::NotSet) => None,
            Err(mut d) => {
                d.task = task.map(str::to_owned);
                if d.key.is_none() || d.key.as_deref() == Some("__type__") {
                    d.key = Some(key.to_owned());
                }
                self.push(d);
                None
            }
        }
    }

    fn workflow(&mut self, key: &Key, node: &Node) -> Option<Workflow> {
        let workflow_id = key.text.clone();
        if let Err(why) = check_id(&workflow_id) {
            self.push(
                Diagnostic::error(format!(
                    "the workflow id '{workflow_id}' is not valid: {why}"
                ))
                .key("dag_id")
                .at(key.pos),
            );
        }
        let Some(m) = entries(node) else {
            self.push(
                Diagnostic::error(format!(
                    "the settings of workflow '{workflow_id}' must be a mapping, found {}",
                    node.value.kind()
                ))
                .at(node.pos),
            );
            return None;
        };

        for (k, v) in m {
            let name = k.text.as_str();
            match name {
                "dag_id" => {
                    if let Yaml::Str(s) = &v.value
                        && *s != workflow_id
                    {
                        self.push(
                            Diagnostic::warning(format!(
                                "the inner dag_id '{s}' differs from the top-level key \
                                 '{workflow_id}'; as in dag-factory, the key is the workflow id"
                            ))
                            .key("dag_id")
                            .at(v.pos),
                        );
                    }
                }
                "params" | "default_args" | "schedule" | "start_date" | "end_date" | "timezone"
                | "tasks" | "task_groups" | "max_active_runs" => {}
                "schedule_interval" => self.push(if get(m, "schedule").is_some() {
                    Diagnostic::error(
                        "both `schedule` and `schedule_interval` are given; Airflow 3 removed \
                         `schedule_interval`: keep only `schedule:`",
                    )
                    .key(name)
                    .at(k.pos)
                } else {
                    Diagnostic::warning(
                        "`schedule_interval` was removed in Airflow 3 (dag-factory 1.0 refuses \
                         it), but the MWAA Serverless documentation still shows it; it is read \
                         as `schedule`. Write `schedule:` instead",
                    )
                    .key(name)
                    .at(k.pos)
                }),
                _ if rules::DAG_FACTORY_DOC_KEYS.contains(&name) => {}
                _ if rules::dag_factory_callback(name).is_some() => {
                    self.callback_pair_warning(None, name, k.pos)
                }
                _ => {
                    if let Some((_, default)) = rules::IGNORED_WORKFLOW_KEYS
                        .iter()
                        .find(|(n, _)| *n == name)
                    {
                        if let Some(val) =
                            self.cast_ignored(v, None, name, rules::ignored_reason(name))
                            && !default.is_default(&val)
                        {
                            self.push(
                                Diagnostic::warning(format!(
                                    "`{name}` is ignored: {}",
                                    rules::ignored_reason(name)
                                ))
                                .key(name)
                                .at(k.pos),
                            );
                        }
                    } else {
                        self.push(
                            Diagnostic::warning(format!(
                                "`{name}` is not a workflow setting that dag-factory or MWAA \
                                 Serverless knows; it is ignored (a typo?)"
                            ))
                            .key(name)
                            .at(k.pos),
                        );
                    }
                }
            }
        }

        let tz = self.timezone(m, "timezone");
        let default_args = get(m, "default_args").cloned();
        if let Some(da) = &default_args
            && entries(da).is_none()
            && !matches!(da.value, Yaml::Null)
        {
            self.push(
                Diagnostic::error(format!(
                    "`default_args` must be a mapping, found {}",
                    da.value.kind()
                ))
                .key("default_args")
                .at(da.pos),
            );
        }
        let da_entries = default_args.as_ref().and_then(entries);
        // dag-factory reads a date in `default_args` in `default_args.timezone` (UTC when
        // absent), and a workflow-level date in the workflow-level `timezone`.
        let da_tz = match da_entries {
            Some(da) => self.timezone(da, "default_args.timezone"),
            None => TimeZone::UTC,
        };

        let schedule = self.schedule(m);
        let start_date = self.date_setting(m, da_entries, "start_date", &tz, &da_tz);
        let end_date = self.date_setting(m, da_entries, "end_date", &tz, &da_tz);
        // Airflow reads a cron schedule in the time zone of the start date.
        let timezone = match (get(m, "start_date"), &start_date) {
            (None, Some(_)) => da_tz,
            _ => tz,
        };
        if let (Some((s, _)), Some((e, epos))) = (start_date, end_date)
            && e < s
        {
            self.push(
                Diagnostic::error(format!(
                    "end_date {e} is before start_date {s}; end_date must be on or after \
                     start_date"
                ))
                .key("end_date")
                .at(epos),
            );
        }
        if self.opts.for_create
            && let Some((s, spos)) = start_date
            && s <= self.opts.now
        {
            self.push(
                Diagnostic::error(format!(
                    "start_date {s} is not in the future (now is {}); MWAA Serverless's \
                     CreateWorkflow requires a future start_date",
                    self.opts.now
                ))
                .key("start_date")
                .at(spos),
            );
        }
        let max_active_runs = self.max_active_runs(m);
        let params = match get(m, "params") {
            None => Map::default(),
            Some(p) => match self.cast(p, None, "params") {
                Some(Value::Map(map)) => map,
                None | Some(Value::Null) => Map::default(),
                Some(other) => {
                    self.push(
                        Diagnostic::error(format!(
                            "`params` must be a mapping of names to values, found {}",
                            other.kind()
                        ))
                        .key("params")
                        .at(p.pos),
                    );
                    Map::default()
                }
            },
        };

        // default_args are checked once here; tasks that inherit a value do not repeat its
        // diagnostics.
        if let Some(da) = da_entries {
            let mut scratch = Settings::default();
            for (k, v) in da {
                self.setting(&mut scratch, None, "default_args.", k, v, Origin::Task);
            }
        }

        let groups = self.groups(m);
        let tasks = self.tasks(m, &groups, da_entries);

        Some(Workflow {
            workflow_id,
            schedule,
            start_date: start_date.map(|(t, _)| t),
            end_date: end_date.map(|(t, _)| t),
            timezone,
            max_active_runs,
            params,
            tasks,
        })
    }

    /// The `timezone` of `m` (the workflow's settings or its `default_args`); UTC when absent.
    /// `key` names it in diagnostics.
    fn timezone(&mut self, m: &[(Key, Node)], key: &str) -> TimeZone {
        let Some(node) = get(m, "timezone") else {
            return TimeZone::UTC;
        };
        match &node.value {
            Yaml::Str(name) => match TimeZone::get(name) {
                Ok(tz) => tz,
                Err(_) => {
                    self.push(
                        Diagnostic::error(format!(
                            "'{name}' is not a known time zone; use an IANA name such as UTC or \
                             America/New_York"
                        ))
                        .key(key)
                        .at(node.pos),
                    );
                    TimeZone::UTC
                }
            },
            other => {
                self.push(
                    Diagnostic::error(format!(
                        "`{key}` must be an IANA time zone name, found {}",
                        other.kind()
                    ))
                    .key(key)
                    .at(node.pos),
                );
                TimeZone::UTC
            }
        }
    }

    fn schedule(&mut self, m: &[(Key, Node)]) -> Option<Schedule> {
        let (node, key) = match get(m, "schedule") {
            Some(n) => (n, "schedule"),
            None => (get(m, "schedule_interval")?, "schedule_interval"),
        };
        let diag = |msg: String| Diagnostic::error(msg).key(key).at(node.pos);
        match self.cast(node, None, key)? {
            Value::Null => None,
            Value::Str(s) if s.trim().eq_ignore_ascii_case("none") => None,
            Value::Str(s) => match cron::parse_schedule(&s) {
                Ok(sch) => Some(sch),
                Err(why) => {
                    self.push(diag(format!(
                        "'{s}' is not a valid schedule: {why}. A schedule is a cron expression, \
                         a preset such as @daily, or None"
                    )));
                    None
                }
            },
            Value::Map(map)
                if map.get("__type__").and_then(Value::as_str)
                    == Some("airflow.timetables.trigger.CronTriggerTimetable") =>
            {
                match map
                    .get("cron")
                    .and_then(Value::as_str)
                    .map(cron::parse_schedule)
                {
                    Some(Ok(sch)) => Some(sch),
                    Some(Err(why)) => {
                        self.push(diag(format!(
                            "the CronTriggerTimetable's cron is not valid: {why}"
                        )));
                        None
                    }
                    None => {
                        self.push(diag("a CronTriggerTimetable needs a `cron` string".into()));
                        None
                    }
                }
            }
            Value::Duration(d) => {
                self.push(diag(format!(
                    "a time-delta schedule ({}) is not supported by MWAA Serverless; write a \
                     cron expression or a preset such as @hourly",
                    secs_text(d)
                )));
                None
            }
            other => {
                self.push(diag(format!(
                    "a schedule must be a cron expression, a preset such as @daily, or None; \
                     found {} (MWAA Serverless does not support asset or dataset schedules)",
                    other.kind()
                )));
                None
            }
        }
    }

    fn date_setting(
        &mut self,
        m: &[(Key, Node)],
        da: Option<&[(Key, Node)]>,
        name: &str,
        tz: &TimeZone,
        da_tz: &TimeZone,
    ) -> Option<(Timestamp, Pos)> {
        let (node, key, tz) = match get(m, name) {
            Some(n) => (n, name.to_owned(), tz),
            None => (get(da?, name)?, format!("default_args.{name}"), da_tz),
        };
        let value = self.cast(node, None, &key)?;
        if matches!(value, Value::Null) {
            return None;
        }
        match self.to_timestamp(&value, tz) {
            Ok(t) => Some((t, node.pos)),
            Err(why) => {
                self.push(
                    Diagnostic::error(format!("{key} is not a valid date: {why}"))
                        .key(key)
                        .at(node.pos),
                );
                None
            }
        }
    }

    fn to_timestamp(&self, v: &Value, tz: &TimeZone) -> Result<Timestamp, String> {
        let in_tz = |dt: civil::DateTime| tz.to_timestamp(dt).map_err(|e| e.to_string());
        let with_offset = |dt: civil::DateTime, secs: i32| {
            jiff::tz::Offset::from_seconds(secs)
                .and_then(|o| o.to_timestamp(dt))
                .map_err(|e| e.to_string())
        };
        match v {
            Value::Date(d) => in_tz(d.to_datetime(civil::Time::midnight())),
            Value::DateTime(dt, None) => in_tz(*dt),
            Value::DateTime(dt, Some(off)) => with_offset(*dt, *off),
            Value::Str(s) => {
                let s = s.trim();
                if let Some(delta) = relative_delta(s) {
                    let today = self
                        .opts
                        .now
                        .to_zoned_datetime(tz.clone())
                        .date()
                        .to_datetime(civil::Time::midnight());
                    return in_tz(today)
                        .and_then(|t| t.checked_sub(delta).map_err(|e| e.to_string()));
                }
                if let Ok(t) = s.parse::<Timestamp>() {
                    return Ok(t);
                }
                if let Ok(dt) = s.parse::<civil::DateTime>() {
                    return in_tz(dt);
                }
                if let Ok(d) = s.parse::<civil::Date>() {
                    return in_tz(d.to_datetime(civil::Time::midnight()));
                }
                Err(format!(
                    "'{s}' is not a date; write YYYY-MM-DD, an ISO 8601 date and time, a \
                     {{__type__: datetime.datetime, ...}} object or a relative \"N days\""
                ))
            }
            other => Err(format!("expected a date, found {}", other.kind())),
        }
    }

    fn max_active_runs(&mut self, m: &[(Key, Node)]) -> u32 {
        let Some(node) = get(m, "max_active_runs") else {
            return rules::DEFAULT_MAX_ACTIVE_RUNS;
        };
        match self.cast(node, None, "max_active_runs") {
            Some(Value::Int(n)) if (1..=rules::MAX_ACTIVE_RUNS).contains(&n) => n as u32,
            None | Some(Value::Null) => rules::DEFAULT_MAX_ACTIVE_RUNS,
            Some(v) => {
                let shown = match &v {
                    Value::Int(n) => n.to_string(),
                    other => other.kind().to_owned(),
                };
                self.push(
                    Diagnostic::error(format!(
                        "max_active_runs is {shown}; MWAA Serverless allows 1 to {} concurrent \
                         runs per workflow",
                        rules::MAX_ACTIVE_RUNS
                    ))
                    .key("max_active_runs")
                    .at(node.pos),
                );
                rules::DEFAULT_MAX_ACTIVE_RUNS
            }
        }
    }

    /// Handles one task setting (or `default_args` entry). `report` diagnostics only for values
    /// written where they are being checked (`Origin::Task`), so inherited values are reported
    /// once, at their source.
    fn setting(
        &mut self,
        s: &mut Settings,
        task: Option<&str>,
        key_prefix: &str,
        key: &Key,
        node: &Node,
        origin: Origin,
    ) {
        let name = key.text.as_str();
        if STRUCTURE_KEYS.contains(&name) {
            return;
        }
        let report = origin != Origin::DefaultArgs;
        let full_key = format!("{key_prefix}{name}");
        if rules::dag_factory_callback(name).is_some() {
            if report {
                self.callback_pair_warning(task, &full_key, key.pos);
            }
            return;
        }
        let before = self.diags.len();
        let ignored_default = rules::IGNORED_TASK_KEYS
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, d)| *d);
        let value = if ignored_default.is_some() {
            self.cast_ignored(node, task, &full_key, rules::ignored_reason(name))
        } else {
            self.cast(node, task, &full_key)
        };
        let Some(value) = value else {
            if !report {
                self.diags.truncate(before);
            }
            return;
        };
        let mut diag: Option<Diagnostic> = None;
        let mut ignored: Option<String> = None;
        let mut error = |msg: String| {
            diag = Some(Diagnostic::error(msg));
        };
        match name {
            "retries" => match value {
                Value::Int(n) if (0..=rules::MAX_RETRIES).contains(&n) => s.retries = n as u32,
                Value::Null => {}
                Value::Int(n) => error(format!(
                    "retries is {n}; MWAA Serverless allows 0 to {} retries",
                    rules::MAX_RETRIES
                )),
                other => error(format!(
                    "retries must be a whole number from 0 to {}, found {}",
                    rules::MAX_RETRIES,
                    other.kind()
                )),
            },
            "retry_delay" => {
                match bounded_duration(name, &value, false, rules::MAX_RETRY_DELAY_SECS) {
                    Ok(Some(d)) => s.retry_delay = d,
                    Ok(None) => {}
                    Err(why) => error(why),
                }
            }
            "execution_timeout" => {
                match bounded_duration(name, &value, true, rules::MAX_EXECUTION_TIMEOUT_SECS) {
                    Ok(Some(d)) => s.execution_timeout = d,
                    Ok(None) => {}
                    Err(why) => error(why),
                }
            }
            "trigger_rule" => {
                let text = match &value {
                    Value::Str(t) => Some(t.as_str()),
                    Value::Enum { value, .. } => value.as_str(),
                    _ => None,
                };
                match text.and_then(TriggerRule::parse) {
                    Some(r) => s.trigger_rule = r,
                    None => error(format!(
                        "{} is not a trigger rule; the rules are {}",
                        text.map_or_else(|| value.kind().to_owned(), |t| format!("'{t}'")),
                        TriggerRule::ALL.map(TriggerRule::as_str).join(", ")
                    )),
                }
            }
            "params" => match value {
                Value::Map(m) => s.params = m,
                Value::Null => {}
                other => error(format!(
                    "params must be a mapping of names to values, found {}",
                    other.kind()
                )),
            },
            "do_xcom_push" => match value {
                Value::Bool(b) => s.do_xcom_push = b,
                other => error(format!(
                    "do_xcom_push must be true or false, found {}",
                    other.kind()
                )),
            },
            "task_iam_role_arn" => match value {
                Value::Str(arn) => match check_role_arn(&arn) {
                    Ok(()) => s.role_arn = Some(arn),
                    Err(why) => error(why),
                },
                Value::Null => {}
                other => error(format!(
                    "{name} must be an IAM role ARN string, found {}",
                    other.kind()
                )),
            },
            "verify" | "botocore_config" => error(format!(
                "`{name}` is not allowed: MWAA Serverless refuses it, and airtask takes TLS and \
                 client settings from the environment, never from a definition"
            )),
            "aws_conn_id" => {
                let default =
                    matches!(&value, Value::Null) || value.as_str() == Some("aws_default");
                if !default {
                    ignored = Some(
                        "aws_conn_id is ignored: there are no Airflow connections here; identity \
                         comes from the execution role (and the task's task_iam_role_arn)"
                            .to_owned(),
                    );
                }
            }
            "outlets" => match value {
                Value::Null => {}
                Value::List(items) => {
                    for (i, item) in items.iter().enumerate() {
                        match asset(item) {
                            Some(a) => s.outlets.push(a),
                            None => {
                                ignored = Some(format!(
                                    "entry {i} of `outlets` is ignored: an outlet is an Airflow 3 \
                                     asset, `{{__type__: airflow.sdk.Asset, name: ..., uri: ...}}`, \
                                     found {}",
                                    item.kind()
                                ))
                            }
                        }
                    }
                }
                other => {
                    ignored = Some(format!(
                        "`outlets` is ignored: it must be a list of assets \
                         (`{{__type__: airflow.sdk.Asset, name: ..., uri: ...}}`), found {}",
                        other.kind()
                    ))
                }
            },
            "region_name" => {
                if !matches!(value, Value::Null) {
                    ignored = Some(
                        "region_name is ignored: the region comes from the environment \
                         (AWS_REGION), as in MWAA Serverless"
                            .to_owned(),
                    );
                }
            }
            _ => match ignored_default {
                Some(default) => {
                    if !default.is_default(&value) {
                        ignored = Some(format!(
                            "`{name}` is ignored: {}",
                            rules::ignored_reason(name)
                        ));
                    }
                }
                None => s.parameters.push(Parameter {
                    name: name.to_owned(),
                    value,
                    pos: node.pos,
                    origin,
                }),
            },
        }
        if !report {
            return;
        }
        if let Some(msg) = ignored {
            self.push(
                Diagnostic::warning(msg)
                    .task_opt(task)
                    .key(full_key.clone())
                    .at(key.pos),
            );
        }
        if let Some(d) = diag {
            self.push(d.task_opt(task).key(full_key).at(node.pos));
        }
    }

    fn groups(&mut self, m: &[(Key, Node)]) -> Vec<Group> {
        let Some(node) = get(m, "task_groups") else {
            return Vec::new();
        };
        let mut raw: Vec<(String, Pos, Entries<'_>)> = Vec::new();
        match &node.value {
            Yaml::Null => {}
            Yaml::Map(items) => {
                for (k, v) in items {
                    match entries(v) {
                        Some(e) => raw.push((k.text.clone(), k.pos, e)),
                        None if matches!(v.value, Yaml::Null) => {
                            raw.push((k.text.clone(), k.pos, &[]))
                        }
                        None => self.push(
                            Diagnostic::error(format!(
                                "task group '{}' must be a mapping of settings, found {}",
                                k.text,
                                v.value.kind()
                            ))
                            .key("task_groups")
                            .at(v.pos),
                        ),
                    }
                }
            }
            Yaml::Seq(items) => {
                for item in items {
                    let name = entries(item).and_then(|e| get(e, "group_name"));
                    match (entries(item), name.map(|n| &n.value)) {
                        (Some(e), Some(Yaml::Str(n))) => raw.push((n.clone(), item.pos, e)),
                        _ => self.push(
                            Diagnostic::error(
                                "each item of a `task_groups` list must be a mapping with a \
                                 `group_name` string",
                            )
                            .key("task_groups")
                            .at(item.pos),
                        ),
                    }
                }
            }
            other => self.push(
                Diagnostic::error(format!(
                    "`task_groups` must be a mapping or a list, found {}",
                    other.kind()
                ))
                .key("task_groups")
                .at(node.pos),
            ),
        }
        let mut groups: Vec<Group> = Vec::new();
        for (name, pos, e) in raw {
            if groups.iter().any(|g| g.name == name) {
                self.push(
                    Diagnostic::error(format!("the task group '{name}' is defined twice"))
                        .key("task_groups")
                        .at(pos),
                );
                continue;
            }
            let str_of = |key: &str| match get(e, key).map(|n| (&n.value, n.pos)) {
                Some((Yaml::Str(s), p)) => Some((s.clone(), p)),
                _ => None,
            };
            let dependencies = self.dependency_list(e, None, &format!("task_groups.{name}"));
            let prefix_group_id = !matches!(
                get(e, "prefix_group_id").map(|n| &n.value),
                Some(Yaml::Bool(false))
            );
            groups.push(Group {
                name,
                parent: str_of("parent_group_name"),
                full_id: String::new(),
                child_prefix: String::new(),
                prefix_group_id,
                dependencies,
                default_args: get(e, "default_args").cloned(),
                pos,
            });
        }
        // Resolve parents, in passes (a parent may be listed after its child).
        let mut resolved = vec![false; groups.len()];
        for _ in 0..=groups.len() {
            for i in 0..groups.len() {
                if resolved[i] {
                    continue;
                }
                let parent = match &groups[i].parent {
                    None => None,
                    Some((p, _)) => match groups.iter().position(|g| &g.name == p) {
                        Some(j) if resolved[j] => Some(j),
                        Some(_) => continue,
                        None => None,
                    },
                };
                let parent_prefix = parent
                    .map(|j| groups[j].child_prefix.clone())
                    .unwrap_or_default();
                let g = &mut groups[i];
                g.full_id = if parent_prefix.is_empty() {
                    g.name.clone()
                } else {
                    format!("{parent_prefix}.{}", g.name)
                };
                g.child_prefix = if g.prefix_group_id {
                    g.full_id.clone()
                } else {
                    parent_prefix
                };
                resolved[i] = true;
            }
        }
        for (i, g) in groups.iter().enumerate() {
            if let Some((p, ppos)) = &g.parent {
                if !groups.iter().any(|o| &o.name == p) {
                    self.push(
                        Diagnostic::error(format!(
                            "task group '{}' names parent_group_name '{p}', which is not a task group",
                            g.name
                        ))
                        .key("parent_group_name")
                        .at(*ppos),
                    );
                } else if !resolved[i] {
                    self.push(
                        Diagnostic::error(format!(
                            "task group '{}' is its own ancestor through parent_group_name",
                            g.name
                        ))
                        .key("parent_group_name")
                        .at(*ppos),
                    );
                }
            }
            if let Some(da) = &g.default_args {
                if let Some(e) = entries(da) {
                    let mut scratch = Settings::default();
                    let prefix = format!("task_groups.{}.default_args.", g.name);
                    for (k, v) in e {
                        self.setting(&mut scratch, None, &prefix, k, v, Origin::Task);
                    }
                } else if !matches!(da.value, Yaml::Null) {
                    self.push(
                        Diagnostic::error(format!(
                            "the default_args of task group '{}' must be a mapping",
                            g.name
                        ))
                        .key("default_args")
                        .at(g.pos),
                    );
                }
            }
        }
        groups
    }

    fn dependency_list(
        &mut self,
        e: &[(Key, Node)],
        task: Option<&str>,
        what: &str,
    ) -> Vec<(String, Pos)> {
        let mut out = Vec::new();
        // The MWAA Serverless user guide writes `depends_on`; dag-factory knows only
        // `dependencies`.
        let node = match (get(e, "dependencies"), get(e, "depends_on")) {
            (Some(node), None) => node,
            (None, None) => return out,
            (deps, Some(depends_on)) => {
                self.push(
                    Diagnostic::warning(if deps.is_some() {
                        "`depends_on` is read as more `dependencies` (the MWAA Serverless user \
                         guide's name); dag-factory knows only `dependencies:`: write all of \
                         them there"
                    } else {
                        "`depends_on` is read as `dependencies` (the MWAA Serverless user \
                         guide's name); dag-factory knows only `dependencies:`: write that"
                    })
                    .task_opt(task)
                    .key("depends_on")
                    .at(depends_on.pos),
                );
                if let Some(d) = deps {
                    self.dependency_items(d, task, what, &mut out);
                }
                depends_on
            }
        };
        self.dependency_items(node, task, what, &mut out);
        out
    }

    /// The dependency names of one `dependencies` (or `depends_on`) value.
    fn dependency_items(
        &mut self,
        node: &Node,
        task: Option<&str>,
        what: &str,
        out: &mut Vec<(String, Pos)>,
    ) {
        match &node.value {
            Yaml::Null => {}
            Yaml::Seq(items) => {
                for item in items {
                    match &item.value {
                        Yaml::Str(s) => out.push((s.clone(), item.pos)),
                        other => self.push(
                            Diagnostic::error(format!(
                                "each dependency of {what} must be a task id or a task group name, found {}",
                                other.kind()
                            ))
                            .task_opt(task)
                            .key("dependencies")
                            .at(item.pos),
                        ),
                    }
                }
            }
            Yaml::Str(s) => out.push((s.clone(), node.pos)),
            other => self.push(
                Diagnostic::error(format!(
                    "dependencies must be a list of task ids, found {}",
                    other.kind()
                ))
                .task_opt(task)
                .key("dependencies")
                .at(node.pos),
            ),
        }
    }

    fn task_defs<'n>(&mut self, m: &'n [(Key, Node)], groups: &[Group]) -> Vec<TaskDef<'n>> {
        let Some(node) = get(m, "tasks") else {
            self.push(Diagnostic::error(
                "the workflow has no `tasks`; a workflow needs at least one task",
            ));
            return Vec::new();
        };
        let mut raw: Vec<(String, Pos, Entries<'n>)> = Vec::new();
        match &node.value {
            Yaml::Map(items) => {
                for (k, v) in items {
                    match entries(v) {
                        Some(e) => raw.push((k.text.clone(), k.pos, e)),
                        None => self.push(
                            Diagnostic::error(format!(
                                "the task must be a mapping with an `operator` and its \
                                 parameters, found {}",
                                v.value.kind()
                            ))
                            .task(&k.text)
                            .at(v.pos),
                        ),
                    }
                }
            }
            Yaml::Seq(items) => {
                for item in items {
                    let Some(e) = entries(item) else {
                        self.push(
                            Diagnostic::error(format!(
                                "each item of a `tasks` list must be a mapping with a task_id \
                                 and an operator, found {}",
                                item.value.kind()
                            ))
                            .key("tasks")
                            .at(item.pos),
                        );
                        continue;
                    };
                    match get(e, "task_id").map(|n| &n.value) {
                        Some(Yaml::Str(id)) => raw.push((id.clone(), item.pos, e)),
                        Some(Yaml::Int(i)) => raw.push((i.to_string(), item.pos, e)),
                        _ => self.push(
                            Diagnostic::error(
                                "a task in a `tasks` list needs a `task_id` string (in the \
                                 mapping form, the key is the task id)",
                            )
                            .key("task_id")
                            .at(item.pos),
                        ),
                    }
                }
            }
            Yaml::Null => {}
            other => self.push(
                Diagnostic::error(format!(
                    "`tasks` must be a mapping of task ids to tasks, or a list of tasks; found {}",
                    other.kind()
                ))
                .key("tasks")
                .at(node.pos),
            ),
        }
        if raw.is_empty() && !self.diags.iter().any(Diagnostic::is_error) {
            // `tasks: {}` is a workflow dag-factory builds, and whose runs succeed at once;
            // `tasks:` with no value at all makes dag-factory fail.
            if matches!(node.value, Yaml::Null) {
                self.push(
                    Diagnostic::error(
                        "`tasks` has no value; write the tasks below it, or `tasks: {}` for a \
                         workflow with no tasks",
                    )
                    .key("tasks")
                    .at(node.pos),
                );
            } else {
                self.push(
                    Diagnostic::warning(
                        "the workflow has no tasks; it is valid, and each of its runs succeeds \
                         at once without running anything",
                    )
                    .key("tasks")
                    .at(node.pos),
                );
            }
        }
        let mut defs: Vec<TaskDef> = Vec::new();
        for (key, pos, e) in raw {
            let group = match get(e, "task_group_name").map(|n| (&n.value, n.pos)) {
                None | Some((Yaml::Null, _)) => None,
                Some((Yaml::Str(g), gpos)) => match groups.iter().position(|x| &x.name == g) {
                    Some(i) => Some(i),
                    // dag-factory looks a group up only when the workflow declares groups.
                    None if groups.is_empty() => {
                        self.push(
                            Diagnostic::warning(format!(
                                "task_group_name '{g}' is ignored: the workflow declares no \
                                 `task_groups`, and dag-factory then ignores the key (the task \
                                 id stays '{key}'). Declare the group under `task_groups` to \
                                 group the task, or remove the key"
                            ))
                            .task(&key)
                            .key("task_group_name")
                            .at(gpos),
                        );
                        None
                    }
                    None => {
                        self.push(
                            Diagnostic::error(format!(
                                "task_group_name '{g}' is not a task group of this workflow{}",
                                if groups.is_empty() {
                                    " (it has no `task_groups`)".to_owned()
                                } else {
                                    format!(
                                        "; the groups are {}",
                                        groups
                                            .iter()
                                            .map(|g| g.name.as_str())
                                            .collect::<Vec<_>>()
                                            .join(", ")
                                    )
                                }
                            ))
                            .task(&key)
                            .key("task_group_name")
                            .at(gpos),
                        );
                        None
                    }
                },
                Some((other, gpos)) => {
                    self.push(
                        Diagnostic::error(format!(
                            "task_group_name must be a string, found {}",
                            other.kind()
                        ))
                        .task(&key)
                        .key("task_group_name")
                        .at(gpos),
                    );
                    None
                }
            };
            let full_id = match group {
                Some(g) if !groups[g].child_prefix.is_empty() => {
                    format!("{}.{key}", groups[g].child_prefix)
                }
                _ => key.clone(),
            };
            if let Err(why) = check_id(&full_id) {
                self.push(
                    Diagnostic::error(format!("the task id '{full_id}' is not valid: {why}"))
                        .task(&full_id)
                        .key("task_id")
                        .at(pos),
                );
            }
            if let Some(first) = defs.iter().find(|d| d.full_id == full_id) {
                self.push(
                    Diagnostic::error(format!(
                        "the task id '{full_id}' is used twice (first at line {}); task ids must \
                         be unique within a workflow",
                        first.node_pos.line
                    ))
                    .task(&full_id)
                    .key("task_id")
                    .at(pos),
                );
                continue;
            }
            defs.push(TaskDef {
                full_id,
                name: key,
                group,
                node_pos: pos,
                entries: e,
            });
        }
        defs
    }

    fn tasks(
        &mut self,
        m: &[(Key, Node)],
        groups: &[Group],
        da: Option<&[(Key, Node)]>,
    ) -> Vec<Task> {
        let defs = self.task_defs(m, groups);
        let mut tasks: Vec<Task> = Vec::with_capacity(defs.len());
        let mut deps: Vec<Vec<(String, Pos)>> = Vec::with_capacity(defs.len());
        for def in &defs {
            let id = def.full_id.as_str();
            let e = &def.entries;
            let (operator, implementation) = self.operator(id, def);
            let mut s = Settings::default();

            // Precedence: the task itself > partial > group default_args (innermost first) >
            // workflow default_args.
            let mut layers: Vec<(&[(Key, Node)], Origin)> = vec![(e, Origin::Task)];
            let partial = get(e, "partial");
            if let Some(p) = partial {
                match entries(p) {
                    Some(pe) => layers.push((pe, Origin::Partial)),
                    None => self.push(
                        Diagnostic::error(format!(
                            "partial must be a mapping of operator arguments, found {}",
                            p.value.kind()
                        ))
                        .task(id)
                        .key("partial")
                        .at(p.pos),
                    ),
                }
            }
            let mut g = def.group;
            while let Some(gi) = g {
                if let Some(ge) = groups[gi].default_args.as_ref().and_then(entries) {
                    layers.push((ge, Origin::DefaultArgs));
                }
                g = groups[gi]
                    .parent
                    .as_ref()
                    .and_then(|(p, _)| groups.iter().position(|x| &x.name == p))
                    .filter(|pi| *pi != gi);
                if layers.len() > groups.len() + 3 {
                    break;
                }
            }
            if let Some(d) = da {
                layers.push((d, Origin::DefaultArgs));
            }
            let mut seen: BTreeSet<&str> = BTreeSet::new();
            for (layer, origin) in &layers {
                for (k, v) in layer.iter() {
                    if seen.insert(k.text.as_str()) {
                        self.setting(&mut s, Some(id), "", k, v, *origin);
                    }
                }
            }

            if implementation.is_some() {
                self.task_role_from_role_arn(&mut s, id, &operator);
            }
            let mut task_deps = self.dependency_list(e, Some(id), &format!("task '{id}'"));
            let mapping = self.mapping(id, e, &mut task_deps);
            deps.push(task_deps);
            tasks.push(Task {
                task_id: id.to_owned(),
                operator,
                implementation,
                parameters: s.parameters,
                upstream: Vec::new(),
                trigger_rule: s.trigger_rule,
                retries: s.retries,
                retry_delay: s.retry_delay,
                execution_timeout: s.execution_timeout,
                params: s.params,
                role_arn: s.role_arn,
                do_xcom_push: s.do_xcom_push,
                mapping,
                outlets: s.outlets,
                pos: def.node_pos,
            });
        }
        self.link(&defs, groups, &deps, &mut tasks);
        self.sort(tasks)
    }

    /// `role_arn` names the task's own role (like `task_iam_role_arn`), except for operators
    /// that take a `role_arn` argument of their own, which keep it as a parameter.
    fn task_role_from_role_arn(&mut self, s: &mut Settings, id: &str, operator: &str) {
        let class = operator.rsplit('.').next().unwrap_or(operator);
        if rules::OPERATORS_WITH_OWN_ROLE_ARN.contains(&class) {
            return;
        }
        let Some(i) = s.parameters.iter().position(|p| p.name == "role_arn") else {
            return;
        };
        let p = s.parameters.remove(i);
        let problem = match &p.value {
            Value::Null => None,
            Value::Str(arn) => match check_role_arn(arn) {
                Err(why) => Some(why),
                Ok(()) => match &s.role_arn {
                    Some(other) if other != arn => Some(format!(
                        "role_arn {arn} and task_iam_role_arn {other} name different roles; give \
                         one of them (both name the role the task's operator runs as)"
                    )),
                    _ => {
                        s.role_arn = Some(arn.clone());
                        None
                    }
                },
            },
            other => Some(format!(
                "role_arn must be an IAM role ARN string, found {}",
                other.kind()
            )),
        };
        if let Some(msg) = problem {
            self.push(Diagnostic::error(msg).task(id).key("role_arn").at(p.pos));
        }
    }

    fn operator(&mut self, id: &str, def: &TaskDef) -> (String, Option<String>) {
        let e = &def.entries;
        if let Some(d) = get(e, "decorator") {
            self.push(
                Diagnostic::error(
                    "TaskFlow tasks (`decorator:`) run Python code, which airtask does not \
                     run; use an operator",
                )
                .task(id)
                .key("decorator")
                .at(d.pos),
            );
            return (String::new(), None);
        }
        match get(e, "operator").map(|n| (&n.value, n.pos)) {
            Some((Yaml::Str(op), pos)) => {
                let op = op.trim().to_owned();
                match self.opts.catalog.resolve(&op) {
                    Some(imp) => {
                        let imp = imp.to_owned();
                        (op, Some(imp))
                    }
                    None => {
                        let known = self.opts.catalog.implemented();
                        if !op.contains('.') {
                            let mut same: Vec<&str> = known
                                .iter()
                                .copied()
                                .filter(|p| p.rsplit('.').next() == Some(op.as_str()))
                                .collect();
                            same.sort_unstable();
                            same.dedup();
                            if let [only] = same.as_slice() {
                                let only = (*only).to_owned();
                                self.push(
                                    Diagnostic::warning(format!(
                                        "the operator is given by its bare class name {op}, as \
                                         in the MWAA Serverless user guide; it is read as \
                                         {only}. dag-factory needs the full class path: write \
                                         `operator: {only}`"
                                    ))
                                    .task(id)
                                    .key("operator")
                                    .at(pos),
                                );
                                return (op, Some(only));
                            }
                        }
                        let class = op.rsplit('.').next().unwrap_or(&op);
                        // The same class under another module path: say which one works.
                        let hint = known
                            .iter()
                            .find(|p| p.rsplit('.').next() == Some(class))
                            .map(|p| format!(" (airtask knows {class} as {p})"))
                            .unwrap_or_default();
                        // The operators of the same module, when there are some: the
                        // whole list is `airtask operators`.
                        let module = op.rsplit_once('.').map(|(m, _)| m);
                        let mut siblings: Vec<&str> = known
                            .iter()
                            .filter_map(|p| p.rsplit_once('.'))
                            .filter(|(m, _)| Some(*m) == module)
                            .map(|(_, class)| class)
                            .collect();
                        siblings.sort_unstable();
                        siblings.dedup();
                        let nearby = match (module, siblings.is_empty()) {
                            (Some(module), false) => {
                                format!("; of {module} it implements {}", siblings.join(", "))
                            }
                            _ => String::new(),
                        };
                        self.push(
                            Diagnostic::error(format!(
                                "the operator {op} is not implemented by this runtime yet\
                                 {hint}{nearby}; `airtask operators` lists the {} operators \
                                 this build implements",
                                known.len()
                            ))
                            .task(id)
                            .key("operator")
                            .at(pos),
                        );
                        (op, None)
                    }
                }
            }
            Some((other, pos)) => {
                self.push(
                    Diagnostic::error(format!(
                        "operator must be the full class path of an Airflow operator, found {}",
                        other.kind()
                    ))
                    .task(id)
                    .key("operator")
                    .at(pos),
                );
                (String::new(), None)
            }
            None => {
                self.push(
                    Diagnostic::error(
                        "the task has no `operator`; write the full class path, e.g. \
                         airflow.providers.standard.operators.empty.EmptyOperator",
                    )
                    .task(id)
                    .key("operator")
                    .at(def.node_pos),
                );
                (String::new(), None)
            }
        }
    }

    fn mapping(
        &mut self,
        id: &str,
        e: &[(Key, Node)],
        deps: &mut Vec<(String, Pos)>,
    ) -> Option<Mapping> {
        let node = get(e, "expand")?;
        let Some(items) = entries(node) else {
            self.push(
                Diagnostic::error(format!(
                    "expand must be a mapping of argument names to lists (or to an upstream \
                     task's output), found {}",
                    node.value.kind()
                ))
                .task(id)
                .key("expand")
                .at(node.pos),
            );
            return None;
        };
        let mut expand = Vec::new();
        for (k, v) in items {
            let key = format!("expand.{}", k.text);
            match self.cast(v, Some(id), &key) {
                Some(Value::List(values)) => {
                    expand.push((k.text.clone(), MapSource::Values(values)))
                }
                Some(Value::Str(s)) => match xcom_source(&s) {
                    Some(task_id) => {
                        deps.push((task_id.clone(), v.pos));
                        expand.push((k.text.clone(), MapSource::Xcom { task_id }));
                    }
                    None => self.push(
                        Diagnostic::error(format!(
                            "'{s}' is not something to expand over; write a list, or \
                             `<task_id>.output` for an upstream task's return value"
                        ))
                        .task(id)
                        .key(key)
                        .at(v.pos),
                    ),
                },
                Some(other) => self.push(
                    Diagnostic::error(format!(
                        "an expanded argument must be a list or `<task_id>.output`, found {}",
                        other.kind()
                    ))
                    .task(id)
                    .key(key)
                    .at(v.pos),
                ),
                None => {}
            }
        }
        if expand.is_empty() {
            return None;
        }
        Some(Mapping { expand })
    }

    /// Resolves dependencies (task ids or group names) into upstream task ids.
    fn link(
        &mut self,
        defs: &[TaskDef],
        groups: &[Group],
        deps: &[Vec<(String, Pos)>],
        tasks: &mut [Task],
    ) {
        let index: HashMap<&str, usize> = defs
            .iter()
            .enumerate()
            .map(|(i, d)| (d.full_id.as_str(), i))
            .collect();
        let mut up: Vec<Vec<usize>> = vec![Vec::new(); defs.len()];
        let members = |g: usize| -> Vec<usize> {
            defs.iter()
                .enumerate()
                .filter(|(_, d)| {
                    let mut cur = d.group;
                    let mut hops = 0;
                    while let Some(c) = cur {
                        if c == g {
                            return true;
                        }
                        hops += 1;
                        if hops > groups.len() {
                            return false;
                        }
                        cur = groups[c]
                            .parent
                            .as_ref()
                            .and_then(|(p, _)| groups.iter().position(|x| &x.name == p));
                    }
                    false
                })
                .map(|(i, _)| i)
                .collect()
        };
        let resolve_name = |name: &str,
                            from_group: Option<usize>|
         -> Option<Result<usize, usize>> {
            // A task id as written, then relative to the referring task's group (dag-factory
            // prefixes dependencies inside a group), then a group name.
            if let Some(i) = index.get(name) {
                return Some(Ok(*i));
            }
            if let Some(g) = from_group
                && let Some(i) = index.get(format!("{}.{name}", groups[g].child_prefix).as_str())
            {
                return Some(Ok(*i));
            }
            if let Some(g) = groups
                .iter()
                .position(|g| g.name == name || g.full_id == name)
            {
                return Some(Err(g));
            }
            // dag-factory resolves a short name through the dependency's own group (a task of
            // group `load` may depend on `extract_items` of group `extract`); here only when
            // exactly one task has that name, so the result cannot be a guess.
            let mut same = defs.iter().enumerate().filter(|(_, d)| d.name == name);
            match (same.next(), same.next()) {
                (Some((i, d)), None) if d.group.is_some() => Some(Ok(i)),
                _ => None,
            }
        };
        let unknown = |name: &str| {
            let mut known: Vec<&str> = defs.iter().map(|d| d.full_id.as_str()).collect();
            known.extend(groups.iter().map(|g| g.full_id.as_str()));
            let suffix = format!(".{name}");
            let candidates: Vec<&str> = known
                .iter()
                .copied()
                .filter(|k| k.ends_with(&suffix) || k.eq_ignore_ascii_case(name))
                .collect();
            let hint = match candidates.as_slice() {
                [] => String::new(),
                [one] => format!(" (did you mean '{one}'?)"),
                several => format!(
                    " (tasks in several groups have that name: {}; write the full id of the \
                     one you mean)",
                    several
                        .iter()
                        .map(|k| format!("'{k}'"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            };
            format!("the dependency '{name}' is not a task or task group of this workflow{hint}")
        };
        // Task-level edges first; group roots and leaves are computed from them.
        let mut group_refs: Vec<(usize, usize)> = Vec::new();
        for (i, list) in deps.iter().enumerate() {
            for (name, pos) in list {
                match resolve_name(name, defs[i].group) {
                    Some(Ok(j)) => up[i].push(j),
                    Some(Err(g)) => group_refs.push((i, g)),
                    None => self.push(
                        Diagnostic::error(unknown(name))
                            .task(&defs[i].full_id)
                            .key("dependencies")
                            .at(*pos),
                    ),
                }
            }
        }
        let leaves = |g: usize, up: &[Vec<usize>]| -> Vec<usize> {
            let ms = members(g);
            ms.iter()
                .copied()
                .filter(|&t| !ms.iter().any(|&o| up[o].contains(&t)))
                .collect()
        };
        let roots = |g: usize, up: &[Vec<usize>]| -> Vec<usize> {
            let ms = members(g);
            ms.iter()
                .copied()
                .filter(|&t| !up[t].iter().any(|u| ms.contains(u)))
                .collect()
        };
        let mut extra: Vec<(usize, usize)> = Vec::new();
        for (t, g) in group_refs {
            for l in leaves(g, &up) {
                extra.push((t, l));
            }
        }
        for (gi, g) in groups.iter().enumerate() {
            let rs = roots(gi, &up);
            for (name, pos) in &g.dependencies {
                let sources: Vec<usize> = match resolve_name(name, None) {
                    Some(Ok(j)) => vec![j],
                    Some(Err(other)) => leaves(other, &up),
                    None => {
                        self.push(
                            Diagnostic::error(unknown(name))
                                .key(format!("task_groups.{}.dependencies", g.name))
                                .at(*pos),
                        );
                        continue;
                    }
                };
                for &r in &rs {
                    for &s in &sources {
                        extra.push((r, s));
                    }
                }
            }
        }
        for (t, u) in extra {
            up[t].push(u);
        }
        for (i, list) in up.into_iter().enumerate() {
            let mut seen = BTreeSet::new();
            for j in list {
                if j == i {
                    self.push(
                        Diagnostic::error("the task depends on itself")
                            .task(&defs[i].full_id)
                            .key("dependencies")
                            .at(defs[i].node_pos),
                    );
                } else if seen.insert(j) {
                    tasks[i].upstream.push(defs[j].full_id.clone());
                }
            }
        }
    }

    /// Kahn's algorithm, taking ready tasks in definition order; a cycle is an error that names
    /// the tasks on it.
    fn sort(&mut self, tasks: Vec<Task>) -> Vec<Task> {
        let index: HashMap<&str, usize> = tasks
            .iter()
            .enumerate()
            .map(|(i, t)| (t.task_id.as_str(), i))
            .collect();
        let n = tasks.len();
        let mut indegree = vec![0usize; n];
        let mut down: Vec<Vec<usize>> = vec![Vec::new(); n];
        for (i, t) in tasks.iter().enumerate() {
            for u in &t.upstream {
                if let Some(&j) = index.get(u.as_str()) {
                    indegree[i] += 1;
                    down[j].push(i);
                }
            }
        }
        let mut ready: BTreeSet<usize> = (0..n).filter(|&i| indegree[i] == 0).collect();
        let mut order = Vec::with_capacity(n);
        while let Some(i) = ready.pop_first() {
            order.push(i);
            for &d in &down[i] {
                indegree[d] -= 1;
                if indegree[d] == 0 {
                    ready.insert(d);
                }
            }
        }
        if order.len() < n {
            // Walk upstream from a task left over until a task repeats: that is a cycle.
            let left: Vec<usize> = (0..n).filter(|&i| indegree[i] > 0).collect();
            let mut path: Vec<usize> = vec![left[0]];
            loop {
                let cur = path[path.len() - 1];
                let next = tasks[cur]
                    .upstream
                    .iter()
                    .filter_map(|u| index.get(u.as_str()).copied())
                    .find(|j| indegree[*j] > 0);
                let Some(next) = next else { break };
                if let Some(at) = path.iter().position(|&p| p == next) {
                    let mut cycle: Vec<&str> = path[at..]
                        .iter()
                        .rev()
                        .map(|&i| tasks[i].task_id.as_str())
                        .collect();
                    cycle.push(cycle[0]);
                    self.push(
                        Diagnostic::error(format!(
                            "the dependencies form a cycle: {}; a workflow must be acyclic",
                            cycle.join(" -> ")
                        ))
                        .task(&tasks[next].task_id)
                        .key("dependencies")
                        .at(tasks[next].pos),
                    );
                    break;
                }
                path.push(next);
            }
            return tasks;
        }
        let mut slots: Vec<Option<Task>> = tasks.into_iter().map(Some).collect();
        order.into_iter().filter_map(|i| slots[i].take()).collect()
    }
}

/// `"task.output"`, `"XcomArg(task)"`, `"+task"` (dag-factory's forms for an upstream task's
/// return value) and a lone `{{ ti.xcom_pull(task_ids='task') }}`.
fn xcom_source(s: &str) -> Option<String> {
    let s = s.trim();
    let id = if let Some(id) = s.strip_suffix(".output") {
        id
    } else if let Some(inner) = s.strip_prefix("XcomArg(").and_then(|r| r.strip_suffix(')')) {
        inner
    } else if let Some(id) = s.strip_prefix('+') {
        id
    } else {
        let inner = s.strip_prefix("{{")?.strip_suffix("}}")?.trim();
        let args = inner
            .strip_prefix("ti.xcom_pull(")
            .or_else(|| inner.strip_prefix("task_instance.xcom_pull("))?
            .strip_suffix(')')?;
        let rest = args
            .trim()
            .strip_prefix("task_ids")?
            .trim_start()
            .strip_prefix('=')?
            .trim_start();
        let quote = rest.chars().next().filter(|c| *c == '\'' || *c == '"')?;
        let body = &rest[1..];
        let end = body.find(quote)?;
        let after = body[end + 1..].trim();
        if !(after.is_empty()
            || after.replace(' ', "") == ",key='return_value'"
            || after.replace(' ', "") == ",key=\"return_value\"")
        {
            return None;
        }
        &body[..end]
    };
    let id = id.trim().trim_matches(['\'', '"']);
    (!id.is_empty()).then(|| id.to_owned())
}

/// dag-factory's relative dates: `"3 days"`, `"12 hours"` (ago, from today's midnight).
fn relative_delta(s: &str) -> Option<SignedDuration> {
    let (n, unit) = s.split_once(char::is_whitespace)?;
    let n: i64 = n.parse().ok()?;
    let unit_secs = match unit.trim() {
        "second" | "seconds" => 1,
        "minute" | "minutes" => 60,
        "hour" | "hours" => 3_600,
        "day" | "days" => 86_400,
        "week" | "weeks" => 604_800,
        _ => return None,
    };
    Some(SignedDuration::from_secs(n.checked_mul(unit_secs)?))
}

trait TaskOpt {
    fn task_opt(self, task: Option<&str>) -> Self;
}

impl TaskOpt for Diagnostic {
    fn task_opt(mut self, task: Option<&str>) -> Self {
        self.task = task.map(str::to_owned);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xcom_sources() {
        assert_eq!(
            xcom_source("list_objects.output").as_deref(),
            Some("list_objects")
        );
        assert_eq!(xcom_source("XcomArg(list)").as_deref(), Some("list"));
        assert_eq!(xcom_source("+numbers").as_deref(), Some("numbers"));
        assert_eq!(
            xcom_source("{{ task_instance.xcom_pull(task_ids='x', key='return_value') }}")
                .as_deref(),
            Some("x")
        );
        assert_eq!(
            xcom_source("{{ ti.xcom_pull(task_ids=\"y\") }}").as_deref(),
            Some("y")
        );
        assert_eq!(
            xcom_source("{{ ti.xcom_pull(task_ids='y', key='other') }}"),
            None
        );
        assert_eq!(xcom_source("plain"), None);
    }

    #[test]
    fn outlets_are_airflow_assets() {
        struct Empty;
        impl OperatorCatalog for Empty {
            fn resolve(&self, path: &str) -> Option<&str> {
                const EMPTY: &str = "airflow.providers.standard.operators.empty.EmptyOperator";
                (path == EMPTY).then_some(EMPTY)
            }
            fn implemented(&self) -> Vec<&str> {
                Vec::new()
            }
        }
        let yaml = br#"
wf:
  schedule: null
  tasks:
    t:
      operator: airflow.providers.standard.operators.empty.EmptyOperator
      outlets:
        - {__type__: airflow.sdk.Asset, name: sales, uri: "s3://b/sales/"}
        - {__type__: airflow.sdk.Asset, uri: "s3://b/only-uri"}
        - {__type__: airflow.sdk.definitions.asset.Asset, __args__: [by-position]}
        - "s3://b/a-string"
"#;
        let opts = LoadOptions {
            env: &|_| None,
            now: Timestamp::UNIX_EPOCH,
            for_create: false,
            catalog: &Empty,
        };
        let report = load(yaml, &opts);
        let wf = report.workflow.as_ref().expect("valid");
        let got: Vec<(&str, &str)> = wf.tasks[0]
            .outlets
            .iter()
            .map(|a| (a.name.as_str(), a.uri.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("sales", "s3://b/sales/"),
                ("s3://b/only-uri", "s3://b/only-uri"),
                ("by-position", "by-position"),
            ]
        );
        // The string is not an asset: one warning that names the entry.
        let warnings: Vec<&str> = report
            .diagnostics
            .iter()
            .map(|d| d.message.as_str())
            .filter(|m| m.contains("outlets"))
            .collect();
        assert_eq!(warnings.len(), 1, "{:?}", report.diagnostics);
        assert!(warnings[0].contains("entry 3 of `outlets`"), "{warnings:?}");
    }

    #[test]
    fn role_arns() {
        assert!(check_role_arn("arn:aws:iam::123456789012:role/etl-writer").is_ok());
        assert!(check_role_arn("arn:aws-cn:iam::123456789012:role/path/to/r").is_ok());
        assert!(check_role_arn("arn:aws:iam::12345:role/x").is_err());
        assert!(check_role_arn("arn:aws:s3:::bucket").is_err());
        assert!(check_role_arn("arn:aws:iam::123456789012:user/x").is_err());
    }

    #[test]
    fn relative_dates() {
        assert_eq!(
            relative_delta("3 days"),
            Some(SignedDuration::from_hours(72))
        );
        assert_eq!(
            relative_delta("1 hour"),
            Some(SignedDuration::from_hours(1))
        );
        assert_eq!(relative_delta("3 fortnights"), None);
    }
}
