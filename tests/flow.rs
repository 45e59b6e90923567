//! Shared helpers of the AWS family tests (Athena, Redshift, DynamoDB): a workflow file of
//! tasks run one by one with `airtask run-task`, sharing one state directory.

use airtask_tests::{TempDir, airtask};

/// A workflow `id` of `tasks`: (task id, operator class, parameters as YAML lines).
pub(crate) fn workflow(id: &str, tasks: &[(&str, &str, String)]) -> String {
    let mut text = format!("{id}:\n  default_args:\n    retries: 0\n  tasks:\n");
    for (task, op, params) in tasks {
        text.push_str(&format!("    {task}:\n      operator: {op}\n"));
        for line in params.lines() {
            text.push_str(&format!("      {line}\n"));
        }
    }
    text
}

/// One `run-task`: exit code, output, record and return value.
pub(crate) struct Run {
    pub(crate) code: Option<i32>,
    pub(crate) log: String,
    pub(crate) record: serde_json::Value,
    pub(crate) xcom: Option<serde_json::Value>,
}

impl Run {
    pub(crate) fn error(&self) -> String {
        self.record["error"].as_str().unwrap_or_default().to_owned()
    }
}

/// Tasks of one workflow file sharing one state directory (XCom values flow between them).
pub(crate) struct Flow {
    id: String,
    wf: String,
    state: std::path::PathBuf,
    _dir: TempDir,
}

impl Flow {
    pub(crate) fn new(id: &str, tasks: &[(&str, &str, String)]) -> Flow {
        let dir = TempDir::new(id);
        let wf = dir.write(&format!("{id}.yaml"), workflow(id, tasks));
        let state = dir.path().join("state");
        Flow {
            id: id.to_owned(),
            wf,
            state,
            _dir: dir,
        }
    }

    pub(crate) fn args(&self, task: &str) -> Vec<String> {
        [
            "run-task",
            &self.wf,
            task,
            "--state-dir",
            &self.state.to_string_lossy(),
            "--run-id",
            "r1",
            "--logical-date",
            "2025-03-09",
            "--output",
            "json",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect()
    }

    /// The XCom value `key` the task pushed, if any.
    pub(crate) fn xcom(&self, task: &str, key: &str) -> Option<serde_json::Value> {
        std::fs::read_to_string(
            self.state
                .join(format!("{}/r1/{task}/-1/xcom/{key}.json", self.id)),
        )
        .ok()
        .map(|t| serde_json::from_str(&t).expect("XCom JSON"))
    }

    pub(crate) fn run(&self, task: &str) -> Run {
        let args = self.args(task);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = airtask(&args);
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let log = format!("{stdout}{}", String::from_utf8_lossy(&out.stderr));
        let xcom = std::fs::read_to_string(
            self.state
                .join(format!("{}/r1/{task}/-1/xcom/return_value.json", self.id)),
        )
        .ok()
        .map(|t| serde_json::from_str(&t).expect("XCom JSON"));
        Run {
            code: out.status.code(),
            record: airtask_tests::last_json_line(&stdout).unwrap_or(serde_json::Value::Null),
            xcom,
            log,
        }
    }

    pub(crate) fn expect(&self, task: &str, code: i32) -> Run {
        let r = self.run(task);
        assert_eq!(r.code, Some(code), "{task}:\n{}", r.log);
        r
    }
}

/// A running `run-task` of `task`, read up to the first line `until` accepts (which is
/// returned with everything before it); the rest of its output is read on a thread and handed
/// back by `finish`.
pub(crate) struct Started {
    child: std::process::Child,
    pub(crate) seen: Vec<String>,
    rest: std::thread::JoinHandle<Vec<String>>,
}

impl Flow {
    /// Starts `task` and reads its output until a line satisfies `until`.
    ///
    /// # Panics
    /// When the task ends before such a line.
    pub(crate) fn start_until(&self, task: &str, until: impl Fn(&str) -> bool) -> Started {
        use std::io::BufRead as _;
        let mut child = std::process::Command::new(airtask_tests::airtask_bin())
            .args(self.args(task))
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("run-task");
        let mut lines = std::io::BufReader::new(child.stdout.take().expect("stdout")).lines();
        let mut seen = Vec::new();
        let mut found = false;
        for line in lines.by_ref() {
            let line = line.expect("a line");
            found = until(&line);
            seen.push(line);
            if found {
                break;
            }
        }
        assert!(
            found,
            "{task} ended before the expected line:\n{}",
            seen.join("\n")
        );
        let rest = std::thread::spawn(move || lines.map_while(Result::ok).collect());
        Started { child, seen, rest }
    }
}

impl Started {
    /// Sends SIGTERM, waits for the process, and returns its exit code and whole output.
    pub(crate) fn terminate(mut self) -> (Option<i32>, String) {
        airtask_tests::terminate(&self.child);
        let code = self.child.wait().expect("wait").code();
        let mut all = self.seen;
        all.extend(self.rest.join().expect("the reader thread"));
        (code, all.join("\n"))
    }
}
