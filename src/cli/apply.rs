//! `handover apply`: plan (or read a saved plan), show it, confirm, apply it
//! to the target with progress bars, and say how it ended.
//!
//! The edge around `handover::apply::run`: arguments, the target's lock,
//! opening the target (`sim:` or `exec:`, see `target.rs`) and saving a
//! `sim:` one, the confirmation prompt, Ctrl-C,
//! progress bars (stderr), the summary (stdout) and `--report FILE`.
//! Exit codes: 0 converged; 3 members pending, failed, blocked or the run
//! interrupted (all safe); 4 a member stranded; 1 errors.

use super::exit;
use super::progress::Bars;
use super::target::{self, OpenOptions, Target};
use clap::Args as ClapArgs;
use handover::apply::{self, RunInfo, report::RunReport};
use handover::execute::{Cancel, ExecOptions};
use handover::model::{Observed, Topology};
use handover::plan::Plan;
use handover::provider::{Provider, Scope};
use handover::state::journal::{self, Journal};
use handover::state::lock::TargetLock;
use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};

/// Flags of `handover apply`.
#[derive(ClapArgs, Debug)]
pub struct Args {
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
    /// Where to apply: `sim:FILE` (the embedded simulator; FILE starts as an
    /// observed.yaml and moves on with each command) or `exec:PROGRAM
    /// [ARGS...]` (a provider program, run directly once per request; see
    /// docs/provider-protocol.md).
    #[arg(long, value_name = "TARGET")]
    pub target: String,
    /// One more argument for an `exec:` program, passed verbatim (never
    /// through a shell; spaces and quotes kept). Repeatable, in order.
    #[arg(long = "target-arg", value_name = "ARG", allow_hyphen_values = true)]
    pub target_arg: Vec<String>,
    /// The longest any one call to an `exec:` program may take (`30s`,
    /// `15m`); the program is killed when it expires. Default: 30s for
    /// capabilities, 10m for observe, 2m for apply.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub provider_timeout: Option<handover::model::Seconds>,
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

/// Parses `30s`, `15m`, `2h` for duration flags.
pub(crate) fn parse_duration(s: &str) -> Result<handover::model::Seconds, String> {
    handover::model::Seconds::parse(s)
        .map_err(|_| format!("{s:?} is not a duration: a whole number followed by s, m or h"))
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

/// FNV-1a over the desired files' names and bytes: the revision applied.
fn revision_of(paths: &[PathBuf]) -> String {
    let mut files = Vec::new();
    for p in paths {
        if p.is_dir() {
            files.extend(handover::load::yaml_files(p).unwrap_or_default());
        } else {
            files.push(p.clone());
        }
    }
    files.sort();
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |bytes: &[u8]| {
        for b in bytes {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    };
    for f in &files {
        eat(f.to_string_lossy().as_bytes());
        eat(&[0]);
        eat(&std::fs::read(f).unwrap_or_default());
        eat(&[0]);
    }
    format!("files:fnv1a64:{h:016x}")
}

/// Reads a plan file written by `plan --out`.
fn read_plan(path: &Path) -> Result<Plan, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("error: cannot read the plan {}: {e}", path.display()))?;
    let plan: Plan = serde_json::from_str(&text).map_err(|e| {
        format!(
            "error: {}:{}:{}: not a plan written by `handover plan --out`: {e}",
            path.display(),
            e.line(),
            e.column()
        )
    })?;
    if plan.format_version != handover::plan::FORMAT_VERSION {
        return Err(format!(
            "error: {}: plan format_version {} (this handover applies version {}); plan again with this release",
            path.display(),
            plan.format_version,
            handover::plan::FORMAT_VERSION
        ));
    }
    Ok(plan)
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
    let spec = target::spec(&args.target, &args.target_arg)?;
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
            let plan = read_plan(p)?;
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
    let open = OpenOptions {
        seed: args.seed,
        provider_timeout: args.provider_timeout,
    };
    let (mut tgt, notes): (Target, _) = Target::open(&spec, &open)?;
    for n in notes {
        eprintln!("{n}");
    }
    let runtime = super::runtime()?;
    let start: Observed = runtime
        .block_on(tgt.observe(&Scope::All))
        .map_err(|e| format!("error: cannot observe {}: {e}", args.target))?;
    let (plan, revision) = match (&saved_plan, &desired) {
        (Some(plan), _) => {
            apply::stale::check(plan, &start).map_err(|s| format!("error: {s}"))?;
            let rev = format!(
                "plan:{}",
                plan.observed_digest.as_deref().unwrap_or("no digest")
            );
            (plan.clone(), rev)
        }
        (None, Some(d)) => {
            let plan = handover::plan::try_plan(d, &start)
                .map_err(|e| handover::diag::Diagnostics(e.to_diagnostics(d)).to_string())?;
            (plan, revision_of(&args.desired))
        }
        (None, None) => unreachable!("clap requires PLANFILE or --desired"),
    };
    let mut policy = match (&desired, saved_plan.as_ref().and_then(|p| p.policy)) {
        (Some(d), _) => d.policy.clone(),
        // A saved plan keeps the window and timeouts it was made under.
        (None, Some(pp)) => handover::model::Policy {
            max_in_flight: pp.max_in_flight,
            ack_timeout: pp.ack_timeout,
            store_timeout: pp.store_timeout,
            ..Default::default()
        },
        (None, None) => Default::default(),
    };
    if let Some(n) = args.max_in_flight {
        policy.max_in_flight = n;
    }
    if let Some(t) = args.ack_timeout {
        policy.ack_timeout = t;
    }
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
            .map_err(|e| format!("error: cannot save the target {}: {e}", args.target))?;
        return Ok(if plan.blocked.is_empty() {
            exit::OK
        } else {
            exit::NOT_CONVERGED
        });
    }
    if !args.auto_approve && !confirm(plan.steps.len(), &args.target) {
        eprintln!("Apply cancelled: nothing was changed.");
        return Ok(exit::ERROR);
    }
    let cancel = Cancel::new();
    let opts = ExecOptions {
        seed: args.seed,
        cancel: cancel.clone(),
        ..ExecOptions::from_policy(&policy)
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
        target: args.target.clone(),
        revision,
    };
    let started = apply::now_rfc3339();
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
    let r = &result.report;
    let code = result.outcome.exit_code();
    let run_report = RunReport {
        run: info.run.clone(),
        command: info.command.clone(),
        target: info.target.clone(),
        revision: info.revision.clone(),
        started,
        finished: apply::now_rfc3339(),
        outcome: result.outcome.as_str().to_string(),
        exit_code: code,
        blocked: plan
            .blocked
            .iter()
            .map(|b| format!("{} {}: {}", kind_word(b.kind), b.name, b.reason))
            .collect(),
        stranded: result.stranded.iter().map(|n| n.to_string()).collect(),
        execution: r.clone(),
    };
    print!("{}", summary(&run_report, result.still_differs));
    if let Some(path) = &args.report {
        let text = match report_fmt {
            Some(ReportFormat::Markdown) => apply::report::markdown(&run_report),
            _ => apply::report::json(&run_report),
        };
        if let Err(e) = std::fs::write(path, text) {
            eprintln!("error: cannot write the report {}: {e}", path.display());
            return Ok(exit::ERROR);
        }
    }
    if let Err(e) = saved {
        eprintln!("error: cannot save the target {}: {e}", args.target);
        return Ok(exit::ERROR);
    }
    Ok(code)
}

fn kind_word(k: handover::plan::BlockedKind) -> &'static str {
    match k {
        handover::plan::BlockedKind::Gateway => "gateway",
        handover::plan::BlockedKind::Agent => "agent",
        handover::plan::BlockedKind::Store => "Central Management Store in pool",
    }
}

/// The closing lines on stdout.
fn summary(r: &RunReport, still_differs: usize) -> String {
    use std::fmt::Write as _;
    let e = &r.execution;
    let mut out = String::new();
    let verdict = match r.outcome.as_str() {
        "converged" => "Converged: the target equals the desired topology.",
        "interrupted" => {
            "Interrupted: stopped before the end; every member is safe. Run the same apply again to carry on."
        }
        "stranded" => "SAFETY VIOLATION: members are stranded (see below).",
        _ => "Finished without converging; every member is safe.",
    };
    let _ = writeln!(out, "\n{verdict}");
    let _ = writeln!(
        out,
        "Applied {} operations: {} bridged, {} acknowledged, {} pruned; {} skipped (already held); {:.0} s on the target's clock.",
        e.steps_applied, e.bridged, e.acknowledged, e.pruned, e.skipped, e.clock_seconds
    );
    if e.session_restarts > 0 {
        let _ = writeln!(
            out,
            "The provider's session was killed and restarted {} time(s) after a hang, garbage or an exit; handover observed again before going on.",
            e.session_restarts
        );
    }
    let list = |out: &mut String, what: &str, names: &[String]| {
        if names.is_empty() {
            return;
        }
        let shown: Vec<&str> = names.iter().take(10).map(|s| s.as_str()).collect();
        let more = if names.len() > 10 {
            format!(" and {} more", names.len() - 10)
        } else {
            String::new()
        };
        let _ = writeln!(out, "{what} ({}): {}{more}", names.len(), shown.join(", "));
    };
    let names = |v: &[handover::name::Name]| v.iter().map(|n| n.to_string()).collect::<Vec<_>>();
    list(
        &mut out,
        "Pending, in their bridge (run apply again later)",
        &names(&e.pending),
    );
    list(
        &mut out,
        "Waiting (did not start: a change they wait for did not finish)",
        &names(&e.waiting),
    );
    list(
        &mut out,
        "Failed (the provider refused; see the report)",
        &names(&e.failed),
    );
    list(&mut out, "Blocked", &r.blocked);
    list(&mut out, "Stranded", &r.stranded);
    if still_differs > 0
        && e.pending.is_empty()
        && e.waiting.is_empty()
        && e.failed.is_empty()
        && r.blocked.is_empty()
    {
        let _ = writeln!(
            out,
            "{still_differs} member(s) still differ from the desired topology; run apply again."
        );
    }
    out
}
