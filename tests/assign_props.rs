//! Property tests for fleet rules and balanced assignment (issue 9):
//! determinism, the churn bounds of rendezvous hashing, capacity, first-match
//! semantics, explicit entries winning, and unmatched agents staying
//! unmanaged.

use handover::assign::{self, AssignError, Source};
use handover::diag::Pos;
use handover::model::{
    AgentRule, MemberDef, Observed, ObservedMember, ObservedServer, Parents, RuleAssign, ServerDef,
    Topology,
};
use handover::name::Name;
use proptest::prelude::*;
use std::collections::HashMap;

fn n(s: &str) -> Name {
    Name::parse(s).unwrap()
}

fn gw(i: usize) -> Name {
    n(&format!("gw{i:02}.branch.contoso.local"))
}

fn agent_name(salt: u32, i: usize) -> Name {
    n(&format!("pos{i:05}-{salt}.branch.contoso.local"))
}

fn member(name: &Name, primary: &Name) -> MemberDef {
    MemberDef {
        name: name.clone(),
        parents: Parents::primary_only(primary.clone()),
        pos: Pos::default(),
        primary_pos: Pos::default(),
        failover_pos: vec![],
    }
}

fn observed_member(name: &Name, primary: &Name, ready: bool) -> ObservedMember {
    ObservedMember {
        name: name.clone(),
        parents: Parents::primary_only(primary.clone()),
        connected: Some(primary.clone()),
        up: true,
        ready,
    }
}

/// A topology with one management server, the gateways of `pool` under it,
/// and one spread rule over `pool` for `*.branch.contoso.local`.
fn spread_topology(pool: &[Name], failovers: u32, capacity: u32) -> Topology {
    let ms = n("ms1.contoso.local");
    let mut t = Topology {
        management_servers: vec![ServerDef {
            name: ms.clone(),
            pos: Pos::default(),
        }],
        gateways: pool.iter().map(|g| member(g, &ms)).collect(),
        agent_rules: vec![AgentRule {
            pattern: "*.BRANCH.contoso.local".into(),
            assign: RuleAssign::Spread {
                pool: pool.to_vec(),
                failover_count: failovers,
            },
            pos: Pos::new("rules.yaml".into(), 12, 5),
        }],
        ..Default::default()
    };
    t.policy.capacity.gateway = capacity;
    t.policy.capacity.management_server = u32::MAX / 2;
    t
}

/// Observed agents (on `ms1`) and every gateway of `gateways`, ready unless
/// listed in `not_ready`.
fn observed(agents: &[Name], gateways: &[Name], not_ready: &[Name]) -> Observed {
    let ms = n("ms1.contoso.local");
    let mut o = Observed::new();
    o.management_servers.push(ObservedServer {
        name: ms.clone(),
        up: true,
    });
    for g in gateways {
        o.gateways
            .push(observed_member(g, &ms, !not_ready.contains(g)));
    }
    for a in agents {
        o.agents.push(observed_member(a, &ms, true));
    }
    o
}

fn primaries(a: &assign::Assignment) -> HashMap<Name, Name> {
    a.agents
        .iter()
        .map(|x| (x.name.clone(), x.parents.primary.clone()))
        .collect()
}

fn per_server(a: &assign::Assignment) -> HashMap<Name, u32> {
    let mut m = HashMap::new();
    for x in &a.agents {
        *m.entry(x.parents.primary.clone()).or_default() += 1;
    }
    m
}

const AMPLE: u32 = 1_000_000;

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    /// The same names give the same parents, whatever order the target
    /// reports the agents in, and also under tight capacity.
    #[test]
    fn deterministic_and_order_independent(
        agents in 1usize..400,
        k in 1usize..9,
        failovers in 0u32..4,
        slack in 0u32..50,
        salt in any::<u32>(),
        rotate in any::<usize>(),
    ) {
        let pool: Vec<Name> = (0..k).map(gw).collect();
        let cap = (agents as u32).div_ceil(k as u32) + slack;
        let t = spread_topology(&pool, failovers, cap);
        let names: Vec<Name> = (0..agents).map(|i| agent_name(salt, i)).collect();
        let mut shuffled = names.clone();
        shuffled.rotate_left(rotate % agents);
        shuffled.reverse();
        let a = assign::resolve(&t, &observed(&names, &pool, &[])).unwrap();
        let b = assign::resolve(&t, &observed(&names, &pool, &[])).unwrap();
        prop_assert_eq!(&a, &b);
        let c = assign::resolve(&t, &observed(&shuffled, &pool, &[])).unwrap();
        let by_name: HashMap<_, _> = c.agents.iter().map(|x| (x.name.clone(), x.parents.clone())).collect();
        for x in &a.agents {
            prop_assert_eq!(&by_name[&x.name], &x.parents);
            prop_assert_eq!(x.parents.failover.len(), (failovers as usize).min(k - 1));
            prop_assert!(!x.parents.failover.contains(&x.parents.primary));
        }
    }

    /// With room to spare, bounded-load assignment is plain rendezvous
    /// hashing, failovers included.
    #[test]
    fn ample_capacity_is_pure_rendezvous(k in 1usize..12, failovers in 0u32..4, salt in any::<u32>()) {
        let pool: Vec<Name> = (0..k).map(gw).collect();
        let names: Vec<Name> = (0..300).map(|i| agent_name(salt, i)).collect();
        let a = assign::resolve(&spread_topology(&pool, failovers, AMPLE), &observed(&names, &pool, &[])).unwrap();
        for x in &a.agents {
            prop_assert_eq!(&x.parents, &assign::rendezvous(&x.name, &pool, failovers as usize));
        }
    }

    /// No pool member ever goes over capacity when the pool can take every
    /// agent, counting agents listed by name on the same gateways.
    #[test]
    fn capacity_never_exceeded_when_feasible(
        agents in 1usize..600,
        k in 1usize..8,
        explicit in 0usize..30,
        slack in 0u32..20,
        salt in any::<u32>(),
    ) {
        let pool: Vec<Name> = (0..k).map(gw).collect();
        let cap = (agents + explicit).div_ceil(k) as u32 + slack;
        let mut t = spread_topology(&pool, 1, cap);
        for i in 0..explicit {
            // Explicit agents take room on the pool's gateways (never more
            // than their capacity: that is validation's error, not a rule's).
            t.agents.push(member(&n(&format!("web{i}.dmz.contoso.local")), &pool[i % k]));
        }
        let names: Vec<Name> = (0..agents).map(|i| agent_name(salt, i)).collect();
        let a = assign::resolve(&t, &observed(&names, &pool, &[])).unwrap();
        for (server, count) in per_server(&a) {
            prop_assert!(count <= cap, "{} has {} agents, capacity {}", server, count, cap);
        }
        prop_assert!(assign::check(&t, &observed(&names, &pool, &[])).is_empty());
    }

    /// More agents than the pool can take: a typed error and a diagnostic at
    /// the rule that names the pool, the count and the room.
    #[test]
    fn capacity_infeasible_is_a_clear_error(k in 1usize..6, cap in 1u32..50, extra in 1usize..20, salt in any::<u32>()) {
        let pool: Vec<Name> = (0..k).map(gw).collect();
        let agents = k * cap as usize + extra;
        let t = spread_topology(&pool, 0, cap);
        let names: Vec<Name> = (0..agents).map(|i| agent_name(salt, i)).collect();
        let o = observed(&names, &pool, &[]);
        match assign::resolve(&t, &o) {
            Err(AssignError::OverCapacity(v)) => {
                prop_assert_eq!(v.len(), 1);
                prop_assert_eq!(v[0].agents, agents as u64);
                prop_assert_eq!(v[0].room(), (k as u64) * u64::from(cap));
            }
            other => prop_assert!(false, "expected OverCapacity, got {:?}", other.map(|_| ())),
        }
        let d = assign::check(&t, &o);
        prop_assert_eq!(d.len(), 1);
        let text = d[0].to_string();
        prop_assert!(text.starts_with("rules.yaml:12:5: agentRules[0]"), "{}", text);
        let agents_text = format!("{agents} agents match");
        let room_text = format!("room for {}", k * cap as usize);
        prop_assert!(text.contains(&agents_text), "{}", text);
        prop_assert!(text.contains(&room_text), "{}", text);
        prop_assert!(text.contains(gw(0).as_str()), "{}", text);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 8, ..ProptestConfig::default() })]

    /// Adding a gateway to a pool of k moves about 1/(k+1) of 10,000 agents,
    /// all of them onto the new gateway.
    #[test]
    fn adding_a_gateway_moves_about_one_in_k_plus_one(k in 2usize..16, salt in any::<u32>()) {
        let names: Vec<Name> = (0..10_000).map(|i| agent_name(salt, i)).collect();
        let pool: Vec<Name> = (0..k).map(gw).collect();
        let grown: Vec<Name> = (0..=k).map(gw).collect();
        let before = primaries(&assign::resolve(&spread_topology(&pool, 1, AMPLE), &observed(&names, &grown, &[])).unwrap());
        let after = primaries(&assign::resolve(&spread_topology(&grown, 1, AMPLE), &observed(&names, &grown, &[])).unwrap());
        let mut moved = 0usize;
        for (a, p) in &after {
            if before[a] != *p {
                moved += 1;
                prop_assert_eq!(p, &gw(k), "an agent moved between old gateways");
            }
        }
        let expected = 10_000.0 / (k as f64 + 1.0);
        let ratio = moved as f64 / expected;
        prop_assert!((0.7..1.3).contains(&ratio), "k={} moved {} expected {:.0}", k, moved, expected);
    }

    /// Removing a gateway moves exactly the agents that were on it.
    #[test]
    fn removing_a_gateway_moves_only_its_agents(k in 2usize..16, gone in any::<usize>(), salt in any::<u32>()) {
        let names: Vec<Name> = (0..10_000).map(|i| agent_name(salt, i)).collect();
        let pool: Vec<Name> = (0..k).map(gw).collect();
        let removed = gw(gone % k);
        let shrunk: Vec<Name> = pool.iter().filter(|g| **g != removed).cloned().collect();
        let before = primaries(&assign::resolve(&spread_topology(&pool, 1, AMPLE), &observed(&names, &pool, &[])).unwrap());
        let after = primaries(&assign::resolve(&spread_topology(&shrunk, 1, AMPLE), &observed(&names, &pool, &[])).unwrap());
        for (a, p) in &after {
            prop_assert_eq!(before[a] != *p, before[a] == removed, "{} went {} -> {}", a, before[a], p);
        }
    }
}

/// The oracle for the three rules of [`first_match`]: which rule a name
/// should get, by plain string tests instead of globs.
fn expected_rule(name: &str) -> Option<usize> {
    let l = name.to_ascii_lowercase();
    if l.starts_with("web") {
        Some(0)
    } else if l.ends_with(".dmz.example") {
        Some(1)
    } else if l.starts_with("db") && l.len() > 3 && l.as_bytes()[3] == b'.' {
        Some(2)
    } else {
        None
    }
}

fn fixed_rule(pattern: &str, primary: &str) -> AgentRule {
    AgentRule {
        pattern: pattern.into(),
        assign: RuleAssign::Fixed(Parents::primary_only(n(primary))),
        pos: Pos::default(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// The first matching rule wins, globs ignore case, an explicit entry
    /// beats every rule, and an agent no rule matches stays unmanaged.
    #[test]
    fn first_match_explicit_wins_unmatched_unmanaged(
        parts in prop::collection::vec(
            (prop::sample::select(vec!["web", "WEB", "db", "Db", "app"]),
             prop::sample::select(vec!["", "1", "12"]),
             prop::sample::select(vec!["dmz.example", "DMZ.Example", "lab.example"]),
             any::<bool>()),
            1..40),
    ) {
        let mut t = Topology {
            agent_rules: vec![
                fixed_rule("web*", "gw0"),
                fixed_rule("*.dmz.EXAMPLE", "gw1"),
                fixed_rule("db?.*", "gw2"),
            ],
            ..Default::default()
        };
        let mut o = Observed::new();
        let mut seen = std::collections::HashSet::new();
        let mut listed = std::collections::HashSet::new();
        for (i, (prefix, digits, suffix, explicit)) in parts.iter().enumerate() {
            let name = n(&format!("{prefix}{digits}.{suffix}"));
            if !seen.insert(name.clone()) {
                continue;
            }
            if *explicit && i % 2 == 0 {
                t.agents.push(member(&name, &n("ms9")));
                listed.insert(name.clone());
            }
            o.agents.push(observed_member(&name, &n("old"), true));
        }
        let a = assign::resolve(&t, &o).unwrap();
        let by_name: HashMap<_, _> = a.agents.iter().map(|x| (x.name.clone(), x)).collect();
        for m in &o.agents {
            if listed.contains(&m.name) {
                let x = by_name[&m.name];
                prop_assert!(matches!(x.source, Source::Explicit(_)));
                prop_assert_eq!(x.parents.primary.as_str(), "ms9");
                continue;
            }
            match expected_rule(m.name.as_str()) {
                Some(r) => {
                    let x = by_name[&m.name];
                    prop_assert_eq!(x.source, Source::Rule(r), "{}", m.name);
                    prop_assert_eq!(x.parents.primary.as_str(), format!("gw{r}"));
                    prop_assert!(!a.unmanaged.contains(&m.name));
                }
                None => {
                    prop_assert!(!by_name.contains_key(&m.name), "{}", m.name);
                    prop_assert!(a.unmanaged.contains(&m.name));
                }
            }
        }
        prop_assert_eq!(a.agents.len() + a.unmanaged.len(), o.agents.len());
    }

    /// A pool member that is not ready gets no new agents; agents already on
    /// it stay and are noted; nothing else is affected.
    #[test]
    fn not_ready_gateway_keeps_its_agents_and_gets_no_new_ones(
        k in 2usize..6, down in any::<usize>(), salt in any::<u32>(),
    ) {
        let pool: Vec<Name> = (0..k).map(gw).collect();
        let sick = gw(down % k);
        let names: Vec<Name> = (0..300).map(|i| agent_name(salt, i)).collect();
        let mut o = observed(&names, &pool, std::slice::from_ref(&sick));
        // A third of the agents are on the sick gateway already.
        for m in o.agents.iter_mut().step_by(3) {
            m.parents = Parents::primary_only(sick.clone());
        }
        let a = assign::resolve(&spread_topology(&pool, 1, AMPLE), &o).unwrap();
        for (x, m) in a.agents.iter().zip(&o.agents) {
            if m.parents.primary == sick {
                prop_assert_eq!(&x.parents.primary, &sick);
                prop_assert_eq!(x.note.clone(), Some(assign::Note::KeptOnNotReady { server: sick.clone() }));
            } else {
                prop_assert!(x.parents.primary != sick);
                prop_assert_eq!(&x.note, &None);
            }
            prop_assert!(!x.parents.failover.contains(&sick));
        }
    }
}
