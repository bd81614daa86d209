//! Write times seeded from the journal after a restart.
//!
//! An `exec:` provider keeps, in memory, when handover last wrote each
//! member's parents, so the evidence judgement (`crate::provider::evidence`)
//! counts only evidence read after that write. A process that restarts (a
//! crash, an upgrade, the next reconcile pass, which opens its target
//! afresh) would know none of them; this module gives them back from the
//! journal, which records every `set_parents` as it is sent and answered.
//!
//! Owns the rule that turns journal records into write times
//! ([`from_records`], pure and unit-tested), reading them from a state
//! directory ([`from_journal`]), and from the shared journal in etcd under
//! `reconcile --ha` ([`from_shared`]: after a takeover, the writes of the
//! leaders before). Must not judge evidence, plan, or decide
//! what a run does: correctness never depends on the journal, and a
//! journal that cannot be read only means no write time is known (the
//! judgement's rule without one applies).

use crate::model::Stamp;
use crate::name::Name;
use crate::provider::evidence::Writes;
use crate::state::journal::Record;
use std::collections::{HashMap, HashSet};
use std::path::Path;

/// The last write handover made to each member on `target` (the target as
/// given on the command line, as `run_started` records it), from the
/// journal `records` in the order they were written.
///
/// Every `set_parents` step record counts (`sending`, `applied`,
/// `transient_error`, `failed`: whatever its outcome, the change may be in
/// the management group from its time on); the latest time wins. A write
/// whose last record is `sending` in a run that never finished (the
/// process died with the batch out) counts from the run's last record
/// instead, the latest moment the process is known to have been alive.
/// Records of other targets, of unknown runs and with times that do not
/// parse are passed over.
pub fn from_records<'a>(records: impl IntoIterator<Item = &'a Record>, target: &str) -> Writes {
    let mut ours: HashSet<&str> = HashSet::new();
    let mut finished: HashSet<&str> = HashSet::new();
    let mut last_of_run: HashMap<&str, Stamp> = HashMap::new();
    // Per member: its latest write, and the run whose `sending` it was if
    // no answer followed.
    let mut latest: HashMap<Name, (Stamp, Option<&str>)> = HashMap::new();
    for r in records {
        match r {
            Record::RunStarted { run, target: t, .. } if t == target => {
                ours.insert(run);
            }
            Record::RunFinished { run, .. } => {
                finished.insert(run);
            }
            Record::Step {
                run,
                at,
                action,
                name,
                outcome,
                ..
            } if ours.contains(run.as_str()) => {
                let Ok(at) = Stamp::parse(at) else {
                    continue;
                };
                let last = last_of_run.entry(run).or_insert(at);
                *last = (*last).max(at);
                if action != "set_parents" {
                    continue;
                }
                let Ok(name) = Name::parse(name) else {
                    continue;
                };
                // `sending` (the local journal) and `intent` (the shared
                // journal of `reconcile --ha`, written before the call) are
                // a write whose answer may never have come.
                let unanswered =
                    matches!(outcome.as_str(), "sending" | "intent").then_some(run.as_str());
                let slot = latest.entry(name).or_insert((at, unanswered));
                if at >= slot.0 {
                    *slot = (at, unanswered);
                }
            }
            _ => {}
        }
    }
    latest
        .into_iter()
        .map(|(name, (at, unanswered))| {
            let at = match unanswered {
                Some(run) if !finished.contains(run) => last_of_run.get(run).copied().unwrap_or(at),
                _ => at,
            };
            (name, at)
        })
        .collect()
}

/// [`from_records`] over the shared journal of `reconcile --ha`: the
/// writes of every leader of the group, so a replica that takes over
/// judges evidence against the writes of the leader before it.
pub fn from_shared(entries: &[crate::ha::journal::Entry], target: &str) -> Writes {
    from_records(entries.iter().map(|e| &e.record), target)
}

/// [`from_records`] over the journal in the state directory `dir` (none
/// there: no writes).
pub fn from_journal(dir: &Path, target: &str) -> std::io::Result<Writes> {
    let records = crate::state::journal::read(dir)?;
    Ok(from_records(&records, target))
}

#[cfg(test)]
mod tests;
