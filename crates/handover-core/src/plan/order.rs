//! Gateway order (docs/spec.md rule 4): a gateway's parents before the gateway.
//!
//! Owns the deterministic order in which desired gateways are planned: a
//! topological order of the desired gateway chain, ties broken by name, so
//! a gateway that reports to another gateway is planned after it; and the
//! same order with extra "waits for" edges (a move waits for the gateways
//! higher up its new parent's chain, `chain`). Finds gateways caught in a
//! cycle (validation rejects those; the planner blocks them rather than
//! trusting that it ran). Pure; must not look at the observed state.

use crate::hash::FastMap as HashMap;
use crate::model::MemberDef;
use crate::name::Name;
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// Desired gateways in planning order, and those caught in a cycle (sorted).
pub(crate) fn gateway_order(gateways: &[MemberDef]) -> (Vec<&MemberDef>, Vec<&MemberDef>) {
    let all: Vec<&MemberDef> = gateways.iter().collect();
    order_with(&all, &HashMap::default())
}

/// `gateways` in an order where each comes after its desired parents and
/// after every gateway `extra` says it waits for (names outside `gateways`
/// are ignored), ties by name; and those caught in a cycle (sorted).
pub(crate) fn order_with<'g>(
    gateways: &[&'g MemberDef],
    extra: &HashMap<&Name, Vec<&Name>>,
) -> (Vec<&'g MemberDef>, Vec<&'g MemberDef>) {
    let index: HashMap<&Name, usize> = gateways
        .iter()
        .enumerate()
        .rev()
        .map(|(i, g)| (&g.name, i))
        .collect();
    let mut waiting = vec![0usize; gateways.len()];
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); gateways.len()];
    for (i, g) in gateways.iter().enumerate() {
        let mut seen: Vec<usize> = Vec::new();
        let waits = extra.get(&g.name).into_iter().flatten().copied();
        for p in g.parents.iter().chain(waits) {
            if let Some(&j) = index.get(p)
                && !seen.contains(&j)
            {
                seen.push(j);
                waiting[i] += 1;
                children[j].push(i);
            }
        }
    }
    let mut ready: BinaryHeap<Reverse<(&Name, usize)>> = gateways
        .iter()
        .enumerate()
        .filter(|(i, _)| waiting[*i] == 0)
        .map(|(i, g)| Reverse((&g.name, i)))
        .collect();
    let mut order = Vec::with_capacity(gateways.len());
    let mut placed = vec![false; gateways.len()];
    while let Some(Reverse((_, i))) = ready.pop() {
        placed[i] = true;
        order.push(gateways[i]);
        for &c in &children[i] {
            waiting[c] -= 1;
            if waiting[c] == 0 {
                ready.push(Reverse((&gateways[c].name, c)));
            }
        }
    }
    let mut cycle: Vec<&MemberDef> = gateways
        .iter()
        .enumerate()
        .filter(|(i, _)| !placed[*i])
        .map(|(_, g)| *g)
        .collect();
    cycle.sort_by(|a, b| a.name.cmp(&b.name));
    (order, cycle)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::Pos;
    use crate::model::Parents;

    fn gw(name: &str, primary: &str) -> MemberDef {
        MemberDef {
            name: Name::parse(name).unwrap(),
            parents: Parents::primary_only(Name::parse(primary).unwrap()),
            pos: Pos::default(),
            primary_pos: Pos::default(),
            failover_pos: vec![],
        }
    }

    #[test]
    fn parents_first_then_by_name_and_cycles_found() {
        let gws = vec![
            gw("gwc", "gwb"),
            gw("gwb", "ms1"),
            gw("gwa", "gwc"),
            gw("gwx", "gwy"),
            gw("gwy", "gwx"),
        ];
        let (order, cycle) = gateway_order(&gws);
        let names: Vec<&str> = order.iter().map(|g| g.name.as_str()).collect();
        assert_eq!(names, ["gwb", "gwc", "gwa"]);
        let names: Vec<&str> = cycle.iter().map(|g| g.name.as_str()).collect();
        assert_eq!(names, ["gwx", "gwy"]);
    }
}
