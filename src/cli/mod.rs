//! Argument parsing and dispatch. Each command's flags are documented where
//! they are defined, in its own module; results go to stdout, errors to
//! stderr, and the exit codes are those of docs/spec.md section 5.

pub mod apply;
pub mod approve;
pub mod completions;
pub mod export;
pub mod flags;
pub mod graph;
pub mod history;
pub mod plan;
pub mod progress;
pub mod provider;
pub mod reconcile;
pub mod resume;
pub mod schema;
pub mod simulate;
pub mod validate;
pub mod wait;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

pub use handover::verdict::exit;

/// Keep SCOM agent and gateway parents, and the Skype for Business Central
/// Management Store, equal to a topology committed to git — moving members
/// make-before-break so none is stranded.
#[derive(Parser, Debug)]
#[command(name = "handover", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Check topology and observed-state files; print a summary or every problem.
    Validate(validate::Args),
    /// Print what would change and the exact ordered steps, touching nothing.
    Plan(plan::Args),
    /// Rehearse the migration against a simulated copy of the observed
    /// estate, in virtual time, with faults; report stranded, pending and
    /// blocked members and how long it would take.
    Simulate(simulate::Args),
    /// Apply a plan to a target (planned from `--desired`, or a saved
    /// PLANFILE), make-before-break, waiting for each member to acknowledge.
    Apply(apply::Args),
    /// Print a target's observed state (or, with `--as-topology`, a desired
    /// topology that plans empty).
    Export(export::Args),
    /// Keep a target equal to a desired topology (a path or a git
    /// repository), pass after pass, or once with `--once`.
    Reconcile(Box<reconcile::Args>),
    /// Wait until a running `reconcile --listen` is synced (or healthy),
    /// printing its progress; exit non-zero with the reason when it cannot.
    Wait(wait::WaitArgs),
    /// Print a running `reconcile --listen`'s status; the exit code says
    /// whether it is healthy.
    Status(wait::StatusArgs),
    /// Draw management servers, gateways and agent counts as DOT, Mermaid
    /// or SVG; with `--observed` or `--target`, highlight the planned moves.
    Graph(graph::Args),
    /// List past runs recorded in the journal.
    History(history::Args),
    /// Let a paused progressive rollout go on (docs/rollouts.md).
    Resume(resume::Args),
    /// Print shell completions (bash, zsh, fish or PowerShell) to stdout.
    Completions(completions::Args),
    /// Print the JSON Schema of topology (or observed) files, for editors.
    Schema(schema::Args),
    /// Check a provider program against the protocol (`provider check`).
    Provider(provider::Args),
    /// Approve a plan above `policy.approval` by its digest, recorded in
    /// the journal with your user name and the time.
    Approve(approve::Args),
}

pub use handover::run::runtime;

/// The exit code of a command whose body returns its code or the message
/// of the error that stopped it (printed here, on stderr).
pub fn exit_code(result: Result<u8, String>) -> u8 {
    result.unwrap_or_else(|msg| {
        eprintln!("{msg}");
        exit::ERROR
    })
}

/// Writes a command's result to stdout. A closed pipe (`| head`) ends the
/// command quietly; any other failure is said on stderr. Either way the
/// caller exits with [`exit::ERROR`] when this returns `false`.
pub fn write_stdout(text: &str) -> bool {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
        Ok(()) => true,
        Err(e) => {
            if e.kind() != std::io::ErrorKind::BrokenPipe {
                eprintln!("error: cannot write to stdout: {e}");
            }
            false
        }
    }
}

/// Parses the command line and runs the chosen command.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // --help and --version print to stdout and succeed; every usage
            // error exits 1 (docs/spec.md section 5), not clap's default 2, which
            // means "changes present" here.
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() {
                exit::ERROR
            } else {
                exit::OK
            });
        }
    };
    let code = match cli.command {
        Command::Validate(args) => validate::run(args),
        Command::Plan(args) => plan::run(args),
        Command::Simulate(args) => simulate::run(args),
        Command::Apply(args) => apply::run(args),
        Command::Export(args) => export::run(args),
        Command::Reconcile(args) => reconcile::run(*args),
        Command::Wait(args) => wait::run_wait(args),
        Command::Status(args) => wait::run_status(args),
        Command::Graph(args) => graph::run(args),
        Command::History(args) => history::run(args),
        Command::Resume(args) => resume::run(args),
        Command::Completions(args) => completions::run(args),
        Command::Schema(args) => schema::run(args),
        Command::Provider(args) => provider::run(args),
        Command::Approve(args) => approve::run(args),
    };
    ExitCode::from(code)
}
