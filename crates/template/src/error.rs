//! Template errors, named after the Python exception Airflow would raise.

use std::fmt;

/// A failure to parse or render a template. `class` is the Python exception Airflow raises
/// for the same template (`UndefinedError`, `TemplateSyntaxError`, `TypeError`, ...), so users
/// can search for it; `message` is Airflow's message, sometimes followed by a hint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    /// The Python exception class.
    pub class: &'static str,
    /// What went wrong.
    pub message: String,
    /// The line in the template, when known.
    pub line: Option<usize>,
}

impl Error {
    pub(crate) fn new(class: &'static str, message: impl Into<String>) -> Error {
        Error {
            class,
            message: message.into(),
            line: None,
        }
    }

    pub(crate) fn syntax(message: impl Into<String>, line: usize) -> Error {
        Error {
            class: "TemplateSyntaxError",
            message: message.into(),
            line: Some(line),
        }
    }

    pub(crate) fn undefined(message: impl Into<String>) -> Error {
        Error::new("UndefinedError", message)
    }

    pub(crate) fn type_error(message: impl Into<String>) -> Error {
        Error::new("TypeError", message)
    }

    pub(crate) fn value_error(message: impl Into<String>) -> Error {
        Error::new("ValueError", message)
    }

    pub(crate) fn with_line(mut self, line: usize) -> Error {
        if self.line.is_none() {
            self.line = Some(line);
        }
        self
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.class, self.message)?;
        if let Some(line) = self.line {
            write!(f, " (line {line})")?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {}
