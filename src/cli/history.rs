//! `handover history`: list past runs from the journal: id, start, command,
//! target, revision, outcome, and operations applied / members pending /
//! changes blocked. A run with no end recorded was killed (or is running).
//!
//! Reads only; needs no lock.

use super::exit;
use super::target;
use clap::{Args as ClapArgs, ValueEnum};
use handover::state::journal::{self, Record};
use serde::Serialize;
use std::path::PathBuf;

/// Output format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// A table.
    Text,
    /// One JSON array.
    Json,
}

/// Flags of `handover history`.
#[derive(ClapArgs, Debug)]
pub struct Args {
    /// The state directory; default `.handover/` beside the target's file
    /// (or in the working directory without `--target`).
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
    /// Only runs against this target (and, without `--state-dir`, the
    /// state directory beside it).
    #[arg(long, value_name = "TARGET")]
    pub target: Option<String>,
    /// `text` or `json`.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Read the shared journal of `reconcile --ha` from etcd
    /// (`etcd://HOST:PORT[,...][/PREFIX]`) instead of a state directory:
    /// the runs of every replica, with who ran each and in which term.
    #[arg(long, value_name = "URL", conflicts_with = "state_dir")]
    pub ha: Option<String>,
    /// With --ha: only this management group (`metadata.name`).
    #[arg(long, value_name = "NAME", requires = "ha")]
    pub group: Option<String>,
    /// TLS and user settings for etcd.
    #[command(flatten)]
    pub etcd: super::reconcile_ha::EtcdFlags,
}

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
            } => {
                at.insert(run.clone(), out.len());
                out.push(Run {
                    run: run.clone(),
                    started: when.clone(),
                    command: command.clone(),
                    target: target.clone(),
                    revision: revision.clone(),
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
        }
    }
    out
}

/// Who wrote each run of the shared journal.
type Writers = std::collections::HashMap<String, (String, i64)>;

/// The shared journal's records (without the `intent` entries the fencing
/// check writes before each operation) and who wrote each run.
fn read_shared(
    url: &str,
    security: &handover::ha::secure::Security,
    group: Option<&str>,
) -> Result<(Vec<Record>, Writers), String> {
    let url = handover::ha::url::parse(url).map_err(|e| format!("--ha: {e}"))?;
    let entries = handover::ha::journal::read_from(&url, security, group)?;
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

/// Runs the command; returns the exit code.
pub fn run(args: Args) -> u8 {
    let spec = match args
        .target
        .as_deref()
        .map(|t| target::spec(t, &[]))
        .transpose()
    {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            return exit::ERROR;
        }
    };
    let dir = args
        .state_dir
        .clone()
        .unwrap_or_else(|| handover::state::default_dir(spec.as_ref().and_then(target::file)));
    let (records, writers) = match &args.ha {
        Some(url) => match read_shared(url, &args.etcd.security(), args.group.as_deref()) {
            Ok(r) => r,
            Err(e) => {
                eprintln!("error: {e}");
                return exit::ERROR;
            }
        },
        None => match journal::read(&dir) {
            Ok(r) => (r, std::collections::HashMap::new()),
            Err(e) => {
                eprintln!("error: cannot read the journal in {}: {e}", dir.display());
                return exit::ERROR;
            }
        },
    };
    let mut list = runs(&records);
    for r in &mut list {
        if let Some((replica, term)) = writers.get(&r.run) {
            r.replica = Some(replica.clone());
            r.term = Some(*term);
        }
    }
    if let Some(t) = &args.target {
        list.retain(|r| &r.target == t);
    }
    match args.format {
        Format::Json => match serde_json::to_string_pretty(&list) {
            Ok(s) => println!("{s}"),
            Err(e) => {
                eprintln!("error: {e}");
                return exit::ERROR;
            }
        },
        Format::Text => {
            if list.is_empty() {
                println!("No runs recorded in {}.", dir.display());
                return exit::OK;
            }
            println!(
                "{:<20} {:<24} {:<9} {:<24} {:<30} {:<13} {:>8} {:>8} {:>8}",
                "RUN",
                "STARTED",
                "COMMAND",
                "TARGET",
                "REVISION",
                "OUTCOME",
                "APPLIED",
                "PENDING",
                "BLOCKED"
            );
            for r in &list {
                println!(
                    "{:<20} {:<24} {:<9} {:<24} {:<30} {:<13} {:>8} {:>8} {:>8}",
                    r.run,
                    r.started,
                    r.command,
                    r.target,
                    r.revision,
                    r.outcome,
                    r.applied,
                    r.pending,
                    r.blocked
                );
            }
        }
    }
    exit::OK
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
