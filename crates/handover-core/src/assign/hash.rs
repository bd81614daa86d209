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
    bytes_hash(name.as_str().bytes().map(|b| b.to_ascii_lowercase()))
}

/// FNV-1a over `bytes`, finished with the splitmix64 mixer (the hash of
/// [`name_hash`], for text that is not a host name: a management group, a
/// replica id).
pub fn bytes_hash(bytes: impl IntoIterator<Item = u8>) -> u64 {
    mix(crate::hash::Fnv1a::new().iter(bytes).finish())
}

/// The splitmix64 finaliser: a bijection on `u64` with full avalanche.
fn mix(mut h: u64) -> u64 {
    h = h.wrapping_add(0x9e37_79b9_7f4a_7c15);
    h = (h ^ (h >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h = (h ^ (h >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}

/// An agent's place in the bounded-load queue, from its [`name_hash`]: a
/// fixed, fair order that does not depend on the order agents are observed
/// in, and is decorrelated (by a different mixer) from the agent's weights.
#[inline]
pub fn priority(agent_hash: u64) -> u64 {
    mix(agent_hash ^ 0x2d35_8dcc_aa6c_78a5)
}

/// The weight of a pair from the two names' hashes ([`name_hash`]).
///
/// Both inputs are already well mixed, so one 64 x 64 -> 128-bit multiply,
/// folded (the "mum" step of wyhash), is enough to make the weights of one
/// agent across servers look independent. Splitting the hash this way lets
/// a caller hash each agent and each pool member once and score every pair
/// with one multiply: 100,000 agents x 100 gateways is 10 million pairs.
#[inline]
pub fn pair_weight(agent_hash: u64, server_hash: u64) -> u64 {
    let r = u128::from(agent_hash ^ 0xa076_1d64_78bd_642f)
        * u128::from(server_hash ^ 0xe703_7ed1_a0b4_28db);
    (r as u64) ^ ((r >> 64) as u64)
}

/// The rendezvous weight of `server` for `agent`, case-insensitive.
///
/// Higher wins. Stable across machines and releases (a unit test pins a
/// value).
pub fn weight(agent: &Name, server: &Name) -> u64 {
    pair_weight(name_hash(agent), name_hash(server))
}

/// Bits of a [`rank_key`] that hold a member's rank; pools are limited to
/// [`MAX_POOL`] distinct members (far beyond any management group).
pub const RANK_BITS: u32 = 24;
/// The largest pool [`rank_key`] can tell apart: 2^24 - 1 members.
pub const MAX_POOL: usize = (1 << RANK_BITS) - 1;
const RANK_MASK: u64 = (1 << RANK_BITS) - 1;

/// The key a pool is ranked by, highest first: the weight's top 40 bits,
/// then the member's rank in the pool sorted by name (smaller name first).
///
/// Packing both into one `u64` lets the bounded-load loop pick the best
/// members with branch-free `max`; ties in 40 random bits (about one in
/// 10^12 pairs) fall back to name order. `rank` must be below [`MAX_POOL`].
#[inline]
pub fn rank_key(weight: u64, rank: usize) -> u64 {
    (weight & !RANK_MASK) | (RANK_MASK - rank as u64)
}

/// The rank packed into a [`rank_key`].
#[inline]
pub fn rank_of(key: u64) -> usize {
    (RANK_MASK - (key & RANK_MASK)) as usize
}

/// The pool in `agent`'s hash order, highest [`rank_key`] first, without
/// repeats; at most [`MAX_POOL`] members (the first by name).
pub fn order<'a>(agent: &Name, pool: &'a [Name]) -> Vec<&'a Name> {
    let ha = name_hash(agent);
    let mut names: Vec<&Name> = pool.iter().collect();
    names.sort();
    names.dedup();
    names.truncate(MAX_POOL);
    let mut keyed: Vec<(u64, &Name)> = names
        .into_iter()
        .enumerate()
        .map(|(rank, s)| (rank_key(pair_weight(ha, name_hash(s)), rank), s))
        .collect();
    keyed.sort_unstable_by_key(|k| std::cmp::Reverse(k.0));
    keyed.into_iter().map(|(_, s)| s).collect()
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
        assert_eq!(weight(&n("a"), &n("b")), 10_500_058_953_202_732_933);
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
