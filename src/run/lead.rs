//! `reconcile --ha`: one replica's pass, leader or standby.
//!
//! The use case between the reconcile loop and [`crate::ha`]: starts the
//! HA node (the etcd thread, whose view of roles goes into `/status`), and
//! runs each pass according to this replica's role in the group named by
//! the topology's `metadata.name`. A **standby** opens the target
//! read-only, observes, plans and reports; it is never given a provider it
//! could apply through. A **leader** confirms its term in etcd before it
//! opens the target for changes, reads the group's rollout memory, resume
//! and approvals from etcd ([`crate::ha::shared`]; a standby reads them
//! too, to show the same rollout), writes a memory the pass changed back
//! to etcd fenced before any change it admits starts, applies through
//! [`Fenced`] (every
//! operation checked against its term, atomically with its shared journal
//! entry), writes the run to the shared journal, and does not save a
//! `sim:` target at the end (its log already holds every call; the next
//! opening folds it in, and a save from a replica that has just lost
//! leadership could roll the estate back). Must not take the target's file
//! lock: etcd decides who applies.

use super::pass::{
    IdleOnDrop, PassEnv, apply_followed, fail, journal_problem, log_planned, observe_and_plan,
    observe_failed, open_target,
};
use super::rollout::gate::Shared;
use super::target::Target;
use crate::execute::{Cancel, Inspect};
use crate::ha::fence::{FenceError, fenced_put};
use crate::ha::journal::{RunJournal, compact};
use crate::ha::shared::{self, Snapshot};
use crate::ha::{Fenced, Ha, HaConfig, Keys, Role, Term};
use crate::model::Seconds;
use crate::reconcile::serve::status::ErrorKind;
use crate::reconcile::{LiveHandle, PassContext, PassResult, StatusHandle};
use crate::state::journal::{self, Record, now_rfc3339};
use crate::verdict::Verdict;
use std::sync::Arc;
use std::time::Instant;

/// The group of a topology without `metadata.name`.
const DEFAULT_GROUP: &str = "default";

/// Starts the HA node for `--ha URL`; its role changes show in `status`,
/// and while leader it publishes `status` for the standbys, with the pass
/// in progress (`live`) laid over it, as its own `/status` shows it.
pub fn start(
    url: &str,
    ttl: Seconds,
    id: Option<String>,
    security: crate::ha::secure::Security,
    status: &StatusHandle,
    live: &LiveHandle,
) -> Result<Ha, String> {
    let url = crate::ha::url::parse(url).map_err(|e| format!("error: --ha: {e}"))?;
    if ttl.0 < 1 {
        return Err("error: --ha-ttl must be at least 1s".into());
    }
    let id = id.unwrap_or_else(crate::ha::default_id);
    if id.trim().is_empty() {
        return Err("error: --ha-id must not be empty".into());
    }
    let published = status.clone();
    let progress = live.clone();
    let shown = status.clone();
    let hooks = crate::ha::Hooks {
        publish: Arc::new(move || {
            let recorded = published.snapshot();
            let mut s = progress.read(|l| l.status(recorded));
            s.ha = None;
            serde_json::to_value(&s).unwrap_or_default()
        }),
        on_view: Arc::new(move |v| shown.update(|s| s.ha = Some(v))),
    };
    let ha = Ha::start(
        HaConfig {
            url,
            ttl: ttl.as_duration(),
            id,
            security,
        },
        hooks,
    )
    .map_err(|e| format!("error: {e}"))?;
    status.update(|s| s.ha = Some(ha.view()));
    tracing::info!(replica = %ha.config.id, etcd = %ha.config.url, ttl_s = ttl.0, "high availability on etcd");
    Ok(ha)
}

/// One pass of a replica: lead or observe, by its role now.
pub async fn pass(env: &PassEnv, ha: &Ha, ctx: PassContext<'_>) -> PassResult {
    let group = ctx
        .topology
        .group
        .clone()
        .unwrap_or_else(|| DEFAULT_GROUP.to_string());
    ha.join(&group);
    env.live.planning(ctx.pass);
    let _idle = IdleOnDrop(&env.live);
    match ha.role() {
        Role::Leader(term) if term.valid_at(Instant::now()) => lead(env, ha, term, ctx).await,
        role => observe_only(env, ha, &group, &role, ctx).await,
    }
}

/// Reads the group's rollout memory, resume and approvals from etcd
/// ([`shared::read`]), within the lease TTL.
async fn read_shared(ha: &Ha, keys: &Keys) -> Result<Snapshot, String> {
    let mut c = ha.client();
    let keys = keys.clone();
    let limit = ha.config.ttl.max(std::time::Duration::from_secs(1));
    match ha
        .call(async move { tokio::time::timeout(limit, shared::read(&mut c, &keys)).await })
        .await
    {
        Ok(Ok(s)) => Ok(s),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("etcd did not answer in time".into()),
    }
}

/// The write times of the leaders before `term` on `target`, from the
/// shared journal, read once per term ([`Term::earlier_writes`]); this
/// replica's own writes come from its local journal as the target opens.
/// `None` (logged, tried again next pass) when etcd cannot be read: the
/// evidence judgement then has only the local journal's times.
async fn earlier_writes<'t>(
    ha: &Ha,
    term: &'t Term,
    target: &str,
) -> Option<&'t crate::provider::evidence::Writes> {
    if let Some(w) = term.earlier_writes.get() {
        return Some(w);
    }
    let mut c = ha.client();
    let prefix = term.keys.journal_prefix();
    let limit = ha.config.ttl.max(std::time::Duration::from_secs(1));
    let read = ha
        .call(async move {
            tokio::time::timeout(limit, crate::ha::journal::read(&mut c, &prefix)).await
        })
        .await;
    match read {
        Ok(Ok(entries)) => {
            let w = super::writes::from_shared(&entries, target);
            tracing::debug!(
                members = w.len(),
                "write times seeded from the shared journal"
            );
            Some(term.earlier_writes.get_or_init(|| w))
        }
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "cannot read the shared journal: evidence is judged without the earlier leaders' write times");
            None
        }
        Err(_) => {
            tracing::warn!(
                "cannot read the shared journal in time: evidence is judged without the earlier leaders' write times"
            );
            None
        }
    }
}

/// A standby's pass: observe and plan, read-only, with the rollout's
/// memory and the approvals the leader reads (so its `/status` shows the
/// same rollout); it writes none of them.
async fn observe_only(
    env: &PassEnv,
    ha: &Ha,
    group: &str,
    role: &Role,
    ctx: PassContext<'_>,
) -> PassResult {
    let mut target = match Target::open_read_only(&env.spec, &env.open) {
        Ok((t, _notes)) => t,
        Err(e) => {
            return observe_failed(env, "open", e);
        }
    };
    let snapshot = read_shared(ha, &Keys::new(&ha.config.url.prefix, group))
        .await
        .unwrap_or_default();
    env.gates.etcd_approvals.set(&snapshot.approvals);
    let memory = Shared::standby(snapshot.memory, snapshot.resumed);
    let (_, plan) = match observe_and_plan(env, &ctx, &mut target, &memory).await {
        Ok(p) => p,
        Err(e) => return observe_failed(env, "observe", e),
    };
    let leader = match role {
        Role::Standby { leader } => leader.clone().unwrap_or_else(|| "none".into()),
        _ => "unknown".into(),
    };
    tracing::info!(
        role = "standby",
        leader = %leader,
        steps = plan.steps.len(),
        "observed; a standby applies nothing"
    );
    PassResult {
        stranded: target.stranded().len() as u64,
        plan: Some(plan),
        report: None,
        converged: false,
        error: None,
        gates: env.gates.take_view(),
    }
}

/// Writes `puts` (a shared journal entry, the rollout's memory, or
/// nothing) under the term, which confirms the term in etcd: `Err` with
/// the pass's result when leadership is lost (the term ends; `plan` kept
/// for the status) or etcd cannot say.
async fn confirm(
    ha: &Ha,
    term: &Arc<Term>,
    puts: Vec<(String, String)>,
    plan: Option<crate::plan::Plan>,
) -> Result<(), PassResult> {
    match fenced_put(ha, term, puts).await {
        Ok(()) => Ok(()),
        Err(FenceError::Lost(l)) => {
            tracing::warn!("{l}");
            term.end();
            Err(PassResult {
                plan,
                ..PassResult::default()
            })
        }
        Err(FenceError::Etcd(e)) => Err(fail(
            ErrorKind::Apply,
            format!("cannot confirm leadership with etcd: {e}"),
        )),
    }
}

/// A leader's pass: confirm the term, open, observe, plan, apply fenced.
async fn lead(env: &PassEnv, ha: &Ha, term: Arc<Term>, ctx: PassContext<'_>) -> PassResult {
    // Confirm the term in etcd before opening the target for changes
    // (opening a sim: target may write it).
    if let Err(r) = confirm(ha, &term, Vec::new(), None).await {
        return r;
    }
    // The rollout's memory and the approvals, from etcd: a replica that
    // took over goes on where the last leader left off.
    let snapshot = match read_shared(ha, &term.keys).await {
        Ok(s) => s,
        Err(e) if ctx.topology.policy.rollout.is_some() => {
            env.gates.etcd_approvals.set(&[]);
            return fail(
                ErrorKind::Apply,
                format!(
                    "cannot read the rollout's state from etcd: {e}; no change starts in this pass"
                ),
            );
        }
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the approvals from etcd; only the journal's and the file's count in this pass");
            Snapshot::default()
        }
    };
    env.gates.etcd_approvals.set(&snapshot.approvals);
    let memory = Shared::leader(snapshot.memory, snapshot.resumed, &env.state_dir);
    let mut target = match open_target(&env.spec, &env.open) {
        Ok(t) => t,
        Err(e) => {
            return observe_failed(env, "open", e);
        }
    };
    if let Target::Exec(provider) = &mut target
        && let Some(writes) = earlier_writes(ha, &term, &env.target).await
    {
        for (member, at) in writes {
            provider.remember_write(member, *at);
        }
    }
    let run = journal::new_run_id();
    let cancel = Cancel::new();
    let shared = RunJournal::new(term.keys.clone(), &run, &term.id, term.revision);
    let mut fenced = Fenced::new(
        &mut target,
        ha,
        term.clone(),
        shared,
        &run,
        cancel.clone(),
        ctx.cancel.clone(),
    );
    let (start, plan) = match observe_and_plan(env, &ctx, &mut fenced, &memory).await {
        Ok(p) => p,
        Err(_) if fenced.lost().is_some() => return PassResult::default(),
        Err(e) => return observe_failed(env, "observe", e),
    };
    log_planned(&plan, ctx.suspended, Some(term.revision));
    // A changed memory goes to etcd before any change it admits starts,
    // in the same transaction as the leadership check.
    if let Some((m, events)) = memory.take_changed() {
        let entry = shared::state_entry(&term.keys, &term.id, term.revision, &m, &events);
        if let Err(r) = confirm(ha, &term, vec![entry], Some(plan.clone())).await {
            return r;
        }
    }
    if ctx.suspended || plan.steps.is_empty() {
        return PassResult {
            stranded: fenced.stranded().len() as u64,
            plan: Some(plan),
            report: None,
            converged: false,
            error: None,
            gates: env.gates.take_view(),
        };
    }
    if ctx.cancel.is_cancelled() {
        cancel.cancel();
    }
    let info = env.run_info(&ctx, run.clone());
    // The run starts in the shared journal under a confirmed term, or not
    // at all.
    let started = fenced.journal().next(info.started(now_rfc3339()));
    if let Err(r) = confirm(ha, &term, vec![started], Some(plan.clone())).await {
        return r;
    }
    let _window = env.gates.stop_at_close(&cancel, None);
    let applied = apply_followed(env, &ctx, &mut fenced, &plan, &start, &info, cancel).await;
    let result = applied.result;
    let lost = fenced.lost().cloned();
    let outcome = if lost.is_some() {
        Verdict::Interrupted
    } else {
        result.outcome
    };
    fenced
        .journal()
        .put(
            ha,
            Record::RunFinished {
                run: run.clone(),
                at: now_rfc3339(),
                outcome: outcome.as_str().to_string(),
                applied: result.report.steps_applied,
                pending: result.report.pending.len() as u64,
                blocked: plan.blocked.len() as u64,
            },
        )
        .await;
    drop(fenced);
    let mut client = ha.client();
    let keys = term.keys.clone();
    if let Err(e) = ha
        .call(async move { compact(&mut client, &keys).await })
        .await
    {
        tracing::warn!(error = %e, "cannot compact the shared journal");
    }
    tracing::info!(
        run = %run,
        term = term.revision,
        outcome = outcome.as_str(),
        applied = result.report.steps_applied,
        pending = result.report.pending.len(),
        "applied"
    );
    let error = match &lost {
        Some(_) => None,
        None => journal_problem(result.journal_error.as_ref(), applied.journal_missing),
    };
    PassResult {
        stranded: result.stranded.len() as u64,
        converged: lost.is_none() && result.outcome == Verdict::Converged,
        plan: Some(plan),
        report: Some(result.report),
        error,
        gates: env.gates.take_view(),
    }
}
