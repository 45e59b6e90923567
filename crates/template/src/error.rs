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

/// The largest string or list a template may build (64 MiB, or 64 Mi items): Python would
/// raise `MemoryError` on a machine without the memory; airtask raises it before allocating.
pub(crate) const MAX_SIZE: usize = 64 * 1024 * 1024;

/// The class of the error of an interrupted rendering.
const INTERRUPTED: &str = "TaskInterrupted";

/// How deep macros may call macros (Python's recursion limit of 1000 frames allows about this
/// many Jinja macro calls).
pub(crate) const MAX_CALL_DEPTH: usize = 100;

/// How deep expressions and blocks may nest (brackets, unary operators, statements).
pub(crate) const MAX_NESTING: usize = 100;

impl Error {
    /// Python's `MemoryError` for a value of `size` items or bytes.
    pub(crate) fn memory(size: impl std::fmt::Display) -> Error {
        Error::new(
            "MemoryError",
            format!(
                "the value would be {size} characters or items; templates are bounded to {MAX_SIZE}"
            ),
        )
    }

    /// Python's `RecursionError`.
    pub(crate) fn recursion(what: &str) -> Error {
        Error::new(
            "RecursionError",
            format!("maximum recursion depth exceeded {what}"),
        )
    }

    /// Rendering was interrupted from outside (the try's timeout, or a signal).
    pub(crate) fn interrupted() -> Error {
        Error::new(INTERRUPTED, "rendering was interrupted")
    }

    /// True when this error is [`Error::interrupted`].
    pub fn is_interrupted(&self) -> bool {
        self.class == INTERRUPTED
    }

    /// Checks a size against [`MAX_SIZE`].
    pub(crate) fn check_size(size: usize) -> Result<(), Error> {
        if size > MAX_SIZE {
            Err(Error::memory(size))
        } else {
            Ok(())
        }
    }

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
