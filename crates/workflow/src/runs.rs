//! When a schedule fires: the next run times of a [`Schedule`](crate::Schedule).
//!
//! Two cron dialects meet here. A five-field expression (or a preset) is Airflow's: croniter's
//! fields, evaluated in the workflow's time zone, with day-of-month and day-of-week OR-ed when
//! both are restricted (Vixie cron's rule, which croniter keeps). A six-field expression, bare or
//! in `cron(...)`, is EventBridge Scheduler's (MWAA Serverless schedules through it): minutes
//! hours day-of-month month day-of-week year, day-of-week 1-7 from Sunday, one of the two day
//! fields `?`, evaluated in UTC. Both end up as a [`Spec`], and one search finds their times.

use jiff::civil::{Date, Weekday};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};

/// The last year EventBridge accepts in a cron expression, and the end of every search.
pub(crate) const LAST_YEAR: i16 = 2199;
/// The first year EventBridge accepts.
pub(crate) const FIRST_YEAR: i16 = 1970;

/// A day-of-month item beyond plain days.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DomSpecial {
    /// `L`: the last day of the month.
    Last,
    /// `LW`: the last weekday (Monday to Friday) of the month.
    LastWeekday,
    /// `nW`: the weekday nearest day `n`, within the month.
    NearestWeekday(i8),
}

/// A day-of-week item beyond plain weekdays (weekdays counted from Sunday = 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DowSpecial {
    /// `d#k`: the k-th weekday `d` of the month.
    Nth(u8, u8),
    /// The last weekday `d` of the month.
    Last(u8),
}

/// The expanded fields of a cron expression, in either dialect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Spec {
    /// Bit `m` set: minute `m`.
    pub(crate) minutes: u64,
    /// Bit `h` set: hour `h`.
    pub(crate) hours: u32,
    /// Bit `d` set: day of month `d` (1-31).
    pub(crate) days: u32,
    /// Day-of-month items beyond plain days.
    pub(crate) dom_special: Vec<DomSpecial>,
    /// True when day-of-month is `*` or `?` (no restriction).
    pub(crate) dom_any: bool,
    /// Bit `w` set: weekday `w` (0 = Sunday).
    pub(crate) weekdays: u8,
    /// Day-of-week items beyond plain weekdays.
    pub(crate) dow_special: Vec<DowSpecial>,
    /// True when day-of-week is `*` or `?` (no restriction).
    pub(crate) dow_any: bool,
    /// Bit `m` set: month `m` (1-12).
    pub(crate) months: u16,
    /// The years allowed (EventBridge's sixth field), `None` for every year.
    pub(crate) years: Option<Vec<i16>>,
}

impl Spec {
    fn day_matches(&self, d: Date) -> bool {
        let dom = self.dom_any || self.dom_matches(d);
        let dow = self.dow_any || self.dow_matches(d);
        if self.dom_any || self.dow_any {
            dom && dow
        } else {
            // Both restricted: either may match (croniter; EventBridge never gets here).
            dom || dow
        }
    }

    fn dom_matches(&self, d: Date) -> bool {
        let day = d.day();
        if self.days & (1 << day) != 0 {
            return true;
        }
        let last = d.days_in_month();
        self.dom_special.iter().any(|s| match *s {
            DomSpecial::Last => day == last,
            DomSpecial::LastWeekday => day == last_weekday(d.first_of_month(), last),
            DomSpecial::NearestWeekday(n) => n <= last && day == nearest_weekday(d, n, last),
        })
    }

    fn dow_matches(&self, d: Date) -> bool {
        let w = weekday_index(d.weekday());
        if self.weekdays & (1 << w) != 0 {
            return true;
        }
        self.dow_special.iter().any(|s| match *s {
            DowSpecial::Nth(wd, k) => wd == w && (d.day() - 1) / 7 + 1 == k as i8,
            DowSpecial::Last(wd) => wd == w && d.day() + 7 > d.days_in_month(),
        })
    }

    /// Up to `count` times the expression fires, in `tz`, at or after `from` and (when given)
    /// at or before `until`. The search stops at the end of [`LAST_YEAR`].
    pub(crate) fn times(
        &self,
        tz: &TimeZone,
        from: Timestamp,
        until: Option<Timestamp>,
        count: usize,
    ) -> Vec<Timestamp> {
        let mut out = Vec::new();
        if count == 0 {
            return out;
        }
        let mut date = from.to_zoned_datetime(tz.clone()).date();
        // A day before, so that a local time moved by a DST transition is not missed.
        date = date.yesterday().unwrap_or(date);
        while date.year() <= LAST_YEAR {
            if let Some(years) = &self.years
                && !years.contains(&date.year())
            {
                match years.iter().find(|y| **y > date.year()) {
                    Some(y) => match Date::new(*y, 1, 1) {
                        Ok(d) => date = d,
                        Err(_) => break,
                    },
                    None => break,
                }
                continue;
            }
            if self.months & (1 << date.month()) == 0 {
                match date.last_of_month().tomorrow() {
                    Ok(d) => date = d,
                    Err(_) => break,
                }
                continue;
            }
            if self.day_matches(date) {
                for h in 0..24i8 {
                    if self.hours & (1 << h) == 0 {
                        continue;
                    }
                    for m in 0..60i8 {
                        if self.minutes & (1 << m) == 0 {
                            continue;
                        }
                        let local = date.at(h, m, 0, 0);
                        let Ok(t) = tz.to_ambiguous_timestamp(local).compatible() else {
                            continue;
                        };
                        if until.is_some_and(|u| t > u) {
                            return out;
                        }
                        if t >= from && out.last().is_none_or(|l| t > *l) {
                            out.push(t);
                            if out.len() == count {
                                return out;
                            }
                        }
                    }
                }
            }
            match date.tomorrow() {
                Ok(d) => date = d,
                Err(_) => break,
            }
        }
        out
    }
}

/// Times of a fixed rate: `anchor + k * every`, at or after `from`, at or before `until`.
pub(crate) fn rate_times(
    anchor: Timestamp,
    every: SignedDuration,
    from: Timestamp,
    until: Option<Timestamp>,
    count: usize,
) -> Vec<Timestamp> {
    let mut out = Vec::new();
    let step = every.as_secs();
    if step <= 0 {
        return out;
    }
    let gap = from.as_second() - anchor.as_second();
    let mut k = if gap <= 0 { 0 } else { (gap + step - 1) / step };
    while out.len() < count {
        let Some(secs) = k
            .checked_mul(step)
            .and_then(|o| anchor.as_second().checked_add(o))
        else {
            break;
        };
        let Ok(t) = Timestamp::new(secs, anchor.subsec_nanosecond()) else {
            break;
        };
        if t < from {
            k += 1;
            continue;
        }
        if until.is_some_and(|u| t > u) || t.to_zoned_datetime(TimeZone::UTC).year() > LAST_YEAR {
            break;
        }
        out.push(t);
        k += 1;
    }
    out
}

/// 0 = Sunday ... 6 = Saturday.
pub(crate) fn weekday_index(w: Weekday) -> u8 {
    w.to_sunday_zero_offset() as u8
}

fn is_weekend(d: Date) -> bool {
    matches!(d.weekday(), Weekday::Saturday | Weekday::Sunday)
}

/// The day of the last Monday-to-Friday of the month that starts on `first`.
fn last_weekday(first: Date, last: i8) -> i8 {
    let mut day = last;
    while day > 1 {
        match Date::new(first.year(), first.month(), day) {
            Ok(d) if !is_weekend(d) => return day,
            _ => day -= 1,
        }
    }
    day
}

/// Quartz's `nW`: day `n` if it is a weekday, else the nearest weekday in the same month.
fn nearest_weekday(d: Date, n: i8, last: i8) -> i8 {
    let Ok(target) = Date::new(d.year(), d.month(), n) else {
        return 0;
    };
    match target.weekday() {
        Weekday::Saturday if n == 1 => 3,
        Weekday::Saturday => n - 1,
        Weekday::Sunday if n == last => n - 2,
        Weekday::Sunday => n + 1,
        _ => n,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i16, m: i8, d: i8) -> Date {
        Date::new(y, m, d).expect("date")
    }

    #[test]
    fn nearest_and_last_weekdays() {
        // 2025-03-01 is a Saturday: 1W is Monday the 3rd; 2025-03-02 (Sunday): 2W is the 3rd.
        assert_eq!(nearest_weekday(date(2025, 3, 1), 1, 31), 3);
        assert_eq!(nearest_weekday(date(2025, 3, 1), 2, 31), 3);
        // 2025-03-15 is a Saturday: Friday the 14th.
        assert_eq!(nearest_weekday(date(2025, 3, 1), 15, 31), 14);
        // 2025-08-31 is a Sunday and the last day: Friday the 29th.
        assert_eq!(nearest_weekday(date(2025, 8, 1), 31, 31), 29);
        // The last weekday of May 2025 (the 31st is a Saturday) is Friday the 30th.
        assert_eq!(last_weekday(date(2025, 5, 1), 31), 30);
    }

    #[test]
    fn rate_counts_from_the_anchor() {
        let anchor: Timestamp = "2030-01-01T00:00:00Z".parse().expect("ts");
        let from: Timestamp = "2030-01-01T00:07:00Z".parse().expect("ts");
        let times = rate_times(anchor, SignedDuration::from_mins(5), from, None, 3);
        let shown: Vec<String> = times.iter().map(ToString::to_string).collect();
        assert_eq!(
            shown,
            [
                "2030-01-01T00:10:00Z",
                "2030-01-01T00:15:00Z",
                "2030-01-01T00:20:00Z"
            ]
        );
        let until: Timestamp = "2030-01-01T00:12:00Z".parse().expect("ts");
        assert_eq!(
            rate_times(anchor, SignedDuration::from_mins(5), from, Some(until), 3).len(),
            1
        );
    }
}
