//! A trial's cost is linear in its work: a measurement window costs nothing once closed, the driver's work on
//! faults counts against `limits.max_events`, and a fault schedule that could never fit is refused up front.

use raftsim::scenario::{self, Scenario};
use raftsim::trial::{Outcome, TrialResult, run_trial};
use std::time::Duration;

fn try_load(sets: &[String]) -> Result<Scenario, String> {
    scenario::load(std::path::Path::new("scenarios/leader-crash.yaml"), sets).map_err(|e| e.to_string())
}

/// The leader's links flap `times` times, 1 us down and 1 us up, from 1 s on; the trial may process at most
/// `per_flap` events (and driver work) per outage.
fn flapping(times: u32, per_flap: u64) -> Scenario {
    try_load(&[
        format!("faults=[{{at: 1s, flap: {{from: [leader], to: [followers], down: 1us, up: 1us, times: {times}}}}}]"),
        format!("limits.max_events={}", per_flap * u64::from(times)),
    ])
    .expect("scenario loads")
}

/// Runs trial 0 of `s` on another thread; `None` if it takes longer than `patience` of wall time.
fn run_within(s: Scenario, patience: Duration) -> Option<TrialResult> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(run_trial(&s, 0));
    });
    rx.recv_timeout(patience).ok()
}

#[test]
fn a_hundred_thousand_flaps_cost_a_bounded_amount_of_work_each() {
    // Every outage takes the leader from its majority (a failover window) and every restore opens a recovery
    // window: 200,000 windows. Looking at every window on every event would be 10^10 steps; looking only at the
    // open ones, each outage costs its two events, the links it toggles and a recount of five nodes.
    let r = run_within(flapping(100_000, 100), Duration::from_secs(60))
        .expect("100,000 flaps finish in time proportional to their events");
    assert_eq!(r.outcome, Outcome::Converged, "{:?}", r.outcome);
    assert_eq!(r.recovery_us.len(), 100_000);
}

#[test]
fn driver_work_counts_against_the_event_limit() {
    // The same flaps with a budget of 6 per outage: two events each fit, but the links toggled and the
    // windows looked at do not.
    let r = run_trial(&flapping(10_000, 6), 0);
    match &r.outcome {
        Outcome::Aborted { limit, detail } => {
            assert_eq!(*limit, "limits.max_events");
            assert!(detail.contains("the work each fault"), "{detail}");
        }
        other => panic!("expected the event limit to stop the trial, got {other:?}"),
    }
    assert!(
        r.events < 6 * 10_000,
        "stopped by the work, not by the events alone: {}",
        r.events
    );
}

#[test]
fn a_flap_schedule_that_cannot_fit_the_event_limit_is_refused_up_front() {
    let e = try_load(&[
        "faults=[{at: 1s, flap: {from: [leader], to: [followers], down: 1us, up: 1us, times: 1000000}}]".into(),
        "limits.max_events=1000000".into(),
    ])
    .expect_err("two million events cannot fit in a million");
    assert!(e.contains("`faults.0.flap.times`"), "{e}");
    assert!(e.contains("2000000 events"), "{e}");
    assert!(e.contains("raise limits.max_events"), "{e}");
}
