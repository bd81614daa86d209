//! The `policy.capacity` an exported topology needs to plan empty, and
//! the warnings about parents over Microsoft's supported limits.
//!
//! Owns counting each parent's load the way validation does (agents whose
//! primary a gateway is; agents and gateways whose primary a management
//! server is) and writing the `policy` block when the defaults are too
//! small. Must not choose parents or judge anything but capacity. Pure.

use crate::diag::thousands;
use crate::model::{Capacity, Observed};
use crate::name::Name;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

/// What an observed estate needs of `policy.capacity`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Over {
    /// The capacity the topology must declare, when a default is too small.
    pub capacity: Option<Capacity>,
    /// One sentence per parent over Microsoft's supported limits.
    pub warnings: Vec<String>,
}

/// Each parent's load in `o` and what the exported policy must say.
pub fn over(o: &Observed) -> Over {
    let limits = Capacity::default();
    // Names compare case-insensitively; a map keeps the first spelling met.
    let mut gateway: BTreeMap<&Name, u32> = BTreeMap::new();
    let mut management: BTreeMap<&Name, u32> = BTreeMap::new();
    let servers: BTreeSet<&Name> = o.management_servers.iter().map(|m| &m.name).collect();
    for a in &o.agents {
        let p = &a.parents.primary;
        let map = if servers.contains(p) {
            &mut management
        } else {
            &mut gateway
        };
        *map.entry(p).or_insert(0) += 1;
    }
    for g in &o.gateways {
        let p = &g.parents.primary;
        if servers.contains(p) {
            *management.entry(p).or_insert(0) += 1;
        }
    }
    let mut warnings = Vec::new();
    let mut need = limits;
    for (map, limit, kind, what, slot) in [
        (
            &gateway,
            limits.gateway,
            "gateway",
            "agents",
            &mut need.gateway,
        ),
        (
            &management,
            limits.management_server,
            "management server",
            "agents and gateways",
            &mut need.management_server,
        ),
    ] {
        for (name, n) in map {
            if *n > limit {
                warnings.push(format!(
                    "{kind} {name} is the primary of {} {what}, over Microsoft's supported limit of {}; the exported policy.capacity allows it so the topology plans empty, but plan to move members off it",
                    thousands(u64::from(*n)),
                    thousands(u64::from(limit)),
                ));
                *slot = (*slot).max(*n);
            }
        }
    }
    Over {
        capacity: (need != limits).then_some(need),
        warnings,
    }
}

/// Appends the `policy` block `over` asks for (nothing when the defaults
/// fit).
pub fn write_policy(out: &mut String, over: &Over) {
    let Some(c) = &over.capacity else { return };
    let limits = Capacity::default();
    out.push_str("policy:\n  capacity:\n");
    for (key, n, limit) in [
        ("gateway", c.gateway, limits.gateway),
        (
            "managementServer",
            c.management_server,
            limits.management_server,
        ),
    ] {
        let _ = write!(out, "    {key}: {n}");
        if n > limit {
            let _ = write!(
                out,
                "   # over Microsoft's supported {}: the estate carries this today",
                thousands(u64::from(limit))
            );
        }
        out.push('\n');
    }
}
