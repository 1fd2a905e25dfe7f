//! Errors in user input (scenario files, command-line values), with file, line, column and field path.

use crate::scenario::Source;
use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;
use std::fmt;

/// A mistake in the user's input. Exit code 2.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputError {
    message: String,
}

impl InputError {
    /// An error with a complete message.
    pub fn new(message: impl Into<String>) -> Self {
        InputError {
            message: message.into(),
        }
    }

    /// A YAML syntax or type error from the parser, which already carries line, column and a snippet.
    pub fn yaml(file: &str, e: &serde_saphyr::Error) -> Self {
        let rendered = e.render_with_options(serde_saphyr::render_options! { source_name: Some(file) });
        let rendered = rendered.strip_prefix("error: ").unwrap_or(&rendered);
        InputError {
            message: format!("invalid scenario {file}: {rendered}"),
        }
    }

    /// A semantic error in the field at `path` (dotted, with list indices: `faults.0.at`).
    pub fn field(source: Option<&Source>, path: &str, problem: String) -> Self {
        let message = match source {
            Some(src) => match locate(&src.text, path) {
                Some((line, col)) => format!("{}:{line}:{col}: `{path}`: {problem}", src.name),
                None => format!("{}: `{path}`: {problem}", src.name),
            },
            None => format!("`{path}`: {problem}"),
        };
        InputError { message }
    }

    /// The message shown to the user.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for InputError {}

/// A YAML document as a tree of located nodes, used only to find where a field path is written.
enum Tree {
    Map(Vec<(String, Spanned<Tree>)>),
    Seq(Vec<Spanned<Tree>>),
    Scalar,
}

impl<'de> Deserialize<'de> for Tree {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Tree;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any YAML value")
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Tree, E> {
                Ok(Tree::Scalar)
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Tree, E> {
                Ok(Tree::Scalar)
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Tree, E> {
                Ok(Tree::Scalar)
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Tree, E> {
                Ok(Tree::Scalar)
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Tree, E> {
                Ok(Tree::Scalar)
            }
            fn visit_unit<E: de::Error>(self) -> Result<Tree, E> {
                Ok(Tree::Scalar)
            }
            fn visit_none<E: de::Error>(self) -> Result<Tree, E> {
                Ok(Tree::Scalar)
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Tree, D::Error> {
                Tree::deserialize(d)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Tree, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element::<Spanned<Tree>>()? {
                    items.push(item);
                }
                Ok(Tree::Seq(items))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Tree, A::Error> {
                let mut entries = Vec::new();
                while let Some(key) = map.next_key::<KeyText>()? {
                    let value = map.next_value::<Spanned<Tree>>()?;
                    entries.push((key.0, value));
                }
                Ok(Tree::Map(entries))
            }
        }
        d.deserialize_any(V)
    }
}

/// A mapping key of any scalar type, as text.
struct KeyText(String);

impl<'de> Deserialize<'de> for KeyText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = KeyText;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a scalar key")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<KeyText, E> {
                Ok(KeyText(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<KeyText, E> {
                Ok(KeyText(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<KeyText, E> {
                Ok(KeyText(v.to_string()))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<KeyText, E> {
                Ok(KeyText(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

/// The line and column (1-based) where the value at a dotted `path` is written in `yaml`, or, when that exact
/// path is not written (a default was used), the deepest written ancestor.
pub fn locate(yaml: &str, path: &str) -> Option<(u64, u64)> {
    let root: Spanned<Tree> = serde_saphyr::from_str(yaml).ok()?;
    let mut node = &root;
    let mut best = None;
    for part in path.split('.') {
        let next = match &node.value {
            Tree::Map(entries) => entries.iter().find(|(k, _)| k == part).map(|(_, v)| v),
            Tree::Seq(items) => part.parse::<usize>().ok().and_then(|i| items.get(i)),
            Tree::Scalar => None,
        };
        match next {
            Some(n) => {
                node = n;
                best = Some((n.referenced.line(), n.referenced.column()));
            }
            None => break,
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locates_nested_fields_and_list_items() {
        let yaml = "cluster:\n  nodes: 5\nfaults:\n  - at: 1s\n    crash: leader\n  - after: 2s\n    heal: all\n";
        assert_eq!(locate(yaml, "cluster.nodes"), Some((2, 10)));
        assert_eq!(locate(yaml, "faults.1.heal"), Some((7, 11)));
        // A field left to its default points at its nearest written parent.
        assert_eq!(locate(yaml, "faults.1.crash"), Some((6, 5)));
        assert_eq!(locate(yaml, "raft.heartbeat"), None);
    }
}
