//! Matching what was seen (a frame, an application event) against what a
//! scenario expects, both as YAML values.
//!
//! A pattern names only the fields it cares about:
//! - a mapping matches a mapping that has every key of the pattern with a
//!   matching value; a key the actual value leaves out matches `false`, `0`
//!   or `null` (the notation omits fields at their default);
//! - a sequence matches a sequence of the same length, item by item;
//! - `"*"` matches any value that is present;
//! - `{between: [LOW, HIGH]}` matches a number in that closed range;
//! - `{contains: TEXT}` matches a string containing TEXT;
//! - `{not: PATTERN}` matches what PATTERN does not;
//! - `{one_of: [PATTERN, ...]}` matches what any of the patterns matches;
//! - a bare string where a frame is expected is shorthand for `{type: STRING}`.

use serde_norway::{Mapping, Value};

/// True when `actual` matches `pattern`.
pub fn matches(pattern: &Value, actual: Option<&Value>) -> bool {
    if let Value::Mapping(map) = pattern
        && map.len() == 1
        && let Some((Value::String(op), arg)) = map.iter().next()
    {
        match op.as_str() {
            "between" => return between(arg, actual),
            "contains" => {
                return match (arg, actual) {
                    (Value::String(needle), Some(Value::String(hay))) => hay.contains(needle),
                    _ => false,
                };
            }
            "not" => return !matches(arg, actual),
            "one_of" => {
                return match arg {
                    Value::Sequence(options) => options.iter().any(|o| matches(o, actual)),
                    _ => false,
                };
            }
            _ => {}
        }
    }
    let Some(actual) = actual else {
        return is_default(pattern);
    };
    match (pattern, actual) {
        (Value::String(s), _) if s == "*" => true,
        (Value::Mapping(p), Value::Mapping(a)) => mapping_matches(p, a),
        (Value::Sequence(p), Value::Sequence(a)) => {
            p.len() == a.len() && p.iter().zip(a).all(|(p, a)| matches(p, Some(a)))
        }
        (Value::Number(p), Value::Number(a)) => p.as_f64() == a.as_f64(),
        (Value::Tagged(p), _) => matches(&p.value, Some(actual)),
        (p, a) => p == a,
    }
}

fn mapping_matches(pattern: &Mapping, actual: &Mapping) -> bool {
    pattern
        .iter()
        .all(|(key, expected)| matches(expected, actual.get(key)))
}

fn between(range: &Value, actual: Option<&Value>) -> bool {
    let (Value::Sequence(bounds), Some(Value::Number(n))) = (range, actual) else {
        return false;
    };
    let [Value::Number(low), Value::Number(high)] = bounds.as_slice() else {
        return false;
    };
    match (low.as_f64(), high.as_f64(), n.as_f64()) {
        (Some(low), Some(high), Some(n)) => low <= n && n <= high,
        _ => false,
    }
}

/// The values a field left out stands for.
fn is_default(pattern: &Value) -> bool {
    match pattern {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::Sequence(s) => s.is_empty(),
        Value::Mapping(m) => m.is_empty(),
        _ => false,
    }
}

/// A frame pattern: a bare string means `{type: STRING}`.
pub fn frame_pattern(pattern: &Value) -> Value {
    match pattern {
        Value::String(name) => {
            let mut map = Mapping::new();
            map.insert(Value::String("type".into()), Value::String(name.clone()));
            Value::Mapping(map)
        }
        other => other.clone(),
    }
}

/// A value as one line of YAML in flow style (for messages and transcripts).
pub fn brief(value: &Value) -> String {
    match value {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => scalar(s),
        Value::Sequence(items) => {
            let inner: Vec<String> = items.iter().map(brief).collect();
            format!("[{}]", inner.join(", "))
        }
        Value::Mapping(map) => {
            let inner: Vec<String> = map
                .iter()
                .map(|(k, v)| format!("{}: {}", brief(k), brief(v)))
                .collect();
            format!("{{{}}}", inner.join(", "))
        }
        Value::Tagged(tagged) => format!("{} {}", tagged.tag, brief(&tagged.value)),
    }
}

/// A string as a YAML flow scalar: plain when that reads back as the same
/// string, double-quoted otherwise.
fn scalar(s: &str) -> String {
    let plain_safe = !s.is_empty()
        && s.trim() == s
        && !s.starts_with([
            '-', '?', ':', ',', '[', ']', '{', '}', '#', '&', '*', '!', '|', '>', '\'', '"', '%',
            '@', '`',
        ])
        && !s.contains([
            ',', '[', ']', '{', '}', '"', '\'', '#', '\n', '\r', '\t', '\\',
        ])
        && !s.contains(": ")
        && !s.ends_with(':')
        && s.chars().all(|c| !c.is_control())
        && matches!(serde_norway::from_str::<Value>(s), Ok(Value::String(ref t)) if t == s);
    if plain_safe {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn yaml(text: &str) -> Value {
        serde_norway::from_str(text).expect("valid YAML")
    }

    #[test]
    fn subset_of_fields() {
        let actual = yaml("{type: RST_STREAM, stream_id: 1, status: PROTOCOL_ERROR}");
        assert!(matches(&yaml("{type: RST_STREAM}"), Some(&actual)));
        assert!(matches(
            &yaml("{type: RST_STREAM, status: PROTOCOL_ERROR}"),
            Some(&actual)
        ));
        assert!(!matches(
            &yaml("{type: RST_STREAM, status: CANCEL}"),
            Some(&actual)
        ));
        assert!(!matches(&yaml("{type: GOAWAY}"), Some(&actual)));
    }

    #[test]
    fn omitted_fields_are_defaults() {
        let actual = yaml("{type: DATA, stream_id: 1}");
        assert!(matches(&yaml("{fin: false}"), Some(&actual)));
        assert!(!matches(&yaml("{fin: true}"), Some(&actual)));
    }

    #[test]
    fn operators() {
        let actual = yaml("{n: 5, text: session closed, list: [1, 2]}");
        assert!(matches(&yaml("{n: {between: [1, 5]}}"), Some(&actual)));
        assert!(!matches(&yaml("{n: {between: [6, 9]}}"), Some(&actual)));
        assert!(matches(&yaml("{text: {contains: closed}}"), Some(&actual)));
        assert!(matches(&yaml("{n: {not: 4}}"), Some(&actual)));
        assert!(matches(&yaml("{n: {one_of: [4, 5]}}"), Some(&actual)));
        assert!(!matches(&yaml("{n: {one_of: [4, 6]}}"), Some(&actual)));
        assert!(matches(&yaml("{n: '*'}"), Some(&actual)));
        assert!(!matches(&yaml("{missing: '*'}"), Some(&actual)));
        assert!(matches(&yaml("{list: [1, 2]}"), Some(&actual)));
        assert!(!matches(&yaml("{list: [1]}"), Some(&actual)));
    }

    #[test]
    fn nested_mappings_are_subsets() {
        let actual = yaml("{headers: {':status': '200', ':version': HTTP/1.1}}");
        assert!(matches(
            &yaml("{headers: {':status': '200'}}"),
            Some(&actual)
        ));
        assert!(!matches(
            &yaml("{headers: {':status': '404'}}"),
            Some(&actual)
        ));
    }

    #[test]
    fn brief_reads_back() {
        for text in [
            "{type: PING, id: 1}",
            "{headers: {':status': '200', ':path': /a b, x: 'a: b', y: '', z: 'true', w: \"q\\\"\\n\"}}",
            "[1, -2, 'x,y', '#c', null, ~]",
        ] {
            let value = yaml(text);
            assert_eq!(yaml(&brief(&value)), value, "{}", brief(&value));
        }
    }

    #[test]
    fn bare_string_is_a_type() {
        assert_eq!(frame_pattern(&yaml("PING")), yaml("{type: PING}"));
    }
}
