//! `--set path=value`: change any scenario field from the command line.
//!
//! The scenario is turned into a JSON tree, the value is parsed as YAML (so `50ms`, `7`, `true` and `[1, 2]` all
//! work) and placed at the dotted path, and the tree is read back with the same strict rules as the file.

use crate::error::InputError;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// One parsed `--set`.
#[derive(Clone, Debug, PartialEq)]
pub struct Override {
    /// Dotted path, list indices as numbers: `raft.heartbeat`, `faults.0.at`.
    pub path: String,
    /// The value.
    pub value: Value,
}

/// Parses `path=value`.
pub fn parse(arg: &str) -> Result<Override, InputError> {
    let (path, text) = arg
        .split_once('=')
        .ok_or_else(|| InputError::new(format!("--set `{arg}`: expected path=value, like raft.heartbeat=50ms")))?;
    let path = path.trim();
    if path.is_empty() || path.split('.').any(str::is_empty) {
        return Err(InputError::new(format!(
            "--set `{arg}`: `{path}` is not a field path like raft.heartbeat"
        )));
    }
    let value: Value = if text.trim().is_empty() {
        Value::String(String::new())
    } else {
        serde_saphyr::from_str_with_options(text, crate::error::yaml_options())
            .map_err(|e| InputError::new(format!("--set `{arg}`: cannot read the value: {e}")))?
    };
    Ok(Override {
        path: path.to_string(),
        value,
    })
}

/// Applies `--set` arguments to `raw`, then re-reads it strictly.
pub fn apply<T: Serialize + DeserializeOwned>(raw: T, args: &[String]) -> Result<T, InputError> {
    if args.is_empty() {
        return Ok(raw);
    }
    let mut tree = serde_json::to_value(&raw).expect("a scenario always serializes");
    for arg in args {
        let o = parse(arg)?;
        set(&mut tree, &o.path, o.value).map_err(|m| InputError::new(format!("--set `{arg}`: {m}")))?;
        // Re-read after each override so the error names the argument that caused it.
        if let Err(e) = serde_path_to_error::deserialize::<_, T>(&tree) {
            let at = e.path().to_string();
            let at = if at == "." {
                String::new()
            } else {
                format!(" at `{at}`")
            };
            return Err(InputError::new(format!("--set `{arg}`: {}{at}", e.inner())));
        }
    }
    Ok(serde_path_to_error::deserialize(&tree).expect("checked above"))
}

/// Puts `value` at `path` in `tree`, creating missing mapping levels.
pub fn set(tree: &mut Value, path: &str, value: Value) -> Result<(), String> {
    let mut node = tree;
    let parts: Vec<&str> = path.split('.').collect();
    for (depth, part) in parts.iter().enumerate() {
        let last = depth + 1 == parts.len();
        if node.is_null() {
            *node = Value::Object(Default::default());
        }
        node = match node {
            Value::Object(map) => {
                if last {
                    map.insert(part.to_string(), value);
                    return Ok(());
                }
                map.entry(part.to_string()).or_insert(Value::Null)
            }
            Value::Array(items) => {
                let i: usize = part
                    .parse()
                    .map_err(|_| format!("`{}` is a list; index it with a number", parts[..depth].join(".")))?;
                let len = items.len();
                let item = items.get_mut(i).ok_or_else(|| {
                    format!(
                        "`{}` has {len} entries; index {i} is out of range",
                        parts[..depth].join(".")
                    )
                })?;
                if last {
                    *item = value;
                    return Ok(());
                }
                item
            }
            _ => {
                return Err(format!(
                    "`{}` is a single value, not a section",
                    parts[..depth].join(".")
                ));
            }
        };
    }
    unreachable!("the loop returns on the last part")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sets_nested_and_indexed_fields() {
        let mut t = json!({"raft": {"heartbeat": "50ms"}, "faults": [{"at": "1s"}]});
        set(&mut t, "raft.heartbeat", json!("20ms")).unwrap();
        set(&mut t, "faults.0.at", json!("2s")).unwrap();
        set(&mut t, "network.loss", json!(0.1)).unwrap();
        assert_eq!(
            t,
            json!({"raft": {"heartbeat": "20ms"}, "faults": [{"at": "2s"}], "network": {"loss": 0.1}})
        );
        assert!(
            set(&mut t, "faults.3.at", json!("1s"))
                .unwrap_err()
                .contains("out of range")
        );
        assert!(
            set(&mut t, "raft.heartbeat.x", json!(1))
                .unwrap_err()
                .contains("single value")
        );
    }

    #[test]
    fn values_are_read_as_yaml() {
        assert_eq!(parse("a.b=7").unwrap().value, json!(7));
        assert_eq!(parse("a=50ms").unwrap().value, json!("50ms"));
        assert_eq!(parse("a=[1, 2]").unwrap().value, json!([1, 2]));
        assert!(parse("nonsense").is_err());
        assert!(parse("a..b=1").is_err());
    }
}
