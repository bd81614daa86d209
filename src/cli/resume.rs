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
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
    /// The target the `reconcile` runs against (picks the state directory
    /// beside a `sim:` file).
    #[arg(long, value_name = "TARGET", conflicts_with = "ha")]
    pub target: Option<String>,
    /// `--ha URL --group NAME`: resume the rollout of a `reconcile --ha`,
    /// recording the resume in its etcd.
    #[command(flatten)]
    pub ha: super::flags::HaRecordArgs,
}

/// Runs the command; returns the exit code.
pub fn run(args: Args) -> u8 {
    if let Some((url, group)) = args.ha.etcd_group() {
        return match handover::run::rollout::gate::record_resume_in_etcd(
            url,
            &args.ha.etcd.security(),
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
