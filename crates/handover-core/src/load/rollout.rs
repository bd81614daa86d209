//! Loading `policy.rollout` (docs/rollouts.md): steps, analysis thresholds
//! and `onFailure`, strictly, each problem at its place.
//!
//! Owns the checks of one rollout policy on its own (a step names exactly
//! one of `members`, `percent` and `pause`; counts are whole and in range;
//! steps of one kind increase; the words are known). Must not look at the
//! rest of the topology or at the observed state.

use super::build::{Builder, quote};
use super::doc::{AnalysisDoc, RolloutDoc, StepDoc};
use crate::diag::Diagnostic;
use crate::model::{Analysis, HealthState, OnFailure, Rollout, Seconds, Step, StepTarget};
use serde_saphyr::Spanned;

impl Builder<'_> {
    /// Reports the unknown keys of `policy.rollout` and everything in it.
    pub(super) fn rollout_unknown(&mut self, r: &RolloutDoc) {
        self.unknown(&r.unknown);
        for s in &r.steps {
            self.unknown(&s.value.unknown);
        }
        if let Some(a) = &r.analysis {
            self.unknown(&a.unknown);
        }
    }

    /// The rollout policy, or `None` (with diagnostics) when any part of it
    /// is wrong.
    pub(super) fn rollout(&mut self, r: &Spanned<RolloutDoc>) -> Option<Box<Rollout>> {
        let before = self.diags.len();
        let doc = &r.value;
        if doc.steps.is_empty() {
            let pos = self.pos(r);
            self.diags.push(
                Diagnostic::at(
                    pos,
                    "policy.rollout has no steps; expected at least one step",
                )
                .with_hint("add steps: [{members: 20, soak: 15m}, {percent: 100}], or remove rollout to move every member at once"),
            );
        }
        let mut steps = Vec::new();
        let mut last_members: Option<u64> = None;
        let mut last_percent: Option<u32> = None;
        for (i, s) in doc.steps.iter().enumerate() {
            let Some(step) = self.step(i + 1, s) else {
                continue;
            };
            let (prev, this) = match step.target {
                StepTarget::Members(n) => (last_members.replace(n), Some(n)),
                StepTarget::Percent(p) => {
                    (last_percent.replace(p).map(u64::from), Some(u64::from(p)))
                }
                StepTarget::Pause => (None, None),
            };
            if let (Some(prev), Some(this)) = (prev, this)
                && this <= prev
            {
                let pos = self.pos(s);
                let what = match step.target {
                    StepTarget::Members(_) => "members",
                    _ => "percent",
                };
                self.diags.push(
                    Diagnostic::at(
                        pos,
                        format!(
                            "rollout step {} goes to {what}: {this}, which is not beyond the earlier step's {prev}; steps are cumulative, so each must go further than the one before",
                            i + 1
                        ),
                    )
                    .with_hint(format!("raise it above {prev}, or remove the step")),
                );
            }
            steps.push(step);
        }
        let analysis = match &doc.analysis {
            Some(a) => self.analysis(a),
            None => Analysis::default(),
        };
        let on_failure = match &doc.on_failure {
            None => OnFailure::default(),
            Some(t) => match t.value.as_str() {
                "pause" => OnFailure::Pause,
                "rollback" => OnFailure::Rollback,
                other => {
                    let pos = self.pos(t);
                    self.diags.push(Diagnostic::at(
                        pos,
                        format!(
                            "rollout.onFailure is {}; expected pause or rollback",
                            quote(other)
                        ),
                    ));
                    OnFailure::default()
                }
            },
        };
        (self.diags.len() == before).then_some(Box::new(Rollout {
            steps,
            analysis,
            on_failure,
        }))
    }

    /// Step `n` (1-based), or `None` with a diagnostic.
    fn step(&mut self, n: usize, s: &Spanned<StepDoc>) -> Option<Step> {
        let d = &s.value;
        let given: Vec<&str> = [
            d.members.as_ref().map(|_| "members"),
            d.percent.as_ref().map(|_| "percent"),
            d.pause.as_ref().map(|_| "pause"),
        ]
        .into_iter()
        .flatten()
        .collect();
        if given.len() != 1 {
            let pos = self.pos(s);
            let msg = if given.is_empty() {
                format!(
                    "rollout step {n} says neither members, percent nor pause; expected exactly one of them"
                )
            } else {
                format!(
                    "rollout step {n} gives {}; expected exactly one of members, percent and pause",
                    given.join(" and ")
                )
            };
            self.diags.push(Diagnostic::at(pos, msg).with_hint(
                "write {members: 20, soak: 15m}, {percent: 25, soak: 30m} or {pause: true}",
            ));
            return None;
        }
        let soak = match &d.soak {
            None => Seconds(0),
            Some(t) => match Seconds::parse(&t.value) {
                Ok(v) => v,
                Err(_) => {
                    let pos = self.pos(t);
                    self.diags.push(Diagnostic::at(
                        pos,
                        format!(
                            "rollout step {n}: soak {} is not a duration; expected a whole number followed by s, m or h, such as 15m or 1h",
                            quote(&t.value)
                        ),
                    ));
                    return None;
                }
            },
        };
        let target = if let Some(m) = &d.members {
            match u64::try_from(m.value) {
                Ok(v) if v >= 1 => StepTarget::Members(v),
                _ => {
                    let pos = self.pos(m);
                    self.diags.push(Diagnostic::at(
                        pos,
                        format!(
                            "rollout step {n}: members is {}; expected a whole number of at least 1",
                            m.value
                        ),
                    ));
                    return None;
                }
            }
        } else if let Some(p) = &d.percent {
            match u32::try_from(p.value) {
                Ok(v) if (1..=100).contains(&v) => StepTarget::Percent(v),
                _ => {
                    let pos = self.pos(p);
                    self.diags.push(Diagnostic::at(
                        pos,
                        format!(
                            "rollout step {n}: percent is {}; expected a whole number from 1 to 100",
                            p.value
                        ),
                    ));
                    return None;
                }
            }
        } else {
            let p = d.pause.as_ref()?;
            if !p.value {
                let pos = self.pos(p);
                self.diags.push(
                    Diagnostic::at(
                        pos,
                        format!("rollout step {n} says pause: false; a pause step can only be pause: true"),
                    )
                    .with_hint("remove the step, or write {pause: true} to wait for handover resume"),
                );
                return None;
            }
            if let Some(t) = &d.soak {
                let pos = self.pos(t);
                self.diags.push(
                    Diagnostic::at(
                        pos,
                        format!("rollout step {n} is a pause and has a soak; a pause waits for handover resume, not for a time"),
                    )
                    .with_hint("move the soak to the step before the pause"),
                );
                return None;
            }
            StepTarget::Pause
        };
        Some(Step { target, soak })
    }

    /// The analysis thresholds (defaults for the ones not given).
    fn analysis(&mut self, a: &AnalysisDoc) -> Analysis {
        let mut out = Analysis::default();
        let count = |b: &mut Self, v: &Option<Spanned<i64>>, what: &str, max: i64| {
            let v = v.as_ref()?;
            if (0..=max).contains(&v.value) {
                return u64::try_from(v.value).ok();
            }
            let pos = b.pos(v);
            let range = if max == i64::MAX {
                "a whole number of at least 0".to_string()
            } else {
                format!("a whole number from 0 to {max}")
            };
            b.diags.push(Diagnostic::at(
                pos,
                format!("rollout.analysis.{what} is {}; expected {range}", v.value),
            ));
            None
        };
        if let Some(v) = count(self, &a.max_failures, "maxFailures", i64::MAX) {
            out.max_failures = v;
        }
        out.max_failure_percent = count(self, &a.max_failure_percent, "maxFailurePercent", 100)
            .and_then(|v| u32::try_from(v).ok());
        out.max_send_queue_size = count(self, &a.max_send_queue_size, "maxSendQueueSize", i64::MAX);
        out.fail_on_health = a.fail_on_health.as_ref().and_then(|t| {
            match HealthState::parse(&t.value) {
                Some(s @ (HealthState::Warning | HealthState::Critical)) => Some(s),
                other => {
                    let pos = self.pos(t);
                    let why = match other {
                        Some(HealthState::Healthy) => {
                            "; healthy would fail every analysis".to_string()
                        }
                        Some(_) => "; an unknown state is never judged (down servers fail the analysis on their own)".to_string(),
                        None => String::new(),
                    };
                    self.diags.push(
                        Diagnostic::at(
                            pos,
                            format!(
                                "rollout.analysis.failOnHealth is {}{why}; expected warning or critical",
                                quote(&t.value)
                            ),
                        )
                        .with_hint("failOnHealth: critical fails the analysis when a new parent reports critical; warning also on warning"),
                    );
                    None
                }
            }
        });
        out
    }
}

#[cfg(test)]
mod tests {
    use crate::model::{OnFailure, Seconds, StepTarget};

    const HEAD: &str = "apiVersion: handover/v1\nkind: Topology\nmanagementServers: [{name: ms1}]\npolicy:\n  rollout:\n";

    fn load(rollout: &str) -> Result<crate::model::Topology, String> {
        crate::load::topology_str(&format!("{HEAD}{rollout}"), "t.yaml").map_err(|d| d.to_string())
    }

    #[test]
    fn reads_steps_analysis_and_on_failure() {
        let t = load(
            "    steps: [{members: 20, soak: 15m}, {percent: 25, soak: 30m}, {pause: true}, {percent: 100}]\n    analysis: {maxFailures: 1, maxFailurePercent: 5}\n    onFailure: rollback\n",
        )
        .unwrap();
        let r = t.policy.rollout.unwrap();
        assert_eq!(r.steps.len(), 4);
        assert_eq!(r.steps[0].target, StepTarget::Members(20));
        assert_eq!(r.steps[0].soak, Seconds(900));
        assert_eq!(r.steps[1].target, StepTarget::Percent(25));
        assert_eq!(r.steps[2].target, StepTarget::Pause);
        assert_eq!(r.steps[3].soak, Seconds(0));
        assert_eq!(r.analysis.max_failures, 1);
        assert_eq!(r.analysis.max_failure_percent, Some(5));
        assert_eq!(r.on_failure, OnFailure::Rollback);
        assert_eq!(r.analysis.fail_on_health, None);
        assert_eq!(r.analysis.max_send_queue_size, None);
    }

    #[test]
    fn reads_the_health_thresholds() {
        let t = load(
            "    steps: [{percent: 100}]\n    analysis: {failOnHealth: warning, maxSendQueueSize: 5000}\n",
        )
        .unwrap();
        let a = t.policy.rollout.unwrap().analysis;
        assert_eq!(a.fail_on_health, Some(crate::model::HealthState::Warning));
        assert_eq!(a.max_send_queue_size, Some(5000));
        assert!(a.judges_health());
    }

    #[test]
    fn bad_health_thresholds_are_refused_at_their_place() {
        let e = load(
            "    steps: [{percent: 100}]\n    analysis: {failOnHealth: red, maxSendQueueSize: -1}\n",
        )
        .unwrap_err();
        for want in [
            "t.yaml:7:30: rollout.analysis.failOnHealth is \"red\"; expected warning or critical",
            "t.yaml:7:53: rollout.analysis.maxSendQueueSize is -1; expected a whole number of at least 0",
        ] {
            assert!(e.contains(want), "missing {want:?} in:\n{e}");
        }
        for (word, why) in [
            ("healthy", "healthy would fail every analysis"),
            ("unknown", "an unknown state is never judged"),
        ] {
            let e = load(&format!(
                "    steps: [{{percent: 100}}]\n    analysis: {{failOnHealth: {word}}}\n"
            ))
            .unwrap_err();
            assert!(e.contains(why), "{word}: {e}");
        }
    }

    #[test]
    fn a_topology_without_rollout_has_none() {
        let t = crate::load::topology_str(
            "apiVersion: handover/v1\nkind: Topology\nmanagementServers: [{name: ms1}]\npolicy: {maxInFlight: 5}\n",
            "t.yaml",
        )
        .unwrap();
        assert_eq!(t.policy.rollout, None);
    }

    #[test]
    fn every_bad_step_is_reported_at_its_place() {
        let e = load("    steps:\n      - {members: 0}\n      - {percent: 101}\n      - {members: 5, percent: 5}\n      - {soak: 5m}\n      - {pause: true, soak: 5m}\n      - {pause: false}\n      - {members: 3, soak: 5d}\n").unwrap_err();
        for want in [
            "t.yaml:7:19: rollout step 1: members is 0; expected a whole number of at least 1",
            "t.yaml:8:19: rollout step 2: percent is 101; expected a whole number from 1 to 100",
            "t.yaml:9:9: rollout step 3 gives members and percent; expected exactly one of members, percent and pause",
            "t.yaml:10:9: rollout step 4 says neither members, percent nor pause",
            "t.yaml:11:29: rollout step 5 is a pause and has a soak",
            "t.yaml:12:17: rollout step 6 says pause: false",
            "t.yaml:13:28: rollout step 7: soak \"5d\" is not a duration",
        ] {
            assert!(e.contains(want), "missing {want:?} in:\n{e}");
        }
    }

    #[test]
    fn steps_of_one_kind_must_increase() {
        let e = load("    steps: [{members: 20}, {percent: 50}, {members: 20}, {percent: 40}]\n")
            .unwrap_err();
        assert!(
            e.contains("t.yaml:6:43: rollout step 3 goes to members: 20, which is not beyond the earlier step's 20"),
            "{e}"
        );
        assert!(
            e.contains(
                "rollout step 4 goes to percent: 40, which is not beyond the earlier step's 50"
            ),
            "{e}"
        );
    }

    #[test]
    fn no_steps_bad_words_and_unknown_keys_are_refused() {
        let e = load("    steps: []\n    onFailure: abort\n    analysis: {maxHealth: red, maxFailurePercent: 150, maxFailures: -1}\n    stpes: 1\n").unwrap_err();
        for want in [
            "policy.rollout has no steps",
            "t.yaml:7:16: rollout.onFailure is \"abort\"; expected pause or rollback",
            "maxHealth",
            "rollout.analysis.maxFailurePercent is 150; expected a whole number from 0 to 100",
            "rollout.analysis.maxFailures is -1; expected a whole number of at least 0",
            "stpes",
        ] {
            assert!(e.contains(want), "missing {want:?} in:\n{e}");
        }
    }
}
