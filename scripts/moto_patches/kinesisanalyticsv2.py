"""Managed Service for Apache Flink (Kinesis Analytics v2): StartApplication and
StopApplication, which stock moto 5.2.5 lacks, and the states they lead to.

What stock moto does: CreateApplication answers (and keeps) the application in STARTING;
StartApplication and StopApplication are not implemented; DescribeApplication of an unknown
application answers 500 (a KeyError).

What this patch changes (each an AWS path, selected by the application name):
- a created application is READY, as on AWS, and the timestamps of CreateApplication and
  DescribeApplication are epoch seconds, as AWS answers them (stock moto: ISO strings the
  SDKs cannot read);
- StartApplication makes it RUNNING; STARTING for ever when the name contains `moto-stuck`;
  READY again (a start that failed) when it contains `moto-start-fails`;
- StopApplication makes it READY; STOPPING for ever when the name contains `moto-stuck`;
  ROLLED_BACK (a stop that failed) when it contains `moto-stop-fails`;
- StartApplication, StopApplication and DescribeApplication of an unknown application answer
  400 ResourceNotFoundException, as AWS does.

Tests that need it: tests/kinesisanalytics.rs (the start and stop operators and sensors:
success, failure and timeout).
"""

import json
from datetime import datetime

from moto.core.exceptions import JsonRESTError
from moto.kinesisanalyticsv2.models import KinesisAnalyticsV2Backend
from moto.kinesisanalyticsv2.responses import KinesisAnalyticsV2Response

_stock_create = KinesisAnalyticsV2Backend.create_application
_stock_describe = KinesisAnalyticsV2Backend.describe_application


def _not_found(name: str) -> JsonRESTError:
    error = JsonRESTError(
        "ResourceNotFoundException", f"Application {name} does not exist"
    )
    error.code = 400
    return error


def _app(backend: KinesisAnalyticsV2Backend, name: str):
    app = backend.applications.get(name)
    if app is None:
        raise _not_found(name)
    return app


def _epoch_timestamps(detail: dict) -> dict:
    """Stock moto answers the timestamps as ISO strings, which the AWS SDKs refuse: AWS
    answers epoch seconds."""
    for key in ("CreateTimestamp", "LastUpdateTimestamp", "ApplicationVersionCreateTimestamp"):
        value = detail.get(key)
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        if isinstance(value, datetime):
            detail[key] = value.timestamp()
    return detail


def _create_application(self: KinesisAnalyticsV2Backend, application_name: str, **kwargs):
    detail = _stock_create(self, application_name=application_name, **kwargs)
    self.applications[application_name].application_status = "READY"
    detail["ApplicationStatus"] = "READY"
    return _epoch_timestamps(detail)


def _describe_application(self: KinesisAnalyticsV2Backend, application_name: str):
    _app(self, application_name)
    return _epoch_timestamps(_stock_describe(self, application_name=application_name))


def _start_application(self: KinesisAnalyticsV2Response) -> str:
    name = self._get_param("ApplicationName")
    app = _app(self.kinesisanalyticsv2_backend, name)
    if "moto-stuck" in name:
        app.application_status = "STARTING"
    elif "moto-start-fails" in name:
        app.application_status = "READY"
    else:
        app.application_status = "RUNNING"
    return json.dumps({})


def _stop_application(self: KinesisAnalyticsV2Response) -> str:
    name = self._get_param("ApplicationName")
    app = _app(self.kinesisanalyticsv2_backend, name)
    if "moto-stuck" in name:
        app.application_status = "STOPPING"
    elif "moto-stop-fails" in name:
        app.application_status = "ROLLED_BACK"
    else:
        app.application_status = "READY"
    return json.dumps({})


def apply() -> None:
    """Installs the paths described above."""
    KinesisAnalyticsV2Backend.create_application = _create_application
    KinesisAnalyticsV2Backend.describe_application = _describe_application
    KinesisAnalyticsV2Response.start_application = _start_application
    KinesisAnalyticsV2Response.stop_application = _stop_application
