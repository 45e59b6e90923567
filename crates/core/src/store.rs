//! Where XCom values (and, with `run-task`, task records) live: a directory tree with the key
//! layout of DESIGN.md, `<root>/<workflow_id>/<run_id>/<task_id>/<map_index>/xcom/<key>.json`.
//! The S3 store uses the same keys under `s3://bucket/prefix/`.

use std::path::{Path, PathBuf};

/// Why a stored value could not be read.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The file exists but could not be read.
    #[error("cannot read {path}: {reason}")]
    Read {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        reason: String,
    },
    /// The file is not JSON.
    #[error("{path} is not JSON: {reason}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What the parser said.
        reason: String,
    },
}

/// Characters that cannot appear in a path component are percent-encoded, so every id maps to
/// one directory name and back (`/` in a run id, for instance); `.` and `..` are encoded too, so
/// no id can climb out of the directory it names a part of.
pub fn component(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.+:=@".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    if out == "." || out == ".." {
        out = out.replace('.', "%2E");
    }
    out
}

/// A local directory store (the default: `.airtask/` in the working directory).
#[derive(Debug, Clone)]
pub struct LocalStore {
    root: PathBuf,
}

impl LocalStore {
    /// A store rooted at `root` (created on first write).
    pub fn new(root: impl Into<PathBuf>) -> LocalStore {
        LocalStore { root: root.into() }
    }

    /// The root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `path` relative to the root, with `/` separators (the key of the same file in the S3
    /// store).
    pub fn relative(&self, path: &Path) -> Option<String> {
        let rel = path.strip_prefix(&self.root).ok()?;
        let parts: Vec<String> = rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        Some(parts.join("/"))
    }

    /// The directory of one run.
    pub fn run_dir(&self, workflow_id: &str, run_id: &str) -> PathBuf {
        self.root
            .join(component(workflow_id))
            .join(component(run_id))
    }

    /// The directory of one task instance.
    pub fn task_dir(
        &self,
        workflow_id: &str,
        run_id: &str,
        task_id: &str,
        map_index: i64,
    ) -> PathBuf {
        self.run_dir(workflow_id, run_id)
            .join(component(task_id))
            .join(map_index.to_string())
    }

    /// The directory of one task instance.
    pub fn instance_dir(&self, key: &crate::instance::TaskInstanceKey) -> PathBuf {
        self.task_dir(&key.workflow_id, &key.run_id, &key.task_id, key.map_index)
    }

    /// The file of one XCom value.
    pub fn xcom_path(
        &self,
        workflow_id: &str,
        run_id: &str,
        task_id: &str,
        map_index: i64,
        key: &str,
    ) -> PathBuf {
        self.task_dir(workflow_id, run_id, task_id, map_index)
            .join("xcom")
            .join(format!("{}.json", component(key)))
    }

    fn read_json(path: &Path) -> Result<Option<serde_json::Value>, StoreError> {
        match std::fs::read(path) {
            Ok(bytes) => {
                serde_json::from_slice(&bytes)
                    .map(Some)
                    .map_err(|e| StoreError::Corrupt {
                        path: path.to_owned(),
                        reason: e.to_string(),
                    })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(StoreError::Read {
                path: path.to_owned(),
                reason: e.to_string(),
            }),
        }
    }

    /// Reads an XCom value. With `map_index` `None`: the value of the unmapped task (map index
    /// -1), or else the values of a mapped task's instances (0, 1, ...) in map-index order, as
    /// Airflow's `xcom_pull` returns them.
    ///
    /// # Errors
    /// A file that exists but cannot be read or is not JSON.
    pub fn read_xcom(
        &self,
        workflow_id: &str,
        run_id: &str,
        task_id: &str,
        map_index: Option<i64>,
        key: &str,
    ) -> Result<Option<serde_json::Value>, StoreError> {
        if let Some(i) = map_index {
            return Self::read_json(&self.xcom_path(workflow_id, run_id, task_id, i, key));
        }
        if let Some(v) = Self::read_json(&self.xcom_path(workflow_id, run_id, task_id, -1, key))? {
            return Ok(Some(v));
        }
        let mut values = Vec::new();
        for i in 0.. {
            if !self.task_dir(workflow_id, run_id, task_id, i).exists() {
                break;
            }
            if let Some(v) = Self::read_json(&self.xcom_path(workflow_id, run_id, task_id, i, key))?
            {
                values.push(v);
            }
        }
        Ok((!values.is_empty()).then_some(serde_json::Value::Array(values)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_and_mapped_reads() {
        let root = std::env::temp_dir().join(format!("airtask-store-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let s = LocalStore::new(&root);
        let p = s.xcom_path(
            "wf",
            "manual__2025-03-09T06:30:00+00:00",
            "a/b",
            -1,
            "return_value",
        );
        assert!(
            p.ends_with("wf/manual__2025-03-09T06:30:00+00:00/a%2Fb/-1/xcom/return_value.json"),
            "{p:?}"
        );
        for (i, v) in [(0, "x"), (1, "y")] {
            let p = s.xcom_path("wf", "r", "m", i, "return_value");
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, format!("\"{v}\"")).unwrap();
        }
        assert_eq!(
            s.read_xcom("wf", "r", "m", None, "return_value").unwrap(),
            Some(serde_json::json!(["x", "y"]))
        );
        assert_eq!(
            s.read_xcom("wf", "r", "m", Some(1), "return_value")
                .unwrap(),
            Some(serde_json::json!("y"))
        );
        assert_eq!(
            s.read_xcom("wf", "r", "none", None, "return_value")
                .unwrap(),
            None
        );
        std::fs::write(s.xcom_path("wf", "r", "m", 0, "bad"), "{").unwrap();
        assert!(matches!(
            s.read_xcom("wf", "r", "m", Some(0), "bad"),
            Err(StoreError::Corrupt { .. })
        ));
        let _ = std::fs::remove_dir_all(&root);
    }
}
