//! `handover reconcile`: keep a target equal to a desired topology (a path
//! or a git repository), pass after pass, or once with `--once`.
//!
//! The edge around [`handover::run::reconcile::run`], which wires and
//! drives the run: flags, the target's lock (held for the whole run),
//! logs, the messages and the exit code. Exit codes with `--once`: 0 converged, 3
//! pending, blocked, suspended with changes or interrupted (all safe), 4 a
//! member stranded, 1 errors. Forever mode exits 0 on SIGTERM/SIGINT.

use super::exit;
use super::flags::{TargetFlags, parse_duration};
use clap::Args as ClapArgs;
use handover::model::Seconds;
use handover::reconcile::serve::listen;
use handover::reconcile::serve::status::ErrorKind;
use handover::reconcile::{LogFormat, Source, logs};
use handover::run::reconcile::{self, HaSetup, Setup};
use handover::run::target;
use handover::state::lock::TargetLock;
use std::path::PathBuf;

/// Flags of `handover reconcile`.
#[derive(ClapArgs, Debug)]
pub struct Args {
    /// Where: `--target`, `--target-arg`, `--provider-timeout`.
    #[command(flatten)]
    pub target: TargetFlags,
    /// Desired topology: a file, or a directory of `*.yaml`/`*.yml`;
    /// watched for changes (a save triggers a pass).
    #[arg(
        long,
        value_name = "PATH",
        conflicts_with = "git",
        required_unless_present = "git"
    )]
    pub desired: Option<PathBuf>,
    /// A git repository (local path or URL) holding the desired topology;
    /// fetched with `git` every interval.
    #[arg(long, value_name = "REPO")]
    pub git: Option<String>,
    /// Branch, tag or commit to follow (default: the default branch).
    #[arg(long = "ref", value_name = "REF", requires = "git")]
    pub reference: Option<String>,
    /// The file or directory inside the repository (default: its root).
    #[arg(long, value_name = "P", requires = "git")]
    pub path: Option<PathBuf>,
    /// Time between passes and fetches (`30s`, `3m`, `1h`), ±10 % jitter.
    #[arg(long, value_name = "DURATION", default_value = "3m", value_parser = parse_duration)]
    pub interval: Seconds,
    /// One pass, then exit with the code of `apply`.
    #[arg(long)]
    pub once: bool,
    /// Serve the status page (/) and /healthz, /readyz, /metrics and
    /// /status on ADDR (IP:PORT, [IPv6]:PORT or localhost:PORT;
    /// 127.0.0.1:9464 when given no value).
    #[arg(long, value_name = "ADDR", num_args = 0..=1, default_missing_value = "127.0.0.1:9464")]
    pub listen: Option<String>,
    /// Allow a --listen address that is not loopback (the endpoints have no
    /// authentication).
    #[arg(long)]
    pub listen_non_loopback: bool,
    /// While this file exists, observe and report but apply nothing.
    #[arg(long, value_name = "PATH")]
    pub suspend_file: Option<PathBuf>,
    /// Journal and git cache; default `.handover/` beside the target's
    /// file. The lock is host-wide, keyed by the target
    /// (`HANDOVER_LOCK_DIR`).
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
    /// Logs on stderr: `text`, or `json` (one object per line). Filter with
    /// HANDOVER_LOG (default `info`).
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// Seed of a new `sim:` target, of the backoff jitter and of the
    /// interval jitter.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Run as one of several replicas coordinated through etcd
    /// (`etcd://HOST:PORT[,HOST:PORT...][/PREFIX]`, prefix `/handover` by
    /// default; `etcds://` for TLS, with --ha-ca): one leader per management group applies, standbys observe
    /// and serve /status. The target's file lock is not taken. See
    /// docs/operations.md, "High availability".
    #[arg(long, value_name = "URL", conflicts_with = "once")]
    pub ha: Option<String>,
    /// With --ha: the lease TTL (`2s`, `10s`): a leader that stops
    /// answering (killed, paused, cut off from etcd) loses leadership after
    /// at most this long, and a standby takes over.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_duration, requires = "ha")]
    pub ha_ttl: Seconds,
    /// With --ha: this replica's identity in etcd and the journal
    /// (default `hostname:pid`).
    #[arg(long, value_name = "ID", requires = "ha")]
    pub ha_id: Option<String>,
    /// TLS and user settings for etcd.
    #[command(flatten)]
    pub etcd: super::flags::EtcdFlags,
}

/// Runs the command; returns the exit code.
pub fn run(args: Args) -> u8 {
    super::exit_code(run_inner(args))
}

fn run_inner(args: Args) -> Result<u8, String> {
    let spec = args.target.spec()?;
    let source = match (&args.desired, &args.git) {
        (Some(p), _) => Source::Path(p.clone()),
        (None, Some(repo)) => Source::Git {
            repo: repo.clone(),
            reference: args.reference.clone(),
            path: args.path.clone(),
        },
        (None, None) => unreachable!("clap requires --desired or --git"),
    };
    let listen_addr = args
        .listen
        .as_deref()
        .map(|a| {
            let addr = listen::parse_listen_addr(a)?;
            listen::check_listen_addr(addr, args.listen_non_loopback)?;
            Ok::<_, listen::ListenError>(addr)
        })
        .transpose()
        .map_err(|e| format!("error: {e}"))?;
    let state_dir = args
        .state_dir
        .clone()
        .unwrap_or_else(|| target::state_dir(&spec, None));
    // With --ha, etcd decides who applies; several replicas may share a
    // host (each with its own --state-dir).
    let lock = match &args.ha {
        Some(_) => None,
        None => Some(
            TargetLock::acquire_target(&spec, "reconcile").map_err(|e| format!("error: {e}"))?,
        ),
    };
    let _ = logs::init(args.log_format);
    if let Some(h) = lock.as_ref().and_then(|l| l.recovered_from.as_ref()) {
        tracing::warn!(previous = %h, "took over the lock of a process that ended without releasing it");
    }
    let runtime = super::runtime()?;
    let setup = Setup {
        open: args.target.open_options(args.seed),
        spec,
        target: args.target.name.clone(),
        source,
        listen: listen_addr,
        listen_non_loopback: args.listen_non_loopback,
        state_dir,
        lock,
        once: args.once,
        interval: args.interval,
        seed: args.seed,
        suspend_file: args.suspend_file.clone(),
        ha: args.ha.as_ref().map(|url| HaSetup {
            url: url.clone(),
            ttl: args.ha_ttl,
            id: args.ha_id.clone(),
            security: args.etcd.security(),
        }),
    };
    let ending = reconcile::run(setup, &runtime)?;
    if !args.once {
        tracing::info!("stopped");
        return Ok(exit::OK);
    }
    let Some(last) = ending.last else {
        return Ok(exit::ERROR);
    };
    if let Some((kind, msg)) = &last.error {
        if *kind == ErrorKind::Invalid {
            for e in &ending.refused {
                eprintln!("{e}");
            }
        }
        eprintln!("error: {msg}");
        if last.plan.is_none() {
            return Ok(exit::ERROR);
        }
    }
    let code = match ending.verdict {
        Some(v) => v.exit_code(),
        None => exit::ERROR,
    };
    // A refused newest revision (last good applied) or a failed save is
    // still an error for a one-shot run.
    Ok(if last.error.is_some() && code == exit::OK {
        exit::ERROR
    } else {
        code
    })
}
