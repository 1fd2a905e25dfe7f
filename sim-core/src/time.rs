//! Virtual time. One tick is one microsecond; nothing here reads a real clock.

use std::fmt;
use std::ops::{Add, AddAssign, Sub};
use std::time::Duration;

/// An instant on the simulation's virtual clock, in microseconds since the trial started.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SimTime(u64);

impl SimTime {
    /// The start of every trial.
    pub const ZERO: SimTime = SimTime(0);
    /// A time later than any reachable one; used as "never".
    pub const MAX: SimTime = SimTime(u64::MAX);

    /// Builds an instant from microseconds since the start.
    pub const fn from_micros(micros: u64) -> Self {
        SimTime(micros)
    }

    /// Microseconds since the start.
    pub const fn as_micros(self) -> u64 {
        self.0
    }

    /// Milliseconds since the start, as a float (for reports only).
    pub fn as_millis_f64(self) -> f64 {
        self.0 as f64 / 1000.0
    }

    /// The span from the start to this instant.
    pub fn since_start(self) -> Duration {
        Duration::from_micros(self.0)
    }

    /// `self - earlier`, or zero when `earlier` is later.
    pub fn saturating_since(self, earlier: SimTime) -> Duration {
        Duration::from_micros(self.0.saturating_sub(earlier.0))
    }
}

/// Converts a duration to whole microseconds, saturating at `u64::MAX`.
#[inline]
pub fn micros(d: Duration) -> u64 {
    // As `as_micros`, without its 128-bit arithmetic: this is on every timer and message.
    d.as_secs()
        .checked_mul(1_000_000)
        .and_then(|us| us.checked_add(u64::from(d.subsec_micros())))
        .unwrap_or(u64::MAX)
}

impl SimTime {
    /// `us` microseconds later (saturating, as `+ Duration` does).
    #[inline]
    pub const fn after_micros(self, us: u64) -> SimTime {
        SimTime(self.0.saturating_add(us))
    }
}

impl Add<Duration> for SimTime {
    type Output = SimTime;
    #[inline]
    fn add(self, rhs: Duration) -> SimTime {
        SimTime(self.0.saturating_add(micros(rhs)))
    }
}

impl AddAssign<Duration> for SimTime {
    #[inline]
    fn add_assign(&mut self, rhs: Duration) {
        *self = *self + rhs;
    }
}

impl Sub for SimTime {
    type Output = Duration;
    /// The span between two instants; panics if `rhs` is later (a bug in the caller).
    fn sub(self, rhs: SimTime) -> Duration {
        assert!(self >= rhs, "time went backwards: {self} - {rhs}");
        Duration::from_micros(self.0 - rhs.0)
    }
}

impl fmt::Display for SimTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.0 / 1000;
        let us = self.0 % 1000;
        write!(f, "{ms}.{us:03}ms")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn micros_is_as_micros_saturated() {
        let reference = |d: Duration| u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
        let max_secs = u64::MAX / 1_000_000;
        for d in [
            Duration::ZERO,
            Duration::from_nanos(999),
            Duration::from_nanos(1_999),
            Duration::from_millis(150),
            Duration::new(3, 999_999_999),
            Duration::new(max_secs, 0),
            Duration::new(max_secs, 551_615_000),
            Duration::new(max_secs, 551_615_999),
            Duration::new(max_secs, 551_616_000),
            Duration::new(max_secs + 1, 0),
            Duration::MAX,
        ] {
            assert_eq!(micros(d), reference(d), "{d:?}");
        }
    }

    #[test]
    fn arithmetic_is_in_microseconds() {
        let t = SimTime::ZERO + Duration::from_millis(150);
        assert_eq!(t.as_micros(), 150_000);
        assert_eq!(t - SimTime::from_micros(50_000), Duration::from_millis(100));
        assert_eq!(t.to_string(), "150.000ms");
        assert_eq!(SimTime::from_micros(1_234).to_string(), "1.234ms");
    }

    #[test]
    fn adding_saturates_instead_of_wrapping() {
        assert_eq!(SimTime::MAX + Duration::from_secs(1), SimTime::MAX);
    }

    #[test]
    #[should_panic(expected = "time went backwards")]
    fn subtracting_a_later_time_is_a_bug() {
        let _ = SimTime::from_micros(1) - SimTime::from_micros(2);
    }
}
