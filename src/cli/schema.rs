//! `handover schema [--kind topology|observed]`: print the JSON Schema of a
//! handover file, generated from the loader's document types, for editors
//! that validate YAML as you type (the YAML language server).

use super::exit;
use clap::{Args as ClapArgs, ValueEnum};

/// Which document's schema.
#[derive(Clone, Copy, Debug, ValueEnum, Default)]
pub enum Kind {
    /// `kind: Topology`, the desired topology.
    #[default]
    Topology,
    /// `kind: Observed`, the observed state.
    Observed,
}

/// Flags of `handover schema`.
#[derive(ClapArgs, Debug)]
pub struct Args {
    /// The document kind.
    #[arg(long, value_enum, default_value_t = Kind::Topology)]
    pub kind: Kind,
}

/// Prints the schema to stdout; returns the exit code.
pub fn run(args: Args) -> u8 {
    let schema = match args.kind {
        Kind::Topology => handover::load::doc::topology_schema(),
        Kind::Observed => handover::load::doc::observed_schema(),
    };
    match serde_json::to_string_pretty(&schema) {
        Ok(s) => {
            println!("{s}");
            exit::OK
        }
        Err(e) => {
            eprintln!("cannot render the schema: {e}");
            exit::ERROR
        }
    }
}
