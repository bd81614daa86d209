//! `handover-test-provider`: a deterministic provider program for tests. It
//! speaks the exec protocol (docs/provider-protocol.md) over a tiny
//! file-backed model, so CI drives the exec target end to end through a
//! real separate process. Not shipped; not a simulator.
//!
//! State lives in a JSON file (`--state FILE` or
//! `HANDOVER_TEST_PROVIDER_STATE`), read and rewritten on every call, so
//! successive invocations see the same estate:
//! `{"observed": <Observed>, "pending": {member: {"server", "polls"}},
//!   "applied": [<Operation>...], "calls": ["observe", "apply a01", ...],
//!   "dropped": [member...]}`.
//!
//! Model: `set_parents` writes a member's parents; a member connected to a
//! server the write no longer lists loses its connection at once and is
//! recorded in `dropped` (the stranding hazard, for tests to assert on); a
//! member not on its new primary connects to it after `--ack-after` further
//! `observe` calls. `retire_gateway` removes a gateway nothing lists;
//! `store_failover` moves the active pool.
//!
//! Misbehaviour (`--misbehave MODE`, `HANDOVER_TEST_PROVIDER_MISBEHAVE`),
//! only for requests matching `--on` (a request name, or the member or pool
//! an apply concerns; default every request): `hang`, `exit3`,
//! `exit3-retryable`, `error`, `garbage`, `truncated`, `huge` (50 MB on
//! stdout), `stderr-noise` (1 MiB on stderr, then a correct answer),
//! `silent`, `wrong-protocol`. The call is recorded in `calls` before it
//! misbehaves; nothing else changes.

use handover::model::{MemberKind, Observed, ObservedMember};
use handover::name::Name;
use handover::provider::protocol::{
    Capabilities, PROTOCOL_VERSION, Request, RequestBody, Response,
};
use handover::provider::{Operation, Scope};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::{Read, Write};
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
    /// Observations after a set_parents before the member is connected to
    /// its new primary.
    #[arg(long, default_value_t = 1)]
    ack_after: u32,
    /// Comma-separated operations to advertise (default: all three).
    #[arg(long)]
    operations: Option<String>,
}

#[derive(Default, Serialize, Deserialize)]
struct State {
    observed: Observed,
    #[serde(default)]
    pending: BTreeMap<Name, Pending>,
    #[serde(default)]
    applied: Vec<Operation>,
    #[serde(default)]
    calls: Vec<String>,
    #[serde(default)]
    dropped: Vec<Name>,
}

#[derive(Serialize, Deserialize)]
struct Pending {
    server: Name,
    polls: u32,
}

fn main() {
    let args: Args = clap::Parser::parse();
    let mut input = String::new();
    if let Err(e) = std::io::stdin().read_to_string(&mut input) {
        fail(&format!("reading the request: {e}"), 1);
    }
    let req: Request = match serde_json::from_str(&input) {
        Ok(r) => r,
        Err(e) => fail(&format!("the request is not a protocol request: {e}"), 1),
    };
    let mut state = match load(&args.state) {
        Ok(s) => s,
        Err(e) => fail(&e, 1),
    };
    state.calls.push(describe(&req.body));
    let misbehaving = args
        .misbehave
        .as_deref()
        .filter(|_| matches(&req.body, &args.on));
    if let Some(mode) = misbehaving {
        save(&args.state, &state);
        misbehave(mode, &args, &req, state);
    }
    let resp = answer(&args, req, &mut state);
    save(&args.state, &state);
    emit(&resp);
}

fn describe(body: &RequestBody) -> String {
    match body {
        RequestBody::Apply { operation } => format!("apply {}", subject(operation)),
        b => b.name().to_string(),
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
    match body {
        RequestBody::Apply { operation } => subject(operation).eq_ignore_ascii_case(on),
        _ => false,
    }
}

fn misbehave(mode: &str, args: &Args, req: &Request, mut state: State) -> ! {
    let mut out = std::io::stdout().lock();
    match mode {
        "hang" => {
            let pid = args.state.with_extension("pid");
            let _ = std::fs::write(pid, std::process::id().to_string());
            loop {
                std::thread::sleep(std::time::Duration::from_secs(3600));
            }
        }
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
            let full = serde_json::to_vec(&answer(args, req.clone(), &mut state)).unwrap();
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
        "stderr-noise" => {
            let mut err = std::io::stderr().lock();
            let line =
                b"WARNING: noise noise noise {\"not\": \"the response\"} noise noise noise\n";
            for _ in 0..(1 << 20) / line.len() {
                let _ = err.write_all(line);
            }
            drop(err);
            let resp = answer(args, req.clone(), &mut state);
            save(&args.state, &state);
            emit(&resp);
            std::process::exit(0)
        }
        "silent" => std::process::exit(0),
        "wrong-protocol" => {
            let _ = out.write_all(br#"{"protocol":2,"ok":true}"#);
            std::process::exit(0)
        }
        other => fail(&format!("unknown misbehaviour {other:?}"), 2),
    }
}

fn answer(args: &Args, req: Request, state: &mut State) -> Response {
    if req.protocol != PROTOCOL_VERSION {
        return Response::error(format!("protocol {} is not supported", req.protocol), false);
    }
    match req.body {
        RequestBody::Capabilities => Response {
            capabilities: Some(Capabilities {
                operations: args
                    .operations
                    .as_deref()
                    .unwrap_or("set_parents,retire_gateway,store_failover")
                    .split(',')
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect(),
                provider: Some("handover-test-provider".into()),
                version: Some(env!("CARGO_PKG_VERSION").into()),
            }),
            ..Response::ok()
        },
        RequestBody::Observe { scope } => {
            advance(state);
            Response {
                observed: Some(scoped(&state.observed, &scope.into())),
                ..Response::ok()
            }
        }
        RequestBody::Apply { operation } => match apply(args, state, &operation) {
            Ok(changed) => {
                state.applied.push(operation);
                Response {
                    changed: Some(changed),
                    ..Response::ok()
                }
            }
            Err(m) => Response::error(m, false),
        },
    }
}

fn advance(state: &mut State) {
    let mut done = Vec::new();
    for (name, p) in state.pending.iter_mut() {
        p.polls = p.polls.saturating_sub(1);
        if p.polls == 0 {
            done.push(name.clone());
        }
    }
    for name in done {
        let p = state.pending.remove(&name).expect("listed");
        let o = &mut state.observed;
        if let Some(m) = o
            .agents
            .iter_mut()
            .chain(o.gateways.iter_mut())
            .find(|m| m.name == name)
            && m.parents.lists(&p.server)
        {
            m.connected = Some(p.server);
        }
    }
}

fn scoped(o: &Observed, scope: &Scope) -> Observed {
    match scope {
        Scope::All => o.clone(),
        Scope::Members(names) => {
            let keep = |m: &&ObservedMember| names.contains(&m.name);
            Observed {
                gateways: o.gateways.iter().filter(keep).cloned().collect(),
                agents: o.agents.iter().filter(keep).cloned().collect(),
                ..o.clone()
            }
        }
    }
}

fn apply(args: &Args, state: &mut State, op: &Operation) -> Result<bool, String> {
    let o = &mut state.observed;
    match op {
        Operation::SetParents {
            kind,
            name,
            parents,
        } => {
            let list = match kind {
                MemberKind::Agent => &mut o.agents,
                MemberKind::Gateway => &mut o.gateways,
            };
            let m = list
                .iter_mut()
                .find(|m| &m.name == name)
                .ok_or_else(|| format!("no {kind} named {name} in this management group"))?;
            let changed = m.parents != *parents;
            m.parents = parents.clone();
            if let Some(c) = &m.connected
                && !parents.lists(c)
            {
                m.connected = None;
                state.dropped.push(name.clone());
            }
            if m.connected.as_ref() != Some(&parents.primary) {
                state.pending.insert(
                    name.clone(),
                    Pending {
                        server: parents.primary.clone(),
                        polls: args.ack_after,
                    },
                );
            }
            Ok(changed)
        }
        Operation::RetireGateway { name } => {
            if let Some(user) = o
                .agents
                .iter()
                .chain(o.gateways.iter())
                .find(|m| m.parents.lists(name))
            {
                return Err(format!("gateway {name} is still listed by {}", user.name));
            }
            let before = o.gateways.len();
            o.gateways.retain(|g| &g.name != name);
            Ok(o.gateways.len() != before)
        }
        Operation::StoreFailover { pool, .. } => {
            let store = o
                .management_store
                .as_mut()
                .ok_or("this estate has no Central Management Store")?;
            let changed = store.active_pool.as_ref() != Some(pool);
            store.active_pool = Some(pool.clone());
            Ok(changed)
        }
    }
}

fn load(path: &Path) -> Result<State, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read state file {}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("state file {}: {e}", path.display()))
}

fn save(path: &Path, state: &State) {
    let tmp = path.with_extension("tmp");
    let text = serde_json::to_vec_pretty(state).expect("state serialises");
    if let Err(e) = std::fs::write(&tmp, text).and_then(|_| std::fs::rename(&tmp, path)) {
        fail(
            &format!("cannot write state file {}: {e}", path.display()),
            1,
        );
    }
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
