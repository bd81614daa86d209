use super::*;
use proptest::prelude::*;
use std::collections::BTreeMap;

const AT: &str = "2026-12-07T23:00:00Z";

fn snap(sync: SyncState) -> Snapshot {
    Snapshot {
        pass: 2,
        target: "sim:estate.yaml".into(),
        source: "desired/".into(),
        revision: Some("digest:1a2b3c".into()),
        sync: Some(sync),
        ..Snapshot::default()
    }
}

fn events(prev: &Snapshot, next: &Snapshot) -> Vec<Event> {
    judge(prev, next, AT).into_iter().map(|n| n.event).collect()
}

#[test]
fn synced_to_progressing_and_back() {
    let synced = snap(SyncState::Synced);
    let progressing = Snapshot {
        applied: 4,
        moves: 2,
        in_flight: vec!["web01.contoso.local".into()],
        ..snap(SyncState::Progressing)
    };
    let n = judge(&synced, &progressing, AT);
    assert_eq!(n.len(), 1);
    assert_eq!(n[0].event, Event::Progressing);
    assert_eq!(
        n[0].message,
        "pass 2 started changing the estate: 2 members to move, 4 operations applied"
    );
    assert_eq!(n[0].members[0].name, "web01.contoso.local");
    assert_eq!(n[0].at, AT);
    // The next pass finds the same: nothing new.
    let still = Snapshot {
        applied: 0,
        ..progressing.clone()
    };
    assert_eq!(events(&progressing, &still), []);
    assert_eq!(events(&still, &snap(SyncState::Synced)), [Event::Synced]);
}

#[test]
fn a_pass_that_converges_at_once_tells_both() {
    let synced = snap(SyncState::Synced);
    let done = Snapshot {
        applied: 6,
        moves: 2,
        ..snap(SyncState::Synced)
    };
    assert_eq!(events(&synced, &done), [Event::Progressing, Event::Synced]);
    // A restart that finds the estate Synced says nothing.
    assert_eq!(events(&Snapshot::default(), &synced), []);
    // The first pass of a run that changed the estate (every
    // `reconcile --once`) tells both.
    let n = judge(&Snapshot::default(), &done, AT);
    assert_eq!(
        n.iter().map(|n| n.event).collect::<Vec<_>>(),
        [Event::Progressing, Event::Synced]
    );
    assert_eq!(
        n[1].message,
        "every managed member has its desired parents (6 operations applied)"
    );
    // ... and one that is still moving tells that it started.
    let moving = Snapshot {
        applied: 2,
        ..snap(SyncState::Progressing)
    };
    assert_eq!(events(&Snapshot::default(), &moving), [Event::Progressing]);
    // OutOfSync to Progressing is no news; Progressing is told from Synced.
    assert_eq!(
        events(&snap(SyncState::OutOfSync), &snap(SyncState::Progressing)),
        []
    );
}

#[test]
fn degraded_carries_its_reason_once() {
    let bad = Snapshot {
        reason: Some("observe failed: scom-provider exited with 3".into()),
        ..snap(SyncState::Degraded)
    };
    let n = judge(&snap(SyncState::Progressing), &bad, AT);
    assert_eq!(n.len(), 1);
    assert_eq!(n[0].event, Event::Degraded);
    assert_eq!(n[0].message, "observe failed: scom-provider exited with 3");
    assert_eq!(n[0].severity, super::super::payload::Severity::Error);
    assert_eq!(events(&bad, &bad), []);
    // At start-up a Degraded estate is news.
    assert_eq!(events(&Snapshot::default(), &bad), [Event::Degraded]);
}

#[test]
fn only_newly_blocked_members_are_named() {
    let mut prev = snap(SyncState::OutOfSync);
    prev.blocked
        .insert("web01.contoso.local".into(), "old reason".into());
    let mut next = prev.clone();
    next.blocked.insert(
        "web02.contoso.local".into(),
        "its new primary gw03.contoso.local is not ready".into(),
    );
    let n = judge(&prev, &next, AT);
    assert_eq!(n.len(), 1);
    assert_eq!(n[0].event, Event::Blocked);
    assert_eq!(n[0].members.len(), 1);
    assert_eq!(n[0].members[0].name, "web02.contoso.local");
    assert_eq!(
        n[0].message,
        "1 member newly blocked (2 blocked in all): their change cannot start"
    );
    // Fewer blocked is no news.
    assert_eq!(events(&next, &prev), []);
}

#[test]
fn pending_and_stranded_fire_when_they_grow() {
    let prev = snap(SyncState::Progressing);
    let next = Snapshot {
        pending: 2,
        ..prev.clone()
    };
    assert_eq!(events(&prev, &next), [Event::PendingAck]);
    assert_eq!(events(&next, &next), []);
    let stranded = Snapshot {
        stranded: 1,
        reason: Some("1 member stranded".into()),
        ..snap(SyncState::Degraded)
    };
    assert_eq!(events(&next, &stranded), [Event::Degraded, Event::Stranded]);
    let more = Snapshot {
        stranded: 3,
        ..stranded.clone()
    };
    assert_eq!(events(&stranded, &more), [Event::Stranded]);
}

#[test]
fn approval_fires_per_digest() {
    let prev = snap(SyncState::OutOfSync);
    let waiting = Snapshot {
        awaiting_approval: Some("9f3c2a1b".into()),
        moves: 1200,
        ..snap(SyncState::AwaitingApproval)
    };
    let n = judge(&prev, &waiting, AT);
    assert_eq!(n.len(), 1);
    assert_eq!(
        n[0].message,
        "plan 9f3c2a1b moves 1,200 members and waits for approval: handover approve 9f3c2a1b"
    );
    assert_eq!(events(&waiting, &waiting), []);
    // A new digest needs a new approval.
    let newer = Snapshot {
        awaiting_approval: Some("0badc0de".into()),
        ..waiting.clone()
    };
    assert_eq!(events(&waiting, &newer), [Event::AwaitingApproval]);
}

#[test]
fn rollout_phases_fire_on_entry() {
    let moving = Snapshot {
        rollout: Some(RolloutPhase::Soaking),
        ..snap(SyncState::Progressing)
    };
    let failed = Snapshot {
        rollout: Some(RolloutPhase::AnalysisFailed),
        reason: Some("gw03.contoso.local dropped 40 agents".into()),
        ..snap(SyncState::Degraded)
    };
    let n = judge(&moving, &failed, AT);
    assert_eq!(
        n.iter().map(|n| n.event).collect::<Vec<_>>(),
        [Event::Degraded, Event::AnalysisFailed]
    );
    assert_eq!(
        n[1].message,
        "the rollout step's analysis failed: gw03.contoso.local dropped 40 agents"
    );
    let back = Snapshot {
        rollout: Some(RolloutPhase::RolledBack),
        ..failed.clone()
    };
    assert_eq!(events(&failed, &back), [Event::RolledBack]);
    assert_eq!(events(&back, &back), []);
}

#[test]
fn windows_fire_on_flips_not_from_unknown() {
    let open = Snapshot {
        window_open: Some(true),
        window_next: Some("2026-12-08T06:00:00Z".into()),
        ..snap(SyncState::OutOfSync)
    };
    let closed = Snapshot {
        window_open: Some(false),
        window_next: Some("2026-12-08T22:00:00Z".into()),
        ..snap(SyncState::OutOfSync)
    };
    assert_eq!(events(&closed, &open), [Event::WindowOpened]);
    let n = judge(&open, &closed, AT);
    assert_eq!(n[0].event, Event::WindowClosed);
    assert_eq!(
        n[0].message,
        "the change window closed; no new bridge starts until 2026-12-08T22:00:00Z (members already in a bridge finish)"
    );
    assert_eq!(events(&snap(SyncState::OutOfSync), &open), []);
}

fn any_snapshot() -> impl Strategy<Value = Snapshot> {
    let sync = proptest::option::of(proptest::sample::select(SyncState::ALL.to_vec()));
    let phase = proptest::option::of(proptest::sample::select(RolloutPhase::ALL.to_vec()));
    let names = proptest::collection::btree_set(0u8..30, 0..25);
    (
        sync,
        0u64..3,
        names,
        0u64..3,
        0u64..3,
        proptest::option::of(proptest::sample::select(vec!["a1", "b2"])),
        phase,
        proptest::option::of(any::<bool>()),
    )
        .prop_map(
            |(sync, applied, blocked, pending, stranded, digest, rollout, window_open)| Snapshot {
                pass: 1,
                target: "sim:e.yaml".into(),
                sync,
                applied,
                blocked: blocked
                    .into_iter()
                    .map(|i| (format!("web{i:02}.contoso.local"), "why".to_string()))
                    .collect::<BTreeMap<_, _>>(),
                pending,
                stranded,
                awaiting_approval: digest.map(str::to_string),
                rollout,
                window_open,
                ..Snapshot::default()
            },
        )
}

proptest! {
    /// A pass that finds what the last one did (and applies nothing)
    /// fires nothing: no event on every pass, only on transitions.
    #[test]
    fn nothing_changed_fires_nothing(s in any_snapshot()) {
        let s = Snapshot { applied: 0, ..s };
        prop_assert!(judge(&s, &s, AT).is_empty());
    }

    /// Each event at most once per step, every payload bounded, and after
    /// any transition a repeat of the same state fires nothing.
    #[test]
    fn each_event_fires_once_per_transition(a in any_snapshot(), b in any_snapshot()) {
        let fired = judge(&a, &b, AT);
        let mut seen = std::collections::BTreeSet::new();
        for n in &fired {
            prop_assert!(seen.insert(n.event), "{} twice", n.event);
            prop_assert!(n.members.len() <= MAX_MEMBERS_BOUND);
            prop_assert!(n.members_total >= n.members.len());
        }
        let again = Snapshot { applied: 0, ..b.clone() };
        prop_assert!(judge(&b, &again, AT).is_empty());
        // Degraded fires exactly on entry.
        let degraded = fired.iter().any(|n| n.event == Event::Degraded);
        prop_assert_eq!(
            degraded,
            b.sync == Some(SyncState::Degraded) && a.sync != Some(SyncState::Degraded)
        );
    }
}

const MAX_MEMBERS_BOUND: usize = super::super::payload::MAX_MEMBERS;
