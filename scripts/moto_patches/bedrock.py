"""Bedrock: model customization jobs that end, provisioned throughput, knowledge bases with
AWS's states, data sources, ingestion jobs, and small fakes of InvokeModel, Retrieve and
RetrieveAndGenerate.

What stock moto 5.2.5 does:
- bedrock: CreateModelCustomizationJob and GetModelCustomizationJob, but the job stays
  InProgress for ever, its times are text without the ISO 8601 'T' and offset
  ('2025-01-01 10:00:00') where AWS sends date-time strings ('2025-01-01T10:00:00Z', the
  `timestampFormat` of every Bedrock timestamp: the Rust SDK cannot read moto's text), and a
  taken job name gives ResourceInUseException instead of AWS's ValidationException "The
  provided job name is currently in use.". No provisioned throughput at all;
- bedrock-agent: knowledge bases, but their status is 'Active' (AWS: ACTIVE) and their times
  are epoch numbers (AWS: date-time strings, as above); no data sources and no ingestion jobs;
- bedrock-runtime: InvokeModel answers `{}` whatever the model;
- bedrock-agent-runtime: nothing (Retrieve and RetrieveAndGenerate are not even routed).

What this patch changes (AWS paths only; behaviour selected by names):
- a customization job answers InProgress on its first GetModelCustomizationJob and Completed
  after; with `moto-failed` in the job name it ends Failed with a failureMessage, with
  `moto-running` it stays InProgress; a taken job name is AWS's ValidationException;
- every time this patch answers (jobs, throughput, knowledge bases, data sources, ingestion
  jobs) is an ISO 8601 date-time string in UTC, as AWS sends them;
- CreateProvisionedModelThroughput / GetProvisionedModelThroughput: Creating on the first Get,
  then InService (`moto-failed` in the name: Failed with a failureMessage; `moto-running`:
  Creating for ever); an unknown id is ResourceNotFoundException;
- knowledge bases are ACTIVE (`moto-failed` in the name: FAILED with failureReasons;
  `moto-running`: CREATING for ever); a name with `moto-index-pending` is refused once with the
  ValidationException AWS gives while the vector index does not exist yet ("no such index");
- CreateDataSource (an unknown knowledge base is ResourceNotFoundException);
  StartIngestionJob / GetIngestionJob: STARTING, then IN_PROGRESS on the first Get, then
  COMPLETE (`moto-failed` in the data source's name: FAILED with failureReasons;
  `moto-running`: IN_PROGRESS for ever; `moto-index-pending`: the first StartIngestionJob is
  refused with AWS's "Dependency error document status code: 404" ValidationException);
- InvokeModel answers, for any model, `{"output": {"message": {"role": "assistant", "content":
  [{"text": "moto: <the prompt's first text>"}]}}, "stopReason": "end_turn", "usage": {...}}`;
  a model id with `moto-invalid` is AWS's ValidationException "The provided model identifier
  is invalid.";
- Retrieve answers two chunks of the knowledge base (numberOfResults caps them) whose
  location is the S3 bucket of its first data source; RetrieveAndGenerate answers
  "moto: answer to <input>" with one citation of those chunks (external sources: of the
  sources given); an unknown knowledge base is ResourceNotFoundException.

Tests that need it: tests/bedrock.rs.
"""

import json
import re
import uuid
from datetime import datetime, timezone

from moto.bedrock.models import BedrockBackend, ModelCustomizationJob
from moto.bedrock.responses import BedrockResponse
from moto.bedrockagent.models import AgentsforBedrockBackend, KnowledgeBase
from moto.bedrockagent.responses import AgentsforBedrockResponse
from moto.bedrockruntime.models import BedrockRuntimeBackend
from moto.core.exceptions import JsonRESTError
from moto.core.utils import unix_time
from moto.moto_server.werkzeug_app import DomainDispatcherApplication

_NAME_IN_USE = "The provided job name is currently in use."


def _error(code, message, status=400):
    error = JsonRESTError(code, message)
    error.code = status
    return error


def _not_found(message):
    return _error("ResourceNotFoundException", message, 404)


def _iso(value):
    """A time as AWS's date-time string: from moto's '%Y-%m-%d %H:%M:%S' text or epoch number."""
    if isinstance(value, str):
        try:
            value = datetime.strptime(value, "%Y-%m-%d %H:%M:%S").replace(tzinfo=timezone.utc)
        except ValueError:
            return value
    elif isinstance(value, (int, float)):
        value = datetime.fromtimestamp(value, tz=timezone.utc)
    else:
        return value
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def _now():
    return _iso(unix_time())


def _progress(obj, name, steps, failed, failure_key, failure_value):
    """The status of a resource after one more Get: `steps` in order, the last one kept."""
    count = getattr(obj, "_airtask_gets", 0)
    obj._airtask_gets = count + 1
    extra = {}
    if "moto-running" in name:
        return steps[0], extra
    if "moto-failed" in name:
        extra[failure_key] = failure_value
        return failed, extra
    return steps[min(count, len(steps) - 1)], extra


# --- model customization jobs -------------------------------------------------------------

_stock_job_to_dict = ModelCustomizationJob.to_dict
_stock_create_job = BedrockBackend.create_model_customization_job


def _job_to_dict(self):
    d = _stock_job_to_dict(self)
    for key in ("creationTime", "lastModifiedTime", "endTime"):
        if key in d:
            d[key] = _iso(d[key])
    if self.status == "Failed":
        d["failureMessage"] = "moto: the job failed (moto-failed in the job name)"
    else:
        d.pop("failureMessage", None)
    if self.status in ("InProgress",):
        d.pop("endTime", None)
    return d


def _create_job(self, job_name, *args, **kwargs):
    if job_name in self.model_customization_jobs:
        raise _error("ValidationException", _NAME_IN_USE)
    return _stock_create_job(self, job_name, *args, **kwargs)


def _get_job_response(self):
    job_identifier = self.path.split("/")[-1]
    job = self.bedrock_backend.get_model_customization_job(job_identifier=job_identifier)
    if job.status != "Stopped":
        job.status, _ = _progress(job, job.job_name, ["InProgress", "Completed"], "Failed", "", "")
    return json.dumps(job.to_dict())


# --- provisioned throughput ----------------------------------------------------------------


def _throughputs(backend):
    if not hasattr(backend, "_airtask_throughputs"):
        backend._airtask_throughputs = {}
    return backend._airtask_throughputs


def _create_throughput(self):
    params = json.loads(self.body)
    backend = self.bedrock_backend
    name = params["provisionedModelName"]
    arn = f"arn:aws:bedrock:{self.region}:{backend.account_id}:provisioned-model/{uuid.uuid4().hex[:12]}"
    model = params["modelId"]
    model_arn = model if model.startswith("arn:") else f"arn:aws:bedrock:{self.region}::foundation-model/{model}"
    now = _now()
    record = {
        "modelUnits": params["modelUnits"],
        "desiredModelUnits": params["modelUnits"],
        "provisionedModelName": name,
        "provisionedModelArn": arn,
        "modelArn": model_arn,
        "desiredModelArn": model_arn,
        "foundationModelArn": model_arn,
        "creationTime": now,
        "lastModifiedTime": now,
    }
    if params.get("commitmentDuration"):
        record["commitmentDuration"] = params["commitmentDuration"]
    _throughputs(backend)[arn] = record
    return json.dumps({"provisionedModelArn": arn})


class _Record:
    pass


def _get_throughput(self):
    from urllib.parse import unquote

    ident = unquote(self.path.split("/provisioned-model-throughput/")[-1])
    found = None
    for arn, record in _throughputs(self.bedrock_backend).items():
        if ident in (arn, record["provisionedModelName"]):
            found = record
    if found is None:
        raise _not_found(f"Provisioned model {ident} not found")
    holder = found.setdefault("_holder", _Record())
    status, extra = _progress(
        holder,
        found["provisionedModelName"],
        ["Creating", "InService"],
        "Failed",
        "failureMessage",
        "moto: provisioning failed (moto-failed in the name)",
    )
    answer = {k: v for k, v in found.items() if k != "_holder"}
    answer["status"] = status
    answer.update(extra)
    return json.dumps(answer)


# --- knowledge bases, data sources, ingestion jobs -----------------------------------------

_stock_kb_to_dict = KnowledgeBase.to_dict
_stock_create_kb = AgentsforBedrockBackend.create_knowledge_base


def _kb_to_dict(self):
    d = _stock_kb_to_dict(self)
    for key in ("createdAt", "updatedAt"):
        if key in d:
            d[key] = _iso(d[key])
    if "moto-failed" in self.name:
        d["status"] = "FAILED"
        d["failureReasons"] = ["moto: the knowledge base failed (moto-failed in the name)"]
    elif "moto-running" in self.name:
        d["status"] = "CREATING"
    elif d.get("status") == "Active":
        d["status"] = "ACTIVE"
    return d


def _agent_state(backend):
    if not hasattr(backend, "_airtask"):
        backend._airtask = {"pending": set(), "sources": {}, "jobs": {}}
    return backend._airtask


def _create_kb(self, name, *args, **kwargs):
    state = _agent_state(self)
    if "moto-index-pending" in name and name not in state["pending"]:
        state["pending"].add(name)
        raise _error(
            "ValidationException",
            "The knowledge base storage configuration provided is invalid... no such index "
            "[bedrock-sample-rag-index-moto]",
        )
    return _stock_create_kb(self, name, *args, **kwargs)


def _kb_or_404(backend, kb_id):
    if kb_id not in backend.knowledge_bases:
        raise _not_found(f"Knowledge base {kb_id} not found")
    return backend.knowledge_bases[kb_id]


def _create_data_source(self):
    params = json.loads(self.body)
    backend = self.bedrockagent_backend
    kb_id = self.path.split("/knowledgebases/")[1].split("/")[0]
    _kb_or_404(backend, kb_id)
    ds_id = uuid.uuid4().hex[:10].upper()
    now = _now()
    source = {
        "knowledgeBaseId": kb_id,
        "dataSourceId": ds_id,
        "name": params["name"],
        "status": "AVAILABLE",
        "dataSourceConfiguration": params["dataSourceConfiguration"],
        "createdAt": now,
        "updatedAt": now,
    }
    for key in ("description", "dataDeletionPolicy", "serverSideEncryptionConfiguration",
                "vectorIngestionConfiguration"):
        if params.get(key) is not None:
            source[key] = params[key]
    _agent_state(backend)["sources"][(kb_id, ds_id)] = source
    return json.dumps({"dataSource": source})


def _source_or_404(backend, kb_id, ds_id):
    _kb_or_404(backend, kb_id)
    source = _agent_state(backend)["sources"].get((kb_id, ds_id))
    if source is None:
        raise _not_found(f"Data source {ds_id} of knowledge base {kb_id} not found")
    return source


def _start_ingestion_job(self):
    params = json.loads(self.body or "{}")
    backend = self.bedrockagent_backend
    parts = self.path.split("/")
    kb_id, ds_id = parts[2], parts[4]
    source = _source_or_404(backend, kb_id, ds_id)
    state = _agent_state(backend)
    if "moto-index-pending" in source["name"] and ("ingest", ds_id) not in state["pending"]:
        state["pending"].add(("ingest", ds_id))
        raise _error(
            "ValidationException",
            "Dependency error document status code: 404, error message: no such index",
        )
    job_id = uuid.uuid4().hex[:10].upper()
    now = _now()
    job = {
        "knowledgeBaseId": kb_id,
        "dataSourceId": ds_id,
        "ingestionJobId": job_id,
        "status": "STARTING",
        "startedAt": now,
        "updatedAt": now,
    }
    if params.get("description"):
        job["description"] = params["description"]
    state["jobs"][(kb_id, ds_id, job_id)] = job
    return json.dumps({"ingestionJob": job})


def _get_ingestion_job(self):
    backend = self.bedrockagent_backend
    parts = self.path.rstrip("/").split("/")
    kb_id, ds_id, job_id = parts[2], parts[4], parts[6]
    source = _source_or_404(backend, kb_id, ds_id)
    job = _agent_state(backend)["jobs"].get((kb_id, ds_id, job_id))
    if job is None:
        raise _not_found(f"Ingestion job {job_id} not found")
    holder = job.setdefault("_holder", _Record())
    status, extra = _progress(
        holder,
        source["name"],
        ["IN_PROGRESS", "COMPLETE"],
        "FAILED",
        "failureReasons",
        ["moto: ingestion failed (moto-failed in the data source's name)"],
    )
    answer = {k: v for k, v in job.items() if k != "_holder"}
    answer["status"] = status
    answer.update(extra)
    if status == "COMPLETE":
        answer["statistics"] = {"numberOfDocumentsScanned": 2, "numberOfNewDocumentsIndexed": 2}
    return json.dumps({"ingestionJob": answer})


# --- the runtimes --------------------------------------------------------------------------


def _first_text(value):
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        for key in ("text", "prompt", "inputText", "content", "messages"):
            if key in value:
                found = _first_text(value[key])
                if found is not None:
                    return found
        for v in value.values():
            found = _first_text(v)
            if found is not None:
                return found
    if isinstance(value, list):
        for v in value:
            found = _first_text(v)
            if found is not None:
                return found
    return None


def _invoke_model(self, payload, model_id):
    if "moto-invalid" in model_id:
        raise _error("ValidationException", "The provided model identifier is invalid.")
    prompt = _first_text(payload) or ""
    return {
        "output": {"message": {"role": "assistant", "content": [{"text": f"moto: {prompt}"}]}},
        "stopReason": "end_turn",
        "usage": {"inputTokens": len(prompt.split()), "outputTokens": len(prompt.split()) + 1},
    }


def _chunks(backend, kb_id, query, limit):
    sources = [s for (k, _), s in _agent_state(backend)["sources"].items() if k == kb_id]
    bucket = "moto-bucket"
    if sources:
        arn = sources[0]["dataSourceConfiguration"].get("s3Configuration", {}).get("bucketArn", "")
        bucket = arn.split(":::")[-1] or bucket
    out = []
    for n in (1, 2)[: max(0, limit)]:
        uri = f"s3://{bucket}/doc{n}.txt"
        out.append({
            "content": {"text": f"moto: chunk {n} for {query}", "type": "TEXT"},
            "location": {"type": "S3", "s3Location": {"uri": uri}},
            "score": round(1.0 - n / 10, 2),
            "metadata": {"x-amz-bedrock-kb-source-uri": uri, "x-amz-bedrock-kb-chunk-id": str(n)},
        })
    return out


def _retrieve(self):
    params = json.loads(self.body or "{}")
    backend = self.bedrockagent_backend
    kb_id = self.path.split("/knowledgebases/")[1].split("/")[0]
    _kb_or_404(backend, kb_id)
    vector = params.get("retrievalConfiguration", {}).get("vectorSearchConfiguration", {})
    limit = vector.get("numberOfResults", 5)
    query = params.get("retrievalQuery", {}).get("text", "")
    return json.dumps({"retrievalResults": _chunks(backend, kb_id, query, limit)})


def _retrieve_and_generate(self):
    params = json.loads(self.body or "{}")
    backend = self.bedrockagent_backend
    text = params.get("input", {}).get("text", "")
    config = params.get("retrieveAndGenerateConfiguration", {})
    if config.get("type") == "EXTERNAL_SOURCES":
        refs = []
        for i, source in enumerate(config.get("externalSourcesConfiguration", {}).get("sources", [])):
            uri = source.get("s3Location", {}).get("uri") or f"byte-content-{i}"
            refs.append({
                "content": {"text": f"moto: passage of {uri}"},
                "location": {"type": "S3", "s3Location": {"uri": uri}},
            })
    else:
        kb = config.get("knowledgeBaseConfiguration", {})
        kb_id = kb.get("knowledgeBaseId", "")
        _kb_or_404(backend, kb_id)
        refs = [
            {k: v for k, v in c.items() if k != "score"}
            for c in _chunks(backend, kb_id, text, 2)
        ]
    answer = f"moto: answer to {text}"
    return json.dumps({
        "sessionId": params.get("sessionId") or str(uuid.uuid4()),
        "output": {"text": answer},
        "citations": [{
            "generatedResponsePart": {"textResponsePart": {"text": answer, "span": {"start": 0, "end": len(answer) - 1}}},
            "retrievedReferences": refs,
        }],
    })


_RUNTIME_PATHS = (
    ("POST", re.compile(r"^/knowledgebases/[^/]+/retrieve/?$"), "Retrieve"),
    ("POST", re.compile(r"^/retrieveAndGenerate/?$"), "RetrieveAndGenerate"),
)

_stock_infer = DomainDispatcherApplication.infer_service_region_host
_stock_get_action = AgentsforBedrockResponse._get_action


def _runtime_action(method, path):
    for m, pattern, action in _RUNTIME_PATHS:
        if method == m and pattern.match(path):
            return action
    return None


def _infer(self, environ, path):
    host = _stock_infer(self, environ, path)
    if host and host.startswith("bedrock.") and _runtime_action(environ.get("REQUEST_METHOD"), path):
        # bedrock-agent-runtime signs as bedrock too; its two calls are served by the
        # bedrock-agent backend, which holds the knowledge bases.
        return host.replace("bedrock.", "bedrock-agent.", 1)
    return host


def _get_action(self):
    action = _runtime_action(self.method, self.path)
    return action or _stock_get_action(self)


def apply() -> None:
    """Installs the Bedrock paths described above."""
    ModelCustomizationJob.to_dict = _job_to_dict
    BedrockBackend.create_model_customization_job = _create_job
    BedrockResponse.get_model_customization_job = _get_job_response
    BedrockResponse.create_provisioned_model_throughput = _create_throughput
    BedrockResponse.get_provisioned_model_throughput = _get_throughput
    KnowledgeBase.to_dict = _kb_to_dict
    AgentsforBedrockBackend.create_knowledge_base = _create_kb
    AgentsforBedrockResponse.create_data_source = _create_data_source
    AgentsforBedrockResponse.start_ingestion_job = _start_ingestion_job
    AgentsforBedrockResponse.get_ingestion_job = _get_ingestion_job
    AgentsforBedrockResponse.retrieve = _retrieve
    AgentsforBedrockResponse.retrieve_and_generate = _retrieve_and_generate
    AgentsforBedrockResponse._get_action = _get_action
    BedrockRuntimeBackend.invoke_model = _invoke_model
    DomainDispatcherApplication.infer_service_region_host = _infer
