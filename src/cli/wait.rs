//! `handover wait` and `handover status`: a client of a running
//! `reconcile --listen`, in the manner of `argocd app wait` and
//! `kubectl rollout status`.
//!
//! Owns the command lines and what is printed: progress on stderr (one
//! line whenever it changes), the result on stdout (a line, or with
//! `--format json` one JSON object and nothing else), errors on stderr.
//! Reading `/status`, the polling loop and the exit codes are
//! [`handover::run::wait`]; the judgement is
//! [`handover::reconcile::wait::judge`], pure; the summary is
//! [`handover::report::status`]. Must not change anything: the listener
//! has no endpoint that acts.

use super::exit;
use super::flags::parse_duration;
use handover::model::Seconds;
use handover::reconcile::wait::Condition;
use handover::run::wait::{self as use_case, FetchError, WaitFor};

/// Output format.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// For people.
    Text,
    /// One JSON object on stdout, for scripts.
    Json,
}

/// What `wait` waits for.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum For {
    /// Synced at the revision in use: nothing in a bridge, pending or
    /// blocked.
    Synced,
    /// Nothing needs a person: not Degraded, nothing stranded, no refused
    /// revision (it may still be Progressing).
    Healthy,
}

impl From<For> for Condition {
    fn from(f: For) -> Condition {
        match f {
            For::Synced => Condition::Synced,
            For::Healthy => Condition::Healthy,
        }
    }
}

/// `handover wait`.
#[derive(clap::Args, Debug)]
pub struct WaitArgs {
    /// The reconcile listener (its --listen address), e.g.
    /// http://127.0.0.1:9464; a path prefix is kept (behind a proxy).
    #[arg(long, value_name = "URL")]
    pub listen_url: String,
    /// What to wait for.
    #[arg(
        long = "for",
        value_enum,
        default_value = "synced",
        value_name = "CONDITION"
    )]
    pub condition: For,
    /// Also wait until this revision is in use: a commit id (or a prefix
    /// of at least 7 characters) or the `digest:…` of a path.
    #[arg(long, value_name = "ID")]
    pub revision: Option<String>,
    /// Give up after this long (e.g. 30m, 2h; 0s: judge once). Default:
    /// wait as long as it takes.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub timeout: Option<Seconds>,
    /// Output format of the result (progress goes to stderr either way).
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
}

/// `handover status`.
#[derive(clap::Args, Debug)]
pub struct StatusArgs {
    /// The reconcile listener (its --listen address), e.g.
    /// http://127.0.0.1:9464.
    #[arg(value_name = "URL")]
    pub url: String,
    /// Output format: a summary, or `/status` as JSON.
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
}

/// Runs `handover wait`; returns the exit code.
pub fn run_wait(args: WaitArgs) -> u8 {
    super::exit_code(wait_inner(args))
}

fn wait_inner(args: WaitArgs) -> Result<u8, String> {
    let ep =
        use_case::endpoint(&args.listen_url).map_err(|e| format!("error: --listen-url {e}"))?;
    let runtime = super::runtime()?;
    let condition = Condition::from(args.condition);
    let w = WaitFor {
        condition,
        revision: args.revision.clone(),
        timeout: args.timeout.map(Seconds::as_duration),
    };
    let ending = runtime.block_on(use_case::wait(&ep, &w, &mut |line| eprintln!("{line}")));
    match args.format {
        Format::Json => {
            let doc = serde_json::json!({
                "condition": condition.as_str(),
                "revision": args.revision,
                "result": ending.result,
                "reason": ending.reason,
                "exit_code": ending.code,
                "status": ending.status,
            });
            let text = serde_json::to_string_pretty(&doc).unwrap_or_default() + "\n";
            if ending.code != exit::OK {
                eprintln!("error: {}", ending.reason);
            }
            if !super::write_stdout(&text) {
                return Ok(exit::ERROR);
            }
        }
        Format::Text => {
            if ending.code == exit::OK {
                if !super::write_stdout(&format!("{}: {}\n", condition.as_str(), ending.reason)) {
                    return Ok(exit::ERROR);
                }
            } else {
                eprintln!("error: {}", ending.reason);
            }
        }
    }
    Ok(ending.code)
}

/// Runs `handover status`; returns the exit code: that of `wait --for
/// healthy` judged once (0 healthy or still starting, 1 Degraded, 4
/// stranded, 5 unreachable).
pub fn run_status(args: StatusArgs) -> u8 {
    super::exit_code(status_inner(args))
}

fn status_inner(args: StatusArgs) -> Result<u8, String> {
    let ep = use_case::endpoint(&args.url).map_err(|e| format!("error: {e}"))?;
    let runtime = super::runtime()?;
    let (json, doc) = match runtime.block_on(use_case::read(&ep)) {
        Ok(both) => both,
        Err(e @ FetchError::Unreachable { .. }) => {
            eprintln!("error: {e}");
            return Ok(exit::UNREACHABLE);
        }
        Err(e) => return Err(format!("error: {e}")),
    };
    let text = match args.format {
        Format::Json => serde_json::to_string_pretty(&json).unwrap_or_default() + "\n",
        Format::Text => handover::report::status::summary(&doc),
    };
    if !super::write_stdout(&text) {
        return Ok(exit::ERROR);
    }
    let (code, reason) = use_case::health(&doc);
    if let Some(reason) = reason {
        eprintln!("error: {reason}");
    }
    Ok(code)
}
