//! Assignment: which parents each managed agent should have.
//!
//! Owns the meaning of `agents` and `agentRules` (SPEC section 2): explicit
//! entries win over rules; among rules the first match wins; `spread` rules
//! balance agents across a pool by rendezvous hashing. Observed agents that
//! nothing names are unmanaged. Pure: no I/O, no clock, no randomness.

use crate::model::{Observed, Parents, RuleAssign, Topology};
use crate::name::Name;
use globset::{GlobBuilder, GlobSet, GlobSetBuilder};
use std::collections::HashSet;

/// Where an agent's desired parents come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// `agents[i]` of the topology.
    Explicit(usize),
    /// `agentRules[i]` of the topology.
    Rule(usize),
}

/// One managed agent and its desired parents.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AgentAssignment {
    /// The agent.
    pub name: Name,
    /// Its desired parents.
    pub parents: Parents,
    /// Which entry or rule gave them.
    pub source: Source,
}

/// The desired parents of every managed agent.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Assignment {
    /// Explicit agents in topology order, then rule-matched observed agents
    /// in observed order.
    pub agents: Vec<AgentAssignment>,
    /// Observed agents that no entry and no rule names, in observed order.
    pub unmanaged: Vec<Name>,
}

/// A rule whose glob does not compile (validation reports it first; this is
/// the typed error for callers that skipped validation).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("agentRules[{index}]: {pattern:?} is not a valid glob: {reason}")]
pub struct GlobError {
    /// The rule's index.
    pub index: usize,
    /// Its pattern.
    pub pattern: String,
    /// What the glob parser said.
    pub reason: String,
}

/// Compiles the rules' globs, case-insensitively, in rule order.
pub fn compile_rules(t: &Topology) -> Result<GlobSet, GlobError> {
    let mut b = GlobSetBuilder::new();
    for (index, r) in t.agent_rules.iter().enumerate() {
        let g = GlobBuilder::new(&r.pattern)
            .case_insensitive(true)
            .literal_separator(false)
            .backslash_escape(true)
            .build()
            .map_err(|e| GlobError {
                index,
                pattern: r.pattern.clone(),
                reason: e.kind().to_string(),
            })?;
        b.add(g);
    }
    b.build().map_err(|e| GlobError {
        index: 0,
        pattern: String::new(),
        reason: e.to_string(),
    })
}

/// Resolves explicit entries and rules against the observed agents.
pub fn resolve(t: &Topology, o: &Observed) -> Result<Assignment, GlobError> {
    let set = compile_rules(t)?;
    let mut out = Assignment::default();
    let mut explicit: HashSet<&Name> = HashSet::with_capacity(t.agents.len());
    for (i, a) in t.agents.iter().enumerate() {
        explicit.insert(&a.name);
        out.agents.push(AgentAssignment {
            name: a.name.clone(),
            parents: a.parents.clone(),
            source: Source::Explicit(i),
        });
    }
    let mut hits = Vec::new();
    for a in &o.agents {
        if explicit.contains(&a.name) {
            continue;
        }
        set.matches_into(a.name.as_str(), &mut hits);
        let Some(&rule) = hits.iter().min() else {
            out.unmanaged.push(a.name.clone());
            continue;
        };
        let parents = match &t.agent_rules[rule].assign {
            RuleAssign::Fixed(p) => p.clone(),
            RuleAssign::Spread {
                pool,
                failover_count,
            } => rendezvous(&a.name, pool, *failover_count as usize),
        };
        out.agents.push(AgentAssignment {
            name: a.name.clone(),
            parents,
            source: Source::Rule(rule),
        });
    }
    Ok(out)
}

/// Highest-random-weight choice: the pool ordered by a stable hash of
/// (agent, server), highest first; the first is the primary, the next
/// `failovers` are the failovers.
pub fn rendezvous(agent: &Name, pool: &[Name], failovers: usize) -> Parents {
    let mut scored: Vec<(u64, &Name)> = pool.iter().map(|s| (weight(agent, s), s)).collect();
    scored.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(b.1)));
    let mut it = scored.into_iter().map(|(_, s)| s.clone());
    let primary = it.next().expect("validation guarantees a non-empty pool");
    Parents {
        primary,
        failover: it.take(failovers).collect(),
    }
}

/// A hash of (agent, server) that is the same on every machine and every
/// Rust release: FNV-1a over the lowercase bytes, finished with splitmix64.
pub fn weight(agent: &Name, server: &Name) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in agent
        .as_str()
        .bytes()
        .chain(std::iter::once(0))
        .chain(server.as_str().bytes())
    {
        h ^= u64::from(b.to_ascii_lowercase());
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h = h.wrapping_add(0x9e37_79b9_7f4a_7c15);
    h = (h ^ (h >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h = (h ^ (h >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
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

    #[test]
    fn rendezvous_is_stable_and_orders_failovers() {
        let pool = vec![n("gw4"), n("gw5"), n("gw6")];
        let a = rendezvous(&n("pos01.branch"), &pool, 1);
        let b = rendezvous(&n("POS01.branch"), &pool, 1);
        assert_eq!(a, b);
        assert_eq!(a.failover.len(), 1);
        assert_ne!(a.primary, a.failover[0]);
        // A fixed value guards against the hash changing between releases.
        assert_eq!(weight(&n("a"), &n("b")), 6_406_621_618_667_805_217);
        assert_eq!(weight(&n("A"), &n("B")), 6_406_621_618_667_805_217);
    }
}
