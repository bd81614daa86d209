//! Folding the journal into runs, for `handover history`: id, start,
//! command, target, revision, outcome, and operations applied / members
//! pending / changes blocked. A run with no end recorded was killed (or is
//! running).
//!
//! Owns [`Run`], [`runs`] (the local journal's records, grouped) and
//! [`read_shared`] (the shared journal of `--ha`, without the fencing
//! check's `intent` entries, with who wrote each run). Reads only; needs
//! no lock. Must not print.

use crate::state::journal::Record;
use serde::Serialize;

/// One run, as listed.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Run {
    /// Its id.
    pub run: String,
    /// When it started.
    pub started: String,
    /// When it finished, if recorded.
    pub finished: Option<String>,
    /// `apply`, `reconcile`.
    pub command: String,
    /// The target.
    pub target: String,
    /// The desired revision.
    pub revision: String,
    /// The OS user who ran it (empty when not recorded).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub user: String,
    /// The git commit of the desired files, `+dirty` when they differed
    /// from it (empty when not in a git work tree, or not recorded).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub commit: String,
    /// How it ended; `unfinished` when no end was recorded.
    pub outcome: String,
    /// Operations applied (counted from its step records when unfinished).
    pub applied: u64,
    /// Members left pending.
    pub pending: u64,
    /// Changes left blocked.
    pub blocked: u64,
    /// With --ha: the replica that ran it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replica: Option<String>,
    /// With --ha: its leadership term (the fencing revision).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub term: Option<i64>,
}

/// Groups journal records into runs, in journal order.
pub fn runs(records: &[Record]) -> Vec<Run> {
    let mut out: Vec<Run> = Vec::new();
    let mut at = std::collections::HashMap::new();
    for r in records {
        match r {
            Record::RunStarted {
                run,
                at: when,
                command,
                target,
                revision,
                user,
                commit,
            } => {
                at.insert(run.clone(), out.len());
                out.push(Run {
                    run: run.clone(),
                    started: when.clone(),
                    command: command.clone(),
                    target: target.clone(),
                    revision: revision.clone(),
                    user: user.clone(),
                    commit: commit.clone(),
                    outcome: "unfinished".into(),
                    ..Run::default()
                });
            }
            Record::Step { run, outcome, .. } => {
                if let Some(&i) = at.get(run)
                    && outcome == "applied"
                    && out[i].finished.is_none()
                {
                    out[i].applied += 1;
                }
            }
            Record::RunFinished {
                run,
                at: when,
                outcome,
                applied,
                pending,
                blocked,
            } => {
                if let Some(&i) = at.get(run) {
                    let r = &mut out[i];
                    r.finished = Some(when.clone());
                    r.outcome = outcome.clone();
                    r.applied = *applied;
                    r.pending = *pending;
                    r.blocked = *blocked;
                }
            }
            // A rollout's records are not runs (docs/rollouts.md).
            Record::RolloutState { .. } | Record::RolloutResumed { .. } => {}
            Record::Approved { .. } => {}
        }
    }
    out
}

/// Who wrote each run of the shared journal.
pub type Writers = std::collections::HashMap<String, (String, i64)>;

/// The shared journal's records (without the `intent` entries the fencing
/// check writes before each operation) and who wrote each run.
pub fn read_shared(
    url: &str,
    security: &crate::ha::secure::Security,
    group: Option<&str>,
) -> Result<(Vec<Record>, Writers), String> {
    let url = crate::ha::url::parse(url).map_err(|e| format!("--ha: {e}"))?;
    let entries = crate::ha::journal::read_from(&url, security, group)?;
    let mut writers = Writers::new();
    let mut records = Vec::new();
    for e in entries {
        if let Record::RunStarted { run, .. } = &e.record {
            writers.insert(run.clone(), (e.replica.clone(), e.term));
        }
        if matches!(&e.record, Record::Step { outcome, .. } if outcome == "intent") {
            continue;
        }
        records.push(e.record);
    }
    Ok((records, writers))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_group_records_and_an_unfinished_run_counts_its_steps() {
        let start = |run: &str| Record::RunStarted {
            run: run.into(),
            at: "t0".into(),
            command: "apply".into(),
            target: "sim:e.yaml".into(),
            revision: "r".into(),
            user: "operator".into(),
            commit: String::new(),
        };
        let step = |run: &str| Record::Step {
            run: run.into(),
            at: "t1".into(),
            step: 1,
            action: "set_parents".into(),
            name: "web01".into(),
            outcome: "applied".into(),
            detail: String::new(),
        };
        let records = vec![
            start("a"),
            step("a"),
            step("a"),
            start("b"),
            step("b"),
            Record::RunFinished {
                run: "b".into(),
                at: "t2".into(),
                outcome: "converged".into(),
                applied: 1,
                pending: 0,
                blocked: 0,
            },
        ];
        let list = runs(&records);
        assert_eq!(list.len(), 2);
        assert_eq!(
            (list[0].outcome.as_str(), list[0].applied),
            ("unfinished", 2)
        );
        assert_eq!(
            (list[1].outcome.as_str(), list[1].applied),
            ("converged", 1)
        );
    }
}
