//! What *balanced* means for a spread rule: each ready pool member's quota
//! of the rule's agents.
//!
//! Owns the water-filling of a rule's agents over its ready members (the
//! even share, capped by each member's room) and who gets the remainder.
//! Pure arithmetic on counts: must not know names, hashes or which agent
//! goes where (that is `spread`). The definition and its proofs are in
//! `docs/assignment.md`.

/// One ready pool member, as the quota arithmetic sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Slot {
    /// How many of the rule's agents it may hold (its room; `u64::MAX`
    /// when capacity is ignored).
    pub cap: u64,
    /// How many of the rule's agents it holds now (observed primaries).
    pub count: u64,
}

/// Shares `n` agents among `slots` as evenly as their caps allow: each
/// slot's quota, in the slots' order.
///
/// With `L` the largest level such that `sum(min(cap, L)) <= n`, every slot
/// gets `min(cap, L)`, and the `r = n - sum(min(cap, L))` agents left over
/// (fewer than the slots with `cap > L`) add one each to slots with
/// `cap > L`: first those that already hold more than `L` (each such one
/// saves a move), then the others, each group in the slots' order. When
/// the caps add up to `n` or less, every slot gets its cap (the quotas then
/// add up to less than `n`).
///
/// The slots' order must not depend on counts: then a slot that receives
/// agents while a plan runs never takes the remainder from another one
/// (`docs/assignment.md`, "Stable while a plan runs").
pub(crate) fn quotas(slots: &[Slot], n: u64) -> Vec<u64> {
    let total = slots.iter().fold(0u64, |s, x| s.saturating_add(x.cap));
    if total <= n {
        return slots.iter().map(|s| s.cap).collect();
    }
    let filled = |level: u64| {
        slots
            .iter()
            .fold(0u64, |s, x| s.saturating_add(x.cap.min(level)))
    };
    // filled(0) = 0 <= n and filled(max cap) = total > n: the level is in
    // [0, max cap).
    let (mut lo, mut hi) = (0u64, slots.iter().map(|s| s.cap).max().unwrap_or(0));
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if filled(mid) <= n {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    let level = lo;
    let mut quota: Vec<u64> = slots.iter().map(|s| s.cap.min(level)).collect();
    let mut left = n - filled(level);
    for over_level in [true, false] {
        for (q, s) in quota.iter_mut().zip(slots) {
            if left == 0 {
                break;
            }
            if s.cap > level && (s.count > level) == over_level {
                *q += 1;
                left -= 1;
            }
        }
    }
    quota
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slots(v: &[(u64, u64)]) -> Vec<Slot> {
        v.iter().map(|&(cap, count)| Slot { cap, count }).collect()
    }

    #[test]
    fn even_share_with_the_remainder_on_the_fullest() {
        let s = slots(&[(100, 0), (100, 7), (100, 3)]);
        // Level 3: 3 each, and the one left over goes to the member
        // holding 7.
        assert_eq!(quotas(&s, 10), vec![3, 4, 3]);
    }

    #[test]
    fn remainder_goes_in_slot_order_when_nobody_is_over_the_level() {
        let s = slots(&[(100, 0), (100, 0), (100, 0)]);
        assert_eq!(quotas(&s, 5), vec![2, 2, 1]);
    }

    #[test]
    fn caps_bind_and_the_rest_is_shared_by_the_others() {
        let s = slots(&[(1, 5), (100, 0), (100, 0)]);
        assert_eq!(quotas(&s, 9), vec![1, 4, 4]);
    }

    #[test]
    fn saturated_when_the_caps_cannot_take_everyone() {
        let s = slots(&[(2, 0), (3, 9)]);
        assert_eq!(quotas(&s, 10), vec![2, 3]);
    }

    #[test]
    fn unbounded_caps_and_no_slots() {
        let s = slots(&[(u64::MAX, 1), (u64::MAX, 0)]);
        assert_eq!(quotas(&s, 3), vec![2, 1]);
        assert_eq!(quotas(&[], 4), Vec::<u64>::new());
        assert_eq!(quotas(&s, 0), vec![0, 0]);
    }
}
