//! botocore's parameter validation, for the keyword arguments the ECS and Batch operators pass
//! through to AWS as JSON (see [`crate::raw`]): every key must be a member of its botocore
//! shape, the required members must be there, and every value must have its member's type. A
//! crate embeds the shapes of its operations (written by operators/ecs/gen_shapes.py from the
//! botocore model) and checks the arguments when it reads its parameters, so that `airtask
//! validate` refuses a typo (or a number where AWS takes a string) before AWS is called, with
//! the path to the value.
//!
//! Where a rendered template can only give a string, the check converts as boto3 users expect
//! a rendered value to be read: a string of digits where a number is expected becomes the
//! number, `"true"`/`"false"` (any case) where a boolean is expected becomes the boolean. A null
//! value in a mapping counts as absent and is dropped. In `airtask validate` (unrendered
//! parameters) a template stands for any value.

use std::sync::OnceLock;

use airtask_core::params::{describe, is_template};
use serde_json::{Map, Value};

/// The request shapes of some operations of one service (see the module documentation).
#[derive(Debug)]
pub struct Shapes {
    operations: Map<String, Value>,
    shapes: Map<String, Value>,
}

impl Shapes {
    /// Reads the JSON that gen_shapes.py writes.
    ///
    /// # Errors
    /// When `text` is not that JSON.
    pub fn parse(text: &str) -> Result<Shapes, String> {
        let v: Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
        let part = |name: &str| match v.get(name) {
            Some(Value::Object(m)) => Ok(m.clone()),
            _ => Err(format!("the shapes file has no `{name}` mapping")),
        };
        Ok(Shapes {
            operations: part("operations")?,
            shapes: part("shapes")?,
        })
    }

    /// The shapes embedded in a crate (`include_str!("shapes.json")`), read once into `cell`.
    /// An embedded file that does not parse (a build mistake its unit test catches) reads as no
    /// shapes: every check then fails with a message that says so.
    pub fn embedded(cell: &'static OnceLock<Shapes>, text: &'static str) -> &'static Shapes {
        cell.get_or_init(|| {
            Shapes::parse(text).unwrap_or(Shapes {
                operations: Map::new(),
                shapes: Map::new(),
            })
        })
    }

    /// The input shape of `operation` (`RunTask`).
    pub fn input(&self, operation: &str) -> Option<&str> {
        self.operations.get(operation).and_then(Value::as_str)
    }

    /// Checks `value` against the member `member` of `operation`'s input (`overrides` of
    /// `RunTask`); `path` names it in messages (the operator's parameter). Returns the value as
    /// it is to be sent.
    ///
    /// # Errors
    /// What is wrong, where (see the module documentation).
    pub fn check_member(
        &self,
        operation: &str,
        member: &str,
        value: &Value,
        path: &str,
        rendered: bool,
    ) -> Result<Value, String> {
        let shape = self
            .input(operation)
            .and_then(|i| self.shapes.get(i))
            .and_then(|s| s.get("members"))
            .and_then(|m| m.get(member))
            .and_then(Value::as_str)
            .ok_or_else(|| format!("airtask knows no member `{member}` of {operation}"))?;
        self.check(shape, value, path, rendered)
    }

    /// Checks keyword arguments given for `operation` (`create_cluster_kwargs`): every key a
    /// member of its input, none of `own` (the members the operator sets itself, with the
    /// parameter that sets each), each value of its member's type. Required members are not
    /// checked: the operator's own parameters give them.
    ///
    /// # Errors
    /// What is wrong, where.
    pub fn check_kwargs(
        &self,
        operation: &str,
        kwargs: &Value,
        path: &str,
        own: &[(&str, &str)],
        rendered: bool,
    ) -> Result<Map<String, Value>, String> {
        let Value::Object(given) = kwargs else {
            return Err(format!(
                "`{path}` must be a mapping, not {}",
                describe(kwargs)
            ));
        };
        let input = self
            .input(operation)
            .ok_or_else(|| format!("airtask knows no operation {operation}"))?;
        let mut out = Map::new();
        for (key, value) in given {
            if let Some((_, param)) = own.iter().find(|(k, _)| k == key) {
                return Err(format!(
                    "`{path}.{key}` is what the operator sends from its parameter `{param}`; \
                     give it there, not in `{path}` (boto3: got multiple values for keyword \
                     argument '{key}')"
                ));
            }
            if value.is_null() {
                continue;
            }
            let member = self
                .members(input)
                .and_then(|m| m.get(key))
                .and_then(Value::as_str)
                .ok_or_else(|| self.unknown_key(input, path, key, own))?;
            out.insert(
                key.clone(),
                self.check(member, value, &format!("{path}.{key}"), rendered)?,
            );
        }
        Ok(out)
    }

    fn members(&self, shape: &str) -> Option<&Map<String, Value>> {
        self.shapes
            .get(shape)
            .and_then(|s| s.get("members"))
            .and_then(Value::as_object)
    }

    fn unknown_key(&self, shape: &str, path: &str, key: &str, own: &[(&str, &str)]) -> String {
        let keys: Vec<&str> = self
            .members(shape)
            .map(|m| {
                m.keys()
                    .map(String::as_str)
                    .filter(|k| !own.iter().any(|(o, _)| o == k))
                    .collect()
            })
            .unwrap_or_default();
        format!(
            "`{path}` has the unknown key `{key}` ({shape} takes {})",
            keys.join(", ")
        )
    }

    /// Checks `v` against the shape `shape`; `path` names it in messages.
    ///
    /// # Errors
    /// What is wrong, where.
    pub fn check(
        &self,
        shape: &str,
        v: &Value,
        path: &str,
        rendered: bool,
    ) -> Result<Value, String> {
        if !rendered && matches!(v, Value::String(s) if is_template(s)) {
            return Ok(v.clone());
        }
        let Some(def) = self.shapes.get(shape) else {
            return Err(format!("airtask knows no shape {shape} (for `{path}`)"));
        };
        let wrong = |what: &str| format!("`{path}` must be {what}, not {}", describe(v));
        match def {
            Value::String(kind) => match (kind.as_str(), v) {
                ("string" | "blob", Value::String(_)) => Ok(v.clone()),
                ("string" | "blob", _) => Err(format!(
                    "{} (AWS takes a string here: quote it in the YAML)",
                    wrong("a string")
                )),
                ("integer" | "long", Value::Number(n)) if n.is_i64() || n.is_u64() => Ok(v.clone()),
                ("integer" | "long", Value::String(s)) => s
                    .trim()
                    .parse::<i64>()
                    .map(Value::from)
                    .map_err(|_| wrong("a whole number")),
                ("integer" | "long", _) => Err(wrong("a whole number")),
                ("double" | "float", Value::Number(_)) => Ok(v.clone()),
                ("double" | "float", Value::String(s)) => s
                    .trim()
                    .parse::<f64>()
                    .ok()
                    .filter(|f| f.is_finite())
                    .and_then(serde_json::Number::from_f64)
                    .map(Value::Number)
                    .ok_or_else(|| wrong("a number")),
                ("double" | "float", _) => Err(wrong("a number")),
                ("boolean", Value::Bool(_)) => Ok(v.clone()),
                ("boolean", Value::String(s)) if s.eq_ignore_ascii_case("true") => {
                    Ok(Value::Bool(true))
                }
                ("boolean", Value::String(s)) if s.eq_ignore_ascii_case("false") => {
                    Ok(Value::Bool(false))
                }
                ("boolean", _) => Err(wrong("true or false")),
                ("timestamp", Value::String(_) | Value::Number(_)) => Ok(v.clone()),
                ("timestamp", _) => Err(wrong("a timestamp")),
                _ => Ok(v.clone()),
            },
            Value::Object(def) => {
                if let Some(member) = def.get("list").and_then(Value::as_str) {
                    let Value::Array(items) = v else {
                        return Err(wrong("a list"));
                    };
                    return items
                        .iter()
                        .enumerate()
                        .map(|(i, item)| {
                            self.check(member, item, &format!("{path}[{i}]"), rendered)
                        })
                        .collect::<Result<Vec<_>, _>>()
                        .map(Value::Array);
                }
                if let Some(value_shape) = def.get("map").and_then(Value::as_str) {
                    let Value::Object(m) = v else {
                        return Err(wrong("a mapping"));
                    };
                    let mut out = Map::new();
                    for (k, item) in m {
                        out.insert(
                            k.clone(),
                            self.check(value_shape, item, &format!("{path}.{k}"), rendered)?,
                        );
                    }
                    return Ok(Value::Object(out));
                }
                let Value::Object(m) = v else {
                    return Err(wrong("a mapping"));
                };
                let members = def.get("members").and_then(Value::as_object);
                let mut out = Map::new();
                for (k, item) in m {
                    if item.is_null() {
                        continue;
                    }
                    let member = members
                        .and_then(|ms| ms.get(k))
                        .and_then(Value::as_str)
                        .ok_or_else(|| self.unknown_key(shape, path, k, &[]))?;
                    out.insert(
                        k.clone(),
                        self.check(member, item, &format!("{path}.{k}"), rendered)?,
                    );
                }
                let required = def.get("required").and_then(Value::as_array);
                if let Some(missing) = required
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .find(|r| !out.contains_key(*r))
                {
                    return Err(format!(
                        "`{path}` needs the key `{missing}` (required by {shape})"
                    ));
                }
                Ok(Value::Object(out))
            }
            _ => Ok(v.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const TEXT: &str = r#"{
      "operations": {"RunTask": "RunTaskRequest"},
      "shapes": {
        "RunTaskRequest": {"members": {"cluster": "String", "count": "BoxedInteger",
            "overrides": "TaskOverride", "tags": "Tags", "enableECSManagedTags": "Boolean",
            "startedBy": "String"}, "required": ["taskDefinition"]},
        "TaskOverride": {"members": {"containerOverrides": "ContainerOverrides", "cpu": "String"},
            "required": []},
        "ContainerOverrides": {"list": "ContainerOverride"},
        "ContainerOverride": {"members": {"name": "String", "command": "StringList",
            "memory": "BoxedInteger"}, "required": ["name"]},
        "StringList": {"list": "String"},
        "Tags": {"list": "Tag"},
        "Tag": {"members": {"key": "String", "value": "String"}, "required": []},
        "Env": {"map": "String"},
        "Ratio": "double",
        "String": "string",
        "BoxedInteger": "integer",
        "Boolean": "boolean"
      }
    }"#;

    fn shapes() -> Shapes {
        Shapes::parse(TEXT).unwrap()
    }

    #[test]
    fn good_values_pass_and_rendered_strings_are_converted() {
        let s = shapes();
        let v = s
            .check_member(
                "RunTask",
                "overrides",
                &json!({"containerOverrides": [{"name": "app", "command": ["echo", "hi"], "memory": "512"}], "cpu": null}),
                "overrides",
                true,
            )
            .unwrap();
        assert_eq!(
            v,
            json!({"containerOverrides": [{"name": "app", "command": ["echo", "hi"], "memory": 512}]})
        );
        let m = s
            .check_kwargs(
                "RunTask",
                &json!({"count": 2, "enableECSManagedTags": "True"}),
                "kw",
                &[],
                true,
            )
            .unwrap();
        assert_eq!(
            Value::Object(m),
            json!({"count": 2, "enableECSManagedTags": true})
        );
        assert_eq!(
            s.check("Env", &json!({"A": "1"}), "env", true).unwrap(),
            json!({"A": "1"})
        );
        assert_eq!(
            s.check("Ratio", &json!("0.25"), "r", true).unwrap(),
            json!(0.25)
        );
    }

    #[test]
    fn mistakes_name_their_path() {
        let s = shapes();
        let e = s
            .check_member(
                "RunTask",
                "overrides",
                &json!({"containerOverrides": [{"name": "a", "comand": []}]}),
                "overrides",
                true,
            )
            .unwrap_err();
        assert_eq!(
            e,
            "`overrides.containerOverrides[0]` has the unknown key `comand` (ContainerOverride \
             takes name, command, memory)"
        );
        let e = s
            .check_member(
                "RunTask",
                "overrides",
                &json!({"containerOverrides": [{}]}),
                "overrides",
                true,
            )
            .unwrap_err();
        assert_eq!(
            e,
            "`overrides.containerOverrides[0]` needs the key `name` (required by ContainerOverride)"
        );
        let e = s
            .check_member(
                "RunTask",
                "overrides",
                &json!({"cpu": 256}),
                "overrides",
                true,
            )
            .unwrap_err();
        assert!(
            e.starts_with("`overrides.cpu` must be a string, not a number")
                && e.contains("quote it"),
            "{e}"
        );
        let e = s
            .check_member(
                "RunTask",
                "overrides",
                &json!({"containerOverrides": {}}),
                "o",
                true,
            )
            .unwrap_err();
        assert!(
            e.starts_with("`o.containerOverrides` must be a list"),
            "{e}"
        );
        let e = s
            .check_kwargs(
                "RunTask",
                &json!({"cluster": "c"}),
                "kw",
                &[("cluster", "cluster")],
                true,
            )
            .unwrap_err();
        assert!(e.contains("from its parameter `cluster`"), "{e}");
        let e = s
            .check_kwargs(
                "RunTask",
                &json!({"clustr": "c"}),
                "kw",
                &[("cluster", "cluster")],
                true,
            )
            .unwrap_err();
        assert_eq!(
            e,
            "`kw` has the unknown key `clustr` (RunTaskRequest takes count, overrides, tags, \
             enableECSManagedTags, startedBy)"
        );
        assert!(
            s.check_kwargs("RunTask", &json!([]), "kw", &[], true)
                .is_err()
        );
        assert!(s.check("Boolean", &json!("yes"), "b", true).is_err());
        assert!(s.check("BoxedInteger", &json!(1.5), "n", true).is_err());
    }

    #[test]
    fn templates_pass_unrendered() {
        let s = shapes();
        let v = json!({"containerOverrides": "{{ params.o }}"});
        assert!(
            s.check_member("RunTask", "overrides", &v, "o", false)
                .is_ok()
        );
        assert!(
            s.check_member("RunTask", "overrides", &v, "o", true)
                .is_err()
        );
        assert!(Shapes::parse("[]").is_err());
    }
}
