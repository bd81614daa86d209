//! Text for people about what happened: a rehearsal and a run.
//!
//! Owns the words and layout of [`rehearsal`] (`simulate`'s opening line,
//! waves, passes and verdict), [`simulate`] (`simulate`'s closing text and
//! its JSON object), [`rollout`] (a rehearsal's rollout timeline), [`run`]
//! (`apply --report`, JSON or Markdown, and `apply`'s closing lines),
//! [`failures`] (why each failed member failed), [`apply_json`] (`apply
//! --format json`), [`check`] (`provider check`'s pass/fail list) and
//! [`status`] (`handover status` for people). It sits above [`crate::run`]
//! (it renders what the use cases return; no use case imports it). Plans are rendered by
//! [`crate::render`] (the pure core), the status page by
//! [`crate::reconcile::serve::page`] beside the listener
//! that serves it (it renders the loop's own status types; here it would
//! import the loop while the loop imports it). Returns strings; must not
//! print, and must not decide anything it reports.

pub mod apply_json;
pub mod check;
pub mod failures;
pub mod rehearsal;
pub mod rollout;
pub mod run;
pub mod simulate;
pub mod status;
