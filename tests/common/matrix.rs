//! The estate of the gate and notification matrix (tests/gates_apply.rs,
//! tests/gates_exec.rs, tests/notify_apply.rs): four agents that move from
//! ms1 to ms2, as a `sim:` estate and as the exec test provider's state,
//! under a policy each test chooses, and `handover` run against either.
//!
//! Owns the estate, the windows that are open or closed whatever the time
//! (no test depends on the clock), and what "nothing was applied" means
//! for each target. Included with `#[path = "common/matrix.rs"]`, beside
//! `mod common`. Must not decide what a test asserts.
#![allow(dead_code)]

use assert_cmd::Command;
use std::path::{Path, PathBuf};

/// The exec test provider.
pub const PROVIDER: &str = env!("CARGO_BIN_EXE_handover-test-provider");

/// A deny window open at every minute for an hour: closed at any time
/// (and no allow window opens within 400 days).
pub const CLOSED: &str = "  windows:
    - {kind: deny, schedule: \"* * * * *\", duration: 1h, timeZone: UTC}
";

/// An allow window that starts every midnight and lasts 48 hours: open at
/// any time.
pub const OPEN: &str = "  windows:
    - {kind: allow, schedule: \"0 0 * * *\", duration: 48h, timeZone: UTC}
";

/// More than two members to move needs an approval; the estate moves four.
pub const APPROVAL: &str = "  approval: {aboveMembers: 2}\n";

/// The observed estate: four agents on ms1.
pub const OBSERVED: &str = "apiVersion: handover/v1
kind: Observed
managementServers: [{name: ms1.contoso.local, up: true}, {name: ms2.contoso.local, up: true}]
agents:
  - {name: a1.contoso.local, primary: ms1.contoso.local, failover: [], connected: ms1.contoso.local}
  - {name: a2.contoso.local, primary: ms1.contoso.local, failover: [], connected: ms1.contoso.local}
  - {name: a3.contoso.local, primary: ms1.contoso.local, failover: [], connected: ms1.contoso.local}
  - {name: a4.contoso.local, primary: ms1.contoso.local, failover: [], connected: ms1.contoso.local}
";

/// The desired topology: every agent on ms2, under `policy` (lines
/// indented by two spaces, inside `policy:`).
pub fn desired(policy: &str) -> String {
    format!(
        "apiVersion: handover/v1
kind: Topology
managementServers: [{{name: ms1.contoso.local}}, {{name: ms2.contoso.local}}]
agentRules:
  - {{match: \"*.contoso.local\", primary: ms2.contoso.local, failover: []}}
policy:
  maxInFlight: 10
{policy}"
    )
}

/// A temporary directory with `topology/desired.yaml` (under `policy`),
/// `estate.yaml` (the `sim:` estate) and `provider.json` (the exec test
/// provider's state, the same estate).
pub struct Estate {
    /// The directory.
    pub tmp: tempfile::TempDir,
}

impl Estate {
    /// The estate with `policy`.
    pub fn new(policy: &str) -> Estate {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        std::fs::create_dir(d.join("topology")).unwrap();
        std::fs::write(d.join("topology/desired.yaml"), desired(policy)).unwrap();
        std::fs::write(d.join("estate.yaml"), OBSERVED).unwrap();
        let observed = handover::load::observed_str(OBSERVED, "estate.yaml").unwrap();
        std::fs::write(
            d.join("provider.json"),
            serde_json::to_vec(&serde_json::json!({ "observed": observed })).unwrap(),
        )
        .unwrap();
        Estate { tmp }
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        self.tmp.path()
    }

    /// `handover` in the directory, its locks in `locks/`.
    pub fn handover(&self) -> Command {
        let mut c = Command::cargo_bin("handover").unwrap();
        c.current_dir(self.dir())
            .env("NO_COLOR", "1")
            .env_remove("HANDOVER_NOW")
            .env("HANDOVER_LOCK_DIR", self.dir().join("locks"));
        c
    }

    /// The `--target` arguments of the exec test provider on
    /// `provider.json`, with its state directory `.handover`.
    pub fn exec_args(&self) -> Vec<String> {
        vec![
            "--target".into(),
            format!("exec:{PROVIDER}"),
            "--target-arg".into(),
            "--state".into(),
            "--target-arg".into(),
            self.dir().join("provider.json").display().to_string(),
            "--state-dir".into(),
            ".handover".into(),
        ]
    }

    /// `plan --out plan.json` against `estate.yaml`; stdout.
    pub fn plan_out(&self) -> String {
        let (code, out, err) = run(self.handover().args([
            "plan",
            "--desired",
            "topology",
            "--observed",
            "estate.yaml",
            "--out",
            "plan.json",
        ]));
        assert!(code == 0 || code == 2, "plan failed ({code}):\n{out}{err}");
        out
    }

    /// Agents on ms2 in the `sim:` estate.
    pub fn moved_sim(&self) -> usize {
        let o = handover::load::observed(&self.dir().join("estate.yaml")).unwrap();
        o.agents
            .iter()
            .filter(|a| a.parents.primary.as_str() == "ms2.contoso.local")
            .count()
    }

    /// The exec test provider's state.
    pub fn provider(&self) -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(self.dir().join("provider.json")).unwrap()).unwrap()
    }

    /// Agents on ms2 in the exec test provider's state.
    pub fn moved_exec(&self) -> usize {
        self.provider()["observed"]["agents"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a["primary"] == "ms2.contoso.local")
            .count()
    }

    /// The writes the exec test provider received.
    pub fn applied_exec(&self) -> usize {
        self.provider()["applied"].as_array().map_or(0, |a| a.len())
    }

    /// The journal of `dir` (relative to the estate), empty when absent.
    pub fn journal(&self, dir: &str) -> String {
        std::fs::read_to_string(self.dir().join(dir).join("journal.jsonl")).unwrap_or_default()
    }

    /// The path of `name` in the directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir().join(name)
    }
}

/// Runs `c`: (exit code, stdout, stderr).
pub fn run(c: &mut Command) -> (i32, String, String) {
    let out = c.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The digest after `after` in `text` (`Digest: `, `approval of `, ...).
pub fn digest_after(text: &str, after: &str) -> String {
    let i = text
        .find(after)
        .unwrap_or_else(|| panic!("{after:?} not in:\n{text}"))
        + after.len();
    text[i..i + 24].to_string()
}
