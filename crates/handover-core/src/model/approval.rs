//! Approval gates: `policy.approval`, the blast radius above which a plan
//! waits for a person.
//!
//! Owns [`Approval`] and [`Approval::needed`], the threshold test. Plain
//! data and arithmetic; must not touch I/O, the journal or the clock, and
//! must not compute digests (that is [`crate::plan::approval`]).

use serde::{Deserialize, Serialize};

/// `policy.approval`: a plan that starts more member moves than either
/// threshold waits until its digest is approved (docs/gates.md).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Approval {
    /// More than this many members (agents plus gateways) to move.
    pub above_members: Option<u64>,
    /// More than this percentage (0–100) of the managed members to move.
    pub above_percent: Option<u8>,
}

impl Approval {
    /// Whether moving `moving` of `managed` members needs an approval:
    /// more than `aboveMembers`, or more than `abovePercent` percent.
    pub fn needed(&self, moving: u64, managed: u64) -> bool {
        let members = self.above_members.is_some_and(|n| moving > n);
        // moving/managed > p/100, in integers.
        let percent = self.above_percent.is_some_and(|p| {
            managed > 0 && u128::from(moving) * 100 > u128::from(p) * u128::from(managed)
        });
        members || percent
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn either_threshold_is_enough_and_equal_is_not_above() {
        let a = Approval {
            above_members: Some(500),
            above_percent: Some(10),
        };
        assert!(!a.needed(500, 100_000));
        assert!(a.needed(501, 100_000));
        assert!(!a.needed(10, 100));
        assert!(a.needed(11, 100));
        assert!(!Approval::default().needed(u64::MAX, 1));
        let p = Approval {
            above_members: None,
            above_percent: Some(0),
        };
        assert!(p.needed(1, 1_000_000));
        assert!(!p.needed(0, 10));
        assert!(!p.needed(5, 0));
    }
}
