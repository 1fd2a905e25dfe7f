//! The network model: which messages arrive, and when.
//!
//! Every directed link `from -> to` has a model (latency distribution and loss probability) and may be cut.
//! A cut is directional, so a symmetric partition is two cuts and a one-way cut is one.
//!
//! A link may also carry [`LinkRule`]s limited to some message classes (the process reports each message's
//! class through [`crate::Process::class`]; the engine gives classes no meaning). A message is decided in this
//! order, in the spirit of turmoil's rule chain and TigerBeetle's packet-simulator filters:
//!
//! 1. a cut of the link ([`Network::set_cut`]) drops it, whatever its class;
//! 2. otherwise the link's rules are checked in order, and the first whose [`Classes`] contain the message's
//!    class decides alone: [`Verdict::Cut`] drops it (drawing nothing), [`Verdict::Model`] routes it by that
//!    model instead of the link's (its loss, latency, duplication and long delays, all of them);
//! 3. a message no rule matches follows the link's model.
//!
//! A link without rules draws exactly what it drew before rules existed.

use crate::NodeId;
pub use crate::latency::Latency;
use crate::rng::{Chance, Pcg64, uniform_inclusive};
use crate::time::micros;
use std::time::Duration;

/// The behaviour of one directed link.
#[derive(Clone, Debug, PartialEq)]
pub struct LinkModel {
    /// Delay distribution.
    pub latency: Latency,
    /// Probability in `[0, 1]` that a message is lost.
    pub loss: f64,
    /// Probability in `[0, 1]` that a delivered message is delivered a second time, after its own delay.
    pub duplicate: f64,
    /// Occasional long delays, which reorder messages far beyond what latency variance does.
    pub long_delay: Option<LongDelay>,
}

/// With probability `probability`, a message's delay is drawn from `latency` instead of the link's usual one.
#[derive(Clone, Debug, PartialEq)]
pub struct LongDelay {
    /// Probability in `[0, 1]`.
    pub probability: f64,
    /// The long delay's distribution.
    pub latency: Latency,
}

impl LinkModel {
    /// A link with the given latency and nothing else: no loss, duplication or long delays.
    pub fn with_latency(latency: Latency) -> Self {
        LinkModel {
            latency,
            loss: 0.0,
            duplicate: 0.0,
            long_delay: None,
        }
    }

    /// Draws one message's delay: one draw for the long-delay choice (only when long delays are configured),
    /// then the delay itself.
    #[inline]
    pub fn delay(&self, rng: &mut Pcg64) -> Duration {
        Duration::from_micros(self.delay_micros(rng))
    }

    /// [`delay`](Self::delay) in whole microseconds (the same draws).
    #[inline]
    pub fn delay_micros(&self, rng: &mut Pcg64) -> u64 {
        if let Some(long) = &self.long_delay
            && Chance::of(long.probability).happens(rng)
        {
            return long.latency.sample_micros(rng);
        }
        self.latency.sample_micros(rng)
    }
}

impl Default for LinkModel {
    fn default() -> Self {
        LinkModel::with_latency(Latency::Constant(Duration::from_millis(1)))
    }
}

/// A [`LinkModel`] compiled for the message path: the same draws as [`LinkModel::delay_micros`], with a
/// constant or uniform delay in microseconds ready rather than converted from `Duration`s on every message.
#[derive(Clone, Debug)]
struct Path {
    loss: Chance,
    duplicate: Chance,
    /// Long delays: their probability, and their delay.
    long: Option<(Chance, Draw)>,
    draw: Draw,
}

#[derive(Clone, Debug)]
enum Draw {
    Constant(u64),
    Uniform(u64, u64),
    /// Another shape: the latency draws.
    Shaped(Latency),
}

impl Draw {
    fn of(latency: &Latency) -> Draw {
        match latency {
            Latency::Constant(d) => Draw::Constant(micros(*d)),
            Latency::Uniform { min, max } => Draw::Uniform(micros(*min), micros(*max)),
            shaped => Draw::Shaped(shaped.clone()),
        }
    }

    /// What [`Latency::sample_micros`] draws.
    #[inline(always)]
    fn sample(&self, rng: &mut Pcg64) -> u64 {
        match self {
            Draw::Constant(us) => *us,
            Draw::Uniform(lo, hi) => uniform_inclusive(rng, *lo, *hi),
            Draw::Shaped(latency) => latency.sample_micros(rng),
        }
    }
}

impl Path {
    fn of(m: &LinkModel) -> Path {
        Path {
            loss: Chance::of(m.loss),
            duplicate: Chance::of(m.duplicate),
            long: m
                .long_delay
                .as_ref()
                .map(|l| (Chance::of(l.probability), Draw::of(&l.latency))),
            draw: Draw::of(&m.latency),
        }
    }

    /// One delay: [`LinkModel::delay_micros`]'s draws.
    #[inline(always)]
    fn delay_micros(&self, rng: &mut Pcg64) -> u64 {
        if let Some((probability, long)) = &self.long
            && probability.happens(rng)
        {
            return long.sample(rng);
        }
        self.draw.sample(rng)
    }
}

/// A set of message classes `0..64`, as [`crate::Process::class`] reports them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Classes(u64);

impl Classes {
    /// Every class.
    pub const ALL: Classes = Classes(u64::MAX);
    /// No class.
    pub const NONE: Classes = Classes(0);

    /// The set of `classes`. Panics if one is 64 or more.
    pub const fn of(classes: &[u8]) -> Classes {
        let mut set = Classes::NONE;
        let mut i = 0;
        while i < classes.len() {
            set = set.with(classes[i]);
            i += 1;
        }
        set
    }

    /// This set and `class`. Panics if `class` is 64 or more.
    pub const fn with(self, class: u8) -> Classes {
        assert!(class < 64, "message classes are 0..64");
        Classes(self.0 | 1 << class)
    }

    /// Whether `class` is in the set.
    #[inline]
    pub const fn contains(self, class: u8) -> bool {
        class < 64 && self.0 & (1 << class) != 0
    }

    /// Whether the set is empty.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }
}

/// What a [`LinkRule`] does to the messages it matches.
#[derive(Clone, Debug, PartialEq)]
pub enum Verdict {
    /// Dropped without a draw, like a cut limited to these classes.
    Cut,
    /// Routed by this model instead of the link's.
    Model(LinkModel),
}

/// A rule on one directed link: messages whose class is in `classes` get `verdict` (see the module docs for
/// how rules combine).
#[derive(Clone, Debug, PartialEq)]
pub struct LinkRule {
    /// The classes it applies to.
    pub classes: Classes,
    /// What happens to them.
    pub verdict: Verdict,
}

/// Links between `n` nodes: a model per directed link (one default unless overridden), and a directed cut
/// matrix.
#[derive(Clone, Debug)]
pub struct Network {
    n: usize,
    /// `models[0]` is the default; `link_of[from * n + to]` indexes the model of each directed link. `link_of`
    /// stays empty until a link gets a model of its own: a network of one model reads no n-by-n table per
    /// message (at a thousand nodes, a cache and TLB miss for every reply to the leader).
    models: Vec<LinkModel>,
    /// `paths[k]` is `models[k]` compiled for the message path.
    paths: Vec<Path>,
    link_of: Vec<u32>,
    /// `rule_sets[0]` is empty; `rules_of[from * n + to]` indexes the rules of each directed link. `rules_of`
    /// stays empty until a link gets rules, so a network without rules pays one branch per message.
    rule_sets: Vec<Vec<LinkRule>>,
    rules_of: Vec<u32>,
    cut: Vec<bool>,
    cut_count: usize,
}

impl Network {
    /// A fully connected network of `n` nodes whose links all follow `default`.
    pub fn new(n: usize, default: LinkModel) -> Self {
        Network {
            n,
            paths: vec![Path::of(&default)],
            models: vec![default],
            link_of: Vec::new(),
            rule_sets: vec![Vec::new()],
            rules_of: Vec::new(),
            cut: vec![false; n * n],
            cut_count: 0,
        }
    }

    /// Number of nodes.
    pub fn len(&self) -> usize {
        self.n
    }

    /// Whether the network has no nodes.
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// The model of links without an override.
    pub fn default_link(&self) -> &LinkModel {
        &self.models[0]
    }

    /// Replaces the model of links without an override (messages already in flight keep their delays).
    pub fn set_default_link(&mut self, link: LinkModel) {
        self.paths[0] = Path::of(&link);
        self.models[0] = link;
    }

    /// Gives the directed link `from -> to` its own model.
    pub fn set_link(&mut self, from: NodeId, to: NodeId, link: LinkModel) {
        let index = match self.models.iter().position(|m| *m == link) {
            Some(i) => i,
            None => {
                self.paths.push(Path::of(&link));
                self.models.push(link);
                self.models.len() - 1
            }
        };
        if self.link_of.is_empty() {
            if index == 0 {
                return;
            }
            self.link_of = vec![0; self.n * self.n];
        }
        self.link_of[from.index() * self.n + to.index()] = index as u32;
    }

    /// The index of the model of link `i` (`from * n + to`).
    #[inline(always)]
    fn model_of(&self, i: usize) -> usize {
        if self.link_of.is_empty() {
            0
        } else {
            self.link_of[i] as usize
        }
    }

    /// The model of the directed link `from -> to`.
    #[inline]
    pub fn link(&self, from: NodeId, to: NodeId) -> &LinkModel {
        &self.models[self.model_of(from.index() * self.n + to.index())]
    }

    /// Replaces the rules of the directed link `from -> to` (checked in order, the first match deciding).
    /// Messages already in flight keep their fate.
    pub fn set_rules(&mut self, from: NodeId, to: NodeId, rules: Vec<LinkRule>) {
        let index = if rules.is_empty() {
            0
        } else {
            match self.rule_sets.iter().position(|r| *r == rules) {
                Some(i) => i,
                None => {
                    self.rule_sets.push(rules);
                    self.rule_sets.len() - 1
                }
            }
        };
        if self.rules_of.is_empty() {
            if index == 0 {
                return;
            }
            self.rules_of = vec![0; self.n * self.n];
        }
        self.rules_of[from.index() * self.n + to.index()] = index as u32;
    }

    /// Adds `rule` after the existing rules of the directed link `from -> to`.
    pub fn add_rule(&mut self, from: NodeId, to: NodeId, rule: LinkRule) {
        let mut rules = self.rules(from, to).to_vec();
        rules.push(rule);
        self.set_rules(from, to, rules);
    }

    /// The rules of the directed link `from -> to`, in order.
    pub fn rules(&self, from: NodeId, to: NodeId) -> &[LinkRule] {
        match self.rules_of.get(from.index() * self.n + to.index()) {
            Some(&i) => &self.rule_sets[i as usize],
            None => &[],
        }
    }

    /// Whether any link has rules: without them, no message's class matters.
    #[inline]
    pub fn has_rules(&self) -> bool {
        !self.rules_of.is_empty()
    }

    /// The model a message of `class` follows on `from -> to` (its link's, unless a rule decides), or `None`
    /// if a rule cuts it. Cuts by [`set_cut`](Self::set_cut) are not considered.
    #[inline]
    pub fn link_for(&self, from: NodeId, to: NodeId, class: u8) -> Option<&LinkModel> {
        let i = from.index() * self.n + to.index();
        if !self.rules_of.is_empty() {
            let set = self.rules_of[i] as usize;
            if set != 0
                && let Some(rule) = self.rule_sets[set].iter().find(|r| r.classes.contains(class))
            {
                return match &rule.verdict {
                    Verdict::Cut => None,
                    Verdict::Model(m) => Some(m),
                };
            }
        }
        Some(&self.models[self.model_of(i)])
    }

    /// Decides the fate of one message of `class`: `None` if it is dropped (cut, cut by a rule, or lost),
    /// else its delay.
    ///
    /// Draw order is fixed: nothing for a cut; one draw for loss (only when the loss probability is non-zero),
    /// then the delay (see [`LinkModel::delay`]).
    #[inline]
    pub fn route(&self, from: NodeId, to: NodeId, class: u8, rng: &mut Pcg64) -> Option<Duration> {
        self.route_micros(from, to, class, rng).map(Duration::from_micros)
    }

    /// [`route`](Self::route), the delay in whole microseconds (the same draws).
    #[inline]
    pub fn route_micros(&self, from: NodeId, to: NodeId, class: u8, rng: &mut Pcg64) -> Option<u64> {
        self.decide::<false>(from, to, class, rng).map(|(delay, _)| delay)
    }

    /// [`route_micros`](Self::route_micros) and, for a delivered message, the delay of its duplicate copy if
    /// the model it followed makes one, with the link looked up once: `None` if the message is dropped, else its
    /// delay and the copy's. Draw order: the route's draws, then (only when the model's duplication probability
    /// is non-zero) one for duplication, then the copy's delay.
    #[inline]
    pub fn route_with_copy(&self, from: NodeId, to: NodeId, class: u8, rng: &mut Pcg64) -> Option<(u64, Option<u64>)> {
        self.decide::<true>(from, to, class, rng)
    }

    /// One message's fate: dropped, or its delay and (with `COPY`, when the model duplicates) its copy's.
    #[inline(always)]
    fn decide<const COPY: bool>(
        &self,
        from: NodeId,
        to: NodeId,
        class: u8,
        rng: &mut Pcg64,
    ) -> Option<(u64, Option<u64>)> {
        let i = from.index() * self.n + to.index();
        if self.cut_count != 0 && self.cut[i] {
            return None;
        }
        if !self.rules_of.is_empty() {
            return self.decide_by_rules::<COPY>(from, to, class, rng);
        }
        // No rules: the link's own model, compiled.
        let k = self.model_of(i);
        let path = &self.paths[k];
        if path.loss.happens_unless_never(rng) {
            return None;
        }
        let delay = path.delay_micros(rng);
        let copy = (COPY && path.duplicate.happens_unless_never(rng)).then(|| path.delay_micros(rng));
        Some((delay, copy))
    }

    /// [`decide`](Self::decide) on a network with rules: the same draws, from the model a rule chose or the
    /// link's.
    #[cold]
    fn decide_by_rules<const COPY: bool>(
        &self,
        from: NodeId,
        to: NodeId,
        class: u8,
        rng: &mut Pcg64,
    ) -> Option<(u64, Option<u64>)> {
        let link = self.link_for(from, to, class)?;
        let (loss, duplicate) = (Chance::of(link.loss), Chance::of(link.duplicate));
        if loss.happens_unless_never(rng) {
            return None;
        }
        let delay = link.delay_micros(rng);
        let copy = (COPY && duplicate.happens_unless_never(rng)).then(|| link.delay_micros(rng));
        Some((delay, copy))
    }

    /// Whether messages from `from` to `to` are blocked by a cut.
    #[inline]
    pub fn is_cut(&self, from: NodeId, to: NodeId) -> bool {
        self.cut[from.index() * self.n + to.index()]
    }

    /// Cuts (or restores) the directed link `from -> to`. A cut drops messages sent after it; messages already
    /// in flight still arrive, as packets already on the wire would.
    pub fn set_cut(&mut self, from: NodeId, to: NodeId, cut: bool) {
        let slot = &mut self.cut[from.index() * self.n + to.index()];
        if *slot != cut {
            *slot = cut;
            if cut {
                self.cut_count += 1;
            } else {
                self.cut_count -= 1;
            }
        }
    }

    /// Splits the nodes into `groups`: links between different groups are cut both ways, links inside a group
    /// are left as they are. Nodes in no group form one more group of their own. Like [`Network::set_cut`], it
    /// affects messages sent from now on.
    pub fn partition(&mut self, groups: &[Vec<NodeId>]) {
        let mut group_of = vec![usize::MAX; self.n];
        for (g, members) in groups.iter().enumerate() {
            for m in members {
                group_of[m.index()] = g;
            }
        }
        for a in 0..self.n {
            for b in 0..self.n {
                if a != b && group_of[a] != group_of[b] {
                    self.set_cut(NodeId::new(a), NodeId::new(b), true);
                }
            }
        }
    }

    /// Restores every link.
    pub fn heal_all(&mut self) {
        if self.cut_count != 0 {
            self.cut.fill(false);
            self.cut_count = 0;
        }
    }

    /// Whether any link is cut.
    pub fn has_cuts(&self) -> bool {
        self.cut_count != 0
    }

    /// Whether `a` and `b` can exchange messages in both directions.
    #[inline]
    pub fn connected(&self, a: NodeId, b: NodeId) -> bool {
        a == b || self.cut_count == 0 || (!self.is_cut(a, b) && !self.is_cut(b, a))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::stream;

    fn ids(v: &[usize]) -> Vec<NodeId> {
        v.iter().map(|&i| NodeId::new(i)).collect()
    }

    #[test]
    fn partition_cuts_exactly_the_links_between_groups() {
        let mut net = Network::new(5, LinkModel::default());
        net.partition(&[ids(&[0, 1]), ids(&[2, 3, 4])]);
        let mut rng = stream(1, 1);
        for a in 0..5 {
            for b in 0..5 {
                let same = (a < 2) == (b < 2);
                let routed = net.route(NodeId::new(a), NodeId::new(b), 0, &mut rng).is_some();
                assert_eq!(routed, same, "{a}->{b}");
            }
        }
        net.heal_all();
        assert!(!net.has_cuts());
        assert!(net.route(NodeId::new(0), NodeId::new(4), 0, &mut rng).is_some());
    }

    /// The per-link table is built only when a link gets a model of its own; either way every link follows the
    /// model it was given, and healing restores every cut link.
    #[test]
    fn links_follow_their_own_model_or_the_default_and_heal_restores_every_cut() {
        let slow = LinkModel::with_latency(Latency::Constant(Duration::from_millis(40)));
        let n = 4;
        let all = |net: &Network, want: &dyn Fn(usize, usize) -> bool| {
            for a in 0..n {
                for b in 0..n {
                    let is_slow = *net.link(NodeId::new(a), NodeId::new(b)) == slow;
                    assert_eq!(is_slow, want(a, b), "{a}->{b}");
                    assert_eq!(
                        net.link_for(NodeId::new(a), NodeId::new(b), 0) == Some(&slow),
                        want(a, b)
                    );
                }
            }
        };
        let mut net = Network::new(n, LinkModel::default());
        net.set_link(NodeId::new(2), NodeId::new(1), LinkModel::default());
        all(&net, &|_, _| false);
        net.set_link(NodeId::new(1), NodeId::new(3), slow.clone());
        all(&net, &|a, b| (a, b) == (1, 3));
        net.set_link(NodeId::new(1), NodeId::new(3), LinkModel::default());
        all(&net, &|_, _| false);

        net.partition(&[ids(&[0, 2]), ids(&[1])]);
        assert!(net.has_cuts());
        net.heal_all();
        assert!(!net.has_cuts());
        for a in 0..n {
            for b in 0..n {
                assert!(!net.is_cut(NodeId::new(a), NodeId::new(b)), "{a}->{b}");
                assert!(net.connected(NodeId::new(a), NodeId::new(b)), "{a}<->{b}");
            }
        }
    }

    #[test]
    fn nodes_outside_every_group_form_their_own_group() {
        let mut net = Network::new(4, LinkModel::default());
        net.partition(&[ids(&[0])]);
        assert!(!net.connected(NodeId::new(0), NodeId::new(1)));
        assert!(net.connected(NodeId::new(1), NodeId::new(3)));
    }

    #[test]
    fn one_way_cut_blocks_one_direction() {
        let mut net = Network::new(2, LinkModel::default());
        net.set_cut(NodeId::new(0), NodeId::new(1), true);
        let mut rng = stream(1, 1);
        assert!(net.route(NodeId::new(0), NodeId::new(1), 0, &mut rng).is_none());
        assert!(net.route(NodeId::new(1), NodeId::new(0), 0, &mut rng).is_some());
        assert!(!net.connected(NodeId::new(0), NodeId::new(1)));
    }

    #[test]
    fn loss_drops_about_the_configured_fraction() {
        let model = LinkModel {
            loss: 0.25,
            ..LinkModel::with_latency(Latency::Constant(Duration::from_millis(2)))
        };
        let net = Network::new(2, model);
        let mut rng = stream(9, 1);
        let n = 200_000;
        let delivered = (0..n)
            .filter(|_| net.route(NodeId::new(0), NodeId::new(1), 0, &mut rng).is_some())
            .count();
        let lost = 1.0 - delivered as f64 / n as f64;
        // Binomial standard deviation is ~0.001 here; 0.005 is five of them.
        assert!((lost - 0.25).abs() < 0.005, "lost fraction {lost}");
    }

    #[test]
    fn uniform_latency_stays_in_bounds_with_the_right_mean() {
        let lat = Latency::Uniform {
            min: Duration::from_millis(5),
            max: Duration::from_millis(15),
        };
        let mut rng = stream(3, 1);
        let n = 100_000u64;
        let mut sum = 0u64;
        for _ in 0..n {
            let d = lat.sample(&mut rng);
            assert!(d >= Duration::from_millis(5) && d <= Duration::from_millis(15));
            sum += crate::time::micros(d);
        }
        let mean_us = sum as f64 / n as f64;
        // Standard deviation of the mean: 2887us / sqrt(1e5) ~ 9us; allow 50us.
        assert!((mean_us - 10_000.0).abs() < 50.0, "mean {mean_us}us");
    }

    /// `route` draws loss and delay only, whatever the duplication probability; `route_with_copy` makes the same
    /// draws first and then the duplicate's: on the compiled path and through a rule alike.
    #[test]
    fn route_draws_no_duplicate_and_route_with_copy_draws_it_after() {
        let latency = Latency::Uniform {
            min: Duration::from_millis(1),
            max: Duration::from_millis(9),
        };
        let plain = LinkModel {
            loss: 0.1,
            ..LinkModel::with_latency(latency.clone())
        };
        let duplicating = LinkModel {
            duplicate: 1.0,
            ..plain.clone()
        };
        let mut ruled = Network::new(2, plain.clone());
        ruled.add_rule(
            NodeId::new(0),
            NodeId::new(1),
            LinkRule {
                classes: Classes::ALL,
                verdict: Verdict::Model(duplicating.clone()),
            },
        );
        let (a, b) = (NodeId::new(0), NodeId::new(1));
        for net in [Network::new(2, duplicating), ruled] {
            let reference = Network::new(2, plain.clone());
            let (mut r1, mut r2, mut r3) = (stream(3, 1), stream(3, 1), stream(3, 1));
            for _ in 0..1_000 {
                let want = reference.route_micros(a, b, 0, &mut r1);
                assert_eq!(net.route_micros(a, b, 0, &mut r2), want);
                let with_copy = net.route_with_copy(a, b, 0, &mut r3);
                assert_eq!(with_copy.map(|(delay, _)| delay), want);
                if let Some((_, copy)) = with_copy {
                    assert!(copy.is_some(), "a model that always duplicates made no copy");
                    // The copy's draws came after: realign the reference's stream with them.
                    let _ = (crate::rng::unit_f64(&mut r1), latency.sample_micros(&mut r1));
                    let _ = (crate::rng::unit_f64(&mut r2), latency.sample_micros(&mut r2));
                }
            }
        }
    }
}
