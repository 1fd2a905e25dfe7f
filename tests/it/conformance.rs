//! The conformance suite: the course lab's tester, restated on the simulator.
//!
//! Each test drives a [`Cluster`] the way the lab's tester drives its Go servers (disconnect, reconnect, crash,
//! restart, start commands) and asserts what that tester asserts. Every test runs over 100 seeds in `cargo test`
//! and over 2,000 seeds with `cargo test --release --test it conformance -- --ignored`. Throughout, the safety
//! checker watches every leader change and every applied entry; any violation panics with the seed.

use raft_model::{Command, LogIndex, MessageKind};
use raftsim::harness::Cluster;
use sim_core::rng::{Pcg64, stream, uniform_inclusive, unit_f64};
use std::time::Duration;

/// The lab's election timeout constant: the tester's unit of patience.
const ELECTION_TIMEOUT: Duration = Duration::from_millis(1000);

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// The test's own random choices (which servers to cut, which commands to send), apart from the cluster's.
fn chooser(seed: u64) -> Pcg64 {
    stream(seed, 0x00C0_FFEE)
}

fn pick(rng: &mut Pcg64, n: usize) -> usize {
    uniform_inclusive(rng, 0, n as u64 - 1) as usize
}

fn command(rng: &mut Pcg64) -> Command {
    uniform_inclusive(rng, 1, 1 << 40)
}

/// Runs `test` for each seed; names the failing seed.
fn over_seeds(seeds: std::ops::Range<u64>, test: fn(u64)) {
    for seed in seeds {
        let outcome = std::panic::catch_unwind(|| test(seed));
        if let Err(e) = outcome {
            let msg = e
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            panic!("failed at seed {seed}: {msg}");
        }
    }
}

/// One `#[test]` over 100 seeds and one ignored long test over 2,000 more.
macro_rules! conformance {
    ($($name:ident => $body:ident;)*) => {
        mod ci {
            $(#[test] fn $name() { super::over_seeds(0..100, super::$body); })*
        }
        mod long {
            $(#[test] #[ignore = "long mode: cargo test --release --test it conformance -- --ignored"]
              fn $name() { super::over_seeds(100..2100, super::$body); })*
        }
    };
}

conformance! {
    initial_election => initial_election;
    re_election => re_election;
    many_elections => many_elections;
    heartbeat_rate_and_failover_deadline => heartbeat_rate_and_failover_deadline;
    basic_agree => basic_agree;
    fail_agree => fail_agree;
    fail_no_agree => fail_no_agree;
    concurrent_starts => concurrent_starts;
    rejoin => rejoin;
    backup => backup;
    fast_backup_rpc_bound => fast_backup_rpc_bound;
    catch_up_at_the_pace_of_round_trips => catch_up_at_the_pace_of_round_trips;
    persist_full_restarts => persist_full_restarts;
    persist_partial => persist_partial;
    figure8 => figure8;
    unreliable_agree => unreliable_agree;
    figure8_unreliable => figure8_unreliable;
    reliable_churn => reliable_churn;
    unreliable_churn => unreliable_churn;
    // Even cluster sizes: a majority of 2, 4 or 6 is not half of it rounded up.
    initial_election_2 => initial_election_2;
    no_leader_without_majority_2 => no_leader_without_majority_2;
    fail_no_agree_2 => fail_no_agree_2;
    initial_election_4 => initial_election_4;
    re_election_4 => re_election_4;
    fail_agree_4 => fail_agree_4;
    fail_no_agree_4 => fail_no_agree_4;
    figure8_4 => figure8_4;
    unreliable_churn_4 => unreliable_churn_4;
    re_election_6 => re_election_6;
    fail_no_agree_6 => fail_no_agree_6;
    reliable_churn_6 => reliable_churn_6;
}

/// 3A: three servers elect exactly one leader, agree on its term, and the term holds while nothing fails.
fn initial_election(seed: u64) {
    initial_election_of(3, seed);
}

fn initial_election_2(seed: u64) {
    initial_election_of(2, seed);
}

fn initial_election_4(seed: u64) {
    initial_election_of(4, seed);
}

/// `n` servers elect exactly one leader, agree on its term, and the term holds while nothing fails.
fn initial_election_of(n: usize, seed: u64) {
    let mut c = Cluster::new(n, Cluster::lab_config(), Cluster::reliable(), seed);
    c.check_one_leader();
    c.run_for(ms(50));
    let term1 = c.check_terms();
    assert!(term1.0 >= 1, "seed {seed}: term is {term1:?} after an election");
    c.run_for(2 * ELECTION_TIMEOUT);
    let term2 = c.check_terms();
    assert_eq!(term1, term2, "seed {seed}: the term changed with no failures");
    c.check_one_leader();
}

/// 3A: a new leader after the leader disconnects; none without a majority; one again when it returns.
fn re_election(seed: u64) {
    re_election_of(3, seed);
}

fn re_election_4(seed: u64) {
    re_election_of(4, seed);
}

fn re_election_6(seed: u64) {
    re_election_of(6, seed);
}

/// `n` servers: a new leader after the leader disconnects; none while only half of them (`n / 2`, not a
/// majority) are connected; one again when a majority returns.
fn re_election_of(n: usize, seed: u64) {
    let mut c = Cluster::new(n, Cluster::lab_config(), Cluster::reliable(), seed);
    let leader1 = c.check_one_leader();
    c.disconnect(leader1);
    c.check_one_leader();
    // The old leader rejoins: it must not disturb the new one (or a single leader emerges again).
    c.connect(leader1);
    let leader2 = c.check_one_leader();
    // No quorum: no leader. Cut the leader and enough others to leave exactly n / 2 connected.
    let cut: Vec<usize> = (0..n - n / 2).map(|k| (leader2 + k) % n).collect();
    for &i in &cut {
        c.disconnect(i);
    }
    c.run_for(2 * ELECTION_TIMEOUT);
    c.check_no_leader();
    // A quorum returns: a leader.
    c.connect(cut[cut.len() - 1]);
    c.check_one_leader();
    for &i in &cut {
        c.connect(i);
    }
    c.check_one_leader();
}

/// Two servers: when one is cut off, neither elects itself (a majority of two is two).
fn no_leader_without_majority_2(seed: u64) {
    let mut c = Cluster::new(2, Cluster::lab_config(), Cluster::reliable(), seed);
    let leader = c.check_one_leader();
    c.disconnect(leader);
    c.run_for(2 * ELECTION_TIMEOUT);
    c.check_no_leader();
    c.connect(leader);
    c.check_one_leader();
}

/// 3A: seven servers, three random ones cut off in each of ten rounds; a leader every time.
fn many_elections(seed: u64) {
    let n = 7;
    let mut rng = chooser(seed);
    let mut c = Cluster::new(n, Cluster::lab_config(), Cluster::reliable(), seed);
    c.check_one_leader();
    for _ in 0..10 {
        let cut = [pick(&mut rng, n), pick(&mut rng, n), pick(&mut rng, n)];
        for &i in &cut {
            c.disconnect(i);
        }
        // At most three of seven are gone, so a majority remains.
        c.check_one_leader();
        for &i in &cut {
            c.connect(i);
        }
    }
    c.check_one_leader();
}

/// 3A: a leader sends at most ten heartbeats per second to each peer, and after it fails a new leader is in
/// place within five seconds, through as many split votes as it takes.
fn heartbeat_rate_and_failover_deadline(seed: u64) {
    let n = 3;
    let mut c = Cluster::new(n, Cluster::lab_config(), Cluster::reliable(), seed);
    let leader = c.check_one_leader();
    let before = c.sent(leader, MessageKind::AppendEntries);
    let window = Duration::from_secs(10);
    c.run_for(window);
    let heartbeats = c.sent(leader, MessageKind::AppendEntries) - before;
    let per_peer_per_second = heartbeats as f64 / (n - 1) as f64 / window.as_secs_f64();
    assert!(
        per_peer_per_second <= 10.0,
        "seed {seed}: {per_peer_per_second} heartbeats per second per peer"
    );
    assert!(
        per_peer_per_second >= 5.0,
        "seed {seed}: only {per_peer_per_second} heartbeats per second per peer"
    );
    assert_eq!(c.leaders().len(), 1, "seed {seed}: leadership changed with no failure");

    let failed_at = c.now();
    c.disconnect(leader);
    let deadline = failed_at + Duration::from_secs(5);
    let new_leader = loop {
        c.run_for(ms(10));
        if let Some(&(l, _)) = c.leaders().iter().find(|(l, _)| *l != leader) {
            break l;
        }
        assert!(
            c.now() < deadline,
            "seed {seed}: no new leader within 5 s of the failure"
        );
    };
    assert_ne!(new_leader, leader);
}

/// 3B: commands commit on every server, at consecutive indices.
fn basic_agree(seed: u64) {
    let n = 3;
    let mut c = Cluster::new(n, Cluster::lab_config(), Cluster::reliable(), seed);
    for index in 1..=3u64 {
        let (count, _) = c.n_committed(LogIndex(index));
        assert_eq!(count, 0, "seed {seed}: committed before start");
        let got = c.one(index * 100, n);
        assert_eq!(got, LogIndex(index), "seed {seed}: got index {got:?}, expected {index}");
    }
}

/// 3B: agreement continues with one follower disconnected, and the follower catches up when it returns.
fn fail_agree(seed: u64) {
    fail_agree_of(3, seed);
}

fn fail_agree_4(seed: u64) {
    fail_agree_of(4, seed);
}

fn fail_agree_of(n: usize, seed: u64) {
    let mut c = Cluster::new(n, Cluster::lab_config(), Cluster::reliable(), seed);
    c.one(101, n);
    let leader = c.check_one_leader();
    c.disconnect((leader + 1) % n);
    c.one(102, n - 1);
    c.one(103, n - 1);
    c.run_for(ELECTION_TIMEOUT);
    c.one(104, n - 1);
    c.one(105, n - 1);
    c.connect((leader + 1) % n);
    c.one(106, n);
    c.run_for(ELECTION_TIMEOUT);
    c.one(107, n);
}

/// 3B: with three of five followers disconnected, nothing commits; after they return, the log moves on.
fn fail_no_agree(seed: u64) {
    fail_no_agree_of(5, seed);
}

fn fail_no_agree_2(seed: u64) {
    fail_no_agree_of(2, seed);
}

fn fail_no_agree_4(seed: u64) {
    fail_no_agree_of(4, seed);
}

fn fail_no_agree_6(seed: u64) {
    fail_no_agree_of(6, seed);
}

/// With all but `n / 2` servers (the leader among them: not a majority) disconnected, nothing commits; after
/// they return, the log moves on.
fn fail_no_agree_of(n: usize, seed: u64) {
    let mut c = Cluster::new(n, Cluster::lab_config(), Cluster::reliable(), seed);
    c.one(10, n);
    let leader = c.check_one_leader();
    let cut = n - n / 2;
    for k in 1..=cut {
        c.disconnect((leader + k) % n);
    }
    let (index, _) = c
        .start(leader, 20)
        .expect("leader is up")
        .expect("leader accepts while it leads");
    assert_eq!(index, LogIndex(2), "seed {seed}: expected index 2");
    c.run_for(2 * ELECTION_TIMEOUT);
    assert_eq!(c.n_committed(index).0, 0, "seed {seed}: committed without a majority");
    for k in 1..=cut {
        c.connect((leader + k) % n);
    }
    let leader2 = c.check_one_leader();
    let (index2, _) = match c.start(leader2, 30).expect("up") {
        Ok(x) => x,
        // Leadership may have moved on again; the lab retries on the next leader too.
        Err(_) => {
            let l = c.check_one_leader();
            c.start(l, 30).expect("up").expect("the newest leader accepts")
        }
    };
    assert!((2..=3).contains(&index2.0), "seed {seed}: unexpected index {index2:?}");
    c.one(1000, n);
}

/// 3B: several commands started at once on a leader all commit, at distinct indices, in one term.
fn concurrent_starts(seed: u64) {
    let n = 3;
    'attempt: for _ in 0..5 {
        let mut c = Cluster::new(n, Cluster::lab_config(), Cluster::reliable(), seed);
        let leader = c.check_one_leader();
        let Some(Ok((_, term))) = c.start(leader, 1) else {
            continue;
        };
        let mut started = Vec::new();
        for i in 0..5u64 {
            match c.start(leader, 100 + i).expect("up") {
                Ok((index, t)) if t == term => started.push((index, 100 + i)),
                _ => continue 'attempt,
            }
        }
        let mut indices: Vec<LogIndex> = started.iter().map(|s| s.0).collect();
        indices.dedup();
        assert_eq!(indices.len(), 5, "seed {seed}: two starts got one index");
        c.run_for(ELECTION_TIMEOUT);
        if c.state(leader) != Some((term, true)) {
            continue; // the term moved on; the lab tries again
        }
        for (index, cmd) in started {
            let (count, got) = c.n_committed(index);
            assert_eq!(count, n, "seed {seed}: {index:?} not on every server");
            assert_eq!(got, Some(cmd), "seed {seed}: wrong command at {index:?}");
        }
        return;
    }
    panic!("seed {seed}: term changed too often");
}

/// 3B: a leader cut off with uncommitted entries rejoins after the others moved on; its entries are discarded.
fn rejoin(seed: u64) {
    let n = 3;
    let mut c = Cluster::new(n, Cluster::lab_config(), Cluster::reliable(), seed);
    c.one(101, n);
    let leader1 = c.check_one_leader();
    c.disconnect(leader1);
    for cmd in [102, 103, 104] {
        let _ = c.start(leader1, cmd);
    }
    c.one(103, 2);
    let leader2 = c.check_one_leader();
    c.disconnect(leader2);
    c.connect(leader1);
    c.one(104, 2);
    c.connect(leader2);
    c.one(105, n);
    // The discarded entries never reached any state machine.
    for i in 0..n {
        assert!(
            c.applied(i).iter().all(|e| e.command != 102),
            "seed {seed}: uncommitted 102 was applied"
        );
    }
}

/// 3B: a leader and a follower holding many uncommitted entries rejoin a majority that committed others; the
/// cluster must quickly discard the wrong entries.
fn backup(seed: u64) {
    let n = 5;
    let mut rng = chooser(seed);
    let mut c = Cluster::new(n, Cluster::lab_config(), Cluster::reliable(), seed);
    c.one(command(&mut rng), n);
    let leader1 = c.check_one_leader();
    for k in 2..=4 {
        c.disconnect((leader1 + k) % n);
    }
    for _ in 0..50 {
        let _ = c.start(leader1, command(&mut rng));
    }
    c.run_for(ELECTION_TIMEOUT / 2);
    c.disconnect(leader1);
    c.disconnect((leader1 + 1) % n);
    for k in 2..=4 {
        c.connect((leader1 + k) % n);
    }
    for _ in 0..50 {
        c.one(command(&mut rng), 3);
    }
    let leader2 = c.check_one_leader();
    let mut other = (leader1 + 2) % n;
    if leader2 == other {
        other = (leader2 + 1) % n;
    }
    c.disconnect(other);
    for _ in 0..50 {
        let _ = c.start(leader2, command(&mut rng));
    }
    c.run_for(ELECTION_TIMEOUT / 2);
    for i in 0..n {
        c.disconnect(i);
    }
    c.connect(leader1);
    c.connect((leader1 + 1) % n);
    c.connect(other);
    for _ in 0..50 {
        c.one(command(&mut rng), 3);
    }
    for i in 0..n {
        c.connect(i);
    }
    c.one(command(&mut rng), n);
}

/// A far-behind follower whose log conflicts with the leader's over several terms catches up in a few round
/// trips: the leader backs up by whole terms, not one entry at a time.
fn fast_backup_rpc_bound(seed: u64) {
    let n = 3;
    let mut rng = chooser(seed);
    let mut c = Cluster::new(n, Cluster::lab_config(), Cluster::reliable(), seed);
    c.one(1, n);
    let old_leader = c.check_one_leader();
    // The old leader, cut off, fills its log with 150 entries of its own term that will never commit.
    c.disconnect(old_leader);
    for _ in 0..150 {
        let _ = c.start(old_leader, command(&mut rng));
    }
    // The others commit 150 entries over three terms.
    for _ in 0..3 {
        for _ in 0..50 {
            c.one(command(&mut rng), n - 1);
        }
        let l = c.check_one_leader();
        c.disconnect(l);
        c.run_for(ms(50));
        c.connect(l);
        c.check_one_leader();
    }
    let leader = c.check_one_leader();
    let target = c.log(leader).expect("leader is up").len();
    let replies_before = c.sent(old_leader, MessageKind::AppendEntriesReply);
    c.connect(old_leader);
    let deadline = c.now() + Duration::from_secs(5);
    while c.log(old_leader).map(|l| l.len()) != Some(target) || c.log(old_leader) != c.log(leader) {
        // A slower catch-up, or the leader changing, both fail here.
        assert!(
            c.now() < deadline,
            "seed {seed}: the old leader did not catch up within 5 s"
        );
        c.run_for(ms(1));
        if c.leaders().iter().all(|l| l.0 != leader) {
            return; // another election started; the bound below no longer describes one catch-up
        }
    }
    let round_trips = c.sent(old_leader, MessageKind::AppendEntriesReply) - replies_before;
    // One rejection per conflicting term (at most four: the old leader's own, and three on the other side), then
    // the 150+ entries in batches of 64, plus a heartbeat that may cross: far fewer than one per entry.
    assert!(
        round_trips <= 10,
        "seed {seed}: catching up 150 entries took {round_trips} AppendEntries round trips"
    );
}

/// A follower 400 entries behind, sent at most 8 per AppendEntries, catches up one batch per round trip (about
/// 50 round trips of 2-10 ms), not one batch per heartbeat (50 heartbeats of 100 ms): each acknowledgement of a
/// batch sends the next. Seeds 0-99 take 284-400 ms; a leader that waits for the next heartbeat takes over 5 s.
fn catch_up_at_the_pace_of_round_trips(seed: u64) {
    let n = 3;
    let mut rng = chooser(seed);
    let config = raft_model::Config {
        max_entries_per_append: 8,
        ..Cluster::lab_config()
    };
    let mut c = Cluster::new(n, config, Cluster::reliable(), seed);
    c.one(1, n);
    let leader = c.check_one_leader();
    // Down rather than cut off: a server cut off keeps campaigning and returns in a higher term, deposing the
    // leader; one that was down returns in the term it left.
    let behind = (leader + 1) % n;
    c.crash(behind);
    for _ in 0..400 {
        let _ = c.start(leader, command(&mut rng));
    }
    c.run_for(ms(500));
    let target = c.log(leader).expect("leader is up").len();
    assert!(target > 400, "seed {seed}: the leader holds {target} entries");
    c.restart(behind);
    let started = c.now();
    while c.log(behind) != c.log(leader) {
        c.run_for(ms(1));
        if c.leaders().iter().all(|l| l.0 != leader) {
            return; // another election started; this is no longer one catch-up
        }
        assert!(
            c.now() - started < ms(1500),
            "seed {seed}: 400 entries in batches of 8 took over 1.5 s to reach a follower (one batch per heartbeat?)"
        );
    }
}

/// 3C: committed entries survive crashes of every server, of the leader, and of a follower.
fn persist_full_restarts(seed: u64) {
    let n = 3;
    let mut c = Cluster::new(n, Cluster::lab_config(), Cluster::reliable(), seed);
    c.one(11, n);
    for i in 0..n {
        c.restart(i);
    }
    c.one(12, n);
    let leader1 = c.check_one_leader();
    c.restart(leader1);
    c.one(13, n);
    let leader2 = c.check_one_leader();
    c.disconnect(leader2);
    c.one(14, n - 1);
    c.restart(leader2);
    c.connect(leader2);
    // wait for leader2 to join before killing i3
    let deadline = c.now() + Duration::from_secs(10);
    while c.n_committed(LogIndex(4)).0 < n {
        assert!(c.now() < deadline, "seed {seed}: restarted server did not catch up");
        c.run_for(ms(10));
    }
    let i3 = (c.check_one_leader() + 1) % n;
    c.disconnect(i3);
    c.one(15, n - 1);
    c.restart(i3);
    c.connect(i3);
    c.one(16, n);
    for (ix, cmd) in (1..=6).zip([11, 12, 13, 14, 15, 16]) {
        assert_eq!(c.n_committed(LogIndex(ix)), (n, Some(cmd)), "seed {seed}: index {ix}");
    }
}

/// 3C: pairs of servers crash and restart repeatedly; what committed stays committed.
fn persist_partial(seed: u64) {
    let n = 5;
    let mut c = Cluster::new(n, Cluster::lab_config(), Cluster::reliable(), seed);
    let mut index = 1;
    for _ in 0..5 {
        c.one(10 + index, n);
        index += 1;
        let leader1 = c.check_one_leader();
        c.crash((leader1 + 1) % n);
        c.crash((leader1 + 2) % n);
        c.one(10 + index, n - 2);
        index += 1;
        c.crash(leader1);
        c.crash((leader1 + 3) % n);
        c.crash((leader1 + 4) % n);
        c.restart((leader1 + 1) % n);
        c.restart((leader1 + 2) % n);
        c.run_for(ELECTION_TIMEOUT);
        c.restart((leader1 + 3) % n);
        c.one(10 + index, n - 2);
        index += 1;
        c.restart((leader1 + 4) % n);
        c.restart(leader1);
    }
    c.one(1000, n);
}

/// The Figure 8 loop shared by the reliable and unreliable variants: repeatedly start a command on whoever
/// leads, wait a short or long random time, then take the leader down; keep a majority up.
fn figure8_loop(c: &mut Cluster, rng: &mut Pcg64, iterations: usize, crash: bool, long_reorder_at: Option<usize>) {
    let n = c.len();
    let mut up = n;
    for iter in 0..iterations {
        if Some(iter) == long_reorder_at {
            c.set_link(Cluster::unreliable_long_reordering());
        }
        let mut leader = None;
        for i in 0..n {
            if (crash && c.is_up(i) || !crash && c.is_connected(i))
                && let Some(Ok(_)) = c.start(i, command(rng))
            {
                leader = Some(i);
            }
        }
        let pause = if unit_f64(rng) < 0.1 {
            uniform_inclusive(rng, 0, 500)
        } else {
            uniform_inclusive(rng, 0, 13)
        };
        c.run_for(ms(pause));
        if let Some(l) = leader
            && (crash || unit_f64(rng) < 0.5)
        {
            if crash {
                c.crash(l);
            } else {
                c.disconnect(l);
            }
            up -= 1;
        }
        if up < 3 {
            let s = pick(rng, n);
            if crash && !c.is_up(s) {
                c.restart(s);
                up += 1;
            } else if !crash && !c.is_connected(s) {
                c.connect(s);
                up += 1;
            }
        }
    }
    for i in 0..n {
        if crash && !c.is_up(i) {
            c.restart(i);
        }
        if !crash && !c.is_connected(i) {
            c.connect(i);
        }
    }
}

/// 3C: Figure 8 of the paper: leaders crash right after appending, again and again; an old-term entry must
/// never be committed by counting replicas, and the cluster agrees at the end.
fn figure8(seed: u64) {
    figure8_of(5, seed);
}

fn figure8_4(seed: u64) {
    figure8_of(4, seed);
}

fn figure8_of(n: usize, seed: u64) {
    let mut rng = chooser(seed);
    let mut c = Cluster::new(n, Cluster::lab_config(), Cluster::reliable(), seed);
    c.one(command(&mut rng), 1);
    figure8_loop(&mut c, &mut rng, 1000, true, None);
    c.one(command(&mut rng), n);
}

/// 3C: agreement on a network that loses 10 % of messages and reorders them, under bursts of commands.
fn unreliable_agree(seed: u64) {
    let n = 5;
    let mut c = Cluster::new(n, Cluster::lab_config(), Cluster::unreliable(), seed);
    for iter in 1..50u64 {
        for j in 0..4u64 {
            // The lab starts these from separate clients without waiting; here they are started back to back.
            for i in 0..n {
                if let Some(Ok(_)) = c.start(i, 100 * iter + j) {
                    break;
                }
            }
        }
        c.one(iter, 1);
    }
    c.set_link(Cluster::reliable());
    c.one(100, n);
}

/// 3C: Figure 8 on an unreliable network, with long reordering delays from the 200th iteration on; leaders are
/// disconnected rather than crashed.
fn figure8_unreliable(seed: u64) {
    let n = 5;
    let mut rng = chooser(seed);
    let mut c = Cluster::new(n, Cluster::lab_config(), Cluster::unreliable(), seed);
    c.one(command(&mut rng) % 10_000, 1);
    figure8_loop(&mut c, &mut rng, 1000, false, Some(200));
    c.set_link(Cluster::reliable());
    c.one(command(&mut rng) % 10_000, n);
}

/// Churn: clients keep submitting while servers are crashed, restarted, disconnected and reconnected at
/// random; at the end every server applies the same commands, and every command a client saw committed is
/// there.
fn churn(seed: u64, unreliable: bool) {
    churn_of(5, seed, unreliable);
}

fn churn_of(n: usize, seed: u64, unreliable: bool) {
    let link = if unreliable {
        Cluster::unreliable()
    } else {
        Cluster::reliable()
    };
    let mut rng = chooser(seed);
    let mut c = Cluster::new(n, Cluster::lab_config(), link, seed);
    let mut submitted: Vec<(LogIndex, Command)> = Vec::new();
    for _ in 0..20 {
        // Three clients' worth of commands over this iteration.
        for _ in 0..10 {
            for i in 0..n {
                let cmd = command(&mut rng);
                if let Some(Ok((index, _))) = c.start(i, cmd) {
                    submitted.push((index, cmd));
                }
            }
            c.run_for(ms(uniform_inclusive(&mut rng, 1, 70)));
        }
        if unit_f64(&mut rng) < 0.2 {
            c.disconnect(pick(&mut rng, n));
        }
        if unit_f64(&mut rng) < 0.5 {
            let i = pick(&mut rng, n);
            if !c.is_up(i) {
                c.restart(i);
            }
            c.connect(i);
        }
        if unit_f64(&mut rng) < 0.2 {
            let i = pick(&mut rng, n);
            if c.is_up(i) {
                c.crash(i);
            }
        }
        // Keep the ratio the lab keeps: enough time for elections between rounds.
        c.run_for(ms(uniform_inclusive(&mut rng, 0, 700)));
    }
    c.run_for(ELECTION_TIMEOUT);
    c.set_link(Cluster::reliable());
    for i in 0..n {
        if !c.is_up(i) {
            c.restart(i);
        }
        c.connect(i);
    }
    c.run_for(ELECTION_TIMEOUT);
    let final_command = command(&mut rng);
    let last = c.one(final_command, n);
    submitted.push((last, final_command));
    // Every server has applied the same prefix up to the last command.
    for i in 1..n {
        assert_eq!(
            &c.applied(i)[..last.0 as usize],
            &c.applied(0)[..last.0 as usize],
            "seed {seed}: server {i} applied a different history"
        );
    }
    // Whatever is in the agreed history at an index a client was given is either that client's command or a
    // command from a later leader that overwrote an uncommitted entry: never a command nobody submitted.
    let history = c.applied(0);
    for (index, cmd) in submitted.iter().filter(|(ix, _)| ix.0 <= last.0) {
        let applied = history[(index.0 - 1) as usize].command;
        if applied != *cmd {
            assert!(
                submitted.iter().any(|s| s.1 == applied),
                "seed {seed}: {applied} was never submitted"
            );
        }
    }
}

fn reliable_churn(seed: u64) {
    churn(seed, false);
}

fn unreliable_churn(seed: u64) {
    churn(seed, true);
}

fn unreliable_churn_4(seed: u64) {
    churn_of(4, seed, true);
}

fn reliable_churn_6(seed: u64) {
    churn_of(6, seed, false);
}
