//! The cost model of a forecast (`policy.cost`, `--cost`): what one
//! provider process start, request, operation and observation take on the
//! real estate, how long a member needs to learn new parents, and how many
//! operations a request carries and how many requests run at once.
//!
//! Owns the figures, their defaults (docs/scom-provider.md states them with
//! their sources), the duration syntax with milliseconds (`250ms`, `2s`,
//! `5m`), and the `--cost key=value,...` syntax. Plain data and pure
//! parsing; must not touch I/O or the clock. The forecast itself is
//! [`crate::plan::forecast`].

use serde::{Deserialize, Serialize};

/// A duration in whole milliseconds, written `250ms`, `2s`, `5m` or `1h`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Millis(pub u64);

/// Why a cost figure was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CostError {
    /// A duration that is not one.
    #[error(
        "{key} {found:?} is not a duration; expected a whole number followed by ms, s, m or h, such as 250ms, 2s or 5m"
    )]
    Duration {
        /// The figure (`startup`, `call`, ...).
        key: String,
        /// The text that was given.
        found: String,
    },
    /// A count that is not a whole number of at least 1.
    #[error("{key} {found:?} is not a count; expected a whole number of at least 1, such as 50")]
    Count {
        /// `batch` or `parallel`.
        key: String,
        /// The text that was given.
        found: String,
    },
    /// `sessions` that is neither true nor false.
    #[error("sessions {found:?} is neither true nor false")]
    Bool {
        /// The text that was given.
        found: String,
    },
    /// A key the cost model does not have.
    #[error(
        "--cost has no figure {key:?}; expected startup, call, operation, observe, propagation, batch, parallel or sessions, as in --cost startup=5s,call=1s,batch=50"
    )]
    UnknownKey {
        /// The key as written.
        key: String,
    },
    /// A `key=value` pair without `=`.
    #[error(
        "--cost {found:?}: expected key=value pairs separated by commas, such as startup=5s,batch=50"
    )]
    Pair {
        /// The piece that was given.
        found: String,
    },
}

impl Millis {
    /// Parses `250ms`, `2s`, `5m`, `1h`; `None` when it is not one.
    pub fn parse(s: &str) -> Option<Millis> {
        let (digits, mult) = if let Some(d) = s.strip_suffix("ms") {
            (d, 1)
        } else if let Some(d) = s.strip_suffix('s') {
            (d, 1_000)
        } else if let Some(d) = s.strip_suffix('m') {
            (d, 60_000)
        } else if let Some(d) = s.strip_suffix('h') {
            (d, 3_600_000)
        } else {
            return None;
        };
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let n: u64 = digits.parse().ok()?;
        n.checked_mul(mult).map(Millis)
    }

    /// From whole seconds.
    pub const fn secs(s: u64) -> Millis {
        Millis(s * 1_000)
    }

    /// In seconds.
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / 1_000.0
    }
}

impl std::fmt::Display for Millis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ms = self.0;
        if ms != 0 && ms.is_multiple_of(3_600_000) {
            write!(f, "{}h", ms / 3_600_000)
        } else if ms != 0 && ms.is_multiple_of(60_000) {
            write!(f, "{}m", ms / 60_000)
        } else if ms.is_multiple_of(1_000) {
            write!(f, "{}s", ms / 1_000)
        } else {
            write!(f, "{ms}ms")
        }
    }
}

impl Serialize for Millis {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Millis {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Millis::parse(&s).ok_or_else(|| {
            serde::de::Error::custom(format!("{s:?} is not a duration such as 250ms, 2s or 5m"))
        })
    }
}

/// What a migration costs on the real estate, per unit (`policy.cost`).
/// The defaults are estimates for the SCOM reference provider
/// (docs/scom-provider.md, "Cost model"); nothing ran on SCOM.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Cost {
    /// Starting the provider program once (powershell.exe, the module
    /// import, connecting to the SDK service).
    pub startup: Millis,
    /// One `apply` request's own round trip, besides its operations.
    pub per_call: Millis,
    /// One operation (one member's `set_parents`) inside a request.
    pub per_operation: Millis,
    /// One `observe` (a poll of the members in flight, or of the whole
    /// estate at the start and end of a pass).
    pub observe: Millis,
    /// From the bridge write until the member has learned its new parents
    /// and the evidence shows it (its configuration update).
    pub propagation: Millis,
    /// Operations per `apply` request (the provider's `max_batch`).
    pub batch: u32,
    /// Requests at once, in that many sessions (the provider's `parallel`).
    pub parallel: u32,
    /// The provider keeps one session for the run (protocol version 2);
    /// false: one process per request (version 1, no batches).
    pub sessions: bool,
}

impl Default for Cost {
    fn default() -> Self {
        Cost {
            startup: Millis::secs(5),
            per_call: Millis::secs(1),
            per_operation: Millis::secs(1),
            observe: Millis::secs(30),
            propagation: Millis::secs(5 * 60),
            batch: 50,
            parallel: 1,
            sessions: true,
        }
    }
}

impl Cost {
    /// Sets one figure from its text (`startup`, `5s`), as in `--cost`
    /// and `policy.cost`: `perCall` is also `call`, `perOperation` also
    /// `operation` or `op`.
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), CostError> {
        let dur = |slot: &mut Millis| -> Result<(), CostError> {
            *slot = Millis::parse(value).ok_or_else(|| CostError::Duration {
                key: key.to_string(),
                found: value.to_string(),
            })?;
            Ok(())
        };
        let count = |slot: &mut u32| -> Result<(), CostError> {
            match value.parse::<u32>() {
                Ok(n) if n >= 1 && value.bytes().all(|b| b.is_ascii_digit()) => {
                    *slot = n;
                    Ok(())
                }
                _ => Err(CostError::Count {
                    key: key.to_string(),
                    found: value.to_string(),
                }),
            }
        };
        match key {
            "startup" => dur(&mut self.startup),
            "call" | "perCall" => dur(&mut self.per_call),
            "operation" | "op" | "perOperation" => dur(&mut self.per_operation),
            "observe" => dur(&mut self.observe),
            "propagation" => dur(&mut self.propagation),
            "batch" => count(&mut self.batch),
            "parallel" => count(&mut self.parallel),
            "sessions" => match value {
                "true" => {
                    self.sessions = true;
                    Ok(())
                }
                "false" => {
                    self.sessions = false;
                    Ok(())
                }
                _ => Err(CostError::Bool {
                    found: value.to_string(),
                }),
            },
            _ => Err(CostError::UnknownKey {
                key: key.to_string(),
            }),
        }
    }

    /// `self` with the `--cost` flag's `key=value,...` pairs applied on
    /// top (the flag wins over `policy.cost`). Nothing is changed when
    /// one pair is wrong.
    pub fn with_flag(self, flag: &str) -> Result<Cost, CostError> {
        let mut out = self;
        for piece in flag.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (k, v) = piece.split_once('=').ok_or_else(|| CostError::Pair {
                found: piece.to_string(),
            })?;
            out.set(k.trim(), v.trim())?;
        }
        Ok(out)
    }

    /// The figures as `startup=5s,call=1s,...`, the `--cost` syntax.
    pub fn to_flag(&self) -> String {
        format!(
            "startup={},call={},operation={},observe={},propagation={},batch={},parallel={},sessions={}",
            self.startup,
            self.per_call,
            self.per_operation,
            self.observe,
            self.propagation,
            self.batch,
            self.parallel,
            self.sessions
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_durations_with_milliseconds() {
        assert_eq!(Millis::parse("250ms"), Some(Millis(250)));
        assert_eq!(Millis::parse("2s"), Some(Millis(2_000)));
        assert_eq!(Millis::parse("5m"), Some(Millis(300_000)));
        assert_eq!(Millis::parse("1h"), Some(Millis(3_600_000)));
        for bad in [
            "",
            "ms",
            "5",
            "1.5s",
            "-1s",
            "5 m",
            "2d",
            "99999999999999999999h",
        ] {
            assert_eq!(Millis::parse(bad), None, "{bad:?} should be refused");
        }
        assert_eq!(Millis(250).to_string(), "250ms");
        assert_eq!(Millis(300_000).to_string(), "5m");
        assert_eq!(Millis(1_500).to_string(), "1500ms");
    }

    #[test]
    fn the_flag_overrides_figures_and_round_trips() {
        let c = Cost::default()
            .with_flag("startup=200ms, call=2s,op=5ms,batch=500,parallel=2,propagation=0s")
            .unwrap();
        assert_eq!(c.startup, Millis(200));
        assert_eq!(c.per_call, Millis(2_000));
        assert_eq!(c.per_operation, Millis(5));
        assert_eq!((c.batch, c.parallel), (500, 2));
        assert_eq!(c.propagation, Millis(0));
        assert_eq!(c.observe, Cost::default().observe);
        assert_eq!(Cost::default().with_flag(&c.to_flag()).unwrap(), c);
    }

    #[test]
    fn a_wrong_flag_says_what_is_expected() {
        let e = Cost::default().with_flag("batch=0").unwrap_err();
        assert_eq!(
            e.to_string(),
            "batch \"0\" is not a count; expected a whole number of at least 1, such as 50"
        );
        let e = Cost::default().with_flag("startup=5").unwrap_err();
        assert!(
            e.to_string().starts_with("startup \"5\" is not a duration"),
            "{e}"
        );
        let e = Cost::default().with_flag("speed=5s").unwrap_err();
        assert!(e.to_string().contains("no figure \"speed\""), "{e}");
        let e = Cost::default().with_flag("startup").unwrap_err();
        assert!(e.to_string().contains("key=value"), "{e}");
        let e = Cost::default().with_flag("sessions=yes").unwrap_err();
        assert!(e.to_string().contains("neither true nor false"), "{e}");
    }
}
