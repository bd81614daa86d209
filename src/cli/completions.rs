//! `handover completions bash|zsh|fish|powershell`: print a shell-completion
//! script generated from the clap definition, so it never drifts from the
//! flags.
//!
//! Owns the choice of shells and the script's output. Must not hand-write
//! completions or read any file: everything comes from the clap definition.

use super::exit;
use clap::{Args as ClapArgs, CommandFactory, ValueEnum};

/// Shells completions can be printed for.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Shell {
    /// GNU Bash.
    Bash,
    /// Z shell.
    Zsh,
    /// fish.
    Fish,
    /// Windows PowerShell and PowerShell 7 (`Register-ArgumentCompleter`).
    Powershell,
}

/// Flags of `handover completions`.
#[derive(ClapArgs, Debug)]
pub struct Args {
    /// The shell to print completions for.
    #[arg(value_enum)]
    pub shell: Shell,
}

/// Prints the script to stdout; returns the exit code.
pub fn run(args: Args) -> u8 {
    let shell = match args.shell {
        Shell::Bash => clap_complete::Shell::Bash,
        Shell::Zsh => clap_complete::Shell::Zsh,
        Shell::Fish => clap_complete::Shell::Fish,
        Shell::Powershell => clap_complete::Shell::PowerShell,
    };
    let mut cmd = super::Cli::command();
    clap_complete::generate(shell, &mut cmd, "handover", &mut std::io::stdout());
    exit::OK
}
