//! Progressive rollouts and approvals under `reconcile --ha`, against a
//! real etcd: the rollout's memory lives in etcd (`<group>/rollout/state`),
//! so a replica that takes over goes on at the same step and soak; `handover
//! approve --ha` and `handover resume --ha` write to etcd, and the leader
//! acts on them at its next pass.
//!
//! The replicas share one estate through the exec test provider (its state
//! file), as in `tests/ha_etcd.rs`. Needs `etcd` and `etcdctl` on `PATH`:
//! without them the tests are skipped with a message, and fail when
//! `CI=true`. Timeouts are generous safety nets, not performance
//! assertions.

#![cfg(unix)]

mod common;

use common::process::{Killed, free_port};
use serde_json::Value;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

const HANDOVER: &str = env!("CARGO_BIN_EXE_handover");
const PROVIDER: &str = env!("CARGO_BIN_EXE_handover-test-provider");
const GROUP: &str = "contoso-rollout";
const LIMIT: Duration = Duration::from_secs(60);

/// One scenario at a time: each runs replicas and an etcd, on two cores.
static SERIAL: Mutex<()> = Mutex::new(());

/// The guard, or `None` (skip) without etcd and etcdctl.
fn with_etcd() -> Option<MutexGuard<'static, ()>> {
    let etcd = common::tool(&common::ETCD, "ha_rollout");
    let etcdctl = common::tool(&common::ETCDCTL, "ha_rollout");
    (etcd.is_some() && etcdctl.is_some()).then(|| SERIAL.lock().unwrap_or_else(|p| p.into_inner()))
}

/// A real etcd on loopback in the rig's folder, killed when dropped.
struct Etcd {
    _child: Killed,
    client: u16,
}

impl Etcd {
    fn start(dir: &Path) -> Etcd {
        let (client, peer) = (free_port(), free_port());
        let c = format!("http://127.0.0.1:{client}");
        let p = format!("http://127.0.0.1:{peer}");
        let child = Command::new("etcd")
            .args(["--name", "default", "--data-dir"])
            .arg(dir.join("etcd-data"))
            .args(["--listen-client-urls", &c, "--advertise-client-urls", &c])
            .args([
                "--listen-peer-urls",
                &p,
                "--initial-advertise-peer-urls",
                &p,
            ])
            .args(["--initial-cluster", &format!("default={p}")])
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join("etcd.log")).unwrap())
            .spawn()
            .expect("etcd starts");
        let e = Etcd {
            _child: Killed(child),
            client,
        };
        wait_until("etcd to come up", || {
            e.ctl(&["put", "/probe", "1"]).is_some()
        });
        e
    }

    fn url(&self) -> String {
        format!("etcd://127.0.0.1:{}", self.client)
    }

    /// `etcdctl ARGS`; its stdout, or `None` when it failed.
    fn ctl(&self, args: &[&str]) -> Option<String> {
        let out = Command::new("etcdctl")
            .env("ETCDCTL_API", "3")
            .args([
                "--endpoints",
                &format!("127.0.0.1:{}", self.client),
                "--command-timeout=2s",
            ])
            .args(args)
            .output()
            .ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// The value of `key` under the group, as JSON.
    fn value(&self, key: &str) -> Option<Value> {
        let k = format!("/handover/groups/{GROUP}/{key}");
        let out = self.ctl(&["get", &k, "--print-value-only"])?;
        serde_json::from_str(out.trim()).ok()
    }

    /// The keys under the group's `prefix`.
    fn keys(&self, prefix: &str) -> Vec<String> {
        let k = format!("/handover/groups/{GROUP}/{prefix}");
        self.ctl(&["get", "--prefix", &k, "--keys-only"])
            .unwrap_or_default()
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(str::to_string)
            .collect()
    }

    fn leader(&self) -> Option<String> {
        let k = format!("/handover/groups/{GROUP}/leader");
        self.ctl(&["get", &k, "--print-value-only"])
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
    }

    /// The rollout's memory in etcd, with who wrote it.
    fn rollout(&self) -> Option<Value> {
        self.value("rollout/state")
    }
}

fn wait_until(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + LIMIT;
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// ms1; gw1, gw2 on it; `agents` agents on gw1, connected; a topology
/// that moves them all to gw2 with `policy` (YAML under `policy:`).
struct Rig {
    dir: tempfile::TempDir,
    state: PathBuf,
    desired: PathBuf,
}

/// A `reconcile --ha` replica, killed when dropped.
struct Replica {
    _child: Killed,
    port: u16,
}

impl Replica {
    fn status(&self) -> Option<Value> {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
        s.write_all(b"GET /status HTTP/1.0\r\nHost: x\r\n\r\n")
            .ok()?;
        let mut text = String::new();
        s.read_to_string(&mut text).ok()?;
        serde_json::from_str(text.split("\r\n\r\n").nth(1)?).ok()
    }

    fn leads(&self) -> bool {
        self.status().is_some_and(|s| s["ha"]["role"] == "leader")
    }

    fn passes(&self) -> u64 {
        self.status()
            .map_or(0, |s| s["passes"].as_u64().unwrap_or(0))
    }
}

impl Rig {
    fn new(agents: usize, policy: &str) -> Rig {
        let dir = tempfile::tempdir().unwrap();
        let mut y = String::from(
            "apiVersion: handover/v1\nkind: Observed\nmanagementServers:\n  - name: ms1\n    up: true\ngateways:\n",
        );
        for g in ["gw1", "gw2"] {
            y += &format!(
                "  - name: {g}\n    primary: ms1\n    failover: []\n    connected: ms1\n    up: true\n    ready: true\n"
            );
        }
        y += "agents:\n";
        for i in 0..agents {
            y += &format!(
                "  - name: a{i:02}\n    primary: gw1\n    failover: []\n    connected: gw1\n"
            );
        }
        let observed = handover::load::observed_str(&y, "estate.yaml").expect("valid estate");
        let state = dir.path().join("state.json");
        std::fs::write(
            &state,
            serde_json::to_vec(&serde_json::json!({ "observed": observed })).unwrap(),
        )
        .unwrap();
        let desired = dir.path().join("topology.yaml");
        std::fs::write(
            &desired,
            format!(
                "apiVersion: handover/v1\nkind: Topology\nmetadata:\n  name: {GROUP}\nmanagementServers:\n  - name: ms1\ngateways:\n  - name: gw1\n    primary: ms1\n  - name: gw2\n    primary: ms1\nagentRules:\n  - match: \"a*\"\n    primary: gw2\npolicy:\n  maxInFlight: 2\n  ackTimeout: 30m\n{policy}"
            ),
        )
        .unwrap();
        Rig {
            dir,
            state,
            desired,
        }
    }

    /// `reconcile --ha` as replica `id`, its state directory and log in
    /// the rig's folder.
    fn replica(&self, etcd: &Etcd, id: &str) -> Replica {
        let port = free_port();
        let child = Command::new(HANDOVER)
            .arg("reconcile")
            .args(["--target", &format!("exec:{PROVIDER}")])
            .args(["--target-arg", "--state", "--target-arg"])
            .arg(&self.state)
            .arg("--desired")
            .arg(&self.desired)
            .args(["--interval", "1s"])
            .args(["--ha", &etcd.url(), "--ha-ttl", "2s", "--ha-id", id])
            .arg("--state-dir")
            .arg(self.dir.path().join(id))
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .env("HANDOVER_LOG", "handover=debug,info")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(self.dir.path().join(format!("{id}.log"))).unwrap())
            .spawn()
            .expect("handover starts");
        Replica {
            _child: Killed(child),
            port,
        }
    }

    /// Agents whose configured parents are exactly gw2 (moved), and the
    /// number of agents.
    fn moved(&self) -> (usize, usize) {
        let s: Value = serde_json::from_slice(&std::fs::read(&self.state).unwrap()).unwrap();
        let agents = s["observed"]["agents"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let moved = agents
            .iter()
            .filter(|a| {
                a["primary"] == "gw2" && a["failover"].as_array().is_none_or(|f| f.is_empty())
            })
            .count();
        (moved, agents.len())
    }

    fn stranded_or_dropped(&self) -> Value {
        let s: Value = serde_json::from_slice(&std::fs::read(&self.state).unwrap()).unwrap();
        serde_json::json!([s["stranded"], s["dropped"]])
    }

    /// The rollout states in replica `id`'s local journal (history).
    fn local_states(&self, id: &str) -> usize {
        std::fs::read_to_string(self.dir.path().join(id).join("journal.jsonl"))
            .unwrap_or_default()
            .lines()
            .filter(|l| l.contains("\"event\":\"rollout_state\""))
            .count()
    }
}

/// `handover ARGS`.
fn handover(args: &[&str]) -> Output {
    Command::new(HANDOVER).args(args).output().unwrap()
}

#[test]
fn a_replica_that_takes_over_goes_on_at_the_same_step_and_soak() {
    let Some(_g) = with_etcd() else { return };
    let rig = Rig::new(
        6,
        "  rollout:\n    steps:\n      - {members: 2, soak: 1h}\n      - {percent: 100}\n",
    );
    let etcd = Etcd::start(rig.dir.path());
    let a = rig.replica(&etcd, "r-a");
    wait_until("r-a to lead", || a.leads());
    let b = rig.replica(&etcd, "r-b");
    // Step 1 moves its two agents; the soak begins, written to etcd.
    wait_until("step 1's soak in etcd", || {
        etcd.rollout()
            .is_some_and(|s| s["state"]["phase"] == "soaking")
    });
    let before = etcd.rollout().unwrap();
    assert_eq!(before["replica"], "r-a", "{before}");
    assert_eq!(before["state"]["step"], 0, "{before}");
    assert_eq!(before["state"]["total"], 6, "{before}");
    assert_eq!(rig.moved(), (2, 6));
    assert!(
        rig.local_states("r-a") >= 1,
        "the leader's journal keeps the history"
    );
    // The standby shows the same rollout, read from etcd.
    wait_until("the standby's rollout", || {
        b.status()
            .is_some_and(|s| s["ha"]["role"] == "standby" && s["rollout"]["phase"] == "soaking")
    });

    drop(a); // kill -9
    wait_until("r-b to take over", || {
        etcd.leader().as_deref() == Some("r-b") && b.leads()
    });
    let p0 = b.passes();
    wait_until("three passes of r-b as leader", || b.passes() >= p0 + 3);

    // r-b soaks on: the same step, the same soak start, nothing more moved.
    // Starting over would have counted the 4 agents left as the whole
    // revision and moved 2 more at once.
    let after = etcd.rollout().unwrap();
    assert_eq!(after["state"], before["state"], "{after}");
    assert_eq!(after["replica"], "r-a", "unchanged, so not rewritten");
    assert_eq!(rig.moved(), (2, 6));
    let s = b.status().unwrap();
    assert_eq!(s["rollout"]["step"], 1, "{s}");
    assert_eq!(s["rollout"]["phase"], "soaking", "{s}");
    assert!(s["rollout"]["soakUntil"].is_string(), "{s}");
    assert_eq!(rig.stranded_or_dropped(), serde_json::json!([[], []]));
}

#[test]
fn resume_ha_lets_the_leader_go_on_after_a_manual_pause() {
    let Some(_g) = with_etcd() else { return };
    let rig = Rig::new(
        6,
        "  rollout:\n    steps:\n      - {members: 2}\n      - {pause: true}\n      - {percent: 100}\n",
    );
    let etcd = Etcd::start(rig.dir.path());
    let r = rig.replica(&etcd, "r-a");
    wait_until("the manual pause in etcd", || {
        etcd.rollout()
            .is_some_and(|s| s["state"]["phase"] == "paused")
    });
    let p0 = r.passes();
    wait_until("two more passes", || r.passes() >= p0 + 2);
    assert_eq!(rig.moved(), (2, 6), "the pause holds the rest");
    assert_eq!(r.status().unwrap()["rollout"]["phase"], "paused");

    // Without --group, --ha is refused (a usage error) and nothing is
    // recorded.
    let out = handover(&["resume", "--ha", &etcd.url()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--group"));
    assert!(etcd.value("rollout/resume").is_none());

    let out = handover(&["resume", "--ha", &etcd.url(), "--group", GROUP]);
    assert!(out.status.success(), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("Resume recorded in etcd"),
        "{out:?}"
    );
    assert_eq!(
        etcd.value("rollout/resume").unwrap()["event"],
        "rollout_resumed"
    );
    wait_until("every agent moved", || rig.moved() == (6, 6));
    wait_until("the rollout complete in etcd", || {
        etcd.rollout()
            .is_some_and(|s| s["state"]["phase"] == "complete")
    });
    assert_eq!(rig.stranded_or_dropped(), serde_json::json!([[], []]));
}

#[test]
fn approve_ha_lets_a_held_plan_proceed_on_the_leader() {
    let Some(_g) = with_etcd() else { return };
    let rig = Rig::new(6, "  approval: {aboveMembers: 2}\n");
    let etcd = Etcd::start(rig.dir.path());
    let r = rig.replica(&etcd, "r-a");
    let mut digest = String::new();
    wait_until("the leader awaiting approval", || {
        r.status().is_some_and(|s| {
            let awaiting = s["ha"]["role"] == "leader" && s["approval"]["awaiting"] == true;
            if awaiting {
                digest = s["approval"]["digest"].as_str().unwrap().to_string();
            }
            awaiting
        })
    });
    assert_eq!(rig.moved(), (0, 6), "nothing starts before approval");

    // A bad digest records nothing.
    let out = handover(&["approve", "nonsense", "--ha", &etcd.url(), "--group", GROUP]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("is not an approval digest"),
        "{out:?}"
    );
    assert!(etcd.keys("approvals/").is_empty());

    let out = handover(&["approve", &digest, "--ha", &etcd.url(), "--group", GROUP]);
    assert!(out.status.success(), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("in etcd at"),
        "{out:?}"
    );
    let recorded = etcd.value(&format!("approvals/{digest}")).unwrap();
    assert_eq!(recorded["digest"], digest.as_str());
    assert!(recorded["at"].is_string(), "{recorded}");
    wait_until("every agent moved", || rig.moved() == (6, 6));
    assert_eq!(rig.stranded_or_dropped(), serde_json::json!([[], []]));
}

#[test]
fn approvals_in_etcd_are_bounded_to_the_newest() {
    let Some(_g) = with_etcd() else { return };
    let dir = tempfile::tempdir().unwrap();
    let etcd = Etcd::start(dir.path());
    for i in 0..18 {
        let d = format!("fnv1a64:{i:016x}");
        let out = handover(&["approve", &d, "--ha", &etcd.url(), "--group", GROUP]);
        assert!(out.status.success(), "{out:?}");
    }
    let keys = etcd.keys("approvals/");
    assert_eq!(keys.len(), 16, "{keys:?}");
    // The two oldest went.
    assert!(
        !keys.iter().any(|k| k.ends_with(":0000000000000000")),
        "{keys:?}"
    );
    assert!(
        !keys.iter().any(|k| k.ends_with(":0000000000000001")),
        "{keys:?}"
    );
    assert!(
        keys.iter().any(|k| k.ends_with(":0000000000000011")),
        "{keys:?}"
    );
}
