//! `handover simulate`: rehearse a migration in the embedded simulator, in
//! virtual time, and say whether it would strand anyone.
//!
//! Also prints the forecast of the first plan against the real estate
//! (`--cost`, `policy.cost`; [`handover::plan::forecast`]).
//!
//! Owns the flags, where the rehearsal starts (an `--observed` file, or one
//! read-only observation of `--target`, through `flags::observe_read_only`,
//! the one read-only observe) and printing: the opening line and the waves
//! as the rehearsal goes, then the closing text or the JSON object. Must
//! not apply anything to that target: the rehearsal runs in an embedded
//! simulator built from the observation. The rehearsal itself is the use
//! case [`handover::run::rehearse`]; its words are
//! [`handover::report::rehearsal`] and [`handover::report::simulate`].

use super::exit;
use super::flags::{self, SourceArgs};
use clap::{Args as ClapArgs, ValueEnum};
use handover::execute::ProgressEvent;
use handover::report::rehearsal::{Waves, header};
use handover::run::rehearse::{self, Options};
use std::path::PathBuf;

/// Flags of `handover simulate`.
#[derive(ClapArgs, Debug)]
#[command(group(clap::ArgGroup::new("source").required(true).args(["observed", "target"])))]
pub struct Args {
    /// `--desired`, and `--observed` or `--target` (with `--target-arg`,
    /// `--provider-timeout`).
    #[command(flatten)]
    pub source: SourceArgs,
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

impl From<Strategy> for rehearse::Strategy {
    fn from(s: Strategy) -> Self {
        match s {
            Strategy::MakeBeforeBreak => rehearse::Strategy::MakeBeforeBreak,
            Strategy::Direct => rehearse::Strategy::Direct,
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

/// Runs the command; returns the exit code.
pub fn run(args: Args) -> u8 {
    // The topology loads while the observed state is read (or the target
    // observed) on another thread; every problem in either is reported
    // before stopping.
    let Some((desired, observed)) = args.source.inputs(args.seed) else {
        return exit::ERROR;
    };
    if let Some(t) = &args.source.observe.target {
        eprintln!(
            "note: rehearsing from one read-only observation of {t}; nothing is applied to it"
        );
    }
    let options = Options {
        strategy: args.strategy.into(),
        seed: args.seed,
        faults: args.faults.clone(),
        start: args.start.clone(),
        approve: args.approve.clone(),
        auto_approve: args.auto_approve,
        cost: flags::cost(&desired.policy, args.cost.as_deref()),
    };
    let prepared = match rehearse::prepare(desired, observed, &options) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("{e}");
            return exit::ERROR;
        }
    };
    // Set once stdout is closed (`| head`): nothing more is written.
    let closed = std::cell::Cell::new(false);
    let mut waves = None;
    if args.format == Format::Text {
        let strategy = prepared.strategy();
        say(
            &closed,
            &header(
                strategy.name(),
                &prepared.first.summary,
                &prepared.desired.policy,
                strategy == rehearse::Strategy::MakeBeforeBreak,
            ),
        );
        waves = Some(Waves::new(prepared.window(), prepared.first.summary.moves));
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
    let done = match prepared.run(&mut progress) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("{e}");
            return exit::ERROR;
        }
    };
    match args.format {
        Format::Text => say(&closed, &handover::report::simulate::text(&done)),
        Format::Json => match handover::report::simulate::json(&done) {
            Ok(s) => say(&closed, &s),
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
        done.report.exit_code()
    };
    // The process ends here: the OS reclaims the estate and the simulator
    // at once, faster than freeing them one allocation at a time.
    std::mem::forget(done);
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
