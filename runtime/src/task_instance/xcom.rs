//! XCom values of a task instance: written all or nothing when a try succeeds, cleared when a
//! try starts; the instance's lock; reads that note a failure of the store.

use std::path::{Path, PathBuf};
use std::rc::Rc;

use airtask_core::instance::TaskInstanceKey;
use airtask_core::store::LocalStore;

use crate::exit::CliError;
use crate::state::State;

/// MWAA Serverless's quota on the XCom values of one task instance.
pub(super) const MAX_XCOM_BYTES: usize = 200 * 1024;

/// Writes the XCom values of a successful try: all or nothing (a temporary directory renamed
/// into place).
pub(super) fn write_xcoms(
    store: &LocalStore,
    key: &TaskInstanceKey,
    values: &[(String, serde_json::Value)],
) -> Result<Vec<PathBuf>, String> {
    let dir = store.instance_dir(key);
    let final_dir = dir.join("xcom");
    let tmp = dir.join(format!(".xcom.tmp{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    let written = (|| {
        std::fs::create_dir_all(&tmp)
            .map_err(|e| format!("cannot create {}: {e}", tmp.display()))?;
        let mut files = Vec::with_capacity(values.len());
        for (xcom_key, value) in values {
            let path = store.xcom_path(
                &key.workflow_id,
                &key.run_id,
                &key.task_id,
                key.map_index,
                xcom_key,
            );
            let name = path.file_name().map(|n| n.to_owned()).unwrap_or_default();
            std::fs::write(tmp.join(&name), value.to_string()).map_err(|e| {
                format!(
                    "cannot write the XCom value {xcom_key} to {}: {e}",
                    tmp.join(&name).display()
                )
            })?;
            files.push(final_dir.join(name));
        }
        let _ = std::fs::remove_dir_all(&final_dir);
        std::fs::rename(&tmp, &final_dir)
            .map_err(|e| format!("cannot write {}: {e}", final_dir.display()))?;
        Ok(files)
    })();
    if written.is_err() {
        // Nothing half-written stays behind.
        let _ = std::fs::remove_dir_all(&tmp);
    }
    written
}

/// Takes the exclusive lock of one task instance (`<state_dir>/<workflow>/<run>/<task>/<map
/// index>/.lock`): one try of a task instance runs at a time, as in Airflow. The lock is held
/// until the returned file is dropped (the OS releases it when the process ends, however it
/// ends).
pub(super) fn lock_instance(
    state_dir: &Path,
    key: &TaskInstanceKey,
) -> Result<nix::fcntl::Flock<std::fs::File>, CliError> {
    let dir = LocalStore::new(state_dir).instance_dir(key);
    let path = dir.join(".lock");
    let infra = |e: std::io::Error| {
        CliError::Infra(format!(
            "cannot take the task instance's lock {}: {e}",
            path.display()
        ))
    };
    std::fs::create_dir_all(&dir)
        .map_err(|e| CliError::Infra(format!("cannot create {}: {e}", dir.display())))?;
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(infra)?;
    match nix::fcntl::Flock::lock(file, nix::fcntl::FlockArg::LockExclusiveNonblock) {
        Ok(lock) => Ok(lock),
        Err((_, nix::errno::Errno::EWOULDBLOCK)) => Err(CliError::Busy(format!(
            "another try of task '{}'{} in run '{}' is running (it holds {}); \
                 this one was not started. One try of a task instance runs at a time: wait for \
                 it to end, or stop it first.",
            key.task_id,
            if key.map_index >= 0 {
                format!(" (map index {})", key.map_index)
            } else {
                String::new()
            },
            key.run_id,
            path.display()
        ))),
        Err((_, errno)) => Err(infra(std::io::Error::from(errno))),
    }
}

/// Removes the XCom values of a task instance (and temporary directories a killed try left),
/// locally and in an S3 store: a new try starts without them, as Airflow clears them.
pub(super) async fn clear_xcoms(state: &State, task_dir: &Path) -> Result<(), String> {
    let dir = task_dir.join("xcom");
    if let Ok(entries) = std::fs::read_dir(&dir) {
        let files: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
        state.delete_files(&files).await?;
    }
    match std::fs::remove_dir_all(&dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(format!("cannot remove {}: {e}", dir.display())),
    }
    if let Ok(entries) = std::fs::read_dir(task_dir) {
        for e in entries.flatten() {
            if e.file_name().to_string_lossy().starts_with(".xcom.tmp") {
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
    }
    Ok(())
}

/// The run's XComs, noting a read failure of the store (a corrupt or unreadable file).
pub(super) struct WatchedXcoms {
    pub(super) inner: Rc<dyn airtask_template::XcomSource>,
    pub(super) failed: Rc<std::cell::RefCell<Option<String>>>,
}

impl airtask_template::XcomSource for WatchedXcoms {
    fn pull(
        &self,
        task_id: &str,
        key: &str,
        map_index: Option<i64>,
    ) -> Result<Option<serde_json::Value>, String> {
        self.inner.pull(task_id, key, map_index).inspect_err(|e| {
            self.failed.borrow_mut().get_or_insert_with(|| e.clone());
        })
    }
}

/// The run's XCom values in the local state (the run's state is pulled before the first try),
/// for operators that pull at run time ([`airtask_core::TaskContext::xcom_pull`]).
pub(super) struct StoreXcoms {
    pub(super) store: LocalStore,
    pub(super) workflow_id: String,
    pub(super) run_id: String,
}

impl airtask_core::XcomReader for StoreXcoms {
    fn pull(&self, task_id: &str, key: &str) -> Result<Option<serde_json::Value>, String> {
        self.store
            .read_xcom(&self.workflow_id, &self.run_id, task_id, None, key)
            .map_err(|e| e.to_string())
    }
}
