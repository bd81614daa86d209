//! A session slot: one version 2 session of an `exec:` provider, started
//! on demand, killed and counted as a restart after a fault, and the
//! request/response round trip through it (ids, protocol version, what
//! each fault means).
//!
//! Owns the meaning of a session's faults ([`super::session::Fault`] →
//! [`ProviderError`]) and the per-slot counters. Must not retry (the
//! executor does) and must not know about plans. Slots are independent,
//! so `parallel` sessions run one request each at the same time.

use super::program::{ExecConfig, bytes, describe_json_error, stderr_hint};
use super::protocol::{Request, RequestBody, Response, SESSION_PROTOCOL};
use super::session::{Fault, Session};
use super::{Operation, ProviderError};
use std::path::PathBuf;
use std::time::Duration;

/// What a slot needs to know about its provider (cloned into parallel
/// tasks).
#[derive(Clone, Debug)]
pub(crate) struct Ctx {
    /// The program.
    pub program: PathBuf,
    /// Its arguments.
    pub args: Vec<String>,
    /// Limits.
    pub config: ExecConfig,
    /// Its name, for messages.
    pub label: String,
}

impl Ctx {
    fn permanent(&self, request: &str, msg: impl std::fmt::Display) -> ProviderError {
        permanent(&self.label, request, msg)
    }

    fn transient(&self, request: &str, msg: impl std::fmt::Display) -> ProviderError {
        transient(&self.label, request, msg)
    }

    fn limits(&self, body: &RequestBody) -> (Duration, usize) {
        limits(&self.config, body)
    }
}

/// A permanent error naming the provider and the request.
pub(crate) fn permanent(label: &str, request: &str, msg: impl std::fmt::Display) -> ProviderError {
    ProviderError::Permanent(format!("provider {label} ({request}): {msg}"))
}

/// A transient error naming the provider and the request.
pub(crate) fn transient(label: &str, request: &str, msg: impl std::fmt::Display) -> ProviderError {
    ProviderError::Transient(format!("provider {label} ({request}): {msg}"))
}

/// The timeout and the largest answer for a request: a batch holding a
/// `store_failover` gets the store timeout, any other `apply` the apply
/// timeout (for the whole batch).
pub(crate) fn limits(c: &ExecConfig, body: &RequestBody) -> (Duration, usize) {
    match body {
        RequestBody::Capabilities => (c.capabilities_timeout, c.apply_max_bytes),
        RequestBody::Observe { .. } => (c.observe_timeout, c.observe_max_bytes),
        RequestBody::Apply { .. }
            if body
                .operations()
                .iter()
                .any(|o| matches!(o, Operation::StoreFailover { .. })) =>
        {
            (c.store_timeout, c.apply_max_bytes)
        }
        RequestBody::Apply { .. } => (c.apply_timeout, c.apply_max_bytes),
    }
}

/// One session place.
#[derive(Debug, Default)]
pub(crate) struct Slot {
    session: Option<Session>,
    /// Sessions started in this slot.
    pub starts: u64,
    /// Sessions killed after a fault.
    pub restarts: u64,
}

impl Slot {
    /// Ends the session cleanly (stdin closed, then the group killed after
    /// the grace period).
    pub(crate) async fn close(&mut self) {
        if let Some(mut s) = self.session.take() {
            s.close(true).await;
        }
    }

    /// Kills the session after a fault and counts a restart (the next call
    /// starts a new one).
    async fn restart(&mut self, ctx: &Ctx, request: &str, why: &str) {
        if let Some(mut s) = self.session.take() {
            s.close(false).await;
            self.restarts += 1;
            tracing::warn!(provider = %ctx.label, request, restarts = self.restarts, "provider session killed ({why}); a new one starts with the next request");
        }
    }

    /// One request in the version 2 session.
    pub(crate) async fn call(
        &mut self,
        ctx: &Ctx,
        req: Request,
    ) -> Result<Response, ProviderError> {
        let name = req.name();
        let (limit, cap) = ctx.limits(&req.body);
        if self.session.as_ref().is_some_and(|s| !s.usable()) {
            self.restart(
                ctx,
                name,
                "an earlier request was abandoned before its answer",
            )
            .await;
        }
        if self.session.is_none() {
            let s = Session::start(&ctx.program, &ctx.args, ctx.config.stderr_tail_bytes).map_err(
                |e| {
                    let msg = format!("cannot start {}: {e}", ctx.program.display());
                    match e.kind() {
                        std::io::ErrorKind::NotFound | std::io::ErrorKind::PermissionDenied => {
                            ctx.permanent(name, msg)
                        }
                        _ => ctx.transient(name, msg),
                    }
                },
            )?;
            self.starts += 1;
            tracing::debug!(provider = %ctx.label, "provider session started");
            self.session = Some(s);
        }
        let s = self.session.as_mut().expect("started above");
        let id = s.next_id();
        let req = req.in_session(id);
        let mut line = serde_json::to_vec(&req).expect("requests always serialise");
        line.push(b'\n');
        let out = s.exchange(&line, limit, cap).await;
        let stderr = s.stderr_tail();
        let hint = stderr_hint(&stderr);
        let out = match out {
            Ok(out) => out,
            Err(f) => {
                let (why, err) = match f {
                    Fault::TimedOut => (
                        "timed out",
                        ctx.transient(
                            name,
                            format!(
                                "timed out after {} in its session; the session was killed and restarts{hint}",
                                humantime::format_duration(limit)
                            ),
                        ),
                    ),
                    Fault::TooLarge => (
                        "answer too large",
                        ctx.permanent(
                            name,
                            format!(
                                "wrote a line longer than {} (the limit for {name}); the session was killed{hint}",
                                bytes(cap)
                            ),
                        ),
                    ),
                    Fault::Ended => (
                        "exited",
                        ctx.transient(
                            name,
                            format!("its session ended (the program exited or closed stdout) before answering; it restarts{hint}"),
                        ),
                    ),
                    Fault::Io(e) => (
                        "broken pipe",
                        ctx.transient(name, format!("talking to its session: {e}; it restarts{hint}")),
                    ),
                };
                self.restart(ctx, name, why).await;
                return Err(err);
            }
        };
        let resp: Response = match serde_json::from_slice(&out) {
            Ok(r) => r,
            Err(e) => {
                let msg = format!(
                    "{}; the session was killed and restarts{hint}",
                    describe_json_error(&out, &e, SESSION_PROTOCOL)
                );
                self.restart(ctx, name, "garbage").await;
                return Err(ctx.transient(name, msg));
            }
        };
        if resp.protocol != SESSION_PROTOCOL || resp.id != Some(id) {
            let got = resp
                .id
                .map(|i| i.to_string())
                .unwrap_or_else(|| "none".into());
            self.restart(ctx, name, "out of step").await;
            return Err(ctx.transient(
                name,
                format!(
                    "answered request {id} with protocol {} and id {got} (expected protocol {SESSION_PROTOCOL} and id {id}); the session is out of step, was killed and restarts",
                    resp.protocol
                ),
            ));
        }
        if !resp.ok {
            let (msg, retryable) = match &resp.error {
                Some(e) => (e.message.clone(), e.retryable),
                None => ("failed without an `error` object".to_string(), false),
            };
            return Err(if retryable {
                ctx.transient(name, msg)
            } else {
                ctx.permanent(name, msg)
            });
        }
        Ok(resp)
    }
}
