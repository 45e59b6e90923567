"""Glacier vaults and jobs: the failure and not-found paths stock moto 5.2.5 lacks.

What stock moto does:
- a job is InProgress, then Succeeded after a few seconds (2 expedited, 5 standard, 10 bulk);
  no job ever fails;
- DescribeJob of an unknown job id answers 500 (an AttributeError on None);
- a missing vault answers 400 with the code VaultNotFound, where Glacier answers 404
  ResourceNotFoundException "Vault not found for ARN: ...".

What this patch changes (each an AWS path):
- a job in a vault whose name contains `moto-failed` is Failed from its first read
  (Completed, StatusMessage "moto: job failed (moto-failed in the vault name)");
- DescribeJob of an unknown job id answers 404 ResourceNotFoundException
  "The job ID was not found: <id>";
- a missing vault answers 404 ResourceNotFoundException "Vault not found for ARN: <arn>".
Vaults and jobs without the marker behave as in stock moto.

Tests that need it: tests/glacier.rs (GlacierJobOperationSensor on a failed and an unknown
job, GlacierCreateJobOperator and GlacierUploadArchiveOperator on a missing vault).
"""

from moto.core.exceptions import JsonRESTError
from moto.glacier.models import ArchiveJob, GlacierBackend, InventoryJob

_stock_describe_vault = GlacierBackend.describe_vault
_stock_describe_job = GlacierBackend.describe_job
_stock_inventory_to_dict = InventoryJob.to_dict
_stock_archive_to_dict = ArchiveJob.to_dict

_FAILED = "moto: job failed (moto-failed in the vault name)"


def _not_found(message: str) -> JsonRESTError:
    error = JsonRESTError("ResourceNotFoundException", message)
    error.code = 404
    return error


def _describe_vault(self: GlacierBackend, vault_name: str):
    try:
        return _stock_describe_vault(self, vault_name)
    except JsonRESTError as error:
        if error.error_type != "VaultNotFound":
            raise
        arn = f"arn:aws:glacier:{self.region_name}:{self.account_id}:vaults/{vault_name}"
        raise _not_found(f"Vault not found for ARN: {arn}") from error


def _describe_job(self: GlacierBackend, vault_name: str, archive_id: str):
    job = _stock_describe_job(self, vault_name, archive_id)
    if job is None:
        raise _not_found(f"The job ID was not found: {archive_id}")
    return job


def _failed(job, body: dict) -> dict:
    if "moto-failed" in job.arn:
        body["Completed"] = True
        body["StatusCode"] = "Failed"
        body["StatusMessage"] = _FAILED
        body["CompletionDate"] = body["CreationDate"]
    return body


def _inventory_to_dict(self: InventoryJob) -> dict:
    return _failed(self, _stock_inventory_to_dict(self))


def _archive_to_dict(self: ArchiveJob) -> dict:
    return _failed(self, _stock_archive_to_dict(self))


def apply() -> None:
    """Installs the Glacier paths described above."""
    GlacierBackend.describe_vault = _describe_vault
    GlacierBackend.describe_job = _describe_job
    InventoryJob.to_dict = _inventory_to_dict
    ArchiveJob.to_dict = _archive_to_dict
