//! `handover resume`: let a paused progressive rollout go on
//! (docs/rollouts.md): after a manual `{pause: true}` step, the next step;
//! after a failed analysis or a rollback, the rollout starts again from
//! its first step over the members still to move.
//!
//! The edge around [`handover::run::rollout::gate::record_resume`]: it
//! appends one record to the journal of the state directory, which the
//! next reconcile pass reads; with `--ha`, around
//! [`handover::run::rollout::gate::record_resume_in_etcd`], which records
//! it in etcd for the group's leader. Must not touch the target or take
//! its lock (a running `reconcile` holds it).

use super::exit;
use clap::Args as ClapArgs;
use std::path::PathBuf;

/// Flags of `handover resume`.
#[derive(ClapArgs, Debug)]
pub struct Args {
    /// The state directory of the `reconcile` to resume; default
    /// `.handover/` beside the target's file (or in the working directory
    /// without `--target`).
    #[arg(long, value_name = "DIR", conflicts_with = "ha")]
    pub state_dir: Option<PathBuf>,
    /// The target the `reconcile` runs against (picks the state directory
    /// beside a `sim:` file).
    #[arg(long, value_name = "TARGET", conflicts_with = "ha")]
    pub target: Option<String>,
    /// Resume the rollout of a `reconcile --ha`: record the resume in its
    /// etcd (`etcd://HOST:PORT[,...][/PREFIX]`), where the group's leader
    /// reads it at its next pass. Needs --group.
    #[arg(long, value_name = "URL", requires = "group")]
    pub ha: Option<String>,
    /// With --ha: the management group (`metadata.name` of the topology;
    /// `default` when it has none).
    #[arg(long, value_name = "NAME", requires = "ha")]
    pub group: Option<String>,
    /// TLS and user settings for etcd.
    #[command(flatten)]
    pub etcd: super::flags::EtcdFlags,
}

/// Runs the command; returns the exit code.
pub fn run(args: Args) -> u8 {
    if let (Some(url), Some(group)) = (&args.ha, &args.group) {
        return match handover::run::rollout::gate::record_resume_in_etcd(
            url,
            &args.etcd.security(),
            group,
        ) {
            Ok(_) => {
                println!(
                    "Resume recorded in etcd at {url} for the management group {group}; the leader's next pass goes on with the rollout."
                );
                exit::OK
            }
            Err(e) => {
                eprintln!("{e}");
                exit::ERROR
            }
        };
    }
    let dir = match super::flags::journal_dir(args.target.as_deref(), args.state_dir.as_deref()) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("{e}");
            return exit::ERROR;
        }
    };
    match handover::run::rollout::gate::record_resume(&dir, handover::run::origin::os_user()) {
        Ok(()) => {
            println!(
                "Resume recorded in {}; the next reconcile pass goes on with the rollout.",
                dir.join("journal.jsonl").display()
            );
            exit::OK
        }
        Err(e) => {
            eprintln!(
                "error: cannot record the resume in {}: {e}; check that the directory is writable",
                dir.display()
            );
            exit::ERROR
        }
    }
}
