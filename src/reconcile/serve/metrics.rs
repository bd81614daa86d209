//! The loop's Prometheus metrics (`/metrics`).
//!
//! Owns the counters, gauges and the pass-duration histogram, and writes
//! them in the Prometheus text exposition format 0.0.4, which every
//! scraper reads. Written by hand (a hundred lines) rather than with
//! `prometheus-client`, whose OpenMetrics output names counters without
//! `_total` in `# TYPE` lines, which 0.0.4 parsers read as untyped. The
//! counters and the histogram are kept here; the gauges (members, revision,
//! sync status) are read from the status at scrape time, the same document
//! `/status` answers with, so they follow a pass while it runs. Must not
//! observe, plan or apply.

use super::status::{ErrorKind, Status, SyncStatus};
use crate::execute::{EngineReport, StepOutcome};
use crate::reconcile::schedule::Trigger;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Duration;

/// The `Content-Type` of [`Metrics::encode`]'s output.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Upper bounds of the pass-duration histogram, in seconds: from a quick
/// pass with nothing to do to one that waited out a 30-minute ack timeout.
pub const DURATION_BUCKETS: [f64; 12] = [
    0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 15.0, 60.0, 300.0, 900.0, 3600.0,
];

#[derive(Debug, Default)]
struct Inner {
    passes: BTreeMap<&'static str, u64>,
    buckets: [u64; DURATION_BUCKETS.len()],
    duration_count: u64,
    duration_sum: f64,
    steps: BTreeMap<(&'static str, &'static str), u64>,
    errors: BTreeMap<&'static str, u64>,
    /// Provider `apply` requests, processes started, sessions restarted.
    provider: [u64; 3],
    /// Notifications by (receiver, result): sent, failed, dropped, retried.
    notifications: BTreeMap<(String, &'static str), u64>,
}

/// The metrics registry. Shared by reference (`Arc<Metrics>`).
#[derive(Debug, Default)]
pub struct Metrics(Mutex<Inner>);

/// The name a step outcome has in the `outcome` label.
pub fn outcome_label(o: &StepOutcome) -> &'static str {
    match o {
        StepOutcome::Applied => "applied",
        StepOutcome::Satisfied => "satisfied",
        StepOutcome::Skipped => "skipped",
        StepOutcome::Failed { .. } => "failed",
        StepOutcome::TimedOut => "timed_out",
        StepOutcome::NotStarted { .. } => "not_started",
    }
}

impl Metrics {
    /// Empty metrics.
    pub fn new() -> Self {
        Self::default()
    }

    fn with<R>(&self, f: impl FnOnce(&mut Inner) -> R) -> R {
        f(&mut self.0.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Counts a finished pass and its duration.
    pub fn pass_finished(&self, trigger: Trigger, took: Duration) {
        let secs = took.as_secs_f64();
        self.with(|m| {
            *m.passes.entry(trigger.as_str()).or_default() += 1;
            m.duration_count += 1;
            m.duration_sum += secs;
            if let Some(i) = DURATION_BUCKETS.iter().position(|b| secs <= *b) {
                m.buckets[i] += 1;
            }
        });
    }

    /// Counts every step of a pass by action and outcome.
    pub fn record_steps(&self, report: &EngineReport) {
        self.with(|m| {
            for s in &report.steps {
                *m.steps
                    .entry((s.action, outcome_label(&s.outcome)))
                    .or_default() += 1;
            }
            m.provider[0] += report.provider_calls;
            m.provider[1] += report.process_starts;
            m.provider[2] += report.session_restarts;
        });
    }

    /// Counts a notification to `receiver` that was `sent`, `failed`,
    /// `dropped` (its queue was full) or `retried` (one more attempt).
    pub fn notification(&self, receiver: &str, result: &'static str) {
        self.with(|m| {
            *m.notifications
                .entry((receiver.to_string(), result))
                .or_default() += 1
        });
    }

    /// Counts an error.
    pub fn error(&self, kind: ErrorKind) {
        self.with(|m| *m.errors.entry(kind.as_str()).or_default() += 1);
    }

    /// The metrics in the Prometheus text format 0.0.4, with the gauges
    /// of `status` (the document `/status` answers with now).
    pub fn encode(&self, status: &Status) -> String {
        self.with(|m| {
            let mut o = String::new();
            head(
                &mut o,
                "handover_reconcile_passes_total",
                "counter",
                "Reconcile passes run, by what triggered them.",
            );
            if m.passes.is_empty() {
                sample(
                    &mut o,
                    "handover_reconcile_passes_total",
                    &[("trigger", "startup")],
                    0.0,
                );
            }
            for (t, n) in &m.passes {
                sample(
                    &mut o,
                    "handover_reconcile_passes_total",
                    &[("trigger", t)],
                    *n as f64,
                );
            }

            let h = "handover_reconcile_pass_duration_seconds";
            head(&mut o, h, "histogram", "How long reconcile passes took.");
            let mut cumulative = 0;
            for (b, n) in DURATION_BUCKETS.iter().zip(m.buckets) {
                cumulative += n;
                sample(
                    &mut o,
                    &format!("{h}_bucket"),
                    &[("le", &b.to_string())],
                    cumulative as f64,
                );
            }
            sample(
                &mut o,
                &format!("{h}_bucket"),
                &[("le", "+Inf")],
                m.duration_count as f64,
            );
            sample(&mut o, &format!("{h}_sum"), &[], m.duration_sum);
            sample(&mut o, &format!("{h}_count"), &[], m.duration_count as f64);

            let s = "handover_reconcile_steps_total";
            head(&mut o, s, "counter", "Plan steps by action and outcome.");
            for ((action, outcome), n) in &m.steps {
                sample(
                    &mut o,
                    s,
                    &[("action", action), ("outcome", outcome)],
                    *n as f64,
                );
            }

            let g = "handover_reconcile_members";
            head(&mut o, g, "gauge", "Members by state after the last pass.");
            let c = status.members;
            for (state, n) in [
                ("bridged", c.bridged),
                ("pending", c.pending),
                ("blocked", c.blocked),
                ("stranded", c.stranded),
            ] {
                sample(&mut o, g, &[("state", state)], n as f64);
            }

            let r = "handover_reconcile_revision_info";
            head(
                &mut o,
                r,
                "gauge",
                "The revision in use (the last applied), as a label.",
            );
            if let Some(rev) = &status.revision {
                sample(&mut o, r, &[("revision", &rev.id)], 1.0);
            }

            let y = "handover_reconcile_sync_status";
            head(
                &mut o,
                y,
                "gauge",
                "1 for the current sync status, 0 for the others.",
            );
            for st in SyncStatus::ALL {
                let v = if status.sync == Some(st) { 1.0 } else { 0.0 };
                sample(&mut o, y, &[("status", st.as_str())], v);
            }

            rollout(&mut o, status);
            for (name, help, v) in gates(status) {
                head(&mut o, name, "gauge", help);
                sample(&mut o, name, &[], v);
            }

            let e = "handover_reconcile_errors_total";
            head(&mut o, e, "counter", "Errors by kind.");
            for k in ErrorKind::ALL {
                let n = m.errors.get(k.as_str()).copied().unwrap_or(0);
                sample(&mut o, e, &[("kind", k.as_str())], n as f64);
            }

            for (i, (name, help)) in [
                (
                    "handover_provider_apply_calls_total",
                    "Provider apply requests (a batch counts once), retries included.",
                ),
                (
                    "handover_provider_process_starts_total",
                    "Provider processes started (exec targets).",
                ),
                (
                    "handover_provider_session_restarts_total",
                    "Provider sessions killed after a hang, garbage or an exit, and started again.",
                ),
            ]
            .into_iter()
            .enumerate()
            {
                head(&mut o, name, "counter", help);
                sample(&mut o, name, &[], m.provider[i] as f64);
            }

            let n = "handover_notifications_total";
            head(
                &mut o,
                n,
                "counter",
                "Notifications by receiver and result (sent, failed, dropped, retried).",
            );
            for ((receiver, result), v) in &m.notifications {
                sample(
                    &mut o,
                    n,
                    &[("receiver", receiver), ("result", result)],
                    *v as f64,
                );
            }
            o
        })
    }
}

/// The rollout's gauges: its step, and 1 for its phase.
pub fn rollout(o: &mut String, s: &Status) {
    let Some(r) = &s.rollout else {
        return;
    };
    let g = "handover_rollout_step";
    head(o, g, "gauge", "The rollout's current step, from 1.");
    sample(o, g, &[], r.step as f64);
    let p = "handover_rollout_phase";
    head(
        o,
        p,
        "gauge",
        "1 for the rollout's phase, 0 for the others.",
    );
    for phase in [
        "moving",
        "soaking",
        "paused",
        "analysisFailed",
        "rollingBack",
        "rolledBack",
        "complete",
    ] {
        let v = if r.phase == phase { 1.0 } else { 0.0 };
        sample(o, p, &[("phase", phase)], v);
    }
}

/// The gauges of `/metrics` (name, help, value): whether the change window
/// is open and whether a plan awaits approval, each only when configured.
pub fn gates(s: &Status) -> Vec<(&'static str, &'static str, f64)> {
    let mut out = Vec::new();
    if let Some(w) = &s.window {
        out.push((
            "handover_reconcile_window_open",
            "1 while the change window (policy.windows) lets changes start, 0 while it is closed.",
            if w.open { 1.0 } else { 0.0 },
        ));
    }
    if let Some(a) = &s.approval {
        out.push((
            "handover_reconcile_approval_awaiting",
            "1 while a plan above policy.approval waits for handover approve, 0 once approved.",
            if a.awaiting { 1.0 } else { 0.0 },
        ));
    }
    out
}

/// A metric's `# HELP` and `# TYPE` lines.
pub(super) fn head(o: &mut String, name: &str, ty: &str, help: &str) {
    let _ = writeln!(o, "# HELP {name} {help}");
    let _ = writeln!(o, "# TYPE {name} {ty}");
}

/// One sample line.
pub(super) fn sample(o: &mut String, name: &str, labels: &[(&str, &str)], v: f64) {
    o.push_str(name);
    if !labels.is_empty() {
        o.push('{');
        for (i, (k, val)) in labels.iter().enumerate() {
            if i > 0 {
                o.push(',');
            }
            let _ = write!(o, "{k}=\"{}\"", escape(val));
        }
        o.push('}');
    }
    let _ = writeln!(o, " {v}");
}

/// Label values escape `\`, `"` and newlines.
fn escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_are_cumulative() {
        let m = Metrics::new();
        m.pass_finished(Trigger::Startup, Duration::from_millis(30));
        m.pass_finished(Trigger::Interval, Duration::from_secs(2));
        m.pass_finished(Trigger::Interval, Duration::from_secs(7200));
        let text = m.encode(&Status::default());
        for line in [
            "handover_reconcile_pass_duration_seconds_bucket{le=\"0.05\"} 1",
            "handover_reconcile_pass_duration_seconds_bucket{le=\"2.5\"} 2",
            "handover_reconcile_pass_duration_seconds_bucket{le=\"3600\"} 2",
            "handover_reconcile_pass_duration_seconds_bucket{le=\"+Inf\"} 3",
            "handover_reconcile_pass_duration_seconds_count 3",
            "handover_reconcile_passes_total{trigger=\"interval\"} 2",
        ] {
            assert!(text.contains(line), "{line} missing from\n{text}");
        }
    }

    #[test]
    fn label_values_are_escaped() {
        let status = Status {
            revision: Some(crate::reconcile::serve::status::RevisionView {
                id: "a\"b\\c\nd".into(),
                short: "a".into(),
                since: String::new(),
            }),
            ..Status::default()
        };
        assert!(
            Metrics::new()
                .encode(&status)
                .contains(r#"handover_reconcile_revision_info{revision="a\"b\\c\nd"} 1"#)
        );
    }
}
