//! `handover validate` end to end: every bad-input class of docs/spec.md section 2
//! gives exit 1 and `file:line:column: message` naming the offending value.

use assert_cmd::Command;
use std::path::Path;

fn handover() -> Command {
    Command::cargo_bin("handover").unwrap()
}

/// Runs `validate` on `text` saved as `t.yaml`; returns (exit code, stdout, stderr).
fn run(text: &str) -> (i32, String, String) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("t.yaml"), text).unwrap();
    run_in(dir.path(), &["t.yaml"])
}

fn run_in(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = handover()
        .current_dir(dir)
        .arg("validate")
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Asserts exit 1 and a stderr line starting `t.yaml:<at>:` holding every word.
fn fails_at(text: &str, at: &str, words: &[&str]) {
    let (code, out, err) = run(text);
    assert_eq!(code, 1, "stdout: {out}\nstderr: {err}");
    let prefix = format!("t.yaml:{at}: ");
    let line = err
        .lines()
        .find(|l| l.starts_with(&prefix))
        .unwrap_or_else(|| panic!("no line at {at} in:\n{err}"));
    for w in words {
        assert!(line.contains(w), "{w:?} missing from {line:?}");
    }
}

const HEAD: &str = "apiVersion: handover/v1\nkind: Topology\n";

fn topo(body: &str) -> String {
    format!("{HEAD}{body}")
}

const BASE: &str = "managementServers:
  - name: ms1.contoso.local
  - name: ms2.contoso.local
gateways:
  - name: gw1.contoso.local
    primary: ms1.contoso.local
    failover: [ms2.contoso.local]
";

#[test]
fn examples_pass() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let (code, out, err) = run_in(root, &["examples/topologies"]);
    assert_eq!(code, 0, "{err}");
    let examples = std::fs::read_dir(root.join("examples/topologies"))
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().is_dir())
        .count();
    assert_eq!(out.lines().count(), examples, "{out}");
    assert!(
        out.lines()
            .all(|l| l.starts_with("ok: examples/topologies/")),
        "{out}"
    );
    assert!(out.contains(
        "replace-gateway: topology 2 management servers, 2 gateways, 2 agents, 1 rule; observed"
    ));
}

#[test]
fn summary_uses_thousands_separators() {
    let spec = handover::synth::Spec::fleet(1200);
    let e = handover::synth::generate(&spec);
    let (code, out, err) = run(&handover::synth::desired_yaml(&e.desired));
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out.trim(),
        "ok: 2 management servers, 2 gateways, 1,200 agents, 0 rules"
    );
}

#[test]
fn api_version_and_kind() {
    fails_at(
        "apiVersion: handover/v2\nkind: Topology\n",
        "1:13",
        &["apiVersion", "handover/v2", "expected handover/v1"],
    );
    fails_at(
        "apiVersion: handover/v1\nkind: Topologie\n",
        "2:7",
        &["kind", "Topologie", "expected Topology"],
    );
}

#[test]
fn unknown_field() {
    fails_at(
        &topo("managementServers:\n  - name: ms1\n    colour: blue\n"),
        "5:5",
        &["unknown field", "colour", "name"],
    );
    fails_at(
        &topo(
            "managementStore:\n  pool: p1\n  disasterRecovery:\n    allowed: true\n    backupSql: x\n",
        ),
        "7:5",
        &["unknown field", "backupSql"],
    );
}

#[test]
fn duplicate_key() {
    fails_at(
        &topo("managementServers:\n  - name: ms1\n    name: ms2\n"),
        "5:5",
        &["duplicate", "name"],
    );
}

#[test]
fn wrong_type() {
    fails_at(
        &topo(&format!("{BASE}policy:\n  maxInFlight: lots\n")),
        "11:16",
        &["maxInFlight", "whole number"],
    );
    fails_at(
        &topo("managementServers: ms1\n"),
        "3:20",
        &["expected a list"],
    );
}

#[test]
fn host_name_syntax() {
    fails_at(
        &topo("managementServers:\n  - name: ms_1.contoso.local\n"),
        "4:11",
        &["ms_1.contoso.local", "not a host name", "'_'"],
    );
    let long = "x".repeat(64);
    fails_at(
        &topo(&format!("managementServers:\n  - name: {long}.local\n")),
        "4:11",
        &["not a host name", "64 characters", "at most 63"],
    );
    let total = vec!["a".repeat(60); 5].join(".");
    fails_at(
        &topo(&format!("managementServers:\n  - name: {total}\n")),
        "4:11",
        &["not a host name", "at most 253"],
    );
}

#[test]
fn names_are_case_insensitive_duplicates() {
    let t = topo(&format!(
        "{BASE}agents:\n  - name: web01\n    primary: gw1.contoso.local\n  - name: WEB01\n    primary: gw1.contoso.local\n"
    ));
    fails_at(&t, "13:11", &["WEB01", "defined twice", "t.yaml:11:11"]);
}

#[test]
fn name_defined_in_two_files_names_both() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("prod")).unwrap();
    std::fs::write(dir.path().join("prod/a.yaml"), topo(BASE)).unwrap();
    std::fs::write(
        dir.path().join("prod/b.yml"),
        topo("gateways:\n  - name: GW1.contoso.local\n    primary: ms2.contoso.local\n"),
    )
    .unwrap();
    let (code, _, err) = run_in(dir.path(), &["prod"]);
    assert_eq!(code, 1);
    let line = err
        .lines()
        .find(|l| l.contains("defined twice"))
        .expect(&err);
    assert!(line.starts_with("prod/b.yml:4:11: "), "{line}");
    assert!(line.contains("prod/a.yaml:7:11"), "{line}");
}

#[test]
fn undefined_parent() {
    fails_at(
        &topo(&format!(
            "{BASE}agents:\n  - name: web01\n    primary: gw9.contoso.local\n"
        )),
        "12:14",
        &[
            "web01",
            "gw9.contoso.local",
            "not defined as a management server or gateway",
        ],
    );
}

#[test]
fn primary_in_own_failover_and_repeated_failover() {
    fails_at(
        &topo(&format!(
            "{BASE}agents:\n  - name: web01\n    primary: gw1.contoso.local\n    failover: [ms1.contoso.local, GW1.contoso.local]\n"
        )),
        "13:35",
        &["web01", "primary", "GW1.contoso.local", "own failover list"],
    );
    fails_at(
        &topo(&format!(
            "{BASE}agents:\n  - name: web01\n    primary: gw1.contoso.local\n    failover: [ms1.contoso.local, ms1.contoso.local]\n"
        )),
        "13:35",
        &["web01", "ms1.contoso.local", "listed twice"],
    );
}

#[test]
fn gateway_cycle_is_named() {
    let t = topo(
        "managementServers:\n  - name: ms1\ngateways:\n  - name: gw1\n    primary: gw2\n  - name: gw2\n    primary: gw3\n  - name: gw3\n    primary: gw1\n",
    );
    fails_at(&t, "6:11", &["cycle", "gw1 -> gw2 -> gw3 -> gw1"]);
}

#[test]
fn capacity_names_server_and_count() {
    let mut t = topo(&format!("{BASE}agents:\n"));
    for i in 0..3 {
        t.push_str(&format!("  - name: a{i}\n    primary: gw1.contoso.local\n"));
    }
    t.push_str("policy:\n  capacity:\n    gateway: 2\n");
    fails_at(
        &t,
        "7:11",
        &["gw1.contoso.local", "3 agents", "capacity.gateway is 2"],
    );
}

#[test]
fn policy_values() {
    fails_at(
        &topo(&format!("{BASE}policy:\n  maxInFlight: 0\n")),
        "11:16",
        &["maxInFlight", "0", "at least 1"],
    );
    fails_at(
        &topo(&format!("{BASE}policy:\n  ackTimeout: 1.5h\n")),
        "11:15",
        &["ackTimeout", "1.5h", "30s, 15m or 2h"],
    );
    fails_at(
        &topo(&format!("{BASE}policy:\n  ackTimeout: 10d\n")),
        "11:15",
        &["10d", "duration"],
    );
}

#[test]
fn agent_rules() {
    fails_at(
        &topo(&format!(
            "{BASE}agentRules:\n  - match: \"web[01\"\n    primary: gw1.contoso.local\n"
        )),
        "11:12",
        &["web[01", "not a valid glob"],
    );
    // A rule's problem is at the field that has it, not at its match.
    fails_at(
        &topo(&format!(
            "{BASE}agentRules:\n  - match: \"*\"\n    primary: gw1.contoso.local\n    spread: [ms1.contoso.local]\n"
        )),
        "13:13",
        &["both primary and spread"],
    );
    fails_at(
        &topo(&format!("{BASE}agentRules:\n  - match: \"*\"\n")),
        "11:12",
        &["neither primary nor spread"],
    );
    fails_at(
        &topo(&format!(
            "{BASE}agentRules:\n  - match: \"*\"\n    spread: []\n"
        )),
        "12:13",
        &["spread pool is empty"],
    );
    fails_at(
        &topo(&format!(
            "{BASE}agentRules:\n  - match: \"*\"\n    spread: [gw1.contoso.local, ms1.contoso.local]\n    failoverCount: 2\n"
        )),
        "13:20",
        &["failoverCount is 2", "2 member", "at most 1"],
    );
    fails_at(
        &topo(&format!(
            "{BASE}agentRules:\n  - match: \"*\"\n    spread: [gw1.contoso.local, gw7.contoso.local]\n"
        )),
        "12:33",
        &[
            "gw7.contoso.local",
            "not defined as a management server or gateway",
        ],
    );
}

#[test]
fn every_semantic_error_in_one_run() {
    let t = topo(&format!(
        "{BASE}agents:\n  - name: a1\n    primary: gw8\n  - name: a2\n    primary: gw9\n  - name: a3\n    primary: gw1.contoso.local\n    failover: [gw1.contoso.local]\npolicy:\n  maxInFlight: 0\n"
    ));
    let (code, _, err) = run(&t);
    assert_eq!(code, 1);
    for at in [
        "t.yaml:12:14:",
        "t.yaml:14:14:",
        "t.yaml:17:16:",
        "t.yaml:19:16:",
    ] {
        assert!(
            err.lines().any(|l| l.starts_with(at)),
            "{at} missing in:\n{err}"
        );
    }
    // Sorted by position.
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 4, "{err}");
}

const OBS_HEAD: &str =
    "apiVersion: handover/v1\nkind: Observed\nmanagementServers:\n  - name: ms1\n    up: true\n";

#[test]
fn observed_checks() {
    fails_at(
        &format!("{OBS_HEAD}agents:\n  - name: web01\n    primary: gw1\n    connected: gw1\n"),
        "8:14",
        &[
            "agent web01",
            "gw1",
            "not an observed management server or gateway",
        ],
    );
    fails_at(
        &format!("{OBS_HEAD}agents:\n  - name: web01\n    primary: ms1\n    connected: 'gw 1'\n"),
        "9:16",
        &["connected", "gw 1", "not a host name"],
    );
    fails_at(
        &format!("{OBS_HEAD}agents:\n  - name: web01\n    primary: ms1\n    colour: red\n"),
        "9:5",
        &["unknown field", "colour"],
    );
    fails_at(
        &format!("{OBS_HEAD}  - name: MS1\n"),
        "6:11",
        &["MS1", "defined twice"],
    );
    // A connected parent that is not listed is drift, not an error.
    let (code, out, err) = run(&format!(
        "{OBS_HEAD}  - name: ms2\nagents:\n  - name: web01\n    primary: ms1\n    connected: ms2\n"
    ));
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out.trim(),
        "ok: observed 2 management servers, 0 gateways, 1 agent"
    );
}

#[test]
fn observed_json_is_accepted() {
    let json = r#"{"apiVersion": "handover/v1", "kind": "Observed",
 "managementServers": [{"name": "ms1", "up": true}],
 "agents": [{"name": "web01", "primary": "ms1", "failover": [], "connected": null}]}"#;
    let (code, out, err) = run(json);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("observed 1 management server, 0 gateways, 1 agent"),
        "{out}"
    );
    let bad = json.replace("\"ms1\", \"failover\"", "\"ms9\", \"failover\"");
    fails_at(&bad, "3:42", &["ms9", "not an observed management server"]);
}

#[test]
fn plan_inputs_of_the_wrong_kind_say_so() {
    // load::topology on an Observed file (as `plan --desired` would do).
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let o = root.join("examples/topologies/replace-gateway/observed.yaml");
    let e = handover::load::topology(&[o]).unwrap_err().to_string();
    assert!(
        e.contains("observed.yaml:4:7: this is an Observed document; expected kind: Topology here"),
        "{e}"
    );
}

/// Every stderr line of a run, for tests that check them all.
fn stderr_lines(text: &str) -> (i32, String, Vec<String>) {
    let (code, out, err) = run(text);
    (code, out, err.lines().map(str::to_string).collect())
}

#[test]
fn rule_errors_point_at_their_field() {
    let rules = "agentRules:
  - match: \"*.a.contoso.local\"
    primary: gw9.contoso.local
    failover: [ms1.contoso.local, gw8.contoso.local]
  - match: \"*.b.contoso.local\"
    spread:
      - gw1.contoso.local
      - gw1.contoso.local
    failoverCount: 1
  - match: \"*.c.contoso.local\"
    spread:
";
    let (code, _, err) = stderr_lines(&topo(&format!("{BASE}{rules}")));
    assert_eq!(code, 1);
    let at: Vec<&str> = err.iter().map(|l| l.split(": ").next().unwrap()).collect();
    // primary (12), the second failover (13), the repeated pool member
    // (17), and the empty spread (20); never a rule's match line (11, 14, 19).
    assert_eq!(
        at,
        [
            "t.yaml:12:14",
            "t.yaml:13:35",
            "t.yaml:17:9",
            "t.yaml:20:11"
        ],
        "{err:#?}"
    );
    assert!(err[0].contains("primary gw9.contoso.local is not defined"));
    assert!(err[1].contains("failover gw8.contoso.local is not defined"));
    assert!(err[2].contains("spread pool lists gw1.contoso.local twice"));
    assert!(err[3].contains("spread pool is empty"));
}

#[test]
fn every_unknown_field_in_one_run_with_the_nearest_name() {
    let t = topo(
        "metadata:
  name: prod
  colour: blue
managementServers:
  - name: ms1
    nmae: ms2
gateways:
  - name: gw1
    primary: ms1
    faliover: [ms1]
  - name: gw2
    primary: ms1
    connected: ms1
agents:
  - name: a1
    primary: gw9
policy:
  maxInFlite: 5
  capacity:
    gateways: 10
",
    );
    let (code, _, err) = stderr_lines(&t);
    assert_eq!(code, 1);
    let expect = [
        (
            "t.yaml:5:3:",
            &["\"colour\"", "metadata", "expected name"][..],
        ),
        ("t.yaml:8:5:", &["\"nmae\"", "did you mean name?"]),
        (
            "t.yaml:12:5:",
            &[
                "\"faliover\"",
                "did you mean failover?",
                "name, primary and failover",
            ],
        ),
        (
            "t.yaml:15:5:",
            &["\"connected\"", "belongs to kind: Observed"],
        ),
        // Unknown fields do not hide the other problems of the file.
        ("t.yaml:18:14:", &["agent a1", "gw9", "not defined"]),
        (
            "t.yaml:20:3:",
            &["\"maxInFlite\"", "policy", "did you mean maxInFlight?"],
        ),
        (
            "t.yaml:22:5:",
            &["\"gateways\"", "policy.capacity", "did you mean gateway?"],
        ),
    ];
    assert_eq!(err.len(), expect.len(), "{err:#?}");
    for (line, (at, words)) in err.iter().zip(expect) {
        assert!(line.starts_with(at), "{at} expected, got {line}");
        for w in words {
            assert!(line.contains(w), "{w:?} missing from {line:?}");
        }
    }
}

#[test]
fn unknown_fields_of_an_observed_state_and_of_json_all_count() {
    let (code, _, err) = stderr_lines(&format!(
        "{OBS_HEAD}    colour: red\nagents:\n  - name: web01\n    primary: ms1\n    conected: ms1\nmanagementStore:\n  activePol: p1\n"
    ));
    assert_eq!(code, 1);
    assert_eq!(err.len(), 3, "{err:#?}");
    assert!(err[0].starts_with("t.yaml:6:5: unknown field \"colour\""));
    assert!(err[1].starts_with("t.yaml:10:5: unknown field \"conected\""));
    assert!(err[1].contains("did you mean connected?"));
    assert!(err[2].starts_with("t.yaml:12:3: unknown field \"activePol\""));
    let json = r#"{"apiVersion": "handover/v1", "kind": "Observed", "colour": 1,
 "managementServers": [{"name": "ms1", "upp": true}]}"#;
    let (code, _, err) = stderr_lines(json);
    assert_eq!(code, 1);
    assert_eq!(err.len(), 2, "{err:#?}");
    assert!(
        err[0].starts_with("t.yaml:1:51: unknown field \"colour\""),
        "{err:#?}"
    );
    assert!(
        err[1].starts_with("t.yaml:2:40: unknown field \"upp\""),
        "{err:#?}"
    );
}

#[test]
fn a_flood_of_unknown_fields_is_cut_short() {
    let mut t = topo("managementServers:\n  - name: ms1\n");
    for i in 0..250 {
        t.push_str(&format!("    extra{i}: x\n"));
    }
    let (code, _, err) = stderr_lines(&t);
    assert_eq!(code, 1);
    assert_eq!(err.len(), 101, "{}", err.len());
    assert!(
        err[100].starts_with("t.yaml:105:5: 150 more unknown fields"),
        "{}",
        err[100]
    );
}

#[test]
fn api_version_and_kind_come_first_whatever_else_is_wrong() {
    // With unknown fields and semantic errors before them in the file.
    let (code, _, err) = stderr_lines(
        "managementServers:\n  - name: ms1\n    colour: red\nagents:\n  - name: a1\n    primary: gw9\napiVersion: handover/v2\nkind: Topology\n",
    );
    assert_eq!(code, 1);
    assert!(
        err[0].starts_with("t.yaml:7:13: apiVersion is \"handover/v2\"; expected handover/v1"),
        "{err:#?}"
    );
    assert_eq!(err.len(), 3, "{err:#?}");
    // With a value the parser refuses: the header is still checked.
    let (code, _, err) =
        stderr_lines("apiVersion: handover/v2\nkind: Topology\npolicy:\n  maxInFlight: lots\n");
    assert_eq!(code, 1);
    assert!(
        err[0].starts_with("t.yaml:1:13: apiVersion is \"handover/v2\""),
        "{err:#?}"
    );
    assert!(err[1].starts_with("t.yaml:4:16: maxInFlight"), "{err:#?}");
    // With a syntax error: from the header lines alone.
    let (code, _, err) =
        stderr_lines("policy:\n  maxInFlight: [\nkind: Topologie\napiVersion: handover/v1\n");
    assert_eq!(code, 1);
    assert!(
        err[0].starts_with("t.yaml:3:7: kind is \"Topologie\"; expected Topology"),
        "{err:#?}"
    );
    assert!(err.len() >= 2, "{err:#?}");
}

#[test]
fn empty_keys_are_empty_lists() {
    let (code, out, err) = run(&topo(
        "managementServers:\n  - name: ms1\ngateways:\n  - name: gw1\n    primary: ms1\n    failover:\nagents:\nagentRules:\n  - match: \"*\"\n    primary: gw1\n    failover:\n",
    ));
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out.trim(),
        "ok: 1 management server, 1 gateway, 0 agents, 1 rule"
    );
    let (code, out, err) = run(
        "apiVersion: handover/v1\nkind: Observed\nmanagementServers:\ngateways:\nagents:\nmanagementStore:\n  activePool:\n  pools:\n",
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out.trim(),
        "ok: observed 0 management servers, 0 gateways, 0 agents, 0 store pools"
    );
    let (code, _, err) = run(
        "apiVersion: handover/v1\nkind: Observed\nmanagementServers:\n  - name: ms1\nagents:\n  - name: a1\n    primary: ms1\n    failover:\n",
    );
    assert_eq!(code, 0, "{err}");
    // An empty spread is an empty pool, said at the spread.
    fails_at(
        &topo(&format!(
            "{BASE}agentRules:\n  - match: \"*\"\n    spread:\n"
        )),
        "12:11",
        &["spread pool is empty"],
    );
}

#[test]
fn a_rule_covered_by_an_earlier_one_is_a_warning() {
    let t = topo(&format!(
        "{BASE}agentRules:
  - match: \"*.contoso.local\"
    primary: gw1.contoso.local
  - match: \"web*.DMZ.contoso.local\"
    primary: ms2.contoso.local
  - match: \"*.fabrikam.local\"
    primary: ms2.contoso.local
  - match: \"web[0-9].fabrikam.local\"
    primary: ms1.contoso.local
"
    ));
    let (code, out, err) = run(&t);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out.trim(),
        "ok: 2 management servers, 1 gateway, 0 agents, 4 rules"
    );
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 2, "{err}");
    assert!(
        lines[0].starts_with(
            "t.yaml:13:12: warning: agentRules \"web*.DMZ.contoso.local\" can never match: the earlier rule \"*.contoso.local\" at t.yaml:11:12"
        ),
        "{err}"
    );
    assert!(
        lines[1].starts_with("t.yaml:17:12: warning: agentRules \"web[0-9].fabrikam.local\""),
        "{err}"
    );
    // The narrower rule first is fine.
    let fine = topo(&format!(
        "{BASE}agentRules:
  - match: \"web*.DMZ.contoso.local\"
    primary: ms2.contoso.local
  - match: \"*.contoso.local\"
    primary: gw1.contoso.local
"
    ));
    let (code, _, err) = run(&fine);
    assert_eq!(code, 0, "{err}");
    assert_eq!(err, "");
}

#[test]
fn observed_primary_among_its_failovers() {
    fails_at(
        &format!(
            "{OBS_HEAD}  - name: ms2\nagents:\n  - name: web01\n    primary: ms1\n    failover: [ms2, MS1]\n"
        ),
        "10:21",
        &[
            "agent web01",
            "primary MS1",
            "repeated in its own failover list",
        ],
    );
    fails_at(
        &format!("{OBS_HEAD}gateways:\n  - name: gw1\n    primary: gw1\n"),
        "8:14",
        &["gateway gw1", "itself"],
    );
}

/// A `sim:` target whose file was edited by hand into an invalid state:
/// `plan` and `apply` say where, exit 1, and change no file.
#[test]
fn an_invalid_hand_edit_of_a_sim_file_is_reported_and_kept() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/topologies/replace-gateway");
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(root.join("observed.yaml"), dir.path().join("state.yaml")).unwrap();
    std::fs::copy(root.join("desired.yaml"), dir.path().join("desired.yaml")).unwrap();
    let cmd = |args: &[&str]| {
        let out = handover()
            .current_dir(dir.path())
            .args(args)
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let apply = [
        "apply",
        "--desired",
        "desired.yaml",
        "--target",
        "sim:state.yaml",
        "--auto-approve",
    ];
    let (code, err) = cmd(&apply);
    assert_eq!(code, 0, "{err}");
    let state = dir.path().join("state.yaml");
    let text = std::fs::read_to_string(&state).unwrap();
    let start = text.find("  - name: sql01.dmz.contoso.local").unwrap();
    let line = text[..start].lines().count() + 3;
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    assert!(
        lines[line - 1].starts_with("    failover: ["),
        "{}",
        lines[line - 1]
    );
    let primary = lines[line - 2]
        .trim()
        .strip_prefix("primary: ")
        .unwrap()
        .to_string();
    lines[line - 1] = format!("    failover: [{primary}]");
    std::fs::write(&state, lines.join("\n") + "\n").unwrap();
    let files = || {
        ["state.yaml", "state.yaml.sim.json", "state.yaml.sim.log"]
            .map(|f| std::fs::read(dir.path().join(f)).unwrap())
    };
    let before = files();
    let at = format!(
        "state.yaml:{line}:16: agent sql01.dmz.contoso.local: primary {primary} is repeated in its own failover list"
    );
    let plan = [
        "plan",
        "--desired",
        "desired.yaml",
        "--target",
        "sim:state.yaml",
    ];
    for args in [&plan[..], &apply[..]] {
        let (code, err) = cmd(args);
        assert_eq!(code, 1, "{args:?}: {err}");
        assert!(err.contains(&at), "{args:?}: {err}");
        assert!(err.contains("this hand edit is not valid"), "{err}");
        assert_eq!(files(), before, "{args:?} changed a file");
    }
}

#[test]
fn disaster_recovery_needs_a_backup_sql_server_and_excludes_restore() {
    // Allowed without a backup SQL server: an error at `allowed`, not a
    // plan that blocks and exits 0.
    fails_at(
        &topo(
            "managementStore:\n  pool: pool2.contoso.local\n  disasterRecovery:\n    allowed: true\n    backupSqlInstance: RTC\n",
        ),
        "6:14",
        &[
            "names no backupSqlServer",
            "-BackupSqlServerFqdn",
            "add backupSqlServer",
        ],
    );
    // restore with disaster recovery allowed: an error at `restore`.
    fails_at(
        &topo(
            "managementStore:\n  pool: pool2.contoso.local\n  restore: true\n  disasterRecovery:\n    allowed: true\n    backupSqlServer: sql2.contoso.local\n",
        ),
        "5:12",
        &[
            "managementStore.restore: true cannot be combined with disasterRecovery.allowed: true",
            "no -Restore in its disaster-recovery parameter set",
            "set disasterRecovery.allowed: false",
        ],
    );
    // Both at once: both reported, in one run.
    let (code, _, err) = run(&topo(
        "managementStore:\n  pool: pool2.contoso.local\n  restore: true\n  disasterRecovery: {allowed: true}\n",
    ));
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("names no backupSqlServer"), "{err}");
    assert!(err.contains("cannot be combined"), "{err}");
    // What stays valid: restore with disaster recovery not allowed, and
    // disaster recovery allowed with a backup SQL server.
    for ok in [
        "managementStore:\n  pool: pool2.contoso.local\n  restore: true\n  disasterRecovery:\n    allowed: false\n",
        "managementStore:\n  pool: pool2.contoso.local\n  disasterRecovery:\n    allowed: false\n",
        "managementStore:\n  pool: pool2.contoso.local\n  disasterRecovery:\n    allowed: true\n    backupSqlServer: sql2.contoso.local\n",
    ] {
        let (code, out, err) = run(&topo(ok));
        assert_eq!(code, 0, "{ok}\nstdout: {out}\nstderr: {err}");
    }
}

#[test]
fn store_timeout_is_a_duration() {
    fails_at(
        &topo("policy:\n  storeTimeout: 30d\n"),
        "4:17",
        &["storeTimeout \"30d\" is not a duration", "30m"],
    );
    fails_at(
        &topo("policy:\n  storeTimeout: 0m\n"),
        "4:17",
        &["storeTimeout \"0m\"", "above 0"],
    );
    let (code, out, err) = run(&topo("policy:\n  storeTimeout: 2h\n"));
    assert_eq!(code, 0, "stdout: {out}\nstderr: {err}");
}

#[test]
fn poll_policy_is_two_durations_max_not_below_interval() {
    fails_at(
        &topo("policy:\n  poll:\n    interval: 15\n"),
        "5:15",
        &["poll.interval \"15\" is not a duration", "15s"],
    );
    fails_at(
        &topo("policy:\n  poll:\n    interval: 1m\n    max: 30s\n"),
        "6:10",
        &["poll.max (30s) is shorter than poll.interval (60s)"],
    );
    fails_at(
        &topo("policy:\n  poll:\n    every: 1m\n"),
        "5:5",
        &["every"],
    );
    let (code, out, err) = run(&topo("policy:\n  poll:\n    interval: 10s\n    max: 5m\n"));
    assert_eq!(code, 0, "stdout: {out}\nstderr: {err}");
}

/// `validate --format json`: one object on stdout, nothing on stderr, the
/// same exit code; problems and warnings with their places.
#[test]
fn json_format_gives_one_object_with_every_problem_and_nothing_on_stderr() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("t.yaml"),
        topo("managementServers:\n  - name: ms1\nagents:\n  - name: a1\n    primary: gw9\n"),
    )
    .unwrap();
    let (code, out, err) = run_in(dir.path(), &["--format", "json", "t.yaml"]);
    assert_eq!(code, 1);
    assert_eq!(err, "", "nothing on stderr in JSON mode");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["valid"], false);
    assert_eq!(v["units"].as_array().unwrap().len(), 0);
    let p = &v["problems"][0];
    assert_eq!(p["file"], "t.yaml");
    assert_eq!(p["line"], 7, "{p}");
    assert!(p["message"].as_str().unwrap().contains("gw9"), "{p}");

    // A valid topology with a rule an earlier rule covers: valid, with its
    // counts and the warning.
    std::fs::write(
        dir.path().join("t.yaml"),
        topo("managementServers:\n  - name: ms1\nagentRules:\n  - match: \"*.contoso.local\"\n    primary: ms1\n  - match: \"*.dmz.contoso.local\"\n    primary: ms1\n"),
    )
    .unwrap();
    let (code, out, err) = run_in(dir.path(), &["--format", "json", "t.yaml"]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(err, "");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["valid"], true);
    assert_eq!(v["units"][0]["topology"]["rules"], 2);
    assert_eq!(v["units"][0]["topology"]["management_servers"], 1);
    assert_eq!(v["problems"].as_array().unwrap().len(), 0);
    assert_eq!(v["warnings"][0]["line"], 8, "{v}");
}
