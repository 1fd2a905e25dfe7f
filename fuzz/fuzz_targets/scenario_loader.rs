//! Any bytes as a scenario file (and as `--set` overrides): the loader answers with a scenario or an error,
//! never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use raftsim::scenario::{Source, load_str};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    // The first line, if it looks like `path=value`, is also tried as an override.
    let (first, rest) = text.split_once('\n').unwrap_or((&text, ""));
    let source = Source {
        name: "fuzz.yaml".to_string(),
        text: text.to_string(),
    };
    if let Ok(s) = load_str(&source, &[], None) {
        // A scenario that loads must also render back and load again.
        let yaml = serde_saphyr::to_string(&s.raw).expect("a loaded scenario renders");
        let again = Source { name: "again.yaml".to_string(), text: yaml };
        load_str(&again, &[], Some(s.name.clone())).expect("a rendered scenario loads again");
    }
    if first.contains('=') {
        let base = Source {
            name: "base.yaml".to_string(),
            text: rest.to_string(),
        };
        let _ = load_str(&base, &[first.to_string()], None);
    }
});
