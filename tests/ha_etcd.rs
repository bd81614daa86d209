//! `reconcile --ha` against a real etcd: several replicas of the real
//! binary share one estate (the exec test provider, whose state file
//! records which process applied each operation, and when) and coordinate
//! through an etcd this test starts on loopback ports.
//!
//! Scenarios: two replicas; three replicas; the leader killed (`kill -9`)
//! in the middle of a wave; the leader paused (SIGSTOP) past its TTL and
//! resumed; the leader cut off from etcd (through a relay the test cuts)
//! while the target stays reachable; etcd restarted mid-run; two groups
//! spread over two hosts by preference; etcd over TLS with client
//! certificates. Each checks that exactly one replica
//! applies at a time (in the provider's own log: once another replica has
//! applied, an earlier leader never applies again), that no operation is
//! applied twice, that nothing is stranded, and that the estate converges.
//!
//! Needs `etcd` (Debian etcd-server) and `etcdctl` on `PATH`: without them
//! the tests are skipped with a message, and fail when `CI=true`.
//! Timeouts are generous safety nets, not performance assertions.

#![cfg(unix)]

mod common;

use common::process::free_port;
use serde_json::Value;
use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

const HANDOVER: &str = env!("CARGO_BIN_EXE_handover");
const PROVIDER: &str = env!("CARGO_BIN_EXE_handover-test-provider");
const GROUP: &str = "contoso-test";
/// Run by name: found on `PATH` (`common::ETCD`).
const ETCD: &str = "etcd";

/// One scenario at a time: each runs replicas and an etcd, on two cores.
static SERIAL: Mutex<()> = Mutex::new(());

/// etcd and etcdctl on `PATH`; a test without them is skipped, and fails
/// under `CI=true` (`.ci/run` installs etcd-server and etcd-client).
fn etcd_available() -> bool {
    let etcd = common::tool(&common::ETCD, "ha_etcd");
    let etcdctl = common::tool(&common::ETCDCTL, "ha_etcd");
    etcd.is_some() && etcdctl.is_some()
}

/// The start of every scenario: `None` (skip) without etcd, else the
/// [`SERIAL`] guard, held until the scenario ends.
fn one_scenario_with_etcd() -> Option<MutexGuard<'static, ()>> {
    if !etcd_available() {
        return None;
    }
    Some(SERIAL.lock().unwrap_or_else(|p| p.into_inner()))
}

/// The start of most scenarios: `None` (skip) without etcd, else the
/// [`SERIAL`] guard, a [`Rig`] of `agents` agents and an etcd in its
/// folder, dropped in the reverse order (etcd first, the guard last).
fn scenario(agents: usize) -> Option<(MutexGuard<'static, ()>, Rig, Etcd)> {
    let guard = one_scenario_with_etcd()?;
    let rig = Rig::new(agents);
    let etcd = Etcd::start(rig.dir.path());
    Some((guard, rig, etcd))
}

/// `handover history --ha URL --group GROUP --format json`.
fn ha_history(url: &str) -> Command {
    let mut c = Command::new(HANDOVER);
    c.args(["history", "--ha", url, "--group", GROUP, "--format", "json"]);
    c
}

/// A real etcd on loopback, killed when dropped.
struct Etcd {
    child: Option<Child>,
    data: PathBuf,
    client: u16,
    peer: u16,
    log: PathBuf,
    /// With TLS: the folder of `ca.pem`, `server.{pem,key}` and
    /// `client.{pem,key}` ([`certificates`]); clients must present a
    /// certificate.
    tls: Option<PathBuf>,
    /// With etcd's authentication on: the root user's name and password,
    /// which `etcdctl` then uses.
    root: Option<(String, String)>,
}

/// A CA, a server certificate for 127.0.0.1 and a client certificate, made
/// with the openssl command in `dir`.
fn certificates(dir: &Path) {
    let openssl = |args: &[&str]| common::openssl(dir, args);
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    openssl(
        &[
            &["req", "-x509"][..],
            &ec,
            &[
                "-keyout",
                "ca.key",
                "-out",
                "ca.pem",
                "-days",
                "2",
                "-subj",
                "/CN=handover test CA",
            ],
        ]
        .concat(),
    );
    for (who, ext) in [
        (
            "server",
            "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n",
        ),
        ("client", "extendedKeyUsage=clientAuth\n"),
    ] {
        std::fs::write(dir.join(format!("{who}.ext")), ext).unwrap();
        let (key, csr, pem, extfile) = (
            format!("{who}.key"),
            format!("{who}.csr"),
            format!("{who}.pem"),
            format!("{who}.ext"),
        );
        let subj = format!("/CN={who}");
        openssl(
            &[
                &["req"][..],
                &ec,
                &["-keyout", &key, "-out", &csr, "-subj", &subj],
            ]
            .concat(),
        );
        openssl(&[
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            &pem,
            "-days",
            "2",
            "-extfile",
            &extfile,
        ]);
    }
}

impl Etcd {
    fn start(dir: &Path) -> Etcd {
        Etcd::start_with(dir, None)
    }

    /// etcd over TLS, requiring client certificates.
    fn start_tls(dir: &Path) -> Etcd {
        let certs = dir.join("certs");
        std::fs::create_dir_all(&certs).unwrap();
        certificates(&certs);
        Etcd::start_with(dir, Some(certs))
    }

    fn start_with(dir: &Path, tls: Option<PathBuf>) -> Etcd {
        let mut e = Etcd {
            child: None,
            data: dir.join("etcd-data"),
            client: free_port(),
            peer: free_port(),
            log: dir.join("etcd.log"),
            tls,
            root: None,
        };
        e.spawn();
        e
    }

    /// Turns on etcd's authentication, with `root` (password `rootpw`)
    /// and the user `handover` (password `hpw`), who may read and write
    /// `/handover/`.
    fn enable_auth(&mut self) {
        for args in [
            &["user", "add", "root", "--new-user-password=rootpw"][..],
            &["user", "add", "handover", "--new-user-password=hpw"],
            &["role", "add", "handover"],
            &[
                "role",
                "grant-permission",
                "handover",
                "--prefix=true",
                "readwrite",
                "/handover/",
            ],
            &["user", "grant-role", "handover", "handover"],
            &["auth", "enable"],
        ] {
            assert!(self.ctl(args).is_some(), "etcdctl {args:?} failed");
        }
        self.root = Some(("root".into(), "rootpw".into()));
    }

    /// `--ha-ca`, `--ha-cert`, `--ha-key` for a TLS etcd.
    fn security_args(&self) -> Vec<String> {
        match &self.tls {
            None => Vec::new(),
            Some(d) => ["ca.pem", "client.pem", "client.key"]
                .iter()
                .zip(["--ha-ca", "--ha-cert", "--ha-key"])
                .flat_map(|(f, flag)| [flag.to_string(), d.join(f).display().to_string()])
                .collect(),
        }
    }

    fn spawn(&mut self) {
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        let client = format!("{scheme}://127.0.0.1:{}", self.client);
        let peer = format!("http://127.0.0.1:{}", self.peer);
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap();
        let child = Command::new(ETCD)
            .args(["--name", "default", "--data-dir"])
            .arg(&self.data)
            .args(["--listen-client-urls", &client])
            .args(["--advertise-client-urls", &client])
            .args(["--listen-peer-urls", &peer])
            .args(["--initial-advertise-peer-urls", &peer])
            .args(["--initial-cluster", &format!("default={peer}")])
            .args(self.tls.iter().flat_map(|d| {
                [
                    "--cert-file".to_string(),
                    d.join("server.pem").display().to_string(),
                    "--key-file".into(),
                    d.join("server.key").display().to_string(),
                    "--trusted-ca-file".into(),
                    d.join("ca.pem").display().to_string(),
                    "--client-cert-auth".into(),
                ]
            }))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("etcd starts");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.ctl(&["put", "/probe", "1"]).is_none() {
            assert!(
                Instant::now() < deadline,
                "etcd did not come up; see {}",
                self.log.display()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn url(&self) -> String {
        let scheme = if self.tls.is_some() { "etcds" } else { "etcd" };
        format!("{scheme}://127.0.0.1:{}", self.client)
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
            .args(self.tls.iter().flat_map(|d| {
                ["ca.pem", "client.pem", "client.key"]
                    .iter()
                    .zip(["--cacert", "--cert", "--key"])
                    .map(|(f, flag)| format!("{flag}={}", d.join(f).display()))
                    .collect::<Vec<_>>()
            }))
            .args(self.root.iter().map(|(u, p)| format!("--user={u}:{p}")))
            .args(args)
            .output()
            .ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    }

    fn leader(&self) -> Option<String> {
        self.leader_of(GROUP)
    }

    fn leader_of(&self, group: &str) -> Option<String> {
        self.ctl(&[
            "get",
            &format!("/handover/groups/{group}/leader"),
            "--print-value-only",
        ])
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
    }

    /// The shared journal's entries, in creation order.
    fn journal(&self) -> Vec<Value> {
        let out = self
            .ctl(&[
                "get",
                "--prefix",
                &format!("/handover/groups/{GROUP}/journal/"),
                "--print-value-only",
                "--sort-by=CREATE",
            ])
            .unwrap_or_default();
        out.lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Etcd {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A TCP relay to etcd that can be cut: one replica's access to etcd,
/// lost while the others keep theirs.
struct Proxy {
    port: u16,
    cut: std::sync::Arc<std::sync::atomic::AtomicBool>,
    open: std::sync::Arc<Mutex<Vec<TcpStream>>>,
}

impl Proxy {
    fn start(target: u16) -> Proxy {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicBool, Ordering};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let cut = Arc::new(AtomicBool::new(false));
        let open: Arc<Mutex<Vec<TcpStream>>> = Arc::default();
        let (c, o) = (cut.clone(), open.clone());
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { continue };
                if c.load(Ordering::SeqCst) {
                    continue; // dropped: the connection is refused
                }
                let Ok(server) = TcpStream::connect(("127.0.0.1", target)) else {
                    continue;
                };
                let mut l = o.lock().unwrap();
                l.push(client.try_clone().unwrap());
                l.push(server.try_clone().unwrap());
                for (mut from, mut to) in [
                    (client.try_clone().unwrap(), server.try_clone().unwrap()),
                    (server, client),
                ] {
                    std::thread::spawn(move || {
                        let _ = std::io::copy(&mut from, &mut to);
                        let _ = to.shutdown(std::net::Shutdown::Both);
                    });
                }
            }
        });
        Proxy { port, cut, open }
    }

    /// Cuts every connection and refuses new ones.
    fn cut(&self) {
        self.cut.store(true, std::sync::atomic::Ordering::SeqCst);
        for s in self.open.lock().unwrap().drain(..) {
            let _ = s.shutdown(std::net::Shutdown::Both);
        }
    }
}

/// A `reconcile --ha` replica, killed when dropped.
struct Replica {
    id: String,
    child: Child,
    port: u16,
    log: PathBuf,
}

impl Replica {
    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn signal(&self, sig: i32) {
        // SAFETY: sends a signal to our own child.
        unsafe {
            libc::kill(self.child.id() as i32, sig);
        }
    }

    fn status(&self) -> Option<Value> {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
        s.write_all(b"GET /status HTTP/1.0\r\nHost: x\r\n\r\n")
            .ok()?;
        let mut text = String::new();
        s.read_to_string(&mut text).ok()?;
        let body = text.split("\r\n\r\n").nth(1)?;
        serde_json::from_str(body).ok()
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        self.signal(libc::SIGCONT);
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Rig {
    dir: tempfile::TempDir,
    state: PathBuf,
    desired: PathBuf,
    agents: usize,
}

impl Rig {
    /// ms1, ms2; gw1, gw2 on ms1; `agents` agents on gw1, all connected.
    /// The topology moves every agent to gw2, two at a time.
    fn new(agents: usize) -> Rig {
        Rig::for_group(agents, GROUP)
    }

    /// [`Rig::new`] for the management group `group`.
    fn for_group(agents: usize, group: &str) -> Rig {
        let dir = tempfile::tempdir().unwrap();
        let mut y = String::from(
            "apiVersion: handover/v1\nkind: Observed\nmanagementServers:\n  - name: ms1\n    up: true\n  - name: ms2\n    up: true\ngateways:\n",
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
                "apiVersion: handover/v1\nkind: Topology\nmetadata:\n  name: {group}\nmanagementServers:\n  - name: ms1\n  - name: ms2\ngateways:\n  - name: gw1\n    primary: ms1\n  - name: gw2\n    primary: ms1\nagentRules:\n  - match: \"a*\"\n    primary: gw2\npolicy:\n  maxInFlight: 2\n  ackTimeout: 30m\n"
            ),
        )
        .unwrap();
        Rig {
            dir,
            state,
            desired,
            agents,
        }
    }

    fn replica(&self, etcd: &Etcd, id: &str, delay_ms: u64) -> Replica {
        self.replica_via(etcd, &etcd.url(), id, delay_ms)
    }

    /// [`Rig::replica`] reaching etcd at `url` (through a [`Proxy`]).
    fn replica_via(&self, etcd: &Etcd, url: &str, id: &str, delay_ms: u64) -> Replica {
        self.replica_with(etcd, url, id, delay_ms, &[])
    }

    /// [`Rig::replica`] with more arguments for handover (`--ha-user`), the
    /// etcd password in the environment, and no delay in its provider.
    fn replica_as(&self, etcd: &Etcd, id: &str, args: &[String]) -> Replica {
        let log = format!("{id}-as.log");
        self.spawn_replica(&etcd.url(), id, &log, &[], args, Some("hpw"))
    }

    /// [`Rig::replica_via`] with more arguments for its provider.
    fn replica_with(
        &self,
        etcd: &Etcd,
        url: &str,
        id: &str,
        delay_ms: u64,
        provider_args: &[String],
    ) -> Replica {
        let mut target = vec!["--apply-delay-ms".to_string(), delay_ms.to_string()];
        target.extend_from_slice(provider_args);
        let log = format!("{id}.log");
        self.spawn_replica(url, id, &log, &target, &etcd.security_args(), None)
    }

    /// `reconcile --ha URL` as replica `id` on the rig's estate through the
    /// test provider: `provider_args` follow the provider's `--state`,
    /// `ha_args` follow `--ha-ttl 2s --ha-id ID`, the etcd password (if
    /// any) is in the environment, and stderr goes to `log` in the rig's
    /// folder.
    fn spawn_replica(
        &self,
        url: &str,
        id: &str,
        log: &str,
        provider_args: &[String],
        ha_args: &[String],
        password: Option<&str>,
    ) -> Replica {
        let port = free_port();
        let log = self.dir.path().join(log);
        let mut c = Command::new(HANDOVER);
        c.arg("reconcile")
            .args(["--target", &format!("exec:{PROVIDER}")])
            .args(["--target-arg", "--state"])
            .arg("--target-arg")
            .arg(&self.state)
            .args(provider_args.iter().flat_map(|a| ["--target-arg", a]))
            .arg("--desired")
            .arg(&self.desired)
            .args(["--interval", "1s"])
            .args(["--ha", url, "--ha-ttl", "2s", "--ha-id", id])
            .args(ha_args)
            .arg("--state-dir")
            .arg(self.dir.path().join(id))
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .env("HANDOVER_LOG", "handover=debug,info")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap());
        if let Some(password) = password {
            c.env("HANDOVER_ETCD_PASSWORD", password);
        }
        let child = c.spawn().expect("handover starts");
        Replica {
            id: id.to_string(),
            child,
            port,
            log,
        }
    }

    fn read(&self) -> Value {
        // The provider writes by rename: never torn.
        serde_json::from_slice(&std::fs::read(&self.state).unwrap()).unwrap()
    }

    /// Every applied operation with the pid of the replica that ran it.
    fn applied(&self) -> Vec<(Value, u32)> {
        let s = self.read();
        let ops = s["applied"].as_array().cloned().unwrap_or_default();
        let by = s["applied_by"].as_array().cloned().unwrap_or_default();
        assert_eq!(
            ops.len(),
            by.len(),
            "every applied operation has its applier"
        );
        ops.into_iter()
            .zip(by.iter().map(|b| b["ppid"].as_u64().unwrap() as u32))
            .collect()
    }

    fn converged(&self) -> bool {
        let s = self.read();
        let agents = s["observed"]["agents"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        agents.len() == self.agents
            && agents.iter().all(|a| {
                a["primary"] == "gw2"
                    && a["failover"].as_array().is_none_or(|f| f.is_empty())
                    && a["connected"] == "gw2"
            })
    }

    fn wait_until(&self, what: &str, limit: Duration, mut f: impl FnMut() -> bool) {
        let deadline = Instant::now() + limit;
        while !f() {
            assert!(
                Instant::now() < deadline,
                "timed out waiting for: {what}\nlogs in {}",
                self.dir.path().display()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The checks every scenario ends with: converged, nothing stranded or
    /// dropped, no operation applied twice, and one writer at a time: the
    /// appliers, in the provider's order, never return to an earlier one.
    fn check_safe_and_single_writer(&self) -> Vec<u32> {
        let s = self.read();
        assert_eq!(s["stranded"], serde_json::json!([]), "nothing stranded");
        assert_eq!(
            s["dropped"],
            serde_json::json!([]),
            "no connected parent dropped"
        );
        let applied = self.applied();
        let mut seen = BTreeSet::new();
        for (op, _) in &applied {
            assert!(seen.insert(op.to_string()), "applied twice: {op}");
        }
        // 2 operations per agent: bridge, prune.
        assert_eq!(applied.len(), 2 * self.agents, "{applied:?}");
        let mut writers: Vec<u32> = Vec::new();
        for (_, pid) in &applied {
            if writers.last() != Some(pid) {
                assert!(
                    !writers.contains(pid),
                    "replica {pid} applied again after another had taken over: {writers:?}"
                );
                writers.push(*pid);
            }
        }
        writers
    }
}

/// One replica per term in the shared journal, and every operation's
/// intent recorded under a term.
fn check_journal(etcd: &Etcd) -> Vec<(i64, String)> {
    let mut terms: Vec<(i64, String)> = Vec::new();
    for e in etcd.journal() {
        let term = e["term"].as_i64().unwrap();
        let replica = e["replica"].as_str().unwrap().to_string();
        match terms.iter().find(|(t, _)| *t == term) {
            Some((_, r)) => assert_eq!(r, &replica, "term {term} has two writers"),
            None => terms.push((term, replica)),
        }
    }
    let mut sorted = terms.clone();
    sorted.sort();
    assert_eq!(terms, sorted, "terms are written in order");
    terms
}

const LIMIT: Duration = Duration::from_secs(40);

#[test]
fn two_replicas_one_leader_applies_and_the_standby_serves_status() {
    let Some((_g, rig, etcd)) = scenario(6) else {
        return;
    };
    let a = rig.replica(&etcd, "r1", 0);
    let b = rig.replica(&etcd, "r2", 0);
    rig.wait_until("convergence", LIMIT, || rig.converged());
    let writers = rig.check_safe_and_single_writer();
    assert_eq!(writers.len(), 1, "one replica applied everything");
    let leader = etcd.leader().expect("a leader");
    let (lead, standby) = if leader == a.id { (&a, &b) } else { (&b, &a) };
    assert_eq!(writers[0], lead.pid());
    rig.wait_until("the standby's /status", LIMIT, || {
        standby.status().is_some_and(|s| {
            s["ha"]["role"] == "standby"
                && s["ha"]["leader"] == leader.as_str()
                && s["ha"]["leader_status"].is_object()
        })
    });
    rig.wait_until("the leader's /status", LIMIT, || {
        lead.status().is_some_and(|s| s["ha"]["role"] == "leader")
    });
    let terms = check_journal(&etcd);
    assert_eq!(terms.len(), 1, "{terms:?}");
    // Any replica's history: the shared journal names the leader.
    let out = ha_history(&etcd.url()).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let runs: Value = serde_json::from_slice(&out.stdout).unwrap();
    let runs = runs.as_array().unwrap();
    assert!(!runs.is_empty());
    assert!(
        runs.iter().all(|r| r["replica"] == leader.as_str()),
        "{runs:?}"
    );
    assert_eq!(
        runs.iter()
            .map(|r| r["applied"].as_u64().unwrap())
            .sum::<u64>(),
        12
    );
}

#[test]
fn three_replicas_exactly_one_applies() {
    let Some((_g, rig, etcd)) = scenario(6) else {
        return;
    };
    let rs: Vec<Replica> = ["r1", "r2", "r3"]
        .iter()
        .map(|id| rig.replica(&etcd, id, 0))
        .collect();
    rig.wait_until("convergence", LIMIT, || rig.converged());
    let writers = rig.check_safe_and_single_writer();
    assert_eq!(writers.len(), 1, "exactly one replica applied");
    let leader = etcd.leader().expect("a leader");
    let lead = rs.iter().find(|r| r.id == leader).unwrap();
    assert_eq!(writers[0], lead.pid());
    let terms = check_journal(&etcd);
    assert_eq!(terms.len(), 1, "{terms:?}");
    assert_eq!(terms[0].1, leader);
    for r in rs.iter().filter(|r| r.id != leader) {
        rig.wait_until("a standby's /status", LIMIT, || {
            r.status().is_some_and(|s| s["ha"]["role"] == "standby")
        });
        assert!(!r.log().contains("won leadership"), "{}", r.log());
    }
}

#[test]
fn killing_the_leader_mid_wave_lets_a_standby_finish_it() {
    let Some((_g, rig, etcd)) = scenario(16) else {
        return;
    };
    let mut rs = vec![rig.replica(&etcd, "r1", 150), rig.replica(&etcd, "r2", 150)];
    rig.wait_until("the wave to start", LIMIT, || rig.applied().len() >= 5);
    let first = rig.applied()[0].1;
    let i = rs
        .iter()
        .position(|r| r.pid() == first)
        .expect("a replica led");
    let mut dead = rs.remove(i);
    let survivor = &rs[0];
    let _ = dead.child.kill(); // SIGKILL
    let _ = dead.child.wait();
    let before = rig.applied().len();
    assert!(before < 32, "the wave was still going when the leader died");
    rig.wait_until("the standby to converge the estate", LIMIT, || {
        rig.converged()
    });
    let writers = rig.check_safe_and_single_writer();
    assert_eq!(writers, vec![first, survivor.pid()]);
    assert_eq!(etcd.leader().as_deref(), Some(survivor.id.as_str()));
    let terms = check_journal(&etcd);
    assert_eq!(terms.len(), 2, "{terms:?}");
}

#[test]
fn a_paused_leader_applies_nothing_after_losing_its_lease() {
    let Some((_g, rig, etcd)) = scenario(16) else {
        return;
    };
    let a = rig.replica(&etcd, "r1", 150);
    let b = rig.replica(&etcd, "r2", 150);
    rig.wait_until("the wave to start", LIMIT, || rig.applied().len() >= 5);
    let first = rig.applied()[0].1;
    let (paused, other) = if first == a.pid() { (&a, &b) } else { (&b, &a) };
    paused.signal(libc::SIGSTOP);
    let stopped_at = rig.applied().len();
    rig.wait_until("the standby to take over", LIMIT, || {
        rig.applied().iter().any(|(_, pid)| *pid == other.pid())
    });
    // Resume the old leader in the middle of the new leader's work.
    paused.signal(libc::SIGCONT);
    rig.wait_until("convergence", LIMIT, || rig.converged());
    // Let the resumed replica run a while longer: it must stay a standby.
    std::thread::sleep(Duration::from_secs(3));
    let writers = rig.check_safe_and_single_writer();
    assert_eq!(writers, vec![paused.pid(), other.pid()]);
    let applied = rig.applied();
    let by_paused = applied.iter().filter(|(_, p)| *p == paused.pid()).count();
    // At most the call already running in its provider child when it was
    // stopped finished after the pause.
    assert!(
        by_paused <= stopped_at + 1,
        "{by_paused} > {stopped_at} + 1"
    );
    let log = paused.log();
    assert!(
        log.contains("lost leadership") || log.contains("leadership ended"),
        "the resumed replica noticed: {log}"
    );
    let terms = check_journal(&etcd);
    assert_eq!(terms.len(), 2, "{terms:?}");
    assert_eq!(terms[1].1, other.id);
    assert_eq!(etcd.leader().as_deref(), Some(other.id.as_str()));
}

#[test]
fn restarting_etcd_mid_run_ends_with_one_leader_and_convergence() {
    let Some((_g, rig, mut etcd)) = scenario(12) else {
        return;
    };
    let _a = rig.replica(&etcd, "r1", 150);
    let _b = rig.replica(&etcd, "r2", 150);
    rig.wait_until("the wave to start", LIMIT, || rig.applied().len() >= 3);
    etcd.stop();
    std::thread::sleep(Duration::from_secs(3));
    etcd.spawn();
    rig.wait_until("convergence", LIMIT, || rig.converged());
    rig.check_safe_and_single_writer();
    rig.wait_until("one leader", LIMIT, || etcd.leader().is_some());
    check_journal(&etcd);
}

#[test]
fn the_groups_spread_over_the_hosts_by_preference_not_by_start_order() {
    let Some(_g) = one_scenario_with_etcd() else {
        return;
    };
    let hosts = vec!["hostA".to_string(), "hostB".to_string()];
    // Two groups, one preferring each host.
    let pick = |host: &str| {
        (0..)
            .map(|i| format!("group-{i}"))
            .find(|g| handover::ha::leader::preferred(g, &hosts) == Some(host))
            .unwrap()
    };
    let groups = [pick("hostA"), pick("hostB")];
    let rigs: Vec<Rig> = groups.iter().map(|g| Rig::for_group(4, g)).collect();
    let etcd = Etcd::start(rigs[0].dir.path());
    // Every host runs one replica per group; hostA starts all of its
    // replicas first, which would give it both groups on a race.
    let mut replicas = Vec::new();
    for host in ["hostA", "hostB"] {
        for r in &rigs {
            replicas.push(r.replica(&etcd, host, 0));
        }
        std::thread::sleep(Duration::from_millis(150));
    }
    for (g, r) in groups.iter().zip(&rigs) {
        r.wait_until("convergence", LIMIT, || r.converged());
        r.check_safe_and_single_writer();
        assert_eq!(
            etcd.leader_of(g),
            handover::ha::leader::preferred(g, &hosts).map(str::to_string),
            "{g}"
        );
    }
    assert_ne!(etcd.leader_of(&groups[0]), etcd.leader_of(&groups[1]));
}

#[test]
fn over_tls_with_client_certificates() {
    if !etcd_available()
        || common::tool(
            &common::OPENSSL,
            "ha_etcd::over_tls_with_client_certificates",
        )
        .is_none()
    {
        return;
    }
    let _g = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let rig = Rig::new(4);
    let etcd = Etcd::start_tls(rig.dir.path());
    let _a = rig.replica(&etcd, "r1", 0);
    let _b = rig.replica(&etcd, "r2", 0);
    rig.wait_until("convergence", LIMIT, || rig.converged());
    let writers = rig.check_safe_and_single_writer();
    assert_eq!(writers.len(), 1);
    assert!(etcd.leader().is_some());
    let history = |extra: &[String]| ha_history(&etcd.url()).args(extra).output().unwrap();
    let out = history(&etcd.security_args());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let runs: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(!runs.as_array().unwrap().is_empty());
    // Without the CA: refused before dialling, saying what to add.
    let out = history(&[]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("add --ha-ca FILE"), "{err}");
    // Without a client certificate etcd refuses the connection.
    let ca_only = etcd.security_args()[..2].to_vec();
    let out = history(&ca_only);
    assert_ne!(out.status.code(), Some(0));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("etcd"), "{err}");
}

#[test]
fn a_leader_cut_off_from_etcd_stops_and_a_standby_takes_over() {
    let Some((_g, rig, etcd)) = scenario(16) else {
        return;
    };
    let proxy = Proxy::start(etcd.client);
    let a = rig.replica_via(
        &etcd,
        &format!("etcd://127.0.0.1:{}", proxy.port),
        "r1",
        150,
    );
    rig.wait_until("r1 to lead", LIMIT, || {
        etcd.leader().as_deref() == Some("r1")
    });
    let b = rig.replica(&etcd, "r2", 150);
    rig.wait_until("the wave to start", LIMIT, || rig.applied().len() >= 3);
    // r1 loses its network path to etcd; the target is still reachable.
    proxy.cut();
    let cut_at = rig.applied().len();
    rig.wait_until("r2 to take over", LIMIT, || {
        rig.applied().iter().any(|(_, pid)| *pid == b.pid())
    });
    rig.wait_until("convergence", LIMIT, || rig.converged());
    let writers = rig.check_safe_and_single_writer();
    assert_eq!(writers, vec![a.pid(), b.pid()]);
    let by_a = rig.applied().iter().filter(|(_, p)| *p == a.pid()).count();
    // At most the call already past its checks when the path was cut.
    assert!(by_a <= cut_at + 1, "{by_a} > {cut_at} + 1");
    let log = a.log();
    assert!(
        log.contains("lost leadership") || log.contains("leadership ended"),
        "r1 noticed: {log}"
    );
    assert_eq!(etcd.leader().as_deref(), Some("r2"));
    let terms = check_journal(&etcd);
    assert_eq!(terms.len(), 2, "{terms:?}");
    assert_eq!(terms[1].1, "r2");
}

/// Issue 16, section 4: a leader stuck in a slow provider call when it
/// loses its lease. The call is killed at the lease's local deadline (its
/// heartbeat stops), before the standby's first write, and what it was
/// about to apply never lands.
#[test]
fn a_leader_stuck_in_a_slow_call_has_it_killed_before_the_standby_writes() {
    let Some((_g, rig, etcd)) = scenario(4) else {
        return;
    };
    let proxy = Proxy::start(etcd.client);
    let heartbeat = rig.dir.path().join("slow-call.heartbeat");
    // r1's every apply sleeps 20 s (far past the 2 s TTL), beating every
    // 10 ms meanwhile; r2's are immediate.
    let a = rig.replica_with(
        &etcd,
        &format!("etcd://127.0.0.1:{}", proxy.port),
        "r1",
        20_000,
        &["--heartbeat".into(), heartbeat.display().to_string()],
    );
    rig.wait_until("r1 to lead", LIMIT, || {
        etcd.leader().as_deref() == Some("r1")
    });
    let b = rig.replica(&etcd, "r2", 0);
    rig.wait_until("r1 to be in its slow call", LIMIT, || heartbeat.exists());
    let beat = || -> (u32, u64) {
        let text = std::fs::read_to_string(&heartbeat).unwrap();
        let mut it = text.split_whitespace().map(|w| w.parse::<u64>().unwrap());
        (it.next().unwrap() as u32, it.next().unwrap())
    };
    let (call, _) = beat();
    // r1 loses its path to etcd while its call is running.
    proxy.cut();
    rig.wait_until("r2 to take over", LIMIT, || {
        rig.applied().iter().any(|(_, pid)| *pid == b.pid())
    });
    let (_, last_beat) = beat();
    let first_by_b = rig.read()["applied_by"][0]["at_ms"].as_u64().unwrap();
    assert!(
        last_beat < first_by_b,
        "r1's provider call (pid {call}) was still running at {last_beat} ms, after r2's first write at {first_by_b} ms"
    );
    eprintln!(
        "the slow call's last heartbeat came {} ms before the standby's first write",
        first_by_b - last_beat
    );
    rig.wait_until("convergence", LIMIT, || rig.converged());
    // The heartbeat stayed stopped: the call is dead, not paused.
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(beat().1, last_beat, "the slow call is still beating");
    let writers = rig.check_safe_and_single_writer();
    assert_eq!(writers, vec![b.pid()], "r1 applied nothing");
    let log = a.log();
    assert!(
        log.contains("was still running when the lease deadline passed"),
        "r1 stopped its call at the deadline: {log}"
    );
    assert_eq!(etcd.leader().as_deref(), Some("r2"));
    check_journal(&etcd);
}

#[test]
fn as_an_etcd_user_with_the_password_from_the_environment() {
    let Some((_g, rig, mut etcd)) = scenario(4) else {
        return;
    };
    etcd.enable_auth();
    let user = ["--ha-user".to_string(), "handover".to_string()];
    let url = etcd.url();
    let _a = rig.replica_with(&etcd, &url, "r1", 0, &[]);
    let _b = rig.replica_with(&etcd, &url, "r2", 0, &[]);
    // The replicas above have no --ha-user: etcd refuses them, and they
    // say so in /status; nothing is applied.
    std::thread::sleep(Duration::from_secs(2));
    assert!(rig.applied().is_empty(), "applied without a user");
    drop((_a, _b));
    let _a = rig.replica_as(&etcd, "r1", &user);
    let _b = rig.replica_as(&etcd, "r2", &user);
    rig.wait_until("convergence", LIMIT, || rig.converged());
    let writers = rig.check_safe_and_single_writer();
    assert_eq!(writers.len(), 1);
    assert!(etcd.leader().is_some());
    let history = |password: &str| {
        ha_history(&url)
            .args(&user)
            .env("HANDOVER_ETCD_PASSWORD", password)
            .output()
            .unwrap()
    };
    let out = history("hpw");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let runs: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(!runs.as_array().unwrap().is_empty());
    let out = history("wrong");
    assert_ne!(out.status.code(), Some(0));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("authentication failed"), "{err}");
}
