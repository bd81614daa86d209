//! `handover plan`: print what would change and the exact ordered steps,
//! touching nothing.
//!
//! Reads the desired topology and the observed state (a file, or a fresh
//! read-only observation of `--target`), runs the pure planner, and prints the plan as text (default), JSON (docs/spec.md section 4) or
//! Markdown, with the forecast of how long it takes against the real
//! estate (text and JSON; `--cost`, `policy.cost`); `--out` also writes the
//! JSON plan for a later `apply`. Exit
//! codes: 0 success (or, with `--detailed-exitcode`, no changes), 1 error,
//! 2 changes present with `--detailed-exitcode`, also when all of them are
//! blocked.

use super::exit;
use super::flags::{self, SourceArgs};
use clap::{Args as ClapArgs, ValueEnum};
use handover::render::{self, Options};
use std::io::IsTerminal;
use std::path::PathBuf;

/// Output formats of `handover plan`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// A report for people: summary, then each phase in order.
    Text,
    /// The plan of docs/spec.md section 4, stable byte for byte.
    Json,
    /// A pull-request comment: summary table, a collapsible section per phase.
    Markdown,
    /// An Operations Manager Shell script that performs the plan by hand,
    /// make-before-break, waiting (up to `policy.ackTimeout`) for each
    /// member to report to its new primary before pruning.
    Powershell,
}

/// How to read the `parents: [...]` line of the text output; shown at the
/// end of `plan --help` (docs/planner.md says the same at length).
const READING_PARENTS: &str = "\
Reading the text output:
  sql03.dmz  gw1.dmz → gw2.dmz (bridge: keep gw1.dmz as failover until sql03 connects to gw2.dmz)
      parents: [-gw1.dmz +gw2.dmz gw3.dmz]

  The `parents:` line compares the member's parent list now (primary first, then failovers in
  order) with the list it ends with. A plain name stays where it is; `-name` (red) is in the list
  now but not at that place at the end (removed, or moved); `+name` (green) is at that place only
  at the end (added, or moved here). Skip the `+` names to read the list now, the `-` names to read
  the final list: here gw1.dmz [gw3.dmz] becomes gw2.dmz [gw3.dmz]. A name shown with both `+` and
  `-` changes place: [+gw2 gw1 -gw2] swaps primary and failover. The bridge in between (the old
  parents kept as extra failovers until the member connects to its new primary) is not on this
  line; the line above says when there is one.";

/// Flags of `handover plan`.
#[derive(ClapArgs, Debug)]
#[command(group(clap::ArgGroup::new("source").required(true).args(["observed", "target"])))]
#[command(after_long_help = READING_PARENTS)]
pub struct Args {
    /// `--desired`, and `--observed` or `--target` (with `--target-arg`,
    /// `--provider-timeout`).
    #[command(flatten)]
    pub source: SourceArgs,
    /// Seed of a `sim:` target that has no saved state yet.
    #[arg(long, default_value_t = 0, requires = "target")]
    pub seed: u64,
    /// What to print.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Also write the JSON plan to FILE, for `handover apply FILE`.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Exit 0 when there are no changes, 2 when there are, 1 on error.
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// List every member instead of grouping identical moves.
    #[arg(long, short)]
    pub verbose: bool,
    /// The forecast's figures, over `policy.cost` (any of them):
    /// `startup=5s,call=1s,operation=1s,observe=30s,propagation=5m,batch=50,parallel=1,sessions=true`.
    #[arg(long, value_name = "FIGURES", value_parser = flags::parse_cost)]
    pub cost: Option<String>,
}

/// Prints whether a change window is open and whether the plan needs
/// approval (docs/gates.md): on stdout after a text plan, on stderr for
/// the machine formats. False when `HANDOVER_NOW` is not a time.
fn gate_notes(
    args: &Args,
    desired: &handover::model::Topology,
    observed: &handover::model::Observed,
) -> bool {
    let now = match handover::run::gates::now() {
        Ok(n) => n,
        Err(e) => {
            eprintln!("{e}");
            return false;
        }
    };
    let notes =
        handover::run::gates::apply::plan_notes(desired, observed, &args.source.desired, now);
    for n in notes {
        if args.format == Format::Text {
            println!("{n}");
        } else {
            eprintln!("{n}");
        }
    }
    true
}

/// Runs the command; returns the exit code.
pub fn run(args: Args) -> u8 {
    let Some((desired, observed)) = args.source.inputs(args.seed) else {
        return exit::ERROR;
    };
    let mut plan = match handover::plan::try_plan(&desired, &observed) {
        Ok(p) => p,
        Err(e) => {
            eprintln!(
                "{}",
                handover::diag::Diagnostics(e.to_diagnostics(&desired))
            );
            return exit::ERROR;
        }
    };
    let cost = flags::cost(&desired.policy, args.cost.as_deref());
    plan.forecast = Some(handover::plan::forecast::forecast(
        &plan,
        &desired.policy,
        &cost,
    ));
    if let Some(path) = &args.out
        && let Err(e) = std::fs::write(path, render::json::render(&plan))
    {
        eprintln!("error: cannot write the plan to {}: {e}", path.display());
        return exit::ERROR;
    }
    let opts = Options {
        color: args.format == Format::Text
            && std::io::stdout().is_terminal()
            && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
        verbose: args.verbose,
        max_in_flight: desired.policy.max_in_flight,
    };
    let text = match args.format {
        Format::Text => {
            let mut t = render::text::render(&plan, &observed, &opts);
            if let Some(f) = &plan.forecast
                && !plan.steps.is_empty()
            {
                t.push_str(&render::forecast::text(f, desired.policy.max_in_flight));
            }
            t
        }
        Format::Json => render::json::render(&plan),
        Format::Markdown => render::markdown::render(&plan, &observed, &opts),
        Format::Powershell => render::powershell::render(
            &plan,
            &render::powershell::Waits {
                ack_timeout: desired.policy.ack_timeout.as_duration(),
                max_in_flight: desired.policy.max_in_flight,
                ..Default::default()
            },
        ),
    };
    if !super::write_stdout(&text) {
        return exit::ERROR;
    }
    if !gate_notes(&args, &desired, &observed) {
        return exit::ERROR;
    }
    let code = if args.detailed_exitcode && !plan.is_empty() {
        exit::CHANGES
    } else {
        exit::OK
    };
    // The process ends here: freeing a 100,000-member estate one name at a
    // time costs tens of milliseconds that the OS does at once.
    std::mem::forget((desired, observed, plan, text));
    code
}
