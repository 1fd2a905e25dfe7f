//! Random valid scenarios, simulated: no panic, no hang, and every safety invariant holds.
//!
//! The input chooses a cluster size, timers, Raft options, a network and a fault schedule; the scenario is
//! written as YAML and loaded through the same path users take, then a few trials run to completion.
#![no_main]

use libfuzzer_sys::arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;
use raftsim::scenario::{Source, load_str};
use raftsim::trial::{Outcome, run_trial};

fn scenario(u: &mut Unstructured) -> Result<String> {
    let nodes = u.int_in_range(1..=7u32)?;
    let min = u.int_in_range(20..=400u32)?;
    let max = min + u.int_in_range(0..=300u32)?;
    let heartbeat = u.int_in_range(5..=min.max(6) - 1)?;
    let mut y = format!(
        "seed: {}\ntime_limit: 20s\ncluster:\n  nodes: {nodes}\nraft:\n  election_timeout: {{ min: {min}ms, max: {max}ms }}\n  heartbeat: {heartbeat}ms\n  pre_vote: {}\n  check_quorum: {}\n  leader_stickiness: {}\n",
        u.arbitrary::<u32>()?,
        u.arbitrary::<bool>()?,
        u.arbitrary::<bool>()?,
        u.arbitrary::<bool>()?,
    );
    let lat_min = u.int_in_range(0..=20u32)?;
    let lat_max = lat_min + u.int_in_range(0..=40u32)?;
    y.push_str(&format!(
        "network:\n  latency: {{ uniform: {{ min: {lat_min}ms, max: {lat_max}ms }} }}\n  loss: {}\n  duplicate: {}\n",
        u.int_in_range(0..=30u32)? as f64 / 100.0,
        u.int_in_range(0..=10u32)? as f64 / 100.0,
    ));
    if u.arbitrary::<bool>()? {
        y.push_str(&format!("workload: {{ interval: {}ms }}\n", u.int_in_range(5..=200u32)?));
    }
    let selectors = ["leader", "follower", "followers", "random 2", "0", "all", "crashed"];
    let mut faults = String::new();
    for _ in 0..u.int_in_range(0..=5u32)? {
        let trigger = match u.int_in_range(0..=2u32)? {
            0 => format!("at: {}ms", u.int_in_range(0..=15_000u32)?),
            1 => format!("after: {}ms", u.int_in_range(0..=3_000u32)?),
            _ => format!("leader_stable_for: {}ms", u.int_in_range(0..=2_000u32)?),
        };
        let sel = |u: &mut Unstructured| -> Result<&str> { Ok(*u.choose(&selectors)?) };
        let action = match u.int_in_range(0..=6u32)? {
            0 => format!("crash: {}", sel(u)?),
            1 => format!("restart: {}", sel(u)?),
            2 => format!("isolate: {}", sel(u)?),
            3 => "heal: all".to_string(),
            4 => format!("cut: {{ from: [{}], to: [{}], both_ways: {} }}", sel(u)?, sel(u)?, u.arbitrary::<bool>()?),
            5 => format!(
                "flap: {{ from: [{}], to: [all], down: {}ms, up: {}ms, times: {} }}",
                sel(u)?,
                u.int_in_range(1..=500u32)?,
                u.int_in_range(0..=500u32)?,
                u.int_in_range(1..=4u32)?
            ),
            _ => format!("partition: [[{}], [others]]", sel(u)?),
        };
        faults.push_str(&format!("  - {{ {trigger}, {action} }}\n"));
    }
    if !faults.is_empty() {
        y.push_str("faults:\n");
        y.push_str(&faults);
    }
    if u.arbitrary::<bool>()? && nodes >= 3 {
        y.push_str("churn: { mtbf: 2s, mttr: 500ms, stop: 10s }\n");
    }
    Ok(y)
}

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let Ok(yaml) = scenario(&mut u) else { return };
    // To see what a saved input simulates: RAFTSIM_FUZZ_SHOW=1 cargo +nightly fuzz run random_scenario <file>
    if std::env::var_os("RAFTSIM_FUZZ_SHOW").is_some() {
        eprintln!("{yaml}");
    }
    let source = Source {
        name: "random.yaml".to_string(),
        text: yaml.clone(),
    };
    // Some combinations are refused (a fault past the limit, say); that is an answer, not a failure.
    let Ok(s) = load_str(&source, &[], Some("random".to_string())) else { return };
    for i in 0..3 {
        let r = run_trial(&s, i);
        if let Outcome::Violation { invariant, detail } = &r.outcome {
            panic!("{invariant} violated in trial {i} (seed {}): {detail}\n{yaml}", r.seed);
        }
    }
});
