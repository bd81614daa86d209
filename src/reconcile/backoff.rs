//! When to try again: exponential backoff after errors, and jitter on the
//! interval so many controllers do not poll a repository in step.
//!
//! Pure and seeded: the caller owns the clock and the seed. Must not sleep.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::time::Duration;

/// Exponential backoff: `base · 2^(n-1)` after the n-th error in a row,
/// capped at `cap`; a success resets it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Backoff {
    base: Duration,
    cap: Duration,
    failures: u32,
}

impl Backoff {
    /// Backoff from `base` doubling up to `cap` (`cap` below `base` counts
    /// as `base`).
    pub fn new(base: Duration, cap: Duration) -> Self {
        Backoff {
            base,
            cap: cap.max(base),
            failures: 0,
        }
    }

    /// Records an error; returns how long to wait before the next try.
    pub fn on_error(&mut self) -> Duration {
        self.failures = self.failures.saturating_add(1);
        self.delay()
    }

    /// Records a success: the next error waits `base` again.
    pub fn on_success(&mut self) {
        self.failures = 0;
    }

    /// Errors in a row so far.
    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// The wait after the errors so far (zero when there were none).
    pub fn delay(&self) -> Duration {
        if self.failures == 0 {
            return Duration::ZERO;
        }
        let shift = (self.failures - 1).min(31);
        self.base
            .checked_mul(1u32 << shift)
            .map_or(self.cap, |d| d.min(self.cap))
    }
}

impl Default for Backoff {
    /// 5 s doubling up to 5 min.
    fn default() -> Self {
        Backoff::new(Duration::from_secs(5), Duration::from_secs(300))
    }
}

/// Spreads waits uniformly over `[d · (1 − fraction), d · (1 + fraction)]`
/// with a seeded generator.
#[derive(Clone, Debug)]
pub struct Jitter {
    fraction: f64,
    rng: ChaCha8Rng,
}

impl Jitter {
    /// Jitter of ± `fraction` (clamped to `[0, 1]`), seeded.
    pub fn new(fraction: f64, seed: u64) -> Self {
        let fraction = if fraction.is_finite() {
            fraction.clamp(0.0, 1.0)
        } else {
            0.0
        };
        Jitter {
            fraction,
            rng: ChaCha8Rng::seed_from_u64(seed),
        }
    }

    /// `d` with jitter applied.
    pub fn apply(&mut self, d: Duration) -> Duration {
        if self.fraction == 0.0 {
            return d;
        }
        let f = self.rng.random_range(-self.fraction..=self.fraction);
        d.mul_f64(1.0 + f)
    }
}

impl Default for Jitter {
    /// ± 10 %, seed 0.
    fn default() -> Self {
        Jitter::new(0.1, 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: fn(u64) -> Duration = Duration::from_secs;

    #[test]
    fn doubles_to_the_cap_and_resets_on_success() {
        let mut b = Backoff::new(S(5), S(60));
        assert_eq!(b.delay(), Duration::ZERO);
        let waits: Vec<_> = (0..6).map(|_| b.on_error()).collect();
        assert_eq!(waits, [S(5), S(10), S(20), S(40), S(60), S(60)]);
        assert_eq!(b.failures(), 6);
        b.on_success();
        assert_eq!(b.failures(), 0);
        assert_eq!(b.on_error(), S(5));
    }

    #[test]
    fn never_overflows() {
        let mut b = Backoff::new(S(1), S(3600));
        for _ in 0..200 {
            assert!(b.on_error() <= S(3600));
        }
        assert_eq!(b.delay(), S(3600));
        let mut huge = Backoff::new(Duration::MAX, Duration::MAX);
        huge.on_error();
        assert_eq!(huge.on_error(), Duration::MAX);
    }

    #[test]
    fn jitter_stays_in_range_is_seeded_and_spreads() {
        let mut a = Jitter::new(0.1, 42);
        let mut b = Jitter::new(0.1, 42);
        let xs: Vec<_> = (0..200).map(|_| a.apply(S(60))).collect();
        let ys: Vec<_> = (0..200).map(|_| b.apply(S(60))).collect();
        assert_eq!(xs, ys, "same seed, same waits");
        assert!(xs.iter().all(|d| *d >= S(54) && *d <= S(66)), "{xs:?}");
        let lo = xs.iter().filter(|d| **d < S(60)).count();
        assert!(
            lo > 50 && lo < 150,
            "both sides are used: {lo} of 200 below"
        );
        assert_ne!(Jitter::new(0.1, 43).apply(S(60)), xs[0]);
    }

    #[test]
    fn zero_or_nonsense_fraction_means_no_jitter() {
        assert_eq!(Jitter::new(0.0, 1).apply(S(60)), S(60));
        assert_eq!(Jitter::new(f64::NAN, 1).apply(S(60)), S(60));
        let d = Jitter::new(7.0, 1).apply(S(60));
        assert!(d <= S(120), "clamped to ±100 %: {d:?}");
    }
}
