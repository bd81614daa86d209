//! What an `apply` run starts from: the plan (made against a fresh
//! observation, or a saved one checked against it), the revision it
//! applies, and the policy it runs under.
//!
//! Owns reading a plan file, the revision of the desired files, the
//! choice between a saved plan's window and timeouts and the topology's,
//! and the flags that override them. Must not observe, apply or print.

use super::stale;
use crate::model::{Observed, Policy, Seconds, Topology};
use crate::plan::Plan;
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
    if desired.policy.rollout.is_some() {
        return Err(
            "error: the topology has policy.rollout, and apply does not run progressive rollouts yet: it would start every change at once. Run handover reconcile, which moves the members step by step (docs/rollouts.md), or remove policy.rollout to apply everything now"
                .to_string(),
        );
    }
    let plan = crate::plan::try_plan(desired, start)
        .map_err(|e| crate::diag::Diagnostics(e.to_diagnostics(desired)).to_string())?;
    Ok((plan, revision_of(paths)))
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
