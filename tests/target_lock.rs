//! One lock per estate on a host (issue 21, section 4), through the real
//! binary: a `reconcile` that holds a target's lock refuses a second
//! `apply` or `reconcile` on the same target run from another working
//! directory (naming the holder: pid, user, host, since when), whether the
//! program is named by another path or the state file by a relative one;
//! another target is not refused; and the lock is in the host-wide lock
//! directory, not in either working directory.

mod common;

use common::estate::{copy_example_into, example, provider_state};
use common::process::Killed;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const PROVIDER: &str = env!("CARGO_BIN_EXE_handover-test-provider");
const HANDOVER: &str = env!("CARGO_BIN_EXE_handover");

/// `root/estate/` holds the desired topology, a `sim:` state file and two
/// test-provider states (two estates); `root/a` and `root/b` are two
/// working directories; `root/locks` is the lock directory.
struct Estate {
    _tmp: tempfile::TempDir,
    root: PathBuf,
}

impl Estate {
    fn new() -> Estate {
        let tmp = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(tmp.path()).unwrap();
        let estate = root.join("estate");
        for d in ["estate", "a", "b", "locks"] {
            std::fs::create_dir(root.join(d)).unwrap();
        }
        copy_example_into("replace-gateway", &estate);
        let state = provider_state(&example("replace-gateway").join("observed.yaml"));
        std::fs::write(estate.join("provider.json"), &state).unwrap();
        std::fs::write(estate.join("other.json"), &state).unwrap();
        Estate { _tmp: tmp, root }
    }

    fn dir(&self, d: &str) -> PathBuf {
        self.root.join(d)
    }

    /// `handover ARGS` in working directory `cwd`, with the lock directory
    /// of this test.
    fn command(&self, cwd: &str, args: &[&str]) -> Command {
        let mut c = Command::new(HANDOVER);
        c.current_dir(self.dir(cwd))
            .env("HANDOVER_LOCK_DIR", self.dir("locks"))
            .env("NO_COLOR", "1")
            .args(args);
        c
    }

    fn run(&self, cwd: &str, args: &[&str]) -> Output {
        self.command(cwd, args).output().unwrap()
    }

    /// A `reconcile` that keeps running (and holding the lock) until killed.
    fn hold(&self, cwd: &str, target: &[&str]) -> Killed {
        let mut args = vec![
            "reconcile",
            "--desired",
            "../estate/desired.yaml",
            "--interval",
            "1h",
        ];
        args.extend_from_slice(target);
        let child = self
            .command(cwd, &args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let held = Killed(child);
        let start = Instant::now();
        while !self
            .lock_files()
            .iter()
            .any(|f| std::fs::metadata(f).unwrap().len() > 0)
        {
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "reconcile never took its lock"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        held
    }

    /// `apply --auto-approve` of the shared desired topology, run in `cwd`
    /// on `target` (`--target` and its arguments).
    fn apply(&self, cwd: &str, target: &[&str]) -> Output {
        let mut args = vec![
            "apply",
            "--auto-approve",
            "--desired",
            "../estate/desired.yaml",
        ];
        args.extend_from_slice(target);
        self.run(cwd, &args)
    }

    fn lock_files(&self) -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = std::fs::read_dir(self.dir("locks"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "lock"))
            .collect();
        v.sort();
        v
    }
}

/// `--target exec:PROGRAM` with the test provider's `--state STATE`.
fn exec_target<'a>(program: &'a str, state: &'a str) -> [&'a str; 6] {
    [
        "--target",
        program,
        "--target-arg",
        "--state",
        "--target-arg",
        state,
    ]
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// What a refusal must say about the holder.
fn assert_refused_by(o: &Output, holder: &Child, what: &str) {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(1), "{what}: {err}");
    assert!(
        err.contains(&format!(
            "is locked by reconcile (pid {}, user ",
            holder.id()
        )),
        "{what}: {err}"
    );
    let host = gethostname::gethostname().to_string_lossy().into_owned();
    assert!(
        err.contains(&format!(" on {host}, since 20")),
        "{what}: {err}"
    );
}

#[test]
fn an_exec_target_is_locked_whatever_the_working_directory() {
    let e = Estate::new();
    let state = e.dir("estate/provider.json");
    let state = state.to_str().unwrap();
    // The program under another name: a symbolic link in the second
    // working directory, run by a relative path.
    #[cfg(unix)]
    std::os::unix::fs::symlink(PROVIDER, e.dir("b/provider")).unwrap();
    let holder_target = format!("exec:{PROVIDER}");
    let held = e.hold("a", &exec_target(&holder_target, state));
    let locks = e.lock_files();
    assert_eq!(locks.len(), 1, "{locks:?}");
    let name = locks[0].file_name().unwrap().to_string_lossy().into_owned();
    assert!(name.starts_with("exec-handover-test-provider-"), "{name}");

    let from_b = if cfg!(unix) {
        "exec:./provider".to_string()
    } else {
        holder_target.clone()
    };
    let apply = e.apply("b", &exec_target(&from_b, state));
    assert_refused_by(&apply, &held.0, "apply from b");
    let err = stderr(&apply);
    assert!(
        err.contains(&format!("target exec:{PROVIDER} --state {state} is locked")),
        "{err}"
    );
    let reconcile = e.run(
        "b",
        &[
            &["reconcile", "--once", "--desired", "../estate/desired.yaml"][..],
            &exec_target(&from_b, state),
        ]
        .concat(),
    );
    assert_refused_by(&reconcile, &held.0, "reconcile from b");

    // Another estate through the same program is not refused.
    let other = e.dir("estate/other.json");
    let ok = e.apply("b", &exec_target(&from_b, other.to_str().unwrap()));
    assert_eq!(ok.status.code(), Some(0), "{}", stderr(&ok));

    // Neither working directory holds a lock file; the journal stays in
    // the working directory, as before.
    for d in ["a", "b"] {
        let handover = e.dir(d).join(".handover");
        let names: Vec<String> = std::fs::read_dir(&handover)
            .map(|r| {
                r.map(|x| x.unwrap().file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        assert!(
            names.iter().all(|n| !n.ends_with(".lock")),
            "{d}: {names:?}"
        );
    }
    assert!(e.dir("b/.handover/journal.jsonl").exists());

    // Once the holder is gone (killed: it could not release), the next run
    // takes the lock over and says whose it was.
    let pid = held.0.id();
    drop(held);
    let after = e.apply("b", &exec_target(&from_b, state));
    let err = stderr(&after);
    assert_eq!(after.status.code(), Some(0), "{err}");
    assert!(
        err.contains(&format!("took over the lock of reconcile (pid {pid}")),
        "{err}"
    );
}

#[test]
fn a_sim_target_is_locked_whatever_path_names_it() {
    let e = Estate::new();
    let held = e.hold("a", &["--target", "sim:../estate/estate.yaml"]);
    let absolute = format!("sim:{}", e.dir("estate/estate.yaml").display());
    for (cwd, target) in [("b", absolute.as_str()), ("estate", "sim:./estate.yaml")] {
        let o = e.apply(cwd, &["--target", target]);
        assert_refused_by(&o, &held.0, target);
    }
    let err = stderr(&e.apply("b", &["--target", &absolute]));
    assert!(
        err.contains(&format!("target {absolute} is locked")),
        "{err}"
    );
}
