//! What `handover simulate` prints once the rehearsal has run: the closing
//! text for people, or the one JSON object for scripts.
//!
//! Owns the order of the closing text (faults, the rollout's timeline, the
//! gates' events, the verdict, the Central Management Store's outcome, the
//! forecast) and the `simulate --format json` object (docs/spec.md section
//! 5, with `faults`, `rollout`, `gates` and `forecast`). The opening line
//! and the waves are [`super::rehearsal`]'s, printed as the rehearsal goes.
//! Returns strings; must not print or decide anything it reports.

use crate::run::gates::rehearse::GateEvent;
use crate::run::rehearse::Rehearsed;
use crate::run::rollout::RolloutReport;

/// The text after the waves: faults, the rollout's timeline, what the
/// gates did, the verdict, the store's outcome, and the forecast of the
/// first plan (when it had steps).
pub fn text(r: &Rehearsed) -> String {
    let mut o = super::rehearsal::faults(&r.faults);
    if let Some(t) = r.rollout() {
        o.push_str(&super::rollout::timeline(&t));
    }
    for e in &r.gate_events {
        o.push_str(&super::rehearsal::gate_event(e));
        o.push('\n');
    }
    o.push_str(&super::rehearsal::verdict(&r.report, r.strategy.name()));
    if let Some(s) = crate::render::store::outcome(&r.desired, &r.now(), r.sim.disaster_failovers())
    {
        o.push_str(&s);
    }
    if !r.first.steps.is_empty() {
        o.push_str(&crate::render::forecast::text(
            &r.forecast,
            r.desired.policy.max_in_flight,
        ));
    }
    o
}

/// `simulate --format json`: the summary of docs/spec.md section 5, then
/// the faults the rehearsal injected.
#[derive(serde::Serialize)]
struct Document<'a> {
    #[serde(flatten)]
    summary: crate::execute::SimulateSummary<'a>,
    faults: &'a [crate::sim::Fired],
    /// `policy.rollout`'s steps, timeline and outcome (docs/rollouts.md).
    #[serde(skip_serializing_if = "Option::is_none")]
    rollout: Option<RolloutReport<'a>>,
    /// What the change windows and the approval gate did (docs/gates.md);
    /// absent when neither is configured.
    #[serde(skip_serializing_if = "no_events")]
    gates: &'a [GateEvent],
    /// How long the first plan is forecast to take against the real
    /// estate (the rehearsal's own times are the simulator's).
    forecast: &'a crate::plan::forecast::Forecast,
}

/// True when the gates did nothing (neither is configured).
fn no_events(events: &&[GateEvent]) -> bool {
    events.is_empty()
}

/// The one JSON object of `simulate --format json`, ending with a newline.
pub fn json(r: &Rehearsed) -> Result<String, serde_json::Error> {
    let doc = Document {
        summary: r.report.summary(r.strategy.name()),
        faults: &r.faults,
        rollout: r.rollout(),
        gates: &r.gate_events,
        forecast: &r.forecast,
    };
    serde_json::to_string(&doc).map(|s| s + "\n")
}
