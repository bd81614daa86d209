//! The status page's markup: escaping, bounds, no reference off the
//! listener, and a snapshot of a fixed status.

use super::*;
use crate::execute::{Progress, ProgressEvent};
use crate::model::Observed;
use crate::plan::{BlockReason, Blocked, Plan, ServerKind};
use crate::reconcile::schedule::Trigger;
use crate::reconcile::serve::live::LiveHandle;
use crate::reconcile::serve::status::{
    ErrorKind, ErrorView, InFlight, MemberCounts, PassView, RefusedView, RevisionView,
};
use std::time::Duration;

fn name(s: &str) -> Name {
    Name::parse(s).unwrap()
}

const NOW: u64 = 1_795_694_400; // 2026-11-26T12:00:00Z

fn now() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(NOW)
}

/// A status mid-migration: one pass recorded, one member left in a bridge,
/// one blocked.
fn status() -> Status {
    Status {
        source: "topology/desired.yaml".into(),
        target: "sim:estate.yaml".into(),
        revision: Some(RevisionView {
            id: "0123456789abcdef0123456789abcdef01234567".into(),
            short: "0123456789ab".into(),
            since: "2026-11-26T11:58:00Z".into(),
        }),
        sync: Some(SyncStatus::Progressing),
        ready: true,
        passes: 1,
        last_pass: Some(PassView {
            trigger: Trigger::Startup,
            started: "2026-11-26T11:58:00Z".into(),
            duration_seconds: 3.25,
            applied: 12,
        }),
        in_flight: vec![InFlight {
            name: name("web09.dmz.contoso.local"),
            since: "2026-11-26T11:58:02Z".into(),
        }],
        blocked: vec![BlockedView {
            kind: BlockedKind::Agent,
            name: name("db01.contoso.local"),
            reason: "it is not in the observed state; install and approve it (or remove it from the topology)".into(),
        }],
        members: MemberCounts {
            bridged: 1,
            pending: 1,
            blocked: 1,
            stranded: 0,
        },
        history: vec![PassSummary {
            pass: 1,
            trigger: Trigger::Startup,
            started: "2026-11-26T11:58:00Z".into(),
            duration_seconds: 3.25,
            revision: Some("0123456789ab".into()),
            sync: Some(SyncStatus::Progressing),
            changes: 14,
            moves: 4,
            applied: 12,
            blocked: 1,
            error: None,
        }],
        ..Status::default()
    }
}

/// The live side of the same moment: a second pass applying (its plan has
/// the same member blocked), one member acknowledged, a graph drawn.
fn live() -> Live {
    let h = LiveHandle::default();
    h.update(|l| {
        l.pass = 2;
        l.planned_pass = 2;
        l.blocked = status().blocked;
        l.interval = Some(Duration::from_secs(180));
        l.graph_svg = Some(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"10\" height=\"10\"><text>1,200 agents</text></svg>\n"
                .into(),
        );
    });
    h.applying();
    let mut p = h.progress();
    p.event(&ProgressEvent::Bridged(name("web01.contoso.local")));
    p.event(&ProgressEvent::Acknowledged(name("web01.contoso.local")));
    h.update(|l| {
        for m in l.in_flight.values_mut() {
            m.since = "2026-11-26T11:59:58Z".into();
        }
    });
    h.read(Clone::clone)
}

/// What `/status` answers at that moment: the pass laid over the record.
fn view() -> Status {
    live().status(status())
}

#[test]
fn the_document_shows_every_panel_with_stable_ids() {
    let html = document(&view(), &live(), now());
    for id in [
        "id=\"sync\"",
        "data-testid=\"sync-status\"",
        "aria-live=\"polite\"",
        "data-testid=\"revision\"",
        "data-testid=\"graph\"",
        "data-testid=\"in-flight\"",
        "data-testid=\"blocked\"",
        "data-testid=\"history\"",
        "data-testid=\"updated\"",
        "<noscript>",
    ] {
        assert!(html.contains(id), "{id} missing");
    }
    assert!(html.contains(">Progressing</p>"));
    assert!(html.contains("<title>Progressing · handover reconcile</title>"));
    assert!(html.contains("2026-11-26 12:00:00 UTC"), "the updated time");
    // The live member and the one a previous pass left in a bridge.
    assert!(html.contains("<tr data-stage=\"acknowledged\"><td><code>web01.contoso.local"));
    assert!(html.contains("<tr data-stage=\"pending\"><td><code>web09.dmz.contoso.local"));
    assert!(html.contains("1,200 agents"));
    assert!(!html.contains("{{"), "every placeholder filled");
}

#[test]
fn hostile_text_is_escaped() {
    let evil = "<script>alert('x')</script>";
    let mut s = status();
    s.source = evil.into();
    s.target = format!("sim:\"{evil}");
    s.blocked[0].reason = evil.into();
    s.last_error = Some(ErrorView {
        kind: ErrorKind::Observe,
        message: evil.into(),
        at: "2026-11-26T11:59:00Z".into(),
    });
    s.refused = Some(RefusedView {
        revision: evil.into(),
        errors: vec![evil.into()],
    });
    s.history[0].error = Some(evil.into());
    s.revision.as_mut().unwrap().short = evil.into();
    let mut l = Live::default();
    l.failed.push((name("web01.contoso.local"), evil.into()));
    let html = document(&s, &l, now());
    assert!(!html.contains("<script>alert"), "{html}");
    assert!(html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"));
    // The only script is the page's own.
    assert_eq!(html.matches("<script").count(), 1);
    assert!(html.contains("<script src=\"page/page.js\" defer></script>"));
}

#[test]
fn nothing_refers_off_the_listener() {
    let html = document(&view(), &live(), now());
    for (what, text) in [("document", html.as_str()), ("css", CSS), ("js", JS)] {
        for bad in [
            "http://", "https://", "//cdn", "@import", "url(http", "src=\"//",
        ] {
            assert!(!text.contains(bad), "{what} contains {bad}");
        }
    }
    // Fetches are relative, so they go to the listener that served the page.
    assert!(JS.contains("fetch(\"page/main\""));
    assert!(CSP.contains("default-src 'none'") && CSP.contains("connect-src 'self'"));
    assert!(!CSP.contains("unsafe"));
    // No inline script or style the policy would refuse.
    assert!(!html.contains(" style=\""));
    assert!(!html.contains("<style"));
    assert!(!html.contains(" onclick="));
}

#[test]
fn long_lists_are_cut_and_counted() {
    let observed = Observed::default();
    let blocked: Vec<Blocked> = (0..100_000)
        .map(|i| {
            Blocked::new(
                BlockedKind::Agent,
                name(&format!("web{i:06}.contoso.local")),
                BlockReason::ParentDown {
                    parent: name("gw1.contoso.local"),
                    parent_kind: ServerKind::Gateway,
                },
            )
        })
        .collect();
    let plan = Plan::new(Vec::new(), blocked);
    let h = LiveHandle::default();
    h.planning(1);
    h.planned(&plan, &observed);
    let mut p = h.progress();
    for i in 0..5_000 {
        p.event(&ProgressEvent::Bridged(name(&format!(
            "app{i:05}.contoso.local"
        ))));
    }
    let html = h.read(|l| main(&l.status(Status::default()), l, now()));
    assert!(html.len() < 200_000, "{} bytes", html.len());
    assert!(html.contains("and 99,950 more blocked"));
    assert!(html.contains("and 4,950 more members in flight"));
    assert!(html.contains("its new parent gateway gw1.contoso.local is down"));
    assert_eq!(html.matches("data-stage=").count(), LIST_CAP);
}

#[test]
fn before_the_first_pass_the_page_says_what_it_waits_for() {
    let html = document(&Status::default(), &Live::default(), now());
    assert!(html.contains(">Starting</p>"));
    assert!(html.contains("Waiting for the first observation"));
    assert!(html.contains("No pass has finished yet."));
    assert!(html.contains("No plan yet"));
}

#[test]
fn a_replica_says_its_role_and_who_leads() {
    let mut s = status();
    s.ha = Some(crate::ha::HaView {
        role: "standby".into(),
        replica: "host-b:42".into(),
        group: Some("contoso-prod".into()),
        leader: Some("host-a:7<b>".into()),
        etcd: "etcd://127.0.0.1:2379".into(),
        etcd_error: Some("connection refused <again>".into()),
        ..Default::default()
    });
    let html = document(&s, &live(), now());
    assert!(html.contains("<span data-testid=\"ha-role\">standby</span> <code>host-b:42</code>"));
    assert!(html.contains("leader <code>host-a:7&lt;b&gt;</code>"));
    assert!(html.contains("management group <code>contoso-prod</code>"));
    assert!(html.contains("etcd unreachable: connection refused &lt;again&gt;"));
    // A leader shows its term, not a leader line.
    s.ha = Some(crate::ha::HaView {
        role: "leader".into(),
        replica: "host-a:7".into(),
        term: Some(1234),
        ..Default::default()
    });
    let html = document(&s, &live(), now());
    assert!(html.contains(">leader</span> <code>host-a:7</code> · term 1234"));
    assert!(!html.contains(" · leader <code>"));
    // Without --ha there is no replica row.
    assert!(!document(&status(), &live(), now()).contains("ha-role"));
}

/// Kept with the runtime's other snapshots, in `tests/snapshots/` (one
/// folder for the crate; docs/design.md).
#[test]
fn snapshot_of_a_fixed_status() {
    insta::with_settings!({snapshot_path => concat!(env!("CARGO_MANIFEST_DIR"), "/tests/snapshots")}, {
        insta::assert_snapshot!(document(&view(), &live(), now()));
    });
}
