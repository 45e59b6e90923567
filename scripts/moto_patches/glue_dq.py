"""Glue Data Quality and DataBrew job runs: a minimal fake.

Stock moto 5.2.5:
- Glue Data Quality has no operation at all: CreateDataQualityRuleset, UpdateDataQualityRuleset,
  GetDataQualityRuleset, Start/GetDataQualityRulesetEvaluationRun, BatchGetDataQualityResult and
  Start/GetDataQualityRuleRecommendationRun all answer 500;
- DataBrew has jobs (CreateProfileJob, CreateRecipeJob, DescribeJob) but no StartJobRun or
  DescribeJobRun (no route: 404).

This patch adds those operations, with AWS's request and answer shapes:
- rulesets are stored per account and region (Create gives AlreadyExistsException for a taken
  name; Get/Update of an unknown one give EntityNotFoundException);
- a run (evaluation, recommendation or DataBrew job run) is a moto managed state: STARTING, then
  RUNNING, then SUCCEEDED, one step per Get by default (state-manager models
  `glue::data_quality_run` and `databrew::job_run`, default `manual` times 1). When the data
  source's TableName (Data Quality) or the job's name (DataBrew) contains `moto_failed` the run
  ends FAILED with an ErrorString/ErrorMessage; with `moto_stuck` it stays RUNNING forever;
- an evaluation run that succeeds has one result per ruleset (BatchGetDataQualityResult): one rule
  result per rule of the ruleset's DQDL text (`Rules = [ rule, rule ]`, split at top-level
  commas), named Rule_1, Rule_2 ..., FAIL when the rule's text contains `moto:FAIL`, ERROR when it
  contains `moto:ERROR`, PASS otherwise; Score = passed / rules;
- a recommendation run that succeeds recommends a fixed ruleset
  (`Rules = [ RowCount > 0, IsComplete "id" ]`) and, like AWS, saves it under CreatedRulesetName
  when one is given; StartDataQualityRuleRecommendationRun refuses a DataSource without a
  GlueTable DatabaseName and TableName (InvalidInputException).
Nothing here checks that tables, roles or DataBrew datasets exist.

Needed by tests/glue_dq.rs (the Data Quality operators and sensors, GlueDataBrewStartJobOperator).
"""

import json
from datetime import datetime, timezone

from moto.core.responses import ActionResult
from moto.databrew import urls as databrew_urls
from moto.databrew.exceptions import ResourceNotFoundException
from moto.databrew.responses import DataBrewResponse
from moto.glue.exceptions import AlreadyExistsException, EntityNotFoundException, GlueClientError
from moto.glue.responses import GlueResponse
from moto.moto_api._internal import mock_random
from moto.moto_api._internal.managed_state_model import ManagedState
from moto.moto_api import state_manager

_RECOMMENDED = 'Rules = [\n    RowCount > 0,\n    IsComplete "id"\n]'


class _InvalidInput(GlueClientError):
    def __init__(self, msg):
        super().__init__("InvalidInputException", msg)


class _Run(ManagedState):
    """One Data Quality run or DataBrew job run; `marker` picks a failing or stuck run."""

    def __init__(self, model_name, marker):
        final = "FAILED" if "moto_failed" in marker else "SUCCEEDED"
        transitions = [("STARTING", "RUNNING"), ("RUNNING", final)]
        if "moto_stuck" in marker:
            transitions = [("STARTING", "RUNNING"), ("RUNNING", "RUNNING")]
        super().__init__(model_name=model_name, transitions=transitions)
        self.started_on = datetime.now(timezone.utc)
        self.done = False

    def current(self):
        """Advances one step (a Get) and returns the status."""
        self.advance()
        return self.status


def _state(backend):
    if not hasattr(backend, "_airtask_dq"):
        backend._airtask_dq = {"rulesets": {}, "evaluations": {}, "recommendations": {}, "results": {}}
    return backend._airtask_dq


def _split_rules(text):
    start, end = text.find("["), text.rfind("]")
    body = text[start + 1:end] if 0 <= start < end else ""
    rules, depth, quoted, current = [], 0, False, ""
    for ch in body:
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch in "[(":
            depth += 1
        elif not quoted and ch in "])":
            depth -= 1
        if ch == "," and depth == 0 and not quoted:
            rules.append(current.strip())
            current = ""
        else:
            current += ch
    if current.strip():
        rules.append(current.strip())
    return rules


def _now():
    return datetime.now(timezone.utc)


# --- Glue Data Quality (JSON 1.1, X-Amz-Target AWSGlue.<Operation>) ----------------------------

def create_data_quality_ruleset(self):
    state = _state(self.glue_backend)
    name = self.parameters["Name"]
    if name in state["rulesets"]:
        raise AlreadyExistsException("Data Quality Ruleset")
    state["rulesets"][name] = {
        "Name": name,
        "Description": self.parameters.get("Description", ""),
        "Ruleset": self.parameters["Ruleset"],
        "TargetTable": self.parameters.get("TargetTable"),
        "CreatedOn": _now(),
        "LastModifiedOn": _now(),
    }
    return ActionResult({"Name": name})


def update_data_quality_ruleset(self):
    state = _state(self.glue_backend)
    name = self.parameters["Name"]
    ruleset = state["rulesets"].get(name)
    if ruleset is None:
        raise EntityNotFoundException(f"Cannot find Data Quality Ruleset in account {self.current_account} with name {name}")
    for key in ("Description", "Ruleset"):
        if key in self.parameters:
            ruleset[key] = self.parameters[key]
    ruleset["LastModifiedOn"] = _now()
    return ActionResult({k: ruleset[k] for k in ("Name", "Description", "Ruleset")})


def get_data_quality_ruleset(self):
    state = _state(self.glue_backend)
    name = self.parameters["Name"]
    ruleset = state["rulesets"].get(name)
    if ruleset is None:
        raise EntityNotFoundException(f"Cannot find Data Quality Ruleset in account {self.current_account} with name {name}")
    return ActionResult({k: v for k, v in ruleset.items() if v is not None})


def _glue_table(params):
    table = (params.get("DataSource") or {}).get("GlueTable") or {}
    if not table.get("DatabaseName") or not table.get("TableName"):
        raise _InvalidInput("DataSource must name a GlueTable with DatabaseName and TableName")
    return table


def start_data_quality_ruleset_evaluation_run(self):
    state = _state(self.glue_backend)
    table = _glue_table(self.parameters)
    names = self.parameters.get("RulesetNames") or []
    for name in names:
        if name not in state["rulesets"]:
            raise EntityNotFoundException(f"Cannot find Data Quality Ruleset in account {self.current_account} with name {name}")
    run_id = f"dqrun-{mock_random.get_random_hex(40)}"
    run = _Run("glue::data_quality_run", table["TableName"])
    run.params = dict(self.parameters)
    run.result_ids = []
    state["evaluations"][run_id] = run
    return ActionResult({"RunId": run_id})


def _finish_evaluation(state, run_id, run):
    if run.done:
        return
    run.done = True
    table = run.params["DataSource"]["GlueTable"]
    for name in run.params.get("RulesetNames") or []:
        rules = _split_rules(state["rulesets"][name]["Ruleset"])
        rule_results = []
        for i, rule in enumerate(rules, start=1):
            result = "FAIL" if "moto:FAIL" in rule else "ERROR" if "moto:ERROR" in rule else "PASS"
            entry = {"Name": f"Rule_{i}", "Description": rule, "Result": result, "EvaluatedMetrics": {}}
            if result != "PASS":
                entry["EvaluationMessage"] = "Value: 0.0 does not meet the constraint requirement!"
            rule_results.append(entry)
        passed = sum(1 for r in rule_results if r["Result"] == "PASS")
        result_id = f"dqresult-{mock_random.get_random_hex(40)}"
        state["results"][result_id] = {
            "ResultId": result_id,
            "Score": passed / len(rule_results) if rule_results else 1.0,
            "DataSource": {"GlueTable": table},
            "RulesetName": name,
            "EvaluationContext": "",
            "StartedOn": run.started_on,
            "CompletedOn": _now(),
            "RulesetEvaluationRunId": run_id,
            "RuleResults": rule_results,
        }
        run.result_ids.append(result_id)


def get_data_quality_ruleset_evaluation_run(self):
    state = _state(self.glue_backend)
    run_id = self.parameters["RunId"]
    run = state["evaluations"].get(run_id)
    if run is None:
        raise EntityNotFoundException(f"Cannot find Data Quality ruleset evaluation run with id {run_id}")
    status = run.current()
    answer = {
        "RunId": run_id,
        "DataSource": run.params["DataSource"],
        "Role": run.params.get("Role"),
        "NumberOfWorkers": run.params.get("NumberOfWorkers", 5),
        "Timeout": run.params.get("Timeout", 2880),
        "Status": status,
        "StartedOn": run.started_on,
        "LastModifiedOn": _now(),
        "RulesetNames": run.params.get("RulesetNames") or [],
    }
    if status == "SUCCEEDED":
        _finish_evaluation(state, run_id, run)
        answer["ResultIds"] = run.result_ids
        answer["CompletedOn"] = _now()
    if status == "FAILED":
        answer["ErrorString"] = "moto_failed in the data source's TableName"
        answer["CompletedOn"] = _now()
    return ActionResult(answer)


def batch_get_data_quality_result(self):
    state = _state(self.glue_backend)
    ids = self.parameters.get("ResultIds") or []
    found = [state["results"][i] for i in ids if i in state["results"]]
    missing = [i for i in ids if i not in state["results"]]
    return ActionResult({"Results": found, "ResultsNotFound": missing})


def start_data_quality_rule_recommendation_run(self):
    state = _state(self.glue_backend)
    table = _glue_table(self.parameters)
    run_id = f"dqrun-{mock_random.get_random_hex(40)}"
    run = _Run("glue::data_quality_run", table["TableName"])
    run.params = dict(self.parameters)
    state["recommendations"][run_id] = run
    return ActionResult({"RunId": run_id})


def get_data_quality_rule_recommendation_run(self):
    state = _state(self.glue_backend)
    run_id = self.parameters["RunId"]
    run = state["recommendations"].get(run_id)
    if run is None:
        raise EntityNotFoundException(f"Cannot find Data Quality rule recommendation run with id {run_id}")
    status = run.current()
    answer = {
        "RunId": run_id,
        "DataSource": run.params["DataSource"],
        "Role": run.params.get("Role"),
        "NumberOfWorkers": run.params.get("NumberOfWorkers", 5),
        "Timeout": run.params.get("Timeout", 2880),
        "Status": status,
        "StartedOn": run.started_on,
        "LastModifiedOn": _now(),
    }
    created = run.params.get("CreatedRulesetName")
    if created:
        answer["CreatedRulesetName"] = created
    if status == "SUCCEEDED":
        answer["RecommendedRuleset"] = _RECOMMENDED
        answer["CompletedOn"] = _now()
        if created and not run.done:
            state["rulesets"].setdefault(created, {
                "Name": created, "Description": "", "Ruleset": _RECOMMENDED,
                "TargetTable": run.params["DataSource"]["GlueTable"],
                "RecommendationRunId": run_id, "CreatedOn": _now(), "LastModifiedOn": _now(),
            })
        run.done = True
    if status == "FAILED":
        answer["ErrorString"] = "moto_failed in the data source's TableName"
        answer["CompletedOn"] = _now()
    return ActionResult(answer)


# --- DataBrew job runs (REST JSON) ---------------------------------------------------------------

def _job_runs(backend):
    if not hasattr(backend, "_airtask_runs"):
        backend._airtask_runs = {}
    return backend._airtask_runs


def _iso(ts):
    return ts.timestamp()


def start_job_run(self):
    # POST /jobs/{name}/startJobRun
    name = self._get_path().strip("/").split("/")[1]
    backend = self.databrew_backend
    if name not in backend.jobs:
        raise ResourceNotFoundException(f"Job {name} wasn't found.")
    run_id = f"db_{mock_random.get_random_hex(40)}"
    _job_runs(backend)[(name, run_id)] = _Run("databrew::job_run", name)
    return json.dumps({"RunId": run_id})


def describe_job_run(self):
    # GET /jobs/{name}/jobRun/{runId}
    parts = self._get_path().strip("/").split("/")
    name, run_id = parts[1], parts[3]
    backend = self.databrew_backend
    run = _job_runs(backend).get((name, run_id))
    if run is None:
        raise ResourceNotFoundException(f"Job run {run_id} of job {name} wasn't found.")
    state = run.current()
    job = backend.jobs[name]
    answer = {
        "Attempt": 1,
        "JobName": name,
        "RunId": run_id,
        "State": state,
        "StartedOn": _iso(run.started_on),
        "StartedBy": "moto",
        "LogSubscription": "ENABLE",
        "LogGroupName": "/aws-glue-databrew/jobs",
        "DatasetName": getattr(job, "dataset_name", None),
    }
    if state in ("SUCCEEDED", "FAILED"):
        answer["CompletedOn"] = _iso(_now())
        answer["ExecutionTime"] = 1
    if state == "FAILED":
        answer["ErrorMessage"] = "moto_failed in the job's name"
    return json.dumps({k: v for k, v in answer.items() if v is not None})


def apply() -> None:
    for name, fn in [
        ("create_data_quality_ruleset", create_data_quality_ruleset),
        ("update_data_quality_ruleset", update_data_quality_ruleset),
        ("get_data_quality_ruleset", get_data_quality_ruleset),
        ("start_data_quality_ruleset_evaluation_run", start_data_quality_ruleset_evaluation_run),
        ("get_data_quality_ruleset_evaluation_run", get_data_quality_ruleset_evaluation_run),
        ("batch_get_data_quality_result", batch_get_data_quality_result),
        ("start_data_quality_rule_recommendation_run", start_data_quality_rule_recommendation_run),
        ("get_data_quality_rule_recommendation_run", get_data_quality_rule_recommendation_run),
    ]:
        setattr(GlueResponse, name, fn)
    DataBrewResponse.start_job_run = start_job_run
    DataBrewResponse.describe_job_run = describe_job_run
    databrew_urls.url_paths["{0}/jobs/(?P<job_name>[^/]+)/startJobRun$"] = DataBrewResponse.dispatch
    databrew_urls.url_paths["{0}/jobs/(?P<job_name>[^/]+)/jobRun/(?P<run_id>[^/]+)$"] = DataBrewResponse.dispatch
    for model in ("glue::data_quality_run", "databrew::job_run"):
        state_manager.register_default_transition(model, transition={"progression": "manual", "times": 1})
