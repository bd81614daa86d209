//! The use cases: what a command does once its flags are read.
//!
//! Owns the orchestration the CLI used to hold:
//! - [`apply`]: one journalled apply run (journal, executor, verdict), and
//!   the whole `apply` command behind a prompt-and-progress seam
//!   ([`apply::interactive`]);
//! - [`target`]: opening a `sim:` or `exec:` target, and the [`target::Target`]
//!   that dispatches to it;
//! - [`reconcile`]: a whole reconcile run, wired from plain settings, and
//!   the choice of pass;
//! - [`pass`]: one reconcile pass (open, observe, plan, apply, save) and
//!   what every applying pass shares;
//! - [`lead`]: a replica's pass with `--ha` (a standby observes; the
//!   leader confirms its term and applies fenced); it imports [`pass`],
//!   never the reverse, and [`reconcile`] chooses between them;
//! - [`edges`]: the listener and signal handlers of a reconcile run, and
//!   its one shutdown path;
//! - [`gates`]: change windows and approval gates (docs/gates.md): the
//!   clock and the approvals brought to the core's judgement, for a
//!   reconcile pass, `plan`, `apply` and `approve`;
//! - [`history`]: folding journal records into runs;
//! - [`origin`]: who runs a run (the OS user) and from which git commit;
//! - [`units`]: walking the paths `validate` is given into units to check;
//! - [`rehearse`]: `simulate`'s rehearsal (the simulator, its faults, the
//!   rollout and the gates composed as a reconcile pass composes them,
//!   the first plan's forecast);
//! - [`check`]: `provider check`'s contract run against an `exec:`
//!   program;
//! - [`wait`]: `wait` and `status`, a client of a running
//!   `reconcile --listen` (reading `/status`, polling, timing out);
//! - [`rollout`]: a progressive rollout's planner and its one admission call.
//! - [`writes`]: the write times an `exec:` provider judges evidence by,
//!   seeded from the journal when a target is opened to change it.
//!
//! Must not parse flags or print to stdout: [`crate`]'s users (the CLI,
//! the tests) hand in plain options and print what comes back. Logs go
//! through `tracing`; warnings a command must show come back as values.
//! Exit codes come from [`crate::verdict`].

pub mod apply;
pub mod check;
pub mod edges;
pub mod gates;
pub mod history;
pub mod lead;
pub mod origin;
pub mod pass;
pub mod reconcile;
pub mod rehearse;
pub mod rollout;
pub mod target;
pub mod units;
pub mod wait;
pub mod writes;

/// The single-threaded runtime a command drives its target on, or the
/// message to print when the system refuses one.
pub fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("error: cannot start the runtime: {e}"))
}
