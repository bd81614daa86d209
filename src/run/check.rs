//! `handover provider check` as a use case: the provider protocol's
//! contract (docs/provider-protocol.md) run against any `exec:` provider,
//! for provider authors.
//!
//! Owns the list of checks ([`checks`]) and opening the provider for them
//! ([`run`]). Changes nothing in the estate (its only `apply` names a
//! member that cannot exist, and must be refused) unless a member is
//! named: then it re-applies that member's current parents and expects
//! `changed: false`. Must not plan, and must not print: the pass/fail list
//! is [`crate::report::check`]'s.

use crate::model::{MemberKind, Observed, Parents};
use crate::name::Name;
use crate::provider::exec::{ExecConfig, ExecProvider};
use crate::provider::{Operation, Provider, ProviderError, Scope, TargetSpec};
use serde::Serialize;
use std::time::Duration;

/// One check's verdict.
#[derive(Debug, Serialize)]
pub struct Check {
    /// What was checked.
    pub name: &'static str,
    /// It passed.
    pub passed: bool,
    /// What was seen.
    pub detail: String,
}

/// A host name no estate has (`.invalid` is reserved, RFC 2606).
const UNKNOWN: &str = "handover-provider-check.invalid";

/// Opens `target` (with `target_args`; it must be `exec:`), runs every
/// check, closes it and returns the checks; `member` also checks
/// idempotency on that member; `timeout` bounds each request (default
/// 2 minutes). Errs with the message to print when the target is not an
/// `exec:` one, the member is not a host name or no runtime starts.
pub fn run(
    target: &str,
    target_args: &[String],
    member: Option<&str>,
    timeout: Option<Duration>,
) -> Result<Vec<Check>, String> {
    let (program, args) = match super::target::spec(target, target_args)? {
        TargetSpec::Exec { program, args } => (program, args),
        _ => {
            return Err(
                "error: provider check needs an exec: target (exec:PROGRAM [ARGS...])".into(),
            );
        }
    };
    let member = member
        .map(Name::parse)
        .transpose()
        .map_err(|e| format!("error: --member: {e}"))?;
    let limit = timeout.unwrap_or(Duration::from_secs(120));
    let config = ExecConfig {
        capabilities_timeout: limit,
        observe_timeout: limit,
        apply_timeout: limit,
        ..ExecConfig::default()
    };
    let runtime = super::runtime()?;
    let mut p = ExecProvider::new(program, args, config);
    Ok(runtime.block_on(async {
        let c = checks(&mut p, member).await;
        p.close().await;
        c
    }))
}

/// A check named `name` from its result: passed with the detail, or
/// failed with it.
fn check(name: &'static str, r: Result<String, String>) -> Check {
    match r {
        Ok(detail) => Check {
            name,
            passed: true,
            detail,
        },
        Err(detail) => Check {
            name,
            passed: false,
            detail,
        },
    }
}

/// The `set_parents` of a member that cannot exist, onto the first
/// management server observed.
fn unknown_op(o: Option<&Observed>) -> Operation {
    let parent = o
        .and_then(|o| o.management_servers.first())
        .map(|s| s.name.clone())
        .unwrap_or_else(|| Name::parse("ms.invalid").expect("valid"));
    Operation::SetParents {
        kind: MemberKind::Agent,
        name: Name::parse(UNKNOWN).expect("valid"),
        parents: Parents::primary_only(parent),
    }
}

/// Every check against `p`, in order; the idempotency check only with
/// `member`. Stops after a failed `capabilities`.
pub async fn checks(p: &mut ExecProvider, member: Option<Name>) -> Vec<Check> {
    let mut out = Vec::new();
    // Capabilities.
    let caps = p.capabilities().await.cloned();
    out.push(check(
        "capabilities",
        match &caps {
            Ok(c) if c.operations.is_empty() => Err("lists no operation".into()),
            Ok(c) => match c.operations.iter().find(|o| {
                !["set_parents", "retire_gateway", "store_failover"].contains(&o.as_str())
            }) {
                Some(o) => Err(format!("lists an unknown operation {o:?}")),
                None => Ok(format!(
                    "operations {}; protocols {:?}; session {}; max_batch {}; parallel {}",
                    c.operations.join(", "),
                    if c.protocols.is_empty() {
                        vec![1]
                    } else {
                        c.protocols.clone()
                    },
                    c.session,
                    c.max_batch.unwrap_or(1),
                    c.parallel.unwrap_or(1)
                )),
            },
            Err(e) => Err(e.to_string()),
        },
    ));
    let Ok(caps) = caps else { return out };
    if caps.session || caps.protocols.contains(&2) {
        out.push(check(
            "capabilities: version 2 fields agree",
            if caps.sessions() {
                Ok("session true with 2 in protocols".into())
            } else {
                Err("session and protocols [1, 2] go together; with only one of them handover runs version 1".into())
            },
        ));
    }
    // Observation (in the session, if any: capabilities turned it on).
    let t0 = std::time::Instant::now();
    let all = p.observe(&Scope::All).await;
    out.push(check(
        "observe: one valid Observed document",
        match &all {
            Ok(o) => Ok(format!(
                "{} management servers, {} gateways, {} agents in {:.1} s",
                o.management_servers.len(),
                o.gateways.len(),
                o.agents.len(),
                t0.elapsed().as_secs_f64()
            )),
            Err(e) => Err(e.to_string()),
        },
    ));
    let unknown = Name::parse(UNKNOWN).expect("valid");
    out.push(check(
        "observe: a scope naming an unknown member leaves it out",
        match p.observe(&Scope::Members(vec![unknown.clone()])).await {
            Ok(o)
                if o.agents
                    .iter()
                    .chain(&o.gateways)
                    .any(|m| m.name == unknown) =>
            {
                Err(format!("reported {UNKNOWN}, which does not exist"))
            }
            Ok(_) => Ok("answered without it".into()),
            Err(e) => Err(e.to_string()),
        },
    ));
    let op = unknown_op(all.as_ref().ok());
    out.push(check(
        "apply: an unknown member gives a clean error",
        match p.apply(&op).await {
            Ok(()) => Err(format!(
                "set_parents of {UNKNOWN} succeeded; it must be refused"
            )),
            Err(ProviderError::Permanent(m)) => Ok(format!("refused: {m}")),
            Err(ProviderError::Transient(m)) => {
                Err(format!("refused as retryable (it never will succeed): {m}"))
            }
        },
    ));
    if caps.sessions() {
        let c = p.counters();
        out.push(check(
            "session: every request in one process, in step",
            if c.restarts == 0 && c.process_starts <= 2 {
                Ok(format!("{} process starts, no restart", c.process_starts))
            } else {
                Err(format!(
                    "{} process starts and {} restarts for five requests (hangs, garbage, answers out of step or exits)",
                    c.process_starts, c.restarts
                ))
            },
        ));
        if caps.batch() >= 2 {
            let r = p.apply_batch(&[op.clone(), op.clone()]).await;
            out.push(check(
                "batch: one result per operation",
                match r {
                    Ok(v) if v.len() == 2 && v.iter().all(Result::is_err) => {
                        Ok("two refusals for two unknown members".into())
                    }
                    Ok(v) => Err(format!("unexpected results {v:?}")),
                    Err(e) => Err(e.to_string()),
                },
            ));
        }
    }
    if let Some(name) = member {
        out.push(check(
            "idempotency: re-applying --member changes nothing",
            idempotent(p, &name).await,
        ));
    }
    out
}

/// Re-applies `name`'s current parents and expects `changed: false`.
async fn idempotent(p: &mut ExecProvider, name: &Name) -> Result<String, String> {
    let o = p
        .observe(&Scope::Members(vec![name.clone()]))
        .await
        .map_err(|e| e.to_string())?;
    let (kind, m) = o
        .agents
        .iter()
        .map(|m| (MemberKind::Agent, m))
        .chain(o.gateways.iter().map(|m| (MemberKind::Gateway, m)))
        .find(|(_, m)| &m.name == name)
        .ok_or_else(|| format!("{name} is not in the observation"))?;
    let op = Operation::SetParents {
        kind,
        name: name.clone(),
        parents: m.parents.clone(),
    };
    p.apply(&op).await.map_err(|e| e.to_string())?;
    match p.last_changed().first().copied().flatten() {
        Some(false) => Ok(format!("{name}: changed false")),
        Some(true) => Err(format!(
            "{name}: writing the parents it already has answered changed: true"
        )),
        None => Err(format!("{name}: the answer did not say `changed`")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_exec_target_and_a_host_name_are_checked() {
        let e = run("sim:estate.yaml", &[], None, None).unwrap_err();
        assert_eq!(
            e,
            "error: provider check needs an exec: target (exec:PROGRAM [ARGS...])"
        );
        let e = run("exec:/bin/true", &[], Some("not a host!"), None).unwrap_err();
        assert!(e.starts_with("error: --member: "), "{e}");
        let e = run("nonsense", &[], None, None).unwrap_err();
        assert!(e.starts_with("error: "), "{e}");
    }

    #[test]
    fn the_unknown_member_is_refusable_and_goes_to_the_first_management_server() {
        let op = unknown_op(None);
        let Operation::SetParents { name, parents, .. } = &op else {
            panic!("{op:?}");
        };
        assert_eq!(name.as_str(), UNKNOWN);
        assert_eq!(parents.primary.as_str(), "ms.invalid");
        assert!(check("x", Err("no".into())).detail == "no");
        assert!(check("x", Ok("yes".into())).passed);
    }
}
