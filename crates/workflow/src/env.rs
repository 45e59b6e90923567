//! `$NAME` / `${NAME}` expansion of the definition text, as dag-factory does with Python's
//! `os.path.expandvars` before parsing.

/// Replaces `$NAME` and `${NAME}` with the value `lookup` gives; a name it does not know is left
/// as written (so `${{ params.x }}` in a template survives). As in Python's `posixpath`
/// (`\$(\w+|\{[^}]*\})` with `re.ASCII`), `NAME` is a run of ASCII letters, digits and
/// underscores, a braced name is everything up to the first `}`, and text that was not replaced
/// is skipped whole. dag-factory applies it to the whole file, so every string is expanded:
/// `echo ${HOME}` in a `bash_command` too.
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
                .bytes()
                .position(|c| !(c.is_ascii_alphanumeric() || c == b'_'))
                .unwrap_or(after.len());
            (&after[..end], end)
        };
        if consumed == 0 {
            // No match: `$` alone, or `${` never closed.
            out.push('$');
            rest = after;
            continue;
        }
        // `${}` matches too, and, like any name not found, is skipped whole.
        match (!name.is_empty()).then(|| lookup(name)).flatten() {
            Some(value) => out.push_str(&value),
            None => {
                out.push('$');
                out.push_str(&after[..consumed]);
            }
        }
        rest = &after[consumed..];
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
        // Python's `\w` here is ASCII (`re.ASCII`): the name ends at 'é'.
        assert_eq!(expand_vars("é$BUCKETé", &env), "émy-bucketé");
        // A name that is not replaced is skipped whole, braces and all.
        assert_eq!(expand_vars("${A$BUCKET}", &env), "${A$BUCKET}");
        assert_eq!(expand_vars("${}$BUCKET", &env), "${}my-bucket");
        assert_eq!(
            expand_vars("echo ${BUCKET}/$BUCKET_X", &env),
            "echo my-bucket/$BUCKET_X"
        );
    }
}
