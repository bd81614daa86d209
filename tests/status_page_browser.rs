//! The status page end to end, in a real browser: the `handover` binary
//! runs `reconcile` with `--listen` against an estate served by the exec
//! test provider (`handover-test-provider`, the simulator behind the
//! provider protocol), headless Chromium loads `/` through chromedriver
//! (plain WebDriver over HTTP), and the test asserts the page's key
//! elements through the DOM while a wave runs, writes a screenshot, and
//! checks that nothing was loaded from anywhere but the listener.
//!
//! The estate: 2 management servers, 4 gateways and 1,200 agents; the
//! first desired topology keeps every agent where it is but names one agent
//! the target does not report (blocked: "it is not in the observed
//! state…"). Once the page shows that, the desired file is rewritten so
//! half the agents move, one member in flight at a time. The wave's pace
//! is the exec target's, on the wall clock: every apply takes at least
//! `--apply-delay-ms`, and a member's acknowledgement is seen at the
//! target's next observation, so a member stays in flight for seconds
//! whatever the machine's speed (the embedded `sim:` target runs in virtual
//! time and finishes a wave before the page's 2 s refresh on a quiet
//! machine).
//!
//! A second test loads the page of a large estate (100 gateways, 50 move
//! groups, a suspended loop so it only plans) at 1,280 px and checks the
//! topology picture is readable: no text smaller than 10 px once the SVG
//! is scaled into its panel, no two texts overlapping, no sideways scroll.
//!
//! Needs `chromium` and `chromedriver` on `PATH` (Debian packages chromium
//! and chromium-driver; `.ci/run` installs them), or `$CHROMIUM` and
//! `$CHROMEDRIVER`. Without them the test is skipped, unless `CI=true`,
//! where it fails.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const GHOST: &str = "ghost01.fleet.contoso.local";

/// The browser and driver, found on `PATH` (or named by `$CHROMIUM` and
/// `$CHROMEDRIVER`), or `None` when this machine has none and the test is
/// skipped (it fails instead under `CI=true`).
fn browser() -> Option<(PathBuf, PathBuf)> {
    const TEST: &str = "status_page_browser";
    let chromium = common::tool(&common::CHROMIUM, TEST);
    let driver = common::tool(&common::CHROMEDRIVER, TEST);
    Some((chromium?, driver?))
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A child process killed when the test ends, however it ends.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// One HTTP/1.1 request over a fresh connection: (status, body).
fn http(addr: SocketAddr, method: &str, path: &str, body: Option<&Value>) -> Option<(u16, String)> {
    let mut s = TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(60))).ok()?;
    let body = body.map(Value::to_string).unwrap_or_default();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .ok()?;
    // chromedriver keeps the connection open whatever the request says:
    // read the head, then exactly Content-Length bytes.
    let mut raw = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    let head_end = loop {
        if let Some(i) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        let n = s.read(&mut buf).ok()?;
        if n == 0 {
            return None;
        }
        raw.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8_lossy(&raw[..head_end]).to_ascii_lowercase();
    let code = head.get(9..12)?.parse().ok()?;
    let length = head.lines().find_map(|l| {
        l.strip_prefix("content-length:")
            .and_then(|v| v.trim().parse::<usize>().ok())
    });
    let mut body = raw[head_end + 4..].to_vec();
    match length {
        Some(len) => {
            while body.len() < len {
                let n = s.read(&mut buf).ok()?;
                if n == 0 {
                    break;
                }
                body.extend_from_slice(&buf[..n]);
            }
        }
        None => {
            s.read_to_end(&mut body).ok()?;
        }
    }
    let body = String::from_utf8_lossy(&body).into_owned();
    let body = if head.contains("transfer-encoding: chunked") {
        dechunk(&body)
    } else {
        body
    };
    Some((code, body))
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = s.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 {
            break;
        }
        out.push_str(&rest[..n]);
        s = rest[n..].trim_start_matches("\r\n");
    }
    out
}

/// A WebDriver session on chromedriver.
struct Session {
    driver: SocketAddr,
    id: String,
}

impl Session {
    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let path = format!("/session/{}{path}", self.id);
        let (code, text) = http(self.driver, method, &path, body.as_ref())
            .unwrap_or_else(|| panic!("chromedriver did not answer {method} {path}"));
        let v: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
        assert_eq!(code, 200, "{method} {path}: {v}");
        v["value"].clone()
    }

    fn goto(&self, url: &str) {
        self.call("POST", "/url", Some(json!({ "url": url })));
    }

    /// Runs `body` (a function body) in the page and returns its value.
    fn js(&self, body: &str) -> Value {
        self.call(
            "POST",
            "/execute/sync",
            Some(json!({ "script": body, "args": [] })),
        )
    }

    fn text(&self, selector: &str) -> String {
        let v = self.js(&format!(
            "const e = document.querySelector({}); return e ? e.textContent : null;",
            json!(selector)
        ));
        v.as_str()
            .unwrap_or_else(|| panic!("{selector} not in the page"))
            .to_string()
    }

    /// Polls `f` every 200 ms until it returns `Some`, for at most `secs`.
    fn until<T>(&self, secs: u64, what: &str, mut f: impl FnMut(&Session) -> Option<T>) -> T {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            if let Some(v) = f(self) {
                return v;
            }
            if Instant::now() > deadline {
                let text = self.js("return document.body.innerText;");
                self.screenshot(
                    &PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("status-page-failed.png"),
                );
                panic!(
                    "timed out waiting for {what}; the page says:\n{}",
                    text.as_str().unwrap_or("")
                );
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn screenshot(&self, path: &Path) {
        let b64 = self.call("GET", "/screenshot", None);
        let png = base64(b64.as_str().unwrap());
        assert_eq!(&png[1..4], b"PNG");
        std::fs::write(path, png).unwrap();
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let _ = http(
            self.driver,
            "DELETE",
            &format!("/session/{}", self.id),
            None,
        );
    }
}

/// Standard base64 (the screenshot's encoding).
fn base64(s: &str) -> Vec<u8> {
    let val = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => panic!("not base64: {c}"),
    };
    let clean: Vec<u8> = s
        .bytes()
        .filter(|c| !c.is_ascii_whitespace() && *c != b'=')
        .collect();
    let mut out = Vec::with_capacity(clean.len() * 3 / 4);
    for chunk in clean.chunks(4) {
        let mut n = 0u32;
        for (i, &c) in chunk.iter().enumerate() {
            n |= (val(c) as u32) << (18 - 6 * i);
        }
        let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        out.extend_from_slice(&bytes[..chunk.len() - 1]);
    }
    out
}

/// The estate's desired topology: half the agents move when `moving`,
/// none otherwise; one agent the target does not report; one member in
/// flight at a time.
fn desired(moving: bool) -> (String, String) {
    let mut e = handover::synth::generate(&handover::synth::Spec {
        management_servers: 2,
        gateways: 4,
        agents: 1_200,
        moving: if moving { 0.5 } else { 0.0 },
        seed: 7,
    });
    e.desired.policy.max_in_flight = 1;
    e.desired.policy.capacity.gateway = 10_000;
    e.desired.policy.capacity.management_server = 20_000;
    let mut ghost = e.desired.agents[0].clone();
    ghost.name = handover::name::Name::parse(GHOST).unwrap();
    e.desired.agents.push(ghost);
    (
        handover::synth::desired_yaml(&e.desired),
        handover::synth::observed_yaml(&e.observed),
    )
}

#[test]
fn the_status_page_shows_the_estate_and_refreshes_itself_in_chromium() {
    let Some((chromium, chromedriver)) = browser() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let (first, observed) = desired(false);
    std::fs::write(d.join("desired.yaml"), &first).unwrap();
    let observed = handover::load::observed_str(&observed, "estate.yaml").expect("a valid estate");
    let state = d.join("state.json");
    std::fs::write(
        &state,
        serde_json::to_vec(&json!({ "observed": observed })).unwrap(),
    )
    .unwrap();

    let listen: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let mut reconcile = Killed(
        Command::new(env!("CARGO_BIN_EXE_handover"))
            .current_dir(d)
            .args([
                "reconcile",
                "--desired",
                "desired.yaml",
                "--target",
                &format!("exec:{}", env!("CARGO_BIN_EXE_handover-test-provider")),
                "--target-arg",
                "--state",
                "--target-arg",
            ])
            .arg(&state)
            .args(["--target-arg", "--apply-delay-ms", "--target-arg", "300"])
            .args(["--interval", "1h", "--listen", &listen.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let driver_addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let _driver = Killed(
        Command::new(&chromedriver)
            .arg(format!("--port={}", driver_addr.port()))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    while http(driver_addr, "GET", "/status", None).is_none_or(|(c, _)| c != 200)
        || http(listen, "GET", "/healthz", None).is_none()
    {
        assert!(
            Instant::now() < deadline,
            "chromedriver or the listener did not start"
        );
        if let Some(st) = reconcile.0.try_wait().unwrap() {
            panic!("reconcile exited early: {st}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }

    let profile = tempfile::tempdir().unwrap();
    let (code, text) = http(
        driver_addr,
        "POST",
        "/session",
        Some(&json!({ "capabilities": { "alwaysMatch": {
            "goog:chromeOptions": {
                "binary": chromium,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                    "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync",
                    "--disable-dev-shm-usage", "--window-size=1280,2000",
                    format!("--user-data-dir={}", profile.path().display()),
                ]
            }
        }}})),
    )
    .expect("chromedriver answers");
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(code, 200, "cannot start Chromium: {v}");
    let session = Session {
        driver: driver_addr,
        id: v["value"]["sessionId"].as_str().unwrap().to_string(),
    };

    // The first pass: nothing moves, the unknown agent is blocked.
    let url = format!("http://{listen}/");
    session.until(20, "the first pass in the history", |s| {
        s.goto(&url);
        (s.js("return document.querySelectorAll('#history tbody tr').length;")
            .as_u64()
            .unwrap_or(0)
            >= 1)
            .then_some(())
    });
    assert_eq!(
        session.js("return document.contentType;"),
        "text/html",
        "served as HTML"
    );
    assert_eq!(
        session.text("[data-testid=sync-status]"),
        "OutOfSync",
        "{}",
        session.js("return document.body.innerText;")
    );
    let revision = session.text("[data-testid=revision]");
    assert!(
        revision.starts_with("digest:") || revision.len() >= 8,
        "revision {revision:?}"
    );
    let blocked = session.text("#blocked tbody");
    assert!(blocked.contains(GHOST), "{blocked}");
    assert!(
        blocked.contains("it is not in the observed state; install and approve it"),
        "{blocked}"
    );
    let graph = session.js("const s = document.querySelector('#graph svg'); \
         return s ? Array.from(s.querySelectorAll('text')).map(t => t.textContent) : null;");
    let labels: Vec<String> = serde_json::from_value(graph).expect("an SVG in the graph panel");
    for want in ["ms01", "gw001.dmz", "300 agents"] {
        assert!(
            labels.iter().any(|l| l.contains(want)),
            "{want} not in {labels:?}"
        );
    }
    let updated = session.text("[data-testid=updated]");

    // Half the agents move: the page, without being reloaded, shows the
    // wave with members in flight.
    let (second, _) = desired(true);
    std::fs::write(d.join("desired.yaml"), &second).unwrap();
    let stage = session.until(30, "a member in flight", |s| {
        let v = s.js("const r = document.querySelector('#in-flight tbody tr'); \
             return r ? [r.dataset.stage, r.textContent] : null;");
        serde_json::from_value::<Option<(String, String)>>(v).unwrap()
    });
    assert!(
        ["bridged", "acknowledged", "pending"].contains(&stage.0.as_str()),
        "{stage:?}"
    );
    assert!(stage.1.contains("fleet.contoso.local"), "{stage:?}");
    assert_eq!(session.text("[data-testid=sync-status]"), "Progressing");
    let wave = session.text("[data-testid=wave]");
    assert!(
        wave.contains("bridged →") && wave.contains("pruned"),
        "{wave}"
    );
    let refreshes: u64 = session
        .js("return Number(document.body.dataset.refreshes);")
        .as_u64()
        .unwrap();
    assert!(refreshes >= 1, "the page refreshed itself");
    assert_ne!(session.text("[data-testid=updated]"), updated);
    let moving = session.js(
        "return Array.from(document.querySelectorAll('#graph svg text')).map(t => t.textContent).join('|');",
    );
    assert!(moving.as_str().unwrap().contains("moving"), "{moving}");
    // The graph follows the wave: as members are pruned, the move boxes
    // count fewer agents (redrawn at most every 2 s, without a reload).
    let moving_total = |s: &Session| {
        s.js(
            "return Array.from(document.querySelectorAll('#graph svg text')) \
              .map(t => t.textContent).filter(t => t.includes('moving')) \
              .map(t => parseInt(t.replace(/,/g, ''), 10)).reduce((a, b) => a + b, 0);",
        )
        .as_u64()
        .unwrap_or(0)
    };
    let planned = session.js("return Number(document.querySelector('[data-testid=wave]').textContent.match(/of ([0-9,]+) moves/)[1].replace(/,/g, ''));")
        .as_u64()
        .unwrap();
    session.until(30, "the graph to count fewer agents moving", |s| {
        let now = moving_total(s);
        (now > 0 && now < planned).then_some(now)
    });

    let shot = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("status-page.png");
    session.screenshot(&shot);
    eprintln!("screenshot: {}", shot.display());

    // Everything the page loaded came from the listener.
    let resources = session.js("return performance.getEntriesByType('resource').map(r => r.name);");
    let resources: Vec<String> = serde_json::from_value(resources).unwrap();
    assert!(
        resources.iter().any(|r| r.ends_with("/page/page.js")),
        "{resources:?}"
    );
    for r in &resources {
        assert!(
            r.starts_with(&format!("http://{listen}/")),
            "off-origin request: {r}"
        );
    }

    // The listener goes away: the page keeps its last view and says so.
    let _ = reconcile.0.kill();
    let _ = reconcile.0.wait();
    session.until(15, "the unreachable indicator", |s| {
        s.text("[data-testid=connection]")
            .starts_with("Unreachable since")
            .then_some(())
    });
    assert!(
        session.text("#blocked").contains(GHOST),
        "the last view stays"
    );
}

/// chromedriver on a free port and a headless Chromium session in a
/// `width` × 2,000 window: (the driver, killed on drop; the session; its
/// profile directory, removed on drop).
fn start_session(
    chromium: &Path,
    chromedriver: &Path,
    width: u32,
) -> (Killed, Session, tempfile::TempDir) {
    let driver_addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let driver = Killed(
        Command::new(chromedriver)
            .arg(format!("--port={}", driver_addr.port()))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    while http(driver_addr, "GET", "/status", None).is_none_or(|(c, _)| c != 200) {
        assert!(Instant::now() < deadline, "chromedriver did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
    let profile = tempfile::tempdir().unwrap();
    let (code, text) = http(
        driver_addr,
        "POST",
        "/session",
        Some(&json!({ "capabilities": { "alwaysMatch": {
            "goog:chromeOptions": {
                "binary": chromium,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                    "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync",
                    "--disable-dev-shm-usage", format!("--window-size={width},2000"),
                    format!("--user-data-dir={}", profile.path().display()),
                ]
            }
        }}})),
    )
    .expect("chromedriver answers");
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(code, 200, "cannot start Chromium: {v}");
    let session = Session {
        driver: driver_addr,
        id: v["value"]["sessionId"].as_str().unwrap().to_string(),
    };
    (driver, session, profile)
}

/// Measures the topology picture in the page: every text's size in CSS
/// pixels as drawn (its computed font size times the SVG's scale in its
/// panel), the pairs of texts whose boxes overlap, and whether the page
/// scrolls sideways. `null` until the picture is there.
const READABILITY: &str = r#"
const svg = document.querySelector('#graph svg');
if (!svg) return null;
const drawn = svg.getBoundingClientRect();
const scale = drawn.width / svg.viewBox.baseVal.width;
const texts = Array.from(svg.querySelectorAll('text')).map(t => {
  const r = t.getBoundingClientRect();
  return { text: t.textContent, px: parseFloat(getComputedStyle(t).fontSize) * scale,
           l: r.left, t: r.top, r: r.right, b: r.bottom };
});
const small = texts.filter(t => t.px < 10).map(t => [t.text, t.px]);
const overlaps = [];
for (let i = 0; i < texts.length; i++) {
  for (let j = i + 1; j < texts.length; j++) {
    const a = texts[i], b = texts[j];
    if (a.l < b.r && b.l < a.r && a.t < b.b && b.t < a.b) overlaps.push([a.text, b.text]);
  }
}
return { texts: texts.map(t => t.text), smallest: Math.min(...texts.map(t => t.px)),
         small: small.slice(0, 10), overlaps: overlaps.slice(0, 10), scale: scale,
         sideways: document.documentElement.scrollWidth > window.innerWidth };
"#;

/// 100 gateways under 20 management servers, 20,000 agents; those on
/// gw001–gw050 move to gw051–gw100 (30 %): 50 move groups.
fn large_estate() -> (String, String) {
    let mut e = handover::synth::generate(&handover::synth::Spec {
        management_servers: 20,
        gateways: 100,
        agents: 20_000,
        moving: 0.3,
        seed: 7,
    });
    for (d, o) in e.desired.agents.iter_mut().zip(&e.observed.agents) {
        let n: usize = o.parents.primary.as_str()[2..5].parse().unwrap();
        if n > 50 {
            d.parents = o.parents.clone();
        }
    }
    (
        handover::synth::desired_yaml(&e.desired),
        handover::synth::observed_yaml(&e.observed),
    )
}

#[test]
fn the_topology_of_a_large_estate_is_readable_at_1280_px() {
    let Some((chromium, chromedriver)) = browser() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let (desired, observed) = large_estate();
    std::fs::write(d.join("desired.yaml"), desired).unwrap();
    std::fs::write(d.join("estate.yaml"), observed).unwrap();
    // Suspended: every pass observes and plans (the page draws the plan)
    // and applies nothing.
    std::fs::write(d.join("suspend"), "").unwrap();
    let listen: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let mut reconcile = Killed(
        Command::new(env!("CARGO_BIN_EXE_handover"))
            .current_dir(d)
            .args(["reconcile", "--desired", "desired.yaml"])
            .args(["--target", "sim:estate.yaml", "--suspend-file", "suspend"])
            .args(["--interval", "1h", "--listen", &listen.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    while http(listen, "GET", "/healthz", None).is_none() {
        assert!(Instant::now() < deadline, "the listener did not start");
        if let Some(st) = reconcile.0.try_wait().unwrap() {
            panic!("reconcile exited early: {st}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let (_driver, session, _profile) = start_session(&chromium, &chromedriver, 1_280);
    let url = format!("http://{listen}/");
    let seen = session.until(60, "the topology picture", |s| {
        s.goto(&url);
        let v = s.js(READABILITY);
        (!v.is_null()).then_some(v)
    });
    assert!(
        seen["smallest"].as_f64().unwrap() >= 10.0,
        "text smaller than 10 px: {seen}"
    );
    assert_eq!(seen["small"], json!([]), "{seen}");
    assert_eq!(seen["overlaps"], json!([]), "{seen}");
    assert_eq!(
        seen["sideways"],
        json!(false),
        "the page scrolls sideways: {seen}"
    );
    let texts: Vec<String> = serde_json::from_value(seen["texts"].clone()).unwrap();
    let all = texts.join("|");
    assert!(all.contains("100 gateways, 20,000 agents"), "{all}");
    assert!(all.contains("moving in 50 groups"), "{all}");
    assert!(all.contains("and 20 more moves"), "{all}");
    assert!(all.contains("names shortened: .contoso.local"), "{all}");
    let shot = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("status-page-large.png");
    session.screenshot(&shot);
    eprintln!("screenshot: {}", shot.display());
}

/// Reads the page's "Rollout" section; `null` until it shows a soak.
const ROLLOUT: &str = r#"
const q = id => document.querySelector(`[data-testid="${id}"]`);
if (!q('rollout') || !q('rollout-soak')) return null;
return { step: q('rollout-step').textContent,
         phase: q('rollout-phase').dataset.phase,
         soak: q('rollout-soak').textContent,
         verdict: q('rollout-analysis').dataset.verdict,
         sync: q('sync-status').dataset.sync };
"#;

#[test]
fn the_status_page_shows_the_rollout_step_soak_countdown_and_analysis() {
    let Some((chromium, chromedriver)) = browser() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/rollout-overload");
    let desired = std::fs::read_to_string(example.join("pause.yaml"))
        .unwrap()
        .replace("{members: 5, soak: 15m}", "{members: 5, soak: 1h}");
    std::fs::write(d.join("desired.yaml"), desired).unwrap();
    std::fs::copy(example.join("observed.yaml"), d.join("estate.yaml")).unwrap();
    let listen: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let mut reconcile = Killed(
        Command::new(env!("CARGO_BIN_EXE_handover"))
            .current_dir(d)
            .args(["reconcile", "--desired", "desired.yaml"])
            .args(["--target", "sim:estate.yaml"])
            .args(["--interval", "1s", "--listen", &listen.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    while http(listen, "GET", "/healthz", None).is_none() {
        assert!(Instant::now() < deadline, "the listener did not start");
        if let Some(st) = reconcile.0.try_wait().unwrap() {
            panic!("reconcile exited early: {st}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let (_driver, session, _profile) = start_session(&chromium, &chromedriver, 1_280);
    let url = format!("http://{listen}/");
    let seen = session.until(60, "the rollout's soak", |s| {
        s.goto(&url);
        let v = s.js(ROLLOUT);
        (!v.is_null()).then_some(v)
    });
    assert_eq!(seen["step"], "1 of 3", "{seen}");
    assert_eq!(seen["phase"], "soaking", "{seen}");
    assert_eq!(seen["verdict"], "passing", "{seen}");
    assert_eq!(seen["sync"], "Progressing", "{seen}");
    let soak = seen["soak"].as_str().unwrap();
    assert!(
        soak.contains(" left)") && (soak.contains("59m") || soak.contains("1h")),
        "a countdown of about an hour: {seen}"
    );
    // /status says the same for programs.
    let (_, body) = http(listen, "GET", "/status", None).unwrap();
    let status: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(status["rollout"]["phase"], "soaking", "{status}");
    assert_eq!(status["rollout"]["steps"], 3);
    assert!(
        status["rollout"]["soakUntil"]
            .as_str()
            .unwrap()
            .ends_with('Z')
    );
    let (_, metrics) = http(listen, "GET", "/metrics", None).unwrap();
    assert!(
        metrics.contains("handover_rollout_phase{phase=\"soaking\"} 1"),
        "{metrics}"
    );
}
/// The "Change window and approval" section (docs/gates.md): a closed
/// weeknight window (judged at a Saturday noon through `HANDOVER_NOW`) and
/// a plan above `policy.approval`, waiting. The page says both, with the
/// next opening and the digest to approve, and the badge reads
/// AwaitingApproval.
#[test]
fn the_page_shows_the_change_window_and_a_pending_approval() {
    let Some((chromium, chromedriver)) = browser() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    std::fs::write(
        d.join("desired.yaml"),
        "apiVersion: handover/v1
kind: Topology
managementServers: [{name: ms1.contoso.local}, {name: ms2.contoso.local}]
agentRules:
  - {match: \"*.contoso.local\", primary: ms2.contoso.local, failover: []}
policy:
  windows:
    - {kind: deny, schedule: \"0 9 * * 1-5\", duration: 8h, timeZone: Europe/Berlin}
  approval: {aboveMembers: 1}
",
    )
    .unwrap();
    std::fs::write(
        d.join("estate.yaml"),
        "apiVersion: handover/v1
kind: Observed
managementServers: [{name: ms1.contoso.local, up: true}, {name: ms2.contoso.local, up: true}]
agents:
  - {name: a1.contoso.local, primary: ms1.contoso.local, failover: [], connected: ms1.contoso.local}
  - {name: a2.contoso.local, primary: ms1.contoso.local, failover: [], connected: ms1.contoso.local}
",
    )
    .unwrap();
    let listen: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    // Tuesday 10:00 in Berlin: inside the office-hours deny window.
    let _reconcile = Killed(
        Command::new(env!("CARGO_BIN_EXE_handover"))
            .current_dir(d)
            .env("HANDOVER_NOW", "2026-12-08T10:00:00+01:00")
            .env("HANDOVER_LOCK_DIR", d.join("locks"))
            .args(["reconcile", "--desired", "desired.yaml"])
            .args(["--target", "sim:estate.yaml"])
            .args(["--interval", "1h", "--listen", &listen.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    while http(listen, "GET", "/healthz", None).is_none() {
        assert!(Instant::now() < deadline, "the listener did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
    let (_driver, session, _profile) = start_session(&chromium, &chromedriver, 1_280);
    let url = format!("http://{listen}/");
    let window = session.until(30, "the change window", |s| {
        s.goto(&url);
        let v = s.js(
            "const e = document.querySelector('[data-testid=window]'); return e ? [e.dataset.open, e.textContent] : null;",
        );
        (!v.is_null()).then_some(v)
    });
    assert_eq!(
        window,
        json!(["false", "closed, next opens 2026-12-08T16:00:00Z"]),
        "{window}"
    );
    let approval = session.js(
        "const e = document.querySelector('[data-testid=approval]'); return [e.dataset.awaiting, e.textContent];",
    );
    assert_eq!(approval[0], "true", "{approval}");
    let text = approval[1].as_str().unwrap();
    assert!(
        text.starts_with(
            "awaiting approval: 2 members would move; approve with handover approve fnv1a64:"
        ),
        "{text}"
    );
    assert!(
        session.text("title").contains("AwaitingApproval"),
        "{}",
        session.text("title")
    );
    let shot = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("status-page-gates.png");
    session.screenshot(&shot);
    eprintln!("screenshot: {}", shot.display());
}
