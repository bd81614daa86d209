//! Planning: turns (desired, observed, policy) into an ordered, checked Plan.
//!
//! Owns the plan shape of SPEC section 4 ([`Plan`], [`Step`], [`Action`])
//! and the pure planner. No I/O, no clock, no randomness: the same inputs
//! give the same plan, byte for byte. Rendering lives in `render`; applying
//! lives in `execute`.

pub mod direct;
pub mod types;

pub use types::*;
