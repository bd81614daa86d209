//! The health a provider may report for a management server or gateway
//! (docs/provider-protocol.md section 4): the health state of its Health
//! Service, and the size of its send queue.
//!
//! Owns the plain data and the order of the states (`healthy` <
//! `warning` < `critical`; `unknown` apart). Readings, not configuration:
//! the planner and the observed digest never look at them; only a
//! rollout's analysis judges them (`plan::rollout::health`). Must not
//! judge and must not touch I/O.

use serde::{Deserialize, Serialize};

/// What a server's provider reported about its health. Every part is
/// optional: a part not reported is not judged.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Health {
    /// The health state of the server's Health Service, as the Operations
    /// console shows it (the SDK's `HealthState`: Success, Warning, Error,
    /// Uninitialized).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<HealthState>,
    /// Its send queue, as the `Health Service Management Groups\Send
    /// Queue Size` performance counter reports it: data waiting to go to
    /// its parent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub send_queue_size: Option<u64>,
}

/// A Health Service's health state, in the console's words.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum HealthState {
    /// Green: every monitor is fine (the SDK's `Success`).
    Healthy,
    /// Yellow: a monitor is in warning (the SDK's `Warning`).
    Warning,
    /// Red: a monitor is in error, such as the send queue monitor over its
    /// upper threshold (the SDK's `Error`).
    Critical,
    /// Grey or not monitored: no state to judge (the SDK's
    /// `Uninitialized`; a Health Service that stopped heartbeating).
    Unknown,
}

impl HealthState {
    /// Every state, as written.
    pub const WORDS: [&'static str; 4] = ["healthy", "warning", "critical", "unknown"];

    /// As written in files and messages.
    pub fn as_str(self) -> &'static str {
        match self {
            HealthState::Healthy => "healthy",
            HealthState::Warning => "warning",
            HealthState::Critical => "critical",
            HealthState::Unknown => "unknown",
        }
    }

    /// The state written `s`, if any (exactly as written, lowercase).
    pub fn parse(s: &str) -> Option<HealthState> {
        [
            HealthState::Healthy,
            HealthState::Warning,
            HealthState::Critical,
            HealthState::Unknown,
        ]
        .into_iter()
        .find(|h| h.as_str() == s)
    }

    /// How bad the state is: healthy 0, warning 1, critical 2; `None` for
    /// unknown, which is never judged.
    pub fn severity(self) -> Option<u8> {
        match self {
            HealthState::Healthy => Some(0),
            HealthState::Warning => Some(1),
            HealthState::Critical => Some(2),
            HealthState::Unknown => None,
        }
    }

    /// True when this state is `bound` or worse (`unknown` never is).
    pub fn at_least(self, bound: HealthState) -> bool {
        match (self.severity(), bound.severity()) {
            (Some(s), Some(b)) => s >= b,
            _ => false,
        }
    }

    /// The state as the SDK or the console may spell it (`Success`,
    /// `Error`, `Uninitialized`, `Healthy`, ...), for hints: the word to
    /// write instead.
    pub fn from_scom_word(s: &str) -> Option<HealthState> {
        match s.to_ascii_lowercase().as_str() {
            "success" | "healthy" => Some(HealthState::Healthy),
            "warning" => Some(HealthState::Warning),
            "error" | "critical" => Some(HealthState::Critical),
            "uninitialized" | "unknown" | "notmonitored" => Some(HealthState::Unknown),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_order_and_unknown_is_never_judged() {
        use HealthState::*;
        assert!(Critical.at_least(Warning));
        assert!(Warning.at_least(Warning));
        assert!(!Warning.at_least(Critical));
        assert!(!Healthy.at_least(Warning));
        assert!(!Unknown.at_least(Warning));
        assert!(!Critical.at_least(Unknown));
        for w in HealthState::WORDS {
            assert_eq!(HealthState::parse(w).unwrap().as_str(), w);
        }
        assert_eq!(HealthState::parse("Critical"), None);
        assert_eq!(HealthState::from_scom_word("Error"), Some(Critical));
        assert_eq!(HealthState::from_scom_word("Success"), Some(Healthy));
        assert_eq!(HealthState::from_scom_word("Uninitialized"), Some(Unknown));
        assert_eq!(HealthState::from_scom_word("red"), None);
    }

    #[test]
    fn health_reads_the_documented_shape_and_refuses_others() {
        let h: Health =
            serde_json::from_str(r#"{"state":"critical","sendQueueSize":12000}"#).unwrap();
        assert_eq!(h.state, Some(HealthState::Critical));
        assert_eq!(h.send_queue_size, Some(12000));
        assert_eq!(
            serde_json::from_str::<Health>("{}").unwrap(),
            Health::default()
        );
        let e = serde_json::from_str::<Health>(r#"{"state":"red"}"#).unwrap_err();
        assert!(e.to_string().contains("unknown variant `red`"), "{e}");
        assert!(serde_json::from_str::<Health>(r#"{"sendQueueSize":-1}"#).is_err());
        assert!(serde_json::from_str::<Health>(r#"{"queue":1}"#).is_err());
    }
}
