//! The `policy.capacity` an exported topology needs to plan empty, and
//! the warnings about parents over Microsoft's supported limits.
//!
//! Owns counting each parent's load the way validation does (agents whose
//! primary a gateway is; agents and gateways whose primary a management
//! server is) and writing the `policy` block when the defaults are too
//! small. Must not choose parents or judge anything but capacity. Pure.

use crate::diag::thousands;
use crate::model::{Capacity, Observed};
use std::collections::BTreeMap;
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
    let mut gateway: BTreeMap<String, (String, u32)> = BTreeMap::new();
    let mut management: BTreeMap<String, (String, u32)> = BTreeMap::new();
    let is_ms = |n: &str| {
        o.management_servers
            .iter()
            .any(|m| m.name.as_str().eq_ignore_ascii_case(n))
    };
    let count = |map: &mut BTreeMap<String, (String, u32)>, n: &str| {
        map.entry(n.to_ascii_lowercase())
            .or_insert_with(|| (n.to_string(), 0))
            .1 += 1;
    };
    for a in &o.agents {
        let p = a.parents.primary.as_str();
        if is_ms(p) {
            count(&mut management, p);
        } else {
            count(&mut gateway, p);
        }
    }
    for g in &o.gateways {
        let p = g.parents.primary.as_str();
        if is_ms(p) {
            count(&mut management, p);
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
        for (name, n) in map.values() {
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
