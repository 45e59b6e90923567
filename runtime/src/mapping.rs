//! Dynamic task mapping: the values a mapped task expands over, and the arguments of one map
//! index (the cross product of the expanded arguments, the first argument varying slowest, as
//! Airflow's `expand` does).

use airtask_core::store::LocalStore;
use airtask_workflow::{MapSource, Task};

/// The value lists of each expanded argument of `task`, reading upstream XComs from `store`.
pub(crate) fn expanded_values(
    task: &Task,
    workflow_id: &str,
    run_id: &str,
    store: &LocalStore,
) -> Result<Vec<(String, Vec<serde_json::Value>)>, String> {
    let Some(mapping) = &task.mapping else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for (arg, source) in &mapping.expand {
        let values = match source {
            MapSource::Values(v) => v.iter().map(airtask_workflow::Value::to_json).collect(),
            MapSource::Xcom { task_id } => {
                match store
                    .read_xcom(workflow_id, run_id, task_id, None, "return_value")
                    .map_err(|e| e.to_string())?
                {
                    Some(serde_json::Value::Array(items)) => items,
                    Some(other) => {
                        return Err(format!(
                            "task '{}' expands `{arg}` over the return value of '{task_id}', which \
                             is not a list but {other}",
                            task.task_id
                        ));
                    }
                    None => {
                        return Err(format!(
                            "task '{}' expands `{arg}` over the return value of '{task_id}', which \
                             pushed none (in run {run_id})",
                            task.task_id
                        ));
                    }
                }
            }
        };
        out.push((arg.clone(), values));
    }
    Ok(out)
}

/// How many instances the expansion gives.
pub(crate) fn instance_count(values: &[(String, Vec<serde_json::Value>)]) -> usize {
    values.iter().map(|(_, v)| v.len()).product()
}

/// The expanded arguments of map index `index`.
pub(crate) fn arguments_of(
    values: &[(String, Vec<serde_json::Value>)],
    index: usize,
) -> Vec<(String, serde_json::Value)> {
    let mut rest = index;
    let mut picked = Vec::with_capacity(values.len());
    for (arg, list) in values.iter().rev() {
        let n = list.len().max(1);
        picked.push((
            arg.clone(),
            list.get(rest % n)
                .cloned()
                .unwrap_or(serde_json::Value::Null),
        ));
        rest /= n;
    }
    picked.reverse();
    picked
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn cross_product_first_argument_slowest() {
        let v = vec![
            ("x".to_owned(), vec![json!(1), json!(2)]),
            ("y".to_owned(), vec![json!("a"), json!("b"), json!("c")]),
        ];
        assert_eq!(instance_count(&v), 6);
        assert_eq!(
            arguments_of(&v, 0),
            vec![("x".into(), json!(1)), ("y".into(), json!("a"))]
        );
        assert_eq!(
            arguments_of(&v, 4),
            vec![("x".into(), json!(2)), ("y".into(), json!("b"))]
        );
    }
}
