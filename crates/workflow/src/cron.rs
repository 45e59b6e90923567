//! Checks an Apache Airflow 3 `schedule` string the way Airflow 3.0.6 reads it.
//!
//! Airflow 3.0.6 gives `@once` and `@continuous` their own timetables, replaces
//! `@quarterly` (and its other presets, but only when written exactly in
//! lowercase) with a cron expression, and hands every other string to `croniter`
//! (6.0.0 in Airflow's constraints), which also knows `@hourly`, `@daily`,
//! `@midnight`, `@weekly`, `@monthly`, `@yearly` and `@annually` in any case.
//! [`parse_schedule`] accepts what that chain accepts, with these deliberate
//! restrictions that make a schedule easier to read:
//!
//! * exactly five fields (croniter also takes a sixth field of seconds and a
//!   seventh of years);
//! * ranges must go from low to high (croniter wraps `22-2` round midnight and reads
//!   `5-5` as the whole field); `sun` may end a day-of-week range (`fri-sun`);
//! * `n#k` takes a single weekday, not a range such as `mon-fri#2`;
//! * digits and names must be ASCII.
//!
//! Croniter's day-of-week "last weekday of the month" is written `L5` (the letter
//! first); `5L` is rejected by croniter, and here with a message that suggests `L5`.
//!
//! MWAA Serverless schedules through EventBridge Scheduler, and the AWS converter writes its
//! expressions (`'0 0 * * ? *'`), so [`parse_schedule`] also takes EventBridge's forms: six
//! fields, bare or as `cron(...)`, `rate(N unit)` and `at(yyyy-mm-ddThh:mm:ss)` (see
//! `aws_cron`). [`Schedule::next_runs`] gives the times each form fires.

use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};

use crate::aws_cron;
use crate::runs::{self, DomSpecial, DowSpecial, Spec};

/// What a valid schedule string means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Schedule {
    /// A preset such as `@daily`; holds the preset as written (lowercased) and its
    /// cron equivalent when it has one (`@once` and `@continuous` have none).
    Preset {
        /// The preset with its leading `@`, lowercased, e.g. `@daily`.
        name: String,
        /// The equivalent five-field cron expression; `None` for `@once` and `@continuous`.
        cron: Option<&'static str>,
    },
    /// A five-field cron expression, whitespace-normalised to single spaces.
    Cron(String),
    /// An EventBridge cron expression (six fields, bare or in `cron(...)`): the fields,
    /// whitespace-normalised to single spaces. Evaluated in UTC, with EventBridge's meaning.
    AwsCron(String),
    /// An EventBridge rate expression, `rate(5 minutes)`.
    Rate {
        /// The interval.
        every: SignedDuration,
        /// The expression, lowercased and normalised: `rate(5 minutes)`.
        text: String,
    },
    /// An EventBridge one-time schedule, `at(2030-01-31T06:00:00)`, in UTC.
    At(DateTime),
}

impl Schedule {
    /// The schedule as a user writes it: the preset, the five fields, `cron(...)`,
    /// `rate(...)` or `at(...)`.
    pub fn text(&self) -> String {
        match self {
            Schedule::Preset { name, .. } => name.clone(),
            Schedule::Cron(c) => c.clone(),
            Schedule::AwsCron(c) => format!("cron({c})"),
            Schedule::Rate { text, .. } => text.clone(),
            Schedule::At(dt) => format!("at({})", dt.strftime("%Y-%m-%dT%H:%M:%S")),
        }
    }

    /// Up to `count` times this schedule fires after `now`, not before `start` and not after
    /// `end`.
    ///
    /// Five-field cron expressions and presets follow Airflow 3's `CronTriggerTimetable`: the
    /// cron times in `tz` (the workflow's time zone). EventBridge's forms follow EventBridge
    /// Scheduler in UTC: cron times, `rate` intervals counted from `start` (from `now` when
    /// there is no start date, as a rate schedule starts when it is created), the `at` time
    /// once. `@once` fires at `start` (when that is after `now`); `@continuous` has no times.
    pub fn next_runs(
        &self,
        now: Timestamp,
        start: Option<Timestamp>,
        end: Option<Timestamp>,
        tz: &TimeZone,
        count: usize,
    ) -> Vec<Timestamp> {
        let after_now = now
            .checked_add(SignedDuration::from_nanos(1))
            .unwrap_or(now);
        let from = start.map_or(after_now, |s| s.max(after_now));
        match self {
            Schedule::Preset {
                cron: None, name, ..
            } => match start {
                Some(s) if name == "@once" && s > now && end.is_none_or(|e| s <= e) => vec![s],
                _ => Vec::new(),
            },
            Schedule::Preset { cron: Some(c), .. } => croniter_spec(c)
                .map(|spec| spec.times(tz, from, end, count))
                .unwrap_or_default(),
            Schedule::Cron(c) => croniter_spec(c)
                .map(|spec| spec.times(tz, from, end, count))
                .unwrap_or_default(),
            Schedule::AwsCron(c) => {
                let fields: Vec<&str> = c.split_whitespace().collect();
                aws_cron::spec(&fields)
                    .map(|spec| spec.times(&TimeZone::UTC, from, end, count))
                    .unwrap_or_default()
            }
            Schedule::Rate { every, .. } => {
                runs::rate_times(start.unwrap_or(after_now), *every, from, end, count)
            }
            Schedule::At(dt) => match TimeZone::UTC.to_timestamp(*dt) {
                Ok(t) if t > now && count > 0 => vec![t],
                _ => Vec::new(),
            },
        }
    }
}

/// Parses and checks a schedule string. Errors are one sentence that says what is
/// wrong and what is allowed, e.g. "field 2 (hour) has 24, outside 0-23" or "a cron
/// expression has 5 fields (minute hour day-of-month month day-of-week), this one has 4".
pub fn parse_schedule(s: &str) -> Result<Schedule, String> {
    let s = s.trim();
    if s.is_empty() {
        return Err(format!(
            "the schedule is empty; give a preset such as '@daily' or {FIVE_FIELDS}"
        ));
    }
    if s.starts_with('@') {
        return parse_preset(s);
    }
    if let Some(aws) = aws_cron::parse_wrapped(s) {
        return aws;
    }
    let fields: Vec<&str> = s.split_whitespace().collect();
    if fields.len() == 6 {
        return aws_cron::parse_six(s)
            .map_err(|e| format!("6 fields are read as {}: {e}", aws_cron::SIX_FIELDS));
    }
    if fields.len() != FIELDS.len() {
        let hint = if fields.len() == 1 {
            "; a preset starts with '@', e.g. '@daily'"
        } else {
            ""
        };
        return Err(format!(
            "a cron expression has 5 fields (minute hour day-of-month month day-of-week), \
             or 6 in EventBridge's form (minutes hours day-of-month month day-of-week year), \
             this one has {}{hint}",
            fields.len()
        ));
    }
    for (field, text) in FIELDS.iter().zip(&fields) {
        check_field(*field, text)?;
    }
    Ok(Schedule::Cron(fields.join(" ")))
}

const FIVE_FIELDS: &str =
    "a cron expression with 5 fields (minute hour day-of-month month day-of-week)";

/// A preset Airflow knows. `any_case` is true for those croniter itself resolves
/// (it lowercases the expression first); the others are only matched by Airflow's
/// exact-string look-ups.
struct Preset {
    name: &'static str,
    cron: Option<&'static str>,
    any_case: bool,
}

const PRESETS: [Preset; 10] = [
    Preset {
        name: "@once",
        cron: None,
        any_case: false,
    },
    Preset {
        name: "@continuous",
        cron: None,
        any_case: false,
    },
    Preset {
        name: "@hourly",
        cron: Some("0 * * * *"),
        any_case: true,
    },
    Preset {
        name: "@daily",
        cron: Some("0 0 * * *"),
        any_case: true,
    },
    Preset {
        name: "@midnight",
        cron: Some("0 0 * * *"),
        any_case: true,
    },
    Preset {
        name: "@weekly",
        cron: Some("0 0 * * 0"),
        any_case: true,
    },
    Preset {
        name: "@monthly",
        cron: Some("0 0 1 * *"),
        any_case: true,
    },
    Preset {
        name: "@quarterly",
        cron: Some("0 0 1 */3 *"),
        any_case: false,
    },
    Preset {
        name: "@yearly",
        cron: Some("0 0 1 1 *"),
        any_case: true,
    },
    Preset {
        name: "@annually",
        cron: Some("0 0 1 1 *"),
        any_case: true,
    },
];

const PRESET_LIST: &str = "@once, @continuous, @hourly, @daily, @midnight, @weekly, \
                           @monthly, @quarterly, @yearly and @annually";

fn parse_preset(s: &str) -> Result<Schedule, String> {
    let lower = s.to_ascii_lowercase();
    let Some(preset) = PRESETS.iter().find(|p| p.name == lower) else {
        return Err(format!(
            "'{s}' is not a preset; the presets are {PRESET_LIST}, \
             anything else must be {FIVE_FIELDS}"
        ));
    };
    if !preset.any_case && s != preset.name {
        return Err(format!(
            "'{s}' must be written in lowercase as '{}', the only spelling Airflow recognises",
            preset.name
        ));
    }
    Ok(Schedule::Preset {
        name: lower,
        cron: preset.cron,
    })
}

/// One of the five cron fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Minute,
    Hour,
    DayOfMonth,
    Month,
    DayOfWeek,
}

const FIELDS: [Field; 5] = [
    Field::Minute,
    Field::Hour,
    Field::DayOfMonth,
    Field::Month,
    Field::DayOfWeek,
];

const MONTH_NAMES: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];
const WEEKDAY_NAMES: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

/// All seven weekdays as a bit set (bit 0 = Sunday).
const ALL_WEEKDAYS: u8 = 0x7f;

impl Field {
    fn number(self) -> usize {
        match self {
            Field::Minute => 1,
            Field::Hour => 2,
            Field::DayOfMonth => 3,
            Field::Month => 4,
            Field::DayOfWeek => 5,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Field::Minute => "minute",
            Field::Hour => "hour",
            Field::DayOfMonth => "day-of-month",
            Field::Month => "month",
            Field::DayOfWeek => "day-of-week",
        }
    }

    fn min(self) -> u64 {
        match self {
            Field::DayOfMonth | Field::Month => 1,
            Field::Minute | Field::Hour | Field::DayOfWeek => 0,
        }
    }

    fn max(self) -> u64 {
        match self {
            Field::Minute => 59,
            Field::Hour => 23,
            Field::DayOfMonth => 31,
            Field::Month => 12,
            Field::DayOfWeek => 7,
        }
    }

    /// Names allowed instead of numbers, and the number of the first name.
    fn names(self) -> (&'static [&'static str], u64) {
        match self {
            Field::Month => (&MONTH_NAMES, 1),
            Field::DayOfWeek => (&WEEKDAY_NAMES, 0),
            Field::Minute | Field::Hour | Field::DayOfMonth => (&[], 0),
        }
    }

    /// Said after the numeric range in messages.
    fn names_hint(self) -> &'static str {
        match self {
            Field::Month => " (or jan-dec)",
            Field::DayOfWeek => " (or sun-sat; 0 and 7 are Sunday)",
            Field::Minute | Field::Hour | Field::DayOfMonth => "",
        }
    }

    /// What a value in this field may be, for "is not ..." messages.
    fn value_kind(self) -> &'static str {
        match self {
            Field::Month => "a number or a month name",
            Field::DayOfWeek => "a number or a weekday name",
            Field::Minute | Field::Hour | Field::DayOfMonth => "a number",
        }
    }

    fn label(self) -> String {
        format!("field {} ({})", self.number(), self.name())
    }

    fn range(self) -> String {
        format!("{}-{}{}", self.min(), self.max(), self.names_hint())
    }
}

/// What one comma-separated item of a field stands for (only what the
/// day-of-week consistency check needs).
enum Item {
    /// `*`, or `L` in day-of-month.
    Any,
    /// The values `lo..=hi` every `step`; `range` when written `a-b`.
    Values {
        lo: u64,
        hi: u64,
        step: u64,
        range: bool,
    },
    /// `n#k` or `Ln` in day-of-week, for weekday `n` (0-6).
    Nth(u64),
}

fn check_field(field: Field, text: &str) -> Result<(), String> {
    let label = field.label();
    if text.contains('?') {
        if !matches!(field, Field::DayOfMonth | Field::DayOfWeek) {
            return Err(format!(
                "{label} has '{text}', but '?' is only allowed in field 3 (day-of-month) \
                 and field 5 (day-of-week); use '*' or {}",
                field.range()
            ));
        }
        if text != "?" {
            return Err(format!(
                "{label} has '{text}', but '?' must be the whole field (it means the same as '*')"
            ));
        }
        return Ok(());
    }

    // For croniter's day-of-week rule: plain weekdays and `#`/`L` items may not be mixed.
    let mut plain = 0u8;
    let mut nth = 0u8;
    let mut star = false;
    for item in text.split(',') {
        if item.is_empty() {
            return Err(format!(
                "{label} has '{text}', which has an empty item; separate items with \
                 single commas, e.g. '1,15'"
            ));
        }
        match parse_item(field, item)? {
            Item::Any => star = true,
            Item::Nth(day) => nth |= weekday_bit(day),
            Item::Values {
                lo,
                hi,
                step,
                range,
            } => {
                if field == Field::DayOfWeek {
                    plain |= weekday_mask(lo, hi, step, range);
                }
            }
        }
    }
    if nth != 0 {
        let leftover = plain & !nth;
        let distinct = (plain | nth).count_ones() + u32::from(star);
        if leftover != 0 && distinct != 7 {
            return Err(format!(
                "{label} has '{text}', which mixes plain weekdays with '#' or 'L' items, \
                 something Airflow's cron parser does not support; use either only '#'/'L' \
                 items (e.g. '1#1,1#3') or only weekdays (e.g. 'mon-fri')"
            ));
        }
    }
    Ok(())
}

fn weekday_bit(day: u64) -> u8 {
    1u8 << (day % 7)
}

/// The weekdays `lo..=hi` every `step` (7 is Sunday), as croniter expands them:
/// a range whose ends are the same weekday means the whole week.
fn weekday_mask(lo: u64, hi: u64, step: u64, range: bool) -> u8 {
    if range && lo % 7 == hi % 7 {
        return ALL_WEEKDAYS;
    }
    let mut mask = 0u8;
    let mut day = lo;
    while day <= hi {
        mask |= weekday_bit(day);
        day = day.saturating_add(step.max(1));
        if day == u64::MAX {
            break;
        }
    }
    mask
}

fn parse_item(field: Field, item: &str) -> Result<Item, String> {
    let label = field.label();
    if field == Field::DayOfWeek {
        if let Some(special) = parse_weekday_special(item)? {
            return Ok(special);
        }
    } else if item.contains('#') {
        return Err(format!(
            "{label} has '{item}', but '#' (nth weekday of the month) is only allowed in \
             field 5 (day-of-week); use {}",
            field.range()
        ));
    }

    let (base, step) = match item.split_once('/') {
        None => (item, None),
        Some((base, step)) => (base, Some(parse_step(field, item, step)?)),
    };
    if base.is_empty() {
        return Err(format!(
            "{label} has '{item}', which has nothing before '/'; write a start such as '*/15' \
             or '5/15'"
        ));
    }
    if base == "*" {
        return Ok(match step {
            None => Item::Any,
            Some(step) => Item::Values {
                lo: field.min(),
                hi: field.max(),
                step,
                range: false,
            },
        });
    }
    if field == Field::DayOfMonth && base.eq_ignore_ascii_case("l") {
        if step.is_some() {
            return Err(format!(
                "{label} has '{item}', but 'L' (last day of the month) cannot take a step; \
                 write 'L' alone or a range such as '1-L/2'"
            ));
        }
        return Ok(Item::Any);
    }
    if base.starts_with('-') {
        return Err(format!(
            "{label} has '{item}', but negative numbers are not allowed; use {}",
            field.range()
        ));
    }
    if let Some((lo_text, hi_text)) = base.split_once('-') {
        if hi_text.is_empty() {
            return Err(format!(
                "{label} has '{item}', a range with no end; write ranges as 'low-high' \
                 within {}",
                field.range()
            ));
        }
        if hi_text.contains('-') {
            return Err(format!(
                "{label} has '{item}', which has more than one '-'; write ranges as \
                 'low-high' within {}",
                field.range()
            ));
        }
        let lo = value(field, lo_text, item)?;
        let hi = if field == Field::DayOfMonth && hi_text.eq_ignore_ascii_case("l") {
            31
        } else if field == Field::DayOfWeek && hi_text.eq_ignore_ascii_case("sun") {
            7
        } else {
            value(field, hi_text, item)?
        };
        // A reversed range (`22-2`) wraps round, as croniter (and so Airflow) reads it.
        return Ok(Item::Values {
            lo,
            hi,
            step: step.unwrap_or(1),
            range: true,
        });
    }
    let v = value(field, base, item)?;
    Ok(match step {
        None => Item::Values {
            lo: v,
            hi: v,
            step: 1,
            range: false,
        },
        // `5/15` means `5-max/15`; croniter's day-of-week maximum is 6 (7 is Sunday = 0).
        Some(step) => {
            let (lo, hi) = if field == Field::DayOfWeek {
                (v % 7, 6)
            } else {
                (v, field.max())
            };
            Item::Values {
                lo,
                hi,
                step,
                range: false,
            }
        }
    })
}

fn parse_step(field: Field, item: &str, step: &str) -> Result<u64, String> {
    let label = field.label();
    if step.contains('/') {
        return Err(format!(
            "{label} has '{item}', which has more than one '/'; write one step, e.g. '*/15'"
        ));
    }
    match parse_digits(step) {
        Some(0) => Err(format!(
            "{label} has '{item}', whose step is 0; a step must be 1 or more"
        )),
        Some(n) => Ok(n),
        None if step.is_empty() => Err(format!(
            "{label} has '{item}', which has no step after '/'; write e.g. '*/15'"
        )),
        None => Err(format!(
            "{label} has '{item}', whose step '{step}' is not a whole number of 1 or more"
        )),
    }
}

/// Day-of-week items croniter treats specially: `n#k` and `Ln`. Also catches `nL`,
/// which croniter rejects, to suggest `Ln`.
fn parse_weekday_special(item: &str) -> Result<Option<Item>, String> {
    let field = Field::DayOfWeek;
    let label = field.label();
    if let Some((day, nth)) = item.split_once('#') {
        if day.is_empty() {
            return Err(format!(
                "{label} has '{item}', which has no weekday before '#'; write e.g. '1#2' for \
                 the second Monday of the month"
            ));
        }
        if day.contains(['-', '/', '#']) || nth.contains('#') {
            return Err(format!(
                "{label} has '{item}', but '#' takes one weekday and one occurrence, \
                 e.g. '1#2' for the second Monday of the month"
            ));
        }
        let day = value(field, day, item)?;
        return match parse_digits(nth) {
            Some(k) if (1..=5).contains(&k) => Ok(Some(Item::Nth(day % 7))),
            Some(_) => Err(format!(
                "{label} has '{item}', but the occurrence after '#' must be 1-5"
            )),
            None => Err(format!(
                "{label} has '{item}', which needs an occurrence 1-5 after '#', e.g. '1#2' \
                 for the second Monday of the month"
            )),
        };
    }
    if let Some(rest) = item.strip_prefix(['L', 'l']) {
        if rest.is_empty() {
            return Err(format!(
                "{label} has '{item}', which needs a weekday number after 'L', e.g. 'L5' \
                 for the last Friday of the month"
            ));
        }
        return match parse_digits(rest) {
            Some(day) if day <= 7 => Ok(Some(Item::Nth(day % 7))),
            Some(_) => Err(format!(
                "{label} has {rest} in '{item}', outside {}",
                field.range()
            )),
            None => Err(format!(
                "{label} has '{item}', but 'L' must be followed by a weekday number 0-7, \
                 e.g. 'L5' for the last Friday of the month"
            )),
        };
    }
    if let Some(rest) = item.strip_suffix(['L', 'l']) {
        let day = if let Some(n) = parse_digits(rest) {
            Some(n)
        } else {
            weekday_by_name(rest)
        };
        if let Some(day) = day {
            let hint = if day <= 7 {
                format!("write '{item}' as 'L{day}'")
            } else {
                "write 'L' then a weekday number 0-7, e.g. 'L5' for the last Friday".to_owned()
            };
            return Err(format!(
                "{label} has '{item}', which Airflow's cron parser (croniter) does not accept; \
                 for the last such weekday of the month {hint}"
            ));
        }
    }
    Ok(None)
}

fn weekday_by_name(s: &str) -> Option<u64> {
    let lower = s.to_ascii_lowercase();
    WEEKDAY_NAMES
        .iter()
        .zip(0u64..)
        .find_map(|(name, n)| (*name == lower).then_some(n))
}

/// A single value of `field`: a number in range or, in month and day-of-week, a name.
fn value(field: Field, tok: &str, item: &str) -> Result<u64, String> {
    let label = field.label();
    let within = if tok == item {
        String::new()
    } else {
        format!(" in '{item}'")
    };
    if tok.is_empty() {
        return Err(format!(
            "{label} has '{item}', which is missing a value; use {}",
            field.range()
        ));
    }
    if let Some(n) = parse_digits(tok) {
        if n < field.min() || n > field.max() {
            return Err(format!(
                "{label} has {tok}{within}, outside {}",
                field.range()
            ));
        }
        return Ok(n);
    }
    let lower = tok.to_ascii_lowercase();
    let (names, first) = field.names();
    if let Some(n) = names
        .iter()
        .zip(first..)
        .find_map(|(name, n)| (*name == lower).then_some(n))
    {
        return Ok(n);
    }
    if lower == "l" {
        return Err(if field == Field::DayOfMonth {
            format!(
                "{label} has '{item}', but 'L' (last day of the month) can only stand alone \
                 or end a range, e.g. 'L' or '15-L'"
            )
        } else {
            format!(
                "{label} has '{item}', but 'L' (last day of the month) is only allowed in \
                 field 3 (day-of-month); use {}",
                field.range()
            )
        });
    }
    if lower
        .strip_suffix('w')
        .is_some_and(|day| day == "l" || parse_digits(day).is_some())
    {
        return Err(format!(
            "{label} has '{item}', but 'W' (nearest weekday) is not supported by Airflow's \
             cron parser; use {}",
            field.range()
        ));
    }
    Err(format!(
        "{label} has '{tok}'{within}, which is not {}; use {}",
        field.value_kind(),
        field.range()
    ))
}

/// Expands a valid five-field expression with croniter's meaning: reversed ranges wrap round,
/// `5/15` runs to the end of the field, 7 is Sunday, `L` ends the month, `n#k` and `Ln` pick
/// weekdays of the month.
fn croniter_spec(expr: &str) -> Option<Spec> {
    let fields: Vec<&str> = expr.split_whitespace().collect();
    let [mi, ho, dom, mo, dow] = fields.as_slice() else {
        return None;
    };
    let any = |t: &str| t == "*" || t == "?";
    let mut spec = Spec {
        minutes: croniter_values(Field::Minute, mi)?
            .into_iter()
            .fold(0, |a, v| a | 1 << v),
        hours: croniter_values(Field::Hour, ho)?
            .into_iter()
            .fold(0, |a, v| a | 1 << v),
        days: 0,
        dom_special: Vec::new(),
        dom_any: any(dom),
        weekdays: 0,
        dow_special: Vec::new(),
        dow_any: any(dow),
        months: croniter_values(Field::Month, mo)?
            .into_iter()
            .fold(0, |a, v| a | 1 << v),
        years: None,
    };
    if !spec.dom_any {
        for item in dom.split(',') {
            if item.eq_ignore_ascii_case("l") {
                spec.dom_special.push(DomSpecial::Last);
            } else {
                let item = item.replace(['L', 'l'], "31");
                for v in croniter_values(Field::DayOfMonth, &item)? {
                    spec.days |= 1 << v;
                }
            }
        }
    }
    if !spec.dow_any {
        for item in dow.split(',') {
            if let Some((d, k)) = item.split_once('#') {
                let d = value(Field::DayOfWeek, d, item).ok()? % 7;
                spec.dow_special
                    .push(DowSpecial::Nth(d as u8, parse_digits(k)? as u8));
            } else if let Some(d) = item.strip_prefix(['L', 'l']) {
                spec.dow_special
                    .push(DowSpecial::Last((parse_digits(d)? % 7) as u8));
            } else {
                for v in croniter_values(Field::DayOfWeek, item)? {
                    spec.weekdays |= 1 << (v % 7);
                }
            }
        }
    }
    Some(spec)
}

/// The values of a croniter field (items separated by commas).
fn croniter_values(field: Field, text: &str) -> Option<Vec<u64>> {
    let (min, max) = (field.min(), field.max());
    let mut out = Vec::new();
    for item in text.split(',') {
        let (base, step) = match item.split_once('/') {
            None => (item, 1),
            Some((b, s)) => (b, parse_digits(s)?.max(1)),
        };
        let seq: Vec<u64> = if base == "*" || base == "?" {
            (min..=max).collect()
        } else if let Some((a, b)) = base.split_once('-') {
            let lo = value(field, a, item).ok()?;
            let hi = if field == Field::DayOfWeek && b.eq_ignore_ascii_case("sun") {
                7
            } else {
                value(field, b, item).ok()?
            };
            if field == Field::DayOfWeek && lo % 7 == hi % 7 && lo != hi {
                (0..=6).collect()
            } else if lo <= hi {
                (lo..=hi).collect()
            } else {
                // croniter wraps a reversed range round the end of the field.
                let top = if field == Field::DayOfWeek { 6 } else { max };
                (lo..=top).chain(min..=hi).collect()
            }
        } else {
            let v = value(field, base, item).ok()?;
            if item.contains('/') {
                let top = if field == Field::DayOfWeek { 6 } else { max };
                (v..=top).collect()
            } else {
                vec![v]
            }
        };
        out.extend(seq.into_iter().step_by(step as usize));
    }
    Some(out)
}

/// ASCII digits as a number, saturating at `u64::MAX` (always out of range).
fn parse_digits(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(s.bytes().fold(0u64, |acc, b| {
        acc.saturating_mul(10).saturating_add(u64::from(b - b'0'))
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(s: &str) -> Schedule {
        match parse_schedule(s) {
            Ok(schedule) => schedule,
            Err(e) => panic!("{s:?} should be valid, got: {e}"),
        }
    }

    fn cron(s: &str) -> String {
        match ok(s) {
            Schedule::Cron(c) => c,
            other => panic!("{s:?} should be a cron expression, got {other:?}"),
        }
    }

    fn err(s: &str) -> String {
        match parse_schedule(s) {
            Ok(schedule) => panic!("{s:?} should be invalid, got {schedule:?}"),
            Err(e) => {
                assert!(!e.contains('\n'), "multi-line error for {s:?}: {e}");
                assert!(!e.is_empty());
                e
            }
        }
    }

    fn err_has(s: &str, parts: &[&str]) {
        let e = err(s);
        for part in parts {
            assert!(e.contains(part), "error for {s:?} lacks {part:?}: {e}");
        }
    }

    fn preset(name: &str, cron: Option<&'static str>) -> Schedule {
        Schedule::Preset {
            name: name.to_owned(),
            cron,
        }
    }

    fn next(s: &str, now: &str, tz: &str, n: usize) -> Vec<String> {
        let now: Timestamp = now.parse().expect("now");
        let tz = TimeZone::get(tz).expect("tz");
        ok(s)
            .next_runs(now, None, None, &tz, n)
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn next_runs_of_five_fields_follow_croniter() {
        // Day-of-month and day-of-week both restricted: either matches (2030-01-01 is a
        // Tuesday; the 1st, then Fridays).
        assert_eq!(
            next("0 6 1 * fri", "2029-12-31T12:00:00Z", "UTC", 3),
            [
                "2030-01-01T06:00:00Z",
                "2030-01-04T06:00:00Z",
                "2030-01-11T06:00:00Z"
            ]
        );
        // Read in the workflow's time zone: 06:00 in New York is 11:00 UTC in January.
        assert_eq!(
            next("0 6 * * *", "2030-01-01T00:00:00Z", "America/New_York", 1),
            ["2030-01-01T11:00:00Z"]
        );
        // A reversed range wraps; L5 is the last Friday; @daily is midnight.
        assert_eq!(
            next("0 23-1 * * *", "2030-01-01T00:30:00Z", "UTC", 3),
            [
                "2030-01-01T01:00:00Z",
                "2030-01-01T23:00:00Z",
                "2030-01-02T00:00:00Z"
            ]
        );
        assert_eq!(
            next("0 0 * * L5", "2030-01-01T00:00:00Z", "UTC", 1),
            ["2030-01-25T00:00:00Z"]
        );
        assert_eq!(
            next("@daily", "2030-01-01T00:00:00Z", "UTC", 1),
            ["2030-01-02T00:00:00Z"]
        );
        assert!(next("@continuous", "2030-01-01T00:00:00Z", "UTC", 1).is_empty());
    }

    #[test]
    fn next_runs_respect_start_and_end() {
        let now: Timestamp = "2030-01-01T00:00:00Z".parse().expect("now");
        let start: Timestamp = "2030-06-01T00:00:00Z".parse().expect("start");
        let end: Timestamp = "2030-06-02T00:00:00Z".parse().expect("end");
        let runs =
            ok("cron(0 12 * * ? *)").next_runs(now, Some(start), Some(end), &TimeZone::UTC, 5);
        assert_eq!(runs.len(), 1);
        assert_eq!(runs[0].to_string(), "2030-06-01T12:00:00Z");
        let once = ok("@once").next_runs(now, Some(start), None, &TimeZone::UTC, 5);
        assert_eq!(once, vec![start]);
        let rate = ok("rate(1 day)").next_runs(now, Some(start), None, &TimeZone::UTC, 2);
        assert_eq!(rate[1].to_string(), "2030-06-02T00:00:00Z");
    }

    #[test]
    fn every_preset() {
        assert_eq!(ok("@once"), preset("@once", None));
        assert_eq!(ok("@continuous"), preset("@continuous", None));
        assert_eq!(ok("@hourly"), preset("@hourly", Some("0 * * * *")));
        assert_eq!(ok("@daily"), preset("@daily", Some("0 0 * * *")));
        assert_eq!(ok("@midnight"), preset("@midnight", Some("0 0 * * *")));
        assert_eq!(ok("@weekly"), preset("@weekly", Some("0 0 * * 0")));
        assert_eq!(ok("@monthly"), preset("@monthly", Some("0 0 1 * *")));
        assert_eq!(ok("@quarterly"), preset("@quarterly", Some("0 0 1 */3 *")));
        assert_eq!(ok("@yearly"), preset("@yearly", Some("0 0 1 1 *")));
        assert_eq!(ok("@annually"), preset("@annually", Some("0 0 1 1 *")));
    }

    #[test]
    fn preset_crons_are_valid_expressions() {
        for p in &PRESETS {
            if let Some(c) = p.cron {
                assert_eq!(cron(c), c);
            }
        }
    }

    #[test]
    fn croniter_presets_in_any_case_and_trimmed() {
        assert_eq!(ok("@DAILY"), preset("@daily", Some("0 0 * * *")));
        assert_eq!(ok("@Hourly"), preset("@hourly", Some("0 * * * *")));
        assert_eq!(ok("@MIDNIGHT"), preset("@midnight", Some("0 0 * * *")));
        assert_eq!(ok("@Weekly"), preset("@weekly", Some("0 0 * * 0")));
        assert_eq!(ok("@monthLY"), preset("@monthly", Some("0 0 1 * *")));
        assert_eq!(ok("@YEARLY"), preset("@yearly", Some("0 0 1 1 *")));
        assert_eq!(ok("@Annually"), preset("@annually", Some("0 0 1 1 *")));
        assert_eq!(ok("  @daily\n"), preset("@daily", Some("0 0 * * *")));
    }

    #[test]
    fn airflow_only_presets_must_be_lowercase() {
        err_has("@ONCE", &["'@ONCE'", "lowercase", "'@once'"]);
        err_has("@Continuous", &["'@continuous'"]);
        err_has("@QUARTERLY", &["'@quarterly'"]);
    }

    #[test]
    fn unknown_preset_lists_the_presets() {
        err_has(
            "@reboot",
            &[
                "'@reboot' is not a preset",
                "@once",
                "@quarterly",
                "@annually",
            ],
        );
        err_has("@", &["'@' is not a preset"]);
        err_has("@daily 0", &["'@daily 0' is not a preset"]);
        err_has("@dailé", &["'@dailé' is not a preset"]);
    }

    #[test]
    fn typical_valid_expressions() {
        for s in [
            "0 6 * * *",
            "*/30 * * * *",
            "0 0 * * mon-fri",
            "0 12 1,15 * *",
            "0 0 L * *",
            "0 0 * * L5",
            "0 0 * * 1#2",
            "0 0 1 jan,jul *",
            "0 0 ? * *",
            "0 0 * * ?",
            "* * * * *",
            "59 23 31 12 7",
            "0 0 1 1 0",
            "5/15 * * * *",
            "0-30/10 9-17 * * 1-5",
            "0 0 * JAN-MAR *",
            "0 0 * * MON-FRI",
            "0 0 * * Sat,Sun",
            "0 0 * * fri-sun",
            "0 0 * * 0-7",
            "0 0 * * 5-7",
            "0 0 1-L * *",
            "0 0 1-L/2 * *",
            "0 0 1,L * *",
            "0 0 l * *",
            "0 0 * * l5",
            "0 0 * * L0",
            "0 0 * * L7",
            "0 0 * * fri#2",
            "0 0 * * 7#1",
            "0 0 * * 1#5",
            "0 0 * * 1#1,1#3",
            "0 0 * * 1#2,L5",
            "0 0 * * *,1#2",
            "0 0 * * 1,1#1",
            "0 0 * * 0-6,L5",
            "0 0 * jan/2 *",
            "0 0 * * mon/2",
            "*/60 * * * *",
            "*/99999999999999999999 * * * *",
            "00 00 01 01 00",
            "1-1 * * * *",
        ] {
            cron(s);
        }
    }

    #[test]
    fn whitespace_is_normalised() {
        assert_eq!(cron("  0\t6  *   * *\n"), "0 6 * * *");
        assert_eq!(cron("0 0 * * MON-FRI"), "0 0 * * MON-FRI");
    }

    #[test]
    fn wrong_field_count() {
        err_has(
            "0 0 * *",
            &[
                "a cron expression has 5 fields (minute hour day-of-month month day-of-week), or 6",
                "this one has 4",
            ],
        );
        // Six fields are EventBridge's form, which needs '?' in one day field.
        err_has("0 0 * * * *", &["EventBridge", "'?' in one of them"]);
        err_has("0 0 * * * * 2025", &["this one has 7"]);
        err_has("daily", &["this one has 1", "'@daily'"]);
    }

    #[test]
    fn empty_and_blank() {
        err_has("", &["empty", "@daily", "5 fields"]);
        err_has("   \t\n ", &["empty"]);
    }

    #[test]
    fn out_of_range_in_each_field() {
        err_has("60 * * * *", &["field 1 (minute) has 60, outside 0-59"]);
        assert_eq!(err("0 24 * * *"), "field 2 (hour) has 24, outside 0-23");
        err_has("0 0 0 * *", &["field 3 (day-of-month) has 0, outside 1-31"]);
        err_has(
            "0 0 32 * *",
            &["field 3 (day-of-month) has 32, outside 1-31"],
        );
        err_has(
            "0 0 * 0 *",
            &["field 4 (month) has 0, outside 1-12", "jan-dec"],
        );
        err_has("0 0 * 13 *", &["field 4 (month) has 13, outside 1-12"]);
        err_has(
            "0 0 * * 8",
            &["field 5 (day-of-week) has 8, outside 0-7", "sun-sat"],
        );
    }

    #[test]
    fn out_of_range_inside_ranges_lists_and_steps() {
        err_has(
            "50-60 * * * *",
            &["field 1 (minute) has 60 in '50-60', outside 0-59"],
        );
        err_has("0 1,2,25 * * *", &["field 2 (hour) has 25, outside 0-23"]);
        err_has(
            "0 0 0-5 * *",
            &["field 3 (day-of-month) has 0 in '0-5', outside 1-31"],
        );
        err_has("0 0 * 0-3 *", &["field 4 (month) has 0 in '0-3'"]);
        err_has(
            "99/5 * * * *",
            &["field 1 (minute) has 99 in '99/5', outside 0-59"],
        );
        err_has(
            "0 0 * * L8",
            &["field 5 (day-of-week) has 8 in 'L8', outside 0-7"],
        );
        err_has(
            "0 0 * * 8#1",
            &["field 5 (day-of-week) has 8 in '8#1', outside 0-7"],
        );
    }

    #[test]
    fn overflowing_numbers() {
        err_has(
            "99999999999999999999 * * * *",
            &["field 1 (minute) has 99999999999999999999, outside 0-59"],
        );
        err_has(
            "0 0 * * 1#99999999999999999999",
            &["field 5 (day-of-week)", "'1#99999999999999999999'", "1-5"],
        );
        err_has(
            "0 0 1-99999999999999999999999999 * *",
            &["field 3 (day-of-month) has 99999999999999999999999999 in"],
        );
        err_has("0 0 * * L18446744073709551616", &["outside 0-7"]);
    }

    #[test]
    fn reversed_ranges_wrap_round_as_in_croniter() {
        for expr in [
            "0 22-2 * * *",
            "0 0 * * fri-mon",
            "0 0 * dec-jan *",
            "0 0 31-1 * *",
        ] {
            assert_eq!(
                parse_schedule(expr),
                Ok(Schedule::Cron(expr.to_owned())),
                "{expr}"
            );
        }
    }

    #[test]
    fn bad_steps() {
        err_has(
            "*/0 * * * *",
            &["field 1 (minute) has '*/0', whose step is 0", "1 or more"],
        );
        err_has("0/0 * * * *", &["whose step is 0"]);
        err_has(
            "0 * * * 1-5/0",
            &["field 5 (day-of-week) has '1-5/0', whose step is 0"],
        );
        err_has("*/ * * * *", &["no step after '/'"]);
        err_has("*/x * * * *", &["step 'x' is not a whole number"]);
        err_has("*/-1 * * * *", &["step '-1' is not a whole number"]);
        err_has("*/5/2 * * * *", &["more than one '/'"]);
        err_has("/5 * * * *", &["nothing before '/'"]);
    }

    #[test]
    fn bad_names() {
        err_has(
            "0 0 * foo *",
            &[
                "field 4 (month) has 'foo', which is not a number or a month name",
                "jan-dec",
            ],
        );
        err_has("0 0 * january *", &["'january'"]);
        err_has(
            "0 0 * * funday",
            &["field 5 (day-of-week) has 'funday'", "weekday name"],
        );
        err_has("0 0 * * jan", &["field 5 (day-of-week) has 'jan'"]);
        err_has("0 0 * * jul", &["field 5 (day-of-week) has 'jul'"]);
        err_has("0 0 * mon *", &["field 4 (month) has 'mon'"]);
        err_has(
            "0 0 mon * *",
            &["field 3 (day-of-month) has 'mon', which is not a number; use 1-31"],
        );
        err_has("0 jan * * *", &["field 2 (hour) has 'jan'"]);
        err_has(
            "0 0 * jan-foo *",
            &["field 4 (month) has 'foo' in 'jan-foo'"],
        );
    }

    #[test]
    fn garbage() {
        err_has(
            "a b c d e",
            &["field 1 (minute) has 'a', which is not a number; use 0-59"],
        );
        err_has(
            "0 0 * * ? garbage",
            &["EventBridge", "field 6 (year) has 'garbage'"],
        );
        err_has("not a cron", &["this one has 3"]);
        err_has("*-5 * * * *", &["has '*' in '*-5'"]);
        err_has("+5 * * * *", &["'+5'"]);
        err_has("1.5 * * * *", &["'1.5'"]);
        err_has("H * * * *", &["'H'"]);
        err_has("0 0 15W * *", &["'W'"]);
        err_has("0 0 LW * *", &["'W'"]);
        err_has("５ * * * *", &["field 1 (minute) has '５'"]);
        err_has("0 0 * * é", &["field 5 (day-of-week) has 'é'"]);
        err_has("0 0 * * 日", &["'日'"]);
    }

    #[test]
    fn empty_items_and_incomplete_ranges() {
        err_has(
            "1,,2 * * * *",
            &["field 1 (minute) has '1,,2', which has an empty item"],
        );
        err_has(",1 * * * *", &["empty item"]);
        err_has(
            "0 0 * * 1,",
            &["field 5 (day-of-week) has '1,', which has an empty item"],
        );
        err_has("1- * * * *", &["'1-', a range with no end"]);
        err_has("1-2-3 * * * *", &["more than one '-'"]);
        err_has("-5 * * * *", &["'-5'", "negative numbers are not allowed"]);
        err_has("-1-5 * * * *", &["negative numbers"]);
    }

    #[test]
    fn l_in_the_wrong_place() {
        err_has(
            "L * * * *",
            &[
                "field 1 (minute) has 'L'",
                "only allowed in field 3 (day-of-month)",
            ],
        );
        err_has("0 L * * *", &["field 2 (hour)"]);
        err_has(
            "0 0 * L *",
            &["field 4 (month) has 'L'", "field 3 (day-of-month)"],
        );
        err_has(
            "0 0 L-5 * *",
            &["field 3 (day-of-month) has 'L-5'", "'15-L'"],
        );
        err_has("0 0 L/2 * *", &["'L/2'", "cannot take a step"]);
        err_has("0 0 5L * *", &["field 3 (day-of-month) has '5L'"]);
        err_has("0 0 * * L", &["field 5 (day-of-week) has 'L'", "'L5'"]);
        err_has("0 0 * * Lfri", &["'Lfri'", "weekday number 0-7"]);
    }

    #[test]
    fn trailing_l_in_day_of_week_suggests_croniter_form() {
        err_has(
            "0 0 * * 5L",
            &["field 5 (day-of-week) has '5L'", "croniter", "'L5'"],
        );
        err_has("0 0 * * friL", &["'friL' as 'L5'"]);
        err_has("0 0 * * 9L", &["'9L'", "0-7"]);
    }

    #[test]
    fn nth_weekday() {
        err_has(
            "0 0 * * 1#6",
            &["field 5 (day-of-week) has '1#6'", "must be 1-5"],
        );
        err_has("0 0 * * 1#0", &["'1#0'", "1-5"]);
        err_has("0 0 * * 1#", &["'1#'", "occurrence 1-5"]);
        err_has("0 0 * * #1", &["'#1'", "no weekday before '#'"]);
        err_has("0 0 * * 1#x", &["'1#x'"]);
        err_has("0 0 * * mon-fri#2", &["'mon-fri#2'", "one weekday"]);
        err_has("0 0 * * 5#2/2", &["'5#2/2'"]);
        err_has("0 0 * * 1#2#3", &["'1#2#3'"]);
        err_has("0 0 * * jan#2", &["'jan' in 'jan#2'"]);
        err_has(
            "0 0 1#2 * *",
            &[
                "field 3 (day-of-month) has '1#2'",
                "only allowed in field 5",
            ],
        );
    }

    #[test]
    fn nth_weekday_cannot_mix_with_plain_weekdays() {
        err_has(
            "0 0 * * 1#2,3",
            &["field 5 (day-of-week) has '1#2,3'", "mixes"],
        );
        err_has("0 0 * * L5,1", &["mixes"]);
        err_has("0 0 * * 1-5,1#2", &["mixes"]);
        err_has("0 0 * * *,2,1#2", &["mixes"]);
        // Croniter lets these through: nothing left once the nth weekdays are
        // removed, or the plain weekdays cover the whole week.
        cron("0 0 * * 5#1,5");
        cron("0 0 * * 0-7,L5");
        cron("0 0 * * 3-3,1#2");
    }

    #[test]
    fn question_mark() {
        err_has(
            "? * * * *",
            &["field 1 (minute) has '?'", "only allowed in field 3"],
        );
        err_has("0 0 * ? *", &["field 4 (month)"]);
        err_has(
            "0 0 ?,1 * *",
            &["field 3 (day-of-month) has '?,1'", "whole field"],
        );
        err_has("0 0 * * ?/2", &["field 5 (day-of-week)", "whole field"]);
        cron("0 0 ? * ?");
    }

    #[test]
    fn never_panics() {
        let alphabet = [
            "0",
            "1",
            "7",
            "9",
            "*",
            "?",
            "L",
            "l",
            "#",
            "/",
            "-",
            ",",
            "W",
            "a",
            "é",
            "99999999999999999999",
        ];
        for a in alphabet {
            for b in alphabet {
                for c in alphabet {
                    let tok = format!("{a}{b}{c}");
                    for s in [
                        format!("{tok} * * * *"),
                        format!("0 {tok} * * *"),
                        format!("0 0 {tok} * *"),
                        format!("0 0 * {tok} *"),
                        format!("0 0 * * {tok}"),
                        format!("@{tok}"),
                        tok.clone(),
                        format!("{tok} 0 * * ? *"),
                        format!("0 0 {tok} * ? *"),
                        format!("cron(0 0 ? * {tok} *)"),
                        format!("cron(0 0 ? {tok} MON 2030)"),
                        format!("0 0 * * ? {tok}"),
                        format!("rate({tok} minutes)"),
                        format!("at(2030-01-01T{tok})"),
                    ] {
                        match parse_schedule(&s) {
                            Err(e) => assert!(!e.is_empty()),
                            // Whatever it parses to, its next run is computed without panic.
                            Ok(schedule) => {
                                let now = Timestamp::UNIX_EPOCH;
                                let _ = schedule.next_runs(now, None, None, &TimeZone::UTC, 1);
                            }
                        }
                    }
                }
            }
        }
    }
}
