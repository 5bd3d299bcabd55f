//! The two text forms the artifacts are written in: a JSON tree printed with two-space
//! indentation (dashboards), and the few YAML shapes rule and routing files need.
//! Every YAML scalar that is not a plain word is written as a JSON string, which YAML
//! reads as a double-quoted scalar with the same escapes.

use crate::json;

/// A JSON value. Objects keep their keys in insertion order, so the files are stable.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Json {
    Null,
    Bool(bool),
    Num(f64),
    Str(String),
    Arr(Vec<Json>),
    Obj(Vec<(String, Json)>),
}

impl Json {
    /// An object from `(key, value)` pairs.
    pub(crate) fn obj<const N: usize>(pairs: [(&str, Json); N]) -> Json {
        Json::Obj(pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
    }

    /// Adds or replaces `key` of an object.
    pub(crate) fn set(&mut self, key: &str, value: Json) {
        if let Json::Obj(pairs) = self {
            match pairs.iter_mut().find(|(k, _)| k == key) {
                Some((_, v)) => *v = value,
                None => pairs.push((key.to_owned(), value)),
            }
        }
    }

    /// The value under `key` of an object.
    #[cfg(test)]
    pub(crate) fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Obj(pairs) => pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// Pretty-printed, two spaces per level, with a final newline.
    pub(crate) fn pretty(&self) -> String {
        let mut out = String::new();
        self.write(&mut out, 0);
        out.push('\n');
        out
    }

    fn write(&self, out: &mut String, depth: usize) {
        match self {
            Json::Null => out.push_str("null"),
            Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Json::Num(n) => json::number(out, *n),
            Json::Str(s) => json::string(out, s),
            Json::Arr(items) if items.is_empty() => out.push_str("[]"),
            Json::Obj(pairs) if pairs.is_empty() => out.push_str("{}"),
            Json::Arr(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    out.push_str(if i == 0 { "\n" } else { ",\n" });
                    indent(out, depth + 1);
                    item.write(out, depth + 1);
                }
                out.push('\n');
                indent(out, depth);
                out.push(']');
            }
            Json::Obj(pairs) => {
                out.push('{');
                for (i, (key, value)) in pairs.iter().enumerate() {
                    out.push_str(if i == 0 { "\n" } else { ",\n" });
                    indent(out, depth + 1);
                    json::string(out, key);
                    out.push_str(": ");
                    value.write(out, depth + 1);
                }
                out.push('\n');
                indent(out, depth);
                out.push('}');
            }
        }
    }
}

fn indent(out: &mut String, depth: usize) {
    for _ in 0..depth {
        out.push_str("  ");
    }
}

impl From<&str> for Json {
    fn from(s: &str) -> Json {
        Json::Str(s.to_owned())
    }
}

impl From<String> for Json {
    fn from(s: String) -> Json {
        Json::Str(s)
    }
}

impl From<bool> for Json {
    fn from(b: bool) -> Json {
        Json::Bool(b)
    }
}

impl From<f64> for Json {
    fn from(n: f64) -> Json {
        Json::Num(n)
    }
}

impl From<i32> for Json {
    fn from(n: i32) -> Json {
        Json::Num(f64::from(n))
    }
}

impl From<u32> for Json {
    fn from(n: u32) -> Json {
        Json::Num(f64::from(n))
    }
}

impl From<Vec<Json>> for Json {
    fn from(items: Vec<Json>) -> Json {
        Json::Arr(items)
    }
}

/// A YAML scalar: plain when it is a word YAML cannot misread, else a JSON string.
pub(crate) fn scalar(s: &str) -> String {
    let plain = !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        && s.bytes().next().is_some_and(|b| b.is_ascii_alphabetic())
        && !matches!(
            s.to_ascii_lowercase().as_str(),
            "true" | "false" | "yes" | "no" | "on" | "off" | "null" | "y" | "n"
        );
    if plain {
        s.to_owned()
    } else {
        let mut out = String::new();
        json::string(&mut out, s);
        out
    }
}

/// `key: |-` and `text` indented by `indent` spaces plus two: a literal block, so that a
/// PromQL expression reads as written (no escaping). `text` must not end in spaces.
pub(crate) fn block(out: &mut String, indent: usize, key: &str, text: &str) {
    push_indent(out, indent);
    out.push_str(key);
    out.push_str(": |-\n");
    for line in text.lines() {
        if !line.is_empty() {
            push_indent(out, indent + 2);
            out.push_str(line);
        }
        out.push('\n');
    }
}

/// `key: value` with the value as a [`scalar`].
pub(crate) fn pair(out: &mut String, indent: usize, key: &str, value: &str) {
    push_indent(out, indent);
    out.push_str(key);
    out.push_str(": ");
    out.push_str(&scalar(value));
    out.push('\n');
}

pub(crate) fn push_indent(out: &mut String, indent: usize) {
    for _ in 0..indent {
        out.push(' ');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pretty_json() {
        let j = Json::obj([
            ("a", Json::from(1.0)),
            ("b", Json::Arr(vec![Json::from("x\"y"), Json::Null])),
            ("c", Json::Obj(Vec::new())),
        ]);
        assert_eq!(
            j.pretty(),
            "{\n  \"a\": 1,\n  \"b\": [\n    \"x\\\"y\",\n    null\n  ],\n  \"c\": {}\n}\n"
        );
        assert_eq!(j.get("a"), Some(&Json::Num(1.0)));
    }

    #[test]
    fn yaml_scalars() {
        assert_eq!(scalar("page"), "page");
        assert_eq!(scalar("yes"), "\"yes\"");
        assert_eq!(scalar("99.9"), "\"99.9\"");
        assert_eq!(scalar("a b"), "\"a b\"");
        assert_eq!(scalar(""), "\"\"");
        assert_eq!(scalar("{{ $labels.x }}"), "\"{{ $labels.x }}\"");
    }

    #[test]
    fn yaml_block() {
        let mut out = String::new();
        block(&mut out, 4, "expr", "a\n\nb");
        assert_eq!(out, "    expr: |-\n      a\n\n      b\n");
    }
}
