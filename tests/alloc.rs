//! Steady-state simulation does not allocate per event: after warm-up, a cluster exchanging heartbeats (and
//! resetting election timers, the hot path) runs thousands of events with no heap allocation at all.

use raftsim::harness::Cluster;
use std::time::Duration;

#[test]
fn heartbeats_and_timer_resets_allocate_nothing() {
    let mut c = Cluster::new(5, Cluster::lab_config(), Cluster::reliable(), 3);
    c.check_one_leader();
    // Warm-up: queues and buffers reach their working size.
    c.run_for(Duration::from_secs(2));
    let sent_before = c.messages_sent();
    let info = allocation_counter::measure(|| c.run_for(Duration::from_secs(20)));
    let messages = c.messages_sent() - sent_before;
    // 20 s of a 5-node cluster: 200 heartbeat rounds, 800 heartbeats and 800 replies, each delivery also
    // resetting an election timer.
    assert!(messages >= 1500, "only {messages} messages");
    assert_eq!(
        info.count_total, 0,
        "{} allocations for {messages} messages",
        info.count_total
    );
}

/// A worker's trials after its first reuse its first trial's parts: the engine, its queue and processes, the
/// observer's and the checker's buffers. A leader-crash trial (an election, a leader stable for a second, a
/// crash, a failover, every safety check) then allocates nothing.
#[test]
fn a_workers_trials_after_its_first_allocate_nothing() {
    let s = raftsim::scenario::load(std::path::Path::new("scenarios/leader-crash.yaml"), &[]).unwrap();
    // Warm-up: buffers reach their working size (a trial with more split votes may grow one later).
    for i in 0..50 {
        raftsim::trial::run_trial(&s, i);
    }
    let mut events = 0;
    let info = allocation_counter::measure(|| {
        for i in 50..100 {
            let r = raftsim::trial::run_trial(&s, i);
            assert_eq!(r.outcome, raftsim::trial::Outcome::Converged);
            assert_eq!(r.election_us.len(), 1, "trial {i} measured its failover");
            events += r.events;
        }
    });
    assert!(events > 50 * 150, "50 whole trials: {events} events");
    assert_eq!(info.count_total, 0, "{} allocations in 50 trials", info.count_total);
}
