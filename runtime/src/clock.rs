//! The one place that reads the wall clock (clippy.toml forbids it elsewhere).

/// The current time, to the microsecond: Airflow's datetimes (and so run ids and templates) have
/// microsecond precision.
#[allow(clippy::disallowed_methods)]
pub(crate) fn now() -> jiff::Timestamp {
    let t = jiff::Timestamp::now();
    jiff::Timestamp::from_microsecond(t.as_microsecond()).unwrap_or(t)
}
