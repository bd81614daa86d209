//! Loading `policy.windows` and `policy.approval`: good values arrive in
//! the model, every bad one is refused with its place and what to write.

use crate::load::topology_str;
use crate::model::{Approval, Seconds, Window, WindowKind};

fn topo(policy: &str) -> String {
    format!(
        "apiVersion: handover/v1
kind: Topology
managementServers: [{{name: ms1}}]
policy:
{policy}"
    )
}

fn errors(policy: &str) -> String {
    topology_str(&topo(policy), "t.yaml")
        .expect_err("should be refused")
        .to_string()
}

#[test]
fn windows_and_approval_load() {
    let t = topology_str(
        &topo(
            "  windows:
    - {kind: allow, schedule: \"0 22 * * 1-5\", duration: 4h, timeZone: Europe/Berlin}
    - {kind: deny, schedule: \"0 0 24 12 *\", duration: 24h}
  approval: {aboveMembers: 500, abovePercent: 10}
",
        ),
        "t.yaml",
    )
    .unwrap();
    assert_eq!(
        t.policy.windows,
        vec![
            Window {
                kind: WindowKind::Allow,
                schedule: "0 22 * * 1-5".into(),
                duration: Seconds(4 * 3600),
                time_zone: "Europe/Berlin".into(),
            },
            Window {
                kind: WindowKind::Deny,
                schedule: "0 0 24 12 *".into(),
                duration: Seconds(24 * 3600),
                time_zone: "UTC".into(),
            },
        ]
    );
    assert_eq!(
        t.policy.approval,
        Some(Approval {
            above_members: Some(500),
            above_percent: Some(10)
        })
    );
}

#[test]
fn a_bad_cron_schedule_is_refused_with_its_place() {
    let e = errors("  windows:\n    - {kind: allow, schedule: \"0 25 * * *\", duration: 4h}\n");
    assert!(
        e.contains("t.yaml:6:31: window schedule \"0 25 * * *\" is not a cron schedule"),
        "{e}"
    );
    assert!(e.contains("such as \"0 22 * * 1-5\""), "{e}");
    let e = errors("  windows:\n    - {kind: allow, schedule: \"0 22 * *\", duration: 4h}\n");
    assert!(
        e.contains("window schedule \"0 22 * *\" has 4 fields; expected five"),
        "{e}"
    );
}

#[test]
fn an_unknown_time_zone_is_refused() {
    let e = errors(
        "  windows:\n    - {kind: allow, schedule: \"0 22 * * *\", duration: 4h, timeZone: Europe/Atlantis}\n",
    );
    assert!(
        e.contains(
            "t.yaml:6:69: window timeZone \"Europe/Atlantis\" is not a known IANA time zone"
        ),
        "{e}"
    );
}

#[test]
fn a_negative_or_zero_duration_is_refused() {
    for bad in ["-4h", "0h", "4 hours"] {
        let e = errors(&format!(
            "  windows:\n    - {{kind: allow, schedule: \"0 22 * * *\", duration: \"{bad}\"}}\n"
        ));
        assert!(
            e.contains(&format!(
                "window duration \"{bad}\" is not a duration; expected a whole number above 0"
            )),
            "{e}"
        );
    }
}

#[test]
fn a_bad_kind_and_unknown_keys_are_refused() {
    let e = errors(
        "  windows:\n    - {kind: maybe, schedule: \"0 22 * * *\", duration: 4h, zone: UTC}\n",
    );
    assert!(
        e.contains("window kind \"maybe\" is not allow or deny"),
        "{e}"
    );
    assert!(e.contains("zone"), "{e}");
    let e = errors("  windows:\n    - {kind: allow, duration: 4h}\n");
    assert!(e.contains("schedule"), "{e}");
}

#[test]
fn bad_approval_thresholds_are_refused() {
    let e = errors("  approval: {abovePercent: 150}\n");
    assert!(
        e.contains(
            "t.yaml:5:28: approval.abovePercent is 150; expected a whole percentage from 0 to 100"
        ),
        "{e}"
    );
    let e = errors("  approval: {aboveMembers: -1}\n");
    assert!(
        e.contains("approval.aboveMembers is -1; expected a whole number of members"),
        "{e}"
    );
    let e = errors("  approval: {}\n");
    assert!(e.contains("policy.approval names no threshold"), "{e}");
}
