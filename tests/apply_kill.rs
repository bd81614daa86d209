//! `handover apply` really killed with SIGKILL in the middle of a run on a
//! `sim:FILE` target, then run again: the second run refuses nothing,
//! recovers the dead process's lock, re-observes, re-plans, finishes with
//! exit 0, applies nothing twice, and strands nobody. While the first run
//! lives, a second apply on the same target is refused at once, naming it.

use assert_cmd::Command;
use handover::provider::Scope;
use handover::sim::file::SimFile;
use std::collections::HashMap;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

/// Writes a 2,000-agent estate (four gateways, so 30 % of the agents move:
/// about 1,200 operations) into `dir`.
fn fleet(dir: &Path) -> handover::synth::Estate {
    let spec = handover::synth::Spec {
        management_servers: 2,
        gateways: 4,
        ..handover::synth::Spec::fleet(2_000)
    };
    let e = handover::synth::generate(&spec);
    std::fs::write(
        dir.join("estate.yaml"),
        handover::export::observed_yaml(&e.observed),
    )
    .unwrap();
    std::fs::write(
        dir.join("desired.yaml"),
        handover::synth::desired_yaml(&e.desired),
    )
    .unwrap();
    e
}

const ARGS: [&str; 6] = [
    "apply",
    "--desired",
    "desired.yaml",
    "--target",
    "sim:estate.yaml",
    "--auto-approve",
];

/// Starts apply in `dir` and waits until the journal shows 40 steps.
fn start_apply(dir: &Path) -> std::process::Child {
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_handover"))
        .args(ARGS)
        .current_dir(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    while journal_steps(dir) < 40 {
        assert!(
            child.try_wait().unwrap().is_none(),
            "apply ended before it could be interrupted"
        );
        assert!(Instant::now() < deadline, "no steps journalled in time");
        std::thread::sleep(Duration::from_millis(20));
    }
    child
}

fn journal_steps(dir: &Path) -> usize {
    std::fs::read_to_string(dir.join(".handover/journal.jsonl"))
        .map(|t| {
            t.lines()
                .filter(|l| l.contains("\"event\":\"step\""))
                .count()
        })
        .unwrap_or(0)
}

#[cfg(unix)]
#[test]
fn kill_9_in_the_middle_then_apply_again_converges() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let e = fleet(dir);
    let args = ARGS;
    let mut child = start_apply(dir);
    // Stopped (SIGSTOP) where it is, so that the second apply below cannot
    // race it to the end: a stopped process still holds its lock, and the
    // kill then comes in the middle whatever the machine's speed.
    // SAFETY: kill(2) on our own child's pid, with a valid signal.
    assert_eq!(
        unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGSTOP) },
        0
    );

    // A second apply on the same target is refused at once, naming the holder.
    let refused = Command::cargo_bin("handover")
        .unwrap()
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(1));
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(
        err.contains(&format!("locked by apply (pid {}", child.id())),
        "{err}"
    );

    assert!(child.try_wait().unwrap().is_none(), "still running");
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let applied_before = journal_steps(dir);

    // What the kill left is consistent and safe.
    let (sf, _) = SimFile::open_read_only(&dir.join("estate.yaml"), 0).unwrap();
    assert!(sf.sim().stranded().is_empty());
    let observed = sf.sim().snapshot(&Scope::All);
    let rest = handover::plan::plan(&e.desired, &observed);
    assert!(!rest.steps.is_empty(), "the kill came after the end");
    drop(sf);

    let again = Command::cargo_bin("handover")
        .unwrap()
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&again.stderr);
    let out = String::from_utf8_lossy(&again.stdout);
    assert_eq!(again.status.code(), Some(0), "{err}\n{out}");
    assert!(err.contains("took over the lock of apply"), "{err}");
    assert!(out.contains("Converged"), "{out}");

    let (sf, _) = SimFile::open_read_only(&dir.join("estate.yaml"), 0).unwrap();
    assert!(sf.sim().stranded().is_empty());
    let end = sf.sim().snapshot(&Scope::All);
    assert!(handover::plan::plan(&e.desired, &end).steps.is_empty());
    assert!(handover::execute::classify(&e.desired, &end).converged());

    // Nothing applied twice: every write journalled once across both runs
    // (a write the kill cut off before its record would only lower a count).
    let text = std::fs::read_to_string(dir.join(".handover/journal.jsonl")).unwrap();
    let mut writes: HashMap<(String, String), u32> = HashMap::new();
    for line in text.lines() {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if v["event"] == "step" && v["outcome"] == "applied" {
            let k = (v["name"].to_string(), v["detail"].to_string());
            *writes.entry(k).or_default() += 1;
        }
    }
    assert!(journal_steps(dir) > applied_before);
    let twice: Vec<_> = writes.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "{twice:?}");

    // history shows the killed run unfinished and the second converged.
    let h = Command::cargo_bin("handover")
        .unwrap()
        .args(["history", "--target", "sim:estate.yaml"])
        .current_dir(dir)
        .output()
        .unwrap();
    let h = String::from_utf8_lossy(&h.stdout);
    let lines: Vec<&str> = h.lines().skip(1).collect();
    assert_eq!(lines.len(), 2, "{h}");
    assert!(lines[0].contains("unfinished"), "{h}");
    assert!(lines[1].contains("converged"), "{h}");
}

#[cfg(unix)]
#[test]
fn ctrl_c_stops_safely_with_exit_3_and_apply_again_finishes() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let e = fleet(dir);
    let child = start_apply(dir);
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(3), "{stdout}");
    assert!(stdout.contains("Interrupted"), "{stdout}");
    // Saved on the way out: the snapshot is current, nothing is stranded,
    // and work is left.
    let (sf, opened) = SimFile::open_read_only(&dir.join("estate.yaml"), 0).unwrap();
    assert_eq!(opened, handover::sim::file::Opened::Resumed { replayed: 0 });
    assert!(sf.sim().stranded().is_empty());
    let observed = sf.sim().snapshot(&Scope::All);
    assert!(!handover::plan::plan(&e.desired, &observed).steps.is_empty());
    drop(sf);
    Command::cargo_bin("handover")
        .unwrap()
        .args(ARGS)
        .current_dir(dir)
        .assert()
        .code(0);
}
