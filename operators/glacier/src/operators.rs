//! `GlacierCreateJobOperator` (InitiateJob of type inventory-retrieval, the hook's
//! `retrieve_inventory`) and `GlacierUploadArchiveOperator` (UploadArchive). Their XCom is the
//! call's answer with boto3's keys (without `ResponseMetadata`).

use airtask_aws::AwsParams;
use airtask_core::{
    Operator, OperatorSpec, Outcome, ParamError, ParamReader, Permission, TaskContext, TaskError,
};
use aws_sdk_glacier::primitives::ByteStream;
use aws_sdk_glacier::types::JobParameters;
use serde_json::{Map, Value, json};

use crate::HOOK_LOGGER;

fn vault_name(p: &mut ParamReader<'_>) -> Result<String, ParamError> {
    p.required_str("vault_name", "the name of the Glacier vault")
}

fn put(m: &mut Map<String, Value>, key: &str, v: Option<&str>) {
    if let Some(v) = v {
        m.insert(key.to_owned(), json!(v));
    }
}

/// A configured `GlacierCreateJobOperator`.
#[derive(Debug)]
pub struct GlacierCreateJobOperator {
    aws: AwsParams,
    vault_name: String,
}

impl Operator for GlacierCreateJobOperator {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.operators.glacier.GlacierCreateJobOperator",
        aliases: &[],
        template_fields: &["aws_conn_id", "region_name", "vault_name", "verify"],
        calls_aws: true,
    };

    fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        Ok(GlacierCreateJobOperator {
            aws: AwsParams::read(p)?,
            vault_name: vault_name(p)?,
        })
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        let glacier =
            airtask_aws::client_in(ctx, self.aws.region(), airtask_aws::sdk!(aws_sdk_glacier))?;
        let vault = self.vault_name.as_str();
        ctx.hook_info(
            HOOK_LOGGER,
            &format!("Retrieving inventory for vault: {vault}"),
        );
        let out = glacier
            .initiate_job()
            .account_id("-")
            .vault_name(vault)
            .job_parameters(
                JobParameters::builder()
                    .r#type("inventory-retrieval")
                    .build(),
            )
            .send()
            .await
            .map_err(|e| {
                airtask_aws::error::task_error(&format!("InitiateJob in vault {vault}"), &e)
            })?;
        let job_id = out.job_id().unwrap_or_default();
        ctx.hook_info(
            HOOK_LOGGER,
            &format!("Initiated inventory-retrieval job for: {vault}"),
        );
        ctx.hook_info(HOOK_LOGGER, &format!("Retrieval Job ID: {job_id}"));
        let mut m = Map::new();
        put(&mut m, "location", out.location());
        put(&mut m, "jobId", out.job_id());
        put(&mut m, "jobOutputPath", out.job_output_path());
        Ok(Outcome::Success(Some(Value::Object(m))))
    }

    /// InitiateJob on the vault.
    fn permissions(&self) -> Vec<Permission> {
        vec![Permission::new(
            &["glacier:InitiateJob"],
            [airtask_core::permissions::arn(
                "glacier",
                self.aws.region(),
                &format!("vaults/{}", self.vault_name),
            )],
        )]
    }
}

/// A configured `GlacierUploadArchiveOperator`.
#[derive(Debug)]
pub struct GlacierUploadArchiveOperator {
    aws: AwsParams,
    vault_name: String,
    body: String,
    checksum: Option<String>,
    archive_description: Option<String>,
    account_id: Option<String>,
}

impl Operator for GlacierUploadArchiveOperator {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.operators.glacier.GlacierUploadArchiveOperator",
        aliases: &[],
        template_fields: &["aws_conn_id", "region_name", "vault_name", "verify"],
        calls_aws: true,
    };

    fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        let aws = AwsParams::read(p)?;
        let vault_name = vault_name(p)?;
        let body = p.required_str(
            "body",
            "the data to upload (a string, uploaded as its UTF-8 bytes)",
        )?;
        Ok(GlacierUploadArchiveOperator {
            aws,
            vault_name,
            body,
            checksum: p.str("checksum")?,
            archive_description: p.str("archive_description")?,
            account_id: p.str("account_id")?,
        })
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        let glacier =
            airtask_aws::client_in(ctx, self.aws.region(), airtask_aws::sdk!(aws_sdk_glacier))?;
        let vault = self.vault_name.as_str();
        // boto3 fills in "-" (the caller's account) and the SHA-256 tree hash when they are
        // not given; so does the SDK's Glacier customisation.
        let out = glacier
            .upload_archive()
            .account_id(self.account_id.as_deref().unwrap_or("-"))
            .vault_name(vault)
            .set_archive_description(self.archive_description.clone())
            .set_checksum(self.checksum.clone())
            .body(ByteStream::from(self.body.clone().into_bytes()))
            .send()
            .await
            .map_err(|e| {
                airtask_aws::error::task_error(&format!("UploadArchive to vault {vault}"), &e)
            })?;
        let mut m = Map::new();
        put(&mut m, "location", out.location());
        put(&mut m, "checksum", out.checksum());
        put(&mut m, "archiveId", out.archive_id());
        Ok(Outcome::Success(Some(Value::Object(m))))
    }

    /// UploadArchive on the vault.
    fn permissions(&self) -> Vec<Permission> {
        vec![Permission::new(
            &["glacier:UploadArchive"],
            [airtask_core::permissions::arn(
                "glacier",
                self.aws.region(),
                &format!("vaults/{}", self.vault_name),
            )],
        )]
    }
}

#[cfg(test)]
mod tests {
    use airtask_core::{Params, build_operator};

    use super::*;

    fn params(v: Value) -> Params {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn parameters_follow_the_provider() {
        let op = build_operator::<GlacierUploadArchiveOperator>(&params(
            json!({"vault_name": "v", "body": "data", "archive_description": "d"}),
        ))
        .unwrap();
        assert_eq!(op.body, "data");
        assert_eq!(op.account_id, None);
        let e = build_operator::<GlacierUploadArchiveOperator>(&params(json!({"vault_name": "v"})))
            .unwrap_err();
        assert!(e.message().contains("needs `body`"), "{e}");
        let e =
            build_operator::<GlacierCreateJobOperator>(&params(json!({"vault": "v"}))).unwrap_err();
        assert!(e.message().contains("needs `vault_name`"), "{e}");
    }
}

#[cfg(test)]
mod permission_tests {
    use airtask_core::{Operator, Params, Permission, build_operator};
    use serde_json::json;

    use super::GlacierUploadArchiveOperator;

    #[test]
    fn the_archive_goes_to_the_vault() {
        let p: Params = json!({"vault_name": "v", "body": "data"})
            .as_object()
            .cloned()
            .unwrap_or_default();
        assert_eq!(
            build_operator::<GlacierUploadArchiveOperator>(&p)
                .expect("valid parameters")
                .permissions(),
            [Permission::new(
                &["glacier:UploadArchive"],
                ["arn:aws:glacier:{region}:{account}:vaults/v"]
            )]
        );
    }
}
