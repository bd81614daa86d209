//! `handover apply`: plan (or read a saved plan), show it, confirm, apply it
//! to the target with progress bars, and say how it ended.
//!
//! The edge around `handover::run::apply::run`: arguments, the target's lock,
//! opening the target (`sim:` or `exec:`, see `target.rs`) and saving a
//! `sim:` one, the confirmation prompt, Ctrl-C,
//! progress bars (stderr), the summary (stdout) and `--report FILE`.
//! Exit codes: 0 converged; 3 members pending, failed, blocked or the run
//! interrupted (all safe); 4 a member stranded; 1 errors.

use super::exit;
use super::flags::{TargetFlags, parse_duration};
use super::progress::Bars;
use clap::Args as ClapArgs;
use handover::execute::{Cancel, EngineOptions};
use handover::model::{Observed, Topology};
use handover::provider::{Provider, Scope};
use handover::report::run::{self as report, RunReport};
use handover::run::apply::{self, RunInfo, prepare};
use handover::run::target::{self, Target};
use handover::state::journal::{self, Journal};
use handover::state::lock::TargetLock;
use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};

/// Flags of `handover apply`.
#[derive(ClapArgs, Debug)]
pub struct Args {
    /// Where: `--target`, `--target-arg`, `--provider-timeout`.
    #[command(flatten)]
    pub target: TargetFlags,
    /// A plan saved by `handover plan --out FILE`; refused when the estate
    /// has changed since in a way that affects it.
    #[arg(
        value_name = "PLANFILE",
        conflicts_with = "desired",
        required_unless_present = "desired"
    )]
    pub planfile: Option<PathBuf>,
    /// Desired topology: a file, or a directory of `*.yaml`/`*.yml`
    /// (repeatable). Planned against a fresh observation of the target.
    #[arg(long, value_name = "PATH")]
    pub desired: Vec<PathBuf>,
    /// Apply without asking. Required when not run in a terminal.
    #[arg(long)]
    pub auto_approve: bool,
    /// Write what was done, step by step, to FILE: JSON (`.json`) or
    /// Markdown (`.md`).
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// The state directory (journal); default `.handover/` beside a `sim:`
    /// target's file, or in the working directory for `exec:`. The lock is
    /// host-wide, keyed by the target (`HANDOVER_LOCK_DIR`).
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
    /// Apply a PLANFILE that has no `observed_digest` (a hand-made plan)
    /// as it is: without the digest, nobody can tell whether the estate has
    /// changed since it was made. A stale plan that has one is still
    /// refused, and the executor still re-checks every removal.
    #[arg(long)]
    pub force: bool,
    /// Members in a bridge at once, overriding `policy.maxInFlight` (with
    /// PLANFILE, the window the plan recorded; 100 if it recorded none).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub max_in_flight: Option<u32>,
    /// How long to wait for each member to connect to its new primary
    /// (`30s`, `15m`, `2h`), overriding `policy.ackTimeout` (default 30m).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub ack_timeout: Option<handover::model::Seconds>,
    /// Seed of a new `sim:` target and of the backoff jitter.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

/// How `--report` is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ReportFormat {
    Json,
    Markdown,
}

fn report_format(path: &Path) -> Result<ReportFormat, String> {
    match path
        .extension()
        .and_then(|e| e.to_str())
        .map(|e| e.to_ascii_lowercase())
    {
        Some(e) if e == "json" => Ok(ReportFormat::Json),
        Some(e) if e == "md" || e == "markdown" => Ok(ReportFormat::Markdown),
        _ => Err(format!(
            "error: --report {}: the extension says the format: .json or .md",
            path.display()
        )),
    }
}

/// Asks on the terminal; true only for `yes`.
fn confirm(steps: usize, target: &str) -> bool {
    eprint!(
        "\nApply these {steps} steps to {target}?\n  Only 'yes' will be accepted to approve.\n\n  Enter a value: "
    );
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    if std::io::stdin().lock().read_line(&mut line).is_err() {
        return false;
    }
    line.trim() == "yes"
}

/// Sets `cancel` on the first Ctrl-C; exits at once on the second.
fn install_ctrl_c(cancel: Cancel) {
    std::thread::spawn(move || {
        let Ok(rt) = super::runtime() else {
            return;
        };
        rt.block_on(async {
            if tokio::signal::ctrl_c().await.is_err() {
                return;
            }
            cancel.cancel();
            eprintln!(
                "\nInterrupted: no new step will start; the step in progress finishes. Every member is left as it was, in its bridge, or done (all safe).\nPress Ctrl-C again to stop at once (also safe: each step is atomic)."
            );
            if tokio::signal::ctrl_c().await.is_ok() {
                eprintln!("Stopped. Run the same apply again to carry on from where it is.");
                std::process::exit(130);
            }
        });
    });
}

/// Runs the command; returns the exit code.
pub fn run(args: Args) -> u8 {
    super::exit_code(run_inner(args))
}

fn run_inner(args: Args) -> Result<u8, String> {
    if args.force && args.planfile.is_none() {
        return Err(
            "error: --force applies to a PLANFILE without observed_digest only; with --desired, apply plans against a fresh observation: drop --force"
                .into(),
        );
    }
    let spec = args.target.spec()?;
    let report_fmt = args.report.as_deref().map(report_format).transpose()?;
    let interactive = std::io::stdin().is_terminal() && std::io::stdout().is_terminal();
    if !args.auto_approve && !interactive {
        return Err(
            "error: apply needs a confirmation: run it in a terminal to answer the question, or pass --auto-approve"
                .into(),
        );
    }
    let desired: Option<Topology> = if args.desired.is_empty() {
        None
    } else {
        Some(handover::load::topology(&args.desired).map_err(|d| d.to_string())?)
    };
    let saved_plan = match &args.planfile {
        Some(p) => {
            let plan = prepare::read_plan(p)?;
            apply::stale::require_digest(&plan, &p.display().to_string(), args.force)
                .map_err(|e| format!("error: {e}"))?;
            Some(plan)
        }
        None => None,
    };
    let state_dir = target::state_dir(&spec, args.state_dir.as_deref());
    let lock = TargetLock::acquire_target(&spec, "apply").map_err(|e| format!("error: {e}"))?;
    if let Some(h) = &lock.recovered_from {
        eprintln!("note: took over the lock of {h}, which ended without releasing it");
    }
    let open = args.target.open_options(args.seed);
    let (mut tgt, notes): (Target, _) = Target::open(&spec, &open)?;
    for n in notes {
        eprintln!("{n}");
    }
    let runtime = super::runtime()?;
    let observing = std::time::Instant::now();
    let start: Observed = runtime
        .block_on(tgt.observe(&Scope::All))
        .map_err(|e| format!("error: cannot observe {}: {e}", args.target.name))?;
    let first_observe = observing.elapsed();
    let (plan, revision) = match (&saved_plan, &desired) {
        (Some(plan), _) => prepare::saved(plan, &start)?,
        (None, Some(d)) => prepare::planned(d, &args.desired, &start)?,
        (None, None) => unreachable!("clap requires PLANFILE or --desired"),
    };
    let policy = prepare::policy(
        desired.as_ref(),
        saved_plan.as_ref(),
        args.max_in_flight,
        args.ack_timeout,
    );
    tgt.set_store_timeout(policy.store_timeout);
    let render_opts = handover::render::Options {
        color: std::io::stdout().is_terminal()
            && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
        verbose: false,
        max_in_flight: policy.max_in_flight,
    };
    print!(
        "{}",
        handover::render::text::render(&plan, &start, &render_opts)
    );
    let _ = std::io::stdout().flush();
    if plan.steps.is_empty() {
        tgt.save()
            .map_err(|e| format!("error: cannot save the target {}: {e}", args.target.name))?;
        return Ok(if plan.blocked.is_empty() {
            exit::OK
        } else {
            exit::NOT_CONVERGED
        });
    }
    if !args.auto_approve && !confirm(plan.steps.len(), &args.target.name) {
        eprintln!("Apply cancelled: nothing was changed.");
        return Ok(exit::ERROR);
    }
    let cancel = Cancel::new();
    let opts = EngineOptions {
        seed: args.seed,
        cancel: cancel.clone(),
        ..EngineOptions::from_policy(&policy)
    };
    install_ctrl_c(cancel);
    let mut journal = match Journal::open(&state_dir) {
        Ok(j) => Some(j),
        Err(e) => {
            eprintln!(
                "warning: cannot open the journal in {}: {e}; applying without it",
                state_dir.display()
            );
            None
        }
    };
    let info = RunInfo {
        run: journal::new_run_id(),
        command: "apply".into(),
        target: args.target.name.clone(),
        revision,
        user: handover::run::origin::os_user(),
        // The commit of the desired files, or of the saved plan.
        commit: handover::run::origin::git_commit(if args.desired.is_empty() {
            args.planfile.as_slice()
        } else {
            &args.desired
        }),
    };
    // The forecast, to compare with at the end (a saved plan's figures).
    let cost = plan.forecast.as_ref().map_or(*policy.cost, |f| f.cost);
    let forecast = handover::plan::forecast::forecast(&plan, &policy, &cost);
    let started = journal::now_rfc3339();
    let running = std::time::Instant::now();
    let mut bars = Bars::new(&plan);
    let job = apply::Job {
        plan: &plan,
        start: &start,
        desired: desired.as_ref(),
        opts: &opts,
        info: &info,
    };
    let result = runtime.block_on(apply::run(&mut tgt, job, journal.as_mut(), &mut bars));
    bars.finish();
    if let Some(e) = &result.journal_error {
        eprintln!(
            "warning: the journal in {} could not be written ({e}); the apply itself is unaffected",
            state_dir.display()
        );
    }
    let saved = tgt.save();
    drop(lock);
    let code = result.outcome.exit_code();
    let mut run_report = RunReport::new(&info, started, journal::now_rfc3339(), &plan, &result);
    run_report.forecast = Some(report::compare(
        forecast,
        (first_observe + running.elapsed()).as_secs_f64(),
        &result.report,
        tgt.counters(),
    ));
    print!("{}", report::summary(&run_report, result.still_differs));
    print!("{}", report::forecast_line(&run_report));
    if let Some(path) = &args.report {
        let text = match report_fmt {
            Some(ReportFormat::Markdown) => report::markdown(&run_report),
            _ => report::json(&run_report),
        };
        if let Err(e) = std::fs::write(path, text) {
            eprintln!("error: cannot write the report {}: {e}", path.display());
            return Ok(exit::ERROR);
        }
    }
    if let Err(e) = saved {
        eprintln!("error: cannot save the target {}: {e}", args.target.name);
        return Ok(exit::ERROR);
    }
    Ok(code)
}
