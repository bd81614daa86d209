//! Policy: the knobs of a migration (window, timeouts, capacity, retirement).
//!
//! Owns `policy:` of docs/spec.md section 2 (plus `storeTimeout`) and the duration syntax (`30s`, `15m`,
//! `2h`). Plain data; must not touch I/O or the clock.

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

/// Recommended agent counts per parent (DOMAIN.md: 2,000 per gateway,
/// 3,000 per management server).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct Capacity {
    /// Agents per gateway.
    pub gateway: u32,
    /// Agents plus gateways per management server.
    pub management_server: u32,
}

impl Default for Capacity {
    fn default() -> Self {
        Capacity {
            gateway: 2000,
            management_server: 3000,
        }
    }
}

/// How a migration may proceed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct Policy {
    /// Members in a bridge state at once (a sliding window), at least 1.
    pub max_in_flight: u32,
    /// How long to wait for a member to reach its new primary.
    pub ack_timeout: Seconds,
    /// How long a Central Management Store operation may take: the
    /// `store_failover` call itself (a provider is given this long before
    /// it is stopped), and each store await (replication complete, the
    /// store active in its new pool). Default 30 minutes.
    pub store_timeout: Seconds,
    /// Retire observed gateways absent from the topology.
    pub retire_gateways: bool,
    /// Agents per parent.
    pub capacity: Capacity,
    /// Observe and report, but apply nothing (reconcile honours it).
    pub suspend: bool,
    /// How often members in flight are observed.
    pub poll: Poll,
    /// Progressive steps with analysis (docs/rollouts.md); `None` moves
    /// every member as soon as the window allows.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rollout: Option<Box<super::rollout::Rollout>>,
    /// Webhooks told about transitions (`policy.notifications`: reconcile,
    /// and apply --desired for its one run; docs/notifications.md). Empty: none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notifications: Vec<super::notify::Receiver>,
    /// Change windows (`policy.windows`, docs/gates.md); empty: always open.
    pub windows: Vec<super::Window>,
    /// Approval gate (`policy.approval`, docs/gates.md); `None`: no gate.
    pub approval: Option<super::Approval>,
    /// What the forecast of `plan` and `simulate` assumes a provider
    /// start, request, operation and a member's propagation cost (boxed:
    /// a topology stays small beside an observed state).
    pub cost: Box<super::cost::Cost>,
}

/// `policy.poll`: the interval between two observations of the members in
/// flight starts at `interval`, doubles after each poll that saw no change
/// up to `max`, and drops back to `interval` after one that did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct Poll {
    /// The first (and shortest) interval; default 15 s.
    pub interval: Seconds,
    /// The longest interval; default 30 s; never below `interval`
    /// (docs/performance.md, "The poll backoff", says why).
    pub max: Seconds,
}

impl Default for Poll {
    fn default() -> Self {
        Poll {
            interval: Seconds(15),
            max: Seconds(30),
        }
    }
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            max_in_flight: 100,
            ack_timeout: Seconds(30 * 60),
            store_timeout: Seconds(30 * 60),
            retire_gateways: false,
            capacity: Capacity::default(),
            suspend: false,
            poll: Poll::default(),
            rollout: None,
            notifications: Vec::new(),
            windows: Vec::new(),
            approval: None,
            cost: Box::default(),
        }
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
