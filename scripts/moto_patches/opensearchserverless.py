"""OpenSearch Serverless collections: a collection that is still being created, which stock
moto 5.2.5 never has.

What stock moto does: CreateCollection makes the collection ACTIVE at once; DeleteCollection
makes it DELETING (both as AWS ends up).

What this patch changes (AWS paths, selected by the collection name): a collection whose
name contains `moto-creating` stays CREATING; one whose name contains `moto-failed` is FAILED. Other collections behave as in stock moto.

Tests that need it: tests/opensearchserverless.rs (the collection sensor's timeout).
"""

from moto.opensearchserverless.models import OpenSearchServiceServerlessBackend

_stock_create = OpenSearchServiceServerlessBackend.create_collection


def _create_collection(self: OpenSearchServiceServerlessBackend, *args, **kwargs):
    collection = _stock_create(self, *args, **kwargs)
    if "moto-creating" in collection.name:
        collection.status = "CREATING"
    elif "moto-failed" in collection.name:
        collection.status = "FAILED"
    return collection


def apply() -> None:
    """Installs the path described above."""
    OpenSearchServiceServerlessBackend.create_collection = _create_collection
