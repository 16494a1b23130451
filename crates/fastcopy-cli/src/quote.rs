//! Names as GNU cp and ls print them in messages (`shell-escape-always`
//! quoting): always quoted, so that spaces, quotes, newlines and bytes that
//! are not UTF-8 are visible and the result can be pasted into a shell.
//!
//! - `a b` is `'a b'`; `it's` is `"it's"`; `a'$b` is `'a'\''$b'`
//! - control characters and invalid UTF-8 are written `$'\n'`, `$'\377'`
//!   between quoted runs: `new<LF>line` is `'new'$'\n''line'`

use std::ffi::OsStr;
use std::fmt::Write as _;
use std::path::Path;

use serde_json::{Map, Value, json};

/// A run of a name: printable text, or bytes to write as `$'...'` escapes.
enum Run<'a> {
    Text(&'a str),
    Escaped(&'a [u8]),
}

/// Splits `bytes` into printable text and the rest (control characters,
/// invalid UTF-8).
fn runs(bytes: &[u8]) -> Vec<Run<'_>> {
    let mut out = Vec::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        let (valid, bad) = match std::str::from_utf8(rest) {
            Ok(s) => (s, &[][..]),
            Err(e) => {
                let (v, b) = rest.split_at(e.valid_up_to());
                let bad_len = e.error_len().unwrap_or(b.len());
                (std::str::from_utf8(v).unwrap_or_default(), &b[..bad_len])
            }
        };
        // Within the valid part, control characters are escaped too.
        let mut start = 0;
        for (i, c) in valid.char_indices() {
            if c.is_control() {
                if start < i {
                    push_text(&mut out, &valid[start..i]);
                }
                push_escaped(&mut out, &valid.as_bytes()[i..i + c.len_utf8()]);
                start = i + c.len_utf8();
            }
        }
        if start < valid.len() {
            push_text(&mut out, &valid[start..]);
        }
        if !bad.is_empty() {
            push_escaped(&mut out, bad);
        }
        rest = &rest[valid.len() + bad.len()..];
    }
    out
}

fn push_text<'a>(out: &mut Vec<Run<'a>>, s: &'a str) {
    out.push(Run::Text(s));
}

fn push_escaped<'a>(out: &mut Vec<Run<'a>>, b: &'a [u8]) {
    // Adjacent escaped runs are merged by the writer below.
    out.push(Run::Escaped(b));
}

/// Characters that keep their meaning inside double quotes.
const DOUBLE_QUOTE_SPECIAL: &[char] = &['"', '$', '`', '\\', '!'];

/// `name` quoted as cp quotes a file name in its messages.
pub fn quote(name: &OsStr) -> String {
    let bytes = name.as_encoded_bytes();
    let runs = runs(bytes);
    if let [Run::Text(s)] = runs.as_slice() {
        if s.contains('\'') && !s.contains(DOUBLE_QUOTE_SPECIAL) {
            return format!("\"{s}\"");
        }
    }
    if runs.is_empty() {
        return "''".to_owned();
    }
    let mut out = String::with_capacity(bytes.len() + 2);
    let mut in_escape = false;
    for run in &runs {
        match run {
            Run::Text(s) => {
                if in_escape {
                    out.push('\'');
                    in_escape = false;
                }
                out.push('\'');
                out.push_str(&s.replace('\'', "'\\''"));
                out.push('\'');
            }
            Run::Escaped(b) => {
                if !in_escape {
                    out.push_str("$'");
                    in_escape = true;
                }
                for &byte in *b {
                    match byte {
                        b'\n' => out.push_str("\\n"),
                        b'\t' => out.push_str("\\t"),
                        b'\r' => out.push_str("\\r"),
                        0x07 => out.push_str("\\a"),
                        0x08 => out.push_str("\\b"),
                        0x0b => out.push_str("\\v"),
                        0x0c => out.push_str("\\f"),
                        _ => {
                            let _ = write!(out, "\\{byte:03o}");
                        }
                    }
                }
            }
        }
    }
    if in_escape {
        out.push('\'');
    }
    out
}

/// [`quote`] for a path.
pub fn q(path: &Path) -> String {
    quote(path.as_os_str())
}

/// Puts `path` into a JSON object under `key`: the name as a string (with
/// U+FFFD for bytes that are not UTF-8) and, only when it is not valid
/// UTF-8, `KEY_bytes`: the exact bytes as an array of numbers, so that no
/// name is lost (the presence of `KEY_bytes` is the flag).
pub fn json_path(obj: &mut Map<String, Value>, key: &str, path: &Path) {
    let os = path.as_os_str();
    match os.to_str() {
        Some(s) => {
            obj.insert(key.to_owned(), json!(s));
        }
        None => {
            obj.insert(key.to_owned(), json!(os.to_string_lossy()));
            obj.insert(format!("{key}_bytes"), json!(os.as_encoded_bytes()));
        }
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::ffi::OsStrExt;

    fn qb(b: &[u8]) -> String {
        quote(OsStr::from_bytes(b))
    }

    #[test]
    fn like_gnu_shell_escape_always() {
        for (name, want) in [
            (&b"a"[..], "'a'"),
            (b"a b", "'a b'"),
            (b"", "''"),
            (b"it's", "\"it's\""),
            (b"a'$b", "'a'\\''$b'"),
            (b"new\nline", "'new'$'\\n''line'"),
            (b"\xff", "$'\\377'"),
            (b"a\xffb", "'a'$'\\377''b'"),
            (b"\n\t", "$'\\n\\t'"),
            (b"caf\xc3\xa9", "'caf\u{e9}'"),
            (b"dir/x", "'dir/x'"),
        ] {
            assert_eq!(qb(name), want, "{name:?}");
        }
    }

    #[test]
    fn json_keeps_bytes_only_when_needed() {
        let mut m = Map::new();
        json_path(&mut m, "source", Path::new("ok"));
        json_path(
            &mut m,
            "destination",
            Path::new(OsStr::from_bytes(b"a\xff")),
        );
        assert_eq!(m["source"], "ok");
        assert!(!m.contains_key("source_bytes"));
        assert_eq!(m["destination"], "a\u{fffd}");
        assert_eq!(m["destination_bytes"], json!([97, 255]));
    }
}
