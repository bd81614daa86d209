//! Assignment: which parents each managed agent should have.
//!
//! Owns the meaning of `agents` and `agentRules` (docs/spec.md section 2, issue 9):
//! explicit entries win over rules; among rules the first match wins (globs
//! are case-insensitive); `primary` rules give fixed parents; `spread` rules
//! balance agents across a pool, keeping each agent where it is unless
//! balancing needs it elsewhere (`balance`, `spread`, documented in
//! `docs/assignment.md`). Observed agents that nothing names are unmanaged.
//! Also owns the per-parent load table (`capacity::loads`, `table`). Pure:
//! a function of the topology and the observed state (names, parents,
//! readiness); no I/O, no clock, no randomness. Must not plan moves; the
//! planner turns an [`Assignment`] into steps.

mod balance;
pub mod capacity;
pub mod error;
pub mod hash;
pub mod outcome;
mod rules;
mod spread;
pub mod table;

pub use capacity::{Load, ServerKind, loads, loads_keeping};
pub use error::{AssignError, CapacityError, GlobError};
pub use hash::{name_hash, rendezvous, weight};
pub use outcome::{AgentAssignment, Assignment, Note, Source};
pub use rules::compile_rules;

use crate::diag::Diagnostic;
use crate::hash::{FastMap as HashMap, FastSet as HashSet};
use crate::model::{Observed, ObservedMember, Parents, RuleAssign, Topology};
use crate::name::Name;

/// Resolves explicit entries and rules against the observed agents.
///
/// Fails when a glob does not compile or when a spread rule matches more
/// agents than its pool has room for (see [`check`] for the same problems as
/// diagnostics). A pure function of the topology, the observed agents'
/// names and parents (a spread rule keeps an agent where it is unless
/// balancing needs it elsewhere), and which parents are ready.
pub fn resolve(t: &Topology, o: &Observed) -> Result<Assignment, AssignError> {
    let (a, over) = resolve_lenient(t, o)?;
    if over.is_empty() {
        Ok(a)
    } else {
        Err(AssignError::OverCapacity(over))
    }
}

/// The problems [`resolve`] would fail with, as diagnostics at the rules'
/// positions; empty when the rules resolve. For `validate` and `plan`.
pub fn check(t: &Topology, o: &Observed) -> Vec<Diagnostic> {
    match resolve(t, o) {
        Ok(_) => Vec::new(),
        Err(e) => e.to_diagnostics(t),
    }
}

/// Like [`resolve`], but returns the assignment even when spread rules are
/// over capacity (agents that found no room are placed on their best ready
/// pool member regardless), with the capacity problems beside it.
pub fn resolve_lenient(
    t: &Topology,
    o: &Observed,
) -> Result<(Assignment, Vec<CapacityError>), GlobError> {
    let rules = rules::Rules::new(t)?;
    let servers = capacity::Servers::new(t, o);
    let mut out = Assignment::default();
    let mut load: HashMap<Name, u32> = HashMap::default();
    capacity::add_gateways(&mut load, &servers, t);
    let mut explicit: HashSet<&Name> =
        HashSet::with_capacity_and_hasher(t.agents.len(), Default::default());
    for (i, a) in t.agents.iter().enumerate() {
        explicit.insert(&a.name);
        *load.entry(a.parents.primary.clone()).or_default() += 1;
        out.agents.push(AgentAssignment {
            name: a.name.clone(),
            parents: a.parents.clone(),
            source: Source::Explicit(i),
            note: None,
        });
    }

    // Spread rules' agents get a slot now and their parents once every
    // fixed load is known: (slot in out.agents, observed agent) per rule.
    let mut spread: Vec<Vec<(usize, &ObservedMember)>> = vec![Vec::new(); t.agent_rules.len()];
    let mut hits = Vec::new();
    let mut lower = String::new();
    for a in &o.agents {
        if !explicit.is_empty() && explicit.contains(&a.name) {
            continue;
        }
        lower.clear();
        lower.extend(
            a.name
                .as_str()
                .bytes()
                .map(|b| char::from(b.to_ascii_lowercase())),
        );
        let Some(rule) = rules.first(&lower, &mut hits) else {
            *load.entry(a.parents.primary.clone()).or_default() += 1;
            out.unmanaged.push(a.name.clone());
            continue;
        };
        let parents = match &t.agent_rules[rule].assign {
            RuleAssign::Fixed(p) => {
                *load.entry(p.primary.clone()).or_default() += 1;
                p.clone()
            }
            RuleAssign::Spread { .. } => {
                spread[rule].push((out.agents.len(), a));
                // A placeholder until `spread::place` fills it in.
                Parents::primary_only(a.parents.primary.clone())
            }
        };
        out.agents.push(AgentAssignment {
            name: a.name.clone(),
            parents,
            source: Source::Rule(rule),
            note: None,
        });
    }

    let mut over = Vec::new();
    for (index, matched) in spread.iter().enumerate() {
        let rule = &t.agent_rules[index];
        let RuleAssign::Spread {
            pool,
            failover_count,
        } = &rule.assign
        else {
            continue;
        };
        if matched.is_empty() {
            continue;
        }
        let agents: Vec<&ObservedMember> = matched.iter().map(|&(_, a)| a).collect();
        let (placed, short) =
            spread::place(pool, *failover_count as usize, &agents, &servers, &mut load);
        for (&(slot, _), p) in matched.iter().zip(placed) {
            out.agents[slot].parents = p.parents;
            out.agents[slot].note = p.note;
        }
        if let Some(s) = short {
            over.push(CapacityError {
                index,
                pattern: rule.pattern.clone(),
                pos: rule.pos.clone(),
                pool: s.pool,
                agents: s.demand,
                capacity: s.capacity,
                used: s.used,
            });
        }
    }
    Ok((out, over))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::Pos;
    use crate::model::{AgentRule, MemberDef, ObservedMember};

    fn n(s: &str) -> Name {
        Name::parse(s).unwrap()
    }

    fn observed_agent(name: &str) -> ObservedMember {
        ObservedMember {
            name: n(name),
            parents: Parents::primary_only(n("gw1")),
            connected: Some(n("gw1")),
            up: true,
            ready: true,
            evidence: None,
        }
    }

    fn rule(pattern: &str, assign: RuleAssign) -> AgentRule {
        AgentRule {
            pattern: pattern.into(),
            assign,
            pos: Pos::default(),
        }
    }

    #[test]
    fn explicit_wins_then_first_rule_then_unmanaged() {
        let t = Topology {
            agents: vec![MemberDef {
                name: n("WEB01.dmz.contoso.local"),
                parents: Parents::primary_only(n("gw9")),
                pos: Pos::default(),
                primary_pos: Pos::default(),
                failover_pos: vec![],
            }],
            agent_rules: vec![
                rule(
                    "*.DMZ.contoso.local",
                    RuleAssign::Fixed(Parents::primary_only(n("gw2"))),
                ),
                rule("web*", RuleAssign::Fixed(Parents::primary_only(n("gw3")))),
            ],
            ..Default::default()
        };
        let mut o = Observed::new();
        for a in [
            "web01.dmz.contoso.local",
            "web02.dmz.contoso.local",
            "web03.lab",
            "db01.lab",
        ] {
            o.agents.push(observed_agent(a));
        }
        let r = resolve(&t, &o).unwrap();
        let got: Vec<(String, String)> = r
            .agents
            .iter()
            .map(|a| (a.name.to_string(), a.parents.primary.to_string()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("WEB01.dmz.contoso.local".into(), "gw9".into()),
                ("web02.dmz.contoso.local".into(), "gw2".into()),
                ("web03.lab".into(), "gw3".into()),
            ]
        );
        assert_eq!(r.unmanaged, vec![n("db01.lab")]);
    }

    fn gateway(name: &str, ready: bool) -> ObservedMember {
        ObservedMember {
            name: n(name),
            parents: Parents::primary_only(n("ms1")),
            connected: Some(n("ms1")),
            up: true,
            ready,
            evidence: None,
        }
    }

    fn spread_rule(pool: &[&str], failover_count: u32) -> AgentRule {
        rule(
            "*.branch",
            RuleAssign::Spread {
                pool: pool.iter().map(|s| n(s)).collect(),
                failover_count,
            },
        )
    }

    fn server(name: &str) -> crate::model::ServerDef {
        crate::model::ServerDef {
            name: n(name),
            pos: Pos::default(),
        }
    }

    #[test]
    fn waits_when_only_a_not_ready_member_has_room() {
        let mut t = Topology {
            agent_rules: vec![spread_rule(&["gwa", "gwb"], 1)],
            ..Default::default()
        };
        t.policy.capacity.gateway = 2;
        let mut o = Observed::new();
        o.gateways = vec![gateway("gwa", true), gateway("gwb", false)];
        for a in ["p1.branch", "p2.branch", "p3.branch"] {
            o.agents.push(observed_agent(a));
        }
        let r = resolve(&t, &o).unwrap();
        let on_a = r.agents.iter().filter(|a| a.parents.primary == n("gwa"));
        assert_eq!(on_a.count(), 2);
        let waiting: Vec<_> = r.notes().collect();
        assert_eq!(waiting.len(), 1);
        assert_eq!(waiting[0].1, &Note::WaitingForReadyRoom);
        let w = r.agents.iter().find(|a| a.note.is_some()).unwrap();
        assert_eq!(
            w.parents,
            Parents::primary_only(n("gw1")),
            "keeps its parents"
        );
        // Failovers skip the gateway that is not ready.
        assert!(r.agents.iter().all(|a| !a.parents.lists(&n("gwb"))));
    }

    #[test]
    fn management_server_capacity_counts_gateways_and_earlier_rules() {
        let mut t = Topology {
            management_servers: vec![server("ms1"), server("ms2")],
            gateways: vec![MemberDef {
                name: n("gw1"),
                parents: Parents::primary_only(n("ms1")),
                pos: Pos::default(),
                primary_pos: Pos::default(),
                failover_pos: vec![],
            }],
            agent_rules: vec![
                rule("a*", RuleAssign::Fixed(Parents::primary_only(n("ms2")))),
                spread_rule(&["ms1", "ms2"], 0),
            ],
            ..Default::default()
        };
        t.policy.capacity.management_server = 3;
        let mut o = Observed::new();
        o.management_servers = ["ms1", "ms2"]
            .map(|m| crate::model::ObservedServer {
                name: n(m),
                up: true,
            })
            .to_vec();
        for a in ["a1.lab", "x1.branch", "x2.branch", "x3.branch"] {
            o.agents.push(observed_agent(a));
        }
        // ms1 holds gw1 (1 of 3), ms2 holds a1.lab (1 of 3): room for 4.
        let r = resolve(&t, &o).unwrap();
        let rows = loads(&t, &o, &r);
        let after: Vec<(String, u32, u32)> = rows
            .iter()
            .map(|l| (l.server.to_string(), l.before, l.after))
            .collect();
        assert_eq!(after[0].0, "ms1");
        assert_eq!(after[1].0, "ms2");
        assert_eq!(
            after[0].2 + after[1].2,
            5,
            "gw1, a1.lab and three spread agents"
        );
        assert!(rows.iter().all(|l| l.after <= l.capacity));
        // gw1 had all four agents before and none after.
        let gw1 = rows.iter().find(|l| l.server == n("gw1")).unwrap();
        assert_eq!(
            (gw1.before, gw1.after, gw1.kind),
            (4, 0, ServerKind::Gateway)
        );
        // One more agent and the spread rule is over capacity.
        o.agents.push(observed_agent("x4.branch"));
        o.agents.push(observed_agent("x5.branch"));
        let e = resolve(&t, &o).unwrap_err();
        assert!(matches!(&e, AssignError::OverCapacity(v) if v[0].index == 1 && v[0].room() == 4));
        assert!(e.to_string().contains("5 agents match"), "{e}");
    }

    #[test]
    fn bad_glob_is_a_diagnostic_at_the_rule() {
        let mut r = rule(
            "web[0-9",
            RuleAssign::Fixed(Parents::primary_only(n("gw1"))),
        );
        r.pos = Pos::new("d.yaml".into(), 7, 12);
        let t = Topology {
            agent_rules: vec![r],
            ..Default::default()
        };
        let d = check(&t, &Observed::new());
        assert_eq!(d.len(), 1);
        assert!(
            d[0].to_string().starts_with("d.yaml:7:12: agentRules[0]"),
            "{}",
            d[0]
        );
    }

    #[test]
    fn unmanaged_agents_stay_in_the_load_table() {
        let t = Topology::default();
        let mut o = Observed::new();
        o.agents.push(observed_agent("lonely.lab"));
        let r = resolve(&t, &o).unwrap();
        assert_eq!(r.unmanaged, vec![n("lonely.lab")]);
        let rows = loads(&t, &o, &r);
        assert_eq!(rows.len(), 1);
        assert_eq!((rows[0].before, rows[0].after), (1, 1));
    }

    #[test]
    fn gateways_absent_from_the_topology_stay_in_the_load_table_unless_retired() {
        let mut t = Topology::default();
        let mut o = Observed::new();
        o.management_servers.push(crate::model::ObservedServer {
            name: n("ms1"),
            up: true,
        });
        let mut gw = observed_agent("gw1");
        gw.parents = Parents::primary_only(n("ms1"));
        gw.connected = Some(n("ms1"));
        o.gateways.push(gw);
        let r = resolve(&t, &o).unwrap();
        let ms1 = |rows: &[Load]| {
            let l = rows.iter().find(|l| l.server == n("ms1")).unwrap();
            (l.before, l.after)
        };
        // retireGateways off: gw1 is left alone, so ms1 keeps it.
        assert_eq!(ms1(&loads(&t, &o, &r)), (1, 1));
        // retireGateways on: gw1 goes, unless the plan keeps it.
        t.policy.retire_gateways = true;
        assert_eq!(ms1(&loads(&t, &o, &r)), (1, 0));
        let gw1 = n("gw1");
        let kept: crate::hash::FastSet<&Name> = std::iter::once(&gw1).collect();
        assert_eq!(ms1(&loads_keeping(&t, &o, &r, &kept)), (1, 1));
        // Through the planner: an unmanaged agent still on gw1 blocks its
        // retirement, so the plan's table keeps it on ms1.
        o.agents.push(observed_agent("lonely.lab"));
        let p = crate::plan::plan(&t, &o);
        assert_eq!(p.summary.retired, 0);
        assert_eq!(ms1(&p.loads), (1, 1));
    }
}
