//! Delay distributions for message latency (and anything else that takes a random time, such as a disk write).
//!
//! Every distribution draws from the caller's [`Pcg64`] stream, with a fixed number of draws per sample where
//! possible, and rounds to whole microseconds. The continuous shapes come from `rand_distr`, built without
//! `std` so its math goes through `libm`: the same seed gives the same delays on every platform.

use crate::rng::{Pcg64, uniform_inclusive, unit_f64};
use crate::time::micros;
use rand_distr::{Distribution, Exp, LogNormal, Normal, Pareto};
use std::time::Duration;

/// A delay distribution.
#[derive(Clone, Debug, PartialEq)]
pub enum Latency {
    /// Always the same delay.
    Constant(Duration),
    /// Uniform on `[min, max]` (microsecond resolution).
    Uniform {
        /// Smallest delay.
        min: Duration,
        /// Largest delay.
        max: Duration,
    },
    /// Normal with the given mean and standard deviation, truncated at zero (negative draws are drawn again).
    Normal {
        /// Mean before truncation.
        mean: Duration,
        /// Standard deviation before truncation.
        std_dev: Duration,
    },
    /// Log-normal: `exp(N(ln median, sigma))`. Long right tail, the usual shape of network round trips.
    LogNormal {
        /// The median delay.
        median: Duration,
        /// Standard deviation of the delay's logarithm.
        sigma: f64,
    },
    /// `min` plus an exponential with mean `mean - min`: a floor set by distance, then queueing.
    Exponential {
        /// Smallest delay.
        min: Duration,
        /// Mean delay (greater than `min`).
        mean: Duration,
    },
    /// Pareto with scale `min` and tail index `shape`: heavy tailed, infinite variance when `shape <= 2`.
    Pareto {
        /// Smallest delay (the scale).
        min: Duration,
        /// Tail index; larger is lighter.
        shape: f64,
    },
    /// An empirical distribution given by quantiles, e.g. measured p50/p90/p99/p999 of a real link, sampled by
    /// linear interpolation of the inverse CDF between the points. The first point must have quantile 0 and the
    /// last quantile 1 (so every delay is bounded by the measured range).
    Empirical(Empirical),
}

/// Quantile points `(q, delay)`, strictly increasing in `q` from 0 to 1 and non-decreasing in delay.
#[derive(Clone, Debug, PartialEq)]
pub struct Empirical {
    points: Vec<(f64, Duration)>,
}

/// Why a distribution's parameters are unusable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvalidLatency(pub String);

impl std::fmt::Display for InvalidLatency {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for InvalidLatency {}

impl Empirical {
    /// Builds the inverse CDF from `(quantile, delay)` points.
    pub fn new(mut points: Vec<(f64, Duration)>) -> Result<Empirical, InvalidLatency> {
        points.sort_by(|a, b| a.0.total_cmp(&b.0));
        let bad = |m: &str| Err(InvalidLatency(m.to_string()));
        if points.len() < 2 {
            return bad("an empirical distribution needs at least two points (the minimum and the maximum)");
        }
        if points[0].0 != 0.0 {
            return bad("an empirical distribution needs its minimum (quantile 0)");
        }
        if points[points.len() - 1].0 != 1.0 {
            return bad("an empirical distribution needs its maximum (quantile 1)");
        }
        for w in points.windows(2) {
            if w[0].0 == w[1].0 {
                return bad("two points have the same quantile");
            }
            if w[1].1 < w[0].1 {
                return Err(InvalidLatency(format!(
                    "delays must not decrease with the quantile: q{} is {:?} but q{} is {:?}",
                    w[0].0, w[0].1, w[1].0, w[1].1
                )));
            }
        }
        Ok(Empirical { points })
    }

    /// The points, sorted by quantile.
    pub fn points(&self) -> &[(f64, Duration)] {
        &self.points
    }

    /// The delay at quantile `u` in `[0, 1]`.
    pub fn quantile(&self, u: f64) -> Duration {
        let i = self
            .points
            .partition_point(|p| p.0 <= u)
            .clamp(1, self.points.len() - 1);
        let (q0, d0) = self.points[i - 1];
        let (q1, d1) = self.points[i];
        let (a, b) = (micros(d0) as f64, micros(d1) as f64);
        let x = a + (b - a) * ((u - q0) / (q1 - q0)).clamp(0.0, 1.0);
        Duration::from_micros(x.round() as u64)
    }

    fn mean(&self) -> Duration {
        let m: f64 = self
            .points
            .windows(2)
            .map(|w| (w[1].0 - w[0].0) * (micros(w[0].1) + micros(w[1].1)) as f64 / 2.0)
            .sum();
        Duration::from_micros(m.round() as u64)
    }
}

fn us(d: Duration) -> f64 {
    micros(d) as f64
}

fn from_us(x: f64) -> Duration {
    // Saturates: a draw from a heavy tail beyond ~584,000 years is clamped, not wrapped.
    Duration::from_micros(if x.is_finite() && x > 0.0 {
        x.round().min(u64::MAX as f64) as u64
    } else {
        0
    })
}

impl Latency {
    /// Checks the parameters, so that [`sample`](Self::sample) cannot fail later.
    pub fn validate(&self) -> Result<(), InvalidLatency> {
        let bad = |m: String| Err(InvalidLatency(m));
        match self {
            Latency::Constant(_) => Ok(()),
            Latency::Uniform { min, max } if min > max => bad(format!("min {min:?} is greater than max {max:?}")),
            Latency::Uniform { .. } => Ok(()),
            Latency::Normal { .. } => Ok(()),
            Latency::LogNormal { median, sigma } => {
                if median.is_zero() {
                    bad("the median of a log-normal delay must be positive".into())
                } else if !(sigma.is_finite() && *sigma >= 0.0) {
                    bad(format!("sigma must be a finite number >= 0, got {sigma}"))
                } else {
                    Ok(())
                }
            }
            Latency::Exponential { min, mean } if mean <= min => {
                bad(format!("the mean {mean:?} must be greater than the minimum {min:?}"))
            }
            Latency::Exponential { .. } => Ok(()),
            Latency::Pareto { min, shape } => {
                if min.is_zero() {
                    bad("the minimum (scale) of a Pareto delay must be positive".into())
                } else if !(shape.is_finite() && *shape > 0.0) {
                    bad(format!(
                        "the shape of a Pareto delay must be a finite number > 0, got {shape}"
                    ))
                } else {
                    Ok(())
                }
            }
            Latency::Empirical(_) => Ok(()),
        }
    }

    /// A log-normal with the given median and 99th percentile.
    pub fn log_normal_from_p99(median: Duration, p99: Duration) -> Result<Latency, InvalidLatency> {
        if median.is_zero() || p99 < median {
            return Err(InvalidLatency(format!(
                "a log-normal needs 0 < median <= p99, got median {median:?} and p99 {p99:?}"
            )));
        }
        // z(0.99) of the standard normal.
        const Z99: f64 = 2.326_347_874_040_841;
        Ok(Latency::LogNormal {
            median,
            sigma: (us(p99) / us(median)).ln() / Z99,
        })
    }

    /// Draws one delay. A constant latency draws nothing from `rng`.
    #[inline]
    pub fn sample(&self, rng: &mut Pcg64) -> Duration {
        match self {
            Latency::Constant(d) => *d,
            Latency::Uniform { min, max } => Duration::from_micros(uniform_inclusive(rng, micros(*min), micros(*max))),
            _ => self.sample_shaped(rng),
        }
    }

    /// [`sample`](Self::sample) in whole microseconds, as the engine's clock counts them: the same draws, with
    /// no `Duration` built and taken apart again on the message path.
    #[inline]
    pub fn sample_micros(&self, rng: &mut Pcg64) -> u64 {
        match self {
            Latency::Constant(d) => micros(*d),
            Latency::Uniform { min, max } => uniform_inclusive(rng, micros(*min), micros(*max)),
            _ => micros(self.sample_shaped(rng)),
        }
    }

    #[cold]
    fn sample_shaped(&self, rng: &mut Pcg64) -> Duration {
        match self {
            Latency::Constant(_) | Latency::Uniform { .. } => unreachable!("handled inline"),
            Latency::Normal { mean, std_dev } => {
                if std_dev.is_zero() {
                    return *mean;
                }
                let d = Normal::new(us(*mean), us(*std_dev)).expect("validated");
                // Rejection keeps the shape above zero; give up (at zero) after 64 tries, which only happens when
                // the mean is many standard deviations below zero.
                for _ in 0..64 {
                    let x = d.sample(rng);
                    if x >= 0.0 {
                        return from_us(x);
                    }
                }
                Duration::ZERO
            }
            Latency::LogNormal { median, sigma } => {
                from_us(LogNormal::new(us(*median).ln(), *sigma).expect("validated").sample(rng))
            }
            Latency::Exponential { min, mean } => {
                let x = Exp::new(1.0 / (us(*mean) - us(*min))).expect("validated").sample(rng);
                from_us(us(*min) + x)
            }
            Latency::Pareto { min, shape } => from_us(Pareto::new(us(*min), *shape).expect("validated").sample(rng)),
            Latency::Empirical(e) => e.quantile(unit_f64(rng)),
        }
    }

    /// The mean delay (before truncation, for the normal; infinite tails report `Duration::MAX`).
    pub fn mean(&self) -> Duration {
        match self {
            Latency::Constant(d) => *d,
            Latency::Uniform { min, max } => (*min + *max) / 2,
            Latency::Normal { mean, .. } => *mean,
            Latency::LogNormal { median, sigma } => from_us(us(*median) * (sigma * sigma / 2.0).exp()),
            Latency::Exponential { mean, .. } => *mean,
            Latency::Pareto { min, shape } if *shape > 1.0 => from_us(us(*min) * shape / (shape - 1.0)),
            Latency::Pareto { .. } => Duration::MAX,
            Latency::Empirical(e) => e.mean(),
        }
    }

    /// Whether every draw is the same.
    pub fn is_constant(&self) -> bool {
        matches!(self, Latency::Constant(_))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::stream;

    const DRAWS: usize = 200_000;

    fn ms(x: f64) -> Duration {
        Duration::from_secs_f64(x / 1000.0)
    }

    /// Draws many delays, sorted, in milliseconds.
    fn draws(lat: &Latency) -> Vec<f64> {
        lat.validate().expect("valid");
        let mut rng = stream(11, 5);
        let mut v: Vec<f64> = (0..DRAWS)
            .map(|_| lat.sample(&mut rng).as_secs_f64() * 1000.0)
            .collect();
        v.sort_by(f64::total_cmp);
        v
    }

    fn mean(v: &[f64]) -> f64 {
        v.iter().sum::<f64>() / v.len() as f64
    }

    fn q(v: &[f64], p: f64) -> f64 {
        v[((v.len() - 1) as f64 * p).round() as usize]
    }

    /// `got` within `rel` (relative) of `want`.
    fn close(what: &str, got: f64, want: f64, rel: f64) {
        assert!(
            (got - want).abs() <= rel * want.abs(),
            "{what}: got {got}, want {want} (±{}%)",
            rel * 100.0
        );
    }

    #[test]
    fn normal_matches_mean_and_quantiles_and_never_goes_negative() {
        let v = draws(&Latency::Normal {
            mean: ms(10.0),
            std_dev: ms(2.0),
        });
        close("mean", mean(&v), 10.0, 0.01);
        close("p50", q(&v, 0.5), 10.0, 0.01);
        // z(0.9) = 1.2816, z(0.99) = 2.3263
        close("p90", q(&v, 0.9), 10.0 + 2.0 * 1.2816, 0.01);
        close("p99", q(&v, 0.99), 10.0 + 2.0 * 2.3263, 0.02);
        let wide = draws(&Latency::Normal {
            mean: ms(1.0),
            std_dev: ms(2.0),
        });
        assert!(wide[0] >= 0.0, "truncated at zero");
        // Truncation at zero: P(X < x | X >= 0) for x = mean is (0.5 - Φ(-0.5)) / (1 - Φ(-0.5)) = 0.2752.
        let below_mean = wide.iter().filter(|&&x| x < 1.0).count() as f64 / DRAWS as f64;
        close("truncated fraction below the mean", below_mean, 0.2752, 0.03);
    }

    #[test]
    fn log_normal_matches_median_p99_and_mean() {
        let lat = Latency::log_normal_from_p99(ms(2.0), ms(20.0)).unwrap();
        let v = draws(&lat);
        close("p50", q(&v, 0.5), 2.0, 0.02);
        close("p99", q(&v, 0.99), 20.0, 0.04);
        close("mean", mean(&v), lat.mean().as_secs_f64() * 1000.0, 0.03);
    }

    #[test]
    fn exponential_matches_floor_mean_and_quantiles() {
        let v = draws(&Latency::Exponential {
            min: ms(5.0),
            mean: ms(7.0),
        });
        assert!(v[0] >= 5.0);
        close("mean", mean(&v), 7.0, 0.01);
        // Quantile p of min + Exp(mean 2): 5 - 2 ln(1 - p).
        close("p50", q(&v, 0.5), 5.0 + 2.0 * 2f64.ln(), 0.01);
        close("p99", q(&v, 0.99), 5.0 + 2.0 * 100f64.ln(), 0.02);
    }

    #[test]
    fn pareto_matches_scale_mean_and_quantiles() {
        let lat = Latency::Pareto {
            min: ms(1.0),
            shape: 3.0,
        };
        let v = draws(&lat);
        assert!(v[0] >= 1.0);
        // Mean = 1.5 ms; quantile p = (1 - p)^(-1/3).
        close("mean", mean(&v), 1.5, 0.02);
        close("mean()", lat.mean().as_secs_f64() * 1000.0, 1.5, 0.001);
        close("p50", q(&v, 0.5), 0.5f64.powf(-1.0 / 3.0), 0.01);
        close("p99", q(&v, 0.99), 0.01f64.powf(-1.0 / 3.0), 0.03);
    }

    #[test]
    fn empirical_reproduces_its_quantiles() {
        let e = Empirical::new(vec![
            (0.0, ms(0.5)),
            (0.5, ms(1.0)),
            (0.9, ms(2.0)),
            (0.99, ms(8.0)),
            (0.999, ms(30.0)),
            (1.0, ms(50.0)),
        ])
        .unwrap();
        let lat = Latency::Empirical(e);
        let v = draws(&lat);
        assert!(v[0] >= 0.5 && v[DRAWS - 1] <= 50.0);
        // Checked in probability space: the fraction of draws at or below each given point is its quantile,
        // within four binomial standard errors (the inverse CDF is steep above p90, so delay-space tolerances
        // would have to be loose).
        for (quantile, at) in [(0.5, 1.0), (0.9, 2.0), (0.99, 8.0), (0.999, 30.0)] {
            let below = v.iter().filter(|&&x| x <= at).count() as f64 / DRAWS as f64;
            let se = (quantile * (1.0 - quantile) / DRAWS as f64).sqrt();
            assert!(
                (below - quantile).abs() < 4.0 * se,
                "P(X <= {at} ms) = {below}, want {quantile}"
            );
        }
        close("mean", mean(&v), lat.mean().as_secs_f64() * 1000.0, 0.02);
    }

    #[test]
    fn empirical_rejects_bad_points() {
        assert!(
            Empirical::new(vec![(0.5, ms(1.0)), (1.0, ms(2.0))]).is_err(),
            "no minimum"
        );
        assert!(
            Empirical::new(vec![(0.0, ms(1.0)), (0.5, ms(2.0))]).is_err(),
            "no maximum"
        );
        assert!(
            Empirical::new(vec![(0.0, ms(3.0)), (1.0, ms(2.0))]).is_err(),
            "decreasing"
        );
    }

    #[test]
    fn validation_refuses_impossible_parameters() {
        assert!(
            Latency::Uniform {
                min: ms(2.0),
                max: ms(1.0)
            }
            .validate()
            .is_err()
        );
        assert!(
            Latency::Exponential {
                min: ms(2.0),
                mean: ms(2.0)
            }
            .validate()
            .is_err()
        );
        assert!(
            Latency::Pareto {
                min: ms(1.0),
                shape: 0.0
            }
            .validate()
            .is_err()
        );
        assert!(
            Latency::Pareto {
                min: Duration::ZERO,
                shape: 2.0
            }
            .validate()
            .is_err()
        );
        assert!(
            Latency::LogNormal {
                median: Duration::ZERO,
                sigma: 1.0
            }
            .validate()
            .is_err()
        );
        assert!(Latency::log_normal_from_p99(ms(5.0), ms(1.0)).is_err());
    }

    #[test]
    fn draws_are_a_function_of_the_stream() {
        let lat = Latency::log_normal_from_p99(ms(2.0), ms(20.0)).unwrap();
        let a: Vec<Duration> = {
            let mut r = stream(3, 3);
            (0..100).map(|_| lat.sample(&mut r)).collect()
        };
        let b: Vec<Duration> = {
            let mut r = stream(3, 3);
            (0..100).map(|_| lat.sample(&mut r)).collect()
        };
        assert_eq!(a, b);
    }
}
