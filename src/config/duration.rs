//! Durations in settings: integer (or fractional) seconds, or a string such as
//! `"90s"`, `"5m"`, `"1h30m"`, `"1d"` — what operators write in TOML and env vars.

use std::fmt;
use std::time::Duration as StdDuration;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Duration(pub StdDuration);

impl Duration {
    pub const fn secs(s: u64) -> Self {
        Duration(StdDuration::from_secs(s))
    }

    pub fn as_secs(&self) -> u64 {
        self.0.as_secs()
    }

    pub fn as_secs_f64(&self) -> f64 {
        self.0.as_secs_f64()
    }

    pub fn is_zero(&self) -> bool {
        self.0.is_zero()
    }
}

impl fmt::Debug for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Renders the largest whole unit, so `jwtd` can print settings the way they are written.
impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.0.as_millis();
        if !ms.is_multiple_of(1000) {
            return write!(f, "{ms}ms");
        }
        let s = ms / 1000;
        for (unit, n) in [("w", 604_800), ("d", 86_400), ("h", 3_600), ("m", 60)] {
            if s != 0 && s.is_multiple_of(n) {
                return write!(f, "{}{unit}", s / n);
            }
        }
        write!(f, "{s}s")
    }
}

/// Parses `"300"`, `"2.5"`, `"250ms"`, `"90s"`, `"5m"`, `"1h30m"`, `"1d"`, `"2w"`.
pub fn parse(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let bad = || {
        format!(
            "invalid duration {text:?}: expected seconds or a number with a unit (ms, s, m, h, d, w), e.g. \"5m\""
        )
    };
    if t.is_empty() {
        return Err(bad());
    }
    if let Ok(secs) = t.parse::<f64>() {
        return from_secs_f64(secs).ok_or_else(bad);
    }
    let mut total = 0f64;
    let mut rest = t;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(bad)?;
        if num_len == 0 {
            return Err(bad());
        }
        let value: f64 = rest[..num_len].parse().map_err(|_| bad())?;
        rest = rest[num_len..].trim_start();
        let unit_len = rest
            .find(|c: char| !c.is_ascii_alphabetic())
            .unwrap_or(rest.len());
        let factor = match &rest[..unit_len] {
            "ms" => 0.001,
            "s" | "sec" | "secs" => 1.0,
            "m" | "min" | "mins" => 60.0,
            "h" => 3_600.0,
            "d" => 86_400.0,
            "w" => 604_800.0,
            _ => return Err(bad()),
        };
        total += value * factor;
        rest = rest[unit_len..].trim_start();
    }
    from_secs_f64(total).ok_or_else(bad)
}

fn from_secs_f64(secs: f64) -> Option<Duration> {
    // Ten years is far beyond any sensible token lifetime; the cap keeps arithmetic on
    // timestamps from overflowing.
    (secs.is_finite() && (0.0..=315_360_000.0).contains(&secs))
        .then(|| Duration(StdDuration::from_secs_f64(secs)))
}

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Duration;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("seconds or a duration string such as \"5m\"")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Duration, E> {
                from_secs_f64(v as f64).ok_or_else(|| E::custom(format!("duration {v} is out of range")))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Duration, E> {
                from_secs_f64(v as f64).ok_or_else(|| {
                    E::custom(format!(
                        "duration {v} is out of range (must be 0 or more seconds)"
                    ))
                })
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Duration, E> {
                from_secs_f64(v).ok_or_else(|| E::custom(format!("duration {v} is out of range")))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Duration, E> {
                parse(v).map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

impl Serialize for Duration {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_units_and_plain_seconds() {
        assert_eq!(parse("300").unwrap(), Duration::secs(300));
        assert_eq!(parse("5m").unwrap(), Duration::secs(300));
        assert_eq!(parse("1h30m").unwrap(), Duration::secs(5400));
        assert_eq!(parse("1d").unwrap(), Duration::secs(86_400));
        assert_eq!(parse("2w").unwrap(), Duration::secs(1_209_600));
        assert_eq!(parse("250ms").unwrap().0, StdDuration::from_millis(250));
        assert_eq!(parse("1.5").unwrap().0, StdDuration::from_millis(1500));
    }

    #[test]
    fn refuses_garbage_and_negative_values() {
        for bad in ["", "5x", "m", "-1", "1d-", "nan", "inf", "5 m m"] {
            assert!(parse(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn displays_the_largest_whole_unit() {
        assert_eq!(Duration::secs(300).to_string(), "5m");
        assert_eq!(Duration::secs(86_400).to_string(), "1d");
        assert_eq!(Duration::secs(90).to_string(), "90s");
        assert_eq!(Duration::secs(0).to_string(), "0s");
    }
}
