//! Measured latencies as users have them: one duration per line (`0.41ms`, `410us`), or `ping` output
//! (`... time=0.412 ms`), read into microseconds and summarised as the quantiles of an `empirical` distribution.

use crate::error::InputError;
use std::collections::BTreeMap;
use std::path::Path;

/// Fewest samples a file must hold: fewer say nothing about a tail.
pub const MIN_SAMPLES: usize = 10;

/// Parses `12.5ms`, `410us`, `0.412 ms`, `1.2s`, `800ns` into whole microseconds (rounded; at least 1).
pub fn parse_value(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| c.is_ascii_alphabetic() || c == 'µ')
        .ok_or_else(|| format!("`{t}` has no unit; write it like 0.41ms or 410us"))?;
    let (num, unit) = t.split_at(split);
    if num.trim().is_empty() {
        return Err(format!("`{t}` is not a duration; write it like 0.41ms or 410us"));
    }
    let value: f64 = num.trim().parse().map_err(|_| {
        format!(
            "`{}` is not a number; write a duration like 0.41ms or 410us",
            num.trim()
        )
    })?;
    let scale_us = match unit.trim() {
        "ns" => 1e-3,
        "us" | "µs" => 1.0,
        "ms" => 1e3,
        "s" => 1e6,
        other => return Err(format!("unknown unit `{other}`; use ns, us, ms or s")),
    };
    let us = value * scale_us;
    if !us.is_finite() || !(0.0..=1e12).contains(&us) {
        return Err(format!("`{t}` is out of range (0 to about 11 days)"));
    }
    Ok((us.round() as u64).max(1))
}

/// Reads a samples file: blank lines and `#` comments are skipped; if any line holds `time=` (ping output), only
/// those lines are read (the other ping lines are chatter), else every line must be one duration. Errors name the
/// file, the line and what to write instead.
pub fn read(path: &Path, flag: &str) -> Result<Vec<u64>, InputError> {
    let text = crate::error::read_input(path, "samples file")?;
    parse(&text, &format!("{flag} {}", path.display()))
}

/// [`read`] on text; `name` (the flag and file) prefixes errors.
pub fn parse(text: &str, name: &str) -> Result<Vec<u64>, InputError> {
    let ping = text.lines().any(|l| l.contains("time="));
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let field = if ping {
            match line.split_once("time=") {
                Some((_, rest)) => {
                    // `time=0.412 ms` or `time=0.412ms`, perhaps followed by more words.
                    let mut words = rest.split_whitespace();
                    let first = words.next().unwrap_or("");
                    if first.ends_with(|c: char| c.is_ascii_digit()) {
                        format!("{first}{}", words.next().unwrap_or(""))
                    } else {
                        first.to_string()
                    }
                }
                None => continue,
            }
        } else {
            line.to_string()
        };
        let us = parse_value(&field).map_err(|e| InputError::new(format!("{name}:{}: {e}", i + 1)))?;
        out.push(us);
    }
    if out.len() < MIN_SAMPLES {
        return Err(InputError::new(format!(
            "{name}: {} samples; at least {MIN_SAMPLES} are needed (one duration per line, like 0.41ms, or ping output)",
            out.len()
        )));
    }
    out.sort_unstable();
    Ok(out)
}

/// The sample at quantile `q` of sorted `s` (nearest rank: the `ceil(q n)`-th smallest).
pub fn quantile(s: &[u64], q: f64) -> u64 {
    let n = s.len();
    let rank = ((q * n as f64).ceil() as usize).clamp(1, n);
    s[rank - 1]
}

/// The `empirical` distribution's points for sorted samples (microseconds): min, p50, p90, p99, p999, max.
pub fn empirical_points(s: &[u64]) -> BTreeMap<String, u64> {
    let mut m = BTreeMap::new();
    m.insert("min".to_string(), s[0]);
    for (key, q) in [("p50", 0.5), ("p90", 0.9), ("p99", 0.99), ("p999", 0.999)] {
        m.insert(key.to_string(), quantile(s, q));
    }
    m.insert("max".to_string(), s[s.len() - 1]);
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_ping_lines_and_comments() {
        assert_eq!(parse_value("0.41ms"), Ok(410));
        assert_eq!(parse_value("410us"), Ok(410));
        assert_eq!(parse_value("0.412 ms"), Ok(412));
        assert_eq!(parse_value("1.5s"), Ok(1_500_000));
        assert!(parse_value("0.4").unwrap_err().contains("no unit"));
        assert!(parse_value("3 parsecs").unwrap_err().contains("unknown unit"));
        let text = "# lan\n\n".to_string() + &"0.4ms\n".repeat(10);
        assert_eq!(parse(&text, "f").unwrap(), vec![400; 10]);
        let ping = "PING h (10.0.0.2) 56(84) bytes of data.\n".to_string()
            + &"64 bytes from 10.0.0.2: icmp_seq=1 ttl=64 time=0.412 ms\n".repeat(10)
            + "--- h ping statistics ---\nrtt min/avg/max/mdev = 0.4/0.4/0.4/0.0 ms\n";
        assert_eq!(parse(&ping, "f").unwrap(), vec![412; 10]);
        let bad = "0.4ms\n0.5ms\nfast\n";
        assert!(
            parse(bad, "--rtt-samples x")
                .unwrap_err()
                .to_string()
                .starts_with("--rtt-samples x:3: ")
        );
    }

    #[test]
    fn quantiles_by_nearest_rank() {
        let s: Vec<u64> = (1..=100).collect();
        assert_eq!(quantile(&s, 0.5), 50);
        assert_eq!(quantile(&s, 0.99), 99);
        assert_eq!(quantile(&s, 0.999), 100);
        assert_eq!(empirical_points(&s)["min"], 1);
    }
}
