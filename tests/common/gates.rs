//! The small contoso estate the gate and rollout tests share: agents
//! `a1`…`aN.contoso.local` on `ms1`, and a topology whose one rule moves
//! every agent to `ms2`, under the policy a test gives.
//!
//! Owns those documents, the weeknight change window, a time outside it,
//! and counting the agents that moved. Must not decide what a test runs or
//! asserts.

use std::path::Path;

/// Saturday 12 December 2026, noon in Berlin: outside [`WEEKNIGHTS`].
pub const OUTSIDE: &str = "2026-12-12T12:00:00+01:00";

/// `policy.windows`: weeknights from 22:00 for 4 hours, Berlin time.
pub const WEEKNIGHTS: &str = "  windows:
    - {kind: allow, schedule: \"0 22 * * 1-5\", duration: 4h, timeZone: Europe/Berlin}
";

/// The observed estate: `agents` agents (`a1`, `a2`, …) on ms1, both
/// management servers up.
pub fn observed(agents: usize) -> String {
    let mut s = String::from(
        "apiVersion: handover/v1
kind: Observed
managementServers: [{name: ms1.contoso.local, up: true}, {name: ms2.contoso.local, up: true}]
agents:
",
    );
    for i in 1..=agents {
        s.push_str(&format!(
            "  - {{name: a{i}.contoso.local, primary: ms1.contoso.local, failover: [], connected: ms1.contoso.local}}\n"
        ));
    }
    s
}

/// Every agent moves from ms1 to ms2, under `policy` (its lines, indented
/// under `policy:`).
pub fn desired(policy: &str) -> String {
    format!(
        "apiVersion: handover/v1
kind: Topology
managementServers: [{{name: ms1.contoso.local}}, {{name: ms2.contoso.local}}]
agentRules:
  - {{match: \"*.contoso.local\", primary: ms2.contoso.local, failover: []}}
policy:
{policy}"
    )
}

/// How many agents have ms2 as their configured primary (moved, or
/// bridged onto it) in the `sim:` estate `dir/estate.yaml`.
pub fn moved(dir: &Path) -> usize {
    let o = handover::load::observed(&dir.join("estate.yaml")).unwrap();
    o.agents
        .iter()
        .filter(|a| a.parents.primary.as_str() == "ms2.contoso.local")
        .count()
}
