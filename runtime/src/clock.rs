//! The one place that reads the wall clock (clippy.toml forbids it elsewhere).

/// The current time.
#[allow(clippy::disallowed_methods)]
pub(crate) fn now() -> jiff::Timestamp {
    jiff::Timestamp::now()
}
