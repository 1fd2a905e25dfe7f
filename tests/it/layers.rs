//! The crate's modules depend on each other in one direction (the order `src/lib.rs` lists), and the layers hold:
//! `sim-core` never names Raft, `raft-model` never names the engine or a clock. Read from the sources, so a new
//! import loop fails here before it sets.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Every `.rs` file under `dir`, as (path, text without comment lines and without `#[cfg(test)]` modules).
fn sources(dir: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(sources(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(&path).unwrap();
            let code = text.split("#[cfg(test)]").next().unwrap();
            let code: Vec<&str> = code.lines().filter(|l| !l.trim_start().starts_with("//")).collect();
            out.push((path.display().to_string(), code.join("\n")));
        }
    }
    out.sort();
    out
}

/// The top-level module of `src/<path>`.
fn module_of(path: &str) -> String {
    let rel = path.trim_start_matches("src/");
    rel.split(['/', '.']).next().unwrap().to_string()
}

#[test]
fn modules_of_the_cli_crate_form_no_import_loop() {
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (path, code) in sources(Path::new("src")) {
        let from = module_of(&path);
        for part in code.split("crate::").skip(1) {
            let to: String = part
                .chars()
                .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                .collect();
            if !to.is_empty() && to != from {
                graph.entry(from.clone()).or_default().insert(to);
            }
        }
    }
    // Depth-first search for a cycle.
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(i) = path.iter().position(|p| p == node) {
            let mut cycle = path[i..].to_vec();
            cycle.push(node.to_string());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(c) = visit(next, graph, path, done) {
                return Some(c);
            }
        }
        path.pop();
        done.insert(node.to_string());
        None
    }
    let mut done = BTreeSet::new();
    for node in graph.keys() {
        if let Some(cycle) = visit(node, &graph, &mut Vec::new(), &mut done) {
            panic!("import loop: {}", cycle.join(" -> "));
        }
    }
    assert!(graph.len() > 10, "read the modules: {graph:?}");
}

#[test]
fn the_engine_never_names_raft_and_the_node_never_names_the_engine() {
    for (path, code) in sources(Path::new("sim-core/src")) {
        assert!(!code.contains("raft"), "{path} names Raft");
    }
    for (path, code) in sources(Path::new("raft-model/src")) {
        for word in ["sim_core", "std::time::Instant", "SystemTime", "thread_rng"] {
            assert!(!code.contains(word), "{path} uses {word}");
        }
    }
}
