//! Which pass a reconcile run makes: the single process's pass, or with
//! `--ha` a replica's (leader or standby).
//!
//! Owns only that choice, so [`super::lead`] can build on [`super::pass`]
//! without the pass knowing about high availability. Must not do any part
//! of a pass itself.

use super::pass::PassEnv;
use crate::reconcile::{PassContext, PassResult};
use crate::verdict::Verdict;
use std::cell::Cell;

/// The pass [`crate::reconcile::drive`] is given: [`super::lead::pass`]
/// with `--ha` (no verdict: forever mode only), else [`super::pass::pass`],
/// which sets `verdict` for `--once`'s exit code.
pub async fn pass(
    env: &PassEnv,
    ctx: PassContext<'_>,
    verdict: &Cell<Option<Verdict>>,
) -> PassResult {
    match &env.ha {
        Some(ha) => super::lead::pass(env, ha, ctx).await,
        None => super::pass::pass(env, ctx, verdict).await,
    }
}
