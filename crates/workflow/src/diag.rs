//! Diagnostics: what is wrong (or merely ignored) in a definition, and where.

use std::fmt;

use serde::Serialize;

/// A position in the definition text: line and column, both starting at 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Pos {
    /// Line number, from 1.
    pub line: usize,
    /// Column number (in characters), from 1.
    pub col: usize,
}

/// Whether a diagnostic stops the workflow from loading.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The definition cannot be run as written.
    Error,
    /// The definition loads, but something in it is ignored or suspicious.
    Warning,
}

/// One finding about a definition: a single sentence or short paragraph that says what was
/// wrong, and what is allowed, with the task, key and position it concerns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// The task the finding is about, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task: Option<String>,
    /// The key the finding is about (e.g. `retries`, `default_args.retry_delay`), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// Where in the text, when known.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub pos: Option<Pos>,
    /// What was wrong and what is allowed.
    pub message: String,
}

impl Diagnostic {
    /// A new error with no task, key or position.
    pub fn error(message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            task: None,
            key: None,
            pos: None,
            message: message.into(),
        }
    }

    /// A new warning with no task, key or position.
    pub fn warning(message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(message)
        }
    }

    /// Names the task.
    pub fn task(mut self, task: &str) -> Self {
        self.task = Some(task.to_owned());
        self
    }

    /// Names the key.
    pub fn key(mut self, key: impl Into<String>) -> Self {
        self.key = Some(key.into());
        self
    }

    /// Sets the position.
    pub fn at(mut self, pos: Pos) -> Self {
        self.pos = Some(pos);
        self
    }

    /// True for errors.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// Formats the diagnostic as one line for a terminal, prefixed with the file it is about:
    /// `dags/etl.yaml:12:7: error: task 'load', key 'retries': retries is 5; ...`.
    pub fn display_for<'a>(&'a self, file: &'a str) -> impl fmt::Display + 'a {
        DisplayFor { diag: self, file }
    }
}

struct DisplayFor<'a> {
    diag: &'a Diagnostic,
    file: &'a str,
}

impl fmt::Display for DisplayFor<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = self.diag;
        write!(f, "{}", self.file)?;
        if let Some(p) = d.pos {
            write!(f, ":{}:{}", p.line, p.col)?;
        }
        let sev = match d.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(f, ": {sev}: ")?;
        match (&d.task, &d.key) {
            (Some(t), Some(k)) => write!(f, "task '{t}', key '{k}': ")?,
            (Some(t), None) => write!(f, "task '{t}': ")?,
            (None, Some(k)) => write!(f, "key '{k}': ")?,
            (None, None) => {}
        }
        write!(f, "{}", d.message)
    }
}
