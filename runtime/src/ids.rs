//! Checks of the ids and numbers a user gives on the command line or in `AIRTASK_*` variables,
//! as clap value parsers: a bad value is a usage error (exit 2) that names the flag.

/// Airflow's limit on ids (the length of its `StringID` columns).
const MAX_ID_LEN: usize = 250;

/// A run id as Airflow accepts it: 1 to 250 characters from its default
/// `allowed_run_id_pattern`, `^[A-Za-z0-9_.~:+-]+$`.
pub(crate) fn run_id(s: &str) -> Result<String, String> {
    check_id(s, "run id", |c| {
        c.is_ascii_alphanumeric() || "_.~:+-".contains(c)
    })
    .map_err(|e| format!("{e}; Airflow allows letters, digits and _ . ~ : + -"))
}

/// A task id as Airflow accepts it (`validate_key`): 1 to 250 characters, letters, digits,
/// `_`, `.` (a task group's separator) and `-`.
pub(crate) fn task_id(s: &str) -> Result<String, String> {
    check_id(s, "task id", |c| c.is_alphanumeric() || "_.-".contains(c))
        .map_err(|e| format!("{e}; Airflow allows letters, digits and _ . -"))
}

/// A workflow id: MWAA Serverless's (the workflow name plus a suffix) or a DAG id: 1 to 250
/// letters, digits, `_`, `.` and `-`.
pub(crate) fn workflow_id(s: &str) -> Result<String, String> {
    check_id(s, "workflow id", |c| {
        c.is_alphanumeric() || "_.-".contains(c)
    })
    .map_err(|e| format!("{e}; allowed are letters, digits and _ . -"))
}

fn check_id(s: &str, what: &str, ok: impl Fn(char) -> bool) -> Result<String, String> {
    if s.is_empty() {
        return Err(format!("the {what} is empty"));
    }
    if s.chars().count() > MAX_ID_LEN {
        return Err(format!(
            "the {what} is {} characters long; at most {MAX_ID_LEN} are allowed",
            s.chars().count()
        ));
    }
    if let Some(c) = s.chars().find(|c| !ok(*c)) {
        return Err(format!("the {what} {s:?} contains {c:?}"));
    }
    Ok(s.to_owned())
}

/// Seconds: a finite number from 0 to `max`.
fn seconds_within(s: &str, max: f64) -> Result<f64, String> {
    let v: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("'{s}' is not a number of seconds"))?;
    if !v.is_finite() || !(0.0..=max).contains(&v) {
        return Err(format!("{s} is out of range: give 0 to {max} seconds"));
    }
    Ok(v)
}

/// `--log-flush-timeout`: 0 to 3600 seconds (a container's stop grace period is far less).
pub(crate) fn flush_timeout(s: &str) -> Result<f64, String> {
    seconds_within(s, 3600.0)
}

/// `--session-duration`: 1 to 43200 seconds (STS's maximum; STS itself accepts 900 and more,
/// shorter sessions are for local endpoints that test credential refresh).
pub(crate) fn session_duration(s: &str) -> Result<u64, String> {
    let v: u64 = s
        .trim()
        .parse()
        .map_err(|_| format!("'{s}' is not a whole number of seconds"))?;
    if !(1..=43_200).contains(&v) {
        return Err(format!(
            "{v} is out of range: a role session lasts 1 to 43200 seconds (STS accepts 900 to \
             43200; a chained role at most 3600)"
        ));
    }
    Ok(v)
}

/// `--parallelism`: 1 to 1024 task instances at once.
pub(crate) fn parallelism(s: &str) -> Result<usize, String> {
    let v: usize = s
        .trim()
        .parse()
        .map_err(|_| format!("'{s}' is not a whole number"))?;
    if !(1..=1024).contains(&v) {
        return Err(format!("{v} is out of range: give 1 to 1024"));
    }
    Ok(v)
}

/// `--map-index`: -1 (not mapped) or an index up to Airflow's `max_map_length` bound.
pub(crate) fn map_index(s: &str) -> Result<i64, String> {
    let v: i64 = s
        .trim()
        .parse()
        .map_err(|_| format!("'{s}' is not a whole number"))?;
    if !(-1..=1_000_000).contains(&v) {
        return Err(format!(
            "{v} is out of range: -1 (not mapped) or 0 to 1000000"
        ));
    }
    Ok(v)
}

/// `--try`: 1 or more (the task's own limit is checked once the definition is read).
pub(crate) fn try_number(s: &str) -> Result<u32, String> {
    let v: u32 = s
        .trim()
        .parse()
        .map_err(|_| format!("'{s}' is not a whole number"))?;
    if v == 0 {
        return Err("tries are counted from 1".into());
    }
    Ok(v)
}

/// A definition argument (a path or an `s3://` URL): text, with an error that names the
/// argument when it is not valid UTF-8 (clap's own message names none).
pub(crate) fn definition() -> impl clap::builder::TypedValueParser<Value = String> {
    use clap::builder::TypedValueParser as _;
    clap::builder::OsStringValueParser::new().try_map(|s| {
        s.into_string().map_err(|s| {
            format!(
                "the path {} is not valid UTF-8; airtask needs UTF-8 paths (rename the file)",
                s.to_string_lossy()
            )
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_ids_as_airflow_allows_them() {
        assert!(run_id("manual__2025-03-09T06:30:00+00:00").is_ok());
        assert!(run_id("scheduled__2025-03-09T00:00:00.123456+00:00").is_ok());
        assert!(run_id("").is_err());
        assert!(run_id("a/b").is_err());
        assert!(run_id("a\u{1}b").is_err());
        assert!(
            run_id("..").is_ok(),
            "dots are allowed; the store encodes them"
        );
        assert!(run_id(&"x".repeat(251)).is_err());
        assert!(run_id(&"x".repeat(250)).is_ok());
    }

    #[test]
    fn task_ids_as_airflow_allows_them() {
        assert!(task_id("group.extract-1").is_ok());
        assert!(task_id("").is_err());
        assert!(task_id("a b").is_err());
        assert!(task_id("a\nb").is_err());
    }

    #[test]
    fn numbers_are_range_checked() {
        for bad in ["NaN", "inf", "-inf", "1e30", "-1", "x"] {
            assert!(flush_timeout(bad).is_err(), "{bad}");
        }
        assert_eq!(flush_timeout("2.5"), Ok(2.5));
        assert!(parallelism("0").is_err());
        assert!(session_duration("0").is_err() && session_duration("43201").is_err());
        assert!(map_index("-2").is_err());
        assert!(try_number("0").is_err());
    }
}
