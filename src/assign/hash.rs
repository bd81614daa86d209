//! Rendezvous (highest-random-weight) hashing: the stable score of every
//! (agent, server) pair and the order it puts a pool in.
//!
//! Owns the hash function. It must give the same value on every machine,
//! every Rust release and every run (no `std` hasher, no random seed), and
//! must not change between handover releases: a change would move agents.
//! Pure; must not know about capacity or readiness (see `spread`).

use crate::model::Parents;
use crate::name::Name;

/// FNV-1a over the ASCII-lowercase bytes of a name, finished with the
/// splitmix64 mixer: a well-spread 64-bit hash that ignores case.
pub fn name_hash(name: &Name) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in name.as_str().bytes() {
        h ^= u64::from(b.to_ascii_lowercase());
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    mix(h)
}

/// The splitmix64 finaliser: a bijection on `u64` with full avalanche.
fn mix(mut h: u64) -> u64 {
    h = h.wrapping_add(0x9e37_79b9_7f4a_7c15);
    h = (h ^ (h >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h = (h ^ (h >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}

/// The weight of a pair from the two names' hashes ([`name_hash`]).
///
/// Splitting the hash this way lets a caller hash each agent and each pool
/// member once and score every pair with one mixing step.
#[inline]
pub fn pair_weight(agent_hash: u64, server_hash: u64) -> u64 {
    mix(agent_hash ^ server_hash.rotate_left(29))
}

/// The rendezvous weight of `server` for `agent`, case-insensitive.
///
/// Higher wins. Stable across machines and releases (a unit test pins a
/// value).
pub fn weight(agent: &Name, server: &Name) -> u64 {
    pair_weight(name_hash(agent), name_hash(server))
}

/// The pool in `agent`'s hash order: highest weight first, ties (which a
/// 64-bit hash makes vanishingly rare) broken by name.
pub fn order<'a>(agent: &Name, pool: &'a [Name]) -> Vec<&'a Name> {
    let ha = name_hash(agent);
    let mut scored: Vec<(u64, &Name)> = pool
        .iter()
        .map(|s| (pair_weight(ha, name_hash(s)), s))
        .collect();
    scored.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(b.1)));
    scored.dedup_by(|a, b| a.1 == b.1);
    scored.into_iter().map(|(_, s)| s).collect()
}

/// Pure highest-random-weight choice, ignoring capacity and readiness: the
/// first of `agent`'s hash order is the primary, the next `failovers` are
/// the failovers.
///
/// # Panics
///
/// When `pool` is empty. [`crate::assign::resolve`] never calls it so; it
/// reports an empty pool as a capacity problem instead.
pub fn rendezvous(agent: &Name, pool: &[Name], failovers: usize) -> Parents {
    let mut it = order(agent, pool).into_iter().cloned();
    let primary = it.next().expect("rendezvous needs a non-empty pool");
    Parents {
        primary,
        failover: it.take(failovers).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> Name {
        Name::parse(s).unwrap()
    }

    #[test]
    fn weight_is_pinned_and_case_insensitive() {
        // A fixed value guards against the hash changing between releases:
        // changing it would move agents between gateways on upgrade.
        assert_eq!(weight(&n("a"), &n("b")), 10_757_645_251_421_090_244);
        assert_eq!(weight(&n("A"), &n("B")), weight(&n("a"), &n("b")));
        assert_ne!(weight(&n("a"), &n("b")), weight(&n("b"), &n("a")));
    }

    #[test]
    fn rendezvous_is_stable_and_orders_failovers() {
        let pool = vec![n("gw4"), n("gw5"), n("gw6")];
        let a = rendezvous(&n("pos01.branch"), &pool, 1);
        let b = rendezvous(&n("POS01.branch"), &pool, 1);
        assert_eq!(a, b);
        assert_eq!(a.failover.len(), 1);
        assert_ne!(a.primary, a.failover[0]);
        let full = order(&n("pos01.branch"), &pool);
        assert_eq!(full[0], &a.primary);
        assert_eq!(full[1], &a.failover[0]);
    }

    #[test]
    fn order_is_even_across_a_pool() {
        let pool: Vec<Name> = (1..=4).map(|i| n(&format!("gw{i}"))).collect();
        let mut counts = [0usize; 4];
        for i in 0..8_000 {
            let p = rendezvous(&n(&format!("a{i}.fleet")), &pool, 0).primary;
            counts[pool.iter().position(|g| *g == p).unwrap()] += 1;
        }
        for c in counts {
            assert!((1_800..2_200).contains(&c), "{counts:?}");
        }
    }
}
