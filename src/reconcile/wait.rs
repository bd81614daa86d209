//! What `handover wait` and `handover status` make of a reconcile loop's
//! `/status`: whether the condition waited for holds, cannot hold, or may
//! still come.
//!
//! Owns [`StatusDoc`] (the part of the `/status` document a client reads,
//! tolerant of fields it does not know), the two conditions
//! ([`Condition::Synced`], [`Condition::Healthy`]) and [`judge`], the pure
//! rule that turns a document into a [`Verdict`], with [`progress`], the
//! one line a waiting client prints. Must not do I/O or read a clock: the
//! use case `run::wait` fetches, polls and times out.
//!
//! The conditions, precisely:
//!
//! - **healthy**: the first observation is done, the sync status is not
//!   `Degraded`, no member is stranded and no revision is refused. It may
//!   still be `Progressing`, `OutOfSync` or `Suspended`: nothing needs a
//!   person.
//! - **synced**: healthy, and `Synced` *at the revision in use* (the sync
//!   status was decided from a plan of that revision, `sync_revision`),
//!   with no member in a bridge, pending or blocked.
//!
//! Either may also require a given revision (`--revision`): until the loop
//! uses it, the client waits.
//!
//! A stranded member, `Degraded` (a refused revision, a failed step, a
//! failed pass) and, for `synced`, `OutOfSync` with no pass running (every
//! difference is blocked: nothing will change without a person) cannot
//! turn into the condition by waiting: they end the wait.

use super::serve::status::SyncStatus;
use crate::diag::thousands;
use serde::Deserialize;

/// What to wait for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Condition {
    /// `Synced` at the revision in use, nothing in flight or blocked.
    Synced,
    /// Nothing needs a person (not `Degraded`, nothing stranded).
    Healthy,
}

impl Condition {
    /// The word on the command line and in JSON output.
    pub fn as_str(self) -> &'static str {
        match self {
            Condition::Synced => "synced",
            Condition::Healthy => "healthy",
        }
    }
}

/// The revision in use.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct RevisionDoc {
    /// The commit, or `digest:…`.
    pub id: String,
    /// What logs show.
    pub short: String,
}

/// A refused revision.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct RefusedDoc {
    /// The refused revision.
    pub revision: String,
    /// Its problems, one per line.
    pub errors: Vec<String>,
}

/// The pass running now.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct CurrentDoc {
    /// Its number.
    pub pass: u64,
    /// `planning` or `applying`.
    pub phase: String,
    /// Moves its plan makes, once planned.
    pub moves: Option<u64>,
    /// Moves done.
    pub done: u64,
}

/// A member in a bridge.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct InFlightDoc {
    /// The member.
    pub name: String,
    /// Since when, RFC 3339.
    pub since: String,
}

/// A blocked member.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct BlockedDoc {
    /// `agent`, `gateway` or `store`.
    pub kind: String,
    /// The member.
    pub name: String,
    /// Why.
    pub reason: String,
}

/// Counts by state.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct MembersDoc {
    /// In a bridge.
    pub bridged: u64,
    /// Pending acknowledgement.
    pub pending: u64,
    /// Blocked.
    pub blocked: u64,
    /// Without a working parent.
    pub stranded: u64,
}

/// The last error.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct ErrorDoc {
    /// `source`, `invalid`, `observe`, `apply` or `journal`.
    pub kind: String,
    /// What happened.
    pub message: String,
}

/// A replica's part with `--ha`.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct HaDoc {
    /// `leader`, `standby` or `unknown`.
    pub role: String,
    /// The replica that leads, if known.
    pub leader: Option<String>,
    /// On a standby, the leader's last published status.
    pub leader_status: Option<serde_json::Value>,
}

/// The part of `/status` a client reads. Unknown fields are ignored and
/// missing ones take their defaults, so a client reads a newer loop.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct StatusDoc {
    /// The desired source.
    pub source: String,
    /// The target.
    pub target: String,
    /// The revision in use.
    pub revision: Option<RevisionDoc>,
    /// The newest revision, when refused.
    pub refused: Option<RefusedDoc>,
    /// The sync status; `None` before the first observation.
    pub sync: Option<SyncStatus>,
    /// The revision `sync` was decided at.
    pub sync_revision: Option<String>,
    /// The first observation is done.
    pub ready: bool,
    /// Applying is suspended.
    pub suspended: bool,
    /// Passes finished.
    pub passes: u64,
    /// The pass running now.
    pub current: Option<CurrentDoc>,
    /// Members in a bridge.
    pub in_flight: Vec<InFlightDoc>,
    /// Blocked members.
    pub blocked: Vec<BlockedDoc>,
    /// Counts by state.
    pub members: MembersDoc,
    /// The last error.
    pub last_error: Option<ErrorDoc>,
    /// With `--ha`.
    pub ha: Option<HaDoc>,
    /// The change window (docs/gates.md), when `policy.windows` is set.
    pub window: Option<crate::reconcile::serve::gates_view::WindowView>,
    /// The approval gate (docs/gates.md), when a plan needed it.
    pub approval: Option<crate::reconcile::serve::gates_view::ApprovalView>,
    /// A progressive rollout (docs/rollouts.md), when `policy.rollout` is
    /// set.
    pub rollout: Option<RolloutDoc>,
}

/// `/status`'s `rollout`, as far as a client reads it.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(default, rename_all = "camelCase")]
pub struct RolloutDoc {
    /// The current step, 1-based.
    pub step: u64,
    /// Steps in the policy.
    pub steps: u64,
    /// `moving`, `soaking`, `paused`, `analysisFailed`, `rollingBack`,
    /// `rolledBack` or `complete`.
    pub phase: String,
    /// When the soak ends (RFC 3339), while soaking.
    pub soak_until: Option<String>,
    /// Why the rollout stopped, when it did.
    pub reason: Option<String>,
}

impl StatusDoc {
    /// Reads a `/status` answer. A standby's own status says what remains
    /// to be done, not the leader's progress, so when it carries the
    /// leader's status, that is what is read.
    pub fn parse(json: &serde_json::Value) -> Result<StatusDoc, serde_json::Error> {
        let doc = StatusDoc::deserialize(json)?;
        match doc.ha.as_ref() {
            Some(HaDoc {
                role,
                leader_status: Some(leader),
                ..
            }) if role == "standby" && leader.is_object() => StatusDoc::deserialize(leader),
            _ => Ok(doc),
        }
    }
}

/// Why the condition cannot hold by waiting.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Failure {
    /// Members have no working parent: a safety violation.
    Stranded(u64),
    /// The newest revision does not validate; the loop keeps the last good.
    Refused {
        /// The refused revision.
        revision: String,
        /// Its problems.
        errors: Vec<String>,
    },
    /// Something else needs a person: a failed step or pass.
    Degraded(String),
    /// Every difference left is blocked and no pass is running.
    Blocked {
        /// Members blocked.
        count: u64,
        /// The first few, with their reasons.
        examples: Vec<String>,
    },
}

impl Failure {
    /// A word for scripts (the `result` of `wait --format json`).
    pub fn kind(&self) -> &'static str {
        match self {
            Failure::Stranded(_) => "stranded",
            Failure::Refused { .. } => "refused",
            Failure::Degraded(_) => "degraded",
            Failure::Blocked { .. } => "blocked",
        }
    }

    /// What to tell a person.
    pub fn reason(&self) -> String {
        match self {
            Failure::Stranded(n) => format!(
                "Degraded: {} member(s) without a working parent (stranded); repair them by hand, see the status page",
                thousands(*n)
            ),
            Failure::Refused { revision, errors } => {
                let mut s = format!(
                    "Degraded: revision {revision} was refused ({} problem(s)); the last good revision stays in use",
                    errors.len()
                );
                for e in errors.iter().take(5) {
                    s.push_str("\n  ");
                    s.push_str(e);
                }
                s
            }
            Failure::Degraded(why) => format!("Degraded: {why}"),
            Failure::Blocked { count, examples } => {
                let mut s = format!(
                    "OutOfSync: {} member(s) blocked and nothing else to do; the loop changes nothing until the cause is fixed",
                    thousands(*count)
                );
                for e in examples {
                    s.push_str("\n  ");
                    s.push_str(e);
                }
                s
            }
        }
    }
}

/// What a status document means for a condition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The condition holds; the line says where the loop stands.
    Holds(String),
    /// Not yet; the line says why (the progress to print).
    Waiting(String),
    /// It cannot hold without a person.
    Fails(Failure),
}

/// True when `want` names the revision `rev` (its id, its short form, or
/// a prefix of the id of at least 7 characters).
pub fn names_revision(rev: &RevisionDoc, want: &str) -> bool {
    rev.id == want || rev.short == want || (want.len() >= 7 && rev.id.starts_with(want))
}

/// Judges `doc` against `condition` (and, when given, the revision that
/// must be in use). Pure.
pub fn judge(doc: &StatusDoc, condition: Condition, revision: Option<&str>) -> Verdict {
    if doc.members.stranded > 0 {
        return Verdict::Fails(Failure::Stranded(doc.members.stranded));
    }
    if let Some(r) = &doc.refused {
        return Verdict::Fails(Failure::Refused {
            revision: r.revision.clone(),
            errors: r.errors.clone(),
        });
    }
    let Some(sync) = doc.sync.filter(|_| doc.ready) else {
        return Verdict::Waiting(progress(doc));
    };
    if sync == SyncStatus::Degraded {
        let rollout = doc.rollout.as_ref().and_then(|r| r.reason.as_ref());
        let why = match (&doc.last_error, rollout) {
            (Some(e), _) => format!("{} error: {}", e.kind, e.message),
            (None, Some(why)) => {
                format!("the rollout stopped: {why}; handover resume lets it go on")
            }
            (None, None) => {
                "a member's change stopped on a provider error; see the status page".into()
            }
        };
        return Verdict::Fails(Failure::Degraded(why));
    }
    if let Some(want) = revision {
        match &doc.revision {
            Some(r) if names_revision(r, want) => {}
            _ => {
                return Verdict::Waiting(format!("waiting for revision {want}; {}", progress(doc)));
            }
        }
    }
    match condition {
        Condition::Healthy => Verdict::Holds(progress(doc)),
        Condition::Synced => {
            let at_revision = doc
                .revision
                .as_ref()
                .is_some_and(|r| doc.sync_revision.as_deref() == Some(r.id.as_str()));
            let m = &doc.members;
            let idle = doc.current.is_none();
            if sync == SyncStatus::Synced
                && at_revision
                && doc.in_flight.is_empty()
                && m.bridged == 0
                && m.pending == 0
                && m.blocked == 0
            {
                Verdict::Holds(progress(doc))
            } else if sync == SyncStatus::OutOfSync && idle && at_revision {
                Verdict::Fails(Failure::Blocked {
                    count: m.blocked.max(doc.blocked.len() as u64),
                    examples: doc
                        .blocked
                        .iter()
                        .take(5)
                        .map(|b| format!("{} {}: {}", b.kind, b.name, b.reason))
                        .collect(),
                })
            } else {
                Verdict::Waiting(progress(doc))
            }
        }
    }
}

/// One line on where the loop stands, e.g. `Progressing at 3f2a9c01be77:
/// pass #4 applying, 40 of 200 moves done; 12 in a bridge, 0 pending, 1
/// blocked, 0 stranded`. Pure.
pub fn progress(doc: &StatusDoc) -> String {
    let Some(sync) = doc.sync.filter(|_| doc.ready) else {
        let pass = match &doc.current {
            Some(c) => format!(" (pass #{} {})", c.pass, c.phase),
            None => String::new(),
        };
        return format!("Starting: waiting for the first observation{pass}");
    };
    let mut s = sync.as_str().to_string();
    if let Some(r) = &doc.revision {
        s.push_str(" at ");
        s.push_str(&r.short);
    }
    s.push(':');
    if let Some(c) = &doc.current {
        s.push_str(&format!(" pass #{} {}", c.pass, c.phase));
        if let Some(moves) = c.moves {
            s.push_str(&format!(
                ", {} of {} moves done",
                thousands(c.done),
                thousands(moves.max(c.done))
            ));
        }
        s.push(';');
    }
    let m = &doc.members;
    s.push_str(&format!(
        " {} in a bridge, {} pending, {} blocked, {} stranded",
        thousands(m.bridged),
        thousands(m.pending),
        thousands(m.blocked),
        thousands(m.stranded)
    ));
    if doc.suspended {
        s.push_str("; applying is suspended");
    }
    if let Some(r) = &doc.rollout {
        s.push_str(&format!(
            "; rollout step {} of {} {}",
            r.step, r.steps, r.phase
        ));
        if let Some(until) = &r.soak_until {
            s.push_str(&format!(" until {until}"));
        }
    }
    if let Some(w) = doc.window.as_ref().filter(|w| !w.open) {
        s.push_str("; change window closed");
        if let Some(next) = &w.next_open {
            s.push_str(&format!(", next opens {next}"));
        }
    }
    if let Some(a) = doc.approval.as_ref().filter(|a| a.awaiting) {
        s.push_str(&format!(
            "; {} member changes await approval",
            thousands(a.members)
        ));
        if let Some(d) = &a.digest {
            s.push_str(&format!(": handover approve {d}"));
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn doc(v: serde_json::Value) -> StatusDoc {
        StatusDoc::parse(&v).unwrap()
    }

    /// A loop that has planned revision abc at the revision in use.
    fn base(sync: &str) -> serde_json::Value {
        json!({
            "revision": {"id": "abcdef0123456789", "short": "abcdef012345", "since": "…"},
            "sync_revision": "abcdef0123456789",
            "sync": sync, "ready": true, "passes": 3, "current": null,
            "in_flight": [], "blocked": [],
            "members": {"bridged": 0, "pending": 0, "blocked": 0, "stranded": 0},
            "refused": null, "last_error": null, "some_future_field": 1
        })
    }

    fn with(mut v: serde_json::Value, key: &str, value: serde_json::Value) -> StatusDoc {
        v[key] = value;
        doc(v)
    }

    #[test]
    fn synced_holds_only_at_the_revision_in_use_with_nothing_in_flight() {
        let d = doc(base("Synced"));
        assert!(matches!(
            judge(&d, Condition::Synced, None),
            Verdict::Holds(_)
        ));
        // Synced, but decided at the previous revision: the new one has
        // not been planned yet.
        let d = with(base("Synced"), "sync_revision", json!("0000000"));
        assert!(matches!(
            judge(&d, Condition::Synced, None),
            Verdict::Waiting(_)
        ));
        // A member still in a bridge.
        let d = with(
            base("Synced"),
            "in_flight",
            json!([{"name": "web01.contoso.local", "since": "…"}]),
        );
        assert!(matches!(
            judge(&d, Condition::Synced, None),
            Verdict::Waiting(_)
        ));
        // Progressing: wait, and healthy already holds.
        let mut v = base("Progressing");
        v["current"] = json!({"pass": 4, "phase": "applying", "moves": 200, "done": 40});
        v["members"]["bridged"] = json!(12);
        let d = doc(v);
        match judge(&d, Condition::Synced, None) {
            Verdict::Waiting(line) => assert_eq!(
                line,
                "Progressing at abcdef012345: pass #4 applying, 40 of 200 moves done; 12 in a bridge, 0 pending, 0 blocked, 0 stranded"
            ),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            judge(&d, Condition::Healthy, None),
            Verdict::Holds(_)
        ));
    }

    #[test]
    fn nothing_is_judged_before_the_first_observation() {
        let d =
            doc(json!({"sync": null, "ready": false, "current": {"pass": 1, "phase": "planning"}}));
        for c in [Condition::Synced, Condition::Healthy] {
            assert_eq!(
                judge(&d, c, None),
                Verdict::Waiting(
                    "Starting: waiting for the first observation (pass #1 planning)".into()
                )
            );
        }
    }

    #[test]
    fn stranded_refused_and_degraded_end_the_wait_for_either_condition() {
        let mut v = base("Degraded");
        v["members"]["stranded"] = json!(2);
        for c in [Condition::Synced, Condition::Healthy] {
            assert_eq!(
                judge(&doc(v.clone()), c, None),
                Verdict::Fails(Failure::Stranded(2))
            );
        }
        let d = with(
            base("Degraded"),
            "refused",
            json!({"revision": "bad0", "errors": ["d.yaml:3:4: unknown parent"]}),
        );
        let Verdict::Fails(f) = judge(&d, Condition::Healthy, None) else {
            panic!()
        };
        assert_eq!(f.kind(), "refused");
        assert!(
            f.reason().contains("d.yaml:3:4: unknown parent"),
            "{}",
            f.reason()
        );
        let d = with(
            base("Degraded"),
            "last_error",
            json!({"kind": "observe", "message": "cannot observe exec:x", "at": "…"}),
        );
        assert_eq!(
            judge(&d, Condition::Synced, None),
            Verdict::Fails(Failure::Degraded(
                "observe error: cannot observe exec:x".into()
            ))
        );
    }

    #[test]
    fn out_of_sync_with_no_pass_running_ends_a_wait_for_synced_but_is_healthy() {
        let mut v = base("OutOfSync");
        v["members"]["blocked"] = json!(1);
        v["blocked"] = json!([{"kind": "agent", "name": "db01.contoso.local", "reason": "its new parent is down"}]);
        let d = doc(v.clone());
        assert_eq!(
            judge(&d, Condition::Synced, None),
            Verdict::Fails(Failure::Blocked {
                count: 1,
                examples: vec!["agent db01.contoso.local: its new parent is down".into()]
            })
        );
        assert!(matches!(
            judge(&d, Condition::Healthy, None),
            Verdict::Holds(_)
        ));
        // While a pass runs, the verdict is not final.
        v["current"] = json!({"pass": 4, "phase": "planning"});
        assert!(matches!(
            judge(&doc(v), Condition::Synced, None),
            Verdict::Waiting(_)
        ));
    }

    #[test]
    fn a_revision_asked_for_is_waited_for() {
        let d = doc(base("Synced"));
        assert!(matches!(
            judge(&d, Condition::Synced, Some("abcdef01")),
            Verdict::Holds(_)
        ));
        assert!(matches!(
            judge(&d, Condition::Synced, Some("abcdef012345")),
            Verdict::Holds(_)
        ));
        match judge(&d, Condition::Healthy, Some("1234567")) {
            Verdict::Waiting(l) => {
                assert!(l.starts_with("waiting for revision 1234567; Synced"), "{l}")
            }
            other => panic!("{other:?}"),
        }
        // Too short a prefix names nothing.
        assert!(!names_revision(d.revision.as_ref().unwrap(), "abc"));
    }

    #[test]
    fn a_standby_is_judged_by_the_leader_it_publishes() {
        let mut v = base("OutOfSync");
        v["ha"] = json!({"role": "standby", "leader": "hq1", "leader_status": base("Synced")});
        let d = doc(v);
        assert_eq!(d.sync, Some(SyncStatus::Synced));
        assert!(matches!(
            judge(&d, Condition::Synced, None),
            Verdict::Holds(_)
        ));
    }

    #[test]
    fn suspended_is_healthy_and_said() {
        let mut v = base("Suspended");
        v["suspended"] = json!(true);
        let d = doc(v);
        assert!(matches!(
            judge(&d, Condition::Synced, None),
            Verdict::Waiting(l) if l.ends_with("; applying is suspended")
        ));
        assert!(matches!(
            judge(&d, Condition::Healthy, None),
            Verdict::Holds(_)
        ));
    }

    #[test]
    fn the_progress_line_says_how_to_approve_when_the_window_opens_and_the_rollout_step() {
        let mut v = base("AwaitingApproval");
        v["approval"] = json!({"awaiting": true, "digest": "fnv1a64:0123456789abcdef",
            "members": 1200, "threshold": {"aboveMembers": 500}});
        v["window"] = json!({"open": false, "closesAt": null, "nextOpen": "2026-12-14T21:00:00Z"});
        v["rollout"] = json!({"step": 1, "steps": 3, "phase": "soaking",
            "soakUntil": "2026-12-14T21:15:00Z", "analysis": {"verdict": "passing", "reasons": []}});
        let d = doc(v);
        let line = progress(&d);
        assert!(
            line.starts_with("AwaitingApproval at abcdef012345:"),
            "{line}"
        );
        assert!(
            line.contains("; rollout step 1 of 3 soaking until 2026-12-14T21:15:00Z"),
            "{line}"
        );
        assert!(
            line.contains("; change window closed, next opens 2026-12-14T21:00:00Z"),
            "{line}"
        );
        assert!(
            line.contains(
                "; 1,200 member changes await approval: handover approve fnv1a64:0123456789abcdef"
            ),
            "{line}"
        );
        // A person can still approve: waiting, not failing.
        assert!(matches!(
            judge(&d, Condition::Synced, None),
            Verdict::Waiting(_)
        ));
    }

    #[test]
    fn a_failed_rollout_fails_the_wait_with_the_rollouts_reason() {
        let mut v = base("Degraded");
        v["rollout"] = json!({"step": 2, "steps": 3, "phase": "analysisFailed",
            "reason": "step 2: gateway gw9.contoso.local, a new primary, is down"});
        match judge(&doc(v), Condition::Synced, None) {
            Verdict::Fails(Failure::Degraded(why)) => assert_eq!(
                why,
                "the rollout stopped: step 2: gateway gw9.contoso.local, a new primary, is down; handover resume lets it go on"
            ),
            other => panic!("{other:?}"),
        }
    }
}
