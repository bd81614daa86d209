//! `handover provider check`: runs the provider protocol's contract
//! (docs/provider-protocol.md) against any `exec:` provider and prints a
//! pass/fail list, for provider authors.
//!
//! Owns the list of checks and their report. Changes nothing in the estate
//! (its only `apply` names a member that cannot exist, and must be
//! refused) unless `--member NAME` is given: then it re-applies that
//! member's current parents and expects `changed: false`. Must not plan.

use super::exit;
use clap::{Args as ClapArgs, Subcommand};
use handover::model::{MemberKind, Observed, Parents};
use handover::name::Name;
use handover::provider::exec::{ExecConfig, ExecProvider};
use handover::provider::{Operation, Provider, ProviderError, Scope, TargetSpec};
use serde::Serialize;
use std::time::Duration;

/// `handover provider ...`.
#[derive(ClapArgs, Debug)]
pub struct Args {
    /// What to do with the provider.
    #[command(subcommand)]
    pub command: ProviderCommand,
}

/// The `provider` subcommands.
#[derive(Subcommand, Debug)]
pub enum ProviderCommand {
    /// Run the protocol's contract against an `exec:` provider and print a
    /// pass/fail list; exit 0 when every check passes.
    Check(CheckArgs),
}

/// Flags of `handover provider check`.
#[derive(ClapArgs, Debug)]
pub struct CheckArgs {
    /// The provider: `exec:PROGRAM [ARGS...]`.
    #[arg(long, value_name = "TARGET")]
    pub target: String,
    /// One more argument for the program, passed verbatim. Repeatable.
    #[arg(long = "target-arg", value_name = "ARG", allow_hyphen_values = true)]
    pub target_arg: Vec<String>,
    /// Also re-apply this member's current parents and expect
    /// `changed: false` (the only check that writes to the estate).
    #[arg(long, value_name = "NAME")]
    pub member: Option<String>,
    /// The longest any one request may take (`30s`, `2m`); default 2m.
    #[arg(long, value_name = "DURATION", value_parser = super::flags::parse_duration)]
    pub provider_timeout: Option<handover::model::Seconds>,
    /// `text` (default) or `json`.
    #[arg(long, value_name = "FORMAT", default_value = "text", value_parser = ["text", "json"])]
    pub format: String,
}

/// One check's verdict.
#[derive(Debug, Serialize)]
struct Check {
    name: &'static str,
    passed: bool,
    detail: String,
}

/// A host name no estate has (`.invalid` is reserved, RFC 2606).
const UNKNOWN: &str = "handover-provider-check.invalid";

/// Runs the command; returns the exit code.
pub fn run(args: Args) -> u8 {
    let ProviderCommand::Check(args) = args.command;
    let spec = match handover::run::target::spec(&args.target, &args.target_arg) {
        Ok(TargetSpec::Exec { program, args: a }) => (program, a),
        Ok(_) => {
            eprintln!("error: provider check needs an exec: target (exec:PROGRAM [ARGS...])");
            return exit::ERROR;
        }
        Err(e) => {
            eprintln!("{e}");
            return exit::ERROR;
        }
    };
    let member = match args.member.as_deref().map(Name::parse).transpose() {
        Ok(m) => m,
        Err(e) => {
            eprintln!("error: --member: {e}");
            return exit::ERROR;
        }
    };
    let limit = args
        .provider_timeout
        .map_or(Duration::from_secs(120), |s| Duration::from_secs(s.0));
    let config = ExecConfig {
        capabilities_timeout: limit,
        observe_timeout: limit,
        apply_timeout: limit,
        ..ExecConfig::default()
    };
    let runtime = match super::runtime() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("{e}");
            return exit::ERROR;
        }
    };
    let mut p = ExecProvider::new(spec.0, spec.1, config);
    let checks = runtime.block_on(async {
        let c = checks(&mut p, member).await;
        p.close().await;
        c
    });
    let passed = checks.iter().all(|c| c.passed);
    let text = if args.format == "json" {
        let doc = serde_json::json!({ "passed": passed, "checks": checks });
        format!(
            "{}\n",
            serde_json::to_string_pretty(&doc).expect("serialises")
        )
    } else {
        let mut t = String::new();
        for c in &checks {
            let v = if c.passed { "pass" } else { "FAIL" };
            t.push_str(&format!("{v}  {}: {}\n", c.name, c.detail));
        }
        let failed = checks.iter().filter(|c| !c.passed).count();
        t.push_str(&if failed == 0 {
            format!("All {} checks passed.\n", checks.len())
        } else {
            format!("{failed} of {} checks failed.\n", checks.len())
        });
        t
    };
    if !super::write_stdout(&text) {
        return exit::ERROR;
    }
    if passed { exit::OK } else { exit::ERROR }
}

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

async fn checks(p: &mut ExecProvider, member: Option<Name>) -> Vec<Check> {
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
