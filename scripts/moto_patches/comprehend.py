"""Comprehend: PII entities detection jobs and document classifiers that finish.

What stock moto 5.2.5 does: StartPiiEntitiesDetectionJob answers a job that stays SUBMITTED for
ever, and DescribePiiEntitiesDetectionJob writes its times as ISO text (AWS: epoch seconds, which
is all the Rust SDK reads); CreateDocumentClassifier answers a classifier that stays TRAINING for ever, and
DescribeDocumentClassifier leaves out its OutputDataConfig, Message and ClassifierMetadata.

What this patch changes (AWS paths only; behaviour selected by names):
- a PII entities detection job is COMPLETED (with an EndTime) on its first
  DescribePiiEntitiesDetectionJob, as moto's other jobs end at once; `moto-slow` in the job
  name answers IN_PROGRESS once first; `moto-failed` ends it FAILED with a Message;
  `moto-running` keeps it IN_PROGRESS; a stopped job (STOP_REQUESTED) is STOPPED on the next
  Describe;
- a document classifier is TRAINED on its first DescribeDocumentClassifier, with
  ClassifierMetadata and its OutputDataConfig; `moto-slow` in its name answers TRAINING once
  first; `moto-warning` ends it TRAINED_WITH_WARNING with a Message; `moto-failed` ends it
  IN_ERROR with a Message; `moto-running` keeps it TRAINING. Its ARN has no `/None` version part when no VersionName
  was given (stock moto writes one).

Tests that need it: tests/comprehend.rs.
"""

import json
from datetime import datetime, timezone

from moto.comprehend.models import ComprehendJob, DocumentClassifier
from moto.comprehend.responses import ComprehendResponse

_stock_job_to_dict = ComprehendJob.to_dict
_stock_classifier_init = DocumentClassifier.__init__
_stock_classifier_to_dict = DocumentClassifier.to_dict


def _advance_job(job):
    """One Describe of a PII job: the next status."""
    if job.job_type != "PiiEntitiesDetection":
        return
    if job.job_status == "STOP_REQUESTED":
        job.job_status = "STOPPED"
        return
    if job.job_status in ("COMPLETED", "FAILED", "STOPPED"):
        return
    name = job.job_name or ""
    if "moto-running" in name or ("moto-slow" in name and job.job_status == "SUBMITTED"):
        job.job_status = "IN_PROGRESS"
        return
    job.job_status = "FAILED" if "moto-failed" in name else "COMPLETED"
    job.end_time = datetime.now(timezone.utc)


def _job_to_dict(self):
    d = _stock_job_to_dict(self)
    if self.job_status == "FAILED":
        d["Message"] = "moto: the job failed (moto-failed in the job name)"
    return d


def _describe_pii_job(self):
    params = json.loads(self.body)
    job = self.comprehend_backend.describe_pii_entities_detection_job(job_id=params["JobId"])
    _advance_job(job)
    props = job.to_dict()
    props.pop("job_type", None)
    # AWS sends epoch seconds (stock moto: ISO text, which the Rust SDK cannot read).
    for key in ("SubmitTime", "EndTime"):
        if isinstance(props.get(key), datetime):
            props[key] = props[key].timestamp()
        elif props.get(key) is None:
            props.pop(key, None)
    return json.dumps({"PiiEntitiesDetectionJobProperties": props})


def _classifier_init(self, *args, **kwargs):
    _stock_classifier_init(self, *args, **kwargs)
    self._airtask_gets = 0
    if not self.version_name and self.arn.endswith("/None"):
        # AWS's ARN of a classifier without VersionName has no version part.
        self.arn = self.arn[: -len("/None")]


def _classifier_to_dict(self):
    d = _stock_classifier_to_dict(self)
    d = {k: v for k, v in d.items() if v is not None}
    if self.output_data_config:
        d["OutputDataConfig"] = self.output_data_config
    if self.version_name:
        d["VersionName"] = self.version_name
    status = self.status
    if status in ("TRAINED", "TRAINED_WITH_WARNING"):
        d["ClassifierMetadata"] = {
            "NumberOfLabels": 2,
            "NumberOfTrainedDocuments": 10,
            "NumberOfTestDocuments": 2,
            "EvaluationMetrics": {"Accuracy": 0.9, "Precision": 0.9, "Recall": 0.9, "F1Score": 0.9},
        }
    if status == "TRAINED_WITH_WARNING":
        d["Message"] = "moto: some training documents were skipped (moto-warning in the name)"
    if status == "IN_ERROR":
        d["Message"] = "moto: training failed (moto-failed in the name)"
    return d


def _describe_classifier(self):
    params = json.loads(self.body)
    classifier = self.comprehend_backend.describe_document_classifier(
        document_classifier_arn=params.get("DocumentClassifierArn")
    )
    gets = getattr(classifier, "_airtask_gets", 0)
    classifier._airtask_gets = gets + 1
    name = classifier.name or ""
    slow = "moto-slow" in name and gets == 0
    if classifier.status in ("TRAINING", "SUBMITTED") and not slow and "moto-running" not in name:
        if "moto-failed" in name:
            classifier.status = "IN_ERROR"
        elif "moto-warning" in name:
            classifier.status = "TRAINED_WITH_WARNING"
        else:
            classifier.status = "TRAINED"
    return json.dumps({"DocumentClassifierProperties": classifier.to_dict()})


def apply() -> None:
    """Installs the Comprehend paths described above."""
    ComprehendJob.to_dict = _job_to_dict
    ComprehendResponse.describe_pii_entities_detection_job = _describe_pii_job
    DocumentClassifier.__init__ = _classifier_init
    DocumentClassifier.to_dict = _classifier_to_dict
    ComprehendResponse.describe_document_classifier = _describe_classifier
