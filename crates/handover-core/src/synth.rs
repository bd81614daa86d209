//! Synthetic estates for benches, property tests and performance runs.
//!
//! Owns one deterministic generator, shared by every bench (validate, plan,
//! simulate, end-to-end) so their figures describe the same fleet. Plain data
//! in, plain data (or YAML text) out; must not touch I/O.

use crate::diag::Pos;
use crate::model::{
    MemberDef, Observed, ObservedMember, ObservedServer, Parents, ServerDef, Topology,
};
use crate::name::Name;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::fmt::Write;

/// The shape of a generated estate.
#[derive(Clone, Debug)]
pub struct Spec {
    /// Management servers.
    pub management_servers: usize,
    /// Gateways, each reporting to a management server.
    pub gateways: usize,
    /// Agents, spread evenly across the gateways.
    pub agents: usize,
    /// Share of agents whose desired primary differs from the observed one.
    pub moving: f64,
    /// Seed for which agents move.
    pub seed: u64,
}

impl Spec {
    /// The Performance issue's reference estate, scaled to `agents`:
    /// one gateway per 1,000 agents (at least 2), one management server per
    /// five gateways (at least 2), 30 % of agents moving.
    pub fn fleet(agents: usize) -> Self {
        let gateways = (agents / 1000).max(2);
        Spec {
            management_servers: (gateways / 5).max(2),
            gateways,
            agents,
            moving: 0.3,
            seed: 7,
        }
    }
}

/// A generated desired topology and the observed state it starts from.
#[derive(Clone, Debug)]
pub struct Estate {
    /// Every agent listed explicitly; a share of them moving.
    pub desired: Topology,
    /// Every member connected to its observed primary.
    pub observed: Observed,
}

fn name(s: String) -> Name {
    Name::parse(&s).expect("generated names are valid")
}

/// Generates an estate. The same spec gives the same estate.
pub fn generate(spec: &Spec) -> Estate {
    let ms: Vec<Name> = (0..spec.management_servers)
        .map(|i| name(format!("ms{:02}.contoso.local", i + 1)))
        .collect();
    let gw: Vec<Name> = (0..spec.gateways)
        .map(|i| name(format!("gw{:03}.dmz.contoso.local", i + 1)))
        .collect();
    let pos = Pos::default();
    let mut desired = Topology {
        group: Some("synthetic".into()),
        ..Default::default()
    };
    let mut observed = Observed::new();
    for m in &ms {
        desired.management_servers.push(ServerDef {
            name: m.clone(),
            pos: pos.clone(),
        });
        observed.management_servers.push(ObservedServer {
            name: m.clone(),
            up: true,
        });
    }
    let nm = ms.len();
    for (i, g) in gw.iter().enumerate() {
        let parents = Parents {
            primary: ms[i % nm].clone(),
            failover: if nm > 1 {
                vec![ms[(i + 1) % nm].clone()]
            } else {
                vec![]
            },
        };
        desired.gateways.push(member_def(g, &parents, &pos));
        observed.gateways.push(ObservedMember {
            name: g.clone(),
            connected: Some(parents.primary.clone()),
            parents,
            up: true,
            ready: true,
            evidence: None,
        });
    }
    let ng = gw.len();
    let mut rng = ChaCha8Rng::seed_from_u64(spec.seed);
    for i in 0..spec.agents {
        let a = name(format!("a{:06}.fleet.contoso.local", i + 1));
        let now = Parents {
            primary: gw[i % ng].clone(),
            failover: if ng > 1 {
                vec![gw[(i + 1) % ng].clone()]
            } else {
                vec![]
            },
        };
        let moves = ng > 2 && rng.random_bool(spec.moving.clamp(0.0, 1.0));
        let want = if moves {
            let j = (i + ng / 2) % ng;
            Parents {
                primary: gw[j].clone(),
                failover: vec![gw[(j + 1) % ng].clone()],
            }
        } else {
            now.clone()
        };
        desired.agents.push(member_def(&a, &want, &pos));
        observed.agents.push(ObservedMember {
            name: a,
            connected: Some(now.primary.clone()),
            parents: now,
            up: true,
            ready: true,
            evidence: None,
        });
    }
    Estate { desired, observed }
}

fn member_def(name: &Name, parents: &Parents, pos: &Pos) -> MemberDef {
    MemberDef {
        name: name.clone(),
        parents: parents.clone(),
        pos: pos.clone(),
        primary_pos: pos.clone(),
        failover_pos: vec![pos.clone(); parents.failover.len()],
    }
}

fn write_list(out: &mut String, names: &[Name]) {
    out.push('[');
    for (i, n) in names.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        out.push_str(n.as_str());
    }
    out.push(']');
}

/// One member's entry of a list: its name, primary and failovers (flow
/// style), without the line's end.
fn write_member(out: &mut String, name: &Name, parents: &Parents) {
    let _ = write!(
        out,
        "  - name: {name}\n    primary: {}\n    failover: ",
        parents.primary
    );
    write_list(out, &parents.failover);
}

/// The desired topology as a `kind: Topology` YAML document.
pub fn desired_yaml(t: &Topology) -> String {
    let mut out = String::with_capacity(96 * (t.agents.len() + t.gateways.len()) + 256);
    out.push_str("apiVersion: handover/v1\nkind: Topology\n");
    if let Some(g) = &t.group {
        let _ = writeln!(out, "metadata:\n  name: {g}");
    }
    out.push_str("managementServers:\n");
    for m in &t.management_servers {
        let _ = writeln!(out, "  - name: {}", m.name);
    }
    for (key, list) in [("gateways", &t.gateways), ("agents", &t.agents)] {
        let _ = writeln!(out, "{key}:");
        for m in list {
            write_member(&mut out, &m.name, &m.parents);
            out.push('\n');
        }
    }
    let p = &t.policy;
    let _ = writeln!(
        out,
        "policy:\n  maxInFlight: {}\n  ackTimeout: {}\n  retireGateways: {}\n  capacity:\n    gateway: {}\n    managementServer: {}",
        p.max_in_flight,
        p.ack_timeout,
        p.retire_gateways,
        p.capacity.gateway,
        p.capacity.management_server
    );
    out
}

/// The observed state as a `kind: Observed` YAML document.
pub fn observed_yaml(o: &Observed) -> String {
    let mut out = String::with_capacity(120 * (o.agents.len() + o.gateways.len()) + 256);
    out.push_str("apiVersion: handover/v1\nkind: Observed\nmanagementServers:\n");
    for m in &o.management_servers {
        let _ = writeln!(out, "  - name: {}\n    up: {}", m.name, m.up);
    }
    for (key, list, gateway) in [
        ("gateways", &o.gateways, true),
        ("agents", &o.agents, false),
    ] {
        let _ = writeln!(out, "{key}:");
        for m in list {
            write_member(&mut out, &m.name, &m.parents);
            match &m.connected {
                Some(c) => {
                    let _ = write!(out, "\n    connected: {c}");
                }
                None => out.push_str("\n    connected: null"),
            }
            if gateway {
                let _ = write!(out, "\n    up: {}\n    ready: {}", m.up, m.ready);
            }
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_spec_same_estate_and_the_share_moves() {
        let spec = Spec::fleet(10_000);
        let a = generate(&spec);
        let b = generate(&spec);
        assert_eq!(a.desired, b.desired);
        assert_eq!(a.observed, b.observed);
        let moving = a
            .desired
            .agents
            .iter()
            .zip(&a.observed.agents)
            .filter(|(d, o)| d.parents.primary != o.parents.primary)
            .count();
        assert!((2_700..3_300).contains(&moving), "{moving} of 10,000 move");
        assert_eq!(a.desired.gateways.len(), 10);
        let y = desired_yaml(&a.desired);
        assert!(y.contains("a010000.fleet.contoso.local"));
        assert!(observed_yaml(&a.observed).contains("connected: gw"));
    }

    #[test]
    fn yaml_round_trips_through_the_loader() {
        let e = generate(&Spec::fleet(3_000));
        let t = crate::load::topology_str(&desired_yaml(&e.desired), "d.yaml").unwrap();
        assert_eq!(t.agents.len(), 3_000);
        let names: Vec<_> = t.agents.iter().map(|a| &a.parents).collect();
        let want: Vec<_> = e.desired.agents.iter().map(|a| &a.parents).collect();
        assert_eq!(names, want);
        let o = crate::load::observed_str(&observed_yaml(&e.observed), "o.yaml").unwrap();
        assert_eq!(o, e.observed);
    }
}
