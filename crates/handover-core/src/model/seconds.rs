//! Durations in files: a whole number of seconds written `30s`, `15m` or
//! `2h`.
//!
//! Owns [`Seconds`] and its syntax, which policy, rollouts and windows
//! share. Must not import another model file, or touch the clock.

use serde::{Deserialize, Serialize};

/// A whole number of seconds, written in files as `30s`, `15m` or `2h`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Seconds(pub u64);

/// Why a duration string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{found:?} is not a duration; expected a whole number followed by s, m or h, such as 30s, 15m or 2h"
)]
pub struct DurationError {
    /// The text that was given.
    pub found: String,
}

impl Seconds {
    /// Parses `30s`, `15m`, `2h`.
    pub fn parse(s: &str) -> Result<Seconds, DurationError> {
        let err = || DurationError {
            found: s.to_string(),
        };
        let unit = s.chars().last().ok_or_else(err)?;
        let digits = &s[..s.len() - unit.len_utf8()];
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(err());
        }
        let n: u64 = digits.parse().map_err(|_| err())?;
        let mult = match unit {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            _ => return Err(err()),
        };
        n.checked_mul(mult).map(Seconds).ok_or_else(err)
    }

    /// As a std duration.
    pub fn as_duration(self) -> std::time::Duration {
        std::time::Duration::from_secs(self.0)
    }
}

impl std::fmt::Display for Seconds {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = self.0;
        if s != 0 && s.is_multiple_of(3600) {
            write!(f, "{}h", s / 3600)
        } else if s != 0 && s.is_multiple_of(60) {
            write!(f, "{}m", s / 60)
        } else {
            write!(f, "{s}s")
        }
    }
}

impl Serialize for Seconds {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Seconds {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Seconds::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_durations() {
        assert_eq!(Seconds::parse("30s"), Ok(Seconds(30)));
        assert_eq!(Seconds::parse("15m"), Ok(Seconds(900)));
        assert_eq!(Seconds::parse("2h"), Ok(Seconds(7200)));
        for bad in [
            "",
            "s",
            "30",
            "1.5h",
            "-1m",
            "10d",
            "5 m",
            "99999999999999999999h",
            "３m",
        ] {
            assert!(Seconds::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn displays_in_largest_whole_unit() {
        assert_eq!(Seconds(1800).to_string(), "30m");
        assert_eq!(Seconds(7200).to_string(), "2h");
        assert_eq!(Seconds(90).to_string(), "90s");
        assert_eq!(Seconds(0).to_string(), "0s");
    }
}
