//! Loading `policy.windows` and `policy.approval` (docs/gates.md) into the
//! model, with a positioned message for every bad value.
//!
//! Owns the value checks of change windows (kind, cron schedule, duration,
//! time zone) and of the approval thresholds. Must not decide whether a
//! window is open or a plan needs approval (that is
//! [`crate::model::window`] and [`crate::plan::approval`]).

use super::build::{Builder, quote};
use super::doc::{ApprovalDoc, WindowDoc};
use crate::diag::Diagnostic;
use crate::model::{Approval, Seconds, Window, WindowKind, window};

impl Builder<'_> {
    /// `policy.windows`: every entry checked; a bad entry is reported and
    /// left out (the topology is refused as a whole anyway).
    pub(super) fn windows(&mut self, docs: &[WindowDoc]) -> Vec<Window> {
        docs.iter().filter_map(|d| self.window(d)).collect()
    }

    fn window(&mut self, d: &WindowDoc) -> Option<Window> {
        self.unknown(&d.unknown);
        let mut ok = true;
        let kind = match d.kind.value.as_str() {
            "allow" => Some(WindowKind::Allow),
            "deny" => Some(WindowKind::Deny),
            other => {
                let pos = self.pos(&d.kind);
                self.diags.push(Diagnostic::at(
                    pos,
                    format!("window kind {} is not allow or deny; expected allow (changes may start inside the window) or deny (no change starts inside it)", quote(other)),
                ));
                None
            }
        };
        if let Err(e) = window::parse_schedule(&d.schedule.value) {
            let pos = self.pos(&d.schedule);
            self.diags.push(
                Diagnostic::at(pos, format!("window schedule {} {e}", quote(&d.schedule.value)))
                    .with_hint("write minute hour day-of-month month day-of-week in cron syntax, such as \"0 22 * * 1-5\" for 22:00 Monday to Friday"),
            );
            ok = false;
        }
        let duration = match Seconds::parse(&d.duration.value) {
            Ok(s) if s.0 > 0 => Some(s),
            _ => {
                let pos = self.pos(&d.duration);
                self.diags.push(Diagnostic::at(
                    pos,
                    format!("window duration {} is not a duration; expected a whole number above 0 followed by s, m or h, such as 30m or 4h", quote(&d.duration.value)),
                ));
                None
            }
        };
        let time_zone = match &d.time_zone {
            Some(tz) => match window::parse_time_zone(&tz.value) {
                Ok(_) => Some(tz.value.clone()),
                Err(e) => {
                    let pos = self.pos(tz);
                    self.diags.push(Diagnostic::at(
                        pos,
                        format!("window timeZone {} {e}", quote(&tz.value)),
                    ));
                    None
                }
            },
            None => Some("UTC".to_string()),
        };
        if !ok {
            return None;
        }
        Some(Window {
            kind: kind?,
            schedule: d.schedule.value.clone(),
            duration: duration?,
            time_zone: time_zone?,
        })
    }

    /// `policy.approval`: at least one threshold, each in range.
    pub(super) fn approval(&mut self, d: &ApprovalDoc) -> Option<Approval> {
        self.unknown(&d.unknown);
        let mut out = Approval::default();
        if let Some(m) = &d.above_members {
            match u64::try_from(m.value) {
                Ok(v) => out.above_members = Some(v),
                Err(_) => {
                    let pos = self.pos(m);
                    self.diags.push(Diagnostic::at(
                        pos,
                        format!("approval.aboveMembers is {}; expected a whole number of members, 0 or more", m.value),
                    ));
                }
            }
        }
        if let Some(p) = &d.above_percent {
            match u8::try_from(p.value) {
                Ok(v) if v <= 100 => out.above_percent = Some(v),
                _ => {
                    let pos = self.pos(p);
                    self.diags.push(Diagnostic::at(
                        pos,
                        format!("approval.abovePercent is {}; expected a whole percentage from 0 to 100", p.value),
                    ));
                }
            }
        }
        if d.above_members.is_none() && d.above_percent.is_none() {
            self.diags.push(
                Diagnostic::general(
                    "policy.approval names no threshold; expected aboveMembers, abovePercent or both",
                )
                .with_hint("add aboveMembers: 500 (say) under approval, or remove approval"),
            );
        }
        Some(out)
    }
}

#[cfg(test)]
mod tests;
