//! `handover approve DIGEST`: approve a plan that moves more members than
//! `policy.approval` allows without approval (docs/gates.md).
//!
//! Flags and printing only: the approval is recorded by
//! `handover::run::gates::apply::approve` in the journal of the state
//! directory (`--state-dir`, or the target's default one), or with `--ha`
//! by `handover::run::gates::approvals::approve_in_etcd` in etcd, for the
//! management group `--group`, where the leader of `reconcile --ha` reads
//! it; with the OS user and the time either way. Exit codes: 0 recorded, 1
//! a bad digest, or the journal or etcd could not be written (nothing
//! recorded).

use super::exit;
use clap::Args as ClapArgs;
use std::path::PathBuf;

/// Flags of `handover approve`.
#[derive(ClapArgs, Debug)]
pub struct Args {
    /// The digest `handover plan` (or the status page) printed after
    /// "Digest:", such as `fnv1a64:0123456789abcdef`.
    #[arg(value_name = "DIGEST")]
    pub digest: String,
    /// The target the approval is for; its state directory holds the
    /// journal (the same default as `apply` and `reconcile`).
    #[arg(long, value_name = "TARGET")]
    pub target: Option<String>,
    /// The state directory (journal) of the `reconcile` or `apply` that
    /// waits; default: the target's, or `.handover/` here.
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
    /// `--ha URL --group NAME`: record the approval in etcd instead.
    #[command(flatten)]
    pub ha: super::flags::HaRecordArgs,
}

/// Runs the command; returns the exit code.
pub fn run(args: Args) -> u8 {
    super::exit_code(run_inner(&args))
}

fn run_inner(args: &Args) -> Result<u8, String> {
    let target = args.target.as_deref().unwrap_or("");
    let (user, place) = match args.ha.etcd_group() {
        Some((url, group)) => (
            handover::run::gates::approvals::approve_in_etcd(
                url,
                &args.ha.etcd.security(),
                group,
                &args.digest,
                target,
            )?,
            format!("etcd at {url} for the management group {group}"),
        ),
        _ => {
            let dir = super::flags::journal_dir(args.target.as_deref(), args.state_dir.as_deref())?;
            let user = handover::run::gates::apply::approve(&dir, &args.digest, target)?;
            (user, format!("the journal in {}", dir.display()))
        }
    };
    println!(
        "Approved {} as {} in {place}; a waiting reconcile starts the approved changes at its next pass.",
        args.digest,
        if user.is_empty() {
            "an unknown user"
        } else {
            &user
        },
    );
    Ok(exit::OK)
}
