"""QuickSight SPICE ingestions: DescribeIngestion, which stock moto 5.2.5 lacks.

What stock moto does: CreateIngestion answers an ingestion in INITIALIZED and keeps nothing;
DescribeIngestion is not implemented (the request fails).

What this patch changes (each an AWS path, selected by the ingestion id):
- CreateIngestion remembers the ingestion (its answer is unchanged);
- DescribeIngestion answers it: COMPLETED; FAILED with ErrorInfo when the id contains
  `moto-failed`; CANCELLED when it contains `moto-cancelled`; RUNNING for ever when it contains
  `moto-running`; an ingestion never created is 404 ResourceNotFoundException, as QuickSight
  answers.
Ingestions without these markers behave as a quick AWS ingestion does.

Tests that need it: tests/quicksight.rs (QuickSightCreateIngestionOperator and QuickSightSensor:
completed, failed, cancelled and still-running ingestions).
"""

import json
import time

from moto.core.exceptions import JsonRESTError
from moto.quicksight.models import QuickSightBackend
from moto.quicksight.responses import QuickSightResponse

_stock_create = QuickSightBackend.create_ingestion

_FAILED_INFO = {
    "Type": "INTERNAL_SERVICE_ERROR",
    "Message": "moto: ingestion failed (moto-failed in the ingestion id)",
}


def _create_ingestion(self: QuickSightBackend, data_set_id: str, ingestion_id: str):
    ingestion = _stock_create(self, data_set_id, ingestion_id)
    if not hasattr(self, "_airtask_ingestions"):
        self._airtask_ingestions = {}
    self._airtask_ingestions[(data_set_id, ingestion_id)] = (ingestion.arn, time.time())
    return ingestion


def _describe_ingestion(self: QuickSightResponse) -> str:
    data_set_id = self._get_param("DataSetId")
    ingestion_id = self._get_param("IngestionId")
    known = getattr(self.quicksight_backend, "_airtask_ingestions", {})
    found = known.get((data_set_id, ingestion_id))
    if found is None:
        error = JsonRESTError(
            "ResourceNotFoundException",
            f"Ingestion {ingestion_id} of data set {data_set_id} does not exist",
        )
        error.code = 404
        raise error
    arn, created = found
    ingestion = {"Arn": arn, "IngestionId": ingestion_id, "CreatedTime": created}
    if "moto-failed" in ingestion_id:
        ingestion["IngestionStatus"] = "FAILED"
        ingestion["ErrorInfo"] = _FAILED_INFO
    elif "moto-cancelled" in ingestion_id:
        ingestion["IngestionStatus"] = "CANCELLED"
    elif "moto-running" in ingestion_id:
        ingestion["IngestionStatus"] = "RUNNING"
    else:
        ingestion["IngestionStatus"] = "COMPLETED"
    return json.dumps({"Ingestion": ingestion, "RequestId": "moto", "Status": 200})


def apply() -> None:
    """Installs the QuickSight paths described above."""
    QuickSightBackend.create_ingestion = _create_ingestion
    QuickSightResponse.describe_ingestion = _describe_ingestion
