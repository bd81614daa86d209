//! `handover simulate`: rehearse a migration in the embedded simulator, in
//! virtual time, and say whether it would strand anyone.
//!
//! Also prints the forecast of the first plan against the real estate
//! (`--cost`, `policy.cost`; [`handover::plan::forecast`]).
//!
//! Owns where the rehearsal starts: an `--observed` file, or one read-only
//! observation of `--target` (through `flags::observe_read_only`, the one
//! read-only observe). Must not apply anything to that target: the
//! rehearsal runs in an embedded simulator built from the observation.
//! Everything else (the cycle, the verdict, the JSON object, the exit code)
//! is library code in `handover::execute`, tested there.

use super::exit;
use super::flags::{self, ObserveArgs};
use clap::{Args as ClapArgs, ValueEnum};
use handover::execute::{self, ConvergeOptions, EngineOptions, ProgressEvent};
use handover::model::{Observed, Topology};
use handover::plan::Plan;
use handover::run::rollout::RolloutPlanner;
use handover::sim::{FaultSchedule, Sim, SimConfig};
use std::path::PathBuf;

/// Flags of `handover simulate`.
#[derive(ClapArgs, Debug)]
#[command(group(clap::ArgGroup::new("source").required(true).args(["observed", "target"])))]
pub struct Args {
    /// The desired topology: a file, or a directory of `*.yaml`/`*.yml`.
    #[arg(long, value_name = "PATH", required = true)]
    pub desired: Vec<PathBuf>,
    /// The observed state the simulation starts from (`kind: Observed`).
    /// Exactly one of `--observed` and `--target`.
    #[arg(long, value_name = "FILE")]
    pub observed: Option<PathBuf>,
    /// `--target`, `--target-arg`, `--provider-timeout`: rehearse from a
    /// live observation of the estate instead of a file.
    #[command(flatten)]
    pub observe: ObserveArgs,
    /// Faults to inject during the rehearsal (docs/spec.md section 6).
    #[arg(long, value_name = "FILE")]
    pub faults: Option<PathBuf>,
    /// How members are moved.
    #[arg(long, value_enum, default_value_t = Strategy::MakeBeforeBreak)]
    pub strategy: Strategy,
    /// Seed of every random choice (propagation delays, provider errors,
    /// backoff jitter): the same seed gives the same rehearsal. Also the
    /// seed of a `--target sim:FILE` that has no saved state yet.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// `text` for people, `json` for scripts (one object, docs/spec.md section 5).
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// The instant the rehearsal starts at, for `policy.windows` (RFC 3339,
    /// such as `2026-12-08T21:30:00+01:00`); default 2026-12-08T21:30:00Z,
    /// so the output is the same on every run (docs/gates.md).
    #[arg(long, value_name = "TIME")]
    pub start: Option<String>,
    /// Approve this digest when a plan above `policy.approval` waits for it
    /// (repeatable).
    #[arg(long, value_name = "DIGEST")]
    pub approve: Vec<String>,
    /// Approve every plan above `policy.approval` as soon as it waits.
    #[arg(long)]
    pub auto_approve: bool,
    /// The figures of the forecast against the real estate, over
    /// `policy.cost` (any of them):
    /// `startup=5s,call=1s,operation=1s,observe=30s,propagation=5m,batch=50,parallel=1,sessions=true`.
    #[arg(long, value_name = "FIGURES", value_parser = flags::parse_cost)]
    pub cost: Option<String>,
}

/// How members are moved.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Strategy {
    /// Bridge, wait for the new primary, then prune (safe).
    MakeBeforeBreak,
    /// Write the desired parents in one step, as the console does (shows
    /// the hazard).
    Direct,
}

impl Strategy {
    fn name(self) -> &'static str {
        match self {
            Strategy::MakeBeforeBreak => "make-before-break",
            Strategy::Direct => "direct",
        }
    }
}

/// Output format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// A line per wave and a verdict.
    Text,
    /// The docs/spec.md section 5 object.
    Json,
}

/// The planner for a strategy.
fn strategy(s: Strategy) -> fn(&Topology, &Observed) -> Plan {
    match s {
        Strategy::MakeBeforeBreak => handover::plan::plan,
        Strategy::Direct => handover::plan::direct::plan,
    }
}

/// Builds the simulator, refusing faults that name hosts it does not know.
fn build_target(
    observed: &Observed,
    faults: Option<&PathBuf>,
    seed: u64,
) -> Result<Sim, handover::diag::Diagnostics> {
    let faults = match faults {
        Some(path) => FaultSchedule::load(path)?,
        None => FaultSchedule::default(),
    };
    Sim::try_new(observed, SimConfig::seeded(seed).with_faults(faults))
}

/// `simulate --format json`: the summary of docs/spec.md section 5, then
/// the faults the rehearsal injected.
#[derive(serde::Serialize)]
struct Rehearsal<'a> {
    #[serde(flatten)]
    summary: handover::execute::SimulateSummary<'a>,
    faults: Vec<handover::sim::Fired>,
    /// `policy.rollout`'s steps, timeline and outcome (docs/rollouts.md).
    #[serde(skip_serializing_if = "Option::is_none")]
    rollout: Option<handover::run::rollout::RolloutReport<'a>>,
    /// What the change windows and the approval gate did (docs/gates.md);
    /// absent when neither is configured.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    gates: Vec<handover::run::gates::rehearse::GateEvent>,
    /// How long the first plan is forecast to take against the real
    /// estate (the rehearsal's own times are the simulator's).
    forecast: handover::plan::forecast::Forecast,
}

/// The rehearsal's gates from `--start`, `--approve` and `--auto-approve`.
fn gates(args: &Args) -> Result<handover::run::gates::rehearse::Rehearsal, String> {
    use handover::run::gates::{parse_instant, rehearse};
    let start = args.start.as_deref().unwrap_or(rehearse::DEFAULT_START);
    let start = parse_instant(start).map_err(|e| format!("error: --start {start:?} {e}"))?;
    for d in &args.approve {
        if !handover::plan::approval::is_digest(d) {
            return Err(format!(
                "error: --approve {d:?} is not an approval digest; expected fnv1a64: and 16 hex digits, as `handover plan` prints it"
            ));
        }
    }
    Ok(rehearse::Rehearsal::new(
        start,
        args.approve.clone(),
        args.auto_approve,
    ))
}

/// Runs the command; returns the exit code.
pub fn run(args: Args) -> u8 {
    // The topology loads while the observed state is read (or the target
    // observed) on another thread; every problem in either is reported
    // before stopping.
    let (desired, observed) = match flags::topology_and_required_source(
        &args.desired,
        args.observed.as_deref(),
        &args.observe,
        args.seed,
    ) {
        Ok(both) => both,
        Err(e) => {
            eprintln!("{e}");
            return exit::ERROR;
        }
    };
    if let Some(t) = &args.observe.target {
        eprintln!(
            "note: rehearsing from one read-only observation of {t}; nothing is applied to it"
        );
    }
    let gates = match gates(&args) {
        Ok(g) => g,
        Err(e) => {
            eprintln!("{e}");
            return exit::ERROR;
        }
    };
    // Reconcile runs a rollout and the gates together; the rehearsal does
    // not yet (docs/gates.md, "Not yet"): say so instead of dropping one.
    if args.strategy == Strategy::MakeBeforeBreak
        && desired.policy.rollout.is_some()
        && (!desired.policy.windows.is_empty() || desired.policy.approval.is_some())
    {
        eprintln!(
            "error: simulate cannot yet rehearse policy.rollout together with policy.windows or policy.approval; rehearse the rollout and the gates in two topologies (reconcile applies them together)"
        );
        return exit::ERROR;
    }
    let mut sim = match build_target(&observed, args.faults.as_ref(), args.seed) {
        Ok(s) => s,
        Err(d) => {
            eprintln!("{d}");
            return exit::ERROR;
        }
    };
    let opts = ConvergeOptions {
        exec: EngineOptions {
            seed: args.seed,
            ..EngineOptions::from_policy(&desired.policy)
        },
        ..ConvergeOptions::default()
    };
    let runtime = match super::runtime() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("{e}");
            return exit::ERROR;
        }
    };
    let text = args.format == Format::Text;
    let plan = strategy(args.strategy);
    // Set once stdout is closed (`| head`): nothing more is written.
    let closed = std::cell::Cell::new(false);
    let mut waves = None;
    // The first plan, for the opening line, the wave size and the
    // forecast; the rehearsal plans again from the simulator's own
    // observation.
    let first = plan(&desired, &observed);
    let cost = flags::cost(&desired.policy, args.cost.as_deref());
    let forecast = handover::plan::forecast::forecast(&first, &desired.policy, &cost);
    if text {
        let bridges = args.strategy == Strategy::MakeBeforeBreak;
        say(
            &closed,
            &handover::report::rehearsal::header(
                args.strategy.name(),
                &first.summary,
                &desired.policy,
                bridges,
            ),
        );
        // `direct` has no window: all its changes are one wave.
        let window = if bridges {
            desired.policy.max_in_flight
        } else {
            u32::try_from(first.summary.moves)
                .unwrap_or(u32::MAX)
                .max(1)
        };
        waves = Some(handover::report::rehearsal::Waves::new(
            window,
            first.summary.moves,
        ));
    }
    // Progress goes to stdout in text mode only: in JSON mode stdout holds
    // the one object and nothing else.
    let mut progress = |e: &ProgressEvent| {
        if let Some(w) = waves.as_mut() {
            for line in w.event(e) {
                say(&closed, &format!("{line}\n"));
            }
        }
    };
    // A progressive rollout paces make-before-break moves; `direct` shows
    // the hazard and has no steps.
    let mut rollout = (args.strategy == Strategy::MakeBeforeBreak
        && desired.policy.rollout.is_some())
    .then(|| RolloutPlanner::new("rehearsal"));
    let report = match rollout.as_mut() {
        Some(r) => runtime.block_on(execute::converge(
            &mut sim,
            &desired,
            r,
            &opts,
            &mut progress,
        )),
        None => runtime.block_on(execute::converge(
            &mut handover::run::gates::rehearse::Clocked {
                inner: &mut sim,
                gates: &gates,
            },
            &desired,
            // `direct` shows the hazard of the console's way: no gates.
            |d: &Topology, o: &Observed| match args.strategy {
                Strategy::MakeBeforeBreak => gates.plan(d, o, plan),
                Strategy::Direct => plan(d, o),
            },
            &opts,
            &mut progress,
        )),
    };
    let rollout_report = desired
        .policy
        .rollout
        .as_ref()
        .zip(rollout.as_ref())
        .map(|(policy, r)| r.report(policy));
    let gate_events = gates.events();
    match args.format {
        Format::Text => {
            say(
                &closed,
                &handover::report::rehearsal::faults(&sim.faults_fired()),
            );
            if let Some(r) = &rollout_report {
                say(&closed, &handover::report::rollout::timeline(r));
            }
            for e in &gate_events {
                say(
                    &closed,
                    &format!("{}\n", handover::report::rehearsal::gate_event(e)),
                );
            }
            say(
                &closed,
                &handover::report::rehearsal::verdict(&report, args.strategy.name()),
            );
            let now = sim.snapshot(&handover::provider::Scope::All);
            if let Some(s) =
                handover::render::store::outcome(&desired, &now, sim.disaster_failovers())
            {
                say(&closed, &s);
            }
            if !first.steps.is_empty() {
                say(
                    &closed,
                    &handover::render::forecast::text(&forecast, desired.policy.max_in_flight),
                );
            }
        }
        Format::Json => match serde_json::to_string(&Rehearsal {
            summary: report.summary(args.strategy.name()),
            faults: sim.faults_fired(),
            rollout: rollout_report,
            gates: gate_events,
            forecast,
        }) {
            Ok(s) => say(&closed, &format!("{s}\n")),
            Err(e) => {
                eprintln!("error: cannot write the report: {e}");
                return exit::ERROR;
            }
        },
    }
    // A closed stdout (`| head`) ends the rehearsal quietly, as an error.
    let code = if closed.get() {
        exit::ERROR
    } else {
        report.exit_code()
    };
    // The process ends here: the OS reclaims the estate and the simulator
    // at once, faster than freeing them one allocation at a time.
    std::mem::forget((desired, observed, sim, report, rollout, first));
    code
}

/// Writes rehearsal output to stdout unless it is already closed; marks it
/// closed when the write fails ([`super::write_stdout`] says why, unless
/// the reader just went away).
fn say(closed: &std::cell::Cell<bool>, text: &str) {
    if !closed.get() && !super::write_stdout(text) {
        closed.set(true);
    }
}
