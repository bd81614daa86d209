//! `export --as-topology --rules`: agents that share a domain suffix and
//! the same parents become one `agentRules` entry (`match: "*.SUFFIX"`),
//! and only the agents no rule reproduces are listed.
//!
//! Owns the grouping and its guarantee: every agent either is listed with
//! its own parents or is matched first by a rule giving exactly its
//! parents, so the exported topology still plans empty. Must not write
//! YAML (the parent module does) or decide capacity. Pure.
//!
//! Why the guarantee holds: an agent `label.S` (a label has no dot) can be
//! matched by `*.L` only when `L` is `S` or a suffix of `S` made of whole
//! labels. Rules are ordered by suffix, longest (most labels) first, so
//! the first rule to match an agent is the one for its own suffix when
//! there is one; an agent whose parents differ from that rule's, or whose
//! suffix has no rule, is listed, and listed agents win over every rule.

use crate::model::{ObservedMember, Parents};
use crate::name::Name;
use std::collections::BTreeMap;

/// Fewest agents a rule must stand for: one agent is clearer listed.
pub const MIN_AGENTS: usize = 2;

/// One `agentRules` entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule {
    /// The domain suffix: the rule matches `*.{suffix}`.
    pub suffix: String,
    /// The parents every agent it stands for has now.
    pub parents: Parents,
    /// How many observed agents it stands for.
    pub agents: usize,
}

/// The agents split into rules and the agents still listed by name.
#[derive(Clone, Debug)]
pub struct Grouped<'a> {
    /// The rules, in the order they must be written (first match wins).
    pub rules: Vec<Rule>,
    /// The agents listed by name, in the observation's order.
    pub listed: Vec<&'a ObservedMember>,
}

/// The domain suffix of a host name: what follows its first label, in
/// lower case (`web01.dmz.contoso.local` → `dmz.contoso.local`); none for a
/// single-label name.
fn suffix(name: &str) -> Option<String> {
    let (_, rest) = name.split_once('.')?;
    (!rest.is_empty()).then(|| rest.to_ascii_lowercase())
}

/// Parents as a comparable key (names compare case-insensitively).
fn key(p: &Parents) -> Vec<&Name> {
    p.iter().collect()
}

/// Groups `agents`: for each domain suffix, the parents most of its agents
/// share (ties broken by the parents' names, so the result is stable)
/// become a rule when at least [`MIN_AGENTS`] agents have them.
pub fn group(agents: &[ObservedMember]) -> Grouped<'_> {
    // suffix → parents key → (parents, count)
    let mut by_suffix: BTreeMap<String, BTreeMap<Vec<&Name>, (&Parents, usize)>> = BTreeMap::new();
    for a in agents {
        if let Some(s) = suffix(a.name.as_str()) {
            let e = by_suffix
                .entry(s)
                .or_default()
                .entry(key(&a.parents))
                .or_insert((&a.parents, 0));
            e.1 += 1;
        }
    }
    let mut rules: Vec<Rule> = by_suffix
        .into_iter()
        .filter_map(|(suffix, sets)| {
            let (parents, agents) = sets
                .into_values()
                .max_by(|a, b| a.1.cmp(&b.1).then_with(|| key(b.0).cmp(&key(a.0))))?;
            (agents >= MIN_AGENTS).then(|| Rule {
                suffix,
                parents: parents.clone(),
                agents,
            })
        })
        .collect();
    rules.sort_by(|a, b| {
        let labels = |r: &Rule| r.suffix.matches('.').count();
        labels(b)
            .cmp(&labels(a))
            .then_with(|| a.suffix.cmp(&b.suffix))
    });
    let by_rule: BTreeMap<&str, Vec<&Name>> = rules
        .iter()
        .map(|r| (r.suffix.as_str(), key(&r.parents)))
        .collect();
    let listed = agents
        .iter()
        .filter(|a| {
            let covered = suffix(a.name.as_str())
                .and_then(|s| by_rule.get(s.as_str()).map(|k| *k == key(&a.parents)));
            covered != Some(true)
        })
        .collect();
    Grouped { rules, listed }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::name::Name;

    fn agent(name: &str, parents: &[&str]) -> ObservedMember {
        let n = |s: &str| Name::parse(s).unwrap();
        ObservedMember {
            name: n(name),
            parents: Parents {
                primary: n(parents[0]),
                failover: parents[1..].iter().map(|p| n(p)).collect(),
            },
            connected: Some(n(parents[0])),
            up: true,
            ready: true,
            evidence: None,
        }
    }

    #[test]
    fn the_parents_most_agents_of_a_suffix_share_become_a_rule() {
        let agents = vec![
            agent("web01.dmz.contoso.local", &["gw1", "gw2"]),
            agent("web02.dmz.contoso.local", &["gw1", "gw2"]),
            agent("web03.DMZ.contoso.local", &["GW1", "gw2"]),
            agent("odd.dmz.contoso.local", &["gw2"]),
            agent("alone.branch.contoso.local", &["gw3"]),
            agent("host", &["ms1"]),
        ];
        let g = group(&agents);
        assert_eq!(g.rules.len(), 1);
        assert_eq!(g.rules[0].suffix, "dmz.contoso.local");
        assert_eq!(g.rules[0].agents, 3);
        let listed: Vec<&str> = g.listed.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(
            listed,
            [
                "odd.dmz.contoso.local",
                "alone.branch.contoso.local",
                "host"
            ]
        );
    }

    #[test]
    fn longer_suffixes_come_first_so_their_own_rule_matches_first() {
        let agents = vec![
            agent("a1.contoso.local", &["ms1"]),
            agent("a2.contoso.local", &["ms1"]),
            agent("b1.dmz.contoso.local", &["gw1"]),
            agent("b2.dmz.contoso.local", &["gw1"]),
        ];
        let g = group(&agents);
        let order: Vec<&str> = g.rules.iter().map(|r| r.suffix.as_str()).collect();
        assert_eq!(order, ["dmz.contoso.local", "contoso.local"]);
        assert!(g.listed.is_empty());
    }

    #[test]
    fn a_tie_is_broken_by_the_parents_names() {
        let agents = vec![
            agent("a1.x.local", &["gw2"]),
            agent("a2.x.local", &["gw2"]),
            agent("a3.x.local", &["gw1"]),
            agent("a4.x.local", &["gw1"]),
        ];
        let g = group(&agents);
        assert_eq!(g.rules[0].parents.primary.as_str(), "gw1");
        let mut reversed = agents.clone();
        reversed.reverse();
        assert_eq!(group(&reversed).rules, g.rules);
    }
}
