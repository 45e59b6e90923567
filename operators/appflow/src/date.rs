//! `filter_date` as the provider reads it: Python's `datetime.fromisoformat`, then
//! `datetime_to_epoch_ms`, which takes the civil date and time as UTC (it replaces any offset).

/// Milliseconds since the epoch of the civil date and time of an ISO 8601 text
/// (`2024-05-01`, `2024-05-01T06:30`, `2024-05-01 06:30:15.250`, an offset or `Z` ignored).
///
/// # Errors
/// Text that is not such a date, with what was expected.
pub(crate) fn epoch_ms(text: &str) -> Result<i64, String> {
    let bad = || {
        format!(
            "'{text}' is not an ISO date or date and time (write e.g. 2024-05-01 or \
             2024-05-01T06:30:00)"
        )
    };
    let t = text.trim();
    let (date, time) = match t.find(['T', ' ']) {
        Some(i) => (&t[..i], Some(&t[i + 1..])),
        None => (t, None),
    };
    let num = |s: &str| -> Result<i64, String> {
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        s.parse::<i64>().map_err(|_| bad())
    };
    let parts: Vec<&str> = date.split('-').collect();
    let [y, m, d] = parts.as_slice() else {
        return Err(bad());
    };
    let (y, m, d) = (num(y)?, num(m)?, num(d)?);
    if !(1..=12).contains(&m) || d < 1 || d > days_in_month(y, m) {
        return Err(bad());
    }
    let mut ms_of_day = 0;
    if let Some(time) = time {
        // The offset (or Z) is dropped, as `dt.replace(tzinfo=timezone.utc)` drops it.
        let clock = time.find(['+', '-', 'Z', 'z']).map_or(time, |i| &time[..i]);
        let (hms, frac) = clock.split_once('.').unwrap_or((clock, ""));
        let fields: Vec<&str> = hms.split(':').collect();
        if fields.is_empty() || fields.len() > 3 {
            return Err(bad());
        }
        let h = num(fields[0])?;
        let mi = fields.get(1).map_or(Ok(0), |s| num(s))?;
        let s = fields.get(2).map_or(Ok(0), |s| num(s))?;
        if h > 23 || mi > 59 || s > 59 {
            return Err(bad());
        }
        let ms = if frac.is_empty() {
            0
        } else {
            let digits: String = frac.chars().chain("000".chars()).take(3).collect();
            num(&digits)?
        };
        ms_of_day = ((h * 60 + mi) * 60 + s) * 1000 + ms;
    }
    Ok(days_from_civil(y, m, d) * 86_400_000 + ms_of_day)
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days from 1970-01-01 to the given proleptic Gregorian date.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// One day in milliseconds.
pub(crate) const DAY_MS: i64 = 86_400_000;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_times_read_as_utc() {
        assert_eq!(epoch_ms("1970-01-01"), Ok(0));
        assert_eq!(epoch_ms("2022-05-26"), Ok(1_653_523_200_000));
        assert_eq!(epoch_ms("2022-05-26T01:00:00"), Ok(1_653_526_800_000));
        assert_eq!(epoch_ms("2022-05-26 01:00:00.5"), Ok(1_653_526_800_500));
        assert_eq!(epoch_ms("2022-05-26T01:00:00+02:00"), Ok(1_653_526_800_000));
        assert_eq!(epoch_ms("2024-02-29"), Ok(1_709_164_800_000));
        assert!(epoch_ms("2023-02-29").is_err());
        assert!(epoch_ms("yesterday").unwrap_err().contains("'yesterday'"));
        assert!(epoch_ms("2022-05-26T25:00").is_err());
    }
}
