//! What an `apply` run starts from: the plan (made against a fresh
//! observation, or a saved one checked against it), the revision it
//! applies, and the policy it runs under.
//!
//! Owns reading a plan file, the revision of the desired files, the
//! choice between a saved plan's window and timeouts and the topology's,
//! the flags that override them, and where a `policy.rollout` stands when
//! the run begins (read from the journal). Must not observe, apply or
//! print.

use super::stale;
use crate::diag::count;
use crate::model::{Observed, Policy, Rollout, Seconds, StepTarget, Topology};
use crate::plan::Plan;
use crate::plan::rollout::Memory;
use crate::run::rollout::blocking::Blocking;
use std::path::{Path, PathBuf};

/// Reads a plan file written by `plan --out`.
pub fn read_plan(path: &Path) -> Result<Plan, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("error: cannot read the plan {}: {e}", path.display()))?;
    let plan: Plan = serde_json::from_str(&text).map_err(|e| {
        format!(
            "error: {}:{}:{}: not a plan written by `handover plan --out`: {e}",
            path.display(),
            e.line(),
            e.column()
        )
    })?;
    if plan.format_version != crate::plan::FORMAT_VERSION {
        return Err(format!(
            "error: {}: plan format_version {} (this handover applies version {}); plan again with this release",
            path.display(),
            plan.format_version,
            crate::plan::FORMAT_VERSION
        ));
    }
    super::saved_gates::valid(&plan, &path.display().to_string())?;
    Ok(plan)
}

/// A saved plan checked against the observation `start` (refused when the
/// estate has changed in a way that affects it), with its revision
/// (`plan:` and its observed digest).
pub fn saved(plan: &Plan, start: &Observed) -> Result<(Plan, String), String> {
    if plan.policy.is_some_and(|p| p.rollout) {
        return Err(
            "error: this plan was made from a topology with policy.rollout. A saved plan is a fixed list of operations that would start every change at once, while a rollout plans each step against what the estate reports after the step before (docs/rollouts.md). Nothing was applied: apply the topology itself (handover apply --desired FILE --target TARGET), which shows the whole plan, asks once and runs the steps"
                .to_string(),
        );
    }
    stale::check(plan, start).map_err(|s| format!("error: {s}"))?;
    let rev = format!(
        "plan:{}",
        plan.observed_digest.as_deref().unwrap_or("no digest")
    );
    Ok((plan.clone(), rev))
}

/// A plan made from `desired` (loaded from `paths`) against `start`, with
/// the revision of the desired files.
pub fn planned(
    desired: &Topology,
    paths: &[PathBuf],
    start: &Observed,
) -> Result<(Plan, String), String> {
    let plan = crate::plan::try_plan(desired, start)
        .map_err(|e| crate::diag::Diagnostics(e.to_diagnostics(desired)).to_string())?;
    Ok((plan, revision_of(paths)))
}

/// The rollout of a run of the desired files `paths` under `rollout`,
/// carrying on from what the journal in `state_dir` holds for them (a
/// journal that cannot be read starts the rollout afresh: safe, see
/// docs/rollouts.md, "Level-triggered"). `target_now` is the target's
/// clock now.
pub fn rollout(
    rollout: &Rollout,
    paths: &[PathBuf],
    state_dir: &Path,
    target_now: std::time::Duration,
) -> Blocking {
    let records = crate::state::journal::read(state_dir).unwrap_or_else(|e| {
        tracing::warn!(error = %e, "cannot read the journal; the rollout starts again from the observation");
        Vec::new()
    });
    let unix = crate::run::rollout::gate::unix_seconds(std::time::SystemTime::now());
    Blocking::new(
        rollout,
        &rollout_revision(paths),
        &records,
        unix,
        target_now,
    )
}

/// The revision a rollout of `paths` remembers itself by: for one path,
/// the content digest `reconcile --desired PATH` uses, so an `apply` and
/// a `reconcile` of the same files carry on the same rollout; for several,
/// the run's revision.
pub fn rollout_revision(paths: &[PathBuf]) -> String {
    match paths {
        [one] => match crate::reconcile::source::digest_path(one) {
            Ok(d) => format!("digest:{d:016x}"),
            Err(_) => revision_of(paths),
        },
        _ => revision_of(paths),
    }
}

/// What the person is told before the question: a rollout of N steps,
/// the soaks' total, and where it carries on from.
pub fn announce(rollout: &Rollout, carried: Option<&Memory>) -> String {
    let soaks: u64 = rollout.steps.iter().map(|s| s.soak.0).sum();
    let pauses = rollout
        .steps
        .iter()
        .filter(|s| s.target == StepTarget::Pause)
        .count();
    let mut s = format!(
        "This is a progressive rollout of {} (policy.rollout): each step moves its members make before break, then holds for its soak while the analysis watches them ({} of soaks in all); apply runs until the last step has passed, or stops where the rollout holds (on a failed analysis: {}).",
        count(rollout.steps.len() as u64, "step", "steps"),
        Seconds(soaks),
        rollout.on_failure.as_str()
    );
    if pauses > 0 {
        s.push_str(&format!(
            " {} stop the run until handover resume.",
            if pauses == 1 {
                "Its manual pause will".to_string()
            } else {
                format!("Its {pauses} manual pauses will each")
            }
        ));
    }
    if let Some(m) = carried {
        s.push_str(&format!(
            "\nCarrying on the rollout recorded in the journal: step {} of {}, {}.",
            (m.step + 1).min(rollout.steps.len()),
            rollout.steps.len(),
            m.phase.as_str()
        ));
    }
    s
}

/// The policy of the run: the topology's, or a saved plan's window and
/// timeouts (the ones it was made under), or the defaults; then
/// `--max-in-flight` and `--ack-timeout`.
pub fn policy(
    desired: Option<&Topology>,
    saved: Option<&Plan>,
    max_in_flight: Option<u32>,
    ack_timeout: Option<Seconds>,
) -> Policy {
    let mut policy = match (desired, saved.and_then(|p| p.policy)) {
        (Some(d), _) => d.policy.clone(),
        (None, Some(pp)) => Policy {
            max_in_flight: pp.max_in_flight,
            ack_timeout: pp.ack_timeout,
            store_timeout: pp.store_timeout,
            ..Default::default()
        },
        (None, None) => Default::default(),
    };
    if let Some(n) = max_in_flight {
        policy.max_in_flight = n;
    }
    if let Some(t) = ack_timeout {
        policy.ack_timeout = t;
    }
    policy
}

/// FNV-1a over the desired files' names and bytes: the revision applied.
fn revision_of(paths: &[PathBuf]) -> String {
    let mut files = Vec::new();
    for p in paths {
        if p.is_dir() {
            files.extend(crate::load::yaml_files(p).unwrap_or_default());
        } else {
            files.push(p.clone());
        }
    }
    files.sort();
    let mut h = crate::hash::Fnv1a::new();
    for f in &files {
        h = h.bytes(f.to_string_lossy().as_bytes()).byte(0);
        h = h.bytes(&std::fs::read(f).unwrap_or_default()).byte(0);
    }
    format!("files:{}", h.hex())
}
