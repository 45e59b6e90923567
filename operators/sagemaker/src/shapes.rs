//! The one converter from the provider's request dicts (boto3's keyword arguments: PascalCase
//! keys, `config` of SageMakerTrainingOperator and the like) to a SageMaker request: checked
//! against the operation's request shape (`shapes.txt`, generated from the botocore model boto3
//! validates against), at every depth. An unknown key is refused with its path and the keys
//! that are allowed there, a missing required key likewise, and a value of the wrong type with
//! its path. As the provider's `integer_fields` do for the fields a template renders as text,
//! a string holding a whole number becomes that number wherever the shape wants an integer
//! (at any depth, not only the provider's list); a number where the shape wants a string
//! becomes its text; `null` is left out.

use std::collections::HashMap;
use std::sync::OnceLock;

use serde_json::{Map, Value};

/// A member's type.
#[derive(Debug, Clone, PartialEq)]
enum Ty {
    Str,
    Int,
    Float,
    Bool,
    Time,
    List(Box<Ty>),
    Map(Box<Ty>),
    Struct(String),
}

/// One member of a structure.
#[derive(Debug)]
struct Member {
    name: String,
    required: bool,
    ty: Ty,
}

/// The parsed `shapes.txt`.
#[derive(Debug, Default)]
struct Shapes {
    operations: HashMap<String, String>,
    structs: HashMap<String, Vec<Member>>,
}

fn parse_ty(s: &str) -> Result<Ty, String> {
    Ok(match s {
        "s" => Ty::Str,
        "i" | "l" => Ty::Int,
        "f" => Ty::Float,
        "b" => Ty::Bool,
        "t" => Ty::Time,
        _ => {
            if let Some(inner) = s.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
                Ty::List(Box::new(parse_ty(inner)?))
            } else if let Some(inner) = s.strip_prefix('{').and_then(|r| r.strip_suffix('}')) {
                Ty::Map(Box::new(parse_ty(inner)?))
            } else if s.chars().all(|c| c.is_ascii_alphanumeric()) && !s.is_empty() {
                Ty::Struct(s.to_owned())
            } else {
                return Err(format!("bad type {s}"));
            }
        }
    })
}

fn parse(text: &str) -> Result<Shapes, String> {
    let mut shapes = Shapes::default();
    for line in text.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let mut words = line.split(' ');
        let head = words.next().unwrap_or_default();
        if let Some(op) = head.strip_prefix('@') {
            let shape = words.next().ok_or_else(|| format!("no shape: {line}"))?;
            shapes.operations.insert(op.to_owned(), shape.to_owned());
            continue;
        }
        let mut members = Vec::new();
        for w in words {
            let (name, ty) = w.split_once(':').ok_or_else(|| format!("bad member {w}"))?;
            let (name, required) = match name.strip_suffix('!') {
                Some(n) => (n, true),
                None => (name, false),
            };
            members.push(Member {
                name: name.to_owned(),
                required,
                ty: parse_ty(ty)?,
            });
        }
        shapes.structs.insert(head.to_owned(), members);
    }
    for s in shapes.operations.values() {
        if !shapes.structs.contains_key(s) {
            return Err(format!("no structure {s}"));
        }
    }
    Ok(shapes)
}

fn shapes() -> &'static Shapes {
    static SHAPES: OnceLock<Shapes> = OnceLock::new();
    // The file is the crate's own (a unit test parses it): an error leaves every request
    // unchecked rather than panicking.
    SHAPES.get_or_init(|| parse(include_str!("shapes.txt")).unwrap_or_default())
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

fn is_template(v: &Value) -> bool {
    matches!(v, Value::String(s) if airtask_core::params::is_template(s))
}

struct Checker {
    /// False for `airtask validate`: an unrendered template passes where a value of another
    /// type is expected.
    rendered: bool,
}

impl Checker {
    fn value(&self, path: &str, ty: &Ty, v: &Value) -> Result<Value, String> {
        if !self.rendered && is_template(v) {
            return Ok(v.clone());
        }
        match (ty, v) {
            (Ty::Str, Value::String(_)) => Ok(v.clone()),
            (Ty::Str, Value::Number(n)) => Ok(Value::String(n.to_string())),
            (Ty::Int, Value::Number(n)) if n.is_i64() || n.is_u64() => Ok(v.clone()),
            (Ty::Int, Value::String(s)) if s.trim().parse::<i64>().is_ok() => {
                Ok(Value::from(s.trim().parse::<i64>().unwrap_or_default()))
            }
            (Ty::Float, Value::Number(_)) => Ok(v.clone()),
            (Ty::Float, Value::String(s)) if s.trim().parse::<f64>().is_ok_and(f64::is_finite) => {
                Ok(
                    serde_json::Number::from_f64(s.trim().parse::<f64>().unwrap_or_default())
                        .map_or(Value::Null, Value::Number),
                )
            }
            (Ty::Bool, Value::Bool(_)) => Ok(v.clone()),
            (Ty::Bool, Value::String(s)) if s.eq_ignore_ascii_case("true") => Ok(Value::Bool(true)),
            (Ty::Bool, Value::String(s)) if s.eq_ignore_ascii_case("false") => {
                Ok(Value::Bool(false))
            }
            (Ty::Time, Value::String(_) | Value::Number(_)) => Ok(v.clone()),
            (Ty::List(item), Value::Array(items)) => items
                .iter()
                .enumerate()
                .filter(|(_, i)| !i.is_null())
                .map(|(i, x)| self.value(&format!("{path}[{i}]"), item, x))
                .collect::<Result<Vec<_>, _>>()
                .map(Value::Array),
            (Ty::Map(item), Value::Object(m)) => m
                .iter()
                .filter(|(_, x)| !x.is_null())
                .map(|(k, x)| Ok((k.clone(), self.value(&format!("{path}.{k}"), item, x)?)))
                .collect::<Result<Map<_, _>, String>>()
                .map(Value::Object),
            (Ty::Struct(name), Value::Object(m)) => self.structure(path, name, m),
            (ty, v) => Err(format!(
                "`{path}` must be {}, not {} ({})",
                expected(ty),
                kind(v),
                shown(v)
            )),
        }
    }

    fn structure(&self, path: &str, name: &str, m: &Map<String, Value>) -> Result<Value, String> {
        let Some(members) = shapes().structs.get(name) else {
            return Ok(Value::Object(m.clone()));
        };
        let mut out = Map::new();
        for (k, v) in m {
            let Some(member) = members.iter().find(|mb| &mb.name == k) else {
                return Err(format!(
                    "`{path}.{k}` is not a key SageMaker takes here ({name}); the keys it takes \
                     are {}",
                    members
                        .iter()
                        .map(|mb| mb.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            };
            if v.is_null() {
                continue;
            }
            out.insert(
                k.clone(),
                self.value(&format!("{path}.{k}"), &member.ty, v)?,
            );
        }
        for mb in members.iter().filter(|mb| mb.required) {
            if !out.contains_key(&mb.name) {
                return Err(format!(
                    "`{path}.{}` is required ({}) and missing",
                    mb.name,
                    expected(&mb.ty)
                ));
            }
        }
        Ok(Value::Object(out))
    }
}

fn expected(ty: &Ty) -> String {
    match ty {
        Ty::Str => "a string".into(),
        Ty::Int => "a whole number".into(),
        Ty::Float => "a number".into(),
        Ty::Bool => "true or false".into(),
        Ty::Time => "a timestamp".into(),
        Ty::List(i) => format!("a list of {}", plural(i)),
        Ty::Map(i) => format!("a mapping of names to {}", plural(i)),
        Ty::Struct(n) => format!("a mapping ({n})"),
    }
}

fn plural(ty: &Ty) -> String {
    match ty {
        Ty::Str => "strings".into(),
        Ty::Int => "whole numbers".into(),
        Ty::Float => "numbers".into(),
        Ty::Bool => "booleans".into(),
        Ty::Time => "timestamps".into(),
        Ty::Struct(n) => format!("mappings ({n})"),
        other => format!("values of {}", expected(other)),
    }
}

fn shown(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 60 {
        format!("{}...", s.chars().take(60).collect::<String>())
    } else {
        s
    }
}

/// Checks `v`, the request of the SageMaker operation `operation` (`CreateTrainingJob`) that
/// the parameter path `path` names (`config`, `config.Model`), and returns the request to
/// send. `rendered` is false for `airtask validate` (unrendered templates pass).
///
/// # Errors
/// One message naming the key's path: an unknown key (with the keys allowed there), a missing
/// required one, or a value of the wrong type.
pub(crate) fn request(
    operation: &str,
    path: &str,
    v: &Value,
    rendered: bool,
) -> Result<Value, String> {
    let s = shapes();
    let Some(name) = s.operations.get(operation) else {
        return Ok(v.clone());
    };
    match v {
        Value::Object(m) => Checker { rendered }.structure(path, name, m),
        other if !rendered && is_template(other) => Ok(other.clone()),
        other => Err(format!(
            "`{path}` must be a mapping (the {operation} request), not {}",
            kind(other)
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_shapes_file_parses_and_names_every_operation() {
        let s = parse(include_str!("shapes.txt")).expect("shapes.txt");
        for op in [
            "CreateTrainingJob",
            "CreateProcessingJob",
            "CreateTransformJob",
            "CreateHyperParameterTuningJob",
            "CreateModel",
            "CreateEndpointConfig",
            "CreateEndpoint",
            "UpdateEndpoint",
            "CreateAutoMLJob",
            "CreateModelPackage",
            "CreateNotebookInstance",
        ] {
            assert!(s.operations.contains_key(op), "{op}");
        }
        // Every structure a member names is described.
        for members in s.structs.values() {
            for m in members {
                let mut ty = &m.ty;
                while let Ty::List(i) | Ty::Map(i) = ty {
                    ty = i;
                }
                if let Ty::Struct(n) = ty {
                    assert!(s.structs.contains_key(n), "{n}");
                }
            }
        }
    }

    fn training() -> Value {
        json!({
            "TrainingJobName": "j",
            "AlgorithmSpecification": {"TrainingImage": "img", "TrainingInputMode": "File"},
            "RoleArn": "arn:aws:iam::123456789012:role/r",
            "OutputDataConfig": {"S3OutputPath": "s3://b/out"},
            "ResourceConfig": {"InstanceCount": "2", "InstanceType": "ml.m5.large", "VolumeSizeInGB": 10},
            "StoppingCondition": {"MaxRuntimeInSeconds": "3600"},
            "HyperParameters": {"epochs": 10, "lr": "0.1"},
            "EnableNetworkIsolation": "True",
            "VpcConfig": null,
        })
    }

    #[test]
    fn coerces_as_the_integer_fields_do_and_drops_nulls() {
        let out = request("CreateTrainingJob", "config", &training(), true).expect("valid");
        assert_eq!(out["ResourceConfig"]["InstanceCount"], 2);
        assert_eq!(out["StoppingCondition"]["MaxRuntimeInSeconds"], 3600);
        assert_eq!(out["HyperParameters"]["epochs"], "10");
        assert_eq!(out["EnableNetworkIsolation"], true);
        assert!(out.get("VpcConfig").is_none());
    }

    #[test]
    fn refuses_unknown_missing_and_ill_typed_keys_with_their_path() {
        let mut v = training();
        v["ResourceConfig"]["InstanceCnt"] = json!(1);
        let e = request("CreateTrainingJob", "config", &v, true).unwrap_err();
        assert!(
            e.starts_with("`config.ResourceConfig.InstanceCnt` is not a key SageMaker takes here (ResourceConfig); the keys it takes are InstanceType, InstanceCount"),
            "{e}"
        );
        let mut v = training();
        v.as_object_mut().map(|m| m.remove("RoleArn"));
        let e = request("CreateTrainingJob", "config", &v, true).unwrap_err();
        assert_eq!(e, "`config.RoleArn` is required (a string) and missing");
        let mut v = training();
        v["ResourceConfig"]["InstanceCount"] = json!("two");
        let e = request("CreateTrainingJob", "config", &v, true).unwrap_err();
        assert_eq!(
            e,
            "`config.ResourceConfig.InstanceCount` must be a whole number, not a string (\"two\")"
        );
        let e = request("CreateModel", "config.Model", &json!([1]), true).unwrap_err();
        assert!(
            e.contains("must be a mapping (the CreateModel request)"),
            "{e}"
        );
        // Unrendered, a template passes where a number is expected.
        let mut v = training();
        v["ResourceConfig"]["InstanceCount"] = json!("{{ params.n }}");
        assert!(request("CreateTrainingJob", "config", &v, false).is_ok());
        assert!(request("CreateTrainingJob", "config", &v, true).is_err());
    }
}
