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
