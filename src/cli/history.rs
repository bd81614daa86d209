//! `handover history`: list past runs from the journal: id, start, command,
//! target, revision, outcome, and operations applied / members pending /
//! changes blocked. A run with no end recorded was killed (or is running).
//!
//! The edge around [`handover::run::history`], which folds the records:
//! flags, choosing the local or the shared journal, and the table or JSON
//! on stdout. Reads only; needs no lock.

use super::exit;
use clap::{Args as ClapArgs, ValueEnum};
use handover::run::history::{read_shared, runs};
use handover::state::journal;

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
    /// `--state-dir`, `--target`: which journal, and only the runs
    /// against that target.
    #[command(flatten)]
    pub journal: super::flags::JournalArgs,
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
    pub etcd: super::flags::EtcdFlags,
}

/// Runs the command; returns the exit code.
pub fn run(args: Args) -> u8 {
    let Some(dir) = args.journal.dir() else {
        return exit::ERROR;
    };
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
    if let Some(t) = &args.journal.target {
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
                "{:<20} {:<24} {:<9} {:<12} {:<24} {:<30} {:<18} {:<13} {:>8} {:>8} {:>8}",
                "RUN",
                "STARTED",
                "COMMAND",
                "USER",
                "TARGET",
                "REVISION",
                "COMMIT",
                "OUTCOME",
                "APPLIED",
                "PENDING",
                "BLOCKED"
            );
            for r in &list {
                println!(
                    "{:<20} {:<24} {:<9} {:<12} {:<24} {:<30} {:<18} {:<13} {:>8} {:>8} {:>8}",
                    r.run,
                    r.started,
                    r.command,
                    dash(&r.user),
                    r.target,
                    r.revision,
                    dash(&short_commit(&r.commit)),
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

/// `-` for a field not recorded.
fn dash(s: &str) -> &str {
    if s.is_empty() { "-" } else { s }
}

/// A commit as people read it: 12 hex digits, `+dirty` kept.
fn short_commit(c: &str) -> String {
    let (id, dirty) = c.split_once('+').map_or((c, ""), |(i, d)| (i, d));
    let short: String = id.chars().take(12).collect();
    if dirty.is_empty() {
        short
    } else {
        format!("{short}+{dirty}")
    }
}
