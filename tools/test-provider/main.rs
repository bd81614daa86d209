//! `handover-test-provider`: a deterministic provider program for tests.
//! It wraps the simulator (`handover::sim`) behind the exec protocol
//! (docs/provider-protocol.md), so CI drives `apply` and `reconcile` end to
//! end through a real separate process, including that process's failures.
//! Not shipped.
//!
//! State lives in a JSON file (`--state FILE` or
//! `HANDOVER_TEST_PROVIDER_STATE`), read and rewritten on every call, so
//! successive invocations see the same simulated estate move on:
//! `{"observed": <Observed>, "sim": <the simulator's saved state>,
//!   "applied": [<Operation>...], "calls": ["observe", "apply a01", ...],
//!   "dropped": [member...], "stranded": [member...]}`.
//! A test writes only `observed` (the estate to start from); the first
//! call builds the simulation from it (seed `--seed`) and from then on
//! `sim` is the truth and `observed` is rewritten after every call with the
//! whole estate as the simulator shows it, for tests to read.
//!
//! Virtual time: the exec target waits on the wall clock, which the
//! simulator cannot see, so virtual time advances by a fixed `--step`
//! (default 300 s) before every `observe` answer, and at no other time.
//! The default is longer than the simulator's slowest default propagation
//! (120 s) plus its retry interval (60 s), so a member that can connect to
//! its new primary is seen connected on the first observation after the
//! change; a smaller step makes acknowledgments take several polls. Runs
//! are therefore deterministic: the same calls give the same answers.
//!
//! Hazards recorded for tests to assert on: `dropped` lists every member a
//! `set_parents` wrote without the server it was connected to (the
//! stranding hazard make-before-break avoids); `stranded` is the
//! simulator's own verdict after each call.
//!
//! Several processes may call at once (the replicas of `reconcile --ha`
//! all observe; only the leader applies; `parallel` sessions): every call
//! holds an exclusive `flock` on `FILE.lock` from reading the state to
//! writing it back, and the state is written to a temporary file and
//! renamed, so a reader never sees a torn file and no update is lost.
//!
//! A session (protocol 2: many requests in one process) keeps the state
//! and the simulation in memory between its requests, with the identity of
//! the file it last wrote (device, inode, length, modification and change
//! times: every write renames a new file into place). Under the lock it
//! reads and parses the file again only when another process has written
//! it since; otherwise the request costs only the write-through of the
//! state (compact JSON), so tests and other processes always read the
//! latest state. A one-shot (protocol 1) process reads the file as
//! before. Each operation compares a snapshot of its own member (and the
//! servers) before and after, not of the whole estate, so a batch costs in
//! proportion to its operations, not to them times the estate. Each applied operation is also
//! recorded in `applied_by` with the pid of the process that ran the
//! provider (the handover replica, read when the call starts) and the
//! wall-clock time, so a test can
//! prove which replica applied what, and in which order.
//! `--apply-delay-ms` (`HANDOVER_TEST_PROVIDER_APPLY_DELAY_MS`) sleeps
//! before each apply, outside the lock, so a wave takes wall time.
//! `--heartbeat FILE` writes `PID MS` (this process, wall-clock
//! milliseconds since the Unix epoch) to FILE every 10 ms of that sleep,
//! by rename: the last one written bounds when a killed call died.
//!
//! Misbehaviour (`--misbehave MODE`, `HANDOVER_TEST_PROVIDER_MISBEHAVE`),
//! only for requests matching `--on` (a request name, or the member or pool
//! an apply concerns; default every request): `hang`, `exit3`,
//! `exit3-retryable`, `error`, `garbage`, `truncated`, `huge` (50 MB on
//! stdout), `stderr-noise` (1 MiB on stderr, then a correct answer),
//! `silent`, `wrong-protocol`. The call is recorded in `calls` before it
//! misbehaves; nothing else changes (except `truncated` and
//! `stderr-noise`, which do answer).
//!
//! Lost answers (`--apply-then-hang SUBJECT`,
//! `HANDOVER_TEST_PROVIDER_APPLY_THEN_HANG`): an apply whose member or pool
//! is SUBJECT (`any`: every apply) is performed and saved like any other,
//! and then the program hangs instead of answering, so the caller's
//! timeout kills it and it sees a transient failure for a change that was
//! made (the simulator's `providerLostAnswerRate`, across a process
//! boundary). Only the first `--apply-then-hang-count` (default 1) applies
//! of each subject hang; later ones answer. Each lost answer is recorded in
//! `answers_lost` (the subject), and the hung process writes its pid to
//! `FILE.pid` like `hang`.
//!
//! Evidence (`--evidence-age-secs N`): every observed agent carries the
//! parents it has learned in the simulator, read N wall-clock seconds
//! before `observedAt` (now), as the SCOM provider reports them, so
//! handover judges `connected` itself (`tests/resume_evidence.rs`).
//!
//! Health: the state file's `health` (`{"gw9": {"state": "critical",
//! "sendQueueSize": 12000}}`, by server name) is what the provider reports
//! for those servers in every observation, over whatever the simulator
//! reports (it reports health only under an `overload` fault). A test
//! writes it, or rewrites it between calls, to make a rollout's analysis
//! judge a new parent's health (`tests/rollout_health.rs`).

use handover::model::Observed;
use handover::name::Name;
use handover::provider::protocol::{
    Capabilities, OpResult, PROTOCOL_VERSION, Request, RequestBody, Response, SESSION_PROTOCOL,
};
use handover::provider::{Operation, ProviderError, Scope};
use handover::sim::{Sim, SimConfig};
use serde::{Deserialize, Serialize};
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

#[derive(clap::Parser)]
struct Args {
    /// The state file.
    #[arg(long, env = "HANDOVER_TEST_PROVIDER_STATE")]
    state: PathBuf,
    /// How to misbehave.
    #[arg(long, env = "HANDOVER_TEST_PROVIDER_MISBEHAVE")]
    misbehave: Option<String>,
    /// Which requests misbehave: a request name or a member/pool name.
    #[arg(long, env = "HANDOVER_TEST_PROVIDER_ON")]
    on: Option<String>,
    /// Virtual seconds the simulated estate moves on before each observe
    /// answer.
    #[arg(long, default_value_t = 300)]
    step: u64,
    /// Seed of the simulation built on the first call.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Comma-separated operations to advertise (default: all three).
    #[arg(long)]
    operations: Option<String>,
    /// Wall-clock milliseconds to sleep before each apply (outside the lock).
    #[arg(
        long,
        env = "HANDOVER_TEST_PROVIDER_APPLY_DELAY_MS",
        default_value_t = 0
    )]
    apply_delay_ms: u64,
    /// Applies to perform and then hang on instead of answering: a member
    /// or pool name, or `any`.
    #[arg(long, env = "HANDOVER_TEST_PROVIDER_APPLY_THEN_HANG")]
    apply_then_hang: Option<String>,
    /// How many applies of each subject hang after applying.
    #[arg(long, default_value_t = 1)]
    apply_then_hang_count: usize,
    /// While sleeping --apply-delay-ms, write `PID MS` here every 10 ms.
    #[arg(long)]
    heartbeat: Option<PathBuf>,
    /// Misbehave only on the first N matching requests.
    #[arg(long, env = "HANDOVER_TEST_PROVIDER_MISBEHAVE_COUNT")]
    misbehave_count: Option<usize>,
    /// Announce version 2 sessions in `capabilities`.
    #[arg(long, env = "HANDOVER_TEST_PROVIDER_SESSION")]
    session: bool,
    /// Operations per version 2 `apply` to announce.
    #[arg(long, default_value_t = 100)]
    max_batch: u32,
    /// Sessions at once to announce.
    #[arg(long, default_value_t = 1)]
    parallel: u32,
    /// Wall-clock milliseconds each process start costs (slept before
    /// reading the first request), for measurements.
    #[arg(
        long,
        env = "HANDOVER_TEST_PROVIDER_START_DELAY_MS",
        default_value_t = 0
    )]
    start_delay_ms: u64,
    /// Report evidence for every agent, as the SCOM provider does: the
    /// parents it has learned (the simulator's), read this many wall-clock
    /// seconds before `observedAt` (now). handover then judges `connected`
    /// from it, against the time of its own last write.
    #[arg(long, env = "HANDOVER_TEST_PROVIDER_EVIDENCE_AGE_SECS")]
    evidence_age_secs: Option<u64>,
}

/// Who applied one operation of `applied` (same index).
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Applier {
    /// The pid of the process that ran this provider call.
    ppid: u32,
    /// Wall-clock milliseconds since the Unix epoch.
    at_ms: u64,
}

#[derive(Default, Serialize, Deserialize)]
struct State {
    observed: Observed,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sim: Option<String>,
    #[serde(default)]
    applied: Vec<Operation>,
    #[serde(default)]
    calls: Vec<String>,
    #[serde(default)]
    dropped: Vec<Name>,
    #[serde(default)]
    stranded: Vec<Name>,
    #[serde(default)]
    applied_by: Vec<Applier>,
    /// The subject of every apply that was performed and then hung.
    #[serde(default)]
    answers_lost: Vec<String>,
    /// Requests that misbehaved so far (for `--misbehave-count`).
    #[serde(default)]
    misbehaved: usize,
    /// The pid of every process start.
    #[serde(default)]
    starts: Vec<u32>,
    /// Operations in each version 2 `apply`, in order.
    #[serde(default)]
    batches: Vec<usize>,
    /// The health reported for these servers in every observation, set by
    /// tests.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    health: std::collections::BTreeMap<Name, handover::model::Health>,
}

/// The pid of the process that started this call, read at start: a
/// replica killed while this call runs leaves it to init, but the call is
/// still that replica's.
static CALLER: std::sync::OnceLock<u32> = std::sync::OnceLock::new();

fn main() {
    CALLER.get_or_init(std::os::unix::process::parent_id);
    let args: Args = clap::Parser::parse();
    if args.start_delay_ms > 0 {
        std::thread::sleep(std::time::Duration::from_millis(args.start_delay_ms));
    }
    let mut first = true;
    let mut cache = None;
    for line in std::io::stdin().lock().lines() {
        let line = match line {
            Ok(l) => l,
            Err(e) => fail(&format!("reading the request: {e}"), 1),
        };
        if line.trim().is_empty() {
            continue;
        }
        serve(&args, &line, std::mem::take(&mut first), &mut cache);
    }
}

/// The identity of the state file as this process last wrote it: a file
/// with another identity was written by someone else since.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Stamp {
    dev: u64,
    ino: u64,
    len: u64,
    mtime_ns: i64,
    ctime_ns: i64,
}

fn stamp(path: &Path) -> Option<Stamp> {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata(path).ok()?;
    Some(Stamp {
        dev: m.dev(),
        ino: m.ino(),
        len: m.len(),
        mtime_ns: m.mtime() * 1_000_000_000 + m.mtime_nsec(),
        ctime_ns: m.ctime() * 1_000_000_000 + m.ctime_nsec(),
    })
}

/// What a session keeps between its requests.
struct Cache {
    state: State,
    sim: Sim,
    /// The file as it was when `state` and `sim` were written to it.
    stamp: Stamp,
}

/// The state and simulation: the session's own copy while the file is the
/// one it wrote last, otherwise read from the file.
fn current(args: &Args, cache: &mut Option<Cache>) -> (State, Sim) {
    let now = stamp(&args.state);
    if let Some(c) = cache.take()
        && Some(c.stamp) == now
    {
        return (c.state, c.sim);
    }
    let state = match load(&args.state) {
        Ok(s) => s,
        Err(e) => fail(&e, 1),
    };
    let sim = match &state.sim {
        Some(text) => match Sim::load_json(text) {
            Ok(s) => s,
            Err(e) => fail(
                &format!("the simulator state in {}: {e}", args.state.display()),
                1,
            ),
        },
        None => Sim::from_observed(&state.observed, SimConfig::seeded(args.seed)),
    };
    (state, sim)
}

/// Answers one request line (recording the process start with the first).
fn serve(args: &Args, line: &str, first: bool, cache: &mut Option<Cache>) {
    let req: Request = match serde_json::from_str(line) {
        Ok(r) => r,
        Err(e) => fail(&format!("the request is not a protocol request: {e}"), 1),
    };
    let ops = req.body.operations().len() as u64;
    if args.apply_delay_ms > 0 && ops > 0 {
        delay(args.apply_delay_ms * ops, args.heartbeat.as_deref());
    }
    // Held until the answer is written: one call at a time on the state file.
    let _lock = match lock(&args.state) {
        Ok(l) => l,
        Err(e) => fail(&e, 1),
    };
    let (mut state, mut sim) = current(args, cache);
    if first {
        state.starts.push(std::process::id());
    }
    state.calls.push(describe(&req.body));
    if req.protocol == SESSION_PROTOCOL && ops > 0 {
        state.batches.push(ops as usize);
    }
    let misbehaving = args
        .misbehave
        .as_deref()
        .filter(|_| matches(&req.body, &args.on))
        .filter(|_| args.misbehave_count.is_none_or(|n| state.misbehaved < n));
    let mut op_errors = None;
    if let Some(mode) = misbehaving {
        state.misbehaved += 1;
        if let Some(retryable) = match mode {
            "op-error" => Some(false),
            "op-error-retryable" => Some(true),
            _ => None,
        } {
            op_errors = Some(retryable);
        } else if mode == "stderr-noise" {
            // 1 MiB on stderr, then a correct answer (and the session goes on).
            let mut err = std::io::stderr().lock();
            let line =
                b"WARNING: noise noise noise {\"not\": \"the response\"} noise noise noise\n";
            for _ in 0..(1 << 20) / line.len() {
                let _ = err.write_all(line);
            }
        } else {
            save(&args.state, &mut state, &sim);
            misbehave(mode, args, &req, state, sim);
        }
    }
    let lose = loses_answer(&req.body, args, &state);
    let resp = answer(args, req, &mut state, &mut sim, op_errors);
    if let Some(subject) = lose.filter(|_| resp.ok) {
        state.answers_lost.push(subject);
        save(&args.state, &mut state, &sim);
        hang(args);
    }
    let stamp = save(&args.state, &mut state, &sim);
    // Released before answering: the next call of any process may go on.
    drop(_lock);
    emit(&resp);
    if let Some(stamp) = stamp {
        *cache = Some(Cache { state, sim, stamp });
    }
}

/// The subject of an apply whose answer `--apply-then-hang` loses (while
/// that subject has lost fewer than `--apply-then-hang-count`).
fn loses_answer(body: &RequestBody, args: &Args, state: &State) -> Option<String> {
    let on = args.apply_then_hang.as_deref()?;
    body.operations().into_iter().find_map(|operation| {
        let subject = subject(operation);
        let lost = state
            .answers_lost
            .iter()
            .filter(|s| s.eq_ignore_ascii_case(subject))
            .count();
        ((on == "any" || on.eq_ignore_ascii_case(subject)) && lost < args.apply_then_hang_count)
            .then(|| subject.to_string())
    })
}

/// Never answers: writes the pid to `FILE.pid` (for tests to check the
/// caller killed it) and sleeps until killed.
fn hang(args: &Args) -> ! {
    let pid = args.state.with_extension("pid");
    let _ = std::fs::write(pid, std::process::id().to_string());
    loop {
        std::thread::sleep(std::time::Duration::from_secs(3600));
    }
}

/// Wall-clock milliseconds since the Unix epoch.
fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Sleeps `ms`; with `heartbeat`, writes `PID MS` there every 10 ms.
fn delay(ms: u64, heartbeat: Option<&Path>) {
    let Some(file) = heartbeat else {
        std::thread::sleep(std::time::Duration::from_millis(ms));
        return;
    };
    let end = std::time::Instant::now() + std::time::Duration::from_millis(ms);
    let tmp = file.with_extension(format!("tmp{}", std::process::id()));
    while std::time::Instant::now() < end {
        let beat = format!("{} {}\n", std::process::id(), now_ms());
        if std::fs::write(&tmp, beat)
            .and_then(|_| std::fs::rename(&tmp, file))
            .is_err()
        {
            fail(&format!("cannot write the heartbeat {}", file.display()), 1);
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

fn describe(body: &RequestBody) -> String {
    match body {
        RequestBody::Apply { .. } => {
            let names: Vec<&str> = body.operations().into_iter().map(subject).collect();
            format!("apply {}", names.join(","))
        }
        b => b.name().to_string(),
    }
}

/// The member or pool an operation is about.
fn subject_name(op: &Operation) -> &Name {
    match op {
        Operation::SetParents { name, .. } | Operation::RetireGateway { name } => name,
        Operation::StoreFailover { pool, .. } => pool,
    }
}

fn subject(op: &Operation) -> &str {
    match op {
        Operation::SetParents { name, .. } | Operation::RetireGateway { name } => name.as_str(),
        Operation::StoreFailover { pool, .. } => pool.as_str(),
    }
}

fn matches(body: &RequestBody, on: &Option<String>) -> bool {
    let Some(on) = on else { return true };
    if body.name() == on {
        return true;
    }
    body.operations()
        .into_iter()
        .any(|o| subject(o).eq_ignore_ascii_case(on))
}

fn misbehave(mode: &str, args: &Args, req: &Request, mut state: State, mut sim: Sim) -> ! {
    let mut out = std::io::stdout().lock();
    match mode {
        "hang" => hang(args),
        "exit3" => {
            eprintln!("handover-test-provider: fatal: the SDK service refused the connection");
            std::process::exit(3)
        }
        "exit3-retryable" => {
            let _ =
                serde_json::to_writer(&mut out, &Response::error("the SDK service is busy", true));
            std::process::exit(3)
        }
        "error" => {
            let _ = serde_json::to_writer(&mut out, &Response::error("access is denied", false));
            std::process::exit(1)
        }
        "garbage" => {
            let _ = out.write_all(b"<html><body>500 Internal Server Error</body></html>\n");
            std::process::exit(0)
        }
        "truncated" => {
            let full =
                serde_json::to_vec(&answer(args, req.clone(), &mut state, &mut sim, None)).unwrap();
            let _ = out.write_all(&full[..full.len() / 2]);
            std::process::exit(0)
        }
        "huge" => {
            let _ = out.write_all(br#"{"protocol":1,"ok":true,"padding":""#);
            let chunk = vec![b'x'; 1 << 20];
            for _ in 0..50 {
                if out.write_all(&chunk).is_err() {
                    std::process::exit(0);
                }
            }
            let _ = out.write_all(b"\"}");
            std::process::exit(0)
        }
        "silent" => std::process::exit(0),
        "wrong-protocol" => {
            let v = if req.protocol == 2 { 1 } else { 2 };
            let _ = writeln!(out, r#"{{"protocol":{v},"ok":true}}"#);
            std::process::exit(0)
        }
        "wrong-id" => {
            let id = req.id.unwrap_or(0) + 1000;
            let _ = writeln!(out, r#"{{"protocol":2,"id":{id},"ok":true}}"#);
            let _ = out.flush();
            hang(args)
        }
        "exit-mid-batch" => {
            let ops = req.body.operations();
            let half = ops.len().div_ceil(2).max(1).min(ops.len());
            for op in &ops[..half] {
                let _ = sim.apply_now(op);
                state.applied.push((*op).clone());
            }
            save(&args.state, &mut state, &sim);
            eprintln!("handover-test-provider: exiting mid-batch after {half} operation(s)");
            std::process::exit(3)
        }
        other => fail(&format!("unknown misbehaviour {other:?}"), 2),
    }
}

fn answer(
    args: &Args,
    req: Request,
    state: &mut State,
    sim: &mut Sim,
    op_errors: Option<bool>,
) -> Response {
    let (protocol, id) = (req.protocol, req.id);
    let mut resp = match (protocol, req.body) {
        (PROTOCOL_VERSION | SESSION_PROTOCOL, body) => {
            answer_body(args, body, state, sim, op_errors, protocol)
        }
        (v, _) => Response::error(format!("protocol {v} is not supported"), false),
    };
    resp.protocol = protocol;
    resp.id = id;
    resp
}

fn answer_body(
    args: &Args,
    body: RequestBody,
    state: &mut State,
    sim: &mut Sim,
    op_errors: Option<bool>,
    protocol: u32,
) -> Response {
    match body {
        RequestBody::Capabilities => Response {
            capabilities: Some(Capabilities {
                provider: Some("handover-test-provider".into()),
                version: Some(env!("CARGO_PKG_VERSION").into()),
                protocols: if args.session { vec![1, 2] } else { Vec::new() },
                session: args.session,
                max_batch: args.session.then_some(args.max_batch),
                parallel: args.session.then_some(args.parallel),
                ..Capabilities::v1(
                    args.operations
                        .as_deref()
                        .unwrap_or("set_parents,retire_gateway,store_failover")
                        .split(',')
                        .filter(|s| !s.is_empty())
                        .map(str::to_string)
                        .collect(),
                )
            }),
            ..Response::ok()
        },
        RequestBody::Observe { scope } => {
            sim.advance(std::time::Duration::from_secs(args.step));
            match sim.observe_now(&scope.into()) {
                Ok(mut o) => {
                    if let Some(age) = args.evidence_age_secs {
                        add_evidence(&mut o, sim, age);
                    }
                    report_health(&mut o, &state.health);
                    Response {
                        observed: Some(o),
                        ..Response::ok()
                    }
                }
                Err(e) => error(e),
            }
        }
        body @ RequestBody::Apply { .. } => {
            let mut results = Vec::new();
            for op in body.operations() {
                let r = if let Some(retryable) = op_errors.filter(|_| matches_op(op, &args.on)) {
                    OpResult::error(format!("{} refused by --misbehave", subject(op)), retryable)
                } else {
                    apply_one(op, state, sim)
                };
                results.push(r);
            }
            if protocol == SESSION_PROTOCOL {
                return Response {
                    results: Some(results),
                    ..Response::ok()
                };
            }
            match results.pop() {
                Some(OpResult {
                    ok: true, changed, ..
                }) => Response {
                    changed,
                    ..Response::ok()
                },
                Some(OpResult { error: Some(e), .. }) => Response::error(e.message, e.retryable),
                _ => Response::error("an apply with no operation", false),
            }
        }
    }
}

fn matches_op(op: &Operation, on: &Option<String>) -> bool {
    on.as_deref()
        .is_none_or(|on| subject(op).eq_ignore_ascii_case(on))
}

/// Applies one operation to the simulation and records it.
fn apply_one(operation: &Operation, state: &mut State, sim: &mut Sim) -> OpResult {
    // The operation's own member (with every server and the store): what
    // it can change, without walking the whole estate per operation.
    let own = Scope::Members(vec![subject_name(operation).clone()]);
    let before = sim.snapshot(&own);
    match sim.apply_now(operation) {
        Ok(()) => {
            let after = sim.snapshot(&own);
            if let Operation::SetParents { name, parents, .. } = operation
                && let Some(c) = member(&before, name).and_then(|m| m.connected.clone())
                && !parents.lists(&c)
            {
                state.dropped.push(name.clone());
            }
            state.applied.push(operation.clone());
            state.applied_by.push(Applier {
                ppid: *CALLER.get_or_init(std::os::unix::process::parent_id),
                at_ms: now_ms(),
            });
            OpResult::ok(before != after)
        }
        Err(e) => {
            let retryable = e.is_transient();
            let msg = match e {
                ProviderError::Transient(m) | ProviderError::Permanent(m) => m,
            };
            OpResult::error(msg, retryable)
        }
    }
}

fn member<'a>(o: &'a Observed, name: &Name) -> Option<&'a handover::model::ObservedMember> {
    o.agents
        .iter()
        .chain(o.gateways.iter())
        .find(|m| &m.name == name)
}

fn error(e: ProviderError) -> Response {
    let retryable = e.is_transient();
    let msg = match e {
        ProviderError::Transient(m) | ProviderError::Permanent(m) => m,
    };
    Response::error(msg, retryable)
}

/// Takes an exclusive `flock` on `FILE.lock`, held while the file lives.
fn lock(path: &Path) -> Result<std::fs::File, String> {
    use std::os::fd::AsRawFd;
    let mut name = path.as_os_str().to_owned();
    name.push(".lock");
    let f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&name)
        .map_err(|e| format!("cannot open the lock of {}: {e}", path.display()))?;
    // SAFETY: flock on a file descriptor we own; blocks until granted.
    if unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX) } != 0 {
        return Err(format!(
            "cannot lock {}: {}",
            path.display(),
            std::io::Error::last_os_error()
        ));
    }
    Ok(f)
}

/// `--evidence-age-secs`: every agent of `o` carries the parents it has
/// learned in `sim`, read `age` seconds before now, and nothing else.
fn add_evidence(o: &mut Observed, sim: &Sim, age: u64) {
    use handover::model::{Evidence, Learned, Stamp};
    let now = std::time::SystemTime::now();
    let read = now - std::time::Duration::from_secs(age);
    for a in &mut o.agents {
        let Some(m) = sim.member(&a.name) else {
            continue;
        };
        a.evidence = Some(Box::new(Evidence {
            observed_at: Stamp::from_system(now),
            learned: Some(Learned {
                parents: m.learned.iter().cloned().collect(),
                at: Stamp::from_system(read),
            }),
            heartbeat: None,
            config_applied_at: None,
        }));
    }
}

/// The health the state file sets, for the servers `o` has: over what
/// the simulator reports.
fn report_health(
    o: &mut Observed,
    health: &std::collections::BTreeMap<Name, handover::model::Health>,
) {
    for (name, h) in health {
        let known = o.management_servers.iter().any(|s| &s.name == name)
            || o.gateways.iter().any(|g| &g.name == name);
        if known {
            o.health.insert(name.clone(), *h);
        }
    }
}

fn load(path: &Path) -> Result<State, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read state file {}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("state file {}: {e}", path.display()))
}

/// Writes the state (by rename, under the caller's lock); returns the
/// file's new identity.
fn save(path: &Path, state: &mut State, sim: &Sim) -> Option<Stamp> {
    state.sim = Some(sim.save_json());
    state.observed = sim.snapshot(&Scope::All);
    state.stranded = sim.stranded();
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    let text = serde_json::to_vec(state).expect("state serialises");
    if let Err(e) = std::fs::write(&tmp, text).and_then(|_| std::fs::rename(&tmp, path)) {
        fail(
            &format!("cannot write state file {}: {e}", path.display()),
            1,
        );
    }
    stamp(path)
}

fn emit(resp: &Response) {
    let mut out = std::io::stdout().lock();
    let _ = serde_json::to_writer(&mut out, resp);
    let _ = out.write_all(b"\n");
}

fn fail(msg: &str, code: i32) -> ! {
    emit(&Response::error(msg, false));
    eprintln!("handover-test-provider: {msg}");
    std::process::exit(code)
}
