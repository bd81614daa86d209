//! The `handover` command line. Each subcommand lives in `cli/<command>.rs`;
//! this file only parses arguments, sets up logging and maps results to the
//! exit codes of docs/spec.md section 5.

mod cli;

use std::process::ExitCode;

fn main() -> ExitCode {
    cli::main()
}
