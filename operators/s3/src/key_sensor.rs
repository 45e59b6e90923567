//! `S3KeySensor`: waits until every key of `bucket_key` exists (a glob with
//! `wildcard_match`, a regular expression with `use_regex`).

use airtask_core::sensor::SensorSettings;
use airtask_core::{
    Operator, OperatorSpec, Outcome, ParamError, ParamReader, Permission, TaskContext, TaskError,
};

use crate::common::{
    HOOK_LOGGER, bucket_key, client, fnmatch, list_bucket, list_objects, object_arn,
};
use airtask_aws::error::{status, task_error};

/// A configured `S3KeySensor`.
#[derive(Debug)]
pub struct S3KeySensor {
    settings: SensorSettings,
    /// (bucket, key or pattern), checked in order.
    keys: Vec<(String, String)>,
    wildcard_match: bool,
    regex: Vec<Option<regex_lite::Regex>>,
}

impl S3KeySensor {
    async fn check(
        &self,
        ctx: &TaskContext,
        s3: &aws_sdk_s3::Client,
        i: usize,
    ) -> Result<bool, TaskError> {
        let (bucket, key) = &self.keys[i];
        ctx.hook_info(
            HOOK_LOGGER,
            &format!("Poking for key : s3://{bucket}/{key}"),
        );
        if self.wildcard_match {
            let cut = key.find(['[', '*', '?']).unwrap_or(key.len());
            let objects = list_objects(s3, bucket, &key[..cut], None).await?;
            return Ok(objects
                .iter()
                .any(|o| o.key().is_some_and(|k| fnmatch(k, key))));
        }
        if let Some(re) = &self.regex[i] {
            let objects = list_objects(s3, bucket, "", None).await?;
            return Ok(objects
                .iter()
                .any(|o| o.key().is_some_and(|k| re.is_match(k))));
        }
        match s3.head_object().bucket(bucket).key(key).send().await {
            Ok(_) => Ok(true),
            Err(e) if status(&e) == Some(404) => Ok(false),
            Err(e) => Err(task_error(&format!("HeadObject s3://{bucket}/{key}"), &e)),
        }
    }
}

impl S3KeySensor {
    /// One poke: every key must exist; the first missing one ends the poke (as Airflow's
    /// all()).
    async fn poke(&self, ctx: &TaskContext) -> Result<bool, TaskError> {
        let s3 = client(ctx)?;
        for i in 0..self.keys.len() {
            if !self.check(ctx, &s3, i).await? {
                return Ok(false);
            }
        }
        Ok(true)
    }
}

impl Operator for S3KeySensor {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.sensors.s3.S3KeySensor",
        aliases: &[
            "airflow.providers.amazon.aws.sensors.s3_key.S3KeySensor",
            "airflow.sensors.s3_key_sensor.S3KeySensor",
        ],
        template_fields: &[
            "aws_conn_id",
            "bucket_key",
            "bucket_name",
            "region_name",
            "verify",
        ],
        calls_aws: true,
    };

    fn from_params(r: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        let settings = SensorSettings::read(r, 60.0)?;
        let keys = r
            .str_or_list("bucket_key")?
            .ok_or("S3KeySensor needs `bucket_key`: the key (or list of keys) to wait for")?;
        let bucket = r.str("bucket_name")?;
        let wildcard_match = r.bool("wildcard_match", false)?;
        let use_regex = r.bool("use_regex", false)?;
        if r.value("check_fn").is_some() {
            return Err(
                "check_fn is a Python callable, which a YAML workflow cannot run here; remove it \
                 (the sensor then waits for the keys to exist)"
                    .into(),
            );
        }
        // metadata_keys only feed check_fn; deferrable runs as a plain sensor.
        r.accept("metadata_keys");
        r.accept("deferrable");
        let keys = keys
            .iter()
            .map(|k| bucket_key(bucket.as_deref(), k, "bucket_name", "bucket_key"))
            .collect::<Result<Vec<_>, _>>()?;
        let regex = keys
            .iter()
            .map(|(_, k)| {
                (use_regex && !wildcard_match)
                    .then(|| {
                        regex_lite::Regex::new(&format!("^(?:{k})")).map_err(|e| {
                            format!("bucket_key '{k}' is not a regular expression: {e}")
                        })
                    })
                    .transpose()
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(S3KeySensor {
            settings,
            keys,
            wildcard_match,
            regex,
        })
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        let this = &*self;
        airtask_core::sensor::run(&this.settings, ctx, || this.poke(ctx)).await
    }

    /// `s3:ListBucket` on every bucket (a listing with `wildcard_match` or `use_regex`, and
    /// for a plain key what makes a missing key answer 404, not 403), and `s3:GetObject`
    /// (HeadObject) on each plain key.
    fn permissions(&self) -> Vec<Permission> {
        let mut out = vec![list_bucket(self.keys.iter().map(|(b, _)| b.as_str()))];
        let mut objects: Vec<String> = Vec::new();
        for (i, (b, k)) in self.keys.iter().enumerate() {
            let arn = object_arn(b, k);
            if !self.wildcard_match && self.regex[i].is_none() && !objects.contains(&arn) {
                objects.push(arn);
            }
        }
        if !objects.is_empty() {
            out.push(Permission::new(&["s3:GetObject"], objects));
        }
        out
    }
}

#[cfg(test)]
mod permission_tests {
    use airtask_core::{Operator, Params, Permission, build_operator};
    use serde_json::json;

    use super::S3KeySensor;

    #[test]
    fn plain_keys_are_read_and_patterns_listed() {
        let perms = |v: serde_json::Value| {
            let p: Params = v.as_object().cloned().unwrap_or_default();
            build_operator::<S3KeySensor>(&p)
                .expect("valid parameters")
                .permissions()
        };
        assert_eq!(
            perms(json!({"bucket_key": ["s3://a/x.csv", "s3://b/{{ ds }}/y.csv"]})),
            [
                Permission::new(&["s3:ListBucket"], ["arn:aws:s3:::a", "arn:aws:s3:::b"]),
                Permission::new(
                    &["s3:GetObject"],
                    ["arn:aws:s3:::a/x.csv", "arn:aws:s3:::b/{{ ds }}/y.csv"]
                ),
            ]
        );
        assert_eq!(
            perms(json!({"bucket_name": "a", "bucket_key": "in/*.csv", "wildcard_match": true})),
            [Permission::new(&["s3:ListBucket"], ["arn:aws:s3:::a"])]
        );
    }
}
