//! `ComprehendCreateDocumentClassifierOperator` (CreateDocumentClassifier; with
//! `wait_for_completion` the provider's `create_document_classifier_complete` waiter, then
//! the hook's training check, which fails a TRAINED_WITH_WARNING classifier with
//! `fail_on_warnings`; XCom is the classifier's ARN) and
//! `ComprehendCreateDocumentClassifierCompletedSensor`.

use airtask_aws::AwsParams;
use airtask_core::kwargs::{self, Obj};
use airtask_core::sensor::{self, SensorSettings};
use airtask_core::wait::{self, WaitSettings};
use airtask_core::{
    Operator, OperatorSpec, Outcome, ParamError, ParamReader, Permission, TaskContext, TaskError,
};
use aws_sdk_comprehend::operation::create_document_classifier::builders::CreateDocumentClassifierInputBuilder;
use aws_sdk_comprehend::types::{
    DocumentClassifierDataFormat, DocumentClassifierDocumentTypeFormat,
    DocumentClassifierDocuments, DocumentClassifierInputDataConfig, DocumentClassifierMode,
    DocumentClassifierOutputDataConfig, LanguageCode,
};
use serde_json::{Value, json};

use crate::config::{self, CLASSIFIER, required};
use crate::pii::mapping;

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// Reads `input_data_config` (boto3's `DocumentClassifierInputDataConfig`).
fn input_config(v: &Value, rendered: bool) -> Result<DocumentClassifierInputDataConfig, String> {
    const P: &str = "input_data_config";
    let mut o = Obj::new(P, v, rendered)?;
    let format = o.str("DataFormat")?;
    let uri = o.str("S3Uri")?;
    let test = o.str("TestS3Uri")?;
    let delimiter = o.str("LabelDelimiter")?;
    let doc_type = o.str("DocumentType")?;
    let documents = match o.obj("Documents")? {
        None => None,
        Some(mut d) => {
            let at = format!("{P}.Documents");
            let s3 = required(&mut d, &at, "S3Uri")?;
            let t = d.str("TestS3Uri")?;
            d.finish()?;
            Some(
                DocumentClassifierDocuments::builder()
                    .s3_uri(s3)
                    .set_test_s3_uri(t)
                    .build()
                    .map_err(err)?,
            )
        }
    };
    let reader = config::document_reader(&mut o, P)?;
    o.finish()?;
    Ok(DocumentClassifierInputDataConfig::builder()
        .set_data_format(format.map(|f| DocumentClassifierDataFormat::from(f.as_str())))
        .set_s3_uri(uri)
        .set_test_s3_uri(test)
        .set_label_delimiter(delimiter)
        .set_document_type(doc_type.map(|t| DocumentClassifierDocumentTypeFormat::from(t.as_str())))
        .set_documents(documents)
        .set_document_reader_config(reader)
        .build())
}

/// Reads `output_data_config` (boto3's `DocumentClassifierOutputDataConfig`).
fn output_config(v: &Value, rendered: bool) -> Result<DocumentClassifierOutputDataConfig, String> {
    let mut o = Obj::new("output_data_config", v, rendered)?;
    let b = DocumentClassifierOutputDataConfig::builder()
        .set_s3_uri(o.str("S3Uri")?)
        .set_kms_key_id(o.str("KmsKeyId")?)
        .set_flywheel_stats_s3_prefix(o.str("FlywheelStatsS3Prefix")?);
    o.finish()?;
    Ok(b.build())
}

/// Reads `document_classifier_kwargs` into the request.
fn classifier_kwargs(
    b: CreateDocumentClassifierInputBuilder,
    v: &Value,
    rendered: bool,
) -> Result<(CreateDocumentClassifierInputBuilder, bool), String> {
    const P: &str = "document_classifier_kwargs";
    let mut o = Obj::new(P, v, rendered)?;
    let tags = config::tags(&mut o, P)?;
    let tagged = tags.is_some();
    let b = b
        .set_version_name(o.str("VersionName")?)
        .set_client_request_token(o.str("ClientRequestToken")?)
        .set_volume_kms_key_id(o.str("VolumeKmsKeyId")?)
        .set_model_kms_key_id(o.str("ModelKmsKeyId")?)
        .set_model_policy(o.str("ModelPolicy")?)
        .set_vpc_config(config::vpc(&mut o, P)?)
        .set_tags(tags);
    o.finish()?;
    Ok((b, tagged))
}

/// A configured `ComprehendCreateDocumentClassifierOperator`.
#[derive(Debug)]
pub struct ComprehendCreateDocumentClassifierOperator {
    aws: AwsParams,
    document_classifier_name: String,
    data_access_role_arn: String,
    fail_on_warnings: bool,
    tagged: bool,
    request: CreateDocumentClassifierInputBuilder,
    wait: WaitSettings,
}

impl Operator for ComprehendCreateDocumentClassifierOperator {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.operators.comprehend.ComprehendCreateDocumentClassifierOperator",
        aliases: &[],
        template_fields: &[
            "aws_conn_id",
            "data_access_role_arn",
            "document_classifier_kwargs",
            "document_classifier_name",
            "input_data_config",
            "language_code",
            "mode",
            "output_data_config",
            "region_name",
            "verify",
        ],
        calls_aws: true,
    };

    fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        let aws = AwsParams::read(p)?;
        let document_classifier_name = p.required_str(
            "document_classifier_name",
            "the name of the document classifier",
        )?;
        let input = mapping(
            p,
            "input_data_config",
            "the training data, a mapping (boto3's DocumentClassifierInputDataConfig: \
             DataFormat, S3Uri...)",
            input_config,
        )?;
        let mode = p.required_str("mode", "MULTI_CLASS or MULTI_LABEL")?;
        let data_access_role_arn = p.required_str(
            "data_access_role_arn",
            "the ARN of the IAM role that grants Comprehend access to the training data",
        )?;
        let language_code = p.required_str(
            "language_code",
            "the language of the training documents (en)",
        )?;
        let fail_on_warnings = p.bool("fail_on_warnings", false)?;
        let rendered = p.rendered();
        let output = match kwargs::mapping(p, "output_data_config") {
            Some(v) => Some(
                output_config(v, rendered)
                    .map_err(|e| kwargs::param_error(p, "output_data_config", e))?,
            ),
            None => None,
        };
        let mut request = CreateDocumentClassifierInputBuilder::default()
            .document_classifier_name(&document_classifier_name)
            .set_input_data_config(input)
            .mode(DocumentClassifierMode::from(mode.as_str()))
            .data_access_role_arn(&data_access_role_arn)
            .language_code(LanguageCode::from(language_code.as_str()))
            .set_output_data_config(output);
        let mut tagged = false;
        if let Some(v) = kwargs::mapping(p, "document_classifier_kwargs") {
            let (b, t) = classifier_kwargs(request, v, rendered)
                .map_err(|e| kwargs::param_error(p, "document_classifier_kwargs", e))?;
            request = b;
            tagged = t;
        }
        let wait = WaitSettings::read(p, 60, 20)?;
        Ok(ComprehendCreateDocumentClassifierOperator {
            aws,
            document_classifier_name,
            data_access_role_arn,
            fail_on_warnings,
            tagged,
            request,
            wait,
        })
    }

    fn permissions(&self) -> Vec<Permission> {
        let arn = airtask_core::permissions::arn(
            "comprehend",
            self.aws.region(),
            &format!("document-classifier/{}*", self.document_classifier_name),
        );
        let mut create = vec!["comprehend:CreateDocumentClassifier"];
        if self.tagged {
            create.push("comprehend:TagResource");
        }
        let mut out = vec![
            Permission::new(&create, [arn.clone()]),
            Permission::new(&["iam:PassRole"], [self.data_access_role_arn.clone()]),
        ];
        if self.wait.wait_for_completion || self.wait.deferrable {
            out.push(Permission::new(
                &["comprehend:DescribeDocumentClassifier"],
                [arn],
            ));
        }
        out
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        let comprehend = airtask_aws::client_in(
            ctx,
            self.aws.region(),
            airtask_aws::sdk!(aws_sdk_comprehend),
        )?;
        let name = &self.document_classifier_name;
        let out = self
            .request
            .clone()
            .send_with(&comprehend)
            .await
            .map_err(|e| {
                airtask_aws::error::task_error(&format!("CreateDocumentClassifier {name}"), &e)
            })?;
        let arn = out.document_classifier_arn().unwrap_or_default().to_owned();
        let region = comprehend
            .config()
            .region()
            .map_or_else(String::new, |r| r.to_string());
        ctx.info(&format!(
            "You can monitor the classifier at \
             https://console.aws.amazon.com/comprehend/home?region={region}#/classification-details/{arn}"
        ));
        if self.wait.wait_for_completion || self.wait.deferrable {
            ctx.info(&format!(
                "Waiting for document classifier {arn} to complete."
            ));
            let (c, a) = (&comprehend, arn.as_str());
            wait::until_terminal(
                ctx,
                &self.wait,
                &format!("Comprehend document classifier {arn}"),
                || async move {
                    let p = config::classifier(c, a).await?;
                    CLASSIFIER.waiter_poll(a, &config::classifier_status(&p))
                },
            )
            .await?;
            config::validate_training(ctx, &comprehend, &arn, self.fail_on_warnings).await?;
            ctx.info(&format!("Comprehend document classifier `{arn}` complete."));
        }
        Ok(Outcome::Success(Some(json!(arn))))
    }
}

/// A configured `ComprehendCreateDocumentClassifierCompletedSensor`.
#[derive(Debug)]
pub struct ComprehendCreateDocumentClassifierCompletedSensor {
    aws: AwsParams,
    document_classifier_arn: String,
    fail_on_warnings: bool,
    settings: SensorSettings,
    max_retries: u32,
}

impl Operator for ComprehendCreateDocumentClassifierCompletedSensor {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.sensors.comprehend.ComprehendCreateDocumentClassifierCompletedSensor",
        aliases: &[],
        template_fields: &[
            "aws_conn_id",
            "document_classifier_arn",
            "region_name",
            "verify",
        ],
        calls_aws: true,
    };

    fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        let aws = AwsParams::read(p)?;
        let document_classifier_arn = p.required_str(
            "document_classifier_arn",
            "the ARN of the document classifier to wait for",
        )?;
        let fail_on_warnings = p.bool("fail_on_warnings", false)?;
        let settings = SensorSettings::read(p, 120.0)?;
        let max_retries = p.u32("max_retries", 1..=u32::MAX)?.unwrap_or(75);
        Ok(ComprehendCreateDocumentClassifierCompletedSensor {
            aws,
            document_classifier_arn,
            fail_on_warnings,
            settings,
            max_retries,
        })
    }

    fn permissions(&self) -> Vec<Permission> {
        vec![Permission::new(
            &["comprehend:DescribeDocumentClassifier"],
            [self.document_classifier_arn.clone()],
        )]
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        let comprehend = airtask_aws::client_in(
            ctx,
            self.aws.region(),
            airtask_aws::sdk!(aws_sdk_comprehend),
        )?;
        let (c, arn, fail) = (
            &comprehend,
            self.document_classifier_arn.as_str(),
            self.fail_on_warnings,
        );
        if self.settings.deferrable {
            let settings = config::deferred_wait(self.settings.poke_interval, self.max_retries);
            wait::until_terminal(
                ctx,
                &settings,
                &format!("Comprehend document classifier {arn}"),
                || async move {
                    let p = config::classifier(c, arn).await?;
                    CLASSIFIER.waiter_poll(arn, &config::classifier_status(&p))
                },
            )
            .await?;
            // The trigger resumes in `poke`, which checks the training and whose true is the
            // XCom.
            config::validate_training(ctx, c, arn, fail).await?;
            return Ok(Outcome::Success(Some(json!(true))));
        }
        sensor::run(&self.settings, ctx, || async move {
            let p = config::classifier(c, arn).await?;
            let s = config::classifier_status(&p);
            ctx.info(&format!(
                "Poking for AWS Comprehend document classifier arn: {arn} status: {}",
                s.status
            ));
            let met = CLASSIFIER.sensor_poke(arn, &s)?;
            if met && CLASSIFIER.success.contains(&s.status.as_str()) {
                config::validate_training(ctx, c, arn, fail).await?;
                ctx.info(&format!("Comprehend document classifier `{arn}` complete."));
                return Ok(true);
            }
            // The provider's poke: only the success states meet it (an unknown one does not).
            Ok(false)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use airtask_core::{Params, build_operator};

    use super::*;

    fn build<T: Operator>(v: Value) -> Result<T, ParamError> {
        let p: Params = v.as_object().cloned().unwrap_or_default();
        build_operator::<T>(&p)
    }

    fn classifier() -> Value {
        json!({"document_classifier_name": "c", "input_data_config":
            {"DataFormat": "COMPREHEND_CSV", "S3Uri": "s3://b/train.csv"},
            "mode": "MULTI_CLASS", "data_access_role_arn": "arn:aws:iam::1:role/r",
            "language_code": "en"})
    }

    #[test]
    fn the_operator_reads_the_providers_parameters() {
        let op: ComprehendCreateDocumentClassifierOperator = build(classifier()).unwrap();
        assert!(!op.fail_on_warnings);
        assert_eq!(op.wait.waiter_delay.as_secs(), 60);
        assert_eq!(op.wait.waiter_max_attempts, 20);
        assert_eq!(
            op.permissions(),
            [
                Permission::new(
                    &["comprehend:CreateDocumentClassifier"],
                    ["arn:aws:comprehend:{region}:{account}:document-classifier/c*"]
                ),
                Permission::new(&["iam:PassRole"], ["arn:aws:iam::1:role/r"]),
                Permission::new(
                    &["comprehend:DescribeDocumentClassifier"],
                    ["arn:aws:comprehend:{region}:{account}:document-classifier/c*"]
                ),
            ]
        );
        let mut v = classifier();
        v["output_data_config"] = json!({"S3Uri": "s3://b/out/"});
        v["document_classifier_kwargs"] = json!({"VersionName": "v1",
            "VpcConfig": {"SecurityGroupIds": ["g"], "Subnets": ["s"]}});
        let op: ComprehendCreateDocumentClassifierOperator = build(v.clone()).unwrap();
        assert_eq!(op.request.get_version_name().as_deref(), Some("v1"));
        assert!(op.request.get_output_data_config().is_some());
        v["document_classifier_kwargs"] = json!({"Version": "v1"});
        let e = build::<ComprehendCreateDocumentClassifierOperator>(v).unwrap_err();
        assert!(
            e.message().contains("`document_classifier_kwargs.Version`"),
            "{e}"
        );
    }

    #[test]
    fn the_sensor_defaults_follow_the_provider() {
        let s: ComprehendCreateDocumentClassifierCompletedSensor =
            build(json!({"document_classifier_arn": "arn:c", "fail_on_warnings": true})).unwrap();
        assert!(s.fail_on_warnings);
        assert_eq!(s.settings.poke_interval, 120.0);
        assert_eq!(s.max_retries, 75);
    }
}
