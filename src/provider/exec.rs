//! `exec:` targets: a [`Provider`] that runs an external program once per
//! request (protocol version 1) or, when its capabilities say it serves
//! sessions, keeps one process and sends it JSON lines (version 2, through
//! [`super::session`]), speaking the JSON protocol of [`super::protocol`]
//! with it (`docs/provider-protocol.md`).
//!
//! Owns choosing between the two, counting process starts and session
//! restarts (a session that hung, answered garbage or exited is killed
//! with its process tree and started again on the next call), starting
//! the program (directly, never through a shell, in a process tree of its
//! own: [`super::child`], a process group on Unix, a job object on
//! Windows), writing the request to its stdin, reading its stdout with a
//! size cap and its stderr as a bounded tail, the per-request timeout (the
//! program and its whole tree are killed when it expires), killing that
//! tree too when a caller abandons the call (drops its future: `reconcile --ha` does
//! at the lease deadline, `crate::ha::fence`), and turning every way a
//! program can misbehave into a [`ProviderError`] a person can act on. Must
//! not know about plans, and must not retry (the executor does).

use super::child::{Armed, Tree};
use super::program::{bytes, describe_json_error, stderr_hint};
use super::protocol::{Capabilities, PROTOCOL_VERSION, Request, Response};
use super::slot::{Ctx, Slot, limits, permanent, transient};
use super::{Clock, Operation, Provider, ProviderCounters, ProviderError, Scope, WallClock};
use crate::model::{API_VERSION, Observed, Stamp};
use crate::provider::{Inspect, Schedule};
use std::path::{Path, PathBuf};
use std::process::ExitStatus;
use std::time::{Duration, SystemTime};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};

pub use super::program::ExecConfig;

/// A target reached through an external program (`--target exec:...`).
#[derive(Debug)]
pub struct ExecProvider {
    program: PathBuf,
    args: Vec<String>,
    config: ExecConfig,
    clock: WallClock,
    capabilities: Option<Capabilities>,
    label: String,
    /// When this process last wrote each member's parents (the answer's
    /// arrival, or the call given up): the write time the evidence
    /// judgement needs (`super::evidence`). Kept in memory; a target opened
    /// to change it is seeded from the journal (`crate::run::writes`), so a
    /// restart does not forget them.
    writes: super::evidence::Writes,
    /// The judgement's clock tolerances.
    tolerance: super::evidence::Tolerance,
    /// The version 2 sessions (at most `parallel`), once capabilities said
    /// so and a call started them.
    slots: Vec<Slot>,
    /// One-shot processes started.
    starts: std::sync::atomic::AtomicU64,
    /// `changed` of each operation of the last `apply_batch` (None when
    /// the provider did not say, or the operation failed).
    last_changed: Vec<Option<bool>>,
}

impl ExecProvider {
    /// A provider running `program` with `args` (no call is made yet).
    pub fn new(program: impl Into<PathBuf>, args: Vec<String>, config: ExecConfig) -> Self {
        let program = program.into();
        let label = program
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_else(|| program.display().to_string());
        ExecProvider {
            program,
            args,
            config,
            clock: WallClock::new(),
            capabilities: None,
            label,
            writes: Default::default(),
            tolerance: Default::default(),
            slots: Vec::new(),
            starts: std::sync::atomic::AtomicU64::new(0),
            last_changed: Vec::new(),
        }
    }

    /// What the provider said about `changed` for each operation of the
    /// last `apply` or `apply_batch` (`provider check --member`).
    pub fn last_changed(&self) -> &[Option<bool>] {
        &self.last_changed
    }

    /// True once capabilities were asked and say the program serves
    /// version 2 sessions.
    pub fn in_session_mode(&self) -> bool {
        self.capabilities
            .as_ref()
            .is_some_and(Capabilities::sessions)
    }

    /// Ends the session, if any, cleanly: closes its stdin and waits up to
    /// two seconds for it to exit before killing its process tree. Also
    /// done (without waiting on the runtime) when the provider is dropped.
    pub async fn close(&mut self) {
        for s in &mut self.slots {
            s.close().await;
        }
    }

    /// Sets how long a `store_failover` call may take
    /// (`policy.storeTimeout`).
    pub fn set_store_timeout(&mut self, d: Duration) {
        self.config.store_timeout = d;
    }

    /// Sets the clock tolerances of the evidence judgement (tests replay
    /// recordings faster than a management group moves).
    pub fn set_evidence_tolerance(&mut self, t: super::evidence::Tolerance) {
        self.tolerance = t;
    }

    /// Records that handover wrote `member`'s parents at `at` (its clock),
    /// unless a later write is known: what a run resumed after a restart
    /// feeds from the journal's `set_parents` records, so evidence read
    /// before those writes does not count.
    pub fn remember_write(&mut self, member: &crate::name::Name, at: Stamp) {
        let slot = self.writes.entry(member.clone()).or_insert(at);
        *slot = (*slot).max(at);
    }

    /// The program this provider runs.
    pub fn program(&self) -> &Path {
        &self.program
    }

    /// What the program supports, asked once and then remembered.
    pub async fn capabilities(&mut self) -> Result<&Capabilities, ProviderError> {
        if self.capabilities.is_none() {
            let resp = self.call(&Request::capabilities()).await?;
            let caps = resp.capabilities.ok_or_else(|| {
                self.permanent("capabilities", "the response has no `capabilities` object")
            })?;
            tracing::debug!(provider = %self.label, ?caps, "provider capabilities");
            self.capabilities = Some(caps);
        }
        Ok(self.capabilities.as_ref().expect("set above"))
    }

    fn permanent(&self, request: &str, msg: impl std::fmt::Display) -> ProviderError {
        permanent(&self.label, request, msg)
    }

    fn transient(&self, request: &str, msg: impl std::fmt::Display) -> ProviderError {
        transient(&self.label, request, msg)
    }

    /// Sends `req` in the session (started if need be) once capabilities
    /// say so, else runs the program once for it.
    async fn request(&mut self, req: Request) -> Result<Response, ProviderError> {
        if self.in_session_mode() {
            self.session_call(req).await
        } else {
            self.call(&req).await
        }
    }

    /// What a session slot needs to know about this provider.
    fn ctx(&self) -> Ctx {
        Ctx {
            program: self.program.clone(),
            args: self.args.clone(),
            config: self.config.clone(),
            label: self.label.clone(),
        }
    }

    /// One request in the first session.
    async fn session_call(&mut self, req: Request) -> Result<Response, ProviderError> {
        let ctx = self.ctx();
        if self.slots.is_empty() {
            self.slots.push(Slot::default());
        }
        self.slots[0].call(&ctx, req).await
    }

    /// Runs the program once for `req` and returns its successful response.
    async fn call(&self, req: &Request) -> Result<Response, ProviderError> {
        let name = req.name();
        let (limit, cap) = limits(&self.config, &req.body);
        let mut input = serde_json::to_vec(req).expect("requests always serialise");
        input.push(b'\n');

        let mut tree = Tree::spawn(&self.program, &self.args).map_err(|e| {
            let msg = format!("cannot start {}: {e}", self.program.display());
            match e.kind() {
                std::io::ErrorKind::NotFound | std::io::ErrorKind::PermissionDenied => {
                    self.permanent(name, msg)
                }
                _ => self.transient(name, msg),
            }
        })?;
        self.starts
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let stdin = tree.take_stdin();
        let stdout = tree.take_stdout().expect("piped");
        let stderr = tree.take_stderr().expect("piped");
        let mut armed = Armed::new(&mut tree);
        let tail_cap = self.config.stderr_tail_bytes;
        let stderr_task = tokio::spawn(read_tail(stderr, tail_cap));

        let exchange = async {
            let write = async {
                if let Some(mut s) = stdin {
                    // A provider may answer without reading all of its
                    // request; a broken pipe here is not an error by itself.
                    if let Err(e) = s.write_all(&input).await {
                        tracing::debug!(provider = %self.label, "writing the request: {e}");
                    }
                    let _ = s.shutdown().await;
                }
            };
            let (_, out) = tokio::join!(write, read_capped(stdout, cap));
            let out = out.map_err(Failure::Io)?;
            if out.len() > cap {
                return Err(Failure::TooLarge);
            }
            let status = armed.tree().wait().await.map_err(Failure::Io)?;
            Ok((out, status))
        };
        let result = match tokio::time::timeout(limit, exchange).await {
            Ok(r) => r,
            Err(_) => Err(Failure::TimedOut),
        };
        if result.is_err() {
            armed.tree().kill().await;
        }
        // The program has been reaped: its pid, and so its group's id, may
        // be reused from now on.
        armed.disarm();
        // stderr ends when the program (and its group) is gone; a leftover
        // child holding it open gets a second, then the reader is dropped.
        let mut stderr_task = stderr_task;
        let stderr_tail = match tokio::time::timeout(Duration::from_secs(1), &mut stderr_task).await
        {
            Ok(Ok(Ok(t))) => t,
            Ok(_) => Vec::new(),
            Err(_) => {
                stderr_task.abort();
                Vec::new()
            }
        };
        let stderr_text = String::from_utf8_lossy(&stderr_tail);
        let stderr_text = stderr_text.trim_end();

        let outcome = match result {
            Ok((out, status)) => self.interpret(name, &out, status, stderr_text),
            Err(Failure::TimedOut) => Err(self.transient(
                name,
                format!(
                    "timed out after {}; the program was killed{}",
                    humantime::format_duration(limit),
                    stderr_hint(stderr_text)
                ),
            )),
            Err(Failure::TooLarge) => Err(self.permanent(
                name,
                format!(
                    "wrote more than {} to stdout (the limit for {name}); the program was killed{}",
                    bytes(cap),
                    stderr_hint(stderr_text)
                ),
            )),
            Err(Failure::Io(e)) => Err(self.transient(name, format!("reading its output: {e}"))),
        };
        match &outcome {
            Ok(_) if !stderr_text.is_empty() => {
                tracing::debug!(provider = %self.label, request = name, stderr = %stderr_text, "provider stderr")
            }
            Err(e) => {
                tracing::warn!(provider = %self.label, request = name, stderr = %stderr_text, "{e}")
            }
            Ok(_) => {}
        }
        outcome
    }

    /// Turns a finished program's stdout and exit status into a response.
    fn interpret(
        &self,
        name: &str,
        out: &[u8],
        status: ExitStatus,
        stderr: &str,
    ) -> Result<Response, ProviderError> {
        let exit = match status.code() {
            Some(0) => None,
            Some(c) => Some(format!("exited with status {c}")),
            None => Some(format!("was killed by a signal ({status})")),
        };
        if out.iter().all(u8::is_ascii_whitespace) {
            let why = exit.unwrap_or_else(|| "exited successfully".into());
            return Err(self.permanent(
                name,
                format!(
                    "{why} and wrote no response (expected one JSON object on stdout){}",
                    stderr_hint(stderr)
                ),
            ));
        }
        let resp: Response = serde_json::from_slice(out).map_err(|e| {
            let pre = exit.as_ref().map(|x| format!("{x}; ")).unwrap_or_default();
            self.permanent(
                name,
                format!(
                    "{pre}{}{}",
                    describe_json_error(out, &e, PROTOCOL_VERSION),
                    stderr_hint(stderr)
                ),
            )
        })?;
        if resp.protocol != PROTOCOL_VERSION {
            return Err(self.permanent(
                name,
                format!(
                    "speaks protocol version {}; this handover speaks version {PROTOCOL_VERSION}",
                    resp.protocol
                ),
            ));
        }
        if !resp.ok {
            let (msg, retryable) = match &resp.error {
                Some(e) => (e.message.as_str(), e.retryable),
                None => ("failed without an `error` object", false),
            };
            let msg = match &exit {
                Some(x) => format!("{msg} ({x}){}", stderr_hint(stderr)),
                None => format!("{msg}{}", stderr_hint(stderr)),
            };
            return Err(if retryable {
                self.transient(name, msg)
            } else {
                self.permanent(name, msg)
            });
        }
        if let Some(x) = exit {
            return Err(self.permanent(
                name,
                format!(
                    "answered ok but {x}; treating it as a failure{}",
                    stderr_hint(stderr)
                ),
            ));
        }
        Ok(resp)
    }
}

/// Parallel session tasks, aborted if the call that started them is
/// abandoned (each aborted task drops its session, which kills the
/// session's process group).
struct Aborting<T>(Vec<tokio::task::JoinHandle<T>>);

impl<T> Drop for Aborting<T> {
    fn drop(&mut self) {
        for t in &self.0 {
            t.abort();
        }
    }
}

enum Failure {
    TimedOut,
    TooLarge,
    Io(std::io::Error),
}

/// Reads everything, but at most `cap + 1` bytes (one more tells "too large").
async fn read_capped(r: impl AsyncRead + Unpin, cap: usize) -> std::io::Result<Vec<u8>> {
    let mut buf = Vec::new();
    r.take(cap as u64 + 1).read_to_end(&mut buf).await?;
    Ok(buf)
}

/// Reads to the end, keeping only the last `keep` bytes.
async fn read_tail(mut r: impl AsyncRead + Unpin, keep: usize) -> std::io::Result<Vec<u8>> {
    let mut buf = Vec::new();
    let mut chunk = vec![0u8; 8192];
    loop {
        let n = r.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
        if buf.len() > keep.saturating_mul(2).max(8192) {
            buf.drain(..buf.len() - keep);
        }
    }
    if buf.len() > keep {
        buf.drain(..buf.len() - keep);
    }
    Ok(buf)
}

/// The end of stderr for an error message: its last lines, at most 500
/// characters.
/// Checks the header of an observed document from a provider.
fn check_observed(o: &Observed) -> Result<(), String> {
    if o.api_version != API_VERSION {
        return Err(format!(
            "its observed state has apiVersion {:?}; expected {API_VERSION:?}",
            o.api_version
        ));
    }
    if o.kind != "Observed" {
        return Err(format!(
            "its observed state has kind {:?}; expected \"Observed\"",
            o.kind
        ));
    }
    Ok(())
}

impl ExecProvider {
    /// Sends each chunk of `ops` as one `apply` request: one after another
    /// in the first session, or, when the program allows `parallel`
    /// sessions, spread over up to that many sessions running at once
    /// (each session still takes one request at a time, in order).
    async fn send_chunks(
        &mut self,
        caps: &Capabilities,
        ops: &[Operation],
        chunks: &[Vec<usize>],
    ) -> Vec<Result<Response, ProviderError>> {
        let batch =
            |c: &Vec<usize>| -> Vec<Operation> { c.iter().map(|&i| ops[i].clone()).collect() };
        let ctx = self.ctx();
        let lanes = (caps.parallel.unwrap_or(1).max(1) as usize).min(chunks.len());
        while self.slots.len() < lanes.max(1) {
            self.slots.push(Slot::default());
        }
        if lanes <= 1 {
            let mut out = Vec::with_capacity(chunks.len());
            for c in chunks {
                out.push(
                    self.slots[0]
                        .call(&ctx, Request::apply_batch(&batch(c)))
                        .await,
                );
            }
            return out;
        }
        // Lane k takes chunks k, k + lanes, ...; each lane owns its slot in
        // a task of its own while the requests run.
        let mut tasks = Aborting(Vec::with_capacity(lanes));
        for k in 0..lanes {
            let mut slot = std::mem::take(&mut self.slots[k]);
            let ctx = ctx.clone();
            let work: Vec<Vec<Operation>> =
                chunks.iter().skip(k).step_by(lanes).map(batch).collect();
            tasks.0.push(tokio::spawn(async move {
                let mut out = Vec::with_capacity(work.len());
                for b in work {
                    out.push(slot.call(&ctx, Request::apply_batch(&b)).await);
                }
                (slot, out)
            }));
        }
        let mut per_lane = Vec::with_capacity(lanes);
        for (k, t) in tasks.0.iter_mut().enumerate() {
            match t.await {
                Ok((slot, out)) => {
                    self.slots[k] = slot;
                    per_lane.push(out.into_iter());
                }
                Err(e) => {
                    let n = chunks.iter().skip(k).step_by(lanes).count();
                    let err =
                        self.transient("apply", format!("a parallel session's task ended: {e}"));
                    per_lane.push(vec![Err(err); n].into_iter());
                }
            }
        }
        tasks.0.clear();
        (0..chunks.len())
            .map(|j| per_lane[j % lanes].next().expect("one answer per chunk"))
            .collect()
    }

    /// Refuses locally an operation the program did not list.
    fn unsupported(&self, caps: &Capabilities, op: &Operation) -> Option<ProviderError> {
        if caps.supports(op) {
            return None;
        }
        let have = caps.operations.join(", ");
        Some(self.permanent(
            "apply",
            format!(
                "does not support {} (it supports: {}); use a provider that does, or leave this change out of the desired topology",
                super::protocol::op_name(op),
                if have.is_empty() { "nothing" } else { &have }
            ),
        ))
    }
}

impl Provider for ExecProvider {
    async fn observe(&mut self, scope: &Scope) -> Result<Observed, ProviderError> {
        let sent = Stamp::from_system(SystemTime::now());
        let resp = self.request(Request::observe(scope)).await?;
        let received = Stamp::from_system(SystemTime::now());
        let mut observed = resp
            .observed
            .ok_or_else(|| self.permanent("observe", "the response has no `observed` object"))?;
        check_observed(&observed).map_err(|m| self.permanent("observe", m))?;
        // Providers report facts; handover judges `connected` from them.
        let exchange = super::evidence::Exchange { sent, received };
        for (kind, name, verdict) in
            super::evidence::judge_all(&mut observed, &self.writes, exchange, self.tolerance)
        {
            tracing::debug!(provider = %self.label, %kind, %name, ?verdict, "evidence judged");
        }
        Ok(observed)
    }

    async fn apply(&mut self, op: &Operation) -> Result<(), ProviderError> {
        let mut r = self.apply_batch(std::slice::from_ref(op)).await?;
        r.pop().expect("one result per operation")
    }

    async fn apply_batch(
        &mut self,
        ops: &[Operation],
    ) -> Result<Vec<Result<(), ProviderError>>, ProviderError> {
        let caps = self.capabilities().await?.clone();
        let mut results: Vec<Option<Result<(), ProviderError>>> = ops
            .iter()
            .map(|op| self.unsupported(&caps, op).map(Err))
            .collect();
        let todo: Vec<usize> = (0..ops.len()).filter(|&i| results[i].is_none()).collect();
        self.last_changed = vec![None; ops.len()];
        if !caps.sessions() {
            for i in todo {
                let r = self.call(&Request::apply(&ops[i])).await;
                if let Ok(resp) = &r {
                    self.last_changed[i] = resp.changed;
                    tracing::debug!(provider = %self.label, op = ?ops[i], changed = ?resp.changed, "applied");
                }
                results[i] = Some(r.map(|_| ()));
            }
        } else {
            // Spread evenly over the sessions: a request smaller than
            // `max_batch × parallel` still keeps every session busy.
            let lanes = caps.parallel.unwrap_or(1).max(1) as usize;
            let size = caps.batch().min(todo.len().div_ceil(lanes)).max(1);
            let chunks: Vec<Vec<usize>> = todo.chunks(size).map(<[usize]>::to_vec).collect();
            let answers = self.send_chunks(&caps, ops, &chunks).await;
            for (chunk, answer) in chunks.iter().zip(answers) {
                let got = match answer {
                    Ok(resp) => resp.results.unwrap_or_default(),
                    Err(e) => {
                        // The whole request failed: nothing, or an unknown
                        // subset, was applied (the executor observes).
                        for &i in chunk {
                            results[i] = Some(Err(e.clone()));
                        }
                        continue;
                    }
                };
                if got.len() != chunk.len() {
                    let e = self.permanent(
                        "apply",
                        format!(
                            "answered a batch of {} operation(s) with {} result(s); expected one result per operation, in order",
                            chunk.len(),
                            got.len()
                        ),
                    );
                    for &i in chunk {
                        results[i] = Some(Err(e.clone()));
                    }
                    continue;
                }
                for (&i, r) in chunk.iter().zip(got) {
                    self.last_changed[i] = r.changed.filter(|_| r.ok);
                    results[i] = Some(if r.ok {
                        tracing::debug!(provider = %self.label, op = ?ops[i], changed = ?r.changed, "applied");
                        Ok(())
                    } else {
                        let (msg, retryable) = match r.error {
                            Some(e) => (e.message, e.retryable),
                            None => ("failed without an `error` object".into(), false),
                        };
                        let msg = format!("{}: {msg}", super::protocol::op_name(&ops[i]));
                        Err(if retryable {
                            self.transient("apply", msg)
                        } else {
                            self.permanent("apply", msg)
                        })
                    });
                }
            }
        }
        // Answered, failed or timed out: each change may be in the
        // management group from now on, so evidence must postdate it.
        let now = Stamp::from_system(SystemTime::now());
        for op in ops {
            if let Operation::SetParents { name, .. } = op {
                self.remember_write(name, now);
            }
        }
        Ok(results
            .into_iter()
            .map(|r| r.expect("every operation has a result"))
            .collect())
    }

    /// `max_batch` times `parallel`: one call fills every session.
    fn max_batch(&self) -> usize {
        self.capabilities.as_ref().map_or(1, |c| {
            let lanes = if c.sessions() {
                c.parallel.unwrap_or(1).max(1) as usize
            } else {
                1
            };
            c.batch() * lanes
        })
    }

    fn counters(&self) -> ProviderCounters {
        ProviderCounters {
            process_starts: self.starts.load(std::sync::atomic::Ordering::Relaxed)
                + self.slots.iter().map(|s| s.starts).sum::<u64>(),
            restarts: self.slots.iter().map(|s| s.restarts).sum(),
        }
    }
}

impl Clock for ExecProvider {
    fn now(&self) -> Duration {
        self.clock.now()
    }

    async fn sleep(&mut self, d: Duration) {
        self.clock.sleep(d).await
    }
}

impl Schedule for ExecProvider {}
impl Inspect for ExecProvider {}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn tail_keeps_the_last_bytes() {
        let data: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        let t = read_tail(&data[..], 1000).await.unwrap();
        assert_eq!(t, &data[data.len() - 1000..]);
    }

    /// A call whose future is dropped mid-way (as `reconcile --ha` does at
    /// the lease deadline) kills the program's whole process group: here a
    /// shell and the `sleep` it started in the background.
    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn an_abandoned_call_kills_the_whole_process_group() {
        let dir = tempfile::tempdir().unwrap();
        let pidfile = dir.path().join("grandchild.pid");
        let script = format!("sleep 30 & echo $! > {}; wait", pidfile.display());
        let p = ExecProvider::new("/bin/sh", vec!["-c".into(), script], ExecConfig::default());
        let req = Request::capabilities();
        let call = p.call(&req);
        let abandoned = tokio::time::timeout(Duration::from_secs(10), async {
            tokio::select! {
                _ = call => false,
                _ = async {
                    while !std::fs::read_to_string(&pidfile).is_ok_and(|s| s.ends_with('\n')) {
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                } => true,
            }
        })
        .await
        .unwrap();
        assert!(abandoned, "the call ended on its own");
        let grandchild: i32 = std::fs::read_to_string(&pidfile)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        // Running unless gone or a zombie (killed, not yet reaped by init).
        let running = || {
            std::fs::read_to_string(format!("/proc/{grandchild}/stat")).is_ok_and(|s| {
                s.rsplit(')')
                    .next()
                    .is_some_and(|r| !r.trim_start().starts_with('Z'))
            })
        };
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while running() {
            assert!(
                std::time::Instant::now() < deadline,
                "the background child {grandchild} outlived the abandoned call"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    #[tokio::test]
    async fn capped_reads_stop_one_past_the_cap() {
        let data = vec![b'x'; 5000];
        assert_eq!(read_capped(&data[..], 100).await.unwrap().len(), 101);
        assert_eq!(read_capped(&data[..], 9000).await.unwrap().len(), 5000);
    }
}
