//! The `config` parameter of the provider's `SageMakerBaseOperator`: a boto3 request dict (or
//! a dict of them, `{"Model": ..., "Transform": ...}`), checked with [`crate::shapes`] when
//! the operator is built, and `S3Operations`, which airtask does not run.

use airtask_core::{ParamError, ParamReader};
use serde_json::{Map, Value};

use crate::shapes;

/// The operator's `config`: `None` while it is one unrendered template (`airtask validate`).
pub(crate) fn read(p: &mut ParamReader<'_>) -> Result<Option<Map<String, Value>>, ParamError> {
    let Some(v) = airtask_core::kwargs::mapping(p, "config") else {
        if p.rendered() {
            return Err(ParamError::at(
                "config",
                format!(
                    "{} needs `config`: the SageMaker request, as a mapping with boto3's \
                     PascalCase keys",
                    p.operator()
                ),
            ));
        }
        return Ok(None);
    };
    match v {
        Value::Object(m) => {
            if m.contains_key("S3Operations") {
                return Err(ParamError::at(
                    "config",
                    format!(
                        "{} parameter `config.S3Operations` is not supported: airtask does not \
                         create buckets or upload local files before the job (the provider's \
                         S3CreateBucket/S3Upload). Create them in an upstream task (an S3 \
                         operator) and leave S3Operations out.",
                        p.operator()
                    ),
                ));
            }
            Ok(Some(m.clone()))
        }
        other => Err(ParamError::at(
            "config",
            format!(
                "{} parameter `config` must be a mapping, not {}",
                p.operator(),
                airtask_core::params::describe(other)
            ),
        )),
    }
}

/// Checks `v`, the `operation` request at `path`, as a parameter error of `config`.
pub(crate) fn check(
    p: &ParamReader<'_>,
    operation: &str,
    path: &str,
    v: &Value,
) -> Result<Value, ParamError> {
    shapes::request(operation, path, v, p.rendered())
        .map_err(|e| airtask_core::kwargs::param_error(p, "config", e))
}

/// The string at `key` of a checked request (`""` when absent or templated).
pub(crate) fn name_of(v: &Value, key: &str) -> String {
    v.get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

/// Checks `v`, the `operation` request at `path`, as a parameter error of `param`.
pub(crate) fn shapes_check(
    p: &ParamReader<'_>,
    param: &str,
    operation: &str,
    path: &str,
    v: &Value,
) -> Result<Value, ParamError> {
    shapes::request(operation, path, v, p.rendered())
        .map_err(|e| airtask_core::kwargs::param_error(p, param, e))
}
