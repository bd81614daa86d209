//! Reading `policy.cost:` into [`Cost`], with a positioned message for
//! each figure that is not one.
//!
//! Owns only the translation of [`doc::CostDoc`] (figures as written) into
//! the model's [`Cost`]; the syntax of each figure is
//! [`crate::model::cost`]'s. Must not check anything else of the policy.

use super::build::Builder;
use super::doc;
use crate::diag::Diagnostic;
use crate::model::Cost;

impl Builder<'_> {
    /// `policy.cost`, on top of the defaults; every wrong figure is a
    /// diagnostic at its place, and keeps its default.
    pub(super) fn cost(&mut self, c: &doc::CostDoc) -> Cost {
        self.unknown(&c.unknown);
        let mut out = Cost::default();
        for (key, text) in [
            ("startup", &c.startup),
            ("perCall", &c.per_call),
            ("perOperation", &c.per_operation),
            ("observe", &c.observe),
            ("propagation", &c.propagation),
        ] {
            if let Some(t) = text
                && let Err(e) = out.set(key, &t.value)
            {
                let pos = self.pos(t);
                self.diags
                    .push(Diagnostic::at(pos, format!("policy.cost.{e}")));
            }
        }
        for (key, n) in [("batch", &c.batch), ("parallel", &c.parallel)] {
            if let Some(n) = n
                && let Err(e) = out.set(key, &n.value.to_string())
            {
                let pos = self.pos(n);
                self.diags
                    .push(Diagnostic::at(pos, format!("policy.cost.{e}")));
            }
        }
        if let Some(s) = c.sessions {
            out.sessions = s;
        }
        out
    }
}
