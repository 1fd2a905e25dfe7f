//! Embeds the shipped catalogue (scenarios/*.yaml and scenarios/sweeps/*.yaml) in the binary, so that
//! `raftsim list` and `raftsim run leader-crash` work outside the repository. Generates one `include_str!` per
//! file, which makes cargo rebuild when any of them changes; the folders are watched for added or removed files.

use std::fmt::Write as _;
use std::path::Path;

fn yaml_files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".yaml"))
        .collect();
    names.sort();
    names
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let mut code = String::new();
    for (constant, sub) in [("SCENARIOS", ""), ("SWEEPS", "sweeps")] {
        let dir = root.join(sub);
        println!("cargo:rerun-if-changed={}", dir.display());
        writeln!(
            code,
            "/// `(file name, text)` of every file in `scenarios/{sub}`, sorted."
        )
        .unwrap();
        writeln!(code, "pub const {constant}: &[(&str, &str)] = &[").unwrap();
        for name in yaml_files(&dir) {
            let path = dir.join(&name);
            writeln!(code, "    ({name:?}, include_str!({:?})),", path.display().to_string()).unwrap();
        }
        writeln!(code, "];").unwrap();
    }
    let out = Path::new(&std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("catalogue.rs");
    std::fs::write(&out, code).unwrap_or_else(|e| panic!("cannot write {}: {e}", out.display()));
}
