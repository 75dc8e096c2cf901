//! Values and keys as written on the command line: TOML literals with a bare-string fallback
//! (`True`/`False` accepted for Hydra users), their single-line rendering back to TOML, the
//! dotted-key syntax, and the top-level comma split used by sweeps.

use serde::Deserialize;
use toml::Value;

/// Parse a command-line value. TOML literals (`3`, `0.01`, `"s"`, `[1,2]`, `{a=1}`) first, then
/// Hydra's `True`/`False` and loose floats (`.5`, `5.`), otherwise the text itself as a string
/// (`off`, `/data/x.nii.gz`, `null`). A list may hold bare strings as in Hydra (`[lv,epi]`): its
/// elements are parsed one by one by the same rules. Text that starts like a TOML string, array
/// or table but does not parse is an error, so a typo'd list is never silently a string.
pub fn parse_value(s: &str) -> Result<Value, String> {
    match s {
        "" => return Ok(Value::String(String::new())),
        "True" => return Ok(Value::Boolean(true)),
        "False" => return Ok(Value::Boolean(false)),
        _ => {}
    }
    match Value::deserialize(toml::de::ValueDeserializer::new(s)) {
        Ok(v) => Ok(v),
        Err(_) if let Some(list) = hydra_list(s) => Ok(list),
        Err(e) if s.starts_with(['[', '{', '"', '\'']) => Err(format!(
            "'{s}' starts like a TOML {} but does not parse ({}); fix the literal or quote the whole value",
            match s.as_bytes()[0] {
                b'[' => "array",
                b'{' => "inline table",
                _ => "string",
            },
            e.message().trim().replace('\n', "; ")
        )),
        Err(_) if is_loose_float(s) => s
            .parse::<f64>()
            .map(Value::Float)
            .map_err(|e| e.to_string()),
        Err(_) => Ok(Value::String(s.to_string())),
    }
}

/// `[a, b, 3]` with bare elements, each parsed by [`parse_value`]; `None` when the brackets do not
/// balance, an element is empty, or an element does not parse.
fn hydra_list(s: &str) -> Option<Value> {
    let inner = s.strip_prefix('[')?.strip_suffix(']')?;
    let items = split_top_level(inner)?
        .into_iter()
        .map(|item| match item.trim() {
            "" => None,
            item => parse_value(item).ok(),
        })
        .collect::<Option<Vec<_>>>()?;
    Some(Value::Array(items))
}

/// `.5`, `5.`, `-.5e3`: floats that Python accepts and TOML does not.
fn is_loose_float(s: &str) -> bool {
    let body = s.strip_prefix(['+', '-']).unwrap_or(s);
    let (mantissa, exp) = match body.find(['e', 'E']) {
        Some(i) => (&body[..i], Some(&body[i + 1..])),
        None => (body, None),
    };
    let digits_ok = |d: &str| d.bytes().all(|b| b.is_ascii_digit());
    let mantissa_ok = match mantissa.split_once('.') {
        Some((a, b)) => (!a.is_empty() || !b.is_empty()) && digits_ok(a) && digits_ok(b),
        None => false,
    };
    let exp_ok = exp.is_none_or(|e| {
        let e = e.strip_prefix(['+', '-']).unwrap_or(e);
        !e.is_empty() && digits_ok(e)
    });
    mantissa_ok && exp_ok
}

/// Render a value as a single-line TOML literal (strings always quoted), which [`parse_value`]
/// reads back to the same value.
pub fn render_value(v: &Value) -> String {
    let mut out = String::new();
    write_value(&mut out, v);
    out
}

/// Render for people: strings unquoted when that reads back the same, otherwise [`render_value`].
pub fn render_value_bare(v: &Value) -> String {
    match v {
        Value::String(s) if is_bare_safe(s) => s.clone(),
        _ => render_value(v),
    }
}

fn is_bare_safe(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with(char::is_whitespace)
        && !s.ends_with(char::is_whitespace)
        && !s
            .chars()
            .any(|c| c.is_control() || ",()[]{}\"'\\=".contains(c))
        && parse_value(s).ok().as_ref().and_then(Value::as_str) == Some(s)
}

fn write_value(out: &mut String, v: &Value) {
    match v {
        Value::String(s) => write_string(out, s),
        Value::Integer(i) => out.push_str(&i.to_string()),
        Value::Float(f) => out.push_str(&render_float(*f)),
        Value::Boolean(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Datetime(d) => out.push_str(&d.to_string()),
        Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(out, x);
            }
            out.push(']');
        }
        Value::Table(t) => {
            out.push('{');
            for (i, (k, x)) in t.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_key(out, k);
                out.push('=');
                write_value(out, x);
            }
            out.push('}');
        }
    }
}

/// A float as a TOML literal: `nan`, `inf`, `-inf`, or Rust's shortest round-trip form
/// (`1.0`, `0.1`, `1e-7`), all of which TOML accepts.
pub fn render_float(f: f64) -> String {
    if f.is_nan() {
        "nan".into()
    } else if f.is_infinite() {
        if f > 0.0 { "inf".into() } else { "-inf".into() }
    } else {
        format!("{f:?}")
    }
}

fn write_key(out: &mut String, k: &str) {
    if !k.is_empty()
        && k.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        out.push_str(k);
    } else {
        write_string(out, k);
    }
}

fn write_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// One key segment: `[A-Za-z_][A-Za-z0-9_-]*`.
pub fn is_ident(s: &str) -> bool {
    let mut b = s.bytes();
    matches!(b.next(), Some(c) if c.is_ascii_alphabetic() || c == b'_')
        && b.all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'-')
}

/// A dotted key `a.b_c.d-e`.
pub fn is_dotted_key(s: &str) -> bool {
    s.split('.').all(is_ident)
}

/// Split `s` at commas that are outside brackets, braces, parentheses and quotes. `None` when
/// quotes or brackets are unbalanced (then the text is not a sweep).
pub fn split_top_level(s: &str) -> Option<Vec<&str>> {
    let mut parts = Vec::new();
    let mut depth: i32 = 0;
    let mut quote: Option<char> = None;
    let mut escaped = false;
    let mut start = 0;
    for (i, c) in s.char_indices() {
        if let Some(q) = quote {
            if escaped {
                escaped = false;
            } else if c == '\\' && q == '"' {
                escaped = true;
            } else if c == q {
                quote = None;
            }
            continue;
        }
        match c {
            '"' | '\'' => quote = Some(c),
            '[' | '{' | '(' => depth += 1,
            ']' | '}' | ')' => {
                depth -= 1;
                if depth < 0 {
                    return None;
                }
            }
            ',' if depth == 0 => {
                parts.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    if quote.is_some() || depth != 0 {
        return None;
    }
    parts.push(&s[start..]);
    Some(parts)
}

/// A short name of a value's type, for messages.
pub fn type_name(v: &Value) -> &'static str {
    match v {
        Value::String(_) => "a string",
        Value::Integer(_) => "an integer",
        Value::Float(_) => "a float",
        Value::Boolean(_) => "a boolean",
        Value::Datetime(_) => "a datetime",
        Value::Array(_) => "an array",
        Value::Table(_) => "a table",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Value {
        parse_value(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn literals_and_fallbacks() {
        assert_eq!(p("3"), Value::Integer(3));
        assert_eq!(p("0.01"), Value::Float(0.01));
        assert_eq!(p("-1e-3"), Value::Float(-1e-3));
        assert_eq!(p(".5"), Value::Float(0.5));
        assert_eq!(p("5."), Value::Float(5.0));
        assert_eq!(p("true"), Value::Boolean(true));
        assert_eq!(p("True"), Value::Boolean(true));
        assert_eq!(p("False"), Value::Boolean(false));
        assert_eq!(p("\"s\""), Value::String("s".into()));
        assert_eq!(p("'s'"), Value::String("s".into()));
        assert_eq!(p("[[1,2],[3]]").to_string(), "[[1, 2], [3]]");
        assert_eq!(
            p("{a=1, b=\"x\"}").get("b"),
            Some(&Value::String("x".into()))
        );
        for bare in [
            "off",
            "/data/x.nii.gz",
            "a b",
            "null",
            "None",
            "it's",
            "${a.b}",
            ".",
        ] {
            assert_eq!(p(bare), Value::String(bare.into()), "{bare}");
        }
        assert_eq!(p(""), Value::String(String::new()));
    }

    #[test]
    fn lists_may_hold_bare_strings_as_in_hydra() {
        assert_eq!(p("[lv,epi]").to_string(), r#"["lv", "epi"]"#);
        assert_eq!(
            p("[lv, 3, [a, 0.5], \"x,y\"]").to_string(),
            r#"["lv", 3, ["a", 0.5], "x,y"]"#
        );
        assert_eq!(p("[True]").to_string(), "[true]");
    }

    #[test]
    fn broken_literals_are_errors() {
        for bad in [
            "[1,", "{a=}", "\"open", "'x' y", "[a,,b]", "[a,]", "[a]]", "['x' y]",
        ] {
            let e = parse_value(bad).expect_err(bad);
            assert!(e.contains("does not parse"), "{e}");
        }
    }

    #[test]
    fn render_round_trips() {
        for s in [
            "3",
            "1.0",
            "1e-7",
            "-0.0",
            "inf",
            "\"a\\\"b\\n\"",
            "[1,[2,3]]",
            "{a=1,\"b c\"={d=\"x\"}}",
            "True",
        ] {
            let v = p(s);
            assert_eq!(p(&render_value(&v)), v, "{s} -> {}", render_value(&v));
        }
        assert_eq!(render_value_bare(&Value::String("off".into())), "off");
        assert_eq!(render_value_bare(&Value::String("True".into())), "\"True\"");
        assert_eq!(render_value_bare(&Value::String("3".into())), "\"3\"");
        assert_eq!(render_value_bare(&Value::String("a,b".into())), "\"a,b\"");
    }

    #[test]
    fn top_level_split() {
        assert_eq!(split_top_level("1,2,3"), Some(vec!["1", "2", "3"]));
        assert_eq!(
            split_top_level("[1,2],\"a,b\",{x=1,y=2}"),
            Some(vec!["[1,2]", "\"a,b\"", "{x=1,y=2}"])
        );
        assert_eq!(split_top_level("${env:A,1}"), Some(vec!["${env:A,1}"]));
        assert_eq!(split_top_level("it's,x"), None);
        assert_eq!(split_top_level("a]"), None);
    }

    #[test]
    fn keys() {
        assert!(is_dotted_key("nodes.predict.tta"));
        assert!(is_dotted_key("_a-b.c_1"));
        for bad in ["", "a.", ".a", "1a", "a..b", "a b", "a@b"] {
            assert!(!is_dotted_key(bad), "{bad}");
        }
    }
}
