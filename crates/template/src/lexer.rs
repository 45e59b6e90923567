//! Jinja2's lexer: template text -> tokens, with Jinja2's default delimiters and whitespace
//! rules (`trim_blocks` and `lstrip_blocks` off, `-` whitespace control, one trailing newline
//! dropped).

use crate::error::Error;

/// A token of a template.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    /// Literal text between tags.
    Text(String),
    /// `{{`
    VarStart,
    /// `}}`
    VarEnd,
    /// `{%`
    BlockStart,
    /// `%}`
    BlockEnd,
    Name(String),
    Str(String),
    Int(i64),
    Float(f64),
    /// An operator or punctuation: `+ - * / // % ** ~ == != < <= > >= = ( ) [ ] { } . , : |`
    Op(&'static str),
    Eof,
}

/// A token and the line it starts on.
#[derive(Debug, Clone)]
pub(crate) struct Token {
    pub(crate) tok: Tok,
    pub(crate) line: usize,
}

const OPS: &[&str] = &[
    "//", "**", "==", "!=", "<=", ">=", "+", "-", "*", "/", "%", "~", "<", ">", "=", "(", ")", "[",
    "]", "{", "}", ".", ",", ":", "|",
];

fn syntax(msg: impl Into<String>, line: usize) -> Error {
    Error::syntax(msg, line)
}

/// Splits a template into tokens.
pub(crate) fn tokenize(source: &str) -> Result<Vec<Token>, Error> {
    // Jinja2 splits the source at `\r\n`, `\r` and `\n` and joins it with `\n` (its
    // newline_sequence), and keep_trailing_newline=False drops one trailing newline.
    let normalized;
    let source = if source.contains('\r') {
        normalized = source.replace("\r\n", "\n").replace('\r', "\n");
        normalized.as_str()
    } else {
        source
    };
    let source = source.strip_suffix('\n').unwrap_or(source);
    let mut out: Vec<Token> = Vec::new();
    let bytes = source.as_bytes();
    let mut i = 0;
    let mut line = 1;
    let mut text = String::new();
    let mut text_line = 1;
    // Set by a closing `-}}` / `-%}` / `-#}`: strip leading whitespace of the next text.
    let mut strip_next = false;

    let flush = |out: &mut Vec<Token>, text: &mut String, text_line: usize, rstrip: bool| {
        if rstrip {
            let trimmed = text.trim_end().len();
            text.truncate(trimmed);
        }
        if !text.is_empty() {
            out.push(Token {
                tok: Tok::Text(std::mem::take(text)),
                line: text_line,
            });
        }
    };

    while i < bytes.len() {
        let rest = &source[i..];
        let open = if rest.starts_with("{{") {
            Some("{{")
        } else if rest.starts_with("{%") {
            Some("{%")
        } else if rest.starts_with("{#") {
            Some("{#")
        } else {
            None
        };
        let Some(open) = open else {
            let ch = rest.chars().next().unwrap_or_default();
            if strip_next && ch.is_whitespace() {
                if ch == '\n' {
                    line += 1;
                }
                i += ch.len_utf8();
                continue;
            }
            strip_next = false;
            if text.is_empty() {
                text_line = line;
            }
            if ch == '\n' {
                line += 1;
            }
            text.push(ch);
            i += ch.len_utf8();
            continue;
        };
        let after = &rest[2..];
        let lstrip = after.starts_with('-');
        let body_start = i + 2 + usize::from(lstrip || after.starts_with('+'));
        flush(&mut out, &mut text, text_line, lstrip);

        if open == "{#" {
            let Some(end) = source[body_start..].find("#}") else {
                return Err(syntax("Missing end of comment tag", line));
            };
            let body = &source[body_start..body_start + end];
            line += body.matches('\n').count();
            strip_next = body.ends_with('-');
            i = body_start + end + 2;
            continue;
        }

        // `{% raw %}...{% endraw %}` is text.
        if open == "{%" {
            let inner = source[body_start..].trim_start();
            if let Some(after_raw) = inner.strip_prefix("raw")
                && let Some(close) = after_raw
                    .trim_start()
                    .strip_prefix("-%}")
                    .or_else(|| after_raw.trim_start().strip_prefix("%}"))
            {
                let close_strip = after_raw.trim_start().starts_with('-');
                let raw_start = source.len() - close.len();
                let Some((end_tag_at, end_tag_len, end_lstrip, end_rstrip)) =
                    find_endraw(&source[raw_start..])
                else {
                    return Err(syntax("Missing end of raw directive", line));
                };
                let mut raw = source[raw_start..raw_start + end_tag_at].to_owned();
                if close_strip {
                    raw = raw.trim_start().to_owned();
                }
                if end_lstrip {
                    raw.truncate(raw.trim_end().len());
                }
                line += source[i..raw_start + end_tag_at + end_tag_len]
                    .matches('\n')
                    .count();
                if !raw.is_empty() {
                    out.push(Token {
                        tok: Tok::Text(raw),
                        line,
                    });
                }
                strip_next = end_rstrip;
                i = raw_start + end_tag_at + end_tag_len;
                continue;
            }
        }

        let (start_tok, close) = if open == "{{" {
            (Tok::VarStart, "}}")
        } else {
            (Tok::BlockStart, "%}")
        };
        out.push(Token {
            tok: start_tok,
            line,
        });
        i = body_start;
        // Expression tokens until the closing delimiter.
        let mut depth = 0usize;
        loop {
            let rest = &source[i..];
            let Some(c) = rest.chars().next() else {
                let what = if close == "}}" {
                    "print statement"
                } else {
                    "block statement"
                };
                return Err(syntax(
                    format!("unexpected end of template, expected end of {what}"),
                    line,
                ));
            };
            if c == '\n' {
                line += 1;
                i += 1;
                continue;
            }
            if c.is_whitespace() {
                i += c.len_utf8();
                continue;
            }
            if depth == 0 {
                let (dash, plus) = (
                    rest.starts_with(&format!("-{close}")),
                    rest.starts_with(&format!("+{close}")),
                );
                if rest.starts_with(close) || dash || plus {
                    out.push(Token {
                        tok: if close == "}}" {
                            Tok::VarEnd
                        } else {
                            Tok::BlockEnd
                        },
                        line,
                    });
                    i += close.len() + usize::from(dash || plus);
                    strip_next = dash;
                    break;
                }
            }
            if c == '\'' || c == '"' {
                let (s, used, newlines) =
                    lex_string(rest, c).ok_or_else(|| syntax("unexpected char '\\'' at", line))?;
                out.push(Token {
                    tok: Tok::Str(s),
                    line,
                });
                line += newlines;
                i += used;
                continue;
            }
            if c.is_ascii_digit() {
                let (tok, used) = lex_number(rest).ok_or_else(|| syntax("invalid number", line))?;
                out.push(Token { tok, line });
                i += used;
                continue;
            }
            if c.is_alphabetic() || c == '_' {
                let len = rest
                    .char_indices()
                    .find(|(_, ch)| !(ch.is_alphanumeric() || *ch == '_'))
                    .map_or(rest.len(), |(j, _)| j);
                out.push(Token {
                    tok: Tok::Name(rest[..len].to_owned()),
                    line,
                });
                i += len;
                continue;
            }
            let Some(op) = OPS.iter().find(|op| rest.starts_with(**op)) else {
                return Err(syntax(format!("unexpected char {c:?}"), line));
            };
            match *op {
                "(" | "[" | "{" => depth += 1,
                ")" | "]" | "}" => depth = depth.saturating_sub(1),
                _ => {}
            }
            out.push(Token {
                tok: Tok::Op(op),
                line,
            });
            i += op.len();
        }
    }
    flush(&mut out, &mut text, text_line, false);
    out.push(Token {
        tok: Tok::Eof,
        line,
    });
    Ok(out)
}

/// Finds `{% endraw %}` (with optional `-`): offset, length, and the strip flags.
fn find_endraw(s: &str) -> Option<(usize, usize, bool, bool)> {
    let mut from = 0;
    while let Some(at) = s[from..].find("{%") {
        let start = from + at;
        let mut j = start + 2;
        let lstrip = s[j..].starts_with('-');
        if lstrip || s[j..].starts_with('+') {
            j += 1;
        }
        let inner = &s[j..];
        let trimmed = inner.trim_start();
        if let Some(after) = trimmed.strip_prefix("endraw") {
            let after_trim = after.trim_start();
            let rstrip = after_trim.starts_with("-%}");
            if rstrip || after_trim.starts_with("%}") {
                let end = s.len() - after_trim.len() + if rstrip { 3 } else { 2 };
                return Some((start, end - start, lstrip, rstrip));
            }
        }
        from = start + 2;
    }
    None
}

/// A quoted string with Python escapes: (value, bytes used, newlines inside).
fn lex_string(s: &str, quote: char) -> Option<(String, usize, usize)> {
    let mut out = String::new();
    let mut chars = s.char_indices().skip(1);
    let mut newlines = 0;
    while let Some((i, c)) = chars.next() {
        if c == quote {
            return Some((out, i + 1, newlines));
        }
        if c == '\n' {
            newlines += 1;
        }
        if c == '\\' {
            let (_, e) = chars.next()?;
            match e {
                'n' => out.push('\n'),
                't' => out.push('\t'),
                'r' => out.push('\r'),
                '0' => out.push('\0'),
                '\\' => out.push('\\'),
                '\'' => out.push('\''),
                '"' => out.push('"'),
                '\n' => newlines += 1,
                'x' | 'u' | 'U' => {
                    let n = match e {
                        'x' => 2,
                        'u' => 4,
                        _ => 8,
                    };
                    let mut code = String::new();
                    for _ in 0..n {
                        code.push(chars.next()?.1);
                    }
                    out.push(char::from_u32(u32::from_str_radix(&code, 16).ok()?)?);
                }
                other => {
                    out.push('\\');
                    out.push(other);
                }
            }
        } else {
            out.push(c);
        }
    }
    None
}

/// An integer or float literal (`1_000`, `1.5`, `1e3`, `2.5e-3`).
fn lex_number(s: &str) -> Option<(Tok, usize)> {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_') {
        i += 1;
    }
    let mut is_float = false;
    if i + 1 < b.len() && b[i] == b'.' && b[i + 1].is_ascii_digit() {
        is_float = true;
        i += 1;
        while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_') {
            i += 1;
        }
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        let mut j = i + 1;
        if j < b.len() && (b[j] == b'+' || b[j] == b'-') {
            j += 1;
        }
        if j < b.len() && b[j].is_ascii_digit() {
            while j < b.len() && b[j].is_ascii_digit() {
                j += 1;
            }
            is_float = true;
            i = j;
        }
    }
    let text: String = s[..i].chars().filter(|c| *c != '_').collect();
    if is_float {
        Some((Tok::Float(text.parse().ok()?), i))
    } else {
        match text.parse::<i64>() {
            Ok(n) => Some((Tok::Int(n), i)),
            Err(_) => Some((Tok::Float(text.parse().ok()?), i)),
        }
    }
}
