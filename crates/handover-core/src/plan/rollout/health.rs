//! The health part of a rollout's analysis: does a new parent's reported
//! health (its Health Service's state, its send queue) stay within
//! `policy.rollout.analysis`'s `failOnHealth` and `maxSendQueueSize`?
//!
//! Owns [`judge`]: one parent's reported health and the thresholds in,
//! the reasons it breaches them out, one sentence each, in the words an
//! operator acts on. Pure. Must not decide which parents are judged (the
//! new primaries of moved members, in `analysis`) nor what a failure does.

use crate::diag::thousands;
use crate::model::{Analysis, Health};

/// Why `who` (`gateway gw9.branch.contoso.local`), a new primary, breaches
/// the health thresholds of `a`, given the health it reported. A part the
/// provider did not report, or a threshold not set, is not judged; an
/// `unknown` state never fails (a server that stopped is judged by `up`).
pub fn judge(who: &str, health: Option<&Health>, a: &Analysis) -> Vec<String> {
    let mut reasons = Vec::new();
    let Some(h) = health else {
        return reasons;
    };
    if let (Some(state), Some(bound)) = (h.state, a.fail_on_health)
        && state.at_least(bound)
    {
        reasons.push(format!(
            "{who}, a new primary, reports health {} (the analysis fails on {}{})",
            state.as_str(),
            bound.as_str(),
            if bound.as_str() == "warning" {
                " or critical"
            } else {
                ""
            }
        ));
    }
    if let (Some(queue), Some(max)) = (h.send_queue_size, a.max_send_queue_size)
        && queue > max
    {
        reasons.push(format!(
            "{who}, a new primary, reports a send queue size of {} (at most {} allowed)",
            thousands(queue),
            thousands(max)
        ));
    }
    reasons
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::HealthState;

    const GW: &str = "gateway gw9.branch.contoso.local";

    fn analysis(fail_on: Option<HealthState>, max: Option<u64>) -> Analysis {
        Analysis {
            fail_on_health: fail_on,
            max_send_queue_size: max,
            ..Analysis::default()
        }
    }

    fn health(state: Option<HealthState>, queue: Option<u64>) -> Health {
        Health {
            state,
            send_queue_size: queue,
        }
    }

    #[test]
    fn a_critical_parent_fails_on_critical_and_on_warning() {
        let h = health(Some(HealthState::Critical), None);
        assert_eq!(
            judge(GW, Some(&h), &analysis(Some(HealthState::Critical), None)),
            vec![
                "gateway gw9.branch.contoso.local, a new primary, reports health critical (the analysis fails on critical)"
            ]
        );
        assert_eq!(
            judge(GW, Some(&h), &analysis(Some(HealthState::Warning), None)),
            vec![
                "gateway gw9.branch.contoso.local, a new primary, reports health critical (the analysis fails on warning or critical)"
            ]
        );
    }

    #[test]
    fn a_warning_parent_fails_only_on_warning() {
        let h = health(Some(HealthState::Warning), None);
        assert!(judge(GW, Some(&h), &analysis(Some(HealthState::Critical), None)).is_empty());
        assert_eq!(
            judge(GW, Some(&h), &analysis(Some(HealthState::Warning), None)).len(),
            1
        );
    }

    #[test]
    fn healthy_and_unknown_parents_pass() {
        for s in [HealthState::Healthy, HealthState::Unknown] {
            let h = health(Some(s), None);
            assert!(judge(GW, Some(&h), &analysis(Some(HealthState::Warning), None)).is_empty());
        }
    }

    #[test]
    fn a_send_queue_over_the_bound_fails_and_at_the_bound_passes() {
        let a = analysis(None, Some(5000));
        assert_eq!(
            judge(GW, Some(&health(None, Some(12_000))), &a),
            vec![
                "gateway gw9.branch.contoso.local, a new primary, reports a send queue size of 12,000 (at most 5,000 allowed)"
            ]
        );
        assert!(judge(GW, Some(&health(None, Some(5000))), &a).is_empty());
    }

    #[test]
    fn both_breaches_are_reported() {
        let h = health(Some(HealthState::Critical), Some(9000));
        assert_eq!(
            judge(
                GW,
                Some(&h),
                &analysis(Some(HealthState::Critical), Some(100))
            )
            .len(),
            2
        );
    }

    #[test]
    fn what_is_not_reported_or_not_bounded_is_not_judged() {
        let bad = health(Some(HealthState::Critical), Some(1_000_000));
        assert!(judge(GW, Some(&bad), &Analysis::default()).is_empty());
        let a = analysis(Some(HealthState::Warning), Some(1));
        assert!(judge(GW, None, &a).is_empty());
        assert!(judge(GW, Some(&Health::default()), &a).is_empty());
    }
}
