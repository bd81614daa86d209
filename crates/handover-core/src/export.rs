//! What `handover export` prints: an observed state as a readable
//! `kind: Observed` YAML document, or as a desired `kind: Topology` that
//! would plan empty against it (bringing an existing estate under git).
//!
//! Also the text a `sim:FILE` target writes back to FILE after each command.
//! Pure: plain data in, text out; must not touch I/O. The output is stable
//! (the observation's order, one member per block) and reads back through
//! the loader unchanged.

use crate::diag::thousands;
use crate::model::{Observed, ObservedMember};
use crate::name::Name;
use std::fmt::Write;

mod capacity;
pub mod rules;

/// A host name as a YAML scalar: plain, unless YAML would read it as
/// something else (`true`, `null`, `0123`, ...), then double-quoted.
fn scalar(n: &Name) -> String {
    let s = n.as_str();
    let special = matches!(
        s.to_ascii_lowercase().as_str(),
        "true" | "false" | "null" | "yes" | "no" | "on" | "off" | "y" | "n" | "~"
    );
    let numeric = s.starts_with(|c: char| c.is_ascii_digit() || c == '-' || c == '.')
        && s.parse::<f64>().is_ok();
    let leading_dot_or_dash = s.starts_with('-') || s.starts_with('.');
    if special || numeric || leading_dot_or_dash {
        format!("\"{s}\"")
    } else {
        s.to_string()
    }
}

/// Names as a flow list: `[a, b]`.
fn list(out: &mut String, names: &[Name]) {
    out.push('[');
    for (i, n) in names.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        out.push_str(&scalar(n));
    }
    out.push(']');
}

/// `name:` opening a list on its own line, or `name: []` when it is empty.
fn key(out: &mut String, name: &str, empty: bool) {
    out.push_str(name);
    out.push(':');
    if empty {
        out.push_str(" []");
    }
    out.push('\n');
}

/// A member's entry of a list: its name, primary and failovers (flow
/// style), without the line's end.
fn parents(out: &mut String, m: &ObservedMember) {
    let _ = write!(
        out,
        "  - name: {}\n    primary: {}\n    failover: ",
        scalar(&m.name),
        scalar(&m.parents.primary)
    );
    list(out, &m.parents.failover);
}

/// An observed member's entry: its parents, connection and (gateways)
/// health.
fn member(out: &mut String, m: &ObservedMember, gateway: bool) {
    parents(out, m);
    match &m.connected {
        Some(c) => {
            let _ = write!(out, "\n    connected: {}", scalar(c));
        }
        None => out.push_str("\n    connected: null"),
    }
    if gateway {
        let _ = write!(out, "\n    up: {}\n    ready: {}", m.up, m.ready);
    }
    out.push('\n');
}

/// The observed state as a `kind: Observed` YAML document (docs/spec.md section 2),
/// the store included when there is one.
pub fn observed_yaml(o: &Observed) -> String {
    let mut out = String::with_capacity(120 * (o.agents.len() + o.gateways.len()) + 256);
    out.push_str("apiVersion: handover/v1\nkind: Observed\n");
    key(
        &mut out,
        "managementServers",
        o.management_servers.is_empty(),
    );
    for m in &o.management_servers {
        let _ = writeln!(out, "  - name: {}\n    up: {}", scalar(&m.name), m.up);
    }
    for (name, members, gateway) in [
        ("gateways", &o.gateways, true),
        ("agents", &o.agents, false),
    ] {
        key(&mut out, name, members.is_empty());
        for m in members {
            member(&mut out, m, gateway);
        }
    }
    if let Some(s) = &o.management_store {
        out.push_str("managementStore:\n  activePool: ");
        match &s.active_pool {
            Some(p) => out.push_str(&scalar(p)),
            None => out.push_str("null"),
        }
        out.push('\n');
        key(&mut out, "  pools", s.pools.is_empty());
        for p in &s.pools {
            let _ = writeln!(out, "    - name: {}\n      up: {}", scalar(&p.name), p.up);
        }
        let _ = writeln!(out, "  replicationComplete: {}", s.replication_complete);
    }
    out
}

/// A desired topology that plans empty against `o`: every management
/// server, every gateway and every agent listed explicitly with the parents
/// it has now, and the store (when it is active somewhere) in its active
/// pool. Policy is left at its defaults (gateways are never retired) unless
/// the estate is over them (see [`topology`]), so the first edit a person
/// makes is the first change a plan shows.
pub fn topology_yaml(o: &Observed, group: Option<&str>) -> String {
    topology(o, group, false).text
}

/// An exported topology, and what the person exporting it must know.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TopologyExport {
    /// The `kind: Topology` document.
    pub text: String,
    /// One sentence per parent over Microsoft's supported limits (2,000
    /// agents per gateway, 3,000 agents and gateways per management
    /// server): the document raises `policy.capacity` so it plans empty,
    /// and the estate should be brought back under the limits.
    pub warnings: Vec<String>,
}

/// A desired topology that plans empty against `o`, as [`topology_yaml`];
/// with `rules`, the agents sharing a domain suffix and the same parents
/// become one `agentRules` entry and only the others are listed (see
/// [`rules`](crate::export::rules)). When a parent carries more members than
/// the default `policy.capacity` allows, the document sets the capacity to
/// the largest observed load (so it plans empty) and the warnings say which
/// parents are over Microsoft's supported limits.
pub fn topology(o: &Observed, group: Option<&str>, rules: bool) -> TopologyExport {
    let mut out = String::with_capacity(100 * (o.agents.len() + o.gateways.len()) + 256);
    out.push_str("# Generated by `handover export --as-topology`: the estate as it is now.\n");
    let grouped = if rules {
        Some(rules::group(&o.agents))
    } else {
        None
    };
    if let Some(g) = &grouped
        && !g.rules.is_empty()
    {
        out.push_str(
            "# agentRules give their parents to every agent they match, now and when new\n\
             # agents join; agents listed under `agents` are the exceptions and win.\n",
        );
    }
    out.push_str("apiVersion: handover/v1\nkind: Topology\n");
    if let Some(g) = group {
        let _ = writeln!(out, "metadata:\n  name: {g}");
    }
    key(
        &mut out,
        "managementServers",
        o.management_servers.is_empty(),
    );
    for m in &o.management_servers {
        let _ = writeln!(out, "  - name: {}", scalar(&m.name));
    }
    let listed: Vec<&ObservedMember> = match &grouped {
        Some(g) => g.listed.clone(),
        None => o.agents.iter().collect(),
    };
    let gateways: Vec<&ObservedMember> = o.gateways.iter().collect();
    for (name, members) in [("gateways", &gateways), ("agents", &listed)] {
        key(&mut out, name, members.is_empty());
        for m in members {
            parents(&mut out, m);
            out.push('\n');
        }
    }
    if let Some(g) = &grouped
        && !g.rules.is_empty()
    {
        out.push_str("agentRules:\n");
        for r in &g.rules {
            let _ = write!(
                out,
                "  - match: \"*.{}\"   # {} agents\n    primary: {}\n    failover: ",
                r.suffix,
                thousands(r.agents as u64),
                scalar(&r.parents.primary)
            );
            list(&mut out, &r.parents.failover);
            out.push('\n');
        }
    }
    if let Some(pool) = o
        .management_store
        .as_ref()
        .and_then(|s| s.active_pool.as_ref())
    {
        let _ = writeln!(out, "managementStore:\n  pool: {}", scalar(pool));
    }
    let over = capacity::over(o);
    capacity::write_policy(&mut out, &over);
    TopologyExport {
        text: out,
        warnings: over.warnings,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLES: &[&str] = &[
        "replace-gateway",
        "add-gateway-failover",
        "management-store-failover",
        "move-gateways-to-new-management-server",
    ];

    fn example(name: &str) -> Observed {
        let path = format!(
            "{}/../../examples/topologies/{name}/observed.yaml",
            env!("CARGO_MANIFEST_DIR")
        );
        crate::load::observed(std::path::Path::new(&path)).unwrap()
    }

    #[test]
    fn observed_yaml_reads_back_unchanged() {
        for name in EXAMPLES {
            let o = example(name);
            let text = observed_yaml(&o);
            let back = crate::load::observed_str(&text, "export.yaml").unwrap();
            assert_eq!(back, o, "{name}");
        }
    }

    #[test]
    fn topology_plans_empty() {
        for name in EXAMPLES {
            let o = example(name);
            let text = topology_yaml(&o, Some("contoso"));
            let t = crate::load::topology_str(&text, "topology.yaml").unwrap();
            let plan = crate::plan::plan(&t, &o);
            assert!(plan.steps.is_empty(), "{name}: {:?}", plan.steps);
        }
    }

    /// 12 gateways under two management servers; agents in one domain per
    /// gateway, 3,700 on the first gateway (over the supported 2,000), a
    /// few exceptions with other parents, and agents with no domain.
    fn big_estate() -> Observed {
        let mut text = String::from(
            "apiVersion: handover/v1\nkind: Observed\nmanagementServers: [{name: ms1, up: true}, {name: ms2, up: true}]\ngateways:\n",
        );
        for g in 1..=12 {
            let ms = if g % 2 == 0 { "ms2" } else { "ms1" };
            text.push_str(&format!(
                "  - {{name: gw{g}.contoso.local, primary: {ms}, connected: {ms}}}\n"
            ));
        }
        text.push_str("agents:\n");
        for g in 1..=12 {
            let n = if g == 1 { 3700 } else { 1500 };
            let next = g % 12 + 1;
            for i in 0..n {
                let (primary, failover) = if i % 500 == 7 {
                    (format!("gw{next}.contoso.local"), "[]".to_string())
                } else {
                    (
                        format!("gw{g}.contoso.local"),
                        format!("[gw{next}.contoso.local]"),
                    )
                };
                text.push_str(&format!(
                    "  - {{name: a{i}.site{g}.contoso.local, primary: {primary}, failover: {failover}, connected: {primary}}}\n"
                ));
            }
        }
        text.push_str("  - {name: lonely, primary: ms1, connected: ms1}\n");
        crate::load::observed_str(&text, "big.yaml").unwrap()
    }

    #[test]
    fn an_estate_over_the_supported_limits_exports_a_capacity_that_plans_empty() {
        let o = big_estate();
        // Without the capacity the export would not even validate.
        let e = topology(&o, None, false);
        assert_eq!(e.warnings.len(), 1, "{:?}", e.warnings);
        assert!(
            e.warnings[0].starts_with("gateway gw1.contoso.local is the primary of 3,695 agents, over Microsoft's supported limit of 2,000"),
            "{}",
            e.warnings[0]
        );
        assert!(
            e.text.contains(
                "policy:\n  capacity:\n    gateway: 3695   # over Microsoft's supported 2,000"
            ),
            "{}",
            &e.text[e.text.len() - 300..]
        );
        let t = crate::load::topology_str(&e.text, "t.yaml").unwrap();
        assert!(crate::plan::plan(&t, &o).steps.is_empty());
        // Within the limits, no policy block and no warning.
        let small = example("replace-gateway");
        let e = topology(&small, None, false);
        assert!(e.warnings.is_empty() && !e.text.contains("policy:"));
    }

    #[test]
    fn rules_stand_for_the_agents_of_a_domain_and_the_result_plans_empty() {
        let o = big_estate();
        let listed = topology(&o, Some("contoso"), false).text;
        let e = topology(&o, Some("contoso"), true);
        let t = crate::load::topology_str(&e.text, "t.yaml").unwrap();
        let p = crate::plan::plan(&t, &o);
        assert!(p.steps.is_empty(), "{:?}", &p.steps[..p.steps.len().min(3)]);
        assert!(
            p.blocked.is_empty(),
            "{:?}",
            &p.blocked[..p.blocked.len().min(3)]
        );
        assert_eq!(p.summary.unmanaged, 0);
        assert_eq!(t.agent_rules.len(), 12);
        // 12 rules; the exceptions (1 in 500, and the agent with no
        // domain) listed: 20,201 agents become 12 rules and 42 entries.
        assert_eq!(t.agents.len(), 42);
        assert!(
            e.text.lines().count() * 100 < listed.lines().count(),
            "{} vs {}",
            e.text.lines().count(),
            listed.lines().count()
        );
        assert!(e.text.contains("  - match: \"*.site1.contoso.local\"   # 3,692 agents\n    primary: gw1.contoso.local\n    failover: [gw2.contoso.local]\n"), "{}", e.text);
    }

    #[test]
    fn ambiguous_names_are_quoted() {
        for s in ["true", "null", "123", "1.5", "NO"] {
            let n = Name::parse(s).unwrap();
            assert_eq!(scalar(&n), format!("\"{s}\""));
        }
        assert_eq!(
            scalar(&Name::parse("gw1.contoso.local").unwrap()),
            "gw1.contoso.local"
        );
    }

    #[test]
    fn observed_yaml_snapshot() {
        crate::testkit::snapshots().bind(|| {
            insta::assert_snapshot!(observed_yaml(&example("management-store-failover")));
        });
    }
}
