//! Link rules limited to message classes, and timer jitter: each rule kind (loss, latency, duplication, long
//! delay, cut) changes exactly the messages of its classes and leaves the others as the link's model has them.

use sim_core::{
    Classes, Ctx, Host, Latency, LinkModel, LinkRule, LongDelay, Network, NodeId, Process, SimTime, Simulation, Trace,
    Verdict,
};
use std::time::Duration;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn id(i: usize) -> NodeId {
    NodeId::new(i)
}

/// A message of some class; the class is the process's business, the engine only matches it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Msg {
    class: u8,
    seq: u32,
}

/// What the probe reports: a message's class and sequence number, or a timer firing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Seen {
    Got(u8, u32),
    Timer,
}

struct Probe;

impl Process for Probe {
    type Msg = Msg;
    type Note = Seen;
    const TIMERS: usize = 1;
    fn on_start(&mut self, _ctx: &mut Ctx<'_, Msg, Seen>) {}
    fn on_message(&mut self, ctx: &mut Ctx<'_, Msg, Seen>, _from: NodeId, msg: Msg) {
        ctx.note(Seen::Got(msg.class, msg.seq));
    }
    fn on_timer(&mut self, ctx: &mut Ctx<'_, Msg, Seen>, _timer: usize) {
        ctx.note(Seen::Timer);
    }
    fn class(msg: &Msg) -> u8 {
        msg.class
    }
}

fn constant(d: Duration) -> LinkModel {
    LinkModel::with_latency(Latency::Constant(d))
}

/// Two nodes on 1 ms links, `0 -> 1` carrying `rules`.
fn sim(rules: Vec<LinkRule>) -> Simulation<Probe, ()> {
    let mut net = Network::new(2, constant(ms(1)));
    net.set_rules(id(0), id(1), rules);
    let mut s = Simulation::new(net, 7);
    s.start(id(0), Probe);
    s.start(id(1), Probe);
    s.enable_trace();
    s
}

/// Sends `count` messages of each class in `0..4` from node 0 to node 1 at time 0 (classes interleaved), runs
/// to the end, and returns, per class, each message's arrival times in microseconds (empty: never arrived;
/// two: duplicated).
fn fates(s: &mut Simulation<Probe, ()>, count: u32) -> Vec<Vec<Vec<u64>>> {
    s.call(id(0), |_, ctx| {
        for seq in 0..count {
            for class in 0..4 {
                ctx.send(id(1), Msg { class, seq });
            }
        }
    });
    s.run_until(SimTime::from_micros(u64::MAX / 2));
    let mut out = vec![vec![Vec::new(); count as usize]; 4];
    for (t, _, seen) in s.take_notes() {
        if let Seen::Got(class, seq) = seen {
            out[class as usize][seq as usize].push(t.since_start().as_micros() as u64);
        }
    }
    out
}

fn rule(classes: &[u8], model: LinkModel) -> LinkRule {
    LinkRule {
        classes: Classes::of(classes),
        verdict: Verdict::Model(model),
    }
}

#[test]
fn a_loss_rule_drops_only_messages_of_its_classes() {
    let lossy = LinkModel {
        loss: 1.0,
        ..constant(ms(1))
    };
    let mut s = sim(vec![rule(&[2], lossy)]);
    let f = fates(&mut s, 50);
    assert!(f[2].iter().all(Vec::is_empty), "class 2 never arrives");
    for class in [0, 1, 3] {
        assert!(f[class].iter().all(|a| *a == vec![1_000]), "class {class} untouched");
    }
    assert_eq!(s.stats().dropped, 50);
    // The other direction has no rules.
    s.call(id(1), |_, ctx| ctx.send(id(0), Msg { class: 2, seq: 0 }));
    s.run_until(SimTime::from_micros(10_000_000));
    assert_eq!(s.stats().dropped, 50);
}

#[test]
fn a_latency_rule_delays_only_messages_of_its_classes() {
    let mut s = sim(vec![rule(&[1, 3], constant(ms(40)))]);
    let f = fates(&mut s, 20);
    for (class, arrivals) in f.iter().enumerate() {
        let want = if class % 2 == 1 { 40_000 } else { 1_000 };
        assert!(arrivals.iter().all(|a| *a == vec![want]), "class {class}: {arrivals:?}");
    }
}

#[test]
fn a_duplication_rule_copies_only_messages_of_its_classes() {
    let twice = LinkModel {
        duplicate: 1.0,
        ..constant(ms(3))
    };
    let mut s = sim(vec![rule(&[0], twice)]);
    let f = fates(&mut s, 20);
    assert!(f[0].iter().all(|a| *a == vec![3_000, 3_000]), "class 0 twice");
    for (class, arrivals) in f.iter().enumerate().skip(1) {
        assert!(arrivals.iter().all(|a| *a == vec![1_000]), "class {class} once");
    }
    assert_eq!(s.stats().duplicated, 20);
}

#[test]
fn a_long_delay_rule_reorders_only_messages_of_its_classes() {
    let long = LinkModel {
        long_delay: Some(LongDelay {
            probability: 0.5,
            latency: Latency::Uniform {
                min: ms(200),
                max: ms(2200),
            },
        }),
        ..constant(ms(1))
    };
    let mut s = sim(vec![rule(&[3], long)]);
    let f = fates(&mut s, 400);
    let delayed = f[3].iter().filter(|a| a[0] >= 200_000).count();
    assert!(
        f[3].iter()
            .all(|a| a.len() == 1 && (a[0] == 1_000 || (200_000..=2_200_000).contains(&a[0])))
    );
    // Binomial(400, 0.5): standard deviation 10; allow five.
    assert!((150..=250).contains(&delayed), "{delayed} of 400 delayed");
    for (class, arrivals) in f.iter().enumerate().take(3) {
        assert!(arrivals.iter().all(|a| *a == vec![1_000]), "class {class} on time");
    }
}

#[test]
fn a_cut_rule_drops_only_messages_of_its_classes_and_draws_nothing() {
    let cut = LinkRule {
        classes: Classes::of(&[0, 2]),
        verdict: Verdict::Cut,
    };
    // A lossy link: were the cut rule drawing, the other classes' fates would shift.
    let lossy = LinkModel {
        loss: 0.5,
        ..constant(ms(1))
    };
    let run = |rules: Vec<LinkRule>| {
        let mut net = Network::new(2, lossy.clone());
        net.set_rules(id(0), id(1), rules);
        let mut s: Simulation<Probe, ()> = Simulation::new(net, 7);
        s.start(id(0), Probe);
        s.start(id(1), Probe);
        s.call(id(0), |_, ctx| {
            for seq in 0..100 {
                // Cut classes first, so a draw for them would move every later message's fate.
                ctx.send(id(1), Msg { class: 0, seq });
                ctx.send(id(1), Msg { class: 2, seq });
            }
            for seq in 0..100 {
                ctx.send(id(1), Msg { class: 1, seq });
            }
        });
        s.run_until(SimTime::from_micros(10_000_000));
        s.take_notes().map(|(_, _, seen)| seen).collect::<Vec<_>>()
    };
    let with_cut = run(vec![cut]);
    assert!(
        with_cut.iter().all(|s| matches!(s, Seen::Got(1, _))),
        "only class 1 arrives"
    );
    // Class 1 meets exactly the fates it meets when classes 0 and 2 are never sent.
    let mut net = Network::new(2, lossy.clone());
    net.set_rules(id(0), id(1), Vec::new());
    let mut s: Simulation<Probe, ()> = Simulation::new(net, 7);
    s.start(id(0), Probe);
    s.start(id(1), Probe);
    s.call(id(0), |_, ctx| {
        for seq in 0..100 {
            ctx.send(id(1), Msg { class: 1, seq });
        }
    });
    s.run_until(SimTime::from_micros(10_000_000));
    let alone: Vec<Seen> = s.take_notes().map(|(_, _, seen)| seen).collect();
    assert_eq!(with_cut, alone);
    assert!(!alone.is_empty() && alone.len() < 100);
}

#[test]
fn the_first_matching_rule_decides_and_a_link_cut_beats_every_rule() {
    let mut s = sim(vec![
        rule(&[1], constant(ms(10))),
        rule(&[1, 2], constant(ms(20))),
        LinkRule {
            classes: Classes::ALL,
            verdict: Verdict::Model(constant(ms(30))),
        },
    ]);
    let f = fates(&mut s, 1);
    assert_eq!(
        f,
        vec![
            vec![vec![30_000]],
            vec![vec![10_000]],
            vec![vec![20_000]],
            vec![vec![30_000]]
        ]
    );
    s.network_mut().set_cut(id(0), id(1), true);
    let f = fates(&mut s, 1);
    assert!(f.iter().all(|c| c[0].is_empty()), "a cut drops every class");
}

#[test]
fn rules_for_classes_never_sent_change_no_draw() {
    let link = LinkModel {
        loss: 0.3,
        duplicate: 0.2,
        ..LinkModel::with_latency(Latency::Uniform { min: ms(1), max: ms(9) })
    };
    let trace = |rules: Vec<LinkRule>| {
        let mut net = Network::new(2, link.clone());
        net.set_rules(id(0), id(1), rules);
        let mut s: Simulation<Probe, ()> = Simulation::new(net, 3);
        s.start(id(0), Probe);
        s.start(id(1), Probe);
        s.enable_trace();
        s.call(id(0), |_, ctx| {
            for seq in 0..200 {
                ctx.send(
                    id(1),
                    Msg {
                        class: seq as u8 % 4,
                        seq,
                    },
                );
            }
        });
        s.run_until(SimTime::from_micros(10_000_000));
        s.take_trace()
    };
    let plain = trace(Vec::new());
    let unused = trace(vec![LinkRule {
        classes: Classes::of(&[9, 63]),
        verdict: Verdict::Cut,
    }]);
    assert_eq!(plain, unused);
    assert!(
        plain
            .iter()
            .any(|(_, t)| matches!(t, Trace::Send { arrives: None, .. }))
    );
}

/// Arms node 0's timer for 100 ms `times` times, one after the other, and returns when each fired (us after
/// it was armed).
fn timer_delays(host: Host, times: usize) -> Vec<u64> {
    let mut s: Simulation<Probe, ()> = Simulation::new(Network::new(1, constant(ms(1))), 11);
    s.set_host(id(0), host);
    s.start(id(0), Probe);
    let mut delays = Vec::new();
    for _ in 0..times {
        let armed = s.now();
        s.call(id(0), |_, ctx| ctx.set_timer(0, ms(100)));
        s.run_until(SimTime::from_micros(u64::MAX / 2));
        let fired: Vec<_> = s.take_notes().collect();
        assert_eq!(fired.len(), 1);
        delays.push((fired[0].0.since_start() - armed.since_start()).as_micros() as u64);
    }
    delays
}

#[test]
fn timer_jitter_fires_late_by_at_most_its_maximum_and_the_draws_vary() {
    let jittery = Host {
        timer_jitter: Some(Latency::Uniform { min: ms(0), max: ms(1) }),
        ..Host::default()
    };
    let delays = timer_delays(jittery.clone(), 500);
    assert!(delays.iter().all(|d| (100_000..=101_000).contains(d)), "{delays:?}");
    let distinct: std::collections::BTreeSet<_> = delays.iter().collect();
    assert!(distinct.len() > 100, "draws vary: {} distinct", distinct.len());
    let mean = delays.iter().sum::<u64>() as f64 / delays.len() as f64;
    // Uniform on [0, 1000] us: standard error 289 / sqrt(500) = 13 us; allow 65.
    assert!((mean - 100_500.0).abs() < 65.0, "mean {mean}");
    // The same seed draws the same jitter.
    assert_eq!(delays, timer_delays(jittery, 500));
}

#[test]
fn without_jitter_timers_fire_exactly_on_time() {
    assert!(timer_delays(Host::default(), 50).iter().all(|&d| d == 100_000));
    let constant_zero = Host {
        timer_jitter: Some(Latency::Constant(Duration::ZERO)),
        ..Host::default()
    };
    assert!(timer_delays(constant_zero, 50).iter().all(|&d| d == 100_000));
}

#[test]
fn jitter_follows_the_lazy_reset_both_ways() {
    // Heartbeat-style resets every 10 ms of a 100 ms timer, with up to 30 ms jitter: the timer fires once,
    // within [last arm + 100 ms, last arm + 130 ms], whether the jittered deadline moved later or earlier.
    let mut s: Simulation<Probe, ()> = Simulation::new(Network::new(1, constant(ms(1))), 5);
    s.set_host(
        id(0),
        Host {
            timer_jitter: Some(Latency::Uniform {
                min: ms(0),
                max: ms(30),
            }),
            ..Host::default()
        },
    );
    s.start(id(0), Probe);
    let mut last = 0;
    for i in 0..50u64 {
        s.schedule(SimTime::from_micros(i * 10_000), ());
        s.run_until(SimTime::from_micros(i * 10_000));
        s.call(id(0), |_, ctx| ctx.set_timer(0, ms(100)));
        last = i * 10_000;
        assert!(!s.has_notes(), "no firing while reset");
    }
    s.run_until(SimTime::from_micros(u64::MAX / 2));
    let fired: Vec<_> = s.take_notes().collect();
    assert_eq!(fired.len(), 1);
    let at = fired[0].0.since_start().as_micros() as u64;
    assert!((last + 100_000..=last + 130_000).contains(&at), "{at}");
}
