use super::*;

const OBSERVED: &str = "apiVersion: handover/v1
kind: Observed
managementServers:
  - name: ms1.contoso.local
gateways:
  - name: gw1.contoso.local
    primary: ms1.contoso.local
    connected: ms1.contoso.local
  - name: gw2.contoso.local
    primary: ms1.contoso.local
    connected: ms1.contoso.local
agents:
  - name: web01.contoso.local
    primary: gw1.contoso.local
    connected: gw1.contoso.local
";

fn n(s: &str) -> Name {
    Name::parse(s).unwrap()
}

fn bridge_op() -> Operation {
    Operation::SetParents {
        kind: MemberKind::Agent,
        name: n("web01.contoso.local"),
        parents: Parents {
            primary: n("gw2.contoso.local"),
            failover: vec![n("gw1.contoso.local")],
        },
    }
}

use crate::model::Parents;

fn setup() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("estate.yaml");
    std::fs::write(&file, OBSERVED).unwrap();
    (dir, file)
}

fn block<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(f)
}

#[test]
fn fresh_then_resumed_and_file_shows_the_observed_view() {
    let (_d, file) = setup();
    let (mut sf, opened) = SimFile::open(&file, 0).unwrap();
    assert_eq!(opened, Opened::Fresh);
    block(sf.apply(&bridge_op())).unwrap();
    block(sf.sleep(Duration::from_secs(600)));
    sf.save().unwrap();
    let saved = sf.sim().save_json();
    drop(sf);
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains("failover: [gw1.contoso.local]"), "{text}");
    assert!(text.contains("connected: gw2.contoso.local"), "{text}");
    let (sf, opened) = SimFile::open(&file, 0).unwrap();
    assert_eq!(opened, Opened::Resumed { replayed: 0 });
    assert_eq!(sf.sim().save_json(), saved);
}

#[test]
fn a_crash_without_save_is_recovered_from_the_log_exactly() {
    let (_d, file) = setup();
    let (mut sf, _) = SimFile::open(&file, 3).unwrap();
    block(sf.apply(&bridge_op())).unwrap();
    block(sf.sleep(Duration::from_secs(45)));
    block(sf.observe(&Scope::All)).unwrap();
    block(sf.sleep(Duration::from_millis(1500)));
    let expected = sf.sim().save_json();
    drop(sf); // killed: no save
    // A torn last line, as a kill in the middle of a write leaves.
    let mut f = OpenOptions::new()
        .append(true)
        .open(log_path(&file))
        .unwrap();
    f.write_all(b"{\"apply\":{\"op\":\"set_par").unwrap();
    drop(f);
    let (sf, opened) = SimFile::open_read_only(&file, 3).unwrap();
    assert_eq!(opened, Opened::Resumed { replayed: 4 });
    assert_eq!(sf.sim().save_json(), expected);
    // Opening for changes folds the log into a new snapshot.
    let (sf, _) = SimFile::open(&file, 3).unwrap();
    assert_eq!(sf.sim().save_json(), expected);
    let (sf, opened) = SimFile::open(&file, 3).unwrap();
    assert_eq!(opened, Opened::Resumed { replayed: 0 });
    assert_eq!(sf.sim().save_json(), expected);
}

#[test]
fn a_stale_log_and_a_file_one_save_behind_are_not_replayed_or_taken_for_edits() {
    let (_d, file) = setup();
    let (mut sf, _) = SimFile::open(&file, 0).unwrap();
    let old_file = std::fs::read(&file).unwrap();
    let old_log = std::fs::read(log_path(&file)).unwrap();
    block(sf.apply(&bridge_op())).unwrap();
    let mut old_log_with_op = old_log.clone();
    old_log_with_op.extend(std::fs::read(log_path(&file)).unwrap()[old_log.len()..].iter());
    sf.save().unwrap();
    let expected = sf.sim().save_json();
    drop(sf);
    // A crash after the snapshot was renamed, before FILE and the log were.
    std::fs::write(&file, &old_file).unwrap();
    std::fs::write(log_path(&file), &old_log_with_op).unwrap();
    let (sf, opened) = SimFile::open(&file, 0).unwrap();
    assert_eq!(opened, Opened::Resumed { replayed: 0 });
    assert_eq!(
        sf.sim().save_json(),
        expected,
        "the old log was not replayed twice"
    );
    assert!(
        std::fs::read_to_string(&file)
            .unwrap()
            .contains("failover: [gw1.contoso.local]")
    );
}

#[test]
fn a_hand_edit_of_parents_is_drift_applied_through_the_sim() {
    let (_d, file) = setup();
    let (sf, _) = SimFile::open(&file, 0).unwrap();
    drop(sf);
    let text = std::fs::read_to_string(&file).unwrap();
    let edited = text.replacen(
        "  - name: web01.contoso.local\n    primary: gw1.contoso.local",
        "  - name: web01.contoso.local\n    primary: gw2.contoso.local",
        1,
    );
    assert_ne!(edited, text);
    std::fs::write(&file, edited).unwrap();
    let (sf, opened) = SimFile::open(&file, 0).unwrap();
    assert_eq!(
        opened,
        Opened::Edited {
            changed: vec![n("web01.contoso.local")]
        }
    );
    let m = sf.sim().member(&n("web01.contoso.local")).unwrap();
    assert_eq!(m.configured.primary, n("gw2.contoso.local"));
    // The console's way: gw1 dropped the agent at once; it learned nothing.
    assert_eq!(m.learned.primary, n("gw1.contoso.local"));
    assert_eq!(sf.sim().stranded(), vec![n("web01.contoso.local")]);
}

#[test]
fn an_invalid_hand_edit_is_an_error_and_changes_no_file() {
    let (_d, file) = setup();
    drop(SimFile::open(&file, 0).unwrap());
    let files = |f: &Path| {
        [f.to_path_buf(), snapshot_path(f), log_path(f)].map(|p| std::fs::read(p).unwrap())
    };
    let text = std::fs::read_to_string(&file).unwrap();
    // The primary repeated among the failovers: Operations Manager (and the
    // simulator) refuses it, so taking the edit would silently drop it.
    let edited = text.replacen(
        "  - name: web01.contoso.local\n    primary: gw1.contoso.local\n    failover: []",
        "  - name: web01.contoso.local\n    primary: gw2.contoso.local\n    failover: [gw2.contoso.local]",
        1,
    );
    assert_ne!(edited, text);
    std::fs::write(&file, &edited).unwrap();
    let before = files(&file);
    let line = edited
        .lines()
        .position(|l| l == "    failover: [gw2.contoso.local]")
        .unwrap()
        + 1;
    for read_only in [true, false] {
        let e = if read_only {
            SimFile::open_read_only(&file, 0).unwrap_err()
        } else {
            SimFile::open(&file, 0).unwrap_err()
        };
        assert!(matches!(e, SimFileError::Edited { .. }), "{e:?}");
        let msg = e.to_string();
        let at = format!("{}:{line}:16: agent web01.contoso.local", file.display());
        assert!(msg.starts_with(&at), "{msg}");
        assert!(msg.contains("primary gw2.contoso.local is repeated in its own failover list"));
        assert!(msg.contains("this hand edit is not valid"), "{msg}");
        assert_eq!(files(&file), before, "no file changes");
    }
    // A syntax error is reported with its place too, and changes nothing.
    std::fs::write(&file, edited.replacen("primary: gw2", "primary: [gw2", 1)).unwrap();
    let before = files(&file);
    let msg = SimFile::open(&file, 0).unwrap_err().to_string();
    assert!(msg.starts_with(&format!("{}:", file.display())), "{msg}");
    assert_eq!(files(&file), before);
}

#[test]
fn a_structural_edit_rebuilds() {
    let (_d, file) = setup();
    drop(SimFile::open(&file, 0).unwrap());
    let text = std::fs::read_to_string(&file).unwrap();
    let edited = format!(
        "{text}  - name: web02.contoso.local\n    primary: gw1.contoso.local\n    failover: []\n    connected: gw1.contoso.local\n"
    );
    std::fs::write(&file, edited).unwrap();
    let (sf, opened) = SimFile::open(&file, 0).unwrap();
    assert!(matches!(opened, Opened::Rebuilt { .. }), "{opened:?}");
    assert!(sf.sim().member(&n("web02.contoso.local")).is_some());
}

#[test]
fn a_crash_after_file_was_renamed_but_before_the_log_was_reset_replays_nothing() {
    let (_d, file) = setup();
    let (mut sf, _) = SimFile::open(&file, 0).unwrap();
    block(sf.apply(&bridge_op())).unwrap();
    block(sf.sleep(Duration::from_secs(30)));
    let log_before_save = std::fs::read(log_path(&file)).unwrap();
    sf.save().unwrap();
    let expected = sf.sim().save_json();
    drop(sf);
    // Snapshot and FILE are new; the log is still the old generation's.
    std::fs::write(log_path(&file), log_before_save).unwrap();
    let (mut sf, opened) = SimFile::open(&file, 0).unwrap();
    assert_eq!(opened, Opened::Resumed { replayed: 0 });
    assert_eq!(sf.sim().save_json(), expected);
    // The stale log was replaced: what is logged now survives a crash.
    block(sf.sleep(Duration::from_secs(90)));
    let later = sf.sim().save_json();
    drop(sf);
    let (sf, opened) = SimFile::open_read_only(&file, 0).unwrap();
    assert_eq!(opened, Opened::Resumed { replayed: 1 });
    assert_eq!(sf.sim().save_json(), later);
}

#[test]
fn a_torn_first_entry_is_replaced_so_later_calls_are_not_lost() {
    let (_d, file) = setup();
    drop(SimFile::open(&file, 0).unwrap());
    let mut f = OpenOptions::new()
        .append(true)
        .open(log_path(&file))
        .unwrap();
    f.write_all(b"{\"apply\":{\"op\":\"set_par").unwrap();
    drop(f);
    let (mut sf, _) = SimFile::open(&file, 0).unwrap();
    block(sf.apply(&bridge_op())).unwrap();
    let expected = sf.sim().save_json();
    drop(sf);
    let (sf, opened) = SimFile::open_read_only(&file, 0).unwrap();
    assert_eq!(opened, Opened::Resumed { replayed: 1 });
    assert_eq!(sf.sim().save_json(), expected);
}
