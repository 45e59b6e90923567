//! YAML text -> a tree of [`Node`]s with positions, resolved the way PyYAML's `FullLoader` does.
//!
//! dag-factory parses definitions with PyYAML's `FullLoader`, which follows YAML 1.1: `yes`,
//! `off` are booleans, `010` is octal, `1:30` is 90, an unquoted `2024-01-01` is a date and
//! `!!binary` holds bytes. serde_yaml follows YAML 1.2 and drops positions once a document is a
//! `Value`, so this module is the one place that talks to a YAML library (yaml-rust2's event
//! parser). Swapping the library touches this file only.
//!
//! Hostile input is bounded: aliases are expanded with a budget (an "alias bomb" fails instead
//! of eating memory), nesting depth is capped, and duplicate keys are refused instead of PyYAML's
//! silent "last one wins".

use std::collections::HashMap;

use base64::Engine as _;
use jiff::civil;
use yaml_rust2::parser::{Event, Parser, Tag};
use yaml_rust2::scanner::{Marker, TScalarStyle};

use crate::diag::Pos;

/// The most nodes a document may expand to, aliases included. A 50 KB definition has a few
/// thousand; a billion-laughs document reaches this quickly and is refused.
const MAX_NODES: usize = 200_000;
/// The deepest nesting of sequences and mappings accepted.
const MAX_DEPTH: usize = 64;

/// A YAML node and where it starts.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Node {
    pub(crate) value: Yaml,
    pub(crate) pos: Pos,
}

/// A mapping key (always read as text, as dag-factory only uses string keys) and its position.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Key {
    pub(crate) text: String,
    pub(crate) pos: Pos,
}

/// A resolved YAML value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Yaml {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Binary(Vec<u8>),
    /// An unquoted date (`2024-01-01`).
    Date(civil::Date),
    /// An unquoted date and time; the offset in seconds when the text had one.
    DateTime(civil::DateTime, Option<i32>),
    Seq(Vec<Node>),
    Map(Vec<(Key, Node)>),
}

impl Yaml {
    /// The kind of value, for error messages ("expected a mapping, found a string").
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Yaml::Null => "null",
            Yaml::Bool(_) => "a boolean",
            Yaml::Int(_) => "an integer",
            Yaml::Float(_) => "a number",
            Yaml::Str(_) => "a string",
            Yaml::Binary(_) => "binary data",
            Yaml::Date(_) | Yaml::DateTime(..) => "a date",
            Yaml::Seq(_) => "a list",
            Yaml::Map(_) => "a mapping",
        }
    }
}

/// Why a text is not a usable YAML document.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct YamlError {
    pub(crate) message: String,
    pub(crate) pos: Option<Pos>,
}

fn pos_of(m: &Marker) -> Pos {
    Pos {
        line: m.line(),
        col: m.col() + 1,
    }
}

fn bomb(pos: Pos) -> YamlError {
    err(
        format!(
            "the document expands to more than {MAX_NODES} values (aliases of aliases, an \
             \"alias bomb\"); refusing to load it"
        ),
        pos,
    )
}

fn err(message: impl Into<String>, pos: Pos) -> YamlError {
    YamlError {
        message: message.into(),
        pos: Some(pos),
    }
}

enum Frame {
    Seq {
        items: Vec<Node>,
        /// Nodes in this subtree so far, aliases expanded.
        size: usize,
        anchor: usize,
        pos: Pos,
    },
    Map {
        entries: Vec<(Key, Node)>,
        /// Keys written as `<<` (YAML 1.1 merge keys), resolved when the mapping ends.
        merges: Vec<Node>,
        key: Option<(Key, bool)>,
        /// Nodes in this subtree so far, aliases expanded.
        size: usize,
        anchor: usize,
        pos: Pos,
    },
}

/// Parses one YAML document. An empty document (only comments or whitespace) gives `Ok(None)`.
///
/// PyYAML accepts lines inside a flow collection (`[...]`, `{...}`) that are indented less than
/// the block they belong to, as people write them by hand (`deps: [\n  a,\n]`); yaml-rust2
/// follows the spec and refuses them. When that is the only problem, those lines are indented
/// past their block and parsed again: inside a flow collection, leading whitespace of a line
/// carries no meaning, so the result is what PyYAML reads.
pub(crate) fn parse(text: &str) -> Result<Option<Node>, YamlError> {
    match parse_strict(text) {
        Err(e) if e.message.starts_with("invalid indentation") => {
            let lenient = reindent_flow_lines(text);
            if lenient == text {
                return Err(e);
            }
            parse_strict(&lenient).map_err(|_| e)
        }
        other => other,
    }
}

/// Indents every line that starts inside a flow collection two columns past the line that
/// opened the collection. Quotes and comments are followed so brackets inside them do not count.
fn reindent_flow_lines(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 64);
    let mut depth = 0usize;
    let mut base = 0usize;
    let mut quote: Option<char> = None;
    for line in text.split_inclusive('\n') {
        let leading = line.len() - line.trim_start_matches(' ').len();
        if depth > 0 && quote.is_none() && leading <= base && !line.trim().is_empty() {
            out.push_str(&" ".repeat(base + 2 - leading));
        } else if depth == 0 {
            base = leading;
        }
        out.push_str(line);
        let mut prev = ' ';
        let mut chars = line.chars().peekable();
        while let Some(c) = chars.next() {
            match quote {
                Some('\'') => {
                    if c == '\'' {
                        if chars.peek() == Some(&'\'') {
                            chars.next();
                        } else {
                            quote = None;
                        }
                    }
                }
                Some(_) => {
                    if c == '\\' {
                        chars.next();
                    } else if c == '"' {
                        quote = None;
                    }
                }
                None => match c {
                    '#' if prev == ' ' || prev == '\t' => break,
                    '\'' | '"' if depth > 0 || matches!(prev, ' ' | ':' | '[' | '{' | ',') => {
                        quote = Some(c)
                    }
                    '[' | '{' => depth += 1,
                    ']' | '}' => depth = depth.saturating_sub(1),
                    _ => {}
                },
            }
            prev = c;
        }
    }
    out
}

fn parse_strict(text: &str) -> Result<Option<Node>, YamlError> {
    let mut parser = Parser::new_from_str(text);
    let mut stack: Vec<Frame> = Vec::new();
    let mut anchors: HashMap<usize, (Node, usize)> = HashMap::new();
    let mut budget = MAX_NODES;
    let mut root: Option<Node> = None;
    let mut documents = 0usize;

    loop {
        let (event, mark) = parser.next_token().map_err(|e| YamlError {
            message: e.info().to_owned(),
            pos: Some(pos_of(e.marker())),
        })?;
        let pos = pos_of(&mark);
        let finished: Option<(Node, usize, usize)> = match event {
            Event::StreamEnd => break,
            Event::StreamStart | Event::Nothing | Event::DocumentEnd => None,
            Event::DocumentStart => {
                documents += 1;
                if documents > 1 {
                    return Err(err(
                        "the file holds more than one YAML document (a second `---`); a \
                         workflow definition is a single document",
                        pos,
                    ));
                }
                None
            }
            Event::Alias(id) => {
                let (node, size) = anchors.get(&id).ok_or_else(|| {
                    err(
                        "an alias refers to an anchor that is not defined before it",
                        pos,
                    )
                })?;
                // Check the budget before cloning: the clone is what would eat the memory.
                budget = budget.checked_sub(*size).ok_or_else(|| bomb(pos))?;
                Some((node.clone(), 0, *size))
            }
            Event::Scalar(text, style, anchor, tag) => {
                budget = budget.checked_sub(1).ok_or_else(|| bomb(pos))?;
                let value = resolve_scalar(text, style, tag.as_ref(), pos)?;
                Some((Node { value, pos }, anchor, 1))
            }
            Event::SequenceStart(anchor, tag) => {
                check_collection_tag(tag.as_ref(), "seq", pos)?;
                if stack.len() >= MAX_DEPTH {
                    return Err(err(
                        format!("the document nests deeper than {MAX_DEPTH} levels"),
                        pos,
                    ));
                }
                stack.push(Frame::Seq {
                    items: Vec::new(),
                    size: 1,
                    anchor,
                    pos,
                });
                None
            }
            Event::MappingStart(anchor, tag) => {
                check_collection_tag(tag.as_ref(), "map", pos)?;
                if stack.len() >= MAX_DEPTH {
                    return Err(err(
                        format!("the document nests deeper than {MAX_DEPTH} levels"),
                        pos,
                    ));
                }
                stack.push(Frame::Map {
                    entries: Vec::new(),
                    merges: Vec::new(),
                    key: None,
                    size: 1,
                    anchor,
                    pos,
                });
                None
            }
            Event::SequenceEnd => match stack.pop() {
                Some(Frame::Seq {
                    items,
                    size,
                    anchor,
                    pos,
                }) => {
                    budget = budget.checked_sub(1).ok_or_else(|| bomb(pos))?;
                    Some((
                        Node {
                            value: Yaml::Seq(items),
                            pos,
                        },
                        anchor,
                        size,
                    ))
                }
                _ => return Err(err("unbalanced sequence", pos)),
            },
            Event::MappingEnd => match stack.pop() {
                Some(Frame::Map {
                    entries,
                    merges,
                    size,
                    anchor,
                    pos,
                    ..
                }) => {
                    budget = budget.checked_sub(1).ok_or_else(|| bomb(pos))?;
                    let entries = finish_mapping(entries, merges)?;
                    Some((
                        Node {
                            value: Yaml::Map(entries),
                            pos,
                        },
                        anchor,
                        size,
                    ))
                }
                _ => return Err(err("unbalanced mapping", pos)),
            },
        };

        let Some((node, anchor, size)) = finished else {
            continue;
        };
        if anchor != 0 {
            anchors.insert(anchor, (node.clone(), size));
        }
        match stack.last_mut() {
            None => root = Some(node),
            Some(Frame::Seq {
                items, size: total, ..
            }) => {
                *total += size;
                items.push(node);
            }
            Some(Frame::Map {
                entries,
                merges,
                key,
                size: total,
                ..
            }) => {
                *total += size;
                match key.take() {
                    None => {
                        let is_merge = matches!(&node.value, Yaml::Str(s) if s == "<<");
                        let pos = node.pos;
                        let text = key_text(node)?;
                        *key = Some((Key { text, pos }, is_merge));
                    }
                    Some((_, true)) => merges.push(node),
                    Some((k, false)) => entries.push((k, node)),
                }
            }
        }
    }
    Ok(root)
}

/// Applies `<<` merge keys (explicit keys win, earlier merged mappings win over later ones) and
/// refuses duplicate keys.
fn finish_mapping(
    mut entries: Vec<(Key, Node)>,
    merges: Vec<Node>,
) -> Result<Vec<(Key, Node)>, YamlError> {
    for (i, (k, _)) in entries.iter().enumerate() {
        if let Some((first, _)) = entries[..i].iter().find(|(f, _)| f.text == k.text) {
            return Err(err(
                format!(
                    "the key '{}' appears twice in the same mapping (first at line {}); \
                     each key may appear only once",
                    k.text, first.pos.line
                ),
                k.pos,
            ));
        }
    }
    for merge in merges {
        let sources = match merge.value {
            Yaml::Map(m) => vec![m],
            Yaml::Seq(items) => {
                let mut maps = Vec::new();
                for item in items {
                    match item.value {
                        Yaml::Map(m) => maps.push(m),
                        other => {
                            return Err(err(
                                format!("a merge key `<<` takes mappings, found {}", other.kind()),
                                item.pos,
                            ));
                        }
                    }
                }
                maps
            }
            other => {
                return Err(err(
                    format!(
                        "a merge key `<<` takes a mapping or a list of mappings, found {}",
                        other.kind()
                    ),
                    merge.pos,
                ));
            }
        };
        for source in sources {
            for (k, v) in source {
                if !entries.iter().any(|(e, _)| e.text == k.text) {
                    entries.push((k, v));
                }
            }
        }
    }
    Ok(entries)
}

fn key_text(node: Node) -> Result<String, YamlError> {
    Ok(match node.value {
        Yaml::Null => "None".to_owned(),
        Yaml::Bool(b) => if b { "True" } else { "False" }.to_owned(),
        Yaml::Int(i) => i.to_string(),
        Yaml::Float(f) => f.to_string(),
        Yaml::Str(s) => s,
        Yaml::Date(d) => d.to_string(),
        Yaml::DateTime(dt, _) => dt.to_string(),
        other => {
            return Err(err(
                format!(
                    "a mapping key must be a plain value, found {}",
                    other.kind()
                ),
                node.pos,
            ));
        }
    })
}

fn is_core_tag(tag: &Tag, suffix: &str) -> bool {
    (tag.handle == "!!" && tag.suffix == suffix)
        || (tag.handle.is_empty() && tag.suffix == format!("tag:yaml.org,2002:{suffix}"))
        || (tag.handle == "tag:yaml.org,2002:" && tag.suffix == suffix)
}

fn tag_text(tag: &Tag) -> String {
    format!("{}{}", tag.handle, tag.suffix)
}

fn check_collection_tag(tag: Option<&Tag>, kind: &str, pos: Pos) -> Result<(), YamlError> {
    let Some(tag) = tag else { return Ok(()) };
    let ok = is_core_tag(tag, kind)
        || (kind == "seq" && (is_core_tag(tag, "python/tuple") || is_core_tag(tag, "omap")))
        || (kind == "map" && is_core_tag(tag, "set"));
    if ok {
        Ok(())
    } else {
        Err(unsupported_tag(tag, pos))
    }
}

fn unsupported_tag(tag: &Tag, pos: Pos) -> YamlError {
    err(
        format!(
            "the YAML tag {} is not supported; the tags a definition may use are !!str, !!int, \
             !!float, !!bool, !!null, !!binary, !!timestamp, !!seq, !!map (PyYAML's FullLoader, \
             which dag-factory uses, refuses !!python/name and !!python/object as well)",
            tag_text(tag)
        ),
        pos,
    )
}

fn resolve_scalar(
    text: String,
    style: TScalarStyle,
    tag: Option<&Tag>,
    pos: Pos,
) -> Result<Yaml, YamlError> {
    if let Some(tag) = tag {
        let bad = |what: &str| {
            err(
                format!("'{text}' is tagged {} but is not {what}", tag_text(tag)),
                pos,
            )
        };
        if tag.handle == "!" && tag.suffix.is_empty() || is_core_tag(tag, "str") {
            return Ok(Yaml::Str(text));
        }
        if is_core_tag(tag, "binary") {
            let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
            return base64::engine::general_purpose::STANDARD
                .decode(compact.as_bytes())
                .map(Yaml::Binary)
                .map_err(|_| bad("valid base64"));
        }
        if is_core_tag(tag, "int") {
            return parse_int(&text)
                .map(Yaml::Int)
                .ok_or_else(|| bad("an integer"));
        }
        if is_core_tag(tag, "float") {
            return parse_float(&text)
                .or_else(|| parse_int(&text).map(|i| i as f64))
                .map(Yaml::Float)
                .ok_or_else(|| bad("a number"));
        }
        if is_core_tag(tag, "bool") {
            return parse_bool(&text)
                .map(Yaml::Bool)
                .ok_or_else(|| bad("a boolean"));
        }
        if is_core_tag(tag, "null") {
            return Ok(Yaml::Null);
        }
        if is_core_tag(tag, "timestamp") {
            return parse_timestamp(&text).ok_or_else(|| bad("a date or timestamp"));
        }
        return Err(unsupported_tag(tag, pos));
    }
    if style != TScalarStyle::Plain {
        return Ok(Yaml::Str(text));
    }
    Ok(resolve_plain(text))
}

/// YAML 1.1 implicit resolution of a plain scalar, in PyYAML's order.
fn resolve_plain(text: String) -> Yaml {
    if matches!(text.as_str(), "" | "~" | "null" | "Null" | "NULL") {
        return Yaml::Null;
    }
    if let Some(b) = parse_bool(&text) {
        return Yaml::Bool(b);
    }
    if let Some(i) = parse_int(&text) {
        return Yaml::Int(i);
    }
    if let Some(f) = parse_float(&text) {
        return Yaml::Float(f);
    }
    if let Some(t) = parse_timestamp(&text) {
        return t;
    }
    Yaml::Str(text)
}

fn parse_bool(s: &str) -> Option<bool> {
    match s {
        "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => Some(true),
        "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => Some(false),
        _ => None,
    }
}

fn split_sign(s: &str) -> (bool, &str) {
    match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    }
}

fn all_digits(s: &str, radix: u32) -> bool {
    s.chars().all(|c| c == '_' || c.is_digit(radix)) && s.chars().any(|c| c != '_')
}

/// Base-60 parts (`1:30:00`): the first part any digits, the others 0-59.
fn sexagesimal_parts(s: &str) -> Option<Vec<&str>> {
    let parts: Vec<&str> = s.split(':').collect();
    if parts.len() < 2 {
        return None;
    }
    let first = parts[0];
    if !all_digits(first, 10) || !first.starts_with(|c: char| ('1'..='9').contains(&c)) {
        return None;
    }
    for p in &parts[1..] {
        let ok = (1..=2).contains(&p.len())
            && p.chars().all(|c| c.is_ascii_digit())
            && (p.len() == 1 || p.as_bytes()[0] <= b'5');
        if !ok {
            return None;
        }
    }
    Some(parts)
}

/// PyYAML's int: `0b101`, `0x1F`, `017` (octal), `1_000`, `1:30` (base 60), signs allowed.
fn parse_int(s: &str) -> Option<i64> {
    let (neg, body) = split_sign(s);
    let value: i64 = if let Some(b) = body.strip_prefix("0b") {
        if !all_digits(b, 2) {
            return None;
        }
        i64::from_str_radix(&b.replace('_', ""), 2).ok()?
    } else if let Some(h) = body.strip_prefix("0x") {
        if !all_digits(h, 16) {
            return None;
        }
        i64::from_str_radix(&h.replace('_', ""), 16).ok()?
    } else if body == "0" {
        0
    } else if let Some(o) = body.strip_prefix('0') {
        if !all_digits(o, 8) {
            return None;
        }
        i64::from_str_radix(&o.replace('_', ""), 8).ok()?
    } else if let Some(parts) = sexagesimal_parts(body) {
        let mut total: i64 = 0;
        for p in parts {
            total = total
                .checked_mul(60)?
                .checked_add(p.replace('_', "").parse::<i64>().ok()?)?;
        }
        total
    } else {
        if !all_digits(body, 10) || !body.starts_with(|c: char| ('1'..='9').contains(&c)) {
            return None;
        }
        body.replace('_', "").parse::<i64>().ok()?
    };
    Some(if neg { -value } else { value })
}

/// PyYAML's float: a dot is required (`1e3` is a string in YAML 1.1), an exponent needs a sign,
/// `.inf`, `.nan`, and base 60 (`1:30.5`).
fn parse_float(s: &str) -> Option<f64> {
    match s {
        ".nan" | ".NaN" | ".NAN" => return Some(f64::NAN),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => return Some(f64::INFINITY),
        "-.inf" | "-.Inf" | "-.INF" => return Some(f64::NEG_INFINITY),
        _ => {}
    }
    let (neg, body) = split_sign(s);
    let sign = if neg { -1.0 } else { 1.0 };
    if body.contains(':') {
        let (whole, frac) = body.split_once('.')?;
        if !frac.chars().all(|c| c.is_ascii_digit() || c == '_') {
            return None;
        }
        let parts = sexagesimal_parts(whole)?;
        let mut total = 0.0f64;
        for p in parts {
            total = total * 60.0 + p.replace('_', "").parse::<f64>().ok()?;
        }
        let frac: f64 = format!("0.{}", frac.replace('_', "")).parse().ok()?;
        return Some(sign * (total + frac));
    }
    let (mantissa, exponent) = match body.find(['e', 'E']) {
        Some(i) => (&body[..i], Some(&body[i + 1..])),
        None => (body, None),
    };
    let (int_part, frac_part) = mantissa.split_once('.')?;
    let int_ok = if int_part.is_empty() {
        !frac_part.is_empty() && frac_part.starts_with(|c: char| c.is_ascii_digit())
    } else {
        int_part.starts_with(|c: char| c.is_ascii_digit())
            && int_part.chars().all(|c| c.is_ascii_digit() || c == '_')
    };
    if !int_ok || !frac_part.chars().all(|c| c.is_ascii_digit() || c == '_') {
        return None;
    }
    if let Some(e) = exponent {
        let (_, digits) = split_sign(e);
        if !(e.starts_with(['+', '-'])
            && !digits.is_empty()
            && digits.chars().all(|c| c.is_ascii_digit()))
        {
            return None;
        }
    }
    let cleaned = body.replace('_', "");
    cleaned.parse::<f64>().ok().map(|f| sign * f)
}

fn take_digits<'a>(s: &mut &'a str, min: usize, max: usize) -> Option<&'a str> {
    let n = s.bytes().take(max).take_while(u8::is_ascii_digit).count();
    if n < min {
        return None;
    }
    let (d, rest) = s.split_at(n);
    *s = rest;
    Some(d)
}

fn take_char(s: &mut &str, c: char) -> bool {
    if let Some(rest) = s.strip_prefix(c) {
        *s = rest;
        true
    } else {
        false
    }
}

/// PyYAML's timestamp: `2002-12-14`, or `2001-12-14t21:59:43.10-05:00` and its space-separated
/// variants.
fn parse_timestamp(text: &str) -> Option<Yaml> {
    let mut s = text;
    let year: i16 = take_digits(&mut s, 4, 4)?.parse().ok()?;
    if !take_char(&mut s, '-') {
        return None;
    }
    let month_s = take_digits(&mut s, 1, 2)?;
    if !take_char(&mut s, '-') {
        return None;
    }
    let day_s = take_digits(&mut s, 1, 2)?;
    let month: i8 = month_s.parse().ok()?;
    let day: i8 = day_s.parse().ok()?;
    if s.is_empty() {
        if month_s.len() != 2 || day_s.len() != 2 {
            return None;
        }
        return civil::Date::new(year, month, day).ok().map(Yaml::Date);
    }
    if !(take_char(&mut s, 'T') || take_char(&mut s, 't')) {
        let trimmed = s.trim_start_matches([' ', '\t']);
        if trimmed.len() == s.len() {
            return None;
        }
        s = trimmed;
    }
    let hour: i8 = take_digits(&mut s, 1, 2)?.parse().ok()?;
    if !take_char(&mut s, ':') {
        return None;
    }
    let minute: i8 = take_digits(&mut s, 2, 2)?.parse().ok()?;
    if !take_char(&mut s, ':') {
        return None;
    }
    let second: i8 = take_digits(&mut s, 2, 2)?.parse().ok()?;
    let mut nanos: i32 = 0;
    if take_char(&mut s, '.') {
        let frac = take_digits(&mut s, 0, usize::MAX)?;
        // Python keeps microseconds; PyYAML truncates longer fractions to six digits.
        let micros: String = frac.chars().take(6).collect();
        let micros = format!("{micros:0<6}");
        nanos = micros.parse::<i32>().ok()? * 1000;
    }
    s = s.trim_start_matches([' ', '\t']);
    let offset = if s.is_empty() {
        None
    } else if take_char(&mut s, 'Z') {
        Some(0)
    } else {
        let neg = if take_char(&mut s, '-') {
            true
        } else if take_char(&mut s, '+') {
            false
        } else {
            return None;
        };
        let h: i32 = take_digits(&mut s, 1, 2)?.parse().ok()?;
        let m: i32 = if take_char(&mut s, ':') {
            take_digits(&mut s, 2, 2)?.parse().ok()?
        } else {
            0
        };
        let secs = h * 3600 + m * 60;
        Some(if neg { -secs } else { secs })
    };
    if !s.is_empty() {
        return None;
    }
    let dt = civil::DateTime::new(year, month, day, hour, minute, second, nanos).ok()?;
    Some(Yaml::DateTime(dt, offset))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(text: &str) -> Yaml {
        match parse(&format!("k: {text}")).unwrap().unwrap().value {
            Yaml::Map(mut m) => m.remove(0).1.value,
            other => panic!("not a map: {other:?}"),
        }
    }

    #[test]
    fn yaml_1_1_scalars() {
        assert_eq!(one("yes"), Yaml::Bool(true));
        assert_eq!(one("Off"), Yaml::Bool(false));
        assert_eq!(one("'yes'"), Yaml::Str("yes".into()));
        assert_eq!(one("y"), Yaml::Str("y".into()));
        assert_eq!(one("~"), Yaml::Null);
        assert_eq!(one(""), Yaml::Null);
        assert_eq!(one("None"), Yaml::Str("None".into()));
        assert_eq!(one("010"), Yaml::Int(8));
        assert_eq!(one("0x1F"), Yaml::Int(31));
        assert_eq!(one("0b101"), Yaml::Int(5));
        assert_eq!(one("1_000"), Yaml::Int(1000));
        assert_eq!(one("1:30"), Yaml::Int(90));
        assert_eq!(one("-7"), Yaml::Int(-7));
        assert_eq!(one("09"), Yaml::Str("09".into()));
        assert_eq!(one("1e3"), Yaml::Str("1e3".into()));
        assert_eq!(one("1.0e+3"), Yaml::Float(1000.0));
        assert_eq!(one("300.0"), Yaml::Float(300.0));
        assert_eq!(one(".5"), Yaml::Float(0.5));
        assert_eq!(one("1:30.5"), Yaml::Float(90.5));
        assert_eq!(
            one("99999999999999999999"),
            Yaml::Str("99999999999999999999".into())
        );
        assert_eq!(one("2024-01-01"), Yaml::Date(civil::date(2024, 1, 1)));
        assert_eq!(
            one("2024-01-01 06:30:00"),
            Yaml::DateTime(civil::date(2024, 1, 1).at(6, 30, 0, 0), None)
        );
        assert_eq!(
            one("2001-12-14t21:59:43.10-05:00"),
            Yaml::DateTime(
                civil::date(2001, 12, 14).at(21, 59, 43, 100_000_000),
                Some(-5 * 3600)
            )
        );
        assert_eq!(one("2024-1-1"), Yaml::Str("2024-1-1".into()));
        assert_eq!(one("!!binary aGVsbG8="), Yaml::Binary(b"hello".to_vec()));
        assert_eq!(one("!!str 10"), Yaml::Str("10".into()));
        assert_eq!(one("0 6 * * *"), Yaml::Str("0 6 * * *".into()));
    }

    #[test]
    fn positions_are_one_based() {
        let root = parse("a:\n  b: 1\n").unwrap().unwrap();
        let Yaml::Map(m) = root.value else { panic!() };
        let Yaml::Map(inner) = &m[0].1.value else {
            panic!()
        };
        assert_eq!(inner[0].0.pos, Pos { line: 2, col: 3 });
    }

    #[test]
    fn aliases_merge_keys_and_duplicates() {
        let root = parse("base: &b {x: 1, y: 2}\nc:\n  <<: *b\n  y: 3\n")
            .unwrap()
            .unwrap();
        let Yaml::Map(m) = root.value else { panic!() };
        let Yaml::Map(c) = &m[1].1.value else {
            panic!()
        };
        let got: Vec<_> = c
            .iter()
            .map(|(k, v)| (k.text.as_str(), v.value.clone()))
            .collect();
        assert_eq!(got, vec![("y", Yaml::Int(3)), ("x", Yaml::Int(1))]);

        let e = parse("a: 1\nb: 2\na: 3\n").unwrap_err();
        assert!(e.message.contains("'a' appears twice"), "{}", e.message);
        assert_eq!(e.pos.unwrap().line, 3);
    }

    #[test]
    fn flow_lines_indented_less_than_their_block_are_read_as_pyyaml_does() {
        let root = parse("a:\n  b: [\n    x,\n  ]\n  c: {k: 1,\nj: 2}\n  d: '[not a list'\n")
            .unwrap()
            .unwrap();
        let Yaml::Map(m) = root.value else { panic!() };
        let Yaml::Map(a) = &m[0].1.value else {
            panic!()
        };
        assert!(matches!(&a[0].1.value, Yaml::Seq(items) if items.len() == 1));
        assert!(matches!(&a[1].1.value, Yaml::Map(kv) if kv.len() == 2));
        assert_eq!(a[2].1.value, Yaml::Str("[not a list".into()));
        // Line numbers are kept.
        assert_eq!(a[2].0.pos.line, 7);
        // Other indentation errors stay errors.
        assert!(parse("a:\n  b: 1\n c: 2\n").is_err());
    }

    #[test]
    fn alias_bomb_is_refused() {
        let mut text = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        let mut prev = 'a';
        for name in 'b'..='k' {
            text.push_str(&format!(
                "{name}: &{name} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"
            ));
            prev = name;
        }
        let e = parse(&text).unwrap_err();
        assert!(e.message.contains("alias bomb"), "{}", e.message);
    }

    #[test]
    fn deep_nesting_is_refused() {
        let text = format!("{}{}", "[".repeat(100), "]".repeat(100));
        let e = parse(&text).unwrap_err();
        assert!(e.message.contains("nests deeper"), "{}", e.message);
    }

    #[test]
    fn syntax_errors_have_positions() {
        let e = parse("a: [1, 2\nb: 3\n").unwrap_err();
        assert!(e.pos.is_some());
        assert!(parse("").unwrap().is_none());
        assert!(parse("# only a comment\n").unwrap().is_none());
        let e = parse("a: 1\n---\nb: 2\n").unwrap_err();
        assert!(e.message.contains("more than one YAML document"));
        let e = parse("a: !!python/name:os.system x\n").unwrap_err();
        assert!(e.message.contains("not supported"), "{}", e.message);
    }
}
