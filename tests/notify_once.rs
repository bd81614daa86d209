//! Notifications from `reconcile --once` against `sim:`: every run is a
//! new process whose first pass starts from "unknown", and a first pass
//! that changed the estate is told (`progressing`, then `synced`), with
//! `command: "reconcile"`; a second run that finds nothing to do tells
//! nothing.

#[path = "common/matrix.rs"]
mod matrix;
mod notify_hook;

use matrix::{Estate, run};
use notify_hook::Hook;

#[test]
fn a_reconcile_once_that_changes_the_estate_is_told_and_one_that_does_not_is_not() {
    let hook = Hook::start(Vec::new());
    let e = Estate::new(
        "  notifications:
    - name: audit
      urlEnv: AUDIT_URL
",
    );
    let once = || {
        run(e
            .handover()
            .env("AUDIT_URL", hook.url("audit"))
            .args(["reconcile", "--once", "--desired", "topology"])
            .args(["--target", "sim:estate.yaml"]))
    };
    let (code, _, err) = once();
    assert_eq!(code, 0, "{err}");
    assert_eq!(e.moved_sim(), 4);
    let got = hook.to("/audit");
    let events: Vec<&str> = got
        .iter()
        .map(|g| g.body["event"].as_str().unwrap())
        .collect();
    assert_eq!(events, ["progressing", "synced"], "{err}\n{got:#?}");
    assert_eq!(got[0].body["command"], "reconcile");
    assert_eq!(
        got[1].body["message"],
        "every managed member has its desired parents (8 operations applied)"
    );
    // Nothing changed: nothing to tell.
    let (code, _, err) = once();
    assert_eq!(code, 0, "{err}");
    assert_eq!(hook.to("/audit").len(), 2, "{:#?}", hook.to("/audit"));
}
