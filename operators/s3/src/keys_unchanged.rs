//! `S3KeysUnchangedSensor`: waits until the set of keys under a prefix has not changed for
//! `inactivity_period` seconds and holds at least `min_objects` keys. Poke mode only.

use std::collections::BTreeSet;

use airtask_core::sensor::SensorSettings;
use airtask_core::{
    Operator, OperatorSpec, Outcome, ParamError, ParamReader, Permission, TaskContext, TaskError,
};
use tokio::time::Instant;

use crate::common::{HOOK_LOGGER, client, list_bucket, list_objects};

/// A configured `S3KeysUnchangedSensor`, with the state it keeps between pokes.
#[derive(Debug)]
pub struct S3KeysUnchangedSensor {
    settings: SensorSettings,
    bucket: String,
    prefix: String,
    inactivity_period: f64,
    min_objects: u64,
    allow_delete: bool,
    previous: BTreeSet<String>,
    last_activity: Option<Instant>,
}

impl S3KeysUnchangedSensor {
    /// Airflow's `is_keys_unchanged`.
    fn unchanged(
        &mut self,
        ctx: &TaskContext,
        current: BTreeSet<String>,
        now: Instant,
    ) -> Result<bool, TaskError> {
        let path = format!("{}/{}", self.bucket, self.prefix);
        if current.is_superset(&self.previous) && current.len() > self.previous.len() {
            ctx.hook_info(
                HOOK_LOGGER,
                &format!("New objects found at {path}, resetting last_activity_time."),
            );
            self.previous = current;
            self.last_activity = Some(now);
            return Ok(false);
        }
        if !self.previous.is_subset(&current) {
            if !self.allow_delete {
                return Err(TaskError::fatal(format!(
                    "Illegal behavior: objects were deleted in {path} between pokes."
                )));
            }
            self.previous = current;
            self.last_activity = Some(now);
            return Ok(false);
        }
        let last = *self.last_activity.get_or_insert(now);
        let inactive = now.duration_since(last).as_secs();
        if inactive as f64 >= self.inactivity_period {
            if current.len() as u64 >= self.min_objects {
                ctx.hook_info(
                    HOOK_LOGGER,
                    &format!(
                        "SUCCESS: Sensor found {} objects at {path}. Waited at least {} seconds, \
                         with no new objects uploaded.",
                        current.len(),
                        self.inactivity_period
                    ),
                );
                return Ok(true);
            }
            ctx.hook_info(
                HOOK_LOGGER,
                &format!("FAILURE: Inactivity Period passed, not enough objects found in {path}"),
            );
            return Ok(false);
        }
        Ok(false)
    }
}

impl Operator for S3KeysUnchangedSensor {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.sensors.s3.S3KeysUnchangedSensor",
        aliases: &["airflow.providers.amazon.aws.sensors.s3_keys_unchanged.S3KeysUnchangedSensor"],
        template_fields: &[
            "aws_conn_id",
            "bucket_name",
            "prefix",
            "region_name",
            "verify",
        ],
        calls_aws: true,
    };

    fn from_params(r: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        let settings = SensorSettings::read(r, 60.0)?;
        if settings.reschedule {
            return Err("Cannot set mode to 'reschedule'. Only 'poke' is acceptable".into());
        }
        let bucket = r.required_str("bucket_name", "the bucket")?;
        let prefix = r.required_str("prefix", "the prefix whose keys to watch")?;
        let inactivity_period = r.seconds("inactivity_period", 3600.0)?;
        let min_objects = r
            .i64("min_objects", 0..=i64::MAX)?
            .and_then(|n| u64::try_from(n).ok())
            .unwrap_or(1);
        let previous = r
            .str_or_list("previous_objects")?
            .unwrap_or_default()
            .into_iter()
            .collect();
        let allow_delete = r.bool("allow_delete", true)?;
        r.accept("deferrable");
        Ok(S3KeysUnchangedSensor {
            settings,
            bucket,
            prefix,
            inactivity_period,
            min_objects,
            allow_delete,
            previous,
            last_activity: None,
        })
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        let settings = self.settings.clone();
        let (bucket, prefix) = (self.bucket.clone(), self.prefix.clone());
        // The pokes share the sensor's state (the last listing and when it changed).
        let state = std::sync::Mutex::new(self);
        let (state, bucket, prefix) = (&state, &bucket, &prefix);
        airtask_core::sensor::run(&settings, ctx, || async move {
            let s3 = client(ctx)?;
            let current: BTreeSet<String> = list_objects(&s3, bucket, prefix, None)
                .await?
                .iter()
                .filter_map(|o| o.key().map(str::to_owned))
                .collect();
            let mut this = state
                .lock()
                .map_err(|_| TaskError::fatal("the sensor's state was poisoned"))?;
            this.unchanged(ctx, current, Instant::now())
        })
        .await
    }
    /// ListObjectsV2 (`s3:ListBucket`) on the bucket.
    fn permissions(&self) -> Vec<Permission> {
        vec![list_bucket([self.bucket.as_str()])]
    }
}
