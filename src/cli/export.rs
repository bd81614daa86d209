//! `handover export`: print a target's observed state as a `kind: Observed`
//! YAML document, or (`--as-topology`) as a desired topology that would plan
//! empty, to bring an existing estate under git with one command.
//!
//! Reads only: a `sim:` target is opened read-only (no lock needed, nothing
//! written, a hand edit of FILE shown as it would be taken); an `exec:`
//! program is asked to observe, nothing else.

use super::exit;
use super::flags::{self, observe_read_only};
use clap::Args as ClapArgs;
use handover::run::target::OpenOptions;

/// Flags of `handover export`.
#[derive(ClapArgs, Debug)]
pub struct Args {
    /// The target to read: `sim:FILE` or `exec:PROGRAM [ARGS...]`.
    #[arg(long, value_name = "TARGET")]
    pub target: String,
    /// One more argument for an `exec:` program, passed verbatim (never
    /// through a shell). Repeatable, in order.
    #[arg(long = "target-arg", value_name = "ARG", allow_hyphen_values = true)]
    pub target_arg: Vec<String>,
    /// The longest the `exec:` program's observe may take (`30s`, `15m`);
    /// default 10m.
    #[arg(long, value_name = "DURATION", value_parser = flags::parse_duration)]
    pub provider_timeout: Option<handover::model::Seconds>,
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
    let open = OpenOptions {
        seed: args.seed,
        provider_timeout: args.provider_timeout,
    };
    let observed = match observe_read_only(&args.target, &args.target_arg, &open) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("{e}");
            return exit::ERROR;
        }
    };
    let text = if args.as_topology {
        handover::export::topology_yaml(&observed, args.name.as_deref())
    } else {
        handover::export::observed_yaml(&observed)
    };
    if !super::write_stdout(&text) {
        return exit::ERROR;
    }
    exit::OK
}
