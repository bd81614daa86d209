//! `handover validate PATH...`: check desired-topology and observed-state
//! files without planning or applying anything.

use super::exit;
use clap::Args as ClapArgs;
use std::path::PathBuf;

/// Flags of `handover validate`.
#[derive(ClapArgs, Debug)]
pub struct Args {
    /// Topology or Observed files, or directories of `*.yaml`/`*.yml`.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
}

/// Runs the command; returns the exit code.
pub fn run(args: Args) -> u8 {
    match handover::load::topology(&args.paths) {
        Ok(t) => {
            println!(
                "ok: {} management servers, {} gateways, {} agents, {} rules",
                t.management_servers.len(),
                t.gateways.len(),
                t.agents.len(),
                t.agent_rules.len()
            );
            exit::OK
        }
        Err(d) => {
            eprintln!("{d}");
            exit::ERROR
        }
    }
}
