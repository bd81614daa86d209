//! Semantic validation: the relations between names in a desired topology
//! or an observed state (docs/spec.md section 2), every problem in one pass.
//!
//! Owns: names defined twice (case-insensitively, across files), undefined
//! parents, a primary repeated in its failover list, repeated failovers
//! (in a topology and in an observed state alike), cycles in gateway
//! chains, explicit assignments over capacity, the pools of `spread`
//! rules, and the warning for a rule that an earlier rule covers
//! ([`shadowed_rules`], in `shadow`). Pure: model in, `Vec<Diagnostic>`
//! out; no I/O. Value syntax (host names, durations, globs) is checked by
//! the loader before a model exists; rule-based capacity is
//! `crate::assign`'s.

mod shadow;

pub use shadow::shadowed_rules;

use crate::diag::positions::{MemberPos, ObservedPositions, RulePos};
use crate::diag::{Diagnostic, Pos, thousands};
use crate::hash::{FastMap as HashMap, FastSet as HashSet};
use crate::model::{Observed, Parents, RuleAssign, Topology};
use crate::name::Name;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Role {
    ManagementServer,
    Gateway,
    Agent,
}

impl Role {
    fn word(self) -> &'static str {
        match self {
            Role::ManagementServer => "management server",
            Role::Gateway => "gateway",
            Role::Agent => "agent",
        }
    }
}

/// Records definitions and reports a name defined twice, naming both places.
struct Definitions<'a, 'd> {
    seen: HashMap<&'a Name, (Role, &'a Pos)>,
    diags: &'d mut Vec<Diagnostic>,
}

impl<'a> Definitions<'a, '_> {
    fn define(&mut self, name: &'a Name, role: Role, pos: &'a Pos) {
        if let Some((first_role, first)) = self.seen.get(name) {
            self.diags.push(
                Diagnostic::at(
                    pos.clone(),
                    format!(
                        "{} {name} is defined twice: here and at {first} (as {} {}); names compare case-insensitively",
                        role.word(),
                        article(first_role.word()),
                        first_role.word()
                    ),
                )
                .with_hint("keep one definition"),
            );
        } else {
            self.seen.insert(name, (role, pos));
        }
    }
}

fn article(w: &str) -> &'static str {
    if w.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    }
}

/// Checks a desired topology; returns every problem found. Rule problems
/// point at the rule's `match` ([`topology_at`] points them at the field).
pub fn topology(t: &Topology) -> Vec<Diagnostic> {
    topology_at(t, &[])
}

/// [`topology`], with where each rule's fields were written (parallel to
/// `t.agent_rules`; missing entries fall back to the rule's `match`).
pub fn topology_at(t: &Topology, rule_pos: &[RulePos]) -> Vec<Diagnostic> {
    let mut diags = Vec::new();
    let roles = {
        let mut defs = Definitions {
            seen: HashMap::with_capacity_and_hasher(
                t.agents.len() + t.gateways.len() + t.management_servers.len(),
                Default::default(),
            ),
            diags: &mut diags,
        };
        for m in &t.management_servers {
            defs.define(&m.name, Role::ManagementServer, &m.pos);
        }
        for g in &t.gateways {
            defs.define(&g.name, Role::Gateway, &g.pos);
        }
        for a in &t.agents {
            defs.define(&a.name, Role::Agent, &a.pos);
        }
        defs.seen
            .into_iter()
            .map(|(n, (r, _))| (n, r))
            .collect::<HashMap<&Name, Role>>()
    };
    let is_parent = |n: &Name| matches!(roles.get(n), Some(Role::ManagementServer | Role::Gateway));

    for (role, list) in [(Role::Gateway, &t.gateways), (Role::Agent, &t.agents)] {
        for m in list {
            let what = format!("{} {}", role.word(), m.name);
            let fpos = |i: usize| m.failover_pos.get(i).unwrap_or(&m.pos).clone();
            parent_list(
                &what,
                &m.parents,
                &m.primary_pos,
                &fpos,
                &is_parent,
                &roles,
                &mut diags,
            );
        }
    }
    gateway_cycles(t, &mut diags);
    capacity(t, &roles, &mut diags);
    rules(t, rule_pos, &is_parent, &roles, &mut diags);
    diags
}

/// The checks every parent list gets: defined parents, primary not repeated
/// as a failover, no failover twice.
fn parent_list(
    what: &str,
    parents: &Parents,
    primary_pos: &Pos,
    failover_pos: &dyn Fn(usize) -> Pos,
    is_parent: &dyn Fn(&Name) -> bool,
    roles: &HashMap<&Name, Role>,
    diags: &mut Vec<Diagnostic>,
) {
    let undefined = |n: &Name, field: &str, pos: Pos| {
        let message = match roles.get(n) {
            Some(r) => format!(
                "{what}: {field} {n} is {} {}, not a management server or gateway",
                article(r.word()),
                r.word()
            ),
            None => format!(
                "{what}: {field} {n} is not defined as a management server or gateway of this topology"
            ),
        };
        Diagnostic::at(pos, message)
            .with_hint("define it under managementServers or gateways, or fix the spelling")
    };
    if !is_parent(&parents.primary) {
        diags.push(undefined(&parents.primary, "primary", primary_pos.clone()));
    }
    let mut seen: HashSet<&Name> = HashSet::default();
    for (i, f) in parents.failover.iter().enumerate() {
        if f == &parents.primary {
            diags.push(
                Diagnostic::at(
                    failover_pos(i),
                    format!("{what}: primary {f} is repeated in its own failover list"),
                )
                .with_hint("a failover must differ from the primary"),
            );
        } else if !seen.insert(f) {
            diags.push(Diagnostic::at(
                failover_pos(i),
                format!("{what}: failover {f} is listed twice"),
            ));
        } else if !is_parent(f) {
            diags.push(undefined(f, "failover", failover_pos(i)));
        }
    }
}

/// Finds every cycle among gateways that report to gateways (through a
/// primary or a failover: either way the chain would never reach a
/// management server), each reported once at its first gateway.
fn gateway_cycles(t: &Topology, diags: &mut Vec<Diagnostic>) {
    let index: HashMap<&Name, usize> = t
        .gateways
        .iter()
        .enumerate()
        .map(|(i, g)| (&g.name, i))
        .collect();
    let edges: Vec<Vec<usize>> = t
        .gateways
        .iter()
        .map(|g| {
            g.parents
                .iter()
                .filter_map(|p| index.get(p).copied())
                .collect()
        })
        .collect();
    // Iterative DFS: 0 unvisited, 1 on the stack, 2 done.
    let mut state = vec![0u8; edges.len()];
    for start in 0..edges.len() {
        if state[start] != 0 {
            continue;
        }
        let mut stack: Vec<(usize, usize)> = vec![(start, 0)];
        state[start] = 1;
        while let Some(&mut (node, ref mut next)) = stack.last_mut() {
            if let Some(&to) = edges[node].get(*next) {
                *next += 1;
                match state[to] {
                    0 => {
                        state[to] = 1;
                        stack.push((to, 0));
                    }
                    1 => {
                        let from = stack.iter().position(|(n, _)| *n == to).unwrap_or(0);
                        let mut chain: Vec<&str> = stack[from..]
                            .iter()
                            .map(|(n, _)| t.gateways[*n].name.as_str())
                            .collect();
                        chain.push(t.gateways[to].name.as_str());
                        let g = &t.gateways[to];
                        diags.push(
                            Diagnostic::at(
                                g.pos.clone(),
                                format!("gateway chain has a cycle: {}", chain.join(" -> ")),
                            )
                            .with_hint("every gateway chain must end at a management server"),
                        );
                    }
                    _ => {}
                }
            } else {
                state[node] = 2;
                stack.pop();
            }
        }
    }
}

/// Explicit desired assignments over `policy.capacity`.
fn capacity(t: &Topology, roles: &HashMap<&Name, Role>, diags: &mut Vec<Diagnostic>) {
    let mut load: HashMap<&Name, usize> = HashMap::default();
    for m in t.agents.iter().chain(&t.gateways) {
        *load.entry(&m.parents.primary).or_default() += 1;
    }
    let gateway_agents: HashMap<&Name, usize> = t
        .agents
        .iter()
        .filter(|a| roles.get(&a.parents.primary) == Some(&Role::Gateway))
        .fold(HashMap::default(), |mut m, a| {
            *m.entry(&a.parents.primary).or_default() += 1;
            m
        });
    let cap = &t.policy.capacity;
    for g in &t.gateways {
        let n = gateway_agents.get(&g.name).copied().unwrap_or(0);
        diags.extend(over_capacity(
            &g.pos,
            format_args!("gateway {}", g.name),
            format_args!("{} agents", thousands(n)),
            (n, cap.gateway, "gateway"),
            "move agents to another gateway or raise the capacity",
        ));
    }
    for m in &t.management_servers {
        let n = load.get(&m.name).copied().unwrap_or(0);
        diags.extend(over_capacity(
            &m.pos,
            format_args!("management server {}", m.name),
            format_args!("{} agents and gateways", thousands(n)),
            (n, cap.management_server, "managementServer"),
            "move members to another management server or raise the capacity",
        ));
    }
}

/// The diagnostic for `server`, the desired primary of `members` (`n` of
/// them), when `n` is over `limit` (`policy.capacity.<key>`).
fn over_capacity(
    pos: &Pos,
    server: std::fmt::Arguments<'_>,
    members: std::fmt::Arguments<'_>,
    (n, limit, key): (usize, u32, &str),
    hint: &str,
) -> Option<Diagnostic> {
    (n > limit as usize).then(|| {
        Diagnostic::at(
            pos.clone(),
            format!(
                "{server} is the desired primary of {members}; policy.capacity.{key} is {}",
                thousands(limit as usize)
            ),
        )
        .with_hint(hint)
    })
}

fn rules(
    t: &Topology,
    rule_pos: &[RulePos],
    is_parent: &dyn Fn(&Name) -> bool,
    roles: &HashMap<&Name, Role>,
    diags: &mut Vec<Diagnostic>,
) {
    let none = RulePos::default();
    for (i, r) in t.agent_rules.iter().enumerate() {
        let what = format!("agentRules {:?}", r.pattern);
        let at = rule_pos.get(i).unwrap_or(&none);
        let or_match = |p: Option<&Pos>| p.unwrap_or(&r.pos).clone();
        match &r.assign {
            RuleAssign::Fixed(p) => {
                parent_list(
                    &what,
                    p,
                    &or_match(at.primary.as_ref()),
                    &|j| or_match(at.failover.get(j)),
                    is_parent,
                    roles,
                    diags,
                );
            }
            RuleAssign::Spread {
                pool,
                failover_count,
            } => {
                if pool.is_empty() {
                    diags.push(
                        Diagnostic::at(
                            or_match(at.spread.as_ref()),
                            format!("{what}: spread pool is empty; expected at least one gateway or management server"),
                        )
                        .with_hint("list the parents to balance across, such as spread: [gw1, gw2]"),
                    );
                    continue;
                }
                let mut seen = HashSet::default();
                for (j, p) in pool.iter().enumerate() {
                    let p_at = or_match(at.pool.get(j));
                    if !seen.insert(p) {
                        diags.push(
                            Diagnostic::at(p_at, format!("{what}: spread pool lists {p} twice"))
                                .with_hint("list each parent once"),
                        );
                    } else if !is_parent(p) {
                        diags.push(
                            Diagnostic::at(p_at, format!("{what}: spread pool member {p} is not defined as a management server or gateway of this topology"))
                                .with_hint("define it under managementServers or gateways, or fix the spelling"),
                        );
                    }
                }
                if *failover_count as usize >= pool.len() {
                    diags.push(
                        Diagnostic::at(
                            or_match(at.failover_count.as_ref()),
                            format!(
                                "{what}: failoverCount is {failover_count} but the spread pool has {} member(s); expected at most {}",
                                pool.len(),
                                pool.len() - 1
                            ),
                        )
                        .with_hint("lower failoverCount or add parents to the pool"),
                    );
                }
            }
        }
    }
}

/// An observed member's parent list: no failover repeats its primary or
/// another failover, and a gateway is not its own parent. Neither can be
/// configured in Operations Manager (and the simulator refuses both), so
/// such a state is a bad hand edit or a provider fault, never drift.
fn observed_parents(
    role: Role,
    m: &crate::model::ObservedMember,
    p: Option<&MemberPos>,
    diags: &mut Vec<Diagnostic>,
) {
    // Allocation-free when the list is fine: this runs for every member.
    let what = || format!("{} {}", role.word(), m.name);
    let failover_at = |j: usize| {
        p.and_then(|p| p.failover.get(j).cloned())
            .unwrap_or_default()
    };
    if role == Role::Gateway && m.parents.iter().any(|x| x == &m.name) {
        let at = match m.parents.failover.iter().position(|f| f == &m.name) {
            Some(j) if m.parents.primary != m.name => failover_at(j),
            _ => p.map(|p| p.primary.clone()).unwrap_or_default(),
        };
        diags.push(
            Diagnostic::at(at, format!("{} lists itself as its own parent", what()))
                .with_hint("a gateway reports to a management server or another gateway"),
        );
    }
    let failover = &m.parents.failover;
    // Short lists (all real ones) are searched; a long one gets a set.
    let mut seen: Option<HashSet<&Name>> = (failover.len() > 16).then(HashSet::default);
    for (j, f) in failover.iter().enumerate() {
        let repeated = match &mut seen {
            Some(set) => !set.insert(f),
            None => failover[..j].contains(f),
        };
        if f == &m.parents.primary {
            diags.push(
                Diagnostic::at(
                    failover_at(j),
                    format!(
                        "{}: primary {f} is repeated in its own failover list",
                        what()
                    ),
                )
                .with_hint("a failover must differ from the primary; remove it from failover"),
            );
        } else if repeated {
            diags.push(
                Diagnostic::at(
                    failover_at(j),
                    format!("{}: failover {f} is listed twice", what()),
                )
                .with_hint("list each failover once"),
            );
        }
    }
}

/// Checks an observed state; `pos` gives where each item was written (use
/// `ObservedPositions::default()` for states not read from a file).
pub fn observed(o: &Observed, pos: &ObservedPositions) -> Vec<Diagnostic> {
    let mut diags = Vec::new();
    let unknown = Pos::default();
    let roles = {
        let mut defs = Definitions {
            seen: HashMap::with_capacity_and_hasher(
                o.agents.len() + o.gateways.len() + o.management_servers.len(),
                Default::default(),
            ),
            diags: &mut diags,
        };
        for (i, m) in o.management_servers.iter().enumerate() {
            defs.define(
                &m.name,
                Role::ManagementServer,
                pos.management_servers.get(i).unwrap_or(&unknown),
            );
        }
        for (role, list, at) in [
            (Role::Gateway, &o.gateways, &pos.gateways),
            (Role::Agent, &o.agents, &pos.agents),
        ] {
            for (i, m) in list.iter().enumerate() {
                defs.define(&m.name, role, at.get(i).map_or(&unknown, |p| &p.name));
            }
        }
        defs.seen
            .into_iter()
            .map(|(n, (r, _))| (n, r))
            .collect::<HashMap<&Name, Role>>()
    };
    for (role, list, at) in [
        (Role::Gateway, &o.gateways, &pos.gateways),
        (Role::Agent, &o.agents, &pos.agents),
    ] {
        for (i, m) in list.iter().enumerate() {
            let p = at.get(i);
            observed_parents(role, m, p, &mut diags);
            for (j, parent) in m.parents.iter().enumerate() {
                if matches!(
                    roles.get(parent),
                    Some(Role::ManagementServer | Role::Gateway)
                ) {
                    continue;
                }
                let (field, where_) = if j == 0 {
                    ("primary", p.map(|p| p.primary.clone()))
                } else {
                    ("failover", p.and_then(|p| p.failover.get(j - 1).cloned()))
                };
                diags.push(
                    Diagnostic::at(
                        where_.unwrap_or_default(),
                        format!(
                            "{} {}: {field} {parent} is not an observed management server or gateway",
                            role.word(),
                            m.name
                        ),
                    )
                    .with_hint("list it under managementServers or gateways of the observed state"),
                );
            }
        }
    }
    if let Some(store) = &o.management_store {
        let mut seen: HashMap<&Name, &Pos> = HashMap::default();
        for (i, p) in store.pools.iter().enumerate() {
            let at = pos.pools.get(i).unwrap_or(&unknown);
            if let Some(first) = seen.get(&p.name) {
                diags.push(Diagnostic::at(
                    at.clone(),
                    format!("pool {} is listed twice: here and at {first}", p.name),
                ));
            } else {
                seen.insert(&p.name, at);
            }
        }
        if let Some(a) = &store.active_pool
            && !seen.contains_key(a)
        {
            diags.push(
                Diagnostic::at(
                    pos.active_pool.clone().unwrap_or_default(),
                    format!("activePool {a} is not one of the store's pools"),
                )
                .with_hint("list it under managementStore.pools"),
            );
        }
    }
    diags
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::{observed_str, topology_str};
    use crate::model::Topology;

    /// The model of `yaml` without validation, to test validation alone.
    fn model(yaml: &str) -> Topology {
        topology_str(yaml, "t.yaml").expect("a valid topology")
    }

    fn messages(yaml: &str) -> Vec<String> {
        match topology_str(yaml, "t.yaml") {
            Ok(t) => topology(&t).iter().map(|d| d.to_string()).collect(),
            Err(d) => d.0.iter().map(|d| d.to_string()).collect(),
        }
    }

    const HEAD: &str =
        "apiVersion: handover/v1\nkind: Topology\nmanagementServers:\n  - name: ms1\n";

    #[test]
    fn valid_topology_has_no_problems() {
        let t = model(&format!(
            "{HEAD}gateways:\n  - name: gw1\n    primary: ms1\n  - name: gw2\n    primary: gw1\n    failover: [ms1]\nagents:\n  - name: a1\n    primary: gw2\n    failover: [gw1]\n"
        ));
        assert!(topology(&t).is_empty());
    }

    #[test]
    fn failover_cycles_count_too() {
        let m = messages(&format!(
            "{HEAD}gateways:\n  - name: gw1\n    primary: ms1\n    failover: [gw2]\n  - name: gw2\n    primary: ms1\n    failover: [gw1]\n"
        ));
        assert_eq!(m.len(), 1, "{m:?}");
        assert!(m[0].contains("cycle: gw1 -> gw2 -> gw1"), "{m:?}");
    }

    #[test]
    fn self_parent_is_a_cycle_and_an_agent_is_no_parent() {
        let m = messages(&format!(
            "{HEAD}gateways:\n  - name: gw1\n    primary: gw1\nagents:\n  - name: a1\n    primary: ms1\n  - name: a2\n    primary: a1\n"
        ));
        assert!(m.iter().any(|s| s.contains("cycle: gw1 -> gw1")), "{m:?}");
        assert!(
            m.iter()
                .any(|s| s.contains("primary a1 is an agent, not a management server or gateway")),
            "{m:?}"
        );
    }

    #[test]
    fn management_server_capacity_counts_agents_and_gateways() {
        let m = messages(&format!(
            "{HEAD}gateways:\n  - name: gw1\n    primary: ms1\nagents:\n  - name: a1\n    primary: ms1\npolicy:\n  capacity:\n    managementServer: 1\n"
        ));
        assert_eq!(
            m,
            vec![
                "t.yaml:4:11: management server ms1 is the desired primary of 2 agents and gateways; policy.capacity.managementServer is 1 (move members to another management server or raise the capacity)"
            ]
        );
    }

    #[test]
    fn rules_over_capacity_are_not_counted_here() {
        let t = model(&format!(
            "{HEAD}gateways:\n  - name: gw1\n    primary: ms1\nagentRules:\n  - match: '*'\n    primary: gw1\npolicy:\n  capacity:\n    gateway: 0\n"
        ));
        assert!(topology(&t).is_empty());
    }

    #[test]
    fn the_active_pool_must_be_one_of_the_pools() {
        let head = "apiVersion: handover/v1\nkind: Observed\nmanagementStore:\n";
        let err = observed_str(
            &format!("{head}  activePool: pool9\n  pools: [{{name: pool1}}]\n"),
            "o.yaml",
        )
        .unwrap_err();
        assert_eq!(
            err.0[0].to_string(),
            "o.yaml:4:15: activePool pool9 is not one of the store's pools (list it under managementStore.pools)"
        );
        // Old files stay valid; `active` marks a second active pool.
        let o = observed_str(
            &format!("{head}  activePool: pool1\n  pools: [{{name: pool1}}, {{name: pool2, active: true}}]\n"),
            "o.yaml",
        )
        .unwrap();
        let st = o.management_store.unwrap();
        assert_eq!(st.active_pools().len(), 2);
        assert!(!st.pools[0].active);
        // `active` belongs to pools only.
        assert!(
            observed_str(
                "apiVersion: handover/v1\nkind: Observed\nmanagementServers: [{name: ms1, active: true}]\n",
                "o.yaml"
            )
            .is_err()
        );
    }

    #[test]
    fn observed_needs_no_positions() {
        let o = observed_str(
            "apiVersion: handover/v1\nkind: Observed\nmanagementServers:\n  - name: ms1\n",
            "o",
        )
        .unwrap();
        let mut o2 = o.clone();
        o2.agents.push(crate::model::ObservedMember {
            name: Name::parse("a1").unwrap(),
            parents: Parents::primary_only(Name::parse("gw9").unwrap()),
            connected: None,
            up: true,
            ready: true,
            evidence: None,
        });
        let d = observed(&o2, &ObservedPositions::default());
        assert_eq!(d.len(), 1);
        assert!(d[0].message.contains("primary gw9 is not an observed"));
    }
}
