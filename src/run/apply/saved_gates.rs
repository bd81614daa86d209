//! The gates of `apply PLANFILE` (docs/gates.md): the change windows and
//! the approval a saved plan recorded when `plan --out` made it.
//!
//! Owns [`check`]: a closed window refuses unless `--ignore-windows`; a
//! plan that recorded an approval digest needs it approved (journal of the
//! state directory, or `handover-approvals.txt` beside the plan file), or
//! the interactive `yes`, which is then recorded as the approval: the same
//! words and exit code as `apply --desired`. Must not print, observe or
//! apply: [`super::interactive`] does.

use crate::model::window::{self, Window};
use crate::plan::{Plan, PlanApproval};
use crate::run::gates::apply::ApplyGate;
use crate::run::gates::approvals::{self, FILE_NAME};
use crate::run::gates::show;
use chrono::{DateTime, Utc};
use std::path::Path;

/// What `check` needs besides the plan.
#[derive(Clone, Copy, Debug)]
pub struct Asked<'a> {
    /// The plan file, as given (its approvals file is beside it).
    pub planfile: &'a Path,
    /// The state directory whose journal holds `handover approve`'s records.
    pub state_dir: &'a Path,
    /// The instant windows are judged at.
    pub now: DateTime<Utc>,
    /// `--ignore-windows`.
    pub ignore_windows: bool,
    /// `--auto-approve`.
    pub auto_approve: bool,
}

/// The gates of a saved plan: `Err` is the refusal to print (exit code 6,
/// nothing applied). A plan without `gates` (no window or approval in its
/// topology, or made by an older release) passes.
pub fn check(plan: &Plan, a: &Asked<'_>) -> Result<ApplyGate, String> {
    let mut out = ApplyGate::default();
    let Some(gates) = &plan.gates else {
        return Ok(out);
    };
    let file = a.planfile.display();
    if !gates.windows.is_empty() {
        let w = window::status(&gates.windows, a.now);
        let next = match w.next_open {
            Some(t) => format!("the next window opens at {}", show(t)),
            None => "no window opens within the next 400 days".to_string(),
        };
        if !w.open && !a.ignore_windows {
            return Err(format!(
                "error: outside the change window (policy.windows, recorded in {file}): no change may start now ({}); {next}. Nothing was applied; run apply again then, or pass --ignore-windows to apply now.",
                show(a.now)
            ));
        }
        if !w.open {
            out.notes.push(format!(
                "warning: outside the change window (policy.windows, recorded in {file}); applying anyway because of --ignore-windows; {next}."
            ));
        }
    }
    let Some(need) = &gates.approval else {
        return Ok(out);
    };
    let (approved, problems) = approvals::all(a.state_dir, &[a.planfile.to_path_buf()]);
    if let Some(p) = problems.into_iter().next() {
        return Err(format!("error: {p}. Nothing was applied."));
    }
    match approved.get(&need.digest) {
        Some(by) => out.notes.push(format!(
            "approval: {} was approved by {}.",
            need.digest,
            Some(by.by.as_str())
                .filter(|b| !b.is_empty())
                .unwrap_or("an unknown user")
        )),
        None if a.auto_approve => {
            return Err(format!(
                "error: this plan moves {} of {} members, above policy.approval ({}); it needs approval of {} before --auto-approve may apply it. Approve it with `handover approve {} --target TARGET` (recorded in the journal with your user name), or add the digest to {FILE_NAME} beside {file}, then apply again. Nothing was applied.",
                need.members,
                need.managed,
                thresholds(need),
                need.digest,
                need.digest
            ));
        }
        None => {
            out.notes.push(format!(
                "approval: this plan moves {} of {} members, above policy.approval ({}). Answering yes approves {} and records the approval in the journal with your user name.",
                need.members,
                need.managed,
                thresholds(need),
                need.digest
            ));
            out.approve_on_yes = Some(need.digest.clone());
        }
    }
    Ok(out)
}

/// Refuses a plan file whose recorded window cannot be read (edited by
/// hand): judging it would silently drop the window. Called when the plan
/// file is read, before the target is opened.
pub fn valid(plan: &Plan, file: &str) -> Result<(), String> {
    let windows: &[Window] = plan.gates.as_ref().map_or(&[], |g| &g.windows);
    for (i, w) in windows.iter().enumerate() {
        let bad = window::parse_schedule(&w.schedule)
            .err()
            .map(|e| format!("schedule {:?} {e}", w.schedule))
            .or_else(|| {
                window::parse_time_zone(&w.time_zone)
                    .err()
                    .map(|e| format!("timeZone {:?} {e}", w.time_zone))
            })
            .or_else(|| (w.duration.0 == 0).then(|| "duration is 0; expected more than 0".into()));
        if let Some(why) = bad {
            return Err(format!(
                "error: {file}: gates.windows[{i}]: {why}. Nothing was applied; plan again with `handover plan --out`."
            ));
        }
    }
    Ok(())
}

/// `aboveMembers N, abovePercent P`, as `apply --desired` says it.
fn thresholds(need: &PlanApproval) -> String {
    let mut v = Vec::new();
    if let Some(n) = need.threshold.above_members {
        v.push(format!("aboveMembers {n}"));
    }
    if let Some(p) = need.threshold.above_percent {
        v.push(format!("abovePercent {p}"));
    }
    v.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::window::WindowKind;
    use crate::model::{Approval, Seconds};
    use crate::plan::PlanGates;

    fn plan(gates: PlanGates) -> Plan {
        let mut p = Plan::new(Vec::new(), Vec::new());
        p.gates = Some(gates);
        p
    }

    fn asked<'a>(dir: &'a Path, planfile: &'a Path, auto: bool) -> Asked<'a> {
        Asked {
            planfile,
            state_dir: dir,
            now: "2026-12-12T11:00:00Z".parse().unwrap(),
            ignore_windows: false,
            auto_approve: auto,
        }
    }

    fn deny_always() -> Window {
        Window {
            kind: WindowKind::Deny,
            schedule: "* * * * *".into(),
            duration: Seconds(3600),
            time_zone: "UTC".into(),
        }
    }

    #[test]
    fn a_closed_window_refuses_unless_ignored() {
        let tmp = tempfile::tempdir().unwrap();
        let f = tmp.path().join("plan.json");
        let p = plan(PlanGates {
            windows: vec![deny_always()],
            approval: None,
        });
        let e = check(&p, &asked(tmp.path(), &f, true)).unwrap_err();
        assert!(
            e.starts_with("error: outside the change window (policy.windows, recorded in "),
            "{e}"
        );
        assert!(
            e.contains("no window opens within the next 400 days"),
            "{e}"
        );
        let ok = check(
            &p,
            &Asked {
                ignore_windows: true,
                ..asked(tmp.path(), &f, true)
            },
        )
        .unwrap();
        assert!(ok.notes[0].contains("applying anyway because of --ignore-windows"));
    }

    #[test]
    fn a_window_edited_by_hand_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let f = tmp.path().join("plan.json");
        let mut w = deny_always();
        w.schedule = "every night".into();
        let p = plan(PlanGates {
            windows: vec![w],
            approval: None,
        });
        let e = valid(&p, &f.display().to_string()).unwrap_err();
        assert!(
            e.contains("gates.windows[0]: schedule \"every night\""),
            "{e}"
        );
    }

    #[test]
    fn an_approval_comes_from_the_file_beside_the_plan_or_the_yes() {
        let tmp = tempfile::tempdir().unwrap();
        let f = tmp.path().join("plan.json");
        let digest = "fnv1a64:0123456789abcdef";
        let p = plan(PlanGates {
            windows: Vec::new(),
            approval: Some(PlanApproval {
                digest: digest.into(),
                members: 4,
                managed: 4,
                threshold: Approval {
                    above_members: Some(2),
                    above_percent: None,
                },
            }),
        });
        let e = check(&p, &asked(tmp.path(), &f, true)).unwrap_err();
        assert!(
            e.contains(&format!(
                "it needs approval of {digest} before --auto-approve"
            )),
            "{e}"
        );
        let asks = check(&p, &asked(tmp.path(), &f, false)).unwrap();
        assert_eq!(asks.approve_on_yes.as_deref(), Some(digest));
        std::fs::write(tmp.path().join(FILE_NAME), format!("{digest} CHG0042\n")).unwrap();
        let ok = check(&p, &asked(tmp.path(), &f, true)).unwrap();
        assert_eq!(
            ok.notes,
            [format!(
                "approval: {digest} was approved by file {FILE_NAME}."
            )]
        );
    }
}
