//! Finding the YAML definition of a DAG under the DAGs folder. The scheduler parsed a
//! dag-factory loader file (`dag_rel_path`); the YAML that defines the DAG lies beside it or
//! elsewhere in the folder. The loader's directory is searched first, then the whole folder.

use std::path::{Path, PathBuf};

use yaml_rust2::{Yaml, YamlLoader};

/// How deep the folder is searched, and how many files at most (a DAGs folder is small; this
/// keeps a mistaken `/` from walking a whole disk).
const MAX_DEPTH: usize = 8;
const MAX_FILES: usize = 20_000;

/// The DAG ids a YAML text defines: dag-factory's top-level keys (without `default` and
/// `task_groups`), or `dag_id` of the flat form.
fn defined_dags(text: &str) -> Vec<String> {
    let Ok(docs) = YamlLoader::load_from_str(text) else {
        return Vec::new();
    };
    let Some(Yaml::Hash(top)) = docs.first() else {
        return Vec::new();
    };
    if let (Some(Yaml::String(id)), Some(_)) = (
        top.get(&Yaml::String("dag_id".into())),
        top.get(&Yaml::String("tasks".into())),
    ) {
        return vec![id.clone()];
    }
    top.iter()
        .filter_map(|(k, v)| match (k, v) {
            (Yaml::String(k), Yaml::Hash(_)) if k != "default" && k != "task_groups" => {
                Some(k.clone())
            }
            _ => None,
        })
        .collect()
}

fn is_yaml(p: &Path) -> bool {
    p.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("yaml") || e.eq_ignore_ascii_case("yml"))
}

/// The YAML files of `dir` (not below it), sorted.
fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.path())
                .filter(|p| p.is_file() && is_yaml(p))
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

/// Every YAML file under `root` (hidden directories and `__pycache__` skipped), sorted.
fn yaml_tree(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![(root.to_path_buf(), 0usize)];
    while let Some((dir, depth)) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in rd.flatten() {
            if out.len() >= MAX_FILES {
                break;
            }
            let p = e.path();
            let name = e.file_name();
            let name = name.to_string_lossy();
            if name.starts_with('.') || name == "__pycache__" {
                continue;
            }
            match e.file_type() {
                Ok(t) if t.is_dir() && depth < MAX_DEPTH => stack.push((p, depth + 1)),
                Ok(t) if t.is_file() && is_yaml(&p) => out.push(p),
                _ => {}
            }
        }
    }
    out.sort();
    out
}

/// The files among `files` that define `dag_id`.
fn defining(files: &[PathBuf], dag_id: &str) -> Vec<PathBuf> {
    files
        .iter()
        .filter(|p| {
            std::fs::read_to_string(p)
                .map(|t| defined_dags(&t).iter().any(|d| d == dag_id))
                .unwrap_or(false)
        })
        .cloned()
        .collect()
}

/// The one YAML file under `dags_folder` that defines `dag_id`, searching the directory of the
/// loader `dag_rel_path` first.
pub(crate) fn find_definition(
    dags_folder: &Path,
    dag_rel_path: &str,
    dag_id: &str,
) -> Result<PathBuf, String> {
    if !dags_folder.is_dir() {
        return Err(format!(
            "the DAGs folder {} is not a directory; airtask looks for the YAML definition of \
             DAG '{dag_id}' there. Set AIRFLOW__CORE__DAGS_FOLDER (or --dags-folder) to the \
             folder the scheduler's dag-factory loader reads",
            dags_folder.display()
        ));
    }
    let one = |found: Vec<PathBuf>, where_: &str| -> Option<Result<PathBuf, String>> {
        match found.as_slice() {
            [] => None,
            [one] => Some(Ok(one.clone())),
            many => Some(Err(format!(
                "DAG '{dag_id}' is defined by {} YAML files {where_} ({}); airtask cannot tell \
                 which one the scheduler parsed. Keep one definition per DAG id",
                many.len(),
                many.iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))),
        }
    };
    let loader_dir = Path::new(dag_rel_path)
        .parent()
        .filter(|p| !p.as_os_str().is_empty() && !p.is_absolute())
        .map_or_else(|| dags_folder.to_path_buf(), |p| dags_folder.join(p));
    if loader_dir.is_dir()
        && let Some(r) = one(
            defining(&yaml_files(&loader_dir), dag_id),
            &format!("beside the loader {dag_rel_path}"),
        )
    {
        return r;
    }
    if let Some(r) = one(
        defining(&yaml_tree(dags_folder), dag_id),
        &format!("under {}", dags_folder.display()),
    ) {
        return r;
    }
    let loader = if dag_rel_path.is_empty() {
        "an unknown file"
    } else {
        dag_rel_path
    };
    Err(format!(
        "no YAML file under the DAGs folder {} defines DAG '{dag_id}' (the scheduler parsed it \
         from {loader}); airtask runs tasks of YAML (dag-factory) definitions only. Put \
         the definition beside its loader, or point AIRFLOW__CORE__DAGS_FOLDER (or \
         --dags-folder) at the folder that holds it",
        dags_folder.display(),
    ))
}

/// The DAGs folder: `--dags-folder`, else `AIRFLOW__CORE__DAGS_FOLDER`, else
/// `$AIRFLOW_HOME/dags` (`~/airflow/dags`), as Airflow resolves `[core] dags_folder`.
pub(crate) fn dags_folder(flag: Option<&Path>) -> PathBuf {
    if let Some(f) = flag {
        return f.to_path_buf();
    }
    let env = |n: &str| std::env::var(n).ok().filter(|v| !v.is_empty());
    if let Some(f) = env("AIRFLOW__CORE__DAGS_FOLDER") {
        return PathBuf::from(f);
    }
    airflow_home().join("dags")
}

/// `$AIRFLOW_HOME`, else `~/airflow`.
pub(crate) fn airflow_home() -> PathBuf {
    let env = |n: &str| std::env::var(n).ok().filter(|v| !v.is_empty());
    env("AIRFLOW_HOME").map_or_else(
        || PathBuf::from(env("HOME").unwrap_or_else(|| "/".into())).join("airflow"),
        PathBuf::from,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmp(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("airtask-dags-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn the_definition_beside_the_loader_is_found_first() {
        let d = tmp("beside");
        std::fs::create_dir_all(d.join("team")).unwrap();
        std::fs::write(d.join("team/etl.yaml"), "etl:\n  tasks: {}\n").unwrap();
        std::fs::write(d.join("team/loader.py"), "").unwrap();
        std::fs::write(d.join("other.yaml"), "other:\n  tasks: {}\n").unwrap();
        let p = find_definition(&d, "team/loader.py", "etl").unwrap();
        assert_eq!(p, d.join("team/etl.yaml"));
        // Elsewhere in the folder when not beside the loader.
        let p = find_definition(&d, "team/loader.py", "other").unwrap();
        assert_eq!(p, d.join("other.yaml"));
    }

    #[test]
    fn a_missing_or_ambiguous_definition_is_an_error() {
        let d = tmp("ambiguous");
        std::fs::write(d.join("a.yaml"), "etl:\n  tasks: {}\n").unwrap();
        std::fs::write(d.join("b.yml"), "default: {}\netl:\n  tasks: {}\n").unwrap();
        let e = find_definition(&d, "loader.py", "etl").unwrap_err();
        assert!(e.contains("2 YAML files"), "{e}");
        let e = find_definition(&d, "loader.py", "nope").unwrap_err();
        assert!(e.contains("no YAML file"), "{e}");
    }

    #[test]
    fn the_flat_form_names_its_dag_by_dag_id() {
        assert_eq!(defined_dags("dag_id: x\ntasks: {}\n"), ["x"]);
        assert_eq!(defined_dags("default: {}\ny:\n  tasks: {}\n"), ["y"]);
        assert!(defined_dags("not: [yaml").is_empty());
    }
}
