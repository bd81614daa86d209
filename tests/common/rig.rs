//! A small estate for the test provider, built in code: the rig the
//! session tests drive `ExecProvider` against.
//!
//! Owns the rig's shape (ms1; gateways gw1 and gw2 on it; agents on gw1),
//! the state file it is written to, the provider on it and an agent's
//! bridge to gw2. Must not decide what a test runs or asserts.

use handover::model::{MemberKind, Observed, ObservedMember, ObservedServer, Parents};
use handover::name::Name;
use handover::provider::Operation;
use handover::provider::exec::{ExecConfig, ExecProvider};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A host name that is known to be valid.
pub fn n(s: &str) -> Name {
    Name::parse(s).unwrap()
}

/// A member on `parent`, connected to it, up and ready.
pub fn member(name: &str, parent: &str) -> ObservedMember {
    ObservedMember {
        name: n(name),
        parents: Parents::primary_only(n(parent)),
        connected: Some(n(parent)),
        up: true,
        ready: true,
        evidence: None,
    }
}

/// ms1; gateways gw1, gw2 on it; agents `a0`…`a{agents - 1}` on gw1,
/// written as the test provider's `state.json` in a new temporary
/// directory.
pub fn rig(agents: usize) -> (tempfile::TempDir, PathBuf) {
    let mut o = Observed::new();
    o.management_servers = vec![ObservedServer {
        name: n("ms1"),
        up: true,
    }];
    o.gateways = vec![member("gw1", "ms1"), member("gw2", "ms1")];
    o.agents = (0..agents)
        .map(|i| member(&format!("a{i}"), "gw1"))
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    let doc = serde_json::json!({ "observed": o });
    std::fs::write(&state, serde_json::to_vec(&doc).unwrap()).unwrap();
    (dir, state)
}

/// The test provider on the state file `state`: `--state STATE`, then
/// `args`, each request given `timeout`.
pub fn provider(state: &Path, args: &[&str], timeout: Duration) -> ExecProvider {
    let mut all = vec!["--state".to_string(), state.display().to_string()];
    all.extend(args.iter().map(|s| s.to_string()));
    let config = ExecConfig {
        capabilities_timeout: timeout,
        observe_timeout: timeout,
        apply_timeout: timeout,
        ..ExecConfig::default()
    };
    ExecProvider::new(env!("CARGO_BIN_EXE_handover-test-provider"), all, config)
}

/// Agent `a{i}`'s bridge from gw1 to gw2: primary gw2, failover gw1.
pub fn to_gw2(i: usize) -> Operation {
    Operation::SetParents {
        kind: MemberKind::Agent,
        name: n(&format!("a{i}")),
        parents: Parents {
            primary: n("gw2"),
            failover: vec![n("gw1")],
        },
    }
}
