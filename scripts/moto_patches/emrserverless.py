"""EMR Serverless: the states stock moto 5.2.5 gets wrong or never reaches.

What stock moto does (../shared/reference/local-aws-families.md):
- an application is STARTED as soon as CreateApplication answers, where AWS creates it in
  CREATED (and starts it only on StartApplication): Airflow's `serverless_app_created` waiter,
  which waits for CREATED, then never ends;
- an application never fails to be created or to start;
- a job run is SUCCESS as soon as StartJobRun answers; it never fails and is never seen
  running (CancelJobRun makes it CANCELLED).

What this patch changes (each a state AWS itself has, selected by the name):
- an application is CREATED once created, as on AWS; one whose name contains `moto-failed` is
  TERMINATED, with stateDetails; StartApplication of one whose name contains
  `moto-start-failed` makes it STOPPED, with stateDetails;
- a job run whose name contains `moto-failed` is FAILED, with stateDetails; one whose name
  contains `moto-running` stays RUNNING until cancelled.
Everything else behaves as in stock moto.

Tests that need it: tests/emrserverless.rs.
"""

from moto.emrserverless.models import EMRServerlessBackend

_FAILED = "moto-failed"
_START_FAILED = "moto-start-failed"
_RUNNING = "moto-running"

_stock_create = EMRServerlessBackend.create_application
_stock_start = EMRServerlessBackend.start_application
_stock_start_job_run = EMRServerlessBackend.start_job_run


def _create_application(self, *args, **kwargs):
    application = _stock_create(self, *args, **kwargs)
    name = application.name or ""
    if _FAILED in name:
        application.state = "TERMINATED"
        application.state_details = "moto: application creation failed (moto-failed in the name)"
    else:
        application.state = "CREATED"
    return application


def _start_application(self, application_id):
    _stock_start(self, application_id)
    application = self.applications[application_id]
    if _START_FAILED in (application.name or ""):
        application.state = "STOPPED"
        application.state_details = "moto: application failed to start (moto-start-failed in the name)"


def _start_job_run(self, *args, **kwargs):
    job_run = _stock_start_job_run(self, *args, **kwargs)
    name = job_run.name or ""
    if _FAILED in name:
        job_run.state = "FAILED"
        job_run.state_details = "moto: job failed (moto-failed in the name)"
    elif _RUNNING in name:
        job_run.state = "RUNNING"
    return job_run


def apply() -> None:
    """Installs the EMR Serverless paths described above."""
    EMRServerlessBackend.create_application = _create_application
    EMRServerlessBackend.start_application = _start_application
    EMRServerlessBackend.start_job_run = _start_job_run
