//! Python 3.11 compatible formatting of values.
//!
//! Airflow renders its templates with Jinja on CPython, so every number and string that reaches a
//! rendered field went through one of CPython's formatting routines. This module reproduces those
//! routines byte for byte, independently of the template engine:
//!
//! * `repr(float)` / `str(float)` (shortest round-trip digits): [`float_repr`].
//! * `round(float, ndigits)` (correctly rounded, half-even on the exact binary value):
//!   [`py_round`].
//! * `repr(str)`: [`str_repr`].
//! * `str % args` (printf-style formatting): [`percent_format`].
//! * `str.format(*args, **kwargs)`: [`str_format`].
//! * `format(value, spec)`, the format-spec mini-language: [`format_value`].
//!
//! Errors are returned as the text Python's exception would carry (`str(exc)`), e.g.
//! `"not enough arguments for format string"`. A missing key is reported like Python's
//! `KeyError`, whose text is the `repr` of the key (`'name'`). Output too large to allocate
//! (say a width of `9223372036854775807`) gives `"MemoryError"` where CPython raises an empty
//! `MemoryError`, rather than aborting the process.
//!
//! The digit generation does not depend on the platform's `printf`: the shortest representation
//! comes from Rust's own shortest round-trip formatter, and every fixed-precision conversion is done
//! on the exact decimal expansion of the binary value, rounded half-to-even exactly as David Gay's
//! `dtoa` (used by CPython) does.

use std::borrow::Cow;
use std::fmt::Write as _;

// ---------------------------------------------------------------------------------------------
// Values
// ---------------------------------------------------------------------------------------------

/// A value to format, standing for the Python object the template engine holds.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum FmtArg {
    /// Python `None`.
    None,
    /// A Python `bool`; formats as `True`/`False`, and as `1`/`0` wherever an `int` is expected.
    Bool(bool),
    /// A Python `int` (limited to the `i64` range).
    Int(i64),
    /// A Python `float`.
    Float(f64),
    /// A Python `str`.
    Str(String),
    /// Any other object, given by its `str()` and `repr()`.
    ///
    /// It is not a number: numeric conversions reject it, and `format()` accepts only an empty
    /// spec or `s` for it. Its type name in error messages is `object`.
    Other {
        /// `str(obj)`.
        str: String,
        /// `repr(obj)`.
        repr: String,
    },
}

impl FmtArg {
    /// Python's `str(value)`.
    pub(crate) fn py_str(&self) -> Cow<'_, str> {
        match self {
            FmtArg::None => Cow::Borrowed("None"),
            FmtArg::Bool(true) => Cow::Borrowed("True"),
            FmtArg::Bool(false) => Cow::Borrowed("False"),
            FmtArg::Int(i) => Cow::Owned(i.to_string()),
            FmtArg::Float(f) => Cow::Owned(float_repr(*f)),
            FmtArg::Str(s) => Cow::Borrowed(s),
            FmtArg::Other { str, .. } => Cow::Borrowed(str),
        }
    }

    /// Python's `repr(value)`.
    pub(crate) fn py_repr(&self) -> Cow<'_, str> {
        match self {
            FmtArg::Str(s) => Cow::Owned(str_repr(s)),
            FmtArg::Other { repr, .. } => Cow::Borrowed(repr),
            other => other.py_str(),
        }
    }

    /// Python's `ascii(value)`: the `repr` with every non-ASCII character backslash-escaped.
    pub(crate) fn py_ascii(&self) -> String {
        ascii_escape(&self.py_repr())
    }

    /// The Python type name used in error messages (`NoneType`, `bool`, `int`, `float`, `str`,
    /// and `object` for [`FmtArg::Other`]).
    pub(crate) fn type_name(&self) -> &'static str {
        match self {
            FmtArg::None => "NoneType",
            FmtArg::Bool(_) => "bool",
            FmtArg::Int(_) => "int",
            FmtArg::Float(_) => "float",
            FmtArg::Str(_) => "str",
            FmtArg::Other { .. } => "object",
        }
    }
}

/// The right-hand operand of `str % args`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum PercentArgs {
    /// A tuple: each conversion consumes the next item.
    Tuple(Vec<FmtArg>),
    /// Any single object that is neither a tuple nor a mapping: it is the only argument.
    Single(FmtArg),
    /// A mapping (a `dict`), looked up by `%(name)s`. A conversion without a key formats the
    /// mapping itself (as its `repr`), and unused entries are no error, as in Python. When a key
    /// occurs twice, the last entry wins.
    Mapping(Vec<(String, FmtArg)>),
}

// ---------------------------------------------------------------------------------------------
// repr(str) and ascii()
// ---------------------------------------------------------------------------------------------

/// Python's `repr(str)`.
///
/// The quote is `'` unless the string contains `'` and no `"`. Backslash, the quote, `\t`, `\n`
/// and `\r` are escaped; other non-printable characters become `\xNN`, `\uNNNN` or `\UNNNNNNNN`;
/// printable non-ASCII characters are kept (printability as in Python 3.11, Unicode 14.0).
pub(crate) fn str_repr(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if c < ' ' || c == '\x7f' => push_hex_escape(&mut out, c),
            c if c.is_ascii() => out.push(c),
            c if is_printable(c) => out.push(c),
            c => push_hex_escape(&mut out, c),
        }
    }
    out.push(quote);
    out
}

/// Escapes every non-ASCII character as Python's `backslashreplace` error handler does.
fn ascii_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            push_hex_escape(&mut out, c);
        }
    }
    out
}

/// Appends `\xNN`, `\uNNNN` or `\UNNNNNNNN` (lowercase hex digits) for `c`.
fn push_hex_escape(out: &mut String, c: char) {
    let cp = u32::from(c);
    // Writing to a String cannot fail.
    let _ = if cp <= 0xff {
        write!(out, "\\x{cp:02x}")
    } else if cp <= 0xffff {
        write!(out, "\\u{cp:04x}")
    } else {
        write!(out, "\\U{cp:08x}")
    };
}

/// Python's `str.isprintable()` for one character (Unicode 14.0, as in CPython 3.11).
fn is_printable(c: char) -> bool {
    let cp = u32::from(c);
    if (0x20..0x7f).contains(&cp) {
        return true;
    }
    NON_PRINTABLE
        .binary_search_by(|&(lo, hi)| {
            if hi < cp {
                std::cmp::Ordering::Less
            } else if lo > cp {
                std::cmp::Ordering::Greater
            } else {
                std::cmp::Ordering::Equal
            }
        })
        .is_err()
}

// ---------------------------------------------------------------------------------------------
// Decimal digits of a double
// ---------------------------------------------------------------------------------------------

/// A little-endian big natural number in base 10^9, just enough for exact float expansion.
struct BigDec(Vec<u32>);

const BIG_BASE: u64 = 1_000_000_000;

impl BigDec {
    fn from_u64(mut v: u64) -> Self {
        let mut limbs = Vec::with_capacity(4);
        while v > 0 {
            limbs.push((v % BIG_BASE) as u32);
            v /= BIG_BASE;
        }
        BigDec(limbs)
    }

    fn mul_small(&mut self, x: u32) {
        let mut carry = 0u64;
        for limb in &mut self.0 {
            let v = u64::from(*limb) * u64::from(x) + carry;
            *limb = (v % BIG_BASE) as u32;
            carry = v / BIG_BASE;
        }
        while carry > 0 {
            self.0.push((carry % BIG_BASE) as u32);
            carry /= BIG_BASE;
        }
    }

    fn mul_pow(&mut self, base: u32, chunk: u32, chunk_value: u32, mut exp: u32) {
        while exp >= chunk {
            self.mul_small(chunk_value);
            exp -= chunk;
        }
        if exp > 0 {
            self.mul_small(base.pow(exp));
        }
    }

    /// The decimal digits (values 0..=9), most significant first, without leading zeros.
    fn digits(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.0.len() * 9);
        let mut iter = self.0.iter().rev();
        if let Some(top) = iter.next() {
            out.extend(top.to_string().bytes().map(|b| b - b'0'));
        }
        for limb in iter {
            let mut v = *limb;
            let mut chunk = [0u8; 9];
            for slot in chunk.iter_mut().rev() {
                *slot = (v % 10) as u8;
                v /= 10;
            }
            out.extend_from_slice(&chunk);
        }
        out
    }
}

/// Digits of a finite non-negative double: `value = 0.d1d2d3... * 10^decpt`.
///
/// `digits` holds values 0..=9 without trailing zeros; zero is `[0]` with `decpt == 1` (as in
/// Gay's `dtoa`). An empty `digits` means "rounded to zero" (fixed-point mode only).
struct Digits {
    digits: Vec<u8>,
    decpt: i64,
}

/// `f == mant * 2^exp` with `mant` odd (or zero), for a finite non-negative double.
fn binary_parts(f: f64) -> (u64, i64) {
    let bits = f.to_bits();
    let biased = ((bits >> 52) & 0x7ff) as i64;
    let frac = bits & ((1u64 << 52) - 1);
    let (mant, exp) = if biased == 0 {
        (frac, -1074i64)
    } else {
        (frac | (1u64 << 52), biased - 1075)
    };
    if mant == 0 {
        return (0, 0);
    }
    let tz = mant.trailing_zeros();
    (mant >> tz, exp + i64::from(tz))
}

/// The exact decimal expansion of a finite, positive double.
fn exact_digits(f: f64) -> Digits {
    let (mant, exp) = binary_parts(f);
    if mant == 0 {
        return Digits {
            digits: vec![0],
            decpt: 1,
        };
    }
    let mut big = BigDec::from_u64(mant);
    let mut shift = 0i64;
    if exp >= 0 {
        // 2^31 < 2^32; each limb stays below 10^9 * 2^31 + carry < 2^64.
        big.mul_pow(2, 31, 1 << 31, exp as u32);
    } else {
        // value = mant * 5^k / 10^k; 5^13 = 1_220_703_125 < 2^32.
        big.mul_pow(5, 13, 1_220_703_125, (-exp) as u32);
        shift = -exp;
    }
    let mut digits = big.digits();
    let decpt = digits.len() as i64 - shift;
    while digits.last() == Some(&0) {
        digits.pop();
    }
    Digits { digits, decpt }
}

/// Rounds `d` to its first `keep` digits, half to even on the exact value. `None` when the
/// result is zero.
fn round_digits(d: Digits, keep: i64) -> Option<Digits> {
    let len = d.digits.len() as i64;
    if keep >= len {
        return Some(d);
    }
    if keep < 0 {
        return None;
    }
    let k = keep as usize;
    let first_dropped = d.digits[k];
    // Digits carry no trailing zeros, so anything after the first dropped digit is non-zero.
    let round_up = first_dropped > 5
        || (first_dropped == 5 && (d.digits.len() > k + 1 || (k > 0 && d.digits[k - 1] % 2 == 1)));
    let mut digits = d.digits;
    digits.truncate(k);
    let mut decpt = d.decpt;
    if round_up {
        let mut i = digits.len();
        loop {
            if i == 0 {
                digits.insert(0, 1);
                decpt += 1;
                break;
            }
            i -= 1;
            if digits[i] == 9 {
                digits[i] = 0;
            } else {
                digits[i] += 1;
                break;
            }
        }
    }
    while digits.last() == Some(&0) {
        digits.pop();
    }
    if digits.is_empty() {
        None
    } else {
        Some(Digits { digits, decpt })
    }
}

/// `dtoa` mode 0: the shortest digits that round-trip (positive finite or zero `f`); among
/// candidates of that length the nearest to `f`, and of two equally near the even one.
fn shortest_digits(f: f64) -> Digits {
    if f == 0.0 {
        return Digits {
            digits: vec![0],
            decpt: 1,
        };
    }
    // Rust's `{:e}` prints the shortest round-trip digits, e.g. `1.2345e-5`, but breaks an
    // exact tie between two shortest candidates upwards where `dtoa` picks the even one.
    let s = format!("{f:e}");
    let (mantissa, exponent) = s.split_once('e').unwrap_or((s.as_str(), "0"));
    let exponent: i64 = exponent.parse().unwrap_or(0);
    let mut digits: Vec<u8> = mantissa
        .bytes()
        .filter(u8::is_ascii_digit)
        .map(|b| b - b'0')
        .collect();
    while digits.len() > 1 && digits.last() == Some(&0) {
        digits.pop();
    }
    let shortest = Digits {
        digits,
        decpt: exponent + 1,
    };
    // A tie needs the exact expansion to be one digit longer than the shortest, which only
    // happens at the limit of a double's precision (15 or more significant digits). With
    // `f = mant * 2^exp`, `mant` odd and `exp < 0`, the exact expansion ends exactly `-exp`
    // places after the point, so its length is known without computing it (its `decpt` is the
    // shortest's, or one less when the shortest rounded up to a power of ten).
    let n = shortest.digits.len() as i64;
    let (_, exp) = binary_parts(f);
    let may_tie =
        n >= 15 && (exp >= 0 || shortest.decpt - exp == n + 1 || shortest.decpt - 1 - exp == n + 1);
    if may_tie
        && let Some(nearest) = round_digits(exact_digits(f), shortest.digits.len() as i64)
        && (nearest.digits != shortest.digits || nearest.decpt != shortest.decpt)
        && digits_value(&nearest) == f
    {
        return nearest;
    }
    shortest
}

/// The double nearest to `0.d1d2... * 10^decpt`.
fn digits_value(d: &Digits) -> f64 {
    let mut text = String::with_capacity(d.digits.len() + 24);
    text.push_str("0.");
    push_digits(&mut text, &d.digits);
    let _ = write!(text, "e{}", d.decpt);
    text.parse().unwrap_or(f64::NAN)
}

/// `dtoa` mode 2: at most `ndigits` (>= 1) significant digits, correctly rounded.
fn significant_digits(f: f64, ndigits: i64) -> Digits {
    if f == 0.0 {
        return Digits {
            digits: vec![0],
            decpt: 1,
        };
    }
    let d = exact_digits(f);
    round_digits(d, ndigits.max(1)).unwrap_or(Digits {
        digits: vec![0],
        decpt: 1,
    })
}

/// `dtoa` mode 3: rounded to `ndigits` digits after the decimal point (may be negative).
/// A result of zero is an empty digit string with `decpt == -ndigits`, as in `dtoa`.
fn fixed_digits(f: f64, ndigits: i64) -> Digits {
    if f == 0.0 {
        return Digits {
            digits: vec![0],
            decpt: 1,
        };
    }
    let d = exact_digits(f);
    let keep = d.decpt + ndigits;
    round_digits(d, keep).unwrap_or(Digits {
        digits: Vec::new(),
        decpt: -ndigits,
    })
}

/// The error for output too large to allocate (Python raises a `MemoryError`).
const MEMORY_ERROR: &str = "MemoryError";

/// Appends `n` copies of `c` (nothing when `n <= 0`), failing instead of aborting when the
/// memory cannot be had (e.g. a width of `9223372036854775807`).
fn push_repeat(out: &mut String, c: char, n: i64) -> Result<(), String> {
    if n <= 0 {
        return Ok(());
    }
    let count = usize::try_from(n).map_err(|_| MEMORY_ERROR.to_string())?;
    let bytes = count
        .checked_mul(c.len_utf8())
        .ok_or_else(|| MEMORY_ERROR.to_string())?;
    out.try_reserve(bytes)
        .map_err(|_| MEMORY_ERROR.to_string())?;
    out.extend(std::iter::repeat_n(c, count));
    Ok(())
}

fn push_digits(out: &mut String, digits: &[u8]) {
    out.extend(digits.iter().map(|d| char::from(b'0' + d)));
}

/// Flags of CPython's `PyOS_double_to_string`.
#[derive(Clone, Copy, Default)]
struct DtoaFlags {
    /// `Py_DTSF_ALT`: keep the decimal point and trailing zeros.
    alt: bool,
    /// `Py_DTSF_ADD_DOT_0`: add `.0` to integral values.
    add_dot_0: bool,
    /// `Py_DTSF_NO_NEG_0`: drop the sign of a (rounded) negative zero.
    no_neg_0: bool,
}

/// CPython's `PyOS_double_to_string(val, format_code, precision, flags)`, where `format_code` is
/// one of `e E f F g G r`.
fn double_to_string(
    val: f64,
    format_code: char,
    precision: i64,
    flags: DtoaFlags,
) -> Result<String, String> {
    let upper = format_code.is_ascii_uppercase();
    let (code, precision) = match format_code {
        'e' | 'E' => ('e', precision + 1),
        'f' | 'F' => ('f', precision),
        'g' | 'G' => ('g', if precision == 0 { 1 } else { precision }),
        _ => ('r', 0),
    };
    format_float_short(val, code, precision, flags, upper)
}

/// CPython's `format_float_short` (Python/pystrtod.c).
fn format_float_short(
    d: f64,
    code: char,
    precision: i64,
    flags: DtoaFlags,
    upper: bool,
) -> Result<String, String> {
    if d.is_nan() {
        return Ok(if upper { "NAN" } else { "nan" }.to_string());
    }
    let mut negative = d.is_sign_negative();
    if d.is_infinite() {
        let body = if upper { "INF" } else { "inf" };
        return Ok(if negative {
            format!("-{body}")
        } else {
            body.to_string()
        });
    }
    let magnitude = d.abs();
    let Digits { digits, decpt } = match code {
        'r' => shortest_digits(magnitude),
        'f' => fixed_digits(magnitude, precision),
        _ => significant_digits(magnitude, precision),
    };
    if flags.no_neg_0 && negative && (digits.is_empty() || digits == [0]) {
        negative = false;
    }
    let digits_len = digits.len() as i64;
    let mut decpt = decpt;
    let mut vdigits_end = digits_len;
    let mut use_exp = false;
    match code {
        'e' => {
            use_exp = true;
            vdigits_end = precision;
        }
        'f' => vdigits_end = decpt + precision,
        'g' => {
            let limit = if flags.add_dot_0 {
                precision - 1
            } else {
                precision
            };
            if decpt <= -4 || decpt > limit {
                use_exp = true;
            }
            if flags.alt {
                vdigits_end = precision;
            }
        }
        _ => {
            if decpt <= -4 || decpt > 16 {
                use_exp = true;
            }
        }
    }
    let mut exp = 0;
    if use_exp {
        exp = decpt - 1;
        decpt = 1;
    }
    let vdigits_start = if decpt <= 0 { decpt - 1 } else { 0 };
    if !use_exp && flags.add_dot_0 {
        vdigits_end = vdigits_end.max(decpt + 1);
    } else {
        vdigits_end = vdigits_end.max(decpt);
    }

    let mut out = String::with_capacity(24);
    if negative {
        out.push('-');
    }
    if decpt <= 0 {
        push_repeat(&mut out, '0', decpt - vdigits_start)?;
        out.push('.');
        push_repeat(&mut out, '0', -decpt)?;
    } else {
        push_repeat(&mut out, '0', -vdigits_start)?;
    }
    if 0 < decpt && decpt <= digits_len {
        let split = decpt as usize;
        push_digits(&mut out, &digits[..split]);
        out.push('.');
        push_digits(&mut out, &digits[split..]);
    } else {
        push_digits(&mut out, &digits);
    }
    if digits_len < decpt {
        push_repeat(&mut out, '0', decpt - digits_len)?;
        out.push('.');
        push_repeat(&mut out, '0', vdigits_end - decpt)?;
    } else {
        push_repeat(&mut out, '0', vdigits_end - digits_len)?;
    }
    if out.ends_with('.') && !flags.alt {
        out.pop();
    }
    if use_exp {
        out.push(if upper { 'E' } else { 'e' });
        out.push(if exp < 0 { '-' } else { '+' });
        let _ = write!(out, "{:02}", exp.unsigned_abs());
    }
    Ok(out)
}

/// Python's `repr(float)` (also `str(float)`).
///
/// Shortest digits that round-trip; fixed notation with at least one digit after the point
/// (`1.0`) when the decimal exponent is in `-4..16`, otherwise exponent notation (`1e+16`,
/// `1.5e-05`); `inf`, `-inf`, `nan`.
pub(crate) fn float_repr(f: f64) -> String {
    format_float_short(
        f,
        'r',
        0,
        DtoaFlags {
            add_dot_0: true,
            ..DtoaFlags::default()
        },
        false,
    )
    // Only precision-driven zero runs can fail, and `repr` has none beyond a few digits.
    .unwrap_or_default()
}

/// Python's `round(x, ndigits)` for a float.
///
/// Correctly rounded, half to even on the exact binary value (`round(2.675, 2) == 2.67`,
/// `round(0.5) == 0.0`); negative `ndigits` round to tens, hundreds, ...; `inf` and `nan` are
/// returned unchanged, as is `x` for `ndigits > 323`, and `ndigits < -308` gives a zero with the
/// sign of `x`. Where Python raises `OverflowError` ("rounded value too large to represent"),
/// this returns an infinity.
pub(crate) fn py_round(f: f64, ndigits: i32) -> f64 {
    const NDIGITS_MAX: i32 = 323;
    const NDIGITS_MIN: i32 = -308;
    if !f.is_finite() || ndigits > NDIGITS_MAX {
        return f;
    }
    if ndigits < NDIGITS_MIN {
        return 0.0 * f;
    }
    let Digits { digits, decpt } = fixed_digits(f.abs(), i64::from(ndigits));
    let mut text = String::with_capacity(digits.len() + 12);
    if f.is_sign_negative() {
        text.push('-');
    }
    text.push('0');
    push_digits(&mut text, &digits);
    let _ = write!(text, "e{}", decpt - digits.len() as i64);
    text.parse().unwrap_or(f)
}

// ---------------------------------------------------------------------------------------------
// Format-spec mini-language: format(value, spec)
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Thousands {
    None,
    Comma,
    Underscore,
    /// `_` with `b`, `o`, `x`, `X`: groups of four.
    UnderFour,
}

impl Thousands {
    fn grouping(self) -> Option<(char, i64)> {
        match self {
            Thousands::None => None,
            Thousands::Comma => Some((',', 3)),
            Thousands::Underscore => Some(('_', 3)),
            Thousands::UnderFour => Some(('_', 4)),
        }
    }

    fn separator(self) -> char {
        match self {
            Thousands::Comma => ',',
            _ => '_',
        }
    }
}

/// CPython's `InternalFormatSpec`.
struct Spec {
    fill: char,
    align: char,
    alternate: bool,
    no_neg_0: bool,
    sign: Option<char>,
    /// -1 when absent.
    width: i64,
    thousands: Thousands,
    /// -1 when absent.
    precision: i64,
    /// `'\0'` when absent and the type has no default.
    ty: char,
}

/// `get_integer` of Python/formatter_unicode.c: `(value, digits consumed)`.
fn spec_integer(c: &[char], pos: &mut usize) -> Result<(i64, usize), String> {
    let mut acc: i64 = 0;
    let mut consumed = 0;
    while let Some(d) = c.get(*pos).and_then(|ch| ch.to_digit(10)) {
        let d = i64::from(d);
        if acc > (i64::MAX - d) / 10 {
            return Err("Too many decimal digits in format string".to_string());
        }
        acc = acc * 10 + d;
        *pos += 1;
        consumed += 1;
    }
    Ok((acc, consumed))
}

fn char_code_text(c: char) -> String {
    let cp = u32::from(c);
    if cp > 32 && cp < 128 {
        c.to_string()
    } else {
        format!("\\x{cp:x}")
    }
}

fn unknown_code(ty: char, type_name: &str) -> String {
    format!(
        "Unknown format code '{}' for object of type '{type_name}'",
        char_code_text(ty)
    )
}

/// CPython 3.11's `parse_internal_render_format_spec`.
fn parse_spec(
    spec: &str,
    default_type: char,
    default_align: char,
    type_name: &str,
) -> Result<Spec, String> {
    let c: Vec<char> = spec.chars().collect();
    let end = c.len();
    let mut pos = 0usize;
    let is_align = |ch: char| matches!(ch, '<' | '>' | '=' | '^');
    let mut sp = Spec {
        fill: ' ',
        align: default_align,
        alternate: false,
        no_neg_0: false,
        sign: None,
        width: -1,
        thousands: Thousands::None,
        precision: -1,
        ty: default_type,
    };
    let mut fill_specified = false;
    let mut align_specified = false;
    if end >= 2 && is_align(c[1]) {
        sp.align = c[1];
        sp.fill = c[0];
        fill_specified = true;
        align_specified = true;
        pos = 2;
    } else if end >= 1 && is_align(c[0]) {
        sp.align = c[0];
        align_specified = true;
        pos = 1;
    }
    if pos < end && matches!(c[pos], ' ' | '+' | '-') {
        sp.sign = Some(c[pos]);
        pos += 1;
    }
    if pos < end && c[pos] == 'z' {
        sp.no_neg_0 = true;
        pos += 1;
    }
    if pos < end && c[pos] == '#' {
        sp.alternate = true;
        pos += 1;
    }
    if !fill_specified && pos < end && c[pos] == '0' {
        sp.fill = '0';
        if !align_specified && default_align == '>' {
            sp.align = '=';
        }
        pos += 1;
    }
    let (width, consumed) = spec_integer(&c, &mut pos)?;
    if consumed > 0 {
        sp.width = width;
    }
    if pos < end && c[pos] == ',' {
        sp.thousands = Thousands::Comma;
        pos += 1;
    }
    if pos < end && c[pos] == '_' {
        if sp.thousands != Thousands::None {
            return Err("Cannot specify both ',' and '_'.".to_string());
        }
        sp.thousands = Thousands::Underscore;
        pos += 1;
    }
    if pos < end && c[pos] == ',' && sp.thousands == Thousands::Underscore {
        return Err("Cannot specify both ',' and '_'.".to_string());
    }
    if pos < end && c[pos] == '.' {
        pos += 1;
        let (precision, consumed) = spec_integer(&c, &mut pos)?;
        if consumed == 0 {
            return Err("Format specifier missing precision".to_string());
        }
        sp.precision = precision;
    }
    if end - pos > 1 {
        return Err(format!(
            "Invalid format specifier '{spec}' for object of type '{type_name}'"
        ));
    }
    if end - pos == 1 {
        sp.ty = c[pos];
    }
    if sp.thousands != Thousands::None {
        match sp.ty {
            'd' | 'e' | 'f' | 'g' | 'E' | 'G' | '%' | 'F' | '\0' => {}
            'b' | 'o' | 'x' | 'X' if sp.thousands == Thousands::Underscore => {
                sp.thousands = Thousands::UnderFour;
            }
            ty => {
                return Err(format!(
                    "Cannot specify '{}' with '{}'.",
                    sp.thousands.separator(),
                    char_code_text(ty)
                ));
            }
        }
    }
    Ok(sp)
}

/// `_PyUnicode_InsertThousandsGrouping`: groups `digits` from the right, padding with zeros (and
/// separators) up to `min_width` characters.
fn group_digits(
    digits: &str,
    min_width: i64,
    grouping: Option<(char, i64)>,
) -> Result<String, String> {
    let digit_chars: Vec<char> = digits.chars().collect();
    let mut min_width = min_width.max(0);
    let mut remaining = digit_chars.len() as i64;
    let mut taken = digit_chars.len();
    let mut rev: Vec<char> = Vec::new();
    // Reserve up front (zero padding stops within a group past `min_width`), so that an
    // impossible width fails cleanly instead of aborting.
    let wanted = usize::try_from(min_width)
        .ok()
        .and_then(|w| w.checked_add(digit_chars.len() * 2 + 8));
    rev.try_reserve(wanted.unwrap_or(usize::MAX))
        .map_err(|_| MEMORY_ERROR.to_string())?;
    let mut use_separator = false;
    let mut emit = |len: i64, remaining: i64, use_sep: bool, taken: &mut usize, sep: char| {
        let n_zeros = (len - remaining).max(0);
        let n_chars = remaining.min(len).max(0);
        if use_sep {
            rev.push(sep);
        }
        for _ in 0..n_chars {
            *taken -= 1;
            rev.push(digit_chars[*taken]);
        }
        rev.extend(std::iter::repeat_n('0', n_zeros as usize));
        n_chars
    };
    let mut finished = false;
    let sep = grouping.map_or(',', |(s, _)| s);
    if let Some((_, group)) = grouping {
        loop {
            let len = group.min(remaining.max(min_width).max(1));
            let n_chars = emit(len, remaining, use_separator, &mut taken, sep);
            use_separator = true;
            remaining -= n_chars;
            min_width -= len;
            if remaining <= 0 && min_width <= 0 {
                finished = true;
                break;
            }
            min_width -= 1;
        }
    }
    if !finished {
        let len = remaining.max(min_width).max(1);
        emit(len, remaining, use_separator, &mut taken, sep);
    }
    Ok(rev.iter().rev().collect())
}

/// `calc_number_widths` + `fill_number`: lays out
/// `<lpad><sign><prefix><spad><grouped digits><.><remainder><rpad>`.
fn fill_number(
    sp: &Spec,
    negative: bool,
    prefix: &str,
    digits: &str,
    has_decimal: bool,
    remainder: &str,
    grouping: Option<(char, i64)>,
) -> Result<String, String> {
    let sign = match sp.sign {
        Some('+') => Some(if negative { '-' } else { '+' }),
        Some(' ') => Some(if negative { '-' } else { ' ' }),
        _ => negative.then_some('-'),
    };
    let n_sign = i64::from(sign.is_some());
    let n_prefix = prefix.chars().count() as i64;
    let n_remainder = remainder.chars().count() as i64;
    let non_digit = n_sign + n_prefix + i64::from(has_decimal) + n_remainder;
    let min_width = if sp.fill == '0' && sp.align == '=' {
        sp.width - non_digit
    } else {
        0
    };
    let grouped = if digits.is_empty() {
        String::new()
    } else {
        group_digits(digits, min_width, grouping)?
    };
    let n_padding = sp.width - (non_digit + grouped.chars().count() as i64);
    let (mut lpad, mut spad, mut rpad) = (0, 0, 0);
    if n_padding > 0 {
        match sp.align {
            '<' => rpad = n_padding,
            '^' => {
                lpad = n_padding / 2;
                rpad = n_padding - lpad;
            }
            '=' => spad = n_padding,
            _ => lpad = n_padding,
        }
    }
    let mut out = String::with_capacity(grouped.len() + remainder.len() + 8);
    push_repeat(&mut out, sp.fill, lpad)?;
    if let Some(sign) = sign {
        out.push(sign);
    }
    out.push_str(prefix);
    push_repeat(&mut out, sp.fill, spad)?;
    out.push_str(&grouped);
    if has_decimal {
        out.push('.');
    }
    out.push_str(remainder);
    push_repeat(&mut out, sp.fill, rpad)?;
    Ok(out)
}

/// `calc_padding` + `fill_padding` for strings.
fn pad_text(text: &str, nchars: i64, sp: &Spec) -> Result<String, String> {
    let total = if sp.width >= 0 {
        sp.width.max(nchars)
    } else {
        nchars
    };
    let lpad = match sp.align {
        '>' => total - nchars,
        '^' => (total - nchars) / 2,
        _ => 0,
    };
    let rpad = total - nchars - lpad;
    let mut out = String::with_capacity(text.len());
    push_repeat(&mut out, sp.fill, lpad)?;
    out.push_str(text);
    push_repeat(&mut out, sp.fill, rpad)?;
    Ok(out)
}

/// `format(str, spec)`.
fn format_str_spec(s: &str, spec: &str) -> Result<String, String> {
    if spec.is_empty() {
        return Ok(s.to_string());
    }
    let sp = parse_spec(spec, 's', '<', "str")?;
    if sp.ty != 's' {
        return Err(unknown_code(sp.ty, "str"));
    }
    match sp.sign {
        Some(' ') => return Err("Space not allowed in string format specifier".to_string()),
        Some(_) => return Err("Sign not allowed in string format specifier".to_string()),
        None => {}
    }
    if sp.no_neg_0 {
        return Err(
            "Negative zero coercion (z) not allowed in string format specifier".to_string(),
        );
    }
    if sp.alternate {
        return Err("Alternate form (#) not allowed in string format specifier".to_string());
    }
    if sp.align == '=' {
        return Err("'=' alignment not allowed in string format specifier".to_string());
    }
    let len = s.chars().count() as i64;
    let (text, nchars) = if sp.precision >= 0 && len > sp.precision {
        let cut = s
            .char_indices()
            .nth(sp.precision as usize)
            .map_or(s.len(), |(i, _)| i);
        (&s[..cut], sp.precision)
    } else {
        (s, len)
    };
    pad_text(text, nchars, &sp)
}

fn int_digits(magnitude: u64, ty: char) -> String {
    match ty {
        'b' => format!("{magnitude:b}"),
        'o' => format!("{magnitude:o}"),
        'x' => format!("{magnitude:x}"),
        'X' => format!("{magnitude:X}"),
        _ => magnitude.to_string(),
    }
}

fn char_from_code(v: i64) -> Result<char, String> {
    if !(0..=0x10ffff).contains(&v) {
        return Err("%c arg not in range(0x110000)".to_string());
    }
    u32::try_from(v)
        .ok()
        .and_then(char::from_u32)
        .ok_or_else(|| format!("character U+{v:04X} (a lone surrogate) cannot be represented"))
}

/// `format_long_internal` of Python/formatter_unicode.c.
fn format_long_internal(v: i64, sp: &Spec) -> Result<String, String> {
    if sp.precision != -1 {
        return Err("Precision not allowed in integer format specifier".to_string());
    }
    if sp.no_neg_0 {
        return Err(
            "Negative zero coercion (z) not allowed in integer format specifier".to_string(),
        );
    }
    if sp.ty == 'c' {
        if sp.sign.is_some() {
            return Err("Sign not allowed with integer format specifier 'c'".to_string());
        }
        if sp.alternate {
            return Err(
                "Alternate form (#) not allowed with integer format specifier 'c'".to_string(),
            );
        }
        let ch = char_from_code(v)?;
        return fill_number(sp, false, "", "", false, &ch.to_string(), None);
    }
    let prefix = match (sp.alternate, sp.ty) {
        (true, 'b') => "0b",
        (true, 'o') => "0o",
        (true, 'x') => "0x",
        (true, 'X') => "0X",
        _ => "",
    };
    let digits = int_digits(v.unsigned_abs(), sp.ty);
    let grouping = if sp.ty == 'n' {
        None
    } else {
        sp.thousands.grouping()
    };
    fill_number(sp, v < 0, prefix, &digits, false, "", grouping)
}

/// `format_float_internal` of Python/formatter_unicode.c (3.11).
fn format_float_internal(val: f64, sp: &Spec) -> Result<String, String> {
    if sp.precision > i64::from(i32::MAX) {
        return Err("precision too big".to_string());
    }
    let mut flags = DtoaFlags {
        alt: sp.alternate,
        add_dot_0: false,
        no_neg_0: sp.no_neg_0,
    };
    let mut ty = sp.ty;
    let mut default_precision = 6;
    if ty == '\0' {
        flags.add_dot_0 = true;
        ty = 'r';
        default_precision = 0;
    }
    if ty == 'n' {
        ty = 'g';
    }
    let mut val = val;
    let mut add_pct = false;
    if ty == '%' {
        ty = 'f';
        val *= 100.0;
        add_pct = true;
    }
    let precision = if sp.precision < 0 {
        default_precision
    } else {
        if ty == 'r' {
            ty = 'g';
        }
        sp.precision
    };
    let mut buf = double_to_string(val, ty, precision, flags)?;
    if add_pct {
        buf.push('%');
    }
    let (negative, body) = match buf.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, buf.as_str()),
    };
    let n_int = body.bytes().take_while(u8::is_ascii_digit).count();
    let (digits, rest) = body.split_at(n_int);
    let (has_decimal, remainder) = match rest.strip_prefix('.') {
        Some(r) => (true, r),
        None => (false, rest),
    };
    let grouping = if sp.ty == 'n' {
        None
    } else {
        sp.thousands.grouping()
    };
    fill_number(sp, negative, "", digits, has_decimal, remainder, grouping)
}

/// `int.__format__` (also for `bool`, whose empty spec is handled by the caller).
fn format_int_spec(v: i64, spec: &str, type_name: &str) -> Result<String, String> {
    let sp = parse_spec(spec, 'd', '>', type_name)?;
    match sp.ty {
        'b' | 'c' | 'd' | 'o' | 'x' | 'X' | 'n' => format_long_internal(v, &sp),
        'e' | 'E' | 'f' | 'F' | 'g' | 'G' | '%' => format_float_internal(v as f64, &sp),
        ty => Err(unknown_code(ty, type_name)),
    }
}

/// `float.__format__`.
fn format_float_spec(v: f64, spec: &str) -> Result<String, String> {
    let sp = parse_spec(spec, '\0', '>', "float")?;
    match sp.ty {
        '\0' | 'e' | 'E' | 'f' | 'F' | 'g' | 'G' | 'n' | '%' => format_float_internal(v, &sp),
        ty => Err(unknown_code(ty, "float")),
    }
}

/// Python's `format(value, spec)`, i.e. `type(value).__format__(value, spec)`.
///
/// Implements the mini-language `[[fill]align][sign][z][#][0][width][grouping][.precision][type]`
/// for `int`/`bool` (`b c d o x X n`, and the float types after conversion), `float`
/// (`e E f F g G n %` and no type) and `str` (`s`). An empty spec gives `str(value)`. `None`
/// accepts only the empty spec; [`FmtArg::Other`] accepts the empty spec and `s`. The `n` type
/// behaves as in the C locale (no grouping), which is CPython's default. Width and precision
/// digits must be ASCII.
pub(crate) fn format_value(arg: &FmtArg, spec: &str) -> Result<String, String> {
    match arg {
        FmtArg::None => {
            if spec.is_empty() {
                Ok("None".to_string())
            } else {
                Err("unsupported format string passed to NoneType.__format__".to_string())
            }
        }
        FmtArg::Bool(b) => {
            if spec.is_empty() {
                Ok(arg.py_str().into_owned())
            } else {
                format_int_spec(i64::from(*b), spec, "bool")
            }
        }
        FmtArg::Int(i) => {
            if spec.is_empty() {
                Ok(i.to_string())
            } else {
                format_int_spec(*i, spec, "int")
            }
        }
        FmtArg::Float(f) => {
            if spec.is_empty() {
                Ok(float_repr(*f))
            } else {
                format_float_spec(*f, spec)
            }
        }
        FmtArg::Str(s) => format_str_spec(s, spec),
        FmtArg::Other { str, .. } => {
            if spec.is_empty() || spec == "s" {
                Ok(str.clone())
            } else {
                Err("unsupported format string passed to object.__format__".to_string())
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// printf-style formatting: str % args
// ---------------------------------------------------------------------------------------------

const NOT_ENOUGH_ARGS: &str = "not enough arguments for format string";
const NOT_ALL_CONVERTED: &str = "not all arguments converted during string formatting";

const F_LJUST: u8 = 1;
const F_SIGN: u8 = 2;
const F_BLANK: u8 = 4;
const F_ALT: u8 = 8;
const F_ZERO: u8 = 16;

/// One argument of `%` formatting: a value, or the mapping itself.
#[derive(Clone, Copy)]
enum PctArg<'a> {
    Val(&'a FmtArg),
    Dict(&'a [(String, FmtArg)]),
}

impl PctArg<'_> {
    fn type_name(self) -> &'static str {
        match self {
            PctArg::Val(v) => v.type_name(),
            PctArg::Dict(_) => "dict",
        }
    }

    fn repr(self) -> String {
        match self {
            PctArg::Val(v) => v.py_repr().into_owned(),
            PctArg::Dict(items) => dict_repr(items),
        }
    }

    fn str(self) -> String {
        match self {
            PctArg::Val(v) => v.py_str().into_owned(),
            PctArg::Dict(items) => dict_repr(items),
        }
    }

    fn int(self) -> Option<i64> {
        match self {
            PctArg::Val(FmtArg::Int(i)) => Some(*i),
            PctArg::Val(FmtArg::Bool(b)) => Some(i64::from(*b)),
            _ => None,
        }
    }
}

fn dict_repr(items: &[(String, FmtArg)]) -> String {
    let mut out = String::from("{");
    for (i, (k, v)) in items.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        out.push_str(&str_repr(k));
        out.push_str(": ");
        out.push_str(&v.py_repr());
    }
    out.push('}');
    out
}

/// The state of CPython's `unicode_formatter_t` that concerns arguments.
struct PctCtx<'a> {
    tuple: &'a [FmtArg],
    /// The single argument when `arglen < 0`.
    single: Option<PctArg<'a>>,
    arglen: i64,
    argidx: i64,
    dict: Option<&'a [(String, FmtArg)]>,
}

impl<'a> PctCtx<'a> {
    fn next_arg(&mut self) -> Result<PctArg<'a>, String> {
        let idx = self.argidx;
        if idx < self.arglen {
            self.argidx += 1;
            let arg = if self.arglen < 0 {
                self.single
            } else {
                usize::try_from(idx)
                    .ok()
                    .and_then(|i| self.tuple.get(i))
                    .map(PctArg::Val)
            };
            return arg.ok_or_else(|| NOT_ENOUGH_ARGS.to_string());
        }
        Err(NOT_ENOUGH_ARGS.to_string())
    }
}

/// Reads the next format character, recording exhaustion (CPython's `--fmtcnt >= 0`).
fn next_fmt_char(chars: &[char], pos: &mut usize, exhausted: &mut bool) -> Option<char> {
    if let Some(&c) = chars.get(*pos) {
        *pos += 1;
        Some(c)
    } else {
        *exhausted = true;
        None
    }
}

/// Python's `str % args` (printf-style string formatting, `PyUnicode_Format`).
///
/// Supports `%(name)` keys (with [`PercentArgs::Mapping`]), the flags `-+ #0`, width and
/// precision (including `*`), the ignored length modifiers `h l L`, and the conversions
/// `s r a d i u o x X e E f F g G c %`. Errors carry Python's messages, e.g.
/// `"not enough arguments for format string"`,
/// `"not all arguments converted during string formatting"`,
/// `"%d format: a real number is required, not str"`,
/// `"unsupported format character 'q' (0x71) at index 1"`.
pub(crate) fn percent_format(fmt: &str, args: PercentArgs) -> Result<String, String> {
    let chars: Vec<char> = fmt.chars().collect();
    let mut ctx = match &args {
        PercentArgs::Tuple(items) => PctCtx {
            tuple: items,
            single: None,
            arglen: items.len() as i64,
            argidx: 0,
            dict: None,
        },
        PercentArgs::Single(v) => PctCtx {
            tuple: &[],
            single: Some(PctArg::Val(v)),
            arglen: -1,
            argidx: -2,
            dict: None,
        },
        PercentArgs::Mapping(items) => PctCtx {
            tuple: &[],
            single: Some(PctArg::Dict(items)),
            arglen: -1,
            argidx: -2,
            dict: Some(items),
        },
    };
    let mut out = String::with_capacity(fmt.len() + 16);
    let mut pos = 0usize;
    while pos < chars.len() {
        if chars[pos] != '%' {
            let start = pos;
            while pos < chars.len() && chars[pos] != '%' {
                pos += 1;
            }
            out.extend(&chars[start..pos]);
            continue;
        }
        pos += 1;
        percent_one(&chars, &mut pos, &mut ctx, &mut out)?;
    }
    if ctx.argidx < ctx.arglen && ctx.dict.is_none() {
        return Err(NOT_ALL_CONVERTED.to_string());
    }
    Ok(out)
}

/// `unicode_format_arg`: one conversion, `pos` just after its `%`.
fn percent_one(
    chars: &[char],
    pos: &mut usize,
    ctx: &mut PctCtx<'_>,
    out: &mut String,
) -> Result<(), String> {
    let mut ch = chars.get(*pos).copied().unwrap_or('\0');
    if ch == '%' {
        *pos += 1;
        out.push('%');
        return Ok(());
    }
    let mut exhausted = false;
    let mut flags = 0u8;
    let mut width: i64 = -1;
    let mut prec: i64 = -1;

    if ch == '(' {
        let Some(dict) = ctx.dict else {
            return Err("format requires a mapping".to_string());
        };
        *pos += 1;
        let key_start = *pos;
        let mut depth = 1;
        while depth > 0 {
            let Some(c) = next_fmt_char(chars, pos, &mut exhausted) else {
                break;
            };
            ch = c;
            if c == ')' {
                depth -= 1;
            } else if c == '(' {
                depth += 1;
            }
        }
        if exhausted || depth > 0 {
            return Err("incomplete format key".to_string());
        }
        let key: String = chars[key_start..*pos - 1].iter().collect();
        let value = dict
            .iter()
            .rev()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v)
            .ok_or_else(|| str_repr(&key))?;
        ctx.single = Some(PctArg::Val(value));
        ctx.arglen = -1;
        ctx.argidx = -2;
    }

    while let Some(c) = next_fmt_char(chars, pos, &mut exhausted) {
        ch = c;
        match c {
            '-' => flags |= F_LJUST,
            '+' => flags |= F_SIGN,
            ' ' => flags |= F_BLANK,
            '#' => flags |= F_ALT,
            '0' => flags |= F_ZERO,
            _ => break,
        }
    }

    if ch == '*' {
        let v = ctx.next_arg()?;
        width = v.int().ok_or_else(|| "* wants int".to_string())?;
        if width < 0 {
            flags |= F_LJUST;
            // CPython negates in a C `Py_ssize_t`: the minimum stays negative (no padding).
            width = width.wrapping_neg();
        }
        if let Some(c) = next_fmt_char(chars, pos, &mut exhausted) {
            ch = c;
        }
    } else if let Some(d) = ch.to_digit(10) {
        width = i64::from(d);
        while let Some(c) = next_fmt_char(chars, pos, &mut exhausted) {
            ch = c;
            let Some(d) = c.to_digit(10) else { break };
            let d = i64::from(d);
            if width > (i64::MAX - d) / 10 {
                return Err("width too big".to_string());
            }
            width = width * 10 + d;
        }
    }

    if ch == '.' {
        prec = 0;
        if let Some(c) = next_fmt_char(chars, pos, &mut exhausted) {
            ch = c;
        }
        if ch == '*' {
            let v = ctx.next_arg()?;
            let p = v.int().ok_or_else(|| "* wants int".to_string())?;
            let p = i32::try_from(p)
                .map_err(|_| "Python int too large to convert to C int".to_string())?;
            prec = i64::from(p.max(0));
            if let Some(c) = next_fmt_char(chars, pos, &mut exhausted) {
                ch = c;
            }
        } else if let Some(d) = ch.to_digit(10) {
            prec = i64::from(d);
            while let Some(c) = next_fmt_char(chars, pos, &mut exhausted) {
                ch = c;
                let Some(d) = c.to_digit(10) else { break };
                let d = i64::from(d);
                if prec > (i64::from(i32::MAX) - d) / 10 {
                    return Err("precision too big".to_string());
                }
                prec = prec * 10 + d;
            }
        }
    }

    if !exhausted
        && matches!(ch, 'h' | 'l' | 'L')
        && let Some(c) = next_fmt_char(chars, pos, &mut exhausted)
    {
        ch = c;
    }
    if exhausted {
        return Err("incomplete format".to_string());
    }

    let conv_index = *pos - 1;
    let v = ctx.next_arg()?;
    let mut numeric = false;
    let text = match ch {
        's' => v.str(),
        'r' => v.repr(),
        'a' => ascii_escape(&v.repr()),
        'i' | 'd' | 'u' | 'o' | 'x' | 'X' => {
            numeric = true;
            percent_long(v, ch, flags, prec)?
        }
        'e' | 'E' | 'f' | 'F' | 'g' | 'G' => {
            numeric = true;
            let x = match v {
                PctArg::Val(FmtArg::Float(f)) => *f,
                PctArg::Val(FmtArg::Int(i)) => *i as f64,
                PctArg::Val(FmtArg::Bool(b)) => f64::from(u8::from(*b)),
                other => {
                    return Err(format!("must be real number, not {}", other.type_name()));
                }
            };
            let flags = DtoaFlags {
                alt: flags & F_ALT != 0,
                ..DtoaFlags::default()
            };
            double_to_string(x, ch, if prec < 0 { 6 } else { prec }, flags)?
        }
        'c' => match v {
            PctArg::Val(FmtArg::Str(s)) if s.chars().count() == 1 => s.clone(),
            PctArg::Val(FmtArg::Int(_) | FmtArg::Bool(_)) => {
                char_from_code(v.int().unwrap_or(0))?.to_string()
            }
            _ => return Err("%c requires int or char".to_string()),
        },
        _ => {
            let cp = u32::from(ch);
            let shown = if (31..=126).contains(&cp) { ch } else { '?' };
            return Err(format!(
                "unsupported format character '{shown}' (0x{cp:x}) at index {conv_index}"
            ));
        }
    };
    percent_output(out, &text, ch, flags, width, prec, numeric)?;
    if ctx.dict.is_some() && ctx.argidx < ctx.arglen {
        return Err(NOT_ALL_CONVERTED.to_string());
    }
    Ok(())
}

/// `mainformatlong` + `_PyUnicode_FormatLong`: `-`? (`0x`|`0X`|`0o`)? digits, zero-filled to
/// `prec` digits.
fn percent_long(v: PctArg<'_>, ch: char, flags: u8, prec: i64) -> Result<String, String> {
    let int_only = matches!(ch, 'o' | 'x' | 'X');
    let (negative, digits) = match v {
        PctArg::Val(FmtArg::Int(i)) => (*i < 0, int_digits(i.unsigned_abs(), ch)),
        PctArg::Val(FmtArg::Bool(b)) => (false, u8::from(*b).to_string()),
        PctArg::Val(FmtArg::Float(f)) if !int_only => {
            if f.is_nan() {
                return Err("cannot convert float NaN to integer".to_string());
            }
            if f.is_infinite() {
                return Err("cannot convert float infinity to integer".to_string());
            }
            float_trunc_decimal(*f)
        }
        other => {
            let what = if int_only {
                "an integer"
            } else {
                "a real number"
            };
            return Err(format!(
                "%{ch} format: {what} is required, not {}",
                other.type_name()
            ));
        }
    };
    let mut out = String::with_capacity(digits.len() + 4);
    if negative {
        out.push('-');
    }
    if flags & F_ALT != 0 {
        match ch {
            'o' => out.push_str("0o"),
            'x' => out.push_str("0x"),
            'X' => out.push_str("0X"),
            _ => {}
        }
    }
    push_repeat(&mut out, '0', prec - digits.len() as i64)?;
    out.push_str(&digits);
    Ok(out)
}

/// `int(f)` for a finite float, as `(negative, decimal digits)`.
fn float_trunc_decimal(f: f64) -> (bool, String) {
    if f.abs() < 1.0 {
        return (false, "0".to_string());
    }
    let Digits { digits, decpt } = exact_digits(f.abs());
    let mut out = String::with_capacity(decpt.max(1) as usize);
    let int_len = (decpt.max(0) as usize).min(digits.len());
    push_digits(&mut out, &digits[..int_len]);
    out.extend(std::iter::repeat_n(
        '0',
        (decpt - int_len as i64).max(0) as usize,
    ));
    (f < 0.0, out)
}

/// `unicode_format_arg_output`: applies width, precision (for `s r a`), sign and zero padding.
fn percent_output(
    out: &mut String,
    text: &str,
    ch: char,
    flags: u8,
    mut width: i64,
    prec: i64,
    mut sign: bool,
) -> Result<(), String> {
    let fill = if sign && flags & F_ZERO != 0 {
        '0'
    } else {
        ' '
    };
    let cs: Vec<char> = text.chars().collect();
    let mut len = cs.len() as i64;
    if (width == -1 || width <= len)
        && (prec == -1 || prec >= len)
        && flags & (F_SIGN | F_BLANK) == 0
    {
        out.push_str(text);
        return Ok(());
    }
    if matches!(ch, 's' | 'r' | 'a') && prec >= 0 && len > prec {
        len = prec;
    }
    let mut pindex = 0usize;
    let mut signchar = '\0';
    if sign {
        let first = cs.first().copied().unwrap_or('\0');
        if first == '-' || first == '+' {
            signchar = first;
            len -= 1;
            pindex += 1;
        } else if flags & F_SIGN != 0 {
            signchar = '+';
        } else if flags & F_BLANK != 0 {
            signchar = ' ';
        } else {
            sign = false;
        }
    }
    if width < len {
        width = len;
    }
    if sign {
        if fill != ' ' {
            out.push(signchar);
        }
        if width > len {
            width -= 1;
        }
    }
    let alt_prefix = flags & F_ALT != 0 && matches!(ch, 'x' | 'X' | 'o');
    if alt_prefix {
        if fill != ' ' {
            out.push('0');
            out.push(ch);
            pindex += 2;
        }
        width = (width - 2).max(0);
        len -= 2;
    }
    if width > len && flags & F_LJUST == 0 {
        push_repeat(out, fill, width - len)?;
        width = len;
    }
    if fill == ' ' {
        if sign {
            out.push(signchar);
        }
        if alt_prefix {
            out.push('0');
            out.push(ch);
            pindex += 2;
        }
    }
    let len_usize = len.max(0) as usize;
    out.extend(cs.iter().skip(pindex).take(len_usize));
    push_repeat(out, ' ', width - len)
}

// ---------------------------------------------------------------------------------------------
// str.format
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq)]
enum AutoNumberState {
    Init,
    Auto,
    Manual,
}

struct FormatCtx<'a> {
    positional: &'a [FmtArg],
    named: &'a [(String, FmtArg)],
    auto_state: AutoNumberState,
    auto_next: usize,
}

/// Python's `str.format(*positional, **named)`.
///
/// Supports literal `{{`/`}}`, automatic (`{}`) and manual (`{0}`) numbering, names (`{name}`),
/// indexing a string argument (`{0[1]}`), the conversions `!s !r !a`, and format specs with
/// nested replacement fields (`{:{width}}`), each field formatted by [`format_value`]. Attribute
/// access (`{0.attr}`) is not supported and reports an error. Errors carry Python's messages,
/// e.g. `"Replacement index 1 out of range for positional args tuple"`,
/// `"Single '}' encountered in format string"`; a missing name gives the `KeyError` text
/// (`'name'`).
pub(crate) fn str_format(
    fmt: &str,
    positional: &[FmtArg],
    named: &[(String, FmtArg)],
) -> Result<String, String> {
    let chars: Vec<char> = fmt.chars().collect();
    let mut ctx = FormatCtx {
        positional,
        named,
        auto_state: AutoNumberState::Init,
        auto_next: 0,
    };
    let mut out = String::with_capacity(fmt.len() + 16);
    build_string(&chars, &mut ctx, 2, &mut out)?;
    Ok(out)
}

/// A parsed replacement field (ranges index the enclosing character slice).
struct Field {
    name: (usize, usize),
    conversion: Option<char>,
    spec: (usize, usize),
    spec_needs_expanding: bool,
}

/// `build_string` + `MarkupIterator` of Objects/stringlib/unicode_format.h.
fn build_string(
    s: &[char],
    ctx: &mut FormatCtx<'_>,
    depth: i32,
    out: &mut String,
) -> Result<(), String> {
    if depth <= 0 {
        return Err("Max string recursion exceeded".to_string());
    }
    let n = s.len();
    let mut pos = 0usize;
    while pos < n {
        let start = pos;
        let mut c = '\0';
        let mut markup_follows = false;
        while pos < n {
            c = s[pos];
            pos += 1;
            if c == '{' || c == '}' {
                markup_follows = true;
                break;
            }
        }
        let at_end = pos >= n;
        let mut literal_end = pos;
        if c == '}' && (at_end || s[pos] != '}') {
            return Err("Single '}' encountered in format string".to_string());
        }
        if at_end && c == '{' {
            return Err("Single '{' encountered in format string".to_string());
        }
        if !at_end {
            if c == s[pos] {
                pos += 1;
                markup_follows = false;
            } else {
                literal_end -= 1;
            }
        }
        out.extend(&s[start..literal_end]);
        if !markup_follows {
            continue;
        }
        let field = parse_field(s, &mut pos)?;
        output_markup(s, &field, ctx, depth, out)?;
    }
    Ok(())
}

/// `parse_field` of Objects/stringlib/unicode_format.h; `pos` is just after the `{`.
fn parse_field(s: &[char], pos: &mut usize) -> Result<Field, String> {
    let n = s.len();
    let name_start = *pos;
    let mut c = '\0';
    while *pos < n {
        c = s[*pos];
        *pos += 1;
        match c {
            '{' => return Err("unexpected '{' in field name".to_string()),
            '[' => {
                while *pos < n && s[*pos] != ']' {
                    *pos += 1;
                }
            }
            '}' | ':' | '!' => break,
            _ => {}
        }
    }
    let name = (name_start, pos.saturating_sub(1).max(name_start));
    let mut field = Field {
        name,
        conversion: None,
        spec: (0, 0),
        spec_needs_expanding: false,
    };
    if c == '!' || c == ':' {
        if c == '!' {
            let Some(&conv) = s.get(*pos) else {
                return Err("end of string while looking for conversion specifier".to_string());
            };
            field.conversion = Some(conv);
            *pos += 1;
            if let Some(&next) = s.get(*pos) {
                *pos += 1;
                if next == '}' {
                    return Ok(field);
                }
                if next != ':' {
                    return Err("expected ':' after conversion specifier".to_string());
                }
            }
        }
        let spec_start = *pos;
        let mut count = 1;
        while *pos < n {
            let c = s[*pos];
            *pos += 1;
            if c == '{' {
                field.spec_needs_expanding = true;
                count += 1;
            } else if c == '}' {
                count -= 1;
                if count == 0 {
                    field.spec = (spec_start, *pos - 1);
                    return Ok(field);
                }
            }
        }
        return Err("unmatched '{' in format spec".to_string());
    }
    if c != '}' {
        return Err("expected '}' before end of string".to_string());
    }
    Ok(field)
}

/// `get_integer` of Objects/stringlib/unicode_format.h: `None` unless all characters are digits.
fn field_integer(s: &[char]) -> Result<Option<usize>, String> {
    if s.is_empty() {
        return Ok(None);
    }
    let mut acc: usize = 0;
    for &c in s {
        let Some(d) = c.to_digit(10) else {
            return Ok(None);
        };
        let d = d as usize;
        if acc > (isize::MAX as usize - d) / 10 {
            return Err("Too many decimal digits in format string".to_string());
        }
        acc = acc * 10 + d;
    }
    Ok(Some(acc))
}

/// `output_markup`: looks the field up, converts it, expands and applies its format spec.
fn output_markup(
    s: &[char],
    field: &Field,
    ctx: &mut FormatCtx<'_>,
    depth: i32,
    out: &mut String,
) -> Result<(), String> {
    let obj = field_object(&s[field.name.0..field.name.1], ctx)?;
    let obj = match field.conversion {
        None => obj,
        Some('r') => Cow::Owned(FmtArg::Str(obj.py_repr().into_owned())),
        Some('s') => Cow::Owned(FmtArg::Str(obj.py_str().into_owned())),
        Some('a') => Cow::Owned(FmtArg::Str(obj.py_ascii())),
        Some(c) => {
            let cp = u32::from(c);
            return Err(if cp > 32 && cp < 127 {
                format!("Unknown conversion specifier {c}")
            } else {
                format!("Unknown conversion specifier \\x{cp:x}")
            });
        }
    };
    let spec_chars = &s[field.spec.0..field.spec.1];
    let spec = if field.spec_needs_expanding {
        let mut expanded = String::new();
        build_string(spec_chars, ctx, depth - 1, &mut expanded)?;
        expanded
    } else {
        spec_chars.iter().collect()
    };
    out.push_str(&format_value(&obj, &spec)?);
    Ok(())
}

/// `get_field_object`: the first part (index or name) and then `.attr` / `[key]` lookups.
fn field_object<'a>(name: &[char], ctx: &mut FormatCtx<'a>) -> Result<Cow<'a, FmtArg>, String> {
    let split = name
        .iter()
        .position(|&c| c == '.' || c == '[')
        .unwrap_or(name.len());
    let (first, rest) = name.split_at(split);
    let index = field_integer(first)?;
    let is_empty = first.is_empty();
    let numeric = is_empty || index.is_some();
    let mut index = index;
    if numeric {
        if ctx.auto_state == AutoNumberState::Init {
            ctx.auto_state = if is_empty {
                AutoNumberState::Auto
            } else {
                AutoNumberState::Manual
            };
        }
        if ctx.auto_state == AutoNumberState::Manual && is_empty {
            return Err(
                "cannot switch from manual field specification to automatic field numbering"
                    .to_string(),
            );
        }
        if ctx.auto_state == AutoNumberState::Auto && !is_empty {
            return Err(
                "cannot switch from automatic field numbering to manual field specification"
                    .to_string(),
            );
        }
        if is_empty {
            index = Some(ctx.auto_next);
            ctx.auto_next += 1;
        }
    }
    let mut obj: Cow<'a, FmtArg> = match index {
        Some(i) => Cow::Borrowed(ctx.positional.get(i).ok_or_else(|| {
            format!("Replacement index {i} out of range for positional args tuple")
        })?),
        None => {
            let key: String = first.iter().collect();
            let named = ctx.named;
            Cow::Borrowed(
                named
                    .iter()
                    .rev()
                    .find(|(k, _)| *k == key)
                    .map(|(_, v)| v)
                    .ok_or_else(|| str_repr(&key))?,
            )
        }
    };
    let mut p = 0usize;
    while p < rest.len() {
        let c = rest[p];
        p += 1;
        let is_attribute = match c {
            '.' => true,
            '[' => false,
            _ => {
                return Err("Only '.' or '[' may follow ']' in format field specifier".to_string());
            }
        };
        let start = p;
        let part = if is_attribute {
            while p < rest.len() && rest[p] != '.' && rest[p] != '[' {
                p += 1;
            }
            &rest[start..p]
        } else {
            while p < rest.len() && rest[p] != ']' {
                p += 1;
            }
            if p >= rest.len() {
                return Err("Missing ']' in format string".to_string());
            }
            p += 1;
            &rest[start..p - 1]
        };
        let item_index = if is_attribute {
            None
        } else {
            field_integer(part)?
        };
        if part.is_empty() {
            return Err("Empty attribute in format string".to_string());
        }
        let part_text: String = part.iter().collect();
        obj = Cow::Owned(if is_attribute {
            field_attribute(&obj, &part_text)?
        } else {
            field_item(&obj, item_index, &part_text)?
        });
    }
    Ok(obj)
}

/// `getattr(obj, name)` inside a replacement field: not supported.
fn field_attribute(obj: &FmtArg, name: &str) -> Result<FmtArg, String> {
    Err(match obj {
        FmtArg::Other { .. } | FmtArg::Str(_) => {
            format!("attribute lookup '.{name}' in format fields is not supported")
        }
        _ => format!("'{}' object has no attribute '{name}'", obj.type_name()),
    })
}

/// `obj[key]` inside a replacement field: indexing a string by position.
fn field_item(obj: &FmtArg, index: Option<usize>, key: &str) -> Result<FmtArg, String> {
    match obj {
        FmtArg::Str(s) => match index {
            Some(i) => s
                .chars()
                .nth(i)
                .map(|c| FmtArg::Str(c.to_string()))
                .ok_or_else(|| "string index out of range".to_string()),
            None => Err("string indices must be integers, not 'str'".to_string()),
        },
        FmtArg::Other { .. } => Err(format!(
            "item lookup '[{key}]' in format fields is not supported"
        )),
        _ => Err(format!("'{}' object is not subscriptable", obj.type_name())),
    }
}

/// Ranges of code points for which Python 3.11's `str.isprintable()` is false (Unicode 14.0):
/// categories Cc, Cf, Cs, Co, Cn, Zl, Zp and Zs other than the space. Generated with CPython 3.11.
#[rustfmt::skip]
static NON_PRINTABLE: &[(u32, u32)] = &[
    (0x0, 0x1F), (0x7F, 0xA0), (0xAD, 0xAD), (0x378, 0x379), (0x380, 0x383), (0x38B, 0x38B),
    (0x38D, 0x38D), (0x3A2, 0x3A2), (0x530, 0x530), (0x557, 0x558), (0x58B, 0x58C), (0x590, 0x590),
    (0x5C8, 0x5CF), (0x5EB, 0x5EE), (0x5F5, 0x605), (0x61C, 0x61C), (0x6DD, 0x6DD), (0x70E, 0x70F),
    (0x74B, 0x74C), (0x7B2, 0x7BF), (0x7FB, 0x7FC), (0x82E, 0x82F), (0x83F, 0x83F), (0x85C, 0x85D),
    (0x85F, 0x85F), (0x86B, 0x86F), (0x88F, 0x897), (0x8E2, 0x8E2), (0x984, 0x984), (0x98D, 0x98E),
    (0x991, 0x992), (0x9A9, 0x9A9), (0x9B1, 0x9B1), (0x9B3, 0x9B5), (0x9BA, 0x9BB), (0x9C5, 0x9C6),
    (0x9C9, 0x9CA), (0x9CF, 0x9D6), (0x9D8, 0x9DB), (0x9DE, 0x9DE), (0x9E4, 0x9E5), (0x9FF, 0xA00),
    (0xA04, 0xA04), (0xA0B, 0xA0E), (0xA11, 0xA12), (0xA29, 0xA29), (0xA31, 0xA31), (0xA34, 0xA34),
    (0xA37, 0xA37), (0xA3A, 0xA3B), (0xA3D, 0xA3D), (0xA43, 0xA46), (0xA49, 0xA4A), (0xA4E, 0xA50),
    (0xA52, 0xA58), (0xA5D, 0xA5D), (0xA5F, 0xA65), (0xA77, 0xA80), (0xA84, 0xA84), (0xA8E, 0xA8E),
    (0xA92, 0xA92), (0xAA9, 0xAA9), (0xAB1, 0xAB1), (0xAB4, 0xAB4), (0xABA, 0xABB), (0xAC6, 0xAC6),
    (0xACA, 0xACA), (0xACE, 0xACF), (0xAD1, 0xADF), (0xAE4, 0xAE5), (0xAF2, 0xAF8), (0xB00, 0xB00),
    (0xB04, 0xB04), (0xB0D, 0xB0E), (0xB11, 0xB12), (0xB29, 0xB29), (0xB31, 0xB31), (0xB34, 0xB34),
    (0xB3A, 0xB3B), (0xB45, 0xB46), (0xB49, 0xB4A), (0xB4E, 0xB54), (0xB58, 0xB5B), (0xB5E, 0xB5E),
    (0xB64, 0xB65), (0xB78, 0xB81), (0xB84, 0xB84), (0xB8B, 0xB8D), (0xB91, 0xB91), (0xB96, 0xB98),
    (0xB9B, 0xB9B), (0xB9D, 0xB9D), (0xBA0, 0xBA2), (0xBA5, 0xBA7), (0xBAB, 0xBAD), (0xBBA, 0xBBD),
    (0xBC3, 0xBC5), (0xBC9, 0xBC9), (0xBCE, 0xBCF), (0xBD1, 0xBD6), (0xBD8, 0xBE5), (0xBFB, 0xBFF),
    (0xC0D, 0xC0D), (0xC11, 0xC11), (0xC29, 0xC29), (0xC3A, 0xC3B), (0xC45, 0xC45), (0xC49, 0xC49),
    (0xC4E, 0xC54), (0xC57, 0xC57), (0xC5B, 0xC5C), (0xC5E, 0xC5F), (0xC64, 0xC65), (0xC70, 0xC76),
    (0xC8D, 0xC8D), (0xC91, 0xC91), (0xCA9, 0xCA9), (0xCB4, 0xCB4), (0xCBA, 0xCBB), (0xCC5, 0xCC5),
    (0xCC9, 0xCC9), (0xCCE, 0xCD4), (0xCD7, 0xCDC), (0xCDF, 0xCDF), (0xCE4, 0xCE5), (0xCF0, 0xCF0),
    (0xCF3, 0xCFF), (0xD0D, 0xD0D), (0xD11, 0xD11), (0xD45, 0xD45), (0xD49, 0xD49), (0xD50, 0xD53),
    (0xD64, 0xD65), (0xD80, 0xD80), (0xD84, 0xD84), (0xD97, 0xD99), (0xDB2, 0xDB2), (0xDBC, 0xDBC),
    (0xDBE, 0xDBF), (0xDC7, 0xDC9), (0xDCB, 0xDCE), (0xDD5, 0xDD5), (0xDD7, 0xDD7), (0xDE0, 0xDE5),
    (0xDF0, 0xDF1), (0xDF5, 0xE00), (0xE3B, 0xE3E), (0xE5C, 0xE80), (0xE83, 0xE83), (0xE85, 0xE85),
    (0xE8B, 0xE8B), (0xEA4, 0xEA4), (0xEA6, 0xEA6), (0xEBE, 0xEBF), (0xEC5, 0xEC5), (0xEC7, 0xEC7),
    (0xECE, 0xECF), (0xEDA, 0xEDB), (0xEE0, 0xEFF), (0xF48, 0xF48), (0xF6D, 0xF70), (0xF98, 0xF98),
    (0xFBD, 0xFBD), (0xFCD, 0xFCD), (0xFDB, 0xFFF), (0x10C6, 0x10C6), (0x10C8, 0x10CC),
    (0x10CE, 0x10CF), (0x1249, 0x1249), (0x124E, 0x124F), (0x1257, 0x1257), (0x1259, 0x1259),
    (0x125E, 0x125F), (0x1289, 0x1289), (0x128E, 0x128F), (0x12B1, 0x12B1), (0x12B6, 0x12B7),
    (0x12BF, 0x12BF), (0x12C1, 0x12C1), (0x12C6, 0x12C7), (0x12D7, 0x12D7), (0x1311, 0x1311),
    (0x1316, 0x1317), (0x135B, 0x135C), (0x137D, 0x137F), (0x139A, 0x139F), (0x13F6, 0x13F7),
    (0x13FE, 0x13FF), (0x1680, 0x1680), (0x169D, 0x169F), (0x16F9, 0x16FF), (0x1716, 0x171E),
    (0x1737, 0x173F), (0x1754, 0x175F), (0x176D, 0x176D), (0x1771, 0x1771), (0x1774, 0x177F),
    (0x17DE, 0x17DF), (0x17EA, 0x17EF), (0x17FA, 0x17FF), (0x180E, 0x180E), (0x181A, 0x181F),
    (0x1879, 0x187F), (0x18AB, 0x18AF), (0x18F6, 0x18FF), (0x191F, 0x191F), (0x192C, 0x192F),
    (0x193C, 0x193F), (0x1941, 0x1943), (0x196E, 0x196F), (0x1975, 0x197F), (0x19AC, 0x19AF),
    (0x19CA, 0x19CF), (0x19DB, 0x19DD), (0x1A1C, 0x1A1D), (0x1A5F, 0x1A5F), (0x1A7D, 0x1A7E),
    (0x1A8A, 0x1A8F), (0x1A9A, 0x1A9F), (0x1AAE, 0x1AAF), (0x1ACF, 0x1AFF), (0x1B4D, 0x1B4F),
    (0x1B7F, 0x1B7F), (0x1BF4, 0x1BFB), (0x1C38, 0x1C3A), (0x1C4A, 0x1C4C), (0x1C89, 0x1C8F),
    (0x1CBB, 0x1CBC), (0x1CC8, 0x1CCF), (0x1CFB, 0x1CFF), (0x1F16, 0x1F17), (0x1F1E, 0x1F1F),
    (0x1F46, 0x1F47), (0x1F4E, 0x1F4F), (0x1F58, 0x1F58), (0x1F5A, 0x1F5A), (0x1F5C, 0x1F5C),
    (0x1F5E, 0x1F5E), (0x1F7E, 0x1F7F), (0x1FB5, 0x1FB5), (0x1FC5, 0x1FC5), (0x1FD4, 0x1FD5),
    (0x1FDC, 0x1FDC), (0x1FF0, 0x1FF1), (0x1FF5, 0x1FF5), (0x1FFF, 0x200F), (0x2028, 0x202F),
    (0x205F, 0x206F), (0x2072, 0x2073), (0x208F, 0x208F), (0x209D, 0x209F), (0x20C1, 0x20CF),
    (0x20F1, 0x20FF), (0x218C, 0x218F), (0x2427, 0x243F), (0x244B, 0x245F), (0x2B74, 0x2B75),
    (0x2B96, 0x2B96), (0x2CF4, 0x2CF8), (0x2D26, 0x2D26), (0x2D28, 0x2D2C), (0x2D2E, 0x2D2F),
    (0x2D68, 0x2D6E), (0x2D71, 0x2D7E), (0x2D97, 0x2D9F), (0x2DA7, 0x2DA7), (0x2DAF, 0x2DAF),
    (0x2DB7, 0x2DB7), (0x2DBF, 0x2DBF), (0x2DC7, 0x2DC7), (0x2DCF, 0x2DCF), (0x2DD7, 0x2DD7),
    (0x2DDF, 0x2DDF), (0x2E5E, 0x2E7F), (0x2E9A, 0x2E9A), (0x2EF4, 0x2EFF), (0x2FD6, 0x2FEF),
    (0x2FFC, 0x3000), (0x3040, 0x3040), (0x3097, 0x3098), (0x3100, 0x3104), (0x3130, 0x3130),
    (0x318F, 0x318F), (0x31E4, 0x31EF), (0x321F, 0x321F), (0xA48D, 0xA48F), (0xA4C7, 0xA4CF),
    (0xA62C, 0xA63F), (0xA6F8, 0xA6FF), (0xA7CB, 0xA7CF), (0xA7D2, 0xA7D2), (0xA7D4, 0xA7D4),
    (0xA7DA, 0xA7F1), (0xA82D, 0xA82F), (0xA83A, 0xA83F), (0xA878, 0xA87F), (0xA8C6, 0xA8CD),
    (0xA8DA, 0xA8DF), (0xA954, 0xA95E), (0xA97D, 0xA97F), (0xA9CE, 0xA9CE), (0xA9DA, 0xA9DD),
    (0xA9FF, 0xA9FF), (0xAA37, 0xAA3F), (0xAA4E, 0xAA4F), (0xAA5A, 0xAA5B), (0xAAC3, 0xAADA),
    (0xAAF7, 0xAB00), (0xAB07, 0xAB08), (0xAB0F, 0xAB10), (0xAB17, 0xAB1F), (0xAB27, 0xAB27),
    (0xAB2F, 0xAB2F), (0xAB6C, 0xAB6F), (0xABEE, 0xABEF), (0xABFA, 0xABFF), (0xD7A4, 0xD7AF),
    (0xD7C7, 0xD7CA), (0xD7FC, 0xF8FF), (0xFA6E, 0xFA6F), (0xFADA, 0xFAFF), (0xFB07, 0xFB12),
    (0xFB18, 0xFB1C), (0xFB37, 0xFB37), (0xFB3D, 0xFB3D), (0xFB3F, 0xFB3F), (0xFB42, 0xFB42),
    (0xFB45, 0xFB45), (0xFBC3, 0xFBD2), (0xFD90, 0xFD91), (0xFDC8, 0xFDCE), (0xFDD0, 0xFDEF),
    (0xFE1A, 0xFE1F), (0xFE53, 0xFE53), (0xFE67, 0xFE67), (0xFE6C, 0xFE6F), (0xFE75, 0xFE75),
    (0xFEFD, 0xFF00), (0xFFBF, 0xFFC1), (0xFFC8, 0xFFC9), (0xFFD0, 0xFFD1), (0xFFD8, 0xFFD9),
    (0xFFDD, 0xFFDF), (0xFFE7, 0xFFE7), (0xFFEF, 0xFFFB), (0xFFFE, 0xFFFF), (0x1000C, 0x1000C),
    (0x10027, 0x10027), (0x1003B, 0x1003B), (0x1003E, 0x1003E), (0x1004E, 0x1004F),
    (0x1005E, 0x1007F), (0x100FB, 0x100FF), (0x10103, 0x10106), (0x10134, 0x10136),
    (0x1018F, 0x1018F), (0x1019D, 0x1019F), (0x101A1, 0x101CF), (0x101FE, 0x1027F),
    (0x1029D, 0x1029F), (0x102D1, 0x102DF), (0x102FC, 0x102FF), (0x10324, 0x1032C),
    (0x1034B, 0x1034F), (0x1037B, 0x1037F), (0x1039E, 0x1039E), (0x103C4, 0x103C7),
    (0x103D6, 0x103FF), (0x1049E, 0x1049F), (0x104AA, 0x104AF), (0x104D4, 0x104D7),
    (0x104FC, 0x104FF), (0x10528, 0x1052F), (0x10564, 0x1056E), (0x1057B, 0x1057B),
    (0x1058B, 0x1058B), (0x10593, 0x10593), (0x10596, 0x10596), (0x105A2, 0x105A2),
    (0x105B2, 0x105B2), (0x105BA, 0x105BA), (0x105BD, 0x105FF), (0x10737, 0x1073F),
    (0x10756, 0x1075F), (0x10768, 0x1077F), (0x10786, 0x10786), (0x107B1, 0x107B1),
    (0x107BB, 0x107FF), (0x10806, 0x10807), (0x10809, 0x10809), (0x10836, 0x10836),
    (0x10839, 0x1083B), (0x1083D, 0x1083E), (0x10856, 0x10856), (0x1089F, 0x108A6),
    (0x108B0, 0x108DF), (0x108F3, 0x108F3), (0x108F6, 0x108FA), (0x1091C, 0x1091E),
    (0x1093A, 0x1093E), (0x10940, 0x1097F), (0x109B8, 0x109BB), (0x109D0, 0x109D1),
    (0x10A04, 0x10A04), (0x10A07, 0x10A0B), (0x10A14, 0x10A14), (0x10A18, 0x10A18),
    (0x10A36, 0x10A37), (0x10A3B, 0x10A3E), (0x10A49, 0x10A4F), (0x10A59, 0x10A5F),
    (0x10AA0, 0x10ABF), (0x10AE7, 0x10AEA), (0x10AF7, 0x10AFF), (0x10B36, 0x10B38),
    (0x10B56, 0x10B57), (0x10B73, 0x10B77), (0x10B92, 0x10B98), (0x10B9D, 0x10BA8),
    (0x10BB0, 0x10BFF), (0x10C49, 0x10C7F), (0x10CB3, 0x10CBF), (0x10CF3, 0x10CF9),
    (0x10D28, 0x10D2F), (0x10D3A, 0x10E5F), (0x10E7F, 0x10E7F), (0x10EAA, 0x10EAA),
    (0x10EAE, 0x10EAF), (0x10EB2, 0x10EFF), (0x10F28, 0x10F2F), (0x10F5A, 0x10F6F),
    (0x10F8A, 0x10FAF), (0x10FCC, 0x10FDF), (0x10FF7, 0x10FFF), (0x1104E, 0x11051),
    (0x11076, 0x1107E), (0x110BD, 0x110BD), (0x110C3, 0x110CF), (0x110E9, 0x110EF),
    (0x110FA, 0x110FF), (0x11135, 0x11135), (0x11148, 0x1114F), (0x11177, 0x1117F),
    (0x111E0, 0x111E0), (0x111F5, 0x111FF), (0x11212, 0x11212), (0x1123F, 0x1127F),
    (0x11287, 0x11287), (0x11289, 0x11289), (0x1128E, 0x1128E), (0x1129E, 0x1129E),
    (0x112AA, 0x112AF), (0x112EB, 0x112EF), (0x112FA, 0x112FF), (0x11304, 0x11304),
    (0x1130D, 0x1130E), (0x11311, 0x11312), (0x11329, 0x11329), (0x11331, 0x11331),
    (0x11334, 0x11334), (0x1133A, 0x1133A), (0x11345, 0x11346), (0x11349, 0x1134A),
    (0x1134E, 0x1134F), (0x11351, 0x11356), (0x11358, 0x1135C), (0x11364, 0x11365),
    (0x1136D, 0x1136F), (0x11375, 0x113FF), (0x1145C, 0x1145C), (0x11462, 0x1147F),
    (0x114C8, 0x114CF), (0x114DA, 0x1157F), (0x115B6, 0x115B7), (0x115DE, 0x115FF),
    (0x11645, 0x1164F), (0x1165A, 0x1165F), (0x1166D, 0x1167F), (0x116BA, 0x116BF),
    (0x116CA, 0x116FF), (0x1171B, 0x1171C), (0x1172C, 0x1172F), (0x11747, 0x117FF),
    (0x1183C, 0x1189F), (0x118F3, 0x118FE), (0x11907, 0x11908), (0x1190A, 0x1190B),
    (0x11914, 0x11914), (0x11917, 0x11917), (0x11936, 0x11936), (0x11939, 0x1193A),
    (0x11947, 0x1194F), (0x1195A, 0x1199F), (0x119A8, 0x119A9), (0x119D8, 0x119D9),
    (0x119E5, 0x119FF), (0x11A48, 0x11A4F), (0x11AA3, 0x11AAF), (0x11AF9, 0x11BFF),
    (0x11C09, 0x11C09), (0x11C37, 0x11C37), (0x11C46, 0x11C4F), (0x11C6D, 0x11C6F),
    (0x11C90, 0x11C91), (0x11CA8, 0x11CA8), (0x11CB7, 0x11CFF), (0x11D07, 0x11D07),
    (0x11D0A, 0x11D0A), (0x11D37, 0x11D39), (0x11D3B, 0x11D3B), (0x11D3E, 0x11D3E),
    (0x11D48, 0x11D4F), (0x11D5A, 0x11D5F), (0x11D66, 0x11D66), (0x11D69, 0x11D69),
    (0x11D8F, 0x11D8F), (0x11D92, 0x11D92), (0x11D99, 0x11D9F), (0x11DAA, 0x11EDF),
    (0x11EF9, 0x11FAF), (0x11FB1, 0x11FBF), (0x11FF2, 0x11FFE), (0x1239A, 0x123FF),
    (0x1246F, 0x1246F), (0x12475, 0x1247F), (0x12544, 0x12F8F), (0x12FF3, 0x12FFF),
    (0x1342F, 0x143FF), (0x14647, 0x167FF), (0x16A39, 0x16A3F), (0x16A5F, 0x16A5F),
    (0x16A6A, 0x16A6D), (0x16ABF, 0x16ABF), (0x16ACA, 0x16ACF), (0x16AEE, 0x16AEF),
    (0x16AF6, 0x16AFF), (0x16B46, 0x16B4F), (0x16B5A, 0x16B5A), (0x16B62, 0x16B62),
    (0x16B78, 0x16B7C), (0x16B90, 0x16E3F), (0x16E9B, 0x16EFF), (0x16F4B, 0x16F4E),
    (0x16F88, 0x16F8E), (0x16FA0, 0x16FDF), (0x16FE5, 0x16FEF), (0x16FF2, 0x16FFF),
    (0x187F8, 0x187FF), (0x18CD6, 0x18CFF), (0x18D09, 0x1AFEF), (0x1AFF4, 0x1AFF4),
    (0x1AFFC, 0x1AFFC), (0x1AFFF, 0x1AFFF), (0x1B123, 0x1B14F), (0x1B153, 0x1B163),
    (0x1B168, 0x1B16F), (0x1B2FC, 0x1BBFF), (0x1BC6B, 0x1BC6F), (0x1BC7D, 0x1BC7F),
    (0x1BC89, 0x1BC8F), (0x1BC9A, 0x1BC9B), (0x1BCA0, 0x1CEFF), (0x1CF2E, 0x1CF2F),
    (0x1CF47, 0x1CF4F), (0x1CFC4, 0x1CFFF), (0x1D0F6, 0x1D0FF), (0x1D127, 0x1D128),
    (0x1D173, 0x1D17A), (0x1D1EB, 0x1D1FF), (0x1D246, 0x1D2DF), (0x1D2F4, 0x1D2FF),
    (0x1D357, 0x1D35F), (0x1D379, 0x1D3FF), (0x1D455, 0x1D455), (0x1D49D, 0x1D49D),
    (0x1D4A0, 0x1D4A1), (0x1D4A3, 0x1D4A4), (0x1D4A7, 0x1D4A8), (0x1D4AD, 0x1D4AD),
    (0x1D4BA, 0x1D4BA), (0x1D4BC, 0x1D4BC), (0x1D4C4, 0x1D4C4), (0x1D506, 0x1D506),
    (0x1D50B, 0x1D50C), (0x1D515, 0x1D515), (0x1D51D, 0x1D51D), (0x1D53A, 0x1D53A),
    (0x1D53F, 0x1D53F), (0x1D545, 0x1D545), (0x1D547, 0x1D549), (0x1D551, 0x1D551),
    (0x1D6A6, 0x1D6A7), (0x1D7CC, 0x1D7CD), (0x1DA8C, 0x1DA9A), (0x1DAA0, 0x1DAA0),
    (0x1DAB0, 0x1DEFF), (0x1DF1F, 0x1DFFF), (0x1E007, 0x1E007), (0x1E019, 0x1E01A),
    (0x1E022, 0x1E022), (0x1E025, 0x1E025), (0x1E02B, 0x1E0FF), (0x1E12D, 0x1E12F),
    (0x1E13E, 0x1E13F), (0x1E14A, 0x1E14D), (0x1E150, 0x1E28F), (0x1E2AF, 0x1E2BF),
    (0x1E2FA, 0x1E2FE), (0x1E300, 0x1E7DF), (0x1E7E7, 0x1E7E7), (0x1E7EC, 0x1E7EC),
    (0x1E7EF, 0x1E7EF), (0x1E7FF, 0x1E7FF), (0x1E8C5, 0x1E8C6), (0x1E8D7, 0x1E8FF),
    (0x1E94C, 0x1E94F), (0x1E95A, 0x1E95D), (0x1E960, 0x1EC70), (0x1ECB5, 0x1ED00),
    (0x1ED3E, 0x1EDFF), (0x1EE04, 0x1EE04), (0x1EE20, 0x1EE20), (0x1EE23, 0x1EE23),
    (0x1EE25, 0x1EE26), (0x1EE28, 0x1EE28), (0x1EE33, 0x1EE33), (0x1EE38, 0x1EE38),
    (0x1EE3A, 0x1EE3A), (0x1EE3C, 0x1EE41), (0x1EE43, 0x1EE46), (0x1EE48, 0x1EE48),
    (0x1EE4A, 0x1EE4A), (0x1EE4C, 0x1EE4C), (0x1EE50, 0x1EE50), (0x1EE53, 0x1EE53),
    (0x1EE55, 0x1EE56), (0x1EE58, 0x1EE58), (0x1EE5A, 0x1EE5A), (0x1EE5C, 0x1EE5C),
    (0x1EE5E, 0x1EE5E), (0x1EE60, 0x1EE60), (0x1EE63, 0x1EE63), (0x1EE65, 0x1EE66),
    (0x1EE6B, 0x1EE6B), (0x1EE73, 0x1EE73), (0x1EE78, 0x1EE78), (0x1EE7D, 0x1EE7D),
    (0x1EE7F, 0x1EE7F), (0x1EE8A, 0x1EE8A), (0x1EE9C, 0x1EEA0), (0x1EEA4, 0x1EEA4),
    (0x1EEAA, 0x1EEAA), (0x1EEBC, 0x1EEEF), (0x1EEF2, 0x1EFFF), (0x1F02C, 0x1F02F),
    (0x1F094, 0x1F09F), (0x1F0AF, 0x1F0B0), (0x1F0C0, 0x1F0C0), (0x1F0D0, 0x1F0D0),
    (0x1F0F6, 0x1F0FF), (0x1F1AE, 0x1F1E5), (0x1F203, 0x1F20F), (0x1F23C, 0x1F23F),
    (0x1F249, 0x1F24F), (0x1F252, 0x1F25F), (0x1F266, 0x1F2FF), (0x1F6D8, 0x1F6DC),
    (0x1F6ED, 0x1F6EF), (0x1F6FD, 0x1F6FF), (0x1F774, 0x1F77F), (0x1F7D9, 0x1F7DF),
    (0x1F7EC, 0x1F7EF), (0x1F7F1, 0x1F7FF), (0x1F80C, 0x1F80F), (0x1F848, 0x1F84F),
    (0x1F85A, 0x1F85F), (0x1F888, 0x1F88F), (0x1F8AE, 0x1F8AF), (0x1F8B2, 0x1F8FF),
    (0x1FA54, 0x1FA5F), (0x1FA6E, 0x1FA6F), (0x1FA75, 0x1FA77), (0x1FA7D, 0x1FA7F),
    (0x1FA87, 0x1FA8F), (0x1FAAD, 0x1FAAF), (0x1FABB, 0x1FABF), (0x1FAC6, 0x1FACF),
    (0x1FADA, 0x1FADF), (0x1FAE8, 0x1FAEF), (0x1FAF7, 0x1FAFF), (0x1FB93, 0x1FB93),
    (0x1FBCB, 0x1FBEF), (0x1FBFA, 0x1FFFF), (0x2A6E0, 0x2A6FF), (0x2B739, 0x2B73F),
    (0x2B81E, 0x2B81F), (0x2CEA2, 0x2CEAF), (0x2EBE1, 0x2F7FF), (0x2FA1E, 0x2FFFF),
    (0x3134B, 0xE00FF), (0xE01F0, 0x10FFFF),
];

#[cfg(test)]
mod tests {
    // Every expected value in these tables was produced by CPython 3.11.7 (`repr`, `round`, `%`,
    // `str.format`, `format`), by a generator script run against the interpreter.

    use super::*;

    const N: FmtArg = FmtArg::None;

    fn i(v: i64) -> FmtArg {
        FmtArg::Int(v)
    }

    fn f(v: &str) -> FmtArg {
        FmtArg::Float(fl(v))
    }

    fn fl(v: &str) -> f64 {
        v.parse().expect("a float literal")
    }

    fn s(v: &str) -> FmtArg {
        FmtArg::Str(v.to_string())
    }

    fn b(v: bool) -> FmtArg {
        FmtArg::Bool(v)
    }

    /// An object of a type named `object` with `str()` and `repr()` given.
    fn o(str: &str, repr: &str) -> FmtArg {
        FmtArg::Other {
            str: str.to_string(),
            repr: repr.to_string(),
        }
    }

    fn t(items: Vec<FmtArg>) -> PercentArgs {
        PercentArgs::Tuple(items)
    }

    fn one(item: FmtArg) -> PercentArgs {
        PercentArgs::Single(item)
    }

    fn m(items: Vec<(&str, FmtArg)>) -> PercentArgs {
        PercentArgs::Mapping(items.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
    }

    fn report(failures: &[String]) {
        assert!(
            failures.is_empty(),
            "{} failures:\n{}",
            failures.len(),
            failures.join("\n")
        );
    }

    /// `(f64 bits, repr(x))`.
    #[rustfmt::skip]
    const FLOAT_REPR: &[(u64, &str)] = &[
        (0x0000000000000000, "0.0"), (0x8000000000000000, "-0.0"), (0x3ff0000000000000, "1.0"),
        (0xbff0000000000000, "-1.0"), (0x3fb999999999999a, "0.1"), (0x3fc999999999999a, "0.2"),
        (0x3fd3333333333334, "0.30000000000000004"), (0x3fd3333333333333, "0.3"),
        (0x3fd5555555555555, "0.3333333333333333"), (0x3fe5555555555555, "0.6666666666666666"),
        (0x400921fb54442d18, "3.141592653589793"), (0x4005bf0a8b145769, "2.718281828459045"),
        (0x3fe0000000000000, "0.5"), (0x3ff8000000000000, "1.5"), (0x4004000000000000, "2.5"),
        (0x4059000000000000, "100.0"), (0x40934a0000000000, "1234.5"),
        (0x4341c37937e08000, "1e+16"), (0xc341c37937e08000, "-1e+16"),
        (0x430c6bf526340000, "1000000000000000.0"), (0x4376345785d8a000, "1e+17"),
        (0x4341c37937e07fff, "9999999999999998.0"), (0x4341c37937e08001, "1.0000000000000002e+16"),
        (0x4351c37937e08002, "2.000000000000001e+16"), (0x3eef75104d551d69, "1.5e-05"),
        (0x3f1a36e2eb1c432d, "0.0001"), (0x3ee4f8b588e368f1, "1e-05"),
        (0x3f202e4b6ce5dc68, "0.00012345"), (0x3f1a36371ea531a8, "9.999e-05"),
        (0x42dc12218377de40, "123456789012345.0"), (0x43118b54f22aeb00, "1234567890123456.0"),
        (0x4345ee2a2eb5a5c4, "1.2345678901234568e+16"), (0x4480f0cf064dd592, "1e+22"),
        (0x44b52d02c7e14af6, "1e+23"), (0x7ff0000000000000, "inf"), (0xfff0000000000000, "-inf"),
        (0x7ff8000000000000, "nan"), (0x0000000000000001, "5e-324"),
        (0x8000000000000001, "-5e-324"), (0x0000000000000002, "1e-323"),
        (0x0010000000000000, "2.2250738585072014e-308"),
        (0x000fffffffffffff, "2.225073858507201e-308"),
        (0x7fefffffffffffff, "1.7976931348623157e+308"),
        (0xffefffffffffffff, "-1.7976931348623157e+308"),
        (0x4340000000000000, "9007199254740992.0"), (0x4340000000000001, "9007199254740994.0"),
        (0x43e0000000000000, "9.223372036854776e+18"),
        (0x43f0000000000000, "1.8446744073709552e+19"),
        (0x7fe0000000000000, "8.98846567431158e+307"), (0x3ff35c28f5c28f5d, "1.2100000000000002"),
        (0x4011666666666666, "4.35"), (0x3fe23d70a3d70a3d, "0.57"), (0x4005666666666666, "2.675"),
        (0x3ff0000000000001, "1.0000000000000002"), (0x3fefffffffffffff, "0.9999999999999999"),
        (0x3e7ad7f29abcaf48, "1e-07"), (0x3eb0c6f7a0b5ed8d, "1e-06"),
        (0x7e37e43c8800759c, "1e+300"), (0x01a56e1fc2f8f359, "1e-300"),
        (0x405edd2f1a9fbe77, "123.456"), (0xc05edd2f1a9fbe77, "-123.456"),
        (0x4008000000000000, "3.0"), (0x4024000000000000, "10.0"), (0x40f86a0000000000, "100000.0"),
        (0x412e848000000000, "1000000.0"), (0x416312d000000000, "10000000.0"),
        (0x43017764a0658572, "614543584440494.2"), (0x430785a29688e5aa, "827607227636917.2"),
        (0xc2e95accfa798b04, "-223022213745752.12"), (0x42d16196dd1c8f48, "76443362292285.12"),
        (0xc2e6d8b3ba2aa8f4, "-200959872554311.62"), (0x4330000000000000, "4503599627370496.0"),
        (0x4330000000000002, "4503599627370498.0"), (0x3de0e7ad82221eec, "1.23e-10"),
        (0x44dfe185ca57c517, "6.02214076e+23"), (0x390b860bde023111, "6.62607015e-34"),
        (0x41b1de784a000000, "299792458.0"), (0x40f5180000000000, "86400.0"),
        (0x40ac210000000000, "3600.5"), (0x41d954fc4007e6b4, "1700000000.123456"),
        (0x7fee42d130773b76, "1.7e+308"), (0x3e45798ee2308c3a, "1e-08"),
        (0x3f50624dd2f1a9fc, "0.001"), (0x3f847ae147ae147b, "0.01"), (0x408f400000000000, "1000.0"),
        (0x40c3880000000000, "10000.0"), (0x4197d78400000000, "100000000.0"),
        (0x41cdcd6500000000, "1000000000.0"), (0x4202a05f20000000, "10000000000.0"),
        (0x42374876e8000000, "100000000000.0"), (0x426d1a94a2000000, "1000000000000.0"),
        (0x42a2309ce5400000, "10000000000000.0"), (0x42d6bcc41e900000, "100000000000000.0"),
        (0x43abc16d674ec800, "1e+18"), (0x43e158e460913d00, "1e+19"), (0x4415af1d78b58c40, "1e+20"),
        (0x444b1ae4d6e2ef50, "1e+21"), (0x44b52d02c7e14af7, "1.0000000000000001e+23"),
        (0x3e10000000000000, "9.313225746154785e-10"), (0x3eb0000000000000, "9.5367431640625e-07"),
        (0x3f50000000000000, "0.0009765625"), (0x4090000000000000, "1024.0"),
        (0x4130000000000000, "1048576.0"), (0x41d0000000000000, "1073741824.0"),
        (0x4270000000000000, "1099511627776.0"), (0x4310000000000000, "1125899906842624.0"),
        (0x43b0000000000000, "1.152921504606847e+18"),
        (0x749882321e35049e, "4.492152248019643e+253"),
        (0x79c8c2926b94b5b5, "4.389120112770094e+278"), (0x4242aadbc8f429a4, "160351883752.32532"),
        (0xeb7a79959588532d, "-5.4399131119142674e+209"),
        (0x3cf3bd58da60fb1c, "4.383079907872608e-15"),
        (0x515c61236c88c537, "8.614354442467737e+83"),
        (0xf4b1b64633be40f5, "-1.2985664392816573e+254"),
        (0x88718c966f3d88f7, "-5.314965623006408e-268"),
        (0xda1b195060c40eb7, "-1.146488202889241e+126"),
        (0x5b08acc213a5bf07, "3.420758551378043e+130"),
        (0x6a5d670af9a3638e, "2.3046315439163635e+204"),
        (0x4a894db7e48f12b9, "1.1833994934170815e+51"),
        (0xdabe22cad37b17c6, "-1.3055768296735293e+129"),
        (0x82b9bfbc91ba7257, "-1.5748679552677205e-295"),
        (0x0cf197f45625871b, "2.51627196477289e-246"),
        (0xa5240b6020d0b29c, "-9.036613517376497e-130"),
        (0xb4a3165de1ab3e01, "-3.892215651960722e-55"), (0x400cb70f964e03c0, "3.589385198837107"),
        (0xe683acdf2060d7c4, "-6.688184663054428e+185"),
        (0x83d8e92df2adcc0e, "-3.994044171376333e-290"),
        (0x4f3d9a4de6cf02bb, "5.2303534038858595e+73"),
        (0xb039ee169646a718, "-2.239361282907897e-76"),
        (0x135ab03d8de49eb1, "1.9354693131874806e-215"),
        (0xe085b021e0d44f2b, "-9.305240496802682e+156"),
        (0xa6a86bd5a7550d23, "-1.8471377613108987e-122"),
        (0x428474c15e9ecba7, "2811461620697.4565"), (0x69d6bd800bc49874, "6.962609881020059e+201"),
        (0x94a2de50ff542939, "-2.8696480509335243e-209"),
        (0xdcb25c12903c3ad2, "-3.41619470970423e+138"),
        (0x764ae4d4359e9d02, "6.616060051749092e+261"),
        (0x959ba1690ce64264, "-1.3769933585597693e-204"),
        (0x79fdda8fd41f125b, "4.2336503662127315e+279"),
        (0x4e5ac63a43514e2e, "2.887337660350333e+69"),
        (0x167dd41a347a2e47, "2.4355366694702615e-200"),
        (0x23263c49440a9a11, "2.3339888564043163e-139"),
        (0xa30354ef398bdedf, "-5.072987159160624e-140"),
        (0x98f01733d942b204, "-1.444561059875671e-188"),
        (0x67c8765c57810ce8, "8.719375264419009e+191"),
        (0x0df2d1aff1067dbd, "1.7639331668509974e-241"),
        (0xa37f115c6a44f3cc, "-1.0435487072953564e-137"), (0x412cc18b23d70a3d, "942277.57"),
        (0x41104d1a66666666, "267078.6"), (0xc11e55fe4064ecea, "-497023.562885"),
        (0x412093a266666666, "543185.2"), (0xc121d699e9709310, "-584524.955937"),
        (0x4109d867e71b625c, "211724.9878452"), (0x4116bfbdc7ae147b, "372719.445"),
        (0x412a98a700000000, "871507.5"), (0x41262bdd0083126f, "726510.501"),
        (0x40f2d7287ef9db23, "77170.531"), (0x41216e952a1815a0, "571210.582215"),
        (0x4124bef90cd943d4, "679804.5250951"), (0x41239ae84f2452c6, "642420.154574"),
        (0xc123c5f200000000, "-647929.0"), (0xc114df740d6f65be, "-341981.01312026"),
        (0x4124a78e66b7457c, "676807.200617"), (0xc11e0c43822bbecb, "-492304.87712"),
        (0x411fdc71eb851eb8, "522012.48"), (0xc10b85a839c0ebee, "-225461.0282"),
        (0xc1237e3d79581062, "-638750.737"), (0xc10bda5f7c917e17, "-228171.93582438"),
        (0xc125ccf262f5f692, "-714361.1932828"), (0x410e77bbcbf104ba, "249591.4745808"),
        (0xc1292496850d2807, "-823883.259866"), (0x40fc70c57ced9168, "116492.343"),
        (0xc12b2809facb20fb, "-889860.989831"), (0xc11be9c1e9eb70fd, "-457328.4784372"),
        (0xc1184b5333333333, "-398036.8"), (0x412b39a000000000, "892112.0"),
        (0x411d29f11c5d6388, "477820.2777"), (0xbbd7f7d8ff860bdf, "-2.0301816867264624e-20"),
        (0xc267c47eebdf6864, "-816647200507.2622"), (0x430b41e308a4fa2f, "959033466199877.9"),
        (0x3cb613025fc0e8ae, "3.063418265577334e-16"), (0xc1c1624dc714242e, "-583310222.1573541"),
        (0xc283e272fd231ac0, "-2732914091107.3438"), (0x40737b03bdcb5e1b, "311.68841342392415"),
        (0x3d66371a188aab8c, "6.313951513821436e-13"),
        (0x3be028e19b8b464e, "2.737558392777111e-20"),
        (0x3d10f981f71aa664, "1.5076508363823793e-14"),
        (0x3e44c049eb230d15, "9.662996934193212e-09"),
        (0xbbabed3980bd3fae, "-2.956850000496338e-21"), (0xc2c0d619c4bdb710, "-37023482739566.125"),
        (0x4297c6882d0262ce, "6535363903640.701"), (0xbcc5f533b69a0bf2, "-6.094519425835032e-16"),
        (0xbda0d57ebe0e102d, "-7.655201073056889e-12"),
        (0xbf60c3cc1b51dc8a, "-0.0020464884242375513"),
        (0x4372189a29293472, "8.149759960621238e+16"), (0xc2d229b8b6314412, "-79881607628048.28"),
        (0xc38bdf96942f600c, "-2.5106119025308506e+17"),
    ];

    #[test]
    fn float_repr_matches_cpython() {
        assert!(FLOAT_REPR.len() >= 150);
        let mut failures = Vec::new();
        for &(bits, want) in FLOAT_REPR {
            let x = f64::from_bits(bits);
            let got = float_repr(x);
            if got != want {
                failures.push(format!("repr({want}) [{bits:#018x}]: got {got}"));
            }
            if FmtArg::Float(x).py_str() != want
                || format_value(&FmtArg::Float(x), "").as_deref() != Ok(want)
            {
                failures.push(format!("str/format of {want} differ from repr"));
            }
        }
        report(&failures);
    }

    #[test]
    fn float_repr_brief_examples() {
        for (x, want) in [
            (1.0, "1.0"),
            (-0.0, "-0.0"),
            (0.1 + 0.2, "0.30000000000000004"),
            (1e16, "1e+16"),
            (1.5e-5, "1.5e-05"),
            (0.0001, "0.0001"),
            (123456789012345.0, "123456789012345.0"),
            (1e22, "1e+22"),
            (f64::INFINITY, "inf"),
            (f64::NEG_INFINITY, "-inf"),
            (f64::NAN, "nan"),
        ] {
            assert_eq!(float_repr(x), want);
        }
    }

    /// Shortest digits with an exact tie between two candidates: CPython picks the even one.
    #[test]
    fn float_repr_breaks_ties_to_even() {
        assert_eq!(float_repr(fl("614543584440494.25")), "614543584440494.2");
        assert_eq!(
            float_repr(fl("-200959872554311.625")),
            "-200959872554311.62"
        );
    }

    /// `(x, ndigits, round(x, ndigits))`; `inf` where Python raises `OverflowError`.
    #[rustfmt::skip]
    const ROUND: &[(&str, i32, &str)] = &[
        ("2.675", 2, "2.67"),
        ("0.5", 0, "0.0"),
        ("1.5", 0, "2.0"),
        ("2.5", 0, "2.0"),
        ("-2.5", 0, "-2.0"),
        ("-0.5", 0, "-0.0"),
        ("0.125", 2, "0.12"),
        ("0.375", 2, "0.38"),
        ("1234.5678", -2, "1200.0"),
        ("1234.5678", 2, "1234.57"),
        ("123.456", -1, "120.0"),
        ("-123.456", -3, "-0.0"),
        ("1.0000000000000002", 15, "1.0"),
        ("5e-324", 323, "0.0"),
        ("5e-324", 324, "5e-324"),
        ("1e+300", -299, "1e+300"),
        ("1.5", -400, "0.0"),
        ("-1.5", -400, "-0.0"),
        ("-0.001", 2, "-0.0"),
        ("-0.0", 2, "-0.0"),
        ("0.0", -5, "0.0"),
        ("inf", 2, "inf"),
        ("-inf", 0, "-inf"),
        ("nan", 1, "nan"),
        ("1.7976931348623157e+308", -308, "inf"),
        ("1e+22", -22, "1e+22"),
        ("5e+22", -23, "0.0"),
        ("4.5e+22", -23, "0.0"),
        ("0.285", 2, "0.28"),
        ("1.005", 2, "1.0"),
        ("2.345", 2, "2.35"),
        ("3.14159", 3, "3.142"),
        ("-3.14159", 4, "-3.1416"),
        ("1e-10", 10, "1e-10"),
        ("123456.789", -3, "123000.0"),
        ("0.45", 1, "0.5"),
        ("0.55", 1, "0.6"),
        ("99.995", 2, "100.0"),
        ("1e+16", -15, "1e+16"),
        ("7.5", 0, "8.0"),
        ("8.5", 0, "8.0"),
        ("1.23456789e-05", 7, "1.23e-05"),
        ("0.30000000000000004", 16, "0.3"),
    ];

    #[test]
    fn py_round_matches_cpython() {
        let mut failures = Vec::new();
        for &(x, n, want) in ROUND {
            let got = py_round(fl(x), n);
            let want = fl(want);
            if got.to_bits() != want.to_bits() && !(got.is_nan() && want.is_nan()) {
                failures.push(format!("round({x}, {n}): got {got:?}, want {want:?}"));
            }
        }
        report(&failures);
    }

    /// `(s, repr(s))`.
    #[rustfmt::skip]
    const STR_REPR: &[(&str, &str)] = &[
        ("", "''"),
        ("a", "'a'"),
        ("'", "\"'\""),
        ("\"", "'\"'"),
        ("'\"", "'\\'\"'"),
        ("it's", "\"it's\""),
        ("a\"b", "'a\"b'"),
        ("say \"hi\"", "'say \"hi\"'"),
        ("\\", "'\\\\'"),
        ("back\\slash", "'back\\\\slash'"),
        ("\t\n\r", "'\\t\\n\\r'"),
        ("\u{0}\u{1}\u{1f}\u{7f}", "'\\x00\\x01\\x1f\\x7f'"),
        ("\u{80}\u{9f}\u{a0}\u{ad}", "'\\x80\\x9f\\xa0\\xad'"),
        ("é日本\u{1f600}", "'é日本\u{1f600}'"),
        ("\u{2028}\u{200b}\u{feff}", "'\\u2028\\u200b\\ufeff'"),
        ("\u{e0001}\u{e000}\u{10ffff}", "'\\U000e0001\\ue000\\U0010ffff'"),
        ("\u{378}", "'\\u0378'"),
        ("ÿĀ", "'ÿĀ'"),
        ("a b\u{3000}c", "'a b\\u3000c'"),
        ("\u{1f600}'\"", "'\u{1f600}\\'\"'"),
    ];

    #[test]
    fn str_repr_matches_cpython() {
        for &(x, want) in STR_REPR {
            assert_eq!(str_repr(x), want, "repr({x:?})");
        }
        assert_eq!(s("é\u{1f600}").py_ascii(), "'\\xe9\\U0001f600'");
    }

    #[test]
    #[rustfmt::skip]
    fn percent_format_matches_cpython() {
        let cases: Vec<(&str, PercentArgs, Result<&str, &str>)> = vec![
            ("%s", one(s("abc")), Ok("abc")),
            ("%s", one(f("1.0")), Ok("1.0")),
            ("%s", one(b(true)), Ok("True")),
            ("%s", one(N), Ok("None")),
            ("%s", one(o("S<é>", "R<é>")), Ok("S<é>")),
            ("%r", one(o("S<é>", "R<é>")), Ok("R<é>")),
            ("%a", one(o("S<é>", "R<é>")), Ok("R<\\xe9>")),
            ("%r", one(s("a")), Ok("'a'")),
            ("%a", one(s("é\u{0}")), Ok("'\\xe9\\x00'")),
            ("%s %s", t(vec![i(1), s("a")]), Ok("1 a")),
            ("%5s|", one(N), Ok(" None|")),
            ("%-5r|", one(s("a")), Ok("'a'  |")),
            ("%.2s", one(s("abc")), Ok("ab")),
            ("%5.1s|", one(s("abc")), Ok("    a|")),
            ("%10.4s|", one(s("abcdef")), Ok("      abcd|")),
            ("%.1s", one(N), Ok("N")),
            ("%d", one(i(42)), Ok("42")),
            ("%d", one(i(-42)), Ok("-42")),
            ("%i", one(f("-5.9")), Ok("-5")),
            ("%u", one(f("5.9")), Ok("5")),
            ("%d", one(f("3.7")), Ok("3")),
            ("%d", one(f("-0.5")), Ok("0")),
            ("%d", one(b(true)), Ok("1")),
            ("%d", one(f("1e+20")), Ok("100000000000000000000")),
            ("%d", one(f("1e+300")), Ok("1000000000000000052504760255204420248704468581108159154915854115511802457988908195786371375080447864043704443832883878176942523235360430575644792184786706982848387200926575803737830233794788090059368953234970799945081119038967640880074652742780142494579258788820056842838115669472196386865459400540160")),
            ("%d", one(i(i64::MIN)), Ok("-9223372036854775808")),
            ("%5d|", one(i(42)), Ok("   42|")),
            ("%-5d|", one(i(42)), Ok("42   |")),
            ("%05d", one(i(-42)), Ok("-0042")),
            ("%+d", one(i(5)), Ok("+5")),
            ("% d", one(i(5)), Ok(" 5")),
            ("%+ d", one(i(5)), Ok("+5")),
            ("% 05d", one(i(-5)), Ok("-0005")),
            ("%+05d", one(i(5)), Ok("+0005")),
            ("%-05d|", one(i(3)), Ok("3    |")),
            ("%.3d", one(i(-5)), Ok("-005")),
            ("%5.3d", one(i(7)), Ok("  007")),
            ("%.0d", one(i(0)), Ok("0")),
            ("%ld", one(i(5)), Ok("5")),
            ("%hd", one(i(5)), Ok("5")),
            ("%x", one(i(255)), Ok("ff")),
            ("%X", one(i(255)), Ok("FF")),
            ("%o", one(i(8)), Ok("10")),
            ("%#x", one(i(255)), Ok("0xff")),
            ("%#X", one(i(255)), Ok("0XFF")),
            ("%#o", one(i(8)), Ok("0o10")),
            ("%#o", one(i(-8)), Ok("-0o10")),
            ("%x", one(i(-255)), Ok("-ff")),
            ("%#x", one(i(-255)), Ok("-0xff")),
            ("%#08x", one(i(-255)), Ok("-0x000ff")),
            ("%#5x|", one(i(255)), Ok(" 0xff|")),
            ("%#05x", one(i(255)), Ok("0x0ff")),
            ("%#-8x|", one(i(255)), Ok("0xff    |")),
            ("%+#x", one(i(255)), Ok("+0xff")),
            ("% x", one(i(255)), Ok(" ff")),
            ("%+X", one(i(255)), Ok("+FF")),
            ("%#.3x", one(i(5)), Ok("0x005")),
            ("%#.5o", one(i(8)), Ok("0o00010")),
            ("%#08o", one(i(8)), Ok("0o000010")),
            ("%#-08o|", one(i(8)), Ok("0o10    |")),
            ("%x", one(b(true)), Ok("1")),
            ("%x", one(i(4611686018427387904)), Ok("4000000000000000")),
            ("%f", one(f("3.14159")), Ok("3.141590")),
            ("%.2f", one(f("3.14159")), Ok("3.14")),
            ("%10.3f|", one(f("3.14159")), Ok("     3.142|")),
            ("%-10.3f|", one(f("-3.14159")), Ok("-3.142    |")),
            ("%010.2f", one(f("-3.14159")), Ok("-000003.14")),
            ("%+.0f", one(f("0.4")), Ok("+0")),
            ("%.0f", one(f("0.5")), Ok("0")),
            ("%.0f", one(f("1.5")), Ok("2")),
            ("%.0f", one(f("2.5")), Ok("2")),
            ("%.1f", one(f("0.25")), Ok("0.2")),
            ("%.2f", one(f("2.675")), Ok("2.67")),
            ("%.2f", one(f("-0.001")), Ok("-0.00")),
            ("%#.0f", one(i(2)), Ok("2.")),
            ("%f", one(i(3)), Ok("3.000000")),
            ("%e", one(f("12345.678")), Ok("1.234568e+04")),
            ("%+.3e", one(f("12345.678")), Ok("+1.235e+04")),
            ("%10.3E", one(f("-0.000123")), Ok("-1.230E-04")),
            ("%.0e", one(i(25)), Ok("2e+01")),
            ("%#.0e", one(i(25)), Ok("2.e+01")),
            ("%08.2e", one(f("-3.14159")), Ok("-3.14e+00")),
            ("%e", one(b(true)), Ok("1.000000e+00")),
            ("%g", one(f("1e-05")), Ok("1e-05")),
            ("%g", one(i(1000000)), Ok("1e+06")),
            ("%g", one(i(123456789)), Ok("1.23457e+08")),
            ("%g", one(i(100000)), Ok("100000")),
            ("%.3g", one(f("0.0001234")), Ok("0.000123")),
            ("%#.3g", one(i(1)), Ok("1.00")),
            ("%#g", one(i(2)), Ok("2.00000")),
            ("%G", one(f("1e-10")), Ok("1E-10")),
            ("%-10g|", one(i(100000)), Ok("100000    |")),
            ("%.17g", one(f("0.1")), Ok("0.10000000000000001")),
            ("%.20e", one(f("0.1")), Ok("1.00000000000000005551e-01")),
            ("%.30f", one(f("0.1")), Ok("0.100000000000000005551115123126")),
            ("%.0g", one(f("123.0")), Ok("1e+02")),
            ("%f", one(f("inf")), Ok("inf")),
            ("%F", one(f("inf")), Ok("INF")),
            ("%E", one(f("nan")), Ok("NAN")),
            ("%05f", one(f("inf")), Ok("00inf")),
            ("% f", one(f("inf")), Ok(" inf")),
            ("%+f", one(f("nan")), Ok("+nan")),
            ("%-8f|", one(f("-inf")), Ok("-inf    |")),
            ("%08.2f", one(f("-inf")), Ok("-0000inf")),
            ("%d", one(f("nan")), Err("cannot convert float NaN to integer")),
            ("%d", one(f("inf")), Err("cannot convert float infinity to integer")),
            ("%c", one(i(65)), Ok("A")),
            ("%c", one(s("é")), Ok("é")),
            ("%3c|", one(i(65)), Ok("  A|")),
            ("%-3c|", one(s("x")), Ok("x  |")),
            ("%c", one(b(true)), Ok("\u{1}")),
            ("%c", one(i(128512)), Ok("\u{1f600}")),
            ("%c", one(i(1114112)), Err("%c arg not in range(0x110000)")),
            ("%c", one(i(-1)), Err("%c arg not in range(0x110000)")),
            ("%c", one(s("ab")), Err("%c requires int or char")),
            ("%c", one(f("1.5")), Err("%c requires int or char")),
            ("%c", one(N), Err("%c requires int or char")),
            ("%%", t(vec![]), Ok("%")),
            ("a%%b%s", one(s("x")), Ok("a%bx")),
            ("100%%", t(vec![]), Ok("100%")),
            ("%s%%", m(vec![("a", i(1))]), Ok("{'a': 1}%")),
            ("%5%", t(vec![i(1)]), Err("unsupported format character '%' (0x25) at index 2")),
            ("%-5%|", t(vec![i(1)]), Err("unsupported format character '%' (0x25) at index 3")),
            ("%5%", t(vec![]), Err("not enough arguments for format string")),
            ("%*d", t(vec![i(5), i(3)]), Ok("    3")),
            ("%-*s|", t(vec![i(4), s("a")]), Ok("a   |")),
            ("%*d", t(vec![i(-5), i(3)]), Ok("3    ")),
            ("%*s", t(vec![b(true), s("a")]), Ok("a")),
            ("%.*f", t(vec![i(2), f("3.14159")]), Ok("3.14")),
            ("%.*f", t(vec![i(-2), f("3.14159")]), Ok("3")),
            ("%*.*f", t(vec![i(8), i(2), f("3.14159")]), Ok("    3.14")),
            ("%*d", t(vec![s("a"), i(3)]), Err("* wants int")),
            ("%*s", t(vec![f("1.5"), s("a")]), Err("* wants int")),
            ("%.*f", t(vec![i(1099511627776), f("1.0")]), Err("Python int too large to convert to C int")),
            ("%*", t(vec![i(1)]), Err("incomplete format")),
            ("%.*", t(vec![i(1)]), Err("incomplete format")),
            ("%(a)s", m(vec![("a", s("x"))]), Ok("x")),
            ("%(a)s %(a)r", m(vec![("a", s("x"))]), Ok("x 'x'")),
            ("%(a)s", m(vec![("a", s("x")), ("b", i(2))]), Ok("x")),
            ("%(a)5.1f|", m(vec![("a", f("3.14159"))]), Ok("  3.1|")),
            ("%(k(1))s", m(vec![("k(1)", i(7))]), Ok("7")),
            ("%()s", m(vec![("", i(1))]), Ok("1")),
            ("%(a)s %s", m(vec![("a", i(1))]), Err("not enough arguments for format string")),
            ("%(a)*d", m(vec![("a", i(5))]), Err("not enough arguments for format string")),
            ("%(a)s", m(vec![("b", i(1))]), Err("'a'")),
            ("%(a)s", t(vec![i(1)]), Err("format requires a mapping")),
            ("%(a)s", one(i(1)), Err("format requires a mapping")),
            ("%(a", m(vec![("a", i(1))]), Err("incomplete format key")),
            ("%(a)q", m(vec![("a", i(1))]), Err("unsupported format character 'q' (0x71) at index 4")),
            ("%(a)%", m(vec![("a", i(1))]), Err("unsupported format character '%' (0x25) at index 4")),
            ("%s", m(vec![("a", i(1)), ("b", s("x"))]), Ok("{'a': 1, 'b': 'x'}")),
            ("abc", m(vec![("a", i(1))]), Ok("abc")),
            ("%s", m(vec![]), Ok("{}")),
            ("%r", m(vec![("it's", N)]), Ok("{\"it's\": None}")),
            ("%d", m(vec![]), Err("%d format: a real number is required, not dict")),
            ("abc", one(i(5)), Err("not all arguments converted during string formatting")),
            ("abc", t(vec![]), Ok("abc")),
            ("%s %s", t(vec![i(1)]), Err("not enough arguments for format string")),
            ("%s", t(vec![i(1), i(2)]), Err("not all arguments converted during string formatting")),
            ("%s", t(vec![]), Err("not enough arguments for format string")),
            ("%", t(vec![]), Err("incomplete format")),
            ("% ", one(i(1)), Err("incomplete format")),
            ("%-", one(i(1)), Err("incomplete format")),
            ("%5", one(i(1)), Err("incomplete format")),
            ("%.", one(i(1)), Err("incomplete format")),
            ("%q", one(i(1)), Err("unsupported format character 'q' (0x71) at index 1")),
            ("%q", t(vec![]), Err("not enough arguments for format string")),
            ("a%é", one(i(1)), Err("unsupported format character '?' (0xe9) at index 2")),
            ("%\u{1}", one(i(1)), Err("unsupported format character '?' (0x1) at index 1")),
            ("%\u{1f}", one(i(1)), Err("unsupported format character '\u{1f}' (0x1f) at index 1")),
            ("%\u{7f}", one(i(1)), Err("unsupported format character '?' (0x7f) at index 1")),
            ("%y %s", t(vec![i(1), i(2)]), Err("unsupported format character 'y' (0x79) at index 1")),
            ("%d", one(s("a")), Err("%d format: a real number is required, not str")),
            ("%i", one(N), Err("%i format: a real number is required, not NoneType")),
            ("%x", one(f("1.5")), Err("%x format: an integer is required, not float")),
            ("%X", one(s("a")), Err("%X format: an integer is required, not str")),
            ("%o", one(N), Err("%o format: an integer is required, not NoneType")),
            ("%f", one(s("a")), Err("must be real number, not str")),
            ("%e", one(N), Err("must be real number, not NoneType")),
            ("%g", one(o("S<é>", "R<é>")), Err("must be real number, not object")),
            ("%d", one(o("S<é>", "R<é>")), Err("%d format: a real number is required, not object")),
            ("%s and %r and %a", t(vec![s("é"), s("é"), s("é")]), Ok("é and 'é' and '\\xe9'")),
            ("%s|%5s|%-5s|", t(vec![s("日本"), s("日本"), s("日本")]), Ok("日本|   日本|日本   |")),
            ("%.1s", one(s("\u{1f600}x")), Ok("\u{1f600}")),
        ];
        assert!(cases.len() >= 100);
        let mut failures = Vec::new();
        for (fmt, args, want) in cases {
            let shown = format!("{fmt:?} % {args:?}");
            let got = percent_format(fmt, args);
            if got.as_deref().map_err(String::as_str) != want {
                failures.push(format!("{shown}: got {got:?}, want {want:?}"));
            }
        }
        report(&failures);
    }

    #[test]
    #[rustfmt::skip]
    fn format_value_matches_cpython() {
        let cases: Vec<(FmtArg, &str, Result<&str, &str>)> = vec![
            (i(1234), "", Ok("1234")),
            (i(1234), "d", Ok("1234")),
            (i(1234), ",", Ok("1,234")),
            (i(1234567), "_", Ok("1_234_567")),
            (i(-1234567), ",d", Ok("-1,234,567")),
            (i(1234), "08,", Ok("0,001,234")),
            (i(1234), "010,", Ok("00,001,234")),
            (i(-1234), "0=12_", Ok("-000_001_234")),
            (i(255), "#010_x", Ok("0x000_00ff")),
            (i(12345), "_b", Ok("11_0000_0011_1001")),
            (i(12345678), "_o", Ok("5706_0516")),
            (i(15), "X", Ok("F")),
            (i(15), "#X", Ok("0XF")),
            (i(-15), "#b", Ok("-0b1111")),
            (i(0), "#x", Ok("0x0")),
            (i(0), "#o", Ok("0o0")),
            (i(0), "b", Ok("0")),
            (i(5), "+", Ok("+5")),
            (i(5), " d", Ok(" 5")),
            (i(-5), " d", Ok("-5")),
            (i(5), "^+7", Ok("  +5   ")),
            (i(5), "x<+7", Ok("+5xxxxx")),
            (i(1), "=<5", Ok("1====")),
            (i(-5), "=5", Ok("-   5")),
            (i(5), "00", Ok("5")),
            (i(5), "0010", Ok("0000000005")),
            (i(5), "<010", Ok("5000000000")),
            (i(5), "^010", Ok("0000500000")),
            (i(65), "c", Ok("A")),
            (i(65), "05c", Ok("0000A")),
            (i(65), "<5c", Ok("A    ")),
            (i(128512), "c", Ok("\u{1f600}")),
            (i(12), "n", Ok("12")),
            (i(1234567), "n", Ok("1234567")),
            (i(3), "e", Ok("3.000000e+00")),
            (i(3), "g", Ok("3")),
            (i(3), ".2f", Ok("3.00")),
            (i(3), "F", Ok("3.000000")),
            (i(5), "%", Ok("500.000000%")),
            (i(5), ".2%", Ok("500.00%")),
            (i(9007199254740993), "f", Ok("9007199254740992.000000")),
            (i(3), "zf", Ok("3.000000")),
            (i(i64::MIN), "_x", Ok("-8000_0000_0000_0000")),
            (i(i64::MIN), "#b", Ok("-0b1000000000000000000000000000000000000000000000000000000000000000")),
            (i(i64::MAX), ",", Ok("9,223,372,036,854,775,807")),
            (i(1), ".2", Err("Precision not allowed in integer format specifier")),
            (i(1), "z", Err("Negative zero coercion (z) not allowed in integer format specifier")),
            (i(1), "z.2", Err("Precision not allowed in integer format specifier")),
            (i(1), ".2z", Err("Unknown format code 'z' for object of type 'int'")),
            (i(1), "abc", Err("Invalid format specifier 'abc' for object of type 'int'")),
            (i(1), ",n", Err("Cannot specify ',' with 'n'.")),
            (i(1), "_n", Err("Cannot specify '_' with 'n'.")),
            (i(1), ",x", Err("Cannot specify ',' with 'x'.")),
            (i(1), "_c", Err("Cannot specify '_' with 'c'.")),
            (i(1), ",c", Err("Cannot specify ',' with 'c'.")),
            (i(1), ",,", Err("Cannot specify ',' with ','.")),
            (i(1), "__", Err("Cannot specify '_' with '_'.")),
            (i(1), ",_", Err("Cannot specify both ',' and '_'.")),
            (i(1), "_,", Err("Cannot specify both ',' and '_'.")),
            (i(1), ".", Err("Format specifier missing precision")),
            (i(1), "99999999999999999999", Err("Too many decimal digits in format string")),
            (i(1), "é", Err("Unknown format code '\\xe9' for object of type 'int'")),
            (i(1), "\u{1}", Err("Unknown format code '\\x1' for object of type 'int'")),
            (i(1), " ", Ok(" 1")),
            (i(1), "s", Err("Unknown format code 's' for object of type 'int'")),
            (i(65), "+c", Err("Sign not allowed with integer format specifier 'c'")),
            (i(65), "#c", Err("Alternate form (#) not allowed with integer format specifier 'c'")),
            (i(-1), "c", Err("%c arg not in range(0x110000)")),
            (i(1114112), "c", Err("%c arg not in range(0x110000)")),
            (f("1.5"), "", Ok("1.5")),
            (f("1e+16"), "", Ok("1e+16")),
            (f("-0.0"), "", Ok("-0.0")),
            (f("1e+16"), ".3", Ok("1e+16")),
            (f("123.0"), ".3", Ok("1.23e+02")),
            (f("1.0"), ".3", Ok("1.0")),
            (f("0.1"), ".0", Ok("0.1")),
            (f("100.0"), ".1", Ok("1e+02")),
            (f("100.0"), ".3", Ok("1e+02")),
            (f("1e-05"), ".3", Ok("1e-05")),
            (f("1000000000000000.0"), ".20", Ok("1000000000000000.0")),
            (f("123456789.0"), "", Ok("123456789.0")),
            (f("0.5"), "%", Ok("50.000000%")),
            (f("0.123456"), ".1%", Ok("12.3%")),
            (f("0.123456"), "10.3%", Ok("   12.346%")),
            (f("1234567.891"), ",", Ok("1,234,567.891")),
            (f("1234567.891"), ",.2f", Ok("1,234,567.89")),
            (f("1234567.891"), "_.3e", Ok("1.235e+06")),
            (f("1e+20"), ",", Ok("1e+20")),
            (f("1e+20"), ",.1f", Ok("100,000,000,000,000,000,000.0")),
            (f("1234.5"), "010,.1f", Ok("0,001,234.5")),
            (f("1234.5"), "n", Ok("1234.5")),
            (f("1.5"), "=^+10.2f", Ok("==+1.50===")),
            (f("1.5"), "0<10", Ok("1.50000000")),
            (f("1.5"), "#", Ok("1.5")),
            (f("1.0"), "#", Ok("1.0")),
            (f("1.0"), "#.3", Ok("1.00")),
            (f("1.0"), "#g", Ok("1.00000")),
            (f("1.0"), "#.0f", Ok("1.")),
            (f("1e+22"), "#", Ok("1.e+22")),
            (f("1e-05"), "#.0e", Ok("1.e-05")),
            (f("1e-06"), "g", Ok("1e-06")),
            (f("-0.0"), "z", Ok("0.0")),
            (f("-0.0001"), "z.2f", Ok("0.00")),
            (f("-0.0"), "+z.1f", Ok("+0.0")),
            (f("-1e-10"), "z.3e", Ok("-1.000e-10")),
            (f("-0.4"), "z.0f", Ok("0")),
            (f("-0.6"), "z.0f", Ok("-1")),
            (f("-0.0"), "z%", Ok("0.000000%")),
            (f("-0.0"), "z+", Err("Unknown format code '+' for object of type 'float'")),
            (f("inf"), "010", Ok("0000000inf")),
            (f("nan"), "=+10", Ok("+      nan")),
            (f("nan"), "010,", Ok("0000000nan")),
            (f("inf"), "+", Ok("+inf")),
            (f("inf"), " ", Ok(" inf")),
            (f("nan"), "F", Ok("NAN")),
            (f("inf"), "E", Ok("INF")),
            (f("inf"), "%", Ok("inf%")),
            (f("-inf"), "<8", Ok("-inf    ")),
            (f("1.5"), "d", Err("Unknown format code 'd' for object of type 'float'")),
            (f("1.5"), "x", Err("Unknown format code 'x' for object of type 'float'")),
            (f("1.5"), "s", Err("Unknown format code 's' for object of type 'float'")),
            (f("1.5"), "c", Err("Unknown format code 'c' for object of type 'float'")),
            (f("1.5"), ",n", Err("Cannot specify ',' with 'n'.")),
            (f("1.5"), ".f", Err("Format specifier missing precision")),
            (f("1.5"), "abc", Err("Invalid format specifier 'abc' for object of type 'float'")),
            (f("2.675"), ".2f", Ok("2.67")),
            (f("0.1"), ".30f", Ok("0.100000000000000005551115123126")),
            (f("5e-324"), ".3e", Ok("4.941e-324")),
            (f("1.7976931348623157e+308"), ",.0f", Ok("179,769,313,486,231,570,814,527,423,731,704,356,798,070,567,525,844,996,598,917,476,803,157,260,780,028,538,760,589,558,632,766,878,171,540,458,953,514,382,464,234,321,326,889,464,182,768,467,546,703,537,516,986,049,910,576,551,282,076,245,490,090,389,328,944,075,868,508,455,133,942,304,583,236,903,222,948,165,808,559,332,123,348,274,797,826,204,144,723,168,738,177,180,919,299,881,250,404,026,184,124,858,368")),
            (s("abc"), "", Ok("abc")),
            (s("abc"), "s", Ok("abc")),
            (s("abc"), "10", Ok("abc       ")),
            (s("abc"), ">10", Ok("       abc")),
            (s("abc"), "*^10", Ok("***abc****")),
            (s("abc"), "010", Ok("abc0000000")),
            (s("abc"), "0>10", Ok("0000000abc")),
            (s("abc"), ".0", Ok("")),
            (s("abc"), ".1", Ok("a")),
            (s("abc"), "^6.2", Ok("  ab  ")),
            (s(""), "^3", Ok("   ")),
            (s("ab"), "05", Ok("ab000")),
            (s("ab"), "<0", Ok("ab")),
            (s("ab"), "00", Ok("ab")),
            (s("日本語"), "^7", Ok("  日本語  ")),
            (s("\u{1f600}"), "*>3", Ok("**\u{1f600}")),
            (s("a"), "=5", Err("'=' alignment not allowed in string format specifier")),
            (s("a"), "+", Err("Sign not allowed in string format specifier")),
            (s("a"), " ", Err("Space not allowed in string format specifier")),
            (s("a"), "#", Err("Alternate form (#) not allowed in string format specifier")),
            (s("a"), "z", Err("Negative zero coercion (z) not allowed in string format specifier")),
            (s("a"), "+z", Err("Sign not allowed in string format specifier")),
            (s("a"), "z#", Err("Negative zero coercion (z) not allowed in string format specifier")),
            (s("a"), "z=", Err("'=' alignment not allowed in string format specifier")),
            (s("a"), ",", Err("Cannot specify ',' with 's'.")),
            (s("a"), "_s", Err("Cannot specify '_' with 's'.")),
            (s("a"), "x", Err("Unknown format code 'x' for object of type 'str'")),
            (s("a"), "d", Err("Unknown format code 'd' for object of type 'str'")),
            (s("é"), "é", Err("Unknown format code '\\xe9' for object of type 'str'")),
            (b(true), "", Ok("True")),
            (b(false), "", Ok("False")),
            (b(true), "d", Ok("1")),
            (b(true), ">5", Ok("    1")),
            (b(false), "+", Ok("+0")),
            (b(true), "f", Ok("1.000000")),
            (b(true), "c", Ok("\u{1}")),
            (b(true), "s", Err("Unknown format code 's' for object of type 'bool'")),
            (b(true), ".2", Err("Precision not allowed in integer format specifier")),
            (b(true), "abc", Err("Invalid format specifier 'abc' for object of type 'bool'")),
            (N, "", Ok("None")),
            (N, "s", Err("unsupported format string passed to NoneType.__format__")),
            (N, ">5", Err("unsupported format string passed to NoneType.__format__")),
            (o("S<é>", "R<é>"), "", Ok("S<é>")),
            (o("S<é>", "R<é>"), "s", Ok("S<é>")),
            (o("S<é>", "R<é>"), ">5", Err("unsupported format string passed to object.__format__")),
        ];
        assert!(cases.len() >= 100);
        let mut failures = Vec::new();
        for (value, spec, want) in cases {
            let got = format_value(&value, spec);
            if got.as_deref().map_err(String::as_str) != want {
                failures.push(format!("format({value:?}, {spec:?}): got {got:?}, want {want:?}"));
            }
        }
        report(&failures);
    }

    #[test]
    #[rustfmt::skip]
    fn str_format_matches_cpython() {
        type Case<'a> = (&'a str, Vec<FmtArg>, Vec<(&'a str, FmtArg)>, Result<&'a str, &'a str>);
        let cases: Vec<Case<'_>> = vec![
            ("{}", vec![i(1)], vec![], Ok("1")),
            ("{} {}", vec![s("a"), f("2.5")], vec![], Ok("a 2.5")),
            ("{0} {1} {0}", vec![s("a"), s("b")], vec![], Ok("a b a")),
            ("{name}", vec![], vec![("name", s("x"))], Ok("x")),
            ("{{}}", vec![], vec![], Ok("{}")),
            ("{{{0}}}", vec![i(1)], vec![], Ok("{1}")),
            ("}}{{", vec![], vec![], Ok("}{")),
            ("{!r}", vec![s("a")], vec![], Ok("'a'")),
            ("{!s:>5}", vec![f("1.5")], vec![], Ok("  1.5")),
            ("{!r:>8}", vec![s("a")], vec![], Ok("     'a'")),
            ("{!a}", vec![s("é\u{0}")], vec![], Ok("'\\xe9\\x00'")),
            ("{!a}", vec![i(1)], vec![], Ok("1")),
            ("{0!s}", vec![N], vec![], Ok("None")),
            ("{0:}", vec![N], vec![], Ok("None")),
            ("{a!r}", vec![], vec![("a", N)], Ok("None")),
            ("{x}{y}", vec![], vec![("x", i(1)), ("y", s("s"))], Ok("1s")),
            ("{:%}", vec![f("0.123456")], vec![], Ok("12.345600%")),
            ("{:.1%}", vec![f("0.123456")], vec![], Ok("12.3%")),
            ("{0:{1}.{2}f}", vec![f("3.14159"), i(10), i(2)], vec![], Ok("      3.14")),
            ("{:{}{}}", vec![i(3), s(">"), i(5)], vec![], Ok("    3")),
            ("{:{}}", vec![s("a"), i(5)], vec![], Ok("a    ")),
            ("{0:{a}}", vec![i(1)], vec![("a", i(3))], Ok("  1")),
            ("{:{!r}}", vec![i(1), i(2)], vec![], Ok(" 1")),
            ("{0[0]}", vec![s("abc")], vec![], Ok("a")),
            ("{0[2]}", vec![s("abc")], vec![], Ok("c")),
            ("{00}", vec![i(1)], vec![], Ok("1")),
            ("{0!r:}", vec![i(1)], vec![], Ok("1")),
            ("{:,}", vec![i(1234567)], vec![], Ok("1,234,567")),
            ("{:>10}", vec![o("S<é>", "R<é>")], vec![], Err("unsupported format string passed to object.__format__")),
            ("{}", vec![o("S<é>", "R<é>")], vec![], Ok("S<é>")),
            ("{!r}", vec![o("S<é>", "R<é>")], vec![], Ok("R<é>")),
            ("{!a}", vec![o("S<é>", "R<é>")], vec![], Ok("R<\\xe9>")),
            ("{:.3}", vec![s("abcdef")], vec![], Ok("abc")),
            ("{:08.3f}", vec![f("-3.14159")], vec![], Ok("-003.142")),
            ("{:#x}", vec![b(true)], vec![], Ok("0x1")),
            ("{}", vec![f("-0.0")], vec![], Ok("-0.0")),
            ("{} {}", vec![i(1)], vec![], Err("Replacement index 1 out of range for positional args tuple")),
            ("{1}", vec![i(1)], vec![], Err("Replacement index 1 out of range for positional args tuple")),
            ("{}", vec![], vec![], Err("Replacement index 0 out of range for positional args tuple")),
            ("{} {0}", vec![i(1)], vec![], Err("cannot switch from automatic field numbering to manual field specification")),
            ("{0} {}", vec![i(1)], vec![], Err("cannot switch from manual field specification to automatic field numbering")),
            ("{a}", vec![], vec![("b", i(1))], Err("'a'")),
            ("{", vec![], vec![], Err("Single '{' encountered in format string")),
            ("}", vec![], vec![], Err("Single '}' encountered in format string")),
            ("x}", vec![], vec![], Err("Single '}' encountered in format string")),
            ("{0}}", vec![i(1)], vec![], Err("Single '}' encountered in format string")),
            ("{:}}", vec![i(1)], vec![], Err("Single '}' encountered in format string")),
            ("{0", vec![i(1)], vec![], Err("expected '}' before end of string")),
            ("{0:", vec![i(1)], vec![], Err("unmatched '{' in format spec")),
            ("{0!r", vec![i(1)], vec![], Err("unmatched '{' in format spec")),
            ("{0!", vec![i(1)], vec![], Err("end of string while looking for conversion specifier")),
            ("{!}", vec![i(1)], vec![], Err("unmatched '{' in format spec")),
            ("{!r", vec![i(1)], vec![], Err("unmatched '{' in format spec")),
            ("{0!x}", vec![i(1)], vec![], Err("Unknown conversion specifier x")),
            ("{0!rr}", vec![i(1)], vec![], Err("expected ':' after conversion specifier")),
            ("{0!\u{1}}", vec![i(1)], vec![], Err("Unknown conversion specifier \\x1")),
            ("{:!r}", vec![i(1)], vec![], Err("Invalid format specifier '!r' for object of type 'int'")),
            ("{:{{}}}", vec![i(1)], vec![], Err("Invalid format specifier '{}' for object of type 'int'")),
            ("{:{:{}}}", vec![i(1), i(2), i(3)], vec![], Err("Max string recursion exceeded")),
            ("{:{}}", vec![i(1)], vec![], Err("Replacement index 1 out of range for positional args tuple")),
            ("{ }", vec![], vec![], Err("' '")),
            ("{-1}", vec![i(1)], vec![], Err("'-1'")),
            ("{0 }", vec![i(1)], vec![], Err("'0 '")),
            ("{0]}", vec![i(1)], vec![], Err("'0]'")),
            ("{0[}", vec![i(1)], vec![], Err("expected '}' before end of string")),
            ("{0.}", vec![i(1)], vec![], Err("Empty attribute in format string")),
            ("{0[]}", vec![s("a")], vec![], Err("Empty attribute in format string")),
            ("{0[0]x}", vec![s("a")], vec![], Err("Only '.' or '[' may follow ']' in format field specifier")),
            ("{0[x]}", vec![s("abc")], vec![], Err("string indices must be integers, not 'str'")),
            ("{0[5]}", vec![s("abc")], vec![], Err("string index out of range")),
            ("{a.b}", vec![], vec![("a", i(1))], Err("'int' object has no attribute 'b'")),
            ("{0[0]}", vec![i(1)], vec![], Err("'int' object is not subscriptable")),
            ("{0[0]}", vec![N], vec![], Err("'NoneType' object is not subscriptable")),
            ("{a{b}", vec![], vec![], Err("unexpected '{' in field name")),
            ("{:s}", vec![i(1)], vec![], Err("Unknown format code 's' for object of type 'int'")),
            ("{:d}", vec![s("a")], vec![], Err("Unknown format code 'd' for object of type 'str'")),
            ("{:x}", vec![f("1.5")], vec![], Err("Unknown format code 'x' for object of type 'float'")),
            ("{:>5}", vec![N], vec![], Err("unsupported format string passed to NoneType.__format__")),
            ("{99999999999999999999}", vec![i(1)], vec![], Err("Too many decimal digits in format string")),
        ];
        let mut failures = Vec::new();
        for (fmt, positional, named, want) in cases {
            let named: Vec<(String, FmtArg)> = named.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
            let got = str_format(fmt, &positional, &named);
            if got.as_deref().map_err(String::as_str) != want {
                failures.push(format!("{fmt:?}.format({positional:?}, {named:?}): got {got:?}, want {want:?}"));
            }
        }
        report(&failures);
    }

    /// Where CPython would need more memory than exists it raises `MemoryError`; so does this,
    /// instead of aborting the process.
    #[test]
    fn absurd_widths_fail_cleanly() {
        assert_eq!(
            percent_format("%*d", t(vec![i(i64::MAX), i(1)])),
            Err(MEMORY_ERROR.to_string())
        );
        assert_eq!(
            format_value(&i(1), "4611686018427387904"),
            Err(MEMORY_ERROR.to_string())
        );
        assert_eq!(
            format_value(&i(1), "04611686018427387904,"),
            Err(MEMORY_ERROR.to_string())
        );
        assert_eq!(
            format_value(&s("a"), "9223372036854775807"),
            Err(MEMORY_ERROR.to_string())
        );
    }

    /// Rust strings cannot hold lone surrogates, which CPython's `%c`/`c` can produce.
    #[test]
    fn surrogates_are_an_error() {
        assert!(percent_format("%c", one(i(0xd800))).is_err());
        assert!(format_value(&i(0xdfff), "c").is_err());
    }

    /// Attribute access and item access on opaque objects are not supported.
    #[test]
    fn unsupported_field_lookups() {
        assert!(str_format("{0.real}", &[s("a")], &[]).is_err());
        assert!(str_format("{0[0]}", &[o("x", "y")], &[]).is_err());
        assert_eq!(
            str_format("{0.x}", &[i(1)], &[]),
            Err("'int' object has no attribute 'x'".to_string())
        );
    }
}
