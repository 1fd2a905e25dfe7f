//! The fault model: per-link models, duplication, long delays, partial partitions, and non-ideal hosts (clock
//! skew, slow CPUs, slow disks), each checked for exactly what it changes.

use sim_core::rng::stream;
use sim_core::{Ctx, Host, Latency, LinkModel, LongDelay, Network, NodeId, Process, SimTime, Simulation};
use std::time::Duration;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn id(i: usize) -> NodeId {
    NodeId::new(i)
}

/// What the probe reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Seen {
    /// Got message `seq` from a node.
    Got { from: NodeId, seq: u32 },
    /// Timer fired.
    Timer,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Msg {
    Data(u32),
    /// Persist, then acknowledge to the sender.
    Write(u32),
    Ack(u32),
}

/// Records what arrives; writes (with a durable sync) and acknowledges `Write`s.
struct Probe;

impl Process for Probe {
    type Msg = Msg;
    type Note = Seen;
    const TIMERS: usize = 1;
    fn on_start(&mut self, _ctx: &mut Ctx<'_, Msg, Seen>) {}
    fn on_message(&mut self, ctx: &mut Ctx<'_, Msg, Seen>, from: NodeId, msg: Msg) {
        match msg {
            Msg::Data(seq) | Msg::Ack(seq) => ctx.note(Seen::Got { from, seq }),
            Msg::Write(seq) => {
                ctx.note(Seen::Got { from, seq });
                ctx.sync();
                ctx.send(from, Msg::Ack(seq));
            }
        }
    }
    fn on_timer(&mut self, ctx: &mut Ctx<'_, Msg, Seen>, _timer: usize) {
        ctx.note(Seen::Timer);
    }
}

fn sim(net: Network) -> Simulation<Probe, ()> {
    let n = net.len();
    let mut s = Simulation::new(net, 7);
    for i in 0..n {
        s.start(id(i), Probe);
    }
    s
}

fn constant(d: Duration) -> LinkModel {
    LinkModel::with_latency(Latency::Constant(d))
}

/// Sends `msg` from `from` to `to` now.
fn send(s: &mut Simulation<Probe, ()>, from: usize, to: usize, msg: Msg) {
    s.call(id(from), |_, ctx| ctx.send(id(to), msg));
}

/// Every note, as (time in µs, receiving node, what).
fn drain(s: &mut Simulation<Probe, ()>) -> Vec<(u64, usize, Seen)> {
    s.run_until(SimTime::from_micros(u64::MAX / 2));
    s.take_notes()
        .map(|(t, n, seen)| (t.as_micros(), n.index(), seen))
        .collect()
}

#[test]
fn partial_partition_cuts_one_pair_and_leaves_both_reaching_the_third() {
    let mut s = sim(Network::new(3, constant(ms(1))));
    for (a, b) in [(0, 1), (1, 0)] {
        s.network_mut().set_cut(id(a), id(b), true);
    }
    for a in 0..3 {
        for b in 0..3 {
            if a != b {
                send(&mut s, a, b, Msg::Data((a * 10 + b) as u32));
            }
        }
    }
    let mut got: Vec<(usize, usize)> = drain(&mut s)
        .into_iter()
        .map(|(_, to, seen)| match seen {
            Seen::Got { from, .. } => (from.index(), to),
            Seen::Timer => unreachable!(),
        })
        .collect();
    got.sort();
    // Everything except 0 <-> 1.
    assert_eq!(got, vec![(0, 2), (1, 2), (2, 0), (2, 1)]);
    assert!(!s.network().connected(id(0), id(1)));
    assert!(s.network().connected(id(0), id(2)) && s.network().connected(id(1), id(2)));
}

#[test]
fn per_link_models_can_be_asymmetric() {
    let mut net = Network::new(3, constant(ms(1)));
    net.set_link(id(0), id(1), constant(ms(40)));
    let mut s = sim(net);
    send(&mut s, 0, 1, Msg::Data(1));
    send(&mut s, 1, 0, Msg::Data(2));
    send(&mut s, 0, 2, Msg::Data(3));
    let notes = drain(&mut s);
    let at = |want: u32| {
        notes
            .iter()
            .find(|n| matches!(n.2, Seen::Got { seq, .. } if seq == want))
            .map(|n| n.0)
    };
    assert_eq!(at(1), Some(40_000), "0 -> 1 is the slow direction");
    assert_eq!(at(2), Some(1_000), "1 -> 0 keeps the default");
    assert_eq!(at(3), Some(1_000), "other links keep the default");
}

#[test]
fn duplication_delivers_about_the_configured_fraction_twice() {
    let link = LinkModel {
        duplicate: 0.2,
        ..LinkModel::with_latency(Latency::Uniform { min: ms(1), max: ms(9) })
    };
    let mut s = sim(Network::new(2, link));
    let n = 20_000;
    for seq in 0..n {
        send(&mut s, 0, 1, Msg::Data(seq));
    }
    let notes = drain(&mut s);
    let extra = notes.len() as f64 - n as f64;
    let fraction = extra / n as f64;
    // Binomial standard error is 0.0028; allow four.
    assert!((fraction - 0.2).abs() < 0.012, "duplicated fraction {fraction}");
    assert_eq!(s.stats().duplicated as usize, notes.len() - n as usize);
    // Each message arrives at most twice.
    let mut per_seq = vec![0u8; n as usize];
    for (_, _, seen) in notes {
        if let Seen::Got { seq, .. } = seen {
            per_seq[seq as usize] += 1;
        }
    }
    assert!(per_seq.iter().all(|&c| c == 1 || c == 2));
}

#[test]
fn long_delays_reorder_about_the_configured_fraction() {
    let link = LinkModel {
        long_delay: Some(LongDelay {
            probability: 0.1,
            latency: Latency::Uniform {
                min: ms(200),
                max: ms(400),
            },
        }),
        ..constant(ms(2))
    };
    let mut s = sim(Network::new(2, link));
    let n = 20_000;
    for seq in 0..n {
        send(&mut s, 0, 1, Msg::Data(seq));
    }
    let notes = drain(&mut s);
    assert_eq!(notes.len(), n as usize, "long delays lose nothing");
    let late = notes.iter().filter(|n| n.0 >= 200_000).count() as f64 / n as f64;
    assert!((late - 0.1).abs() < 0.01, "late fraction {late}");
    assert!(notes.iter().all(|n| n.0 == 2_000 || (200_000..=400_000).contains(&n.0)));
}

#[test]
fn a_fast_clock_fires_timers_early_and_a_slow_one_late() {
    let mut s = sim(Network::new(3, constant(ms(1))));
    s.set_host(
        id(1),
        Host {
            clock_rate: 1.25,
            ..Host::default()
        },
    );
    s.set_host(
        id(2),
        Host {
            clock_rate: 0.8,
            ..Host::default()
        },
    );
    for i in 0..3 {
        s.call(id(i), |_, ctx| ctx.set_timer(0, ms(100)));
    }
    let mut fired: Vec<(usize, u64)> = drain(&mut s).into_iter().map(|(t, n, _)| (n, t)).collect();
    fired.sort();
    assert_eq!(fired, vec![(0, 100_000), (1, 80_000), (2, 125_000)]);
}

#[test]
fn clock_drift_changes_the_rate_over_time() {
    let mut s = sim(Network::new(1, constant(ms(1))));
    s.set_host(
        id(0),
        Host {
            clock_drift_per_hour: 0.1,
            ..Host::default()
        },
    );
    s.schedule(SimTime::from_micros(3_600_000_000), ());
    s.run_until(SimTime::from_micros(3_600_000_000));
    // An hour in, the clock runs 10 % fast: a 110 ms timer takes 100 ms.
    s.call(id(0), |_, ctx| ctx.set_timer(0, ms(110)));
    let notes = drain(&mut s);
    assert_eq!(notes, vec![(3_600_100_000, 0, Seen::Timer)]);
}

#[test]
fn a_slow_cpu_handles_messages_one_at_a_time() {
    let mut s = sim(Network::new(2, constant(ms(1))));
    s.set_host(
        id(1),
        Host {
            processing: Some(Latency::Constant(ms(5))),
            ..Host::default()
        },
    );
    for seq in 0..3 {
        send(&mut s, 0, 1, Msg::Data(seq));
    }
    let times: Vec<u64> = drain(&mut s).into_iter().map(|n| n.0).collect();
    // All arrive at 1 ms; handled at 6, 11 and 16 ms.
    assert_eq!(times, vec![6_000, 11_000, 16_000]);
}

#[test]
fn messages_queued_on_a_slow_cpu_die_with_a_crash() {
    let mut s = sim(Network::new(2, constant(ms(1))));
    s.set_host(
        id(1),
        Host {
            processing: Some(Latency::Constant(ms(5))),
            ..Host::default()
        },
    );
    send(&mut s, 0, 1, Msg::Data(1));
    // Arrives at 1 ms, would be handled at 6 ms; the node crashes at 3 ms and restarts at once.
    s.schedule(SimTime::from_micros(3_000), ());
    s.run_until(SimTime::from_micros(3_000));
    s.crash(id(1));
    s.start(id(1), Probe);
    assert!(
        drain(&mut s).is_empty(),
        "the new incarnation never sees the old one's queue"
    );
    assert_eq!(s.stats().lost_to_crash, 1);
}

#[test]
fn a_slow_disk_holds_replies_until_the_write_completes_and_groups_waiting_writes() {
    let mut s = sim(Network::new(2, constant(ms(1))));
    s.set_host(
        id(1),
        Host {
            persist: Some(Latency::Constant(ms(10))),
            ..Host::default()
        },
    );
    send(&mut s, 0, 1, Msg::Write(1));
    send(&mut s, 0, 1, Msg::Write(2));
    send(&mut s, 0, 1, Msg::Write(3));
    s.run_until(SimTime::from_micros(14_999));
    s.advance_to(SimTime::from_micros(15_000));
    send(&mut s, 0, 1, Msg::Write(4));
    let acks: Vec<u64> = drain(&mut s).into_iter().filter(|n| n.1 == 0).map(|n| n.0).collect();
    // Three writes arrive at 1 ms. The first completes at 11 ms; the other two, asked for while it ran, are
    // committed together by the next write, 11 to 21 ms. The fourth arrives at 16 ms, while that batch runs, and
    // gets the one after it: 21 to 31 ms. Each ack then takes 1 ms.
    assert_eq!(acks, vec![12_000, 22_000, 22_000, 32_000]);
}

#[test]
fn a_crash_before_a_write_completes_keeps_the_replies_waiting_for_it_from_leaving() {
    let mut s = sim(Network::new(2, constant(ms(1))));
    s.set_host(
        id(1),
        Host {
            persist: Some(Latency::Constant(ms(10))),
            ..Host::default()
        },
    );
    // The first write arrives at 1 ms and completes at 11 ms; node 1 crashes at 6 ms, while it runs.
    send(&mut s, 0, 1, Msg::Write(1));
    s.run_until(SimTime::from_micros(6_000));
    s.advance_to(SimTime::from_micros(6_000));
    s.crash(id(1));
    s.start(id(1), Probe);
    // The restarted node's next write starts afresh at 7 ms and completes at 17 ms; it survives.
    send(&mut s, 0, 1, Msg::Write(2));
    let acks: Vec<(u64, Seen)> = drain(&mut s)
        .into_iter()
        .filter(|n| n.1 == 0)
        .map(|n| (n.0, n.2))
        .collect();
    assert_eq!(acks, vec![(18_000, Seen::Got { from: id(1), seq: 2 })]);
    assert_eq!(s.stats().unsent, 1, "the first ack never left");
}

#[test]
fn what_a_process_sends_while_an_earlier_write_is_on_the_disk_waits_for_it() {
    let mut s = sim(Network::new(2, constant(ms(1))));
    s.set_host(
        id(1),
        Host {
            persist: Some(Latency::Constant(ms(10))),
            ..Host::default()
        },
    );
    // The write arrives at 1 ms and completes at 11 ms; at 5 ms node 1 sends again, in another callback, and
    // that message too leaves only at 11 ms (as behind a blocking fsync), arriving at 12 ms.
    send(&mut s, 0, 1, Msg::Write(1));
    s.run_until(SimTime::from_micros(5_000));
    s.advance_to(SimTime::from_micros(5_000));
    send(&mut s, 1, 0, Msg::Data(7));
    let at_0: Vec<(u64, Seen)> = drain(&mut s)
        .into_iter()
        .filter(|n| n.1 == 0)
        .map(|n| (n.0, n.2))
        .collect();
    assert_eq!(
        at_0,
        vec![
            (12_000, Seen::Got { from: id(1), seq: 1 }),
            (12_000, Seen::Got { from: id(1), seq: 7 })
        ]
    );
}

/// A process that does nothing by itself: the notes tests drive it through `Simulation::call`.
struct Writer;
impl Process for Writer {
    type Msg = ();
    type Note = u32;
    const TIMERS: usize = 0;
    fn on_start(&mut self, _ctx: &mut Ctx<'_, (), u32>) {}
    fn on_message(&mut self, _ctx: &mut Ctx<'_, (), u32>, _from: NodeId, _msg: ()) {}
    fn on_timer(&mut self, _ctx: &mut Ctx<'_, (), u32>, _timer: usize) {}
}

/// A one-node simulation running a [`Writer`] whose durable writes take 10 ms.
fn writer_on_a_slow_disk() -> Simulation<Writer, ()> {
    let mut s: Simulation<Writer, ()> = Simulation::new(Network::new(1, constant(ms(1))), 7);
    s.set_host(
        id(0),
        Host {
            persist: Some(Latency::Constant(ms(10))),
            ..Host::default()
        },
    );
    s.start(id(0), Writer);
    s
}

#[test]
fn notes_after_writes_wait_for_them_and_die_with_a_crash() {
    let run = |crash_at: Option<u64>| {
        let mut s = writer_on_a_slow_disk();
        s.call(id(0), |_, ctx| {
            ctx.note_after_writes(1); // no write yet: at once
            ctx.sync();
            ctx.note_after_writes(2); // after the write: at 10 ms
            ctx.note(3); // an observation: at once
        });
        if let Some(t) = crash_at {
            s.run_until(SimTime::from_micros(t));
            s.advance_to(SimTime::from_micros(t));
            s.crash(id(0));
        }
        s.run_until(SimTime::from_micros(u64::MAX / 2));
        s.take_notes().map(|(t, _, n)| (t.as_micros(), n)).collect::<Vec<_>>()
    };
    assert_eq!(run(None), vec![(0, 1), (0, 3), (10_000, 2)]);
    // A note asked for at the very moment an earlier one comes due still follows it.
    let mut s = writer_on_a_slow_disk();
    s.schedule(SimTime::from_micros(10_000), ());
    s.call(id(0), |_, ctx| {
        ctx.sync();
        ctx.note_after_writes(2);
    });
    assert_eq!(s.step(), Some(sim_core::Stepped::External(())));
    s.call(id(0), |_, ctx| ctx.note_after_writes(4));
    s.run_until(SimTime::from_micros(u64::MAX / 2));
    let order: Vec<u32> = s.take_notes().map(|(_, _, n)| n).collect();
    assert_eq!(order, vec![2, 4]);
    assert_eq!(
        run(Some(5_000)),
        vec![(0, 1), (0, 3)],
        "the crash came before the write completed"
    );
}

/// Several notes after writes at once are reported as the same notes one by one: at once with no write in
/// progress, and behind the write (each in order, and before a later one) with one.
#[test]
fn notes_after_writes_in_a_batch_are_those_notes_one_by_one() {
    let run = |batch: bool| {
        let mut s = writer_on_a_slow_disk();
        let notes = |ctx: &mut Ctx<'_, (), u32>, from: u32| {
            if batch {
                ctx.notes_after_writes(from..from + 3);
                ctx.notes_after_writes(std::iter::empty());
            } else {
                (from..from + 3).for_each(|n| ctx.note_after_writes(n));
            }
        };
        s.call(id(0), |_, ctx| {
            notes(ctx, 1); // no write yet: at once
            ctx.sync();
            notes(ctx, 10); // behind the write: at 10 ms
            ctx.note_after_writes(20);
            ctx.note(30);
        });
        s.run_until(SimTime::from_micros(u64::MAX / 2));
        s.take_notes().map(|(t, _, n)| (t.as_micros(), n)).collect::<Vec<_>>()
    };
    let expected = vec![
        (0, 1),
        (0, 2),
        (0, 3),
        (0, 30),
        (10_000, 10),
        (10_000, 11),
        (10_000, 12),
        (10_000, 20),
    ];
    assert_eq!(run(false), expected);
    assert_eq!(run(true), expected);
}

#[test]
fn sync_reports_when_the_write_is_durable() {
    struct Writer;
    impl Process for Writer {
        type Msg = ();
        type Note = ();
        const TIMERS: usize = 0;
        fn on_start(&mut self, _ctx: &mut Ctx<'_, (), ()>) {}
        fn on_message(&mut self, _ctx: &mut Ctx<'_, (), ()>, _from: NodeId, _msg: ()) {}
        fn on_timer(&mut self, _ctx: &mut Ctx<'_, (), ()>, _timer: usize) {}
    }
    let mut s: Simulation<Writer, ()> = Simulation::new(Network::new(2, constant(ms(1))), 7);
    s.start(id(0), Writer);
    s.start(id(1), Writer);
    s.set_host(
        id(1),
        Host {
            persist: Some(Latency::Constant(ms(10))),
            ..Host::default()
        },
    );
    let done = |s: &mut Simulation<Writer, ()>, node: usize| s.call(id(node), |_, ctx| ctx.sync().as_micros());
    // An ideal host's write is durable at once; a slow disk's after its latency, and a write asked for while
    // one runs joins the batch after it.
    assert_eq!(done(&mut s, 0), Some(0));
    assert_eq!(done(&mut s, 1), Some(10_000));
    assert_eq!(done(&mut s, 1), Some(20_000));
    assert_eq!(done(&mut s, 1), Some(20_000));
}

#[test]
fn an_ideal_host_draws_nothing_and_changes_nothing() {
    let run = |with_host: bool| {
        let link = LinkModel::with_latency(Latency::Uniform { min: ms(1), max: ms(9) });
        let mut s = sim(Network::new(2, link));
        if with_host {
            s.set_host(id(1), Host::default());
        }
        for seq in 0..100 {
            send(&mut s, 0, 1, Msg::Write(seq));
        }
        drain(&mut s)
    };
    assert_eq!(run(false), run(true));
}

#[test]
fn latency_draws_come_from_the_given_stream() {
    let lat = Latency::Exponential {
        min: ms(1),
        mean: ms(3),
    };
    let draw = |stream_id| {
        let mut r = stream(5, stream_id);
        (0..50).map(|_| lat.sample(&mut r)).collect::<Vec<Duration>>()
    };
    let (a, b) = (draw(1), draw(2));
    assert_eq!(a, draw(1));
    assert_ne!(a, b);
}
