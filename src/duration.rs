//! Durations as users write them: `150ms`, `2s`, `500us`, `1m 30s`.

use serde::{Deserialize, Deserializer, Serialize, Serializer, de};
use std::fmt;
use std::time::Duration;

/// A duration read from a scenario or the command line, at microsecond resolution.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Dur(pub Duration);

impl Dur {
    /// Milliseconds.
    pub const fn millis(ms: u64) -> Dur {
        Dur(Duration::from_millis(ms))
    }

    /// Whole microseconds.
    pub fn as_micros(self) -> u64 {
        sim_core::micros(self.0)
    }
}

/// Parses a duration with a unit. Accepts what `humantime` accepts (`ms`, `s`, `us`, `m`, `h`, combinations
/// like `1s 500ms`) and also decimals such as `1.5s`. Rejects bare numbers and sub-microsecond parts.
pub fn parse_duration(text: &str) -> Result<Dur, String> {
    let t = text.trim();
    let hint = "expected a duration with a unit, like 150ms, 2s or 500us";
    if t.is_empty() {
        return Err(format!("empty duration; {hint}"));
    }
    if t.parse::<f64>().is_ok() {
        return Err(format!("`{t}` has no unit; {hint}"));
    }
    if t.starts_with('-') {
        return Err(format!("`{t}` is negative; durations must be zero or more"));
    }
    let d = match humantime::parse_duration(t) {
        Ok(d) => d,
        Err(e) => parse_decimal(t).ok_or_else(|| format!("`{t}` is not a duration ({e}); {hint}"))?,
    };
    if d.subsec_nanos() % 1000 != 0 {
        return Err(format!("`{t}` is finer than the simulator's 1us resolution"));
    }
    Ok(Dur(d))
}

/// `1.5s`, `0.25ms`: a decimal number followed by one unit.
fn parse_decimal(t: &str) -> Option<Duration> {
    let split = t.find(|c: char| c.is_ascii_alphabetic())?;
    let (num, unit) = t.split_at(split);
    let value: f64 = num.trim().parse().ok()?;
    let scale_us = match unit.trim() {
        "us" | "µs" => 1.0,
        "ms" => 1e3,
        "s" => 1e6,
        "m" | "min" => 60e6,
        "h" => 3600e6,
        _ => return None,
    };
    let us = value * scale_us;
    if !us.is_finite() || us < 0.0 || us > u64::MAX as f64 {
        return None;
    }
    if (us - us.round()).abs() > 1e-6 {
        return Some(Duration::from_nanos((us * 1000.0).round() as u64));
    }
    Some(Duration::from_micros(us.round() as u64))
}

impl fmt::Display for Dur {
    /// The shortest exact form: `150ms`, `2s`, `1500us`, `1s 500ms`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let us = self.as_micros();
        if us == 0 {
            return f.write_str("0ms");
        }
        if us.is_multiple_of(1_000_000) {
            write!(f, "{}s", us / 1_000_000)
        } else if us.is_multiple_of(1000) {
            write!(f, "{}ms", us / 1000)
        } else {
            write!(f, "{us}us")
        }
    }
}

impl Serialize for Dur {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Dur {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl de::Visitor<'_> for V {
            type Value = Dur;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a duration with a unit, like 150ms, 2s or 500us")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Dur, E> {
                parse_duration(v).map_err(E::custom)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Dur, E> {
                Err(E::custom(format!(
                    "`{v}` has no unit; expected a duration like {v}ms or {v}s"
                )))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Dur, E> {
                Err(E::custom(format!(
                    "`{v}` has no unit; expected a duration like 150ms, 2s or 500us"
                )))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Dur, E> {
                Err(E::custom(format!(
                    "`{v}` has no unit; expected a duration like 150ms, 2s or 500us"
                )))
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_usual_forms() {
        assert_eq!(parse_duration("150ms"), Ok(Dur::millis(150)));
        assert_eq!(parse_duration("2s"), Ok(Dur::millis(2000)));
        assert_eq!(parse_duration("500us"), Ok(Dur(Duration::from_micros(500))));
        assert_eq!(parse_duration("1.5s"), Ok(Dur::millis(1500)));
        assert_eq!(parse_duration("1s 500ms"), Ok(Dur::millis(1500)));
        assert_eq!(parse_duration(" 0ms "), Ok(Dur::millis(0)));
    }

    #[test]
    fn refuses_what_is_ambiguous_or_wrong() {
        assert!(parse_duration("150").unwrap_err().contains("no unit"));
        assert!(parse_duration("-5ms").unwrap_err().contains("negative"));
        assert!(parse_duration("5 parsecs").unwrap_err().contains("not a duration"));
        assert!(parse_duration("1ns").unwrap_err().contains("resolution"));
        assert!(parse_duration("").is_err());
    }

    #[test]
    fn displays_round_trip() {
        for text in ["150ms", "2s", "1500us", "0ms", "61s"] {
            let d = parse_duration(text).unwrap();
            assert_eq!(parse_duration(&d.to_string()), Ok(d), "{text}");
        }
        assert_eq!(Dur::millis(1500).to_string(), "1500ms");
    }
}
