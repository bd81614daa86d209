//! Text for people about what happened: a rehearsal and a run.
//!
//! Owns the words and layout of [`rehearsal`] (`simulate`'s opening line,
//! waves, passes and verdict), [`rollout`] (a rehearsal's rollout
//! timeline), [`run`] (`apply --report`, JSON or Markdown, and `apply`'s
//! closing lines), [`failures`] (why each failed member failed) and
//! [`apply_json`] (`apply --format json`). Plans are rendered by
//! [`crate::render`] (the pure core), the status page by
//! [`crate::reconcile::serve::page`] beside the listener
//! that serves it (it renders the loop's own status types; here it would
//! import the loop while the loop imports it). Returns strings; must not
//! print, and must not decide anything it reports.

pub mod apply_json;
pub mod failures;
pub mod rehearsal;
pub mod rollout;
pub mod run;
