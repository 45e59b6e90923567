//! EventBridge Scheduler's schedule expressions, as MWAA Serverless and the AWS Python-to-YAML
//! converter write them: `cron(...)` with six fields (bare six fields too), `rate(N unit)` and
//! `at(yyyy-mm-ddThh:mm:ss)`.
//!
//! The six fields are minutes (0-59), hours (0-23), day-of-month (1-31), month (1-12 or
//! JAN-DEC), day-of-week (1-7 or SUN-SAT, 1 is Sunday) and year (1970-2199), with `,` `-` `*`
//! `/` everywhere, `?` in exactly one of the two day fields, `L` and `W` in day-of-month
//! (`L`, `LW`, `15W`) and `L` and `#` in day-of-week (`6L`, `3#2`). Ranges go from low to high.

use jiff::SignedDuration;
use jiff::civil::DateTime;

use crate::cron::Schedule;
use crate::runs::{DomSpecial, DowSpecial, FIRST_YEAR, LAST_YEAR, Spec};

const MONTHS: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];
const WEEKDAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

/// The six fields, as said in messages.
pub(crate) const SIX_FIELDS: &str = "an EventBridge cron expression with 6 fields (minutes hours \
     day-of-month month day-of-week year), e.g. 'cron(0 6 * * ? *)'";

/// Parses `cron(...)`, `rate(...)` or `at(...)`; `None` when `s` is none of these.
pub(crate) fn parse_wrapped(s: &str) -> Option<Result<Schedule, String>> {
    let lower = s.to_ascii_lowercase();
    let kind = ["cron", "rate", "at"].into_iter().find(|k| {
        lower
            .strip_prefix(k)
            .is_some_and(|rest| rest.trim_start().starts_with('('))
    })?;
    let open = s.find('(')?;
    let Some(body) = s[open + 1..].strip_suffix(')') else {
        return Some(Err(format!(
            "'{s}' has no closing ')'; write {kind}(...) with nothing after the ')'"
        )));
    };
    let body = body.trim();
    Some(match kind {
        "cron" => {
            let n = body.split_whitespace().count();
            if n == 6 {
                parse_six(body)
            } else {
                Err(format!(
                    "cron(...) takes 6 fields (minutes hours day-of-month month day-of-week \
                     year), this one has {n}; e.g. 'cron(0 6 * * ? *)' is 06:00 UTC every day"
                ))
            }
        }
        "rate" => parse_rate(body),
        _ => parse_at(body),
    })
}

/// Parses six whitespace-separated fields as an EventBridge cron expression.
pub(crate) fn parse_six(expr: &str) -> Result<Schedule, String> {
    let fields: Vec<&str> = expr.split_whitespace().collect();
    spec(&fields)?;
    Ok(Schedule::AwsCron(fields.join(" ")))
}

fn parse_rate(body: &str) -> Result<Schedule, String> {
    let allowed = "write rate(<value> <unit>) with a whole value of 1 or more and a unit of \
                   minute(s), hour(s) or day(s), e.g. 'rate(5 minutes)' or 'rate(1 day)'";
    let parts: Vec<&str> = body.split_whitespace().collect();
    let [value, unit] = parts.as_slice() else {
        return Err(format!(
            "'rate({body})' is not a rate expression; {allowed}"
        ));
    };
    let n: i64 = match value.parse() {
        Ok(n) if n >= 1 && value.bytes().all(|b| b.is_ascii_digit()) => n,
        _ => {
            return Err(format!(
                "'rate({body})' has the value '{value}', which is not a whole number of 1 or \
                 more; {allowed}"
            ));
        }
    };
    let unit_lower = unit.to_ascii_lowercase();
    let (singular, secs, plural) = match unit_lower.as_str() {
        "minute" => ("minute", 60, false),
        "minutes" => ("minute", 60, true),
        "hour" => ("hour", 3_600, false),
        "hours" => ("hour", 3_600, true),
        "day" => ("day", 86_400, false),
        "days" => ("day", 86_400, true),
        _ => {
            return Err(format!("'rate({body})' has the unit '{unit}'; {allowed}"));
        }
    };
    if (n == 1) == plural {
        let want = if n == 1 {
            singular.to_owned()
        } else {
            format!("{singular}s")
        };
        return Err(format!(
            "'rate({body})' must say '{want}': EventBridge takes the singular unit for 1 and \
             the plural for more, e.g. 'rate(1 {singular})' or 'rate(5 {singular}s)'"
        ));
    }
    let every = n
        .checked_mul(secs)
        .filter(|s| *s <= 100 * 365 * 86_400)
        .ok_or_else(|| format!("'rate({body})' is too long; {allowed}"))?;
    Ok(Schedule::Rate {
        every: SignedDuration::from_secs(every),
        text: format!("rate({n} {unit_lower})"),
    })
}

fn parse_at(body: &str) -> Result<Schedule, String> {
    let bad = || {
        format!(
            "'at({body})' is not a one-time schedule; write at(yyyy-mm-ddThh:mm:ss), e.g. \
             'at(2030-01-31T06:00:00)' (UTC, no offset)"
        )
    };
    let b = body.as_bytes();
    if b.len() != 19 || b[10] != b'T' {
        return Err(bad());
    }
    let dt: DateTime = body.parse().map_err(|_| bad())?;
    if !(FIRST_YEAR..=LAST_YEAR).contains(&dt.year()) {
        return Err(bad());
    }
    Ok(Schedule::At(dt))
}

/// One of the six fields.
#[derive(Clone, Copy, PartialEq, Eq)]
enum F {
    Minutes,
    Hours,
    Dom,
    Month,
    Dow,
    Year,
}

impl F {
    fn label(self) -> &'static str {
        match self {
            F::Minutes => "field 1 (minutes)",
            F::Hours => "field 2 (hours)",
            F::Dom => "field 3 (day-of-month)",
            F::Month => "field 4 (month)",
            F::Dow => "field 5 (day-of-week)",
            F::Year => "field 6 (year)",
        }
    }

    fn bounds(self) -> (i64, i64) {
        match self {
            F::Minutes => (0, 59),
            F::Hours => (0, 23),
            F::Dom => (1, 31),
            F::Month => (1, 12),
            F::Dow => (1, 7),
            F::Year => (i64::from(FIRST_YEAR), i64::from(LAST_YEAR)),
        }
    }

    fn allowed(self) -> &'static str {
        match self {
            F::Minutes => "0-59 with , - * /",
            F::Hours => "0-23 with , - * /",
            F::Dom => "1-31 with , - * ? / L W",
            F::Month => "1-12 or JAN-DEC with , - * /",
            F::Dow => "1-7 or SUN-SAT (1 is Sunday) with , - * ? L #",
            F::Year => "1970-2199 with , - * /",
        }
    }

    fn names(self) -> &'static [&'static str] {
        match self {
            F::Month => &MONTHS,
            F::Dow => &WEEKDAYS,
            _ => &[],
        }
    }
}

/// Checks six EventBridge cron fields and expands them. Errors name the field and say what it
/// allows.
pub(crate) fn spec(fields: &[&str]) -> Result<Spec, String> {
    let [mi, ho, dom, mo, dow, yr] = fields else {
        return Err(format!(
            "this has {} fields; write {SIX_FIELDS}",
            fields.len()
        ));
    };
    match (*dom == "?", *dow == "?") {
        (true, true) => {
            return Err(
                "day-of-month and day-of-week are both '?'; exactly one of them must be '?', \
                 e.g. 'cron(0 6 * * ? *)' (every day) or 'cron(0 6 ? * MON *)' (Mondays)"
                    .to_owned(),
            );
        }
        (false, false) => {
            return Err(format!(
                "day-of-month ('{dom}') and day-of-week ('{dow}') are both given; EventBridge \
                 needs '?' in one of them, e.g. 'cron(0 6 * * ? *)' (every day) or \
                 'cron(0 6 ? * MON-FRI *)' (weekdays)"
            ));
        }
        _ => {}
    }
    let minutes = bits(F::Minutes, mi)?;
    let hours = bits(F::Hours, ho)?;
    let months = bits(F::Month, mo)?;
    let years = if *yr == "*" {
        None
    } else {
        let b = bits(F::Year, yr)?;
        Some(
            (FIRST_YEAR..=LAST_YEAR)
                .filter(|y| b.contains(&i64::from(*y)))
                .collect(),
        )
    };
    let mut spec = Spec {
        minutes: minutes.iter().fold(0u64, |a, v| a | 1 << v),
        hours: hours.iter().fold(0u32, |a, v| a | 1 << v),
        days: 0,
        dom_special: Vec::new(),
        dom_any: *dom == "?" || *dom == "*",
        weekdays: 0,
        dow_special: Vec::new(),
        dow_any: *dow == "?" || *dow == "*",
        months: months.iter().fold(0u16, |a, v| a | 1 << v),
        years,
    };
    if !spec.dom_any {
        for item in dom.split(',') {
            match dom_special(item)? {
                Some(s) => spec.dom_special.push(s),
                None => {
                    for v in item_values(F::Dom, item)? {
                        spec.days |= 1 << v;
                    }
                }
            }
        }
    }
    if !spec.dow_any {
        for item in dow.split(',') {
            match dow_special(item)? {
                Some(s) => spec.dow_special.push(s),
                None => {
                    for v in item_values(F::Dow, item)? {
                        spec.weekdays |= 1 << (v - 1);
                    }
                }
            }
        }
    }
    Ok(spec)
}

fn bits(f: F, text: &str) -> Result<Vec<i64>, String> {
    if text.contains('?') {
        return Err(format!(
            "{} has '{text}', but '?' is only allowed as the whole of day-of-month or \
             day-of-week; {} allows {}",
            f.label(),
            f.label(),
            f.allowed()
        ));
    }
    let mut out = Vec::new();
    for item in text.split(',') {
        out.extend(item_values(f, item)?);
    }
    Ok(out)
}

/// `L`, `LW` and `nW` in day-of-month.
fn dom_special(item: &str) -> Result<Option<DomSpecial>, String> {
    let up = item.to_ascii_uppercase();
    if up == "L" {
        return Ok(Some(DomSpecial::Last));
    }
    if up == "LW" {
        return Ok(Some(DomSpecial::LastWeekday));
    }
    if let Some(day) = up.strip_suffix('W') {
        let n = number(F::Dom, day, item)?;
        return Ok(Some(DomSpecial::NearestWeekday(n as i8)));
    }
    if up.contains('L') || up.contains('W') {
        return Err(format!(
            "{} has '{item}'; 'L' and 'W' are written 'L' (last day), 'LW' (last weekday) or \
             'nW' (the weekday nearest day n), alone in their item",
            F::Dom.label()
        ));
    }
    Ok(None)
}

/// `nL`, `L` and `n#k` in day-of-week (weekdays 1-7 from Sunday).
fn dow_special(item: &str) -> Result<Option<DowSpecial>, String> {
    let up = item.to_ascii_uppercase();
    if up == "L" {
        // `L` alone is the last day of the week, Saturday (7), every week.
        return Ok(None);
    }
    if let Some(day) = up.strip_suffix('L') {
        let d = number(F::Dow, day, item)?;
        return Ok(Some(DowSpecial::Last((d - 1) as u8)));
    }
    if let Some((day, k)) = up.split_once('#') {
        let d = number(F::Dow, day, item)?;
        return match k.as_bytes() {
            [b @ b'1'..=b'5'] => Ok(Some(DowSpecial::Nth((d - 1) as u8, b - b'0'))),
            _ => Err(format!(
                "{} has '{item}'; write 'd#k' with a weekday d (1-7 or SUN-SAT) and an \
                 occurrence k of 1-5, e.g. '3#2' for the second Tuesday",
                F::Dow.label()
            )),
        };
    }
    Ok(None)
}

/// The values of one item: `*`, `v`, `a-b`, each with an optional `/step`.
fn item_values(f: F, item: &str) -> Result<Vec<i64>, String> {
    let (min, max) = f.bounds();
    if item.is_empty() {
        return Err(format!(
            "{} has an empty item; separate items with single commas, e.g. '1,15'",
            f.label()
        ));
    }
    let (base, step) = match item.split_once('/') {
        None => (item, 1),
        Some((b, s)) => match s.parse::<i64>() {
            Ok(n) if n >= 1 && s.bytes().all(|c| c.is_ascii_digit()) => (b, n),
            _ => {
                return Err(format!(
                    "{} has '{item}', whose step is not a whole number of 1 or more; write \
                     e.g. '0/15'",
                    f.label()
                ));
            }
        },
    };
    let (lo, hi) = if base == "*" {
        (min, max)
    } else if f == F::Dow && base.eq_ignore_ascii_case("L") {
        (7, 7)
    } else if let Some((a, b)) = base.split_once('-') {
        let (lo, hi) = (number(f, a, item)?, number(f, b, item)?);
        if lo > hi {
            return Err(format!(
                "{} has '{item}', a range from high to low; write ranges from low to high \
                 within {}",
                f.label(),
                f.allowed()
            ));
        }
        (lo, hi)
    } else {
        let v = number(f, base, item)?;
        (v, if item.contains('/') { max } else { v })
    };
    Ok((lo..=hi).step_by(step as usize).collect())
}

fn number(f: F, tok: &str, item: &str) -> Result<i64, String> {
    let (min, max) = f.bounds();
    let up = tok.to_ascii_uppercase();
    if let Some(i) = f.names().iter().position(|n| *n == up) {
        return Ok(i as i64 + 1);
    }
    match tok.parse::<i64>() {
        Ok(v) if tok.bytes().all(|b| b.is_ascii_digit()) && (min..=max).contains(&v) => Ok(v),
        Ok(v) if tok.bytes().all(|b| b.is_ascii_digit()) => Err(format!(
            "{} has {v} in '{item}', outside {min}-{max}; the field allows {}",
            f.label(),
            f.allowed()
        )),
        _ => Err(format!(
            "{} has '{item}', which is not valid there; the field allows {}",
            f.label(),
            f.allowed()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::Timestamp;
    use jiff::tz::TimeZone;

    fn runs(expr: &str, from: &str, n: usize) -> Vec<String> {
        let fields: Vec<&str> = expr.split_whitespace().collect();
        let spec = spec(&fields).unwrap_or_else(|e| panic!("{expr}: {e}"));
        let from: Timestamp = from.parse().expect("from");
        spec.times(&TimeZone::UTC, from, None, n)
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    fn err(expr: &str) -> String {
        match parse_wrapped(expr) {
            Some(Err(e)) => e,
            other => panic!("{expr}: expected an error, got {other:?}"),
        }
    }

    #[test]
    fn daily_at_midnight_like_the_converter_writes() {
        assert_eq!(
            runs("0 0 * * ? *", "2030-01-01T00:00:00Z", 2),
            ["2030-01-01T00:00:00Z", "2030-01-02T00:00:00Z"]
        );
    }

    #[test]
    fn weekdays_are_counted_from_sunday() {
        // 2030-01-01 is a Tuesday. 2 = MON, so MON-FRI = 2-6.
        assert_eq!(
            runs("15 10 ? * 2-6 *", "2030-01-04T11:00:00Z", 2),
            ["2030-01-07T10:15:00Z", "2030-01-08T10:15:00Z"]
        );
        assert_eq!(
            runs("15 10 ? * MON-FRI *", "2030-01-04T11:00:00Z", 1),
            ["2030-01-07T10:15:00Z"]
        );
    }

    #[test]
    fn last_nth_and_nearest_weekday() {
        // The last Friday of each month.
        assert_eq!(
            runs("0 12 ? * 6L *", "2030-01-01T00:00:00Z", 2),
            ["2030-01-25T12:00:00Z", "2030-02-22T12:00:00Z"]
        );
        // The second Tuesday.
        assert_eq!(
            runs("0 9 ? * 3#2 *", "2030-01-01T00:00:00Z", 1),
            ["2030-01-08T09:00:00Z"]
        );
        // The last day, and the last weekday, of the month (2030-08-31 is a Saturday).
        assert_eq!(
            runs("0 0 L 8 ? *", "2030-01-01T00:00:00Z", 1),
            ["2030-08-31T00:00:00Z"]
        );
        assert_eq!(
            runs("0 0 LW 8 ? *", "2030-01-01T00:00:00Z", 1),
            ["2030-08-30T00:00:00Z"]
        );
        // 2030-06-15 is a Saturday: 15W is Friday the 14th.
        assert_eq!(
            runs("0 0 15W 6 ? *", "2030-01-01T00:00:00Z", 1),
            ["2030-06-14T00:00:00Z"]
        );
    }

    #[test]
    fn years_steps_and_names() {
        assert_eq!(
            runs("0/20 8 1 JAN ? 2031-2032", "2030-01-01T00:00:00Z", 4),
            [
                "2031-01-01T08:00:00Z",
                "2031-01-01T08:20:00Z",
                "2031-01-01T08:40:00Z",
                "2032-01-01T08:00:00Z"
            ]
        );
        assert!(runs("0 0 1 1 ? 2020", "2030-01-01T00:00:00Z", 1).is_empty());
    }

    #[test]
    fn wrapped_forms() {
        assert_eq!(
            parse_wrapped("cron(0 0 * * ? *)"),
            Some(Ok(Schedule::AwsCron("0 0 * * ? *".into())))
        );
        assert_eq!(
            parse_wrapped("rate(5 minutes)"),
            Some(Ok(Schedule::Rate {
                every: SignedDuration::from_mins(5),
                text: "rate(5 minutes)".into()
            }))
        );
        assert!(matches!(
            parse_wrapped("at(2030-01-31T06:00:00)"),
            Some(Ok(Schedule::At(_)))
        ));
        assert_eq!(parse_wrapped("0 0 * * *"), None);
    }

    #[test]
    fn errors_say_what_is_allowed() {
        assert!(err("cron(0 0 * * *)").contains("6 fields"));
        assert!(err("cron(0 0 * * * *)").contains("'?' in one of them"));
        assert!(err("cron(0 0 ? * ? *)").contains("both '?'"));
        assert!(err("cron(0 24 * * ? *)").contains("field 2 (hours) has 24"));
        assert!(err("cron(0 0 ? * 8 *)").contains("1-7 or SUN-SAT"));
        assert!(err("cron(0 0 * * ? 2300)").contains("1970-2199"));
        assert!(err("cron(0 0 * * ? *").contains("closing ')'"));
        assert!(err("rate(1 minutes)").contains("'minute'"));
        assert!(err("rate(5 minute)").contains("'minutes'"));
        assert!(err("rate(0 hours)").contains("1 or more"));
        assert!(err("rate(5 weeks)").contains("unit"));
        assert!(err("at(2030-01-31 06:00)").contains("yyyy-mm-dd"));
        assert!(err("cron(0 0 ? * 2#6 *)").contains("1-5"));
        assert!(err("cron(0 0 5-1 * ? *)").contains("low to high"));
        assert!(err("cron(0 0 ? * 2#+1 *)").contains("1-5"));
    }

    #[test]
    fn l_alone_in_day_of_week_is_saturday() {
        // 2030-01-05 and 2030-01-12 are Saturdays.
        assert_eq!(
            runs("0 0 ? * L *", "2030-01-01T00:00:00Z", 2),
            ["2030-01-05T00:00:00Z", "2030-01-12T00:00:00Z"]
        );
    }
}
