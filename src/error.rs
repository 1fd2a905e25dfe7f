//! Errors in user input (scenario files, command-line values), with file, line, column and field path.

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;
use std::fmt;

/// Where a scenario (or sweep) comes from, for error messages.
#[derive(Clone, Debug)]
pub struct Source {
    /// Display name (a path).
    pub name: String,
    /// The YAML text.
    pub text: String,
}

/// A mistake in the user's input. Exit code 2.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputError {
    message: String,
    /// For a problem with one field: its path and the problem, so the message can be re-aimed at the
    /// command-line flag that set the field ([`InputError::blame_flags`]).
    field: Option<(String, String)>,
}

/// A command-line flag that set a scenario field: `--trials 0` sets `trials`, `--set cluster.nodes=0` sets
/// `cluster.nodes`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Flag {
    /// The field path it sets.
    pub path: String,
    /// The flag as the user wrote it: ``--trials 0``, ``--set `cluster.nodes=0` ``.
    pub shown: String,
}

impl InputError {
    /// An error with a complete message.
    pub fn new(message: impl Into<String>) -> Self {
        InputError {
            message: message.into(),
            field: None,
        }
    }

    /// The path of the field at fault, for an error about one field.
    pub fn field_path(&self) -> Option<&str> {
        self.field.as_ref().map(|(p, _)| p.as_str())
    }

    /// The last of `flags` that set the field at fault, a section holding it, or a field inside it.
    pub fn flag_at_fault<'f>(&self, flags: &'f [Flag]) -> Option<&'f Flag> {
        let (path, _) = self.field.as_ref()?;
        flags.iter().rev().find(|f| {
            f.path == *path || path.starts_with(&format!("{}.", f.path)) || f.path.starts_with(&format!("{path}."))
        })
    }

    /// When the field at fault was set by one of `flags` (see [`flag_at_fault`](Self::flag_at_fault)), the
    /// error names that flag, not the line of the file the flag overrode: `--trials 0: 0 trials is out of
    /// range`. The last such flag wins, as it does when the flags are applied.
    /// A flag that set a neighbour of the field at fault (`raft.election_timeout.max` when `.min` is refused
    /// for being above it) is named after the file's message instead.
    pub fn blame_flags(self, flags: &[Flag]) -> Self {
        let Some(flag) = self.flag_at_fault(flags) else {
            let section = |p: &str| p.rsplit_once('.').map(|(s, _)| s.to_string());
            let Some((path, _)) = &self.field else { return self };
            let Some(neighbour) = flags
                .iter()
                .rev()
                .find(|f| section(&f.path).is_some() && section(&f.path) == section(path))
            else {
                return self;
            };
            return InputError {
                message: format!("{} (with {})", self.message, neighbour.shown),
                field: self.field.clone(),
            };
        };
        let (path, problem) = self.field.as_ref().expect("a field error");
        let message = if flag.path == *path {
            format!("{}: {problem}", flag.shown)
        } else {
            format!("{}: `{path}`: {problem}", flag.shown)
        };
        InputError {
            message,
            field: self.field.clone(),
        }
    }

    /// A YAML syntax or type error from the parser, which already carries line, column and a snippet.
    pub fn yaml(file: &str, e: &serde_saphyr::Error) -> Self {
        Self::yaml_in(file, None, e)
    }

    /// Like [`yaml`](Self::yaml), with the text, so the message can name the field at the error's line.
    pub fn yaml_in(file: &str, text: Option<&str>, e: &serde_saphyr::Error) -> Self {
        let mut inner = e;
        while let serde_saphyr::Error::AliasError { error, .. } | serde_saphyr::Error::WithSnippet { error, .. } = inner
        {
            inner = error;
        }
        if let serde_saphyr::Error::Budget { breach, .. } = inner {
            let at = e
                .location()
                .map_or_else(String::new, |l| format!(":{}:{}", l.line(), l.column()));
            return InputError::new(format!(
                "invalid scenario {file}{at}: {}; a scenario needs a small fraction of that. If the file repeats an \
                 anchor (`*name`) many times, write the values out or use fewer; otherwise split the file \
                 into several scenarios",
                budget_words(breach)
            ));
        }
        let rendered = e.render_with_options(serde_saphyr::render_options! { source_name: Some(file) });
        let rendered = rendered.strip_prefix("error: ").unwrap_or(&rendered);
        let rendered = friendlier(rendered);
        let field = text
            .zip(e.location())
            .and_then(|(t, loc)| path_at(t, loc.line(), loc.column()))
            .map_or_else(String::new, |p| format!("`{p}`: "));
        InputError::new(format!("invalid scenario {file}: {field}{rendered}"))
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
        InputError {
            message,
            field: Some((path.to_string(), problem)),
        }
    }

    /// The message shown to the user.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for InputError {
    /// The message, with control characters other than newlines and tabs escaped (`\u{1b}`): a value copied from
    /// the input can never move the cursor, recolour or clear the user's terminal.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for c in self.message.chars() {
            if c.is_control() && c != '\n' && c != '\t' {
                write!(f, "{}", c.escape_unicode())?;
            } else {
                write!(f, "{c}")?;
            }
        }
        Ok(())
    }
}

impl std::error::Error for InputError {}

/// The largest input file raftsim reads (a scenario, a sweep): far above any real one (the catalogue's largest is
/// under 4 KiB), small enough that a wrong path (`/dev/zero`, a log file) is refused at once.
pub const MAX_INPUT_BYTES: u64 = 1 << 20;

/// Reads the `what` file at `path` as text: a regular file (a FIFO or a device is refused, as it could block or
/// never end) of at most [`MAX_INPUT_BYTES`].
pub fn read_input(path: &std::path::Path, what: &str) -> Result<String, InputError> {
    use std::io::Read;
    let cannot = |e: &dyn fmt::Display| InputError::new(format!("cannot read {what} `{}`: {e}", path.display()));
    let meta = std::fs::metadata(path).map_err(|e| cannot(&e))?;
    if !meta.is_file() {
        return Err(cannot(
            &"not a regular file (a folder, FIFO or device cannot be read as one)",
        ));
    }
    if meta.len() > MAX_INPUT_BYTES {
        return Err(cannot(&format!(
            "{} bytes, more than the {MAX_INPUT_BYTES} a {what} may have",
            meta.len()
        )));
    }
    let mut text = String::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_INPUT_BYTES + 1).read_to_string(&mut text))
        .map_err(|e| cannot(&e))?;
    if text.len() as u64 > MAX_INPUT_BYTES {
        return Err(cannot(&format!(
            "more than the {MAX_INPUT_BYTES} bytes a {what} may have"
        )));
    }
    Ok(text)
}

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

/// Replaces the parser's terse type names with what the user should write.
fn friendlier(message: &str) -> String {
    explain_tags(message)
        .replace(
            ", set DuplicateKeyPolicy in Options if acceptable",
            "; each field may be given once",
        )
        .replace(
            "expected string scalar",
            "expected a single value, not a list or a mapping",
        )
        .replace("invalid boolean", "expected true or false")
        .replace("invalid u64", "expected a whole number (0 or more)")
        .replace("invalid u32", "expected a whole number (0 or more)")
        .replace("invalid i64", "expected a whole number")
        .replace("invalid f64", "expected a number")
        .replace("invalid bool", "expected true or false")
}

/// How every scenario, sweep and `--set` value is read: plain YAML only. A tag the reader does not know
/// (`!duration 5s`, `!include x.yaml`) would otherwise be dropped without a word, so the value would silently
/// mean something other than what its author wrote; it is refused instead, as is a tag on a field name.
pub fn yaml_options() -> serde_saphyr::Options {
    serde_saphyr::options! {
        reject_unsupported_tags: true,
        reject_tagged_field_names: true,
    }
}

/// What a YAML reader limit that a file passed means, in words.
fn budget_words(breach: &serde_saphyr::budget::BudgetBreach) -> String {
    use serde_saphyr::budget::BudgetBreach as B;
    match breach {
        B::Nodes { nodes } => format!(
            "the file holds more than {} YAML values (every value, list and mapping, each use of an anchor counted \
             again), the most raftsim reads",
            nodes.saturating_sub(1)
        ),
        B::Events { events } => format!(
            "the file holds more than {} YAML parser events, the most raftsim reads",
            events.saturating_sub(1)
        ),
        B::Aliases { aliases } => format!(
            "the file uses anchors (`*name`) more than {} times, the most raftsim reads",
            aliases.saturating_sub(1)
        ),
        B::Anchors { anchors } => format!(
            "the file defines more than {} anchors (`&name`), the most raftsim reads",
            anchors.saturating_sub(1)
        ),
        B::Depth { depth } => format!("lists and mappings are nested {depth} deep, deeper than raftsim reads"),
        B::Documents { documents } => format!("the file holds {documents} YAML documents (`---`); a scenario is one"),
        B::ScalarBytes { total_scalar_bytes } => {
            format!("the file's values add up to {total_scalar_bytes} bytes of text, more than raftsim reads")
        }
        B::AliasAnchorRatio { .. } => {
            "the file uses its anchors (`*name`) far more often than it defines them (the shape of a \
             \"billion laughs\" expansion)"
                .to_string()
        }
        other => format!("the file passes a YAML reader limit ({other:?})"),
    }
}

/// Adds the fix to each "unsupported tag `!x`" of the parser's message (its header and its snippet).
fn explain_tags(message: &str) -> String {
    const TAG: &str = "unsupported tag `";
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(at) = rest.find(TAG) {
        let after = at + TAG.len();
        let Some(close) = rest[after..].find('`') else { break };
        let end = after + close + 1;
        out.push_str(&rest[..end]);
        out.push_str(": raftsim reads plain YAML; remove the tag and write the value as the field expects it");
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// Checks that `yaml` holds a mapping at its root (or is valid YAML at all: syntax errors are left to the typed
/// parse, which reports them with a snippet). `what` names the document ("scenario", "sweep").
pub fn check_root_mapping(file: &str, yaml: &str, what: &str) -> Result<(), InputError> {
    let meaningful = yaml.lines().any(|l| {
        let t = l.trim();
        !t.is_empty() && !t.starts_with('#') && t != "---"
    });
    if !meaningful {
        return Err(InputError::new(format!(
            "invalid {what} {file}: the file is empty; a {what} is a mapping of fields (see scenarios/ for examples)"
        )));
    }
    match serde_saphyr::from_str_with_options::<Spanned<Tree>>(yaml, yaml_options()) {
        Ok(root) if !matches!(root.value, Tree::Map(_)) => Err(InputError::new(format!(
            "invalid {what} {file}: line {} column {}: a {what} is a mapping of fields (`name: ...`, `cluster: ...`), not a list or a single value",
            root.referenced.line(),
            root.referenced.column()
        ))),
        _ => Ok(()),
    }
}

/// The dotted path of the field written at `line` and `column` (1-based) of `yaml`: the deepest mapping entry whose
/// value starts at or before that line (an error may point at the key, left of its value), or list item that
/// starts at or before that position. `None` when the text is not valid YAML.
pub fn path_at(yaml: &str, line: u64, column: u64) -> Option<String> {
    let root: Spanned<Tree> = serde_saphyr::from_str(yaml).ok()?;
    let mut node = &root;
    let mut parts: Vec<String> = Vec::new();
    loop {
        let next = match &node.value {
            Tree::Map(entries) => entries
                .iter()
                .rfind(|(_, v)| v.referenced.line() <= line)
                .map(|(k, v)| (k.clone(), v)),
            Tree::Seq(items) => items
                .iter()
                .enumerate()
                .rfind(|(_, v)| (v.referenced.line(), v.referenced.column()) <= (line, column))
                .map(|(i, v)| (i.to_string(), v)),
            Tree::Scalar => None,
        };
        match next {
            Some((part, n)) => {
                parts.push(part);
                node = n;
            }
            None => break,
        }
    }
    (!parts.is_empty()).then(|| parts.join("."))
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

    #[test]
    fn names_the_field_at_a_position() {
        let yaml = "cluster:\n  nodes: 5\nseed: [1, 2]\nfaults:\n  - at: 1s\n    crash: leader\n  - after: 2s\n";
        assert_eq!(path_at(yaml, 2, 10).as_deref(), Some("cluster.nodes"));
        assert_eq!(
            path_at(yaml, 2, 3).as_deref(),
            Some("cluster.nodes"),
            "an error at the key"
        );
        assert_eq!(
            path_at(yaml, 3, 7).as_deref(),
            Some("seed"),
            "the list itself, not an item"
        );
        assert_eq!(path_at(yaml, 6, 12).as_deref(), Some("faults.0.crash"));
        assert_eq!(path_at(yaml, 7, 14).as_deref(), Some("faults.1.after"));
    }
}
