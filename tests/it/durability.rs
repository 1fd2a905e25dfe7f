//! Crashes lose what is not durable: a write still within its persist latency when its node crashes is gone
//! (the node restarts from the last write that completed), and so are the messages that waited for it.

use raft_model::{Config, Persistent, Role};
use raftsim::trial::cluster::Cluster;
use raftsim::trial::{RaftHost, RaftNote, RaftProcess};
use sim_core::{Host, Latency, LinkModel, Network, NodeId};
use std::time::Duration;

const COMMAND: u64 = 4242;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Three nodes on 1 ms links, every durable write taking 20 ms.
fn cluster() -> Cluster<RaftProcess, ()> {
    let hosts = vec![
        Host {
            persist: Some(Latency::Constant(ms(20))),
            ..Host::default()
        };
        3
    ];
    let config = Config {
        election_timeout_min: ms(150),
        election_timeout_max: ms(300),
        heartbeat_interval: ms(50),
        ..Config::default()
    };
    let link = LinkModel::with_latency(Latency::Constant(ms(1)));
    Cluster::new(
        Network::new(3, link),
        &hosts,
        7,
        config,
        vec![Persistent::default(); 3],
        false,
    )
}

fn run_for(c: &mut Cluster<RaftProcess, ()>, d: Duration) {
    let until = c.now() + d;
    while c.sim.next_time().is_some_and(|t| t <= until) {
        c.sim.step();
        for (t, node, note) in c.take_notes() {
            if let RaftNote::Status(st) = note {
                c.record_status(t, node, st);
            }
        }
    }
    c.sim.advance_to(until);
}

fn has_command(c: &Cluster<RaftProcess, ()>, node: NodeId) -> bool {
    c.process(node)
        .is_some_and(|p| p.log().iter().any(|e| e.command == COMMAND))
}

/// The cluster after 2 s, and its leader.
fn elected() -> (Cluster<RaftProcess, ()>, NodeId) {
    let mut c = cluster();
    run_for(&mut c, Duration::from_secs(2));
    let leader = c
        .nodes()
        .find(|&n| c.process(n).is_some_and(|p| p.role() == Role::Leader))
        .expect("a leader after 2 s");
    (c, leader)
}

/// The leader appends a command (a durable write of 20 ms, after which its AppendEntries leave) and crashes
/// `crash_after` later; it restarts at once. Returns the cluster and the leader.
fn append_then_crash(crash_after: Duration) -> (Cluster<RaftProcess, ()>, NodeId) {
    let (mut c, leader) = elected();
    let accepted = c.sim.call(leader, |p, ctx| p.start(ctx, COMMAND));
    assert!(matches!(accepted, Some(Ok(_))), "{accepted:?}");
    run_for(&mut c, crash_after);
    c.crash(&[leader]);
    c.restart(leader);
    (c, leader)
}

#[test]
fn a_write_still_in_progress_at_a_crash_is_lost_with_the_messages_waiting_for_it() {
    let (mut c, leader) = append_then_crash(ms(5));
    assert!(
        !has_command(&c, leader),
        "the leader restarted with an entry whose write had not completed"
    );
    run_for(&mut c, Duration::from_secs(1));
    for n in c.nodes() {
        assert!(
            !has_command(&c, n),
            "{n} holds an entry that was never durable anywhere"
        );
    }
    assert!(
        c.sim.stats().unsent >= 2,
        "the AppendEntries to both followers waited for the write and never left"
    );
}

#[test]
fn a_write_that_completed_before_the_crash_survives_it() {
    let (mut c, leader) = append_then_crash(ms(25));
    assert!(has_command(&c, leader), "a completed write was lost");
    run_for(&mut c, Duration::from_secs(1));
    for n in c.nodes() {
        assert!(has_command(&c, n), "{n} did not receive the entry");
    }
}

/// Entries applied behind a durable write still in progress are handed over one queue entry each, as every
/// applied entry always was (the driver looks at the trial between them: whether it has settled, its limits);
/// only a run that goes out at once is one note (`RaftNote::AppliedRun`).
#[test]
fn entries_applied_behind_a_write_are_handed_over_one_queue_entry_each() {
    let (mut c, leader) = elected();
    // A follower is down while five commands commit; back up, it receives them and applies them in the step
    // that writes them.
    let follower = c.nodes().find(|&n| n != leader).expect("three nodes");
    c.crash(&[follower]);
    for k in 0..5 {
        let accepted = c.sim.call(leader, |p, ctx| p.start(ctx, COMMAND + k));
        assert!(matches!(accepted, Some(Ok(_))), "{accepted:?}");
    }
    run_for(&mut c, ms(500));
    c.restart(follower);
    let until = c.now() + Duration::from_secs(1);
    let (mut held, mut replayed) = (0, 0);
    while c.sim.next_time().is_some_and(|t| t <= until) {
        let events = c.sim.stats().events;
        c.sim.step();
        let notes: Vec<_> = c.sim.take_notes().collect();
        if c.sim.stats().events == events && !notes.is_empty() {
            // A queue entry that only hands over a note held behind a write: one entry's.
            assert!(
                matches!(notes[..], [(_, _, RaftNote::Applied(..))]),
                "a held queue entry handed over {notes:?}"
            );
            held += 1;
        }
        for (t, node, note) in notes {
            match note {
                RaftNote::Status(st) => {
                    c.record_status(t, node, st);
                }
                RaftNote::Applied(..) if node == follower => replayed += 1,
                RaftNote::AppliedRun(first, len) => {
                    let entries = c.take_applied_run(node, first, len as usize).len();
                    if node == follower {
                        replayed += entries;
                    }
                }
                RaftNote::Applied(..) => {}
            }
        }
    }
    // The restarted follower applied the five commands, behind its write.
    assert!(replayed >= 5, "the follower applied {replayed} entries");
    assert!(held >= 5, "{held} entries were held behind a write");
}
