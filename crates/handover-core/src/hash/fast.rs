//! The fast, deterministic hasher of the in-memory name-keyed maps of the
//! validator, the planner, the executor and the simulator.
//!
//! A [`Name`](crate::name::Name) carries its hash, computed once with
//! [`Fnv`]'s word step over its lowercase form, and feeds it as one word;
//! SipHash (the std default) would spend more on that word than the rest of
//! the lookup. The maps hold names from trusted input files, so hash
//! flooding is not a concern here. Owns the map hasher; must not be used
//! for anything persisted (its word step is not FNV-1a: use
//! [`Fnv1a`](super::Fnv1a)).

use super::fnv::{FNV_OFFSET, FNV_PRIME};
use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

/// FNV-1a (64 bit) over bytes, a folded multiply over whole words: the
/// hasher of [`FastMap`] and [`FastSet`], in memory only.
#[derive(Clone, Copy, Debug)]
pub struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Self {
        Fnv(FNV_OFFSET)
    }
}

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        // One avalanche round so low bits (the bucket index) mix well.
        let mut h = self.0;
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^ (h >> 33)
    }

    fn write_u64(&mut self, w: u64) {
        // A whole word at once (`Name` hashes by words): a folded 64x64->128
        // multiply (wyhash's step) spreads every input bit over both halves;
        // a plain multiply would only carry differences upwards, and names
        // differing in one digit would share their low (bucket) bits.
        let m = u128::from(self.0 ^ w) * 0x9e37_79b9_7f4a_7c15;
        self.0 = (m as u64) ^ ((m >> 64) as u64);
    }

    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(FNV_PRIME);
        }
    }
}

/// A `HashMap` with [`Fnv`].
pub type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<Fnv>>;
/// A `HashSet` with [`Fnv`].
pub type FastSet<K> = HashSet<K, BuildHasherDefault<Fnv>>;
