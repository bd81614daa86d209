//! The rule of [`super::from_records`], one case each.

use super::*;

fn started(run: &str, target: &str) -> Record {
    Record::RunStarted {
        run: run.into(),
        at: "2026-12-07T20:00:00.000Z".into(),
        command: "apply".into(),
        target: target.into(),
        revision: "rev".into(),
        user: String::new(),
        commit: String::new(),
    }
}

fn step(run: &str, at: &str, action: &str, name: &str, outcome: &str) -> Record {
    Record::Step {
        run: run.into(),
        at: format!("2026-12-07T{at}.000Z"),
        step: 1,
        action: action.into(),
        name: name.into(),
        outcome: outcome.into(),
        detail: String::new(),
    }
}

fn finished(run: &str) -> Record {
    Record::RunFinished {
        run: run.into(),
        at: "2026-12-07T21:00:00.000Z".into(),
        outcome: "converged".into(),
        applied: 1,
        pending: 0,
        blocked: 0,
    }
}

fn at(hms: &str) -> Stamp {
    Stamp::parse(&format!("2026-12-07T{hms}.000Z")).unwrap()
}

fn n(s: &str) -> Name {
    Name::parse(s).unwrap()
}

#[test]
fn the_latest_set_parents_of_each_member_on_this_target_counts() {
    let records = [
        started("r1", "exec:scom"),
        step("r1", "20:01:00", "set_parents", "web01", "sending"),
        step("r1", "20:01:05", "set_parents", "web01", "applied"),
        step("r1", "20:02:00", "set_parents", "web02", "transient_error"),
        step("r1", "20:03:00", "retire_gateway", "gw1", "applied"),
        finished("r1"),
        started("r2", "exec:scom"),
        step("r2", "20:10:00", "set_parents", "WEB01", "failed"),
        finished("r2"),
    ];
    let w = from_records(&records, "exec:scom");
    assert_eq!(w.len(), 2, "{w:?}");
    // Names compare case-insensitively: r2's WEB01 is web01's later write.
    assert_eq!(w[&n("web01")], at("20:10:00"));
    assert_eq!(w[&n("web02")], at("20:02:00"));
}

#[test]
fn other_targets_and_unknown_runs_are_passed_over() {
    let records = [
        started("r1", "exec:other"),
        step("r1", "20:01:00", "set_parents", "web01", "applied"),
        // A step of a run whose start is not in the journal.
        step("r9", "20:02:00", "set_parents", "web02", "applied"),
        finished("r1"),
    ];
    assert!(from_records(&records, "exec:scom").is_empty());
    let w = from_records(&records, "exec:other");
    assert_eq!(w.len(), 1);
    assert_eq!(w[&n("web01")], at("20:01:00"));
}

#[test]
fn a_batch_sent_by_a_run_that_died_counts_from_the_runs_last_record() {
    // The process died with web01's write out: it may have landed as late
    // as the last moment the run is known to have been alive.
    let records = [
        started("r1", "exec:scom"),
        step("r1", "20:01:00", "set_parents", "web01", "sending"),
        step("r1", "20:01:00", "set_parents", "web02", "sending"),
        step("r1", "20:01:30", "set_parents", "web02", "applied"),
        step("r1", "20:04:00", "set_parents", "web03", "applied"),
    ];
    let w = from_records(&records, "exec:scom");
    assert_eq!(w[&n("web01")], at("20:04:00"));
    assert_eq!(w[&n("web02")], at("20:01:30"));
    assert_eq!(w[&n("web03")], at("20:04:00"));
}

#[test]
fn a_run_that_finished_keeps_the_sending_time() {
    let records = [
        started("r1", "exec:scom"),
        step("r1", "20:01:00", "set_parents", "web01", "sending"),
        step("r1", "20:05:00", "retire_gateway", "gw1", "applied"),
        finished("r1"),
    ];
    let w = from_records(&records, "exec:scom");
    assert_eq!(w[&n("web01")], at("20:01:00"));
}

#[test]
fn times_and_names_that_do_not_parse_are_passed_over() {
    let mut bad_time = step("r1", "20:01:00", "set_parents", "web01", "applied");
    if let Record::Step { at, .. } = &mut bad_time {
        *at = "yesterday".into();
    }
    let records = [
        started("r1", "exec:scom"),
        bad_time,
        step("r1", "20:02:00", "set_parents", "not a host", "applied"),
    ];
    assert!(from_records(&records, "exec:scom").is_empty());
}

#[test]
fn a_missing_journal_means_no_writes() {
    let dir = tempfile::tempdir().unwrap();
    assert!(from_journal(dir.path(), "exec:scom").unwrap().is_empty());
}

#[test]
fn the_journal_on_disk_is_read_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let mut j = crate::state::journal::Journal::open(dir.path()).unwrap();
    for r in [
        started("r1", "exec:scom"),
        step("r1", "20:01:00", "set_parents", "web01", "applied"),
        finished("r1"),
    ] {
        j.append(&r).unwrap();
    }
    let w = from_journal(dir.path(), "exec:scom").unwrap();
    assert_eq!(w[&n("web01")], at("20:01:00"));
}

#[test]
fn an_intent_in_the_shared_journal_counts_like_a_write_sent() {
    // A leader killed after its fenced intent: the write may have landed
    // up to its run's last record; an intent answered counts from the
    // answer.
    let entry = |record: Record| crate::ha::journal::Entry {
        replica: "r-a".into(),
        term: 7,
        record,
    };
    let entries = [
        entry(started("r1", "exec:scom")),
        entry(step("r1", "20:01:00", "set_parents", "web01", "intent")),
        entry(step("r1", "20:01:02", "set_parents", "web01", "applied")),
        entry(step("r1", "20:02:00", "set_parents", "web02", "intent")),
        entry(step("r1", "20:02:30", "retire_gateway", "gw1", "intent")),
    ];
    let w = from_shared(&entries, "exec:scom");
    assert_eq!(w[&n("web01")], at("20:01:02"));
    assert_eq!(w[&n("web02")], at("20:02:30"));
    assert!(from_shared(&entries, "exec:other").is_empty());
}
