//! `handover export`: print a target's observed state as a `kind: Observed`
//! YAML document, or (`--as-topology`) as a desired topology that would plan
//! empty, to bring an existing estate under git with one command.
//!
//! Reads only: a `sim:` target is opened read-only (no lock needed, nothing
//! written, a hand edit of FILE shown as it would be taken).

use super::exit;
use super::target::{self, TargetSpec};
use clap::Args as ClapArgs;
use handover::provider::Scope;
use handover::sim::file::SimFile;
use std::io::Write;

/// Flags of `handover export`.
#[derive(ClapArgs, Debug)]
pub struct Args {
    /// The target to read: `sim:FILE`.
    #[arg(long, value_name = "TARGET")]
    pub target: String,
    /// Print a desired `kind: Topology` (every member with the parents it
    /// has now) instead of the observed state.
    #[arg(long)]
    pub as_topology: bool,
    /// `metadata.name` of the topology (with `--as-topology`).
    #[arg(long, value_name = "NAME", requires = "as_topology")]
    pub name: Option<String>,
    /// Seed of a `sim:` target that has no saved state yet.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

/// Runs the command; returns the exit code.
pub fn run(args: Args) -> u8 {
    let spec = match target::parse(&args.target) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::ERROR;
        }
    };
    let TargetSpec::Sim(file) = &spec;
    let observed = match SimFile::open_read_only(file, args.seed) {
        Ok((sf, _)) => sf.sim().snapshot(&Scope::All),
        Err(e) => {
            eprintln!("error: {e}");
            return exit::ERROR;
        }
    };
    let text = if args.as_topology {
        handover::export::topology_yaml(&observed, args.name.as_deref())
    } else {
        handover::export::observed_yaml(&observed)
    };
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            eprintln!("error: cannot write to stdout: {e}");
        }
        return exit::ERROR;
    }
    exit::OK
}
