"""Glue jobs and crawlers: the failure, stop and update paths stock moto 5.2.5 lacks.

What stock moto does (measured, ../shared/reference/local-aws-families.md):
- a job run only ever walks STARTING -> RUNNING -> SUCCEEDED (driven by the global state manager
  `glue::job_run`); FAILED, ERROR, TIMEOUT and STOPPED never happen and no ErrorMessage is set;
- BatchStopJobRun, UpdateJob, UpdateCrawler and GetCrawlerMetrics answer 500 NotImplemented;
- GetCrawler reports LastCrawl.Status as moto's internal crawl states (RUNNING, COMPLETED,
  STOPPING, STOPPED) instead of the API's SUCCEEDED / CANCELLED / FAILED, a crawl never fails, and
  only ListCrawls advances a crawl, so a crawler polled with GetCrawler stays RUNNING forever.

What this patch changes (each an AWS path, selected by the caller):
- Job run arguments `--moto-final-state` (FAILED, ERROR, TIMEOUT, SUCCEEDED) and/or
  `--moto-polls N` put that run under its own control instead of the global state manager: it
  answers RUNNING to the first N reads (GetJobRun / GetJobRuns; N defaults to 1), then the final
  state (default SUCCEEDED). A run that does not succeed carries ErrorMessage: the value of
  `--moto-error-message`, or "moto: job run ended <STATE>". Runs without these arguments behave
  exactly as in stock moto.
- BatchStopJobRun: a STARTING/RUNNING/WAITING run answers STOPPING to the next read and STOPPED
  from then on, whatever the state manager says; an unknown or finished run is reported in
  `Errors` as AWS does.
- UpdateJob: replaces the job definition with JobUpdate (AWS overwrites the whole definition),
  keeping the job's runs, creation time and tags; EntityNotFoundException for an unknown job.
- UpdateCrawler: sets the fields given (Version + 1, LastUpdated); CrawlerRunningException while
  a crawl runs, EntityNotFoundException for an unknown crawler.
- GetCrawlerMetrics: one entry per crawler (all, or CrawlerNameList) with the last and median
  runtime of its finished crawls; table counts are 0 (moto crawls create no tables).
- GetCrawler: LastCrawl describes the last *finished* crawl with the API's status values
  (COMPLETED -> SUCCEEDED, STOPPED -> CANCELLED, FAILED; with ErrorMessage when FAILED) and is
  absent before the first crawl finishes; each GetCrawler advances the running crawl one tick
  after answering, so with the default `glue::crawl` transition (manual, times 1) a crawler
  answers RUNNING once, then READY.
- A crawler whose Description contains `moto:FAILED` ends its crawls FAILED.

Tests that need it: tests/glue.rs (job run FAILED with its ErrorMessage, SIGTERM -> BatchStopJobRun
-> STOPPED, create-or-update with update_config, crawler create-or-update, success / failure and its
metrics).
"""

import statistics

from moto.core.responses import ActionResult
from moto.glue import models
from moto.glue.exceptions import CrawlerRunningException, JobNotFoundException
from moto.glue.models import FakeCrawl, FakeCrawler, FakeJob, FakeJobRun
from moto.glue.responses import GlueResponse

_FINAL_STATES = {"SUCCEEDED", "FAILED", "ERROR", "TIMEOUT"}
_ACTIVE_STATES = {"STARTING", "RUNNING", "WAITING"}
_CRAWL_STATUS = {"COMPLETED": "SUCCEEDED", "STOPPED": "CANCELLED", "FAILED": "FAILED"}


def _own_control(run: FakeJobRun) -> dict | None:
    """The per-run control of a run started with --moto-final-state / --moto-polls, or None."""
    control = getattr(run, "_airtask_control", None)
    if control is not None:
        return control
    args = run.arguments or {}
    if "--moto-final-state" not in args and "--moto-polls" not in args:
        return None
    final = str(args.get("--moto-final-state", "SUCCEEDED")).upper()
    if final not in _FINAL_STATES:
        final = "FAILED"
    try:
        polls = max(0, int(args.get("--moto-polls", 1)))
    except (TypeError, ValueError):
        polls = 1
    message = args.get("--moto-error-message") or f"moto: job run ended {final}"
    control = {"final": final, "polls": polls, "reads": 0, "message": message}
    run._airtask_control = control
    return control


def _read(run: FakeJobRun) -> None:
    """One read of a run (GetJobRun / GetJobRuns): moves stop and per-run control forward."""
    stop = getattr(run, "_airtask_stop_reads", None)
    if stop is not None:
        run._airtask_stop_reads = stop + 1
        if stop + 1 >= 2:
            run._status = "STOPPED"
        return
    control = _own_control(run)
    if control is None:
        run.advance()
        return
    control["reads"] += 1
    if control["reads"] > control["polls"]:
        run._status = control["final"]
    else:
        run._status = "RUNNING"


_stock_status = FakeJobRun.status


def _status(self: FakeJobRun) -> str | None:
    if getattr(self, "_airtask_stop_reads", None) is not None or _own_control(self) is not None:
        return self._status
    return _stock_status.fget(self)


_stock_job_run_as_dict = FakeJobRun.as_dict


def _job_run_as_dict(self: FakeJobRun) -> dict:
    out = _stock_job_run_as_dict(self)
    control = _own_control(self)
    if control is not None and out["JobRunState"] in ("FAILED", "ERROR", "TIMEOUT"):
        out["ErrorMessage"] = control["message"]
    return out


def _get_job_run(self: FakeJob, run_id: str) -> FakeJobRun:
    for run in self.job_runs:
        if run.job_run_id == run_id:
            _read(run)
            return run
    raise models.JobRunNotFoundException(run_id)


def _get_job_runs(self: FakeJob) -> list[FakeJobRun]:
    for run in self.job_runs:
        _read(run)
    return self.job_runs


def _batch_stop_job_run(self: GlueResponse) -> ActionResult:
    name = self.parameters.get("JobName")
    run_ids = self.parameters.get("JobRunIds") or []
    job = self.glue_backend.get_job(name)
    ok, errors = [], []
    for run_id in run_ids:
        run = next((r for r in job.job_runs if r.job_run_id == run_id), None)
        if run is None:
            errors.append(_stop_error(name, run_id, "EntityNotFoundException",
                                      f"Job run {run_id} not found."))
            continue
        state = run.status
        if getattr(run, "_airtask_stop_reads", None) is None and state in _ACTIVE_STATES:
            run._airtask_stop_reads = 0
            run._status = "STOPPING"
            ok.append({"JobName": name, "JobRunId": run_id})
        else:
            errors.append(_stop_error(name, run_id, "InvalidInputException",
                                      f"Job run {run_id} is in state {state} and cannot be stopped."))
    return ActionResult({"SuccessfulSubmissions": ok, "Errors": errors})


def _stop_error(job: str, run_id: str, code: str, message: str) -> dict:
    return {"JobName": job, "JobRunId": run_id,
            "ErrorDetail": {"ErrorCode": code, "ErrorMessage": message}}


# JobUpdate key -> FakeJob attribute.
_JOB_FIELDS = {
    "Description": "description", "LogUri": "log_uri", "Role": "role",
    "ExecutionProperty": "execution_property", "Command": "command",
    "DefaultArguments": "default_arguments",
    "NonOverridableArguments": "non_overridable_arguments", "Connections": "connections",
    "MaxRetries": "max_retries", "AllocatedCapacity": "allocated_capacity", "Timeout": "timeout",
    "MaxCapacity": "max_capacity", "SecurityConfiguration": "security_configuration",
    "NotificationProperty": "notification_property", "GlueVersion": "glue_version",
    "NumberOfWorkers": "number_of_workers", "WorkerType": "worker_type",
    "CodeGenConfigurationNodes": "code_gen_configuration_nodes",
    "ExecutionClass": "execution_class", "SourceControlDetails": "source_control_details",
}


def _update_job(self: GlueResponse) -> ActionResult:
    name = self.parameters.get("JobName")
    update = self.parameters.get("JobUpdate") or {}
    if name not in self.glue_backend.jobs:
        raise JobNotFoundException(name)
    job = self.glue_backend.jobs[name]
    for key, attr in _JOB_FIELDS.items():
        value = update.get(key)
        if attr in ("execution_property", "default_arguments"):
            value = value or {}
        if attr == "execution_class":
            value = value or "STANDARD"
        setattr(job, attr, value)
    job.last_modified_on = models.utcnow()
    return ActionResult({"JobName": name})


# UpdateCrawler key -> FakeCrawler attribute (Schedule is the expression string in moto).
_CRAWLER_FIELDS = {
    "Role": "role", "DatabaseName": "database_name", "Description": "description",
    "Targets": "targets", "Schedule": "schedule", "Classifiers": "classifiers",
    "TablePrefix": "table_prefix", "SchemaChangePolicy": "schema_change_policy",
    "RecrawlPolicy": "recrawl_policy", "LineageConfiguration": "lineage_configuration",
    "Configuration": "configuration",
    "CrawlerSecurityConfiguration": "crawler_security_configuration",
}


def _update_crawler(self: GlueResponse) -> ActionResult:
    crawler = self.glue_backend.get_crawler(self.parameters.get("Name"))
    if crawler.status in ("RUNNING", "STOPPING"):
        raise CrawlerRunningException(f"Crawler with name {crawler.name} has already started")
    for key, attr in _CRAWLER_FIELDS.items():
        if key in self.parameters:
            setattr(crawler, attr, self.parameters[key])
    crawler.version += 1
    crawler.last_updated = models.utcnow()
    return ActionResult({})


def _crawl_seconds(crawl: FakeCrawl) -> float:
    return (crawl.end_time - crawl.start_time).total_seconds() if crawl.end_time else 0.0


def _get_crawler_metrics(self: GlueResponse) -> ActionResult:
    names = self.parameters.get("CrawlerNameList")
    crawlers = ([self.glue_backend.get_crawler(n) for n in names] if names
                else self.glue_backend.get_crawlers())
    metrics = []
    for crawler in crawlers:
        finished = [c for c in crawler.crawls if c.end_time is not None]
        runtimes = [_crawl_seconds(c) for c in finished]
        metrics.append({
            "CrawlerName": crawler.name,
            "TimeLeftSeconds": 0.0,
            "StillEstimating": False,
            "LastRuntimeSeconds": runtimes[-1] if runtimes else 0.0,
            "MedianRuntimeSeconds": statistics.median(runtimes) if runtimes else 0.0,
            "TablesCreated": 0,
            "TablesUpdated": 0,
            "TablesDeleted": 0,
        })
    return ActionResult({"CrawlerMetricsList": metrics})


_stock_crawler_as_dict = FakeCrawler.as_dict


def _crawler_as_dict(self: FakeCrawler) -> dict:
    data = _stock_crawler_as_dict(self)
    data.pop("LastCrawl", None)
    finished = [c for c in self.crawls if c.status in _CRAWL_STATUS]
    if finished:
        crawl = finished[-1]
        if crawl.end_time is None:
            crawl.end_time = models.utcnow()
        data["LastCrawl"] = {
            "LogGroup": crawl.log_group,
            "LogStream": crawl.log_stream,
            "MessagePrefix": crawl.message_prefix,
            "StartTime": crawl.start_time,
            "Status": _CRAWL_STATUS[crawl.status],
        }
        if crawl.status == "FAILED":
            data["LastCrawl"]["ErrorMessage"] = "moto: crawl failed (moto:FAILED in Description)"
    return data


_stock_start_crawler = FakeCrawler.start_crawler


def _start_crawler(self: FakeCrawler) -> None:
    _stock_start_crawler(self)
    if "moto:FAILED" in (self.description or ""):
        self.crawls[-1]._transitions = [("RUNNING", "FAILED"), ("STOPPING", "STOPPED")]


_stock_get_crawler_response = GlueResponse.get_crawler


def _get_crawler(self: GlueResponse) -> ActionResult:
    result = _stock_get_crawler_response(self)
    crawler = self.glue_backend.get_crawler(self.parameters.get("Name"))
    if crawler.crawls:
        crawler.crawls[-1].advance()
    return result


def apply() -> None:
    """Installs the Glue job, job-run and crawler paths described above."""
    FakeJobRun.status = property(_status, _stock_status.fset)
    FakeJobRun.as_dict = _job_run_as_dict
    FakeJob.get_job_run = _get_job_run
    FakeJob.get_job_runs = _get_job_runs
    FakeCrawler.as_dict = _crawler_as_dict
    FakeCrawler.start_crawler = _start_crawler
    GlueResponse.batch_stop_job_run = _batch_stop_job_run
    GlueResponse.update_job = _update_job
    GlueResponse.get_crawler_metrics = _get_crawler_metrics
    GlueResponse.update_crawler = _update_crawler
    GlueResponse.get_crawler = _get_crawler
