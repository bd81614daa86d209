//! `handover provider check`: runs the provider protocol's contract
//! (docs/provider-protocol.md) against any `exec:` provider and prints a
//! pass/fail list, for provider authors.
//!
//! Owns the command line and printing the list. The checks are
//! [`handover::run::check`] (which changes nothing in the estate unless
//! `--member NAME` is given) and the list's words
//! [`handover::report::check`]. Must not plan.

use super::exit;
use clap::{Args as ClapArgs, Subcommand};
use std::time::Duration;

/// `handover provider ...`.
#[derive(ClapArgs, Debug)]
pub struct Args {
    /// What to do with the provider.
    #[command(subcommand)]
    pub command: ProviderCommand,
}

/// The `provider` subcommands.
#[derive(Subcommand, Debug)]
pub enum ProviderCommand {
    /// Run the protocol's contract against an `exec:` provider and print a
    /// pass/fail list; exit 0 when every check passes.
    Check(CheckArgs),
}

/// Flags of `handover provider check`.
#[derive(ClapArgs, Debug)]
pub struct CheckArgs {
    /// The provider: `exec:PROGRAM [ARGS...]`.
    #[arg(long, value_name = "TARGET")]
    pub target: String,
    /// One more argument for the program, passed verbatim. Repeatable.
    #[arg(long = "target-arg", value_name = "ARG", allow_hyphen_values = true)]
    pub target_arg: Vec<String>,
    /// Also re-apply this member's current parents and expect
    /// `changed: false` (the only check that writes to the estate).
    #[arg(long, value_name = "NAME")]
    pub member: Option<String>,
    /// The longest any one request may take (`30s`, `2m`); default 2m.
    #[arg(long, value_name = "DURATION", value_parser = super::flags::parse_duration)]
    pub provider_timeout: Option<handover::model::Seconds>,
    /// `text` (default) or `json`.
    #[arg(long, value_name = "FORMAT", default_value = "text", value_parser = ["text", "json"])]
    pub format: String,
}

/// Runs the command; returns the exit code.
pub fn run(args: Args) -> u8 {
    let ProviderCommand::Check(args) = args.command;
    let checks = match handover::run::check::run(
        &args.target,
        &args.target_arg,
        args.member.as_deref(),
        args.provider_timeout.map(|s| Duration::from_secs(s.0)),
    ) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            return exit::ERROR;
        }
    };
    let text = if args.format == "json" {
        handover::report::check::json(&checks)
    } else {
        handover::report::check::text(&checks)
    };
    if !super::write_stdout(&text) {
        return exit::ERROR;
    }
    if checks.iter().all(|c| c.passed) {
        exit::OK
    } else {
        exit::ERROR
    }
}
