//! `$NAME` / `${NAME}` expansion of the definition text, as dag-factory does with Python's
//! `os.path.expandvars` before parsing.

/// Replaces `$NAME` and `${NAME}` with the value `lookup` gives; a name it does not know is left
/// as written (so `${{ params.x }}` in a template survives). `NAME` is a run of letters, digits
/// and underscores, as Python's `\w`.
pub fn expand_vars(text: &str, lookup: &dyn Fn(&str) -> Option<String>) -> String {
    if !text.contains('$') {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let (name, consumed) = if let Some(braced) = after.strip_prefix('{') {
            match braced.find('}') {
                Some(end) => (&braced[..end], end + 2),
                None => ("", 0),
            }
        } else {
            let end = after
                .char_indices()
                .find(|(_, c)| !(c.is_alphanumeric() || *c == '_'))
                .map_or(after.len(), |(j, _)| j);
            (&after[..end], end)
        };
        match (consumed, lookup(name)) {
            (n, Some(value)) if n > 0 && !name.is_empty() => {
                out.push_str(&value);
                rest = &after[consumed..];
            }
            _ => {
                out.push('$');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "BUCKET" => Some("my-bucket".into()),
            "EMPTY" => Some(String::new()),
            _ => None,
        }
    }

    #[test]
    fn expands_like_python_expandvars() {
        assert_eq!(expand_vars("s3://$BUCKET/x", &env), "s3://my-bucket/x");
        assert_eq!(expand_vars("s3://${BUCKET}x", &env), "s3://my-bucketx");
        assert_eq!(
            expand_vars("$UNKNOWN and ${UNKNOWN}", &env),
            "$UNKNOWN and ${UNKNOWN}"
        );
        assert_eq!(expand_vars("${{ params.x }}", &env), "${{ params.x }}");
        assert_eq!(expand_vars("a$EMPTY.b", &env), "a.b");
        assert_eq!(expand_vars("cost: 5$", &env), "cost: 5$");
        assert_eq!(expand_vars("${BUCKET", &env), "${BUCKET");
        assert_eq!(expand_vars("$$BUCKET", &env), "$my-bucket");
        assert_eq!(expand_vars("é$BUCKETé", &env), "é$BUCKETé");
    }
}
