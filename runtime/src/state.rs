//! Where a command keeps state: the local state directory, or an S3 store (`--store
//! s3://bucket/prefix`) mirrored through a private local working directory. A task instance
//! downloads its run's state before it starts and uploads what it wrote: XCom values first, then
//! its record.

use std::path::{Path, PathBuf};

use airtask_aws::S3Store;
use airtask_core::store::LocalStore;

use crate::identity::Identity;

/// The state of a command.
pub(crate) struct State {
    local: LocalStore,
    s3: Option<S3Store>,
}

impl State {
    /// Opens the state: `store` (an `s3://` URL) when given, else the local `state_dir`. Only an
    /// S3 store takes on an AWS identity: the execution layer of `identity` (assumed with
    /// `session_name` if it has not been yet).
    pub(crate) async fn open(
        state_dir: &Path,
        store: Option<&str>,
        identity: &Identity,
        session_name: &str,
    ) -> Result<State, String> {
        let Some(url) = store else {
            return Ok(State {
                local: LocalStore::new(state_dir),
                s3: None,
            });
        };
        if !url.starts_with("s3://") {
            return Ok(State {
                local: LocalStore::new(url),
                s3: None,
            });
        }
        let layer = identity
            .execution(session_name)
            .await
            .map_err(|e| e.to_string())?;
        let s3 = S3Store::new(&layer.config, url)?;
        let work: PathBuf = std::env::temp_dir().join(format!(
            "airtask-state-{}-{}",
            std::process::id(),
            crate::clock::now().as_microsecond()
        ));
        std::fs::create_dir_all(&work)
            .map_err(|e| format!("cannot create {}: {e}", work.display()))?;
        Ok(State {
            local: LocalStore::new(work),
            s3: Some(s3),
        })
    }

    /// The local store every read and write goes through.
    pub(crate) fn local(&self) -> &LocalStore {
        &self.local
    }

    /// Brings the run's state (upstream XComs, records) from S3 into the working directory.
    pub(crate) async fn pull_run(&self, workflow_id: &str, run_id: &str) -> Result<(), String> {
        let Some(s3) = &self.s3 else { return Ok(()) };
        let dir = self.local.run_dir(workflow_id, run_id);
        let rel = self.local.relative(&dir).ok_or("bad run directory")?;
        s3.download(&format!("{rel}/"), self.local.root())
            .await
            .map(|_| ())
    }

    /// Brings one file (a task record) from S3 into the working directory.
    pub(crate) async fn pull_file(&self, path: &Path) -> Result<(), String> {
        let Some(s3) = &self.s3 else { return Ok(()) };
        let rel = self.local.relative(path).ok_or("bad path")?;
        s3.download(&rel, self.local.root()).await.map(|_| ())
    }

    /// Uploads a task instance's XCom files (`keys`); on a failure, removes those already
    /// uploaded, so that readers see all of them or none.
    pub(crate) async fn push_xcoms(&self, files: &[PathBuf]) -> Result<(), String> {
        let Some(s3) = &self.s3 else { return Ok(()) };
        let mut done: Vec<String> = Vec::new();
        for f in files {
            let rel = self.local.relative(f).ok_or("bad XCom path")?;
            if let Err(e) = s3.upload(self.local.root(), &rel).await {
                for d in &done {
                    let _ = s3.delete(d).await;
                }
                return Err(e);
            }
            done.push(rel);
        }
        Ok(())
    }

    /// Deletes files of the working directory from the S3 store (the local files are the
    /// caller's to remove).
    pub(crate) async fn delete_files(&self, files: &[PathBuf]) -> Result<(), String> {
        let Some(s3) = &self.s3 else { return Ok(()) };
        for f in files {
            let rel = self.local.relative(f).ok_or("bad XCom path")?;
            s3.delete(&rel).await?;
        }
        Ok(())
    }

    /// Uploads one file (a task record).
    pub(crate) async fn push_file(&self, path: &Path) -> Result<(), String> {
        let Some(s3) = &self.s3 else { return Ok(()) };
        let rel = self.local.relative(path).ok_or("bad record path")?;
        s3.upload(self.local.root(), &rel).await
    }
}

impl Drop for State {
    fn drop(&mut self) {
        if self.s3.is_some() {
            let _ = std::fs::remove_dir_all(self.local.root());
        }
    }
}
