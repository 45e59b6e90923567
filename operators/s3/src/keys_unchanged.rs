//! `S3KeysUnchangedSensor`: waits until the set of keys under a prefix has not changed for
//! `inactivity_period` seconds and holds at least `min_objects` keys. Poke mode only.

use std::collections::BTreeSet;

use airtask_core::sensor::SensorSettings;
use airtask_core::{
    BoxFuture, Outcome, ParamReader, Params, TaskContext, TaskError, legacy::Operator,
};
use tokio::time::Instant;

use crate::common::{HOOK_LOGGER, client, list_objects};

/// A configured `S3KeysUnchangedSensor`, with the state it keeps between pokes.
#[derive(Debug)]
pub(crate) struct KeysUnchanged {
    settings: SensorSettings,
    bucket: String,
    prefix: String,
    inactivity_period: f64,
    min_objects: u64,
    allow_delete: bool,
    previous: BTreeSet<String>,
    last_activity: Option<Instant>,
}

/// Builds it from its rendered parameters.
pub(crate) fn build(p: &Params) -> Result<Box<dyn Operator>, String> {
    let mut r = ParamReader::new("S3KeysUnchangedSensor", p);
    let settings = SensorSettings::read(&mut r, 60.0)?;
    if settings.reschedule {
        return Err("Cannot set mode to 'reschedule'. Only 'poke' is acceptable".into());
    }
    let bucket = r.required_str("bucket_name", "the bucket")?;
    let prefix = r.required_str("prefix", "the prefix whose keys to watch")?;
    let inactivity_period = r.seconds("inactivity_period", 3600.0)?;
    let min_objects = match r.value("min_objects") {
        None => 1,
        Some(v) => v
            .as_u64()
            .ok_or_else(|| format!("min_objects must be a whole number, 0 or more, not {v}"))?,
    };
    let previous = r
        .str_or_list("previous_objects")?
        .unwrap_or_default()
        .into_iter()
        .collect();
    let allow_delete = r.bool("allow_delete", true)?;
    r.accept("deferrable");
    r.finish()?;
    Ok(Box::new(KeysUnchanged {
        settings,
        bucket,
        prefix,
        inactivity_period,
        min_objects,
        allow_delete,
        previous,
        last_activity: None,
    }))
}

impl KeysUnchanged {
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

impl Operator for KeysUnchanged {
    fn execute<'a>(
        &'a mut self,
        ctx: &'a TaskContext,
    ) -> BoxFuture<'a, Result<Outcome, TaskError>> {
        Box::pin(async move {
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
        })
    }
}
