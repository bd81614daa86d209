//! `handover apply`: plan (or read a saved plan), show it, confirm, apply it
//! to the target with progress bars, and say how it ended.
//!
//! The edge around the use case [`handover::run::apply::interactive`]:
//! arguments, the terminal behind its [`Ui`] (the plan on stdout, the
//! confirmation prompt, Ctrl-C, progress bars on stderr), the summary
//! (stdout) and `--report FILE`. Must not lock, open, plan or apply: the
//! use case does.
//! Under `policy.rollout` it also shows each step's transitions on stderr,
//! a soak countdown while a step soaks, and at the end where the rollout
//! stopped and what to do next (docs/rollouts.md, "In one apply").
//! Exit codes: 0 converged; 3 members pending, failed, blocked, the run
//! interrupted, or a rollout that holds (paused, analysis failed, rolled
//! back; all safe); 4 a member stranded; 1 errors.

mod rollout;

use super::exit;
use super::flags::{TargetFlags, parse_duration};
use super::progress::Bars;
use clap::Args as ClapArgs;
use handover::execute::{Cancel, Progress, ProgressEvent};
use handover::model::{Observed, Policy};
use handover::plan::Plan;
use handover::plan::rollout::{Event, Phase, Status};
use handover::report::run::{self as report, RunReport};
use handover::report::{apply_json, failures};
use handover::run::apply::interactive::{self, Ended, Request, Ui};
use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

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
    /// `text` (the plan and the summary on stdout) or `json` (one JSON
    /// document on stdout at the end, for scripts; the plan, the question,
    /// progress and the summary go to stderr).
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Apply even outside the change windows of `policy.windows`
    /// (docs/gates.md).
    #[arg(long)]
    pub ignore_windows: bool,
}

/// Output format of `apply`.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// For people.
    Text,
    /// One JSON document on stdout (docs/spec.md section 5).
    Json,
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

/// The terminal behind the use case: the plan on stdout, the question and
/// notes on stderr, progress bars on stderr, Ctrl-C.
struct Terminal {
    /// Colour in the plan.
    color: bool,
    /// The plan goes to stderr (`--format json`: stdout holds only JSON).
    plan_to_stderr: bool,
    /// The bars of the run, once it started.
    bars: Option<Bars>,
    /// A rollout's soak countdown, while a step soaks.
    soak: Option<indicatif::ProgressBar>,
}

impl Progress for Terminal {
    fn event(&mut self, e: &ProgressEvent) {
        if let Some(b) = &mut self.bars {
            b.event(e);
        }
    }
}

impl Ui for Terminal {
    fn note(&mut self, line: &str) {
        eprintln!("{line}");
    }

    fn show_plan(&mut self, plan: &Plan, start: &Observed, policy: &Policy) {
        let opts = handover::render::Options {
            color: self.color,
            verbose: false,
            max_in_flight: policy.max_in_flight,
        };
        let text = handover::render::text::render(plan, start, &opts);
        if self.plan_to_stderr {
            eprint!("{text}");
        } else {
            print!("{text}");
            let _ = std::io::stdout().flush();
        }
    }

    fn confirm(&mut self, plan: &Plan, target: &str) -> bool {
        eprint!("{}", report::question(plan, target));
        let _ = std::io::stderr().flush();
        let mut line = String::new();
        if std::io::stdin().lock().read_line(&mut line).is_err() {
            return false;
        }
        line.trim() == "yes"
    }

    fn watch_interrupt(&mut self, cancel: Cancel) {
        install_ctrl_c(cancel);
    }

    fn run_started(&mut self, plan: &Plan) {
        self.bars = Some(Bars::new(plan));
    }

    fn run_finished(&mut self) {
        if let Some(b) = self.bars.take() {
            b.finish();
        }
    }

    fn rollout(&mut self, status: &Status, events: &[Event], soak_left: Option<Duration>) {
        for e in events {
            let line = rollout::event_line(status.steps, e, soak_left);
            match &self.soak {
                // Above the countdown (a hidden bar prints nothing itself).
                Some(b) => b.suspend(|| eprintln!("{line}")),
                None => eprintln!("{line}"),
            }
        }
        match soak_left {
            Some(left) if status.phase == Phase::Soaking => {
                let bar = self.soak.get_or_insert_with(rollout::soak_bar);
                rollout::set_soak(bar, status, left);
            }
            _ => {
                if let Some(b) = self.soak.take() {
                    b.finish_and_clear();
                }
            }
        }
    }
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
    if args.format == Format::Json {
        let name = args.target.name.clone();
        return match run_inner(args) {
            Ok(code) => code,
            Err(msg) => {
                eprintln!("{msg}");
                let doc = apply_json::error(&name, &msg, exit::ERROR);
                if !super::write_stdout(&apply_json::to_json(&doc)) {
                    return exit::ERROR;
                }
                exit::ERROR
            }
        };
    }
    super::exit_code(run_inner(args))
}

fn run_inner(args: Args) -> Result<u8, String> {
    let json = args.format == Format::Json;
    let spec = args.target.spec()?;
    let report_fmt = args.report.as_deref().map(report_format).transpose()?;
    // The question is asked on stderr and answered on stdin; with
    // `--format json` stdout is for the document (often a pipe).
    let interactive = std::io::stdin().is_terminal()
        && if json {
            std::io::stderr().is_terminal()
        } else {
            std::io::stdout().is_terminal()
        };
    if !args.auto_approve && !interactive {
        return Err(if json {
            "error: apply --format json needs --auto-approve when it cannot ask on a terminal (stdin and stderr): nothing was applied"
        } else {
            "error: apply needs a confirmation: run it in a terminal to answer the question, or pass --auto-approve"
        }
        .into());
    }
    let req = Request {
        spec,
        target_name: args.target.name.clone(),
        open: args.target.open_options(args.seed),
        desired: args.desired.clone(),
        planfile: args.planfile.clone(),
        force: args.force,
        max_in_flight: args.max_in_flight,
        ack_timeout: args.ack_timeout,
        seed: args.seed,
        state_dir: args.state_dir.clone(),
        auto_approve: args.auto_approve,
        ignore_windows: args.ignore_windows,
    };
    let mut term = Terminal {
        color: !json
            && std::io::stdout().is_terminal()
            && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
        plan_to_stderr: json,
        bars: None,
        soak: None,
    };
    // A notification that fails is logged on stderr, as `reconcile` logs
    // it; nothing else of the apply goes through the log.
    let _ = tracing::subscriber::set_global_default(handover::reconcile::logs::subscriber(
        handover::reconcile::logs::LogFormat::Text,
        tracing_subscriber::EnvFilter::new("handover::notifier::lane=warn"),
        std::io::stderr,
    ));
    let out = interactive::apply(&req, &mut term)?;
    let mut code = out.code;
    let mut errors = out.errors.clone();
    let mut run_report = None;
    if let Ended::Ran(ran) = &out.ended {
        let mut r = RunReport::new(
            &ran.info,
            ran.started.clone(),
            ran.finished.clone(),
            &out.plan,
            &ran.result,
        );
        r.forecast = Some(ran.forecast.clone());
        let report_name = args.report.as_ref().map(|p| p.display().to_string());
        eprint!(
            "{}",
            failures::lines(&failures::failures(&r.execution), report_name.as_deref())
        );
        // Members a holding rollout keeps back differ on purpose: the
        // rollout's closing lines say so, and what to do.
        let held = ran
            .rollout
            .as_ref()
            .is_some_and(|r| r.stop == handover::run::rollout::blocking::Stop::Held);
        let differ = if held { 0 } else { ran.result.still_differs };
        let mut summary =
            report::summary(&r, differ, report_name.as_deref()) + &report::forecast_line(&r);
        if let Some(rollout) = &ran.rollout {
            summary.push_str(&rollout::ended(
                rollout,
                &args.target.name,
                args.state_dir.as_deref(),
            ));
        }
        if json {
            eprint!("{summary}");
        } else {
            print!("{summary}");
        }
        if let Some(path) = &args.report {
            let text = match report_fmt {
                Some(ReportFormat::Markdown) => report::markdown(&r),
                _ => report::json(&r),
            };
            if let Err(e) = std::fs::write(path, text) {
                errors.push(format!(
                    "error: cannot write the report {}: {e}",
                    path.display()
                ));
                code = exit::ERROR;
            }
        }
        run_report = Some((
            r,
            ran.result.still_differs,
            ran.info.commit.clone(),
            ran.rollout
                .as_ref()
                .and_then(|r| serde_json::to_value(r.report()).ok()),
        ));
    }
    for e in &errors {
        eprintln!("{e}");
    }
    if json {
        let end = match (&out.ended, &run_report) {
            (Ended::Ran(_), Some((r, differ, _, _))) => apply_json::End::Ran(r, *differ),
            (Ended::Declined, _) => apply_json::End::Declined,
            (Ended::Gated, _) => apply_json::End::Gated,
            _ => apply_json::End::NothingToApply,
        };
        let doc = apply_json::document(apply_json::Input {
            target: &args.target.name,
            plan: &out.plan,
            revision: &out.revision,
            end,
            code,
            seconds: out.seconds,
            errors,
            commit: run_report.as_ref().map(|(_, _, c, _)| c.clone()),
            rollout: run_report.as_ref().and_then(|(_, _, _, r)| r.clone()),
        });
        if !super::write_stdout(&apply_json::to_json(&doc)) {
            return Ok(exit::ERROR);
        }
    }
    Ok(code)
}
