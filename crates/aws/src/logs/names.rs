//! Log group and log stream names in the MWAA-Serverless layout, made valid for CloudWatch.
//!
//! CloudWatch rules ([CreateLogGroup], [CreateLogStream]): a group name is 1–512 characters of
//! `[\.\-_/#A-Za-z0-9]` and must not start with `aws/`; a stream name is 1–512 characters without
//! `:` or `*`. Invalid characters are replaced by `_` (as Airflow and MWAA do for `:` in stream
//! names). We count the 512 in UTF-8 bytes, which is never more than the characters CloudWatch
//! counts, so a name we accept is never too long. A name over the limit keeps its head and its
//! tail and replaces the middle by a hash of the whole name, so two long names that differ only in
//! the middle still get different streams, and the same inputs always give the same name (the
//! reader computes it again).
//!
//! [CreateLogGroup]: https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_CreateLogGroup.html
//! [CreateLogStream]: https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_CreateLogStream.html

/// The longest log group or log stream name CloudWatch accepts.
pub const MAX_NAME_LEN: usize = 512;

/// The log group of a workflow's task logs: `/aws/mwaa-serverless/<workflow_id>/`, or
/// `group_override` when one is given (an empty override counts as none). Characters CloudWatch
/// does not allow in group names become `_`; a name starting with `aws/` (reserved by AWS) gets a
/// leading `/`; a name over 512 bytes is shortened in the middle.
pub fn log_group(workflow_id: &str, group_override: Option<&str>) -> String {
    let raw = match group_override {
        Some(o) if !o.is_empty() => o.to_owned(),
        _ => format!("/aws/mwaa-serverless/{workflow_id}/"),
    };
    let mut name: String = raw
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '/' | '#') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if name.starts_with("aws/") {
        name.insert(0, '/');
    }
    // The tail kept when shortening: the trailing `/` of the default layout, if any.
    let tail_len = usize::from(name.ends_with('/'));
    shorten(&name, tail_len, '-')
}

/// The log stream of one task attempt, as Airflow's default log filename template (with
/// `workflow_id` for `dag_id`):
/// `workflow_id=<wf>/run_id=<run>/task_id=<task>/[map_index=<i>/]attempt=<try>.log`. The
/// `map_index=` segment is present only for a mapped task instance (`map_index >= 0`; `-1` means
/// not mapped). `:` and `*` become `_`; a name over 512 bytes is shortened in the middle and
/// keeps its `attempt=<try>.log` tail.
pub fn log_stream(
    workflow_id: &str,
    run_id: &str,
    task_id: &str,
    map_index: i64,
    try_number: u32,
) -> String {
    let mut name = format!("workflow_id={workflow_id}/run_id={run_id}/task_id={task_id}/");
    if map_index >= 0 {
        name.push_str(&format!("map_index={map_index}/"));
    }
    let tail = format!("attempt={try_number}.log");
    name.push_str(&tail);
    let name = name.replace([':', '*'], "_");
    // Keep the `/` before `attempt=` too, so a shortened name still ends in that segment.
    shorten(&name, tail.len() + 1, '~')
}

/// `name` if it fits in [`MAX_NAME_LEN`] bytes; else its head, `sep`, a 16-hex-digit hash of the
/// whole name, and its last `tail_len` bytes (which must be ASCII, as our tails are).
fn shorten(name: &str, tail_len: usize, sep: char) -> String {
    if name.len() <= MAX_NAME_LEN {
        return name.to_owned();
    }
    let hash = format!("{sep}{:016x}", fnv1a(name.as_bytes()));
    let tail = &name[name.len() - tail_len..];
    let mut head_len = MAX_NAME_LEN - hash.len() - tail.len();
    while !name.is_char_boundary(head_len) {
        head_len -= 1;
    }
    format!("{}{hash}{tail}", &name[..head_len])
}

/// FNV-1a, 64 bits: a hash that never changes between builds or Rust versions, unlike std's
/// `DefaultHasher`, because the reader must compute the same name as the writer.
fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid_group(name: &str) -> bool {
        !name.is_empty()
            && name.len() <= MAX_NAME_LEN
            && !name.starts_with("aws/")
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '/' | '#'))
    }

    fn valid_stream(name: &str) -> bool {
        !name.is_empty() && name.len() <= MAX_NAME_LEN && !name.contains([':', '*'])
    }

    #[test]
    fn default_group() {
        assert_eq!(log_group("etl", None), "/aws/mwaa-serverless/etl/");
        assert_eq!(log_group("etl", Some("")), "/aws/mwaa-serverless/etl/");
    }

    #[test]
    fn group_override_and_sanitizing() {
        assert_eq!(log_group("etl", Some("/my/group")), "/my/group");
        assert_eq!(
            log_group("my wf=1:x", None),
            "/aws/mwaa-serverless/my_wf_1_x/"
        );
        assert_eq!(log_group("etl", Some("aws/logs")), "/aws/logs");
        assert_eq!(log_group("étl", None), "/aws/mwaa-serverless/_tl/");
        assert!(valid_group(&log_group("a#b.c-d_e/f", None)));
    }

    #[test]
    fn long_group_is_shortened_keeping_the_trailing_slash() {
        let wf = "w".repeat(600);
        let g = log_group(&wf, None);
        assert_eq!(g.len(), MAX_NAME_LEN);
        assert!(valid_group(&g), "{g}");
        assert!(g.starts_with("/aws/mwaa-serverless/www"));
        assert!(g.ends_with('/'));
        // Deterministic, and different for a different middle.
        assert_eq!(g, log_group(&wf, None));
        let other = format!("{}x{}", "w".repeat(300), "w".repeat(299));
        assert_ne!(g, log_group(&other, None));
        // Exactly at the limit: untouched.
        let prefix = "/aws/mwaa-serverless/".len();
        let wf = "w".repeat(MAX_NAME_LEN - prefix - 1);
        assert_eq!(log_group(&wf, None), format!("/aws/mwaa-serverless/{wf}/"));
        assert_eq!(log_group(&wf, None).len(), MAX_NAME_LEN);
        // One over: shortened.
        let wf = "w".repeat(MAX_NAME_LEN - prefix);
        assert_eq!(log_group(&wf, None).len(), MAX_NAME_LEN);
        assert_ne!(log_group(&wf, None), format!("/aws/mwaa-serverless/{wf}/"));
    }

    #[test]
    fn stream_layout() {
        assert_eq!(
            log_stream("etl", "manual__2025-01-01", "load", -1, 1),
            "workflow_id=etl/run_id=manual__2025-01-01/task_id=load/attempt=1.log"
        );
        assert_eq!(
            log_stream("etl", "r1", "load", 3, 2),
            "workflow_id=etl/run_id=r1/task_id=load/map_index=3/attempt=2.log"
        );
        assert_eq!(
            log_stream("etl", "r1", "load", 0, 1),
            "workflow_id=etl/run_id=r1/task_id=load/map_index=0/attempt=1.log"
        );
    }

    #[test]
    fn stream_colons_and_stars_are_replaced() {
        let s = log_stream("etl", "manual__2025-10-21T14:43:30+00:00", "a*b", -1, 1);
        assert_eq!(
            s,
            "workflow_id=etl/run_id=manual__2025-10-21T14_43_30+00_00/task_id=a_b/attempt=1.log"
        );
        assert!(valid_stream(&s));
    }

    #[test]
    fn long_stream_keeps_the_attempt_tail() {
        let task = "t".repeat(600);
        let s = log_stream("etl", "r1", &task, 7, 12);
        assert_eq!(s.len(), MAX_NAME_LEN);
        assert!(valid_stream(&s));
        assert!(s.starts_with("workflow_id=etl/run_id=r1/task_id=ttt"));
        assert!(s.ends_with("attempt=12.log"), "{s}");
        assert_ne!(s, log_stream("etl", "r1", &task, 8, 12));
    }

    #[test]
    fn stream_at_the_limit_and_one_over() {
        let base = log_stream("w", "r", "", -1, 1).len();
        let at = log_stream("w", "r", &"t".repeat(MAX_NAME_LEN - base), -1, 1);
        assert_eq!(at.len(), MAX_NAME_LEN);
        assert!(!at.contains('~'));
        let over = log_stream("w", "r", &"t".repeat(MAX_NAME_LEN - base + 1), -1, 1);
        assert_eq!(over.len(), MAX_NAME_LEN);
        assert!(over.contains('~'));
        assert!(over.ends_with("/attempt=1.log"));
    }

    #[test]
    fn long_stream_cut_at_a_character_boundary() {
        // 3-byte characters: the cut must not split one.
        let task = "€".repeat(300);
        let s = log_stream("etl", "r1", &task, -1, 1);
        assert!(s.len() <= MAX_NAME_LEN);
        assert!(valid_stream(&s));
        assert!(s.ends_with("attempt=1.log"));
    }
}
