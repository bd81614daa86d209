//! `handover export`: print a target's observed state as a `kind: Observed`
//! YAML document, or (`--as-topology`) as a desired topology that would plan
//! empty, to bring an existing estate under git with one command.
//!
//! Reads only: a `sim:` target is opened read-only (no lock needed, nothing
//! written, a hand edit of FILE shown as it would be taken); an `exec:`
//! program is asked to observe, nothing else.

use super::exit;
use super::flags::{TargetFlags, observe_read_only};
use clap::Args as ClapArgs;

/// Flags of `handover export`.
#[derive(ClapArgs, Debug)]
pub struct Args {
    /// Where: `--target`, `--target-arg`, `--provider-timeout`.
    #[command(flatten)]
    pub target: TargetFlags,
    /// Print a desired `kind: Topology` (every member with the parents it
    /// has now) instead of the observed state.
    #[arg(long)]
    pub as_topology: bool,
    /// With `--as-topology`: agents that share a domain suffix and the same
    /// parents become one `agentRules` entry (`match: "*.dmz.contoso.local"`),
    /// and only the agents no rule reproduces are listed. The file still
    /// plans empty; new agents joining such a domain get the rule's parents.
    #[arg(long, requires = "as_topology")]
    pub rules: bool,
    /// `metadata.name` of the topology (with `--as-topology`).
    #[arg(long, value_name = "NAME", requires = "as_topology")]
    pub name: Option<String>,
    /// Seed of a `sim:` target that has no saved state yet.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

/// Runs the command; returns the exit code.
pub fn run(args: Args) -> u8 {
    let open = args.target.open_options(args.seed);
    let observed = match observe_read_only(&args.target.name, &args.target.args, &open) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("{e}");
            return exit::ERROR;
        }
    };
    let text = if args.as_topology {
        let e = handover::export::topology(&observed, args.name.as_deref(), args.rules);
        for w in &e.warnings {
            eprintln!("warning: {w}");
        }
        e.text
    } else {
        handover::export::observed_yaml(&observed)
    };
    if !super::write_stdout(&text) {
        return exit::ERROR;
    }
    exit::OK
}
