//! `handover simulate` driven as a user would: the seed hazard side by side
//! (direct strands, make-before-break does not), the example faults files,
//! byte-for-byte determinism with faults, JSON alone on stdout, the text
//! verdict, and input errors.

use assert_cmd::Command;
use serde_json::Value;
use std::path::PathBuf;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn simulate(example: &str, extra: &[&str]) -> Command {
    let d = root().join("examples/topologies").join(example);
    let mut c = Command::cargo_bin("handover").unwrap();
    c.arg("simulate")
        .arg("--desired")
        .arg(d.join("desired.yaml"))
        .arg("--observed")
        .arg(d.join("observed.yaml"))
        .args(extra);
    c
}

fn faults(file: &str) -> String {
    root()
        .join("examples/faults")
        .join(file)
        .display()
        .to_string()
}

/// Runs with `--format json`; returns the exit code and the object. Fails
/// when stdout holds anything but one JSON object and a newline.
fn json(example: &str, extra: &[&str]) -> (i32, Value) {
    let out = simulate(example, &[extra, &["--format", "json"]].concat())
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.ends_with("}\n"), "stdout: {text:?}");
    assert_eq!(text.lines().count(), 1, "stdout: {text:?}");
    let v: Value = serde_json::from_str(&text).unwrap();
    (out.status.code().unwrap(), v)
}

fn names(v: &Value, key: &str) -> Vec<String> {
    v[key]
        .as_array()
        .unwrap_or_else(|| panic!("{key} is a list: {v}"))
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

/// The twelve web agents report only to gw1, which the desired topology
/// drops: the console's way strands all of them.
fn web_agents() -> Vec<String> {
    (1..=12)
        .map(|i| format!("web{i:02}.dmz.contoso.local"))
        .collect()
}

#[test]
fn direct_strands_every_agent_whose_old_gateway_was_dropped() {
    let (code, v) = json("replace-gateway", &["--strategy", "direct"]);
    assert_eq!(code, 4, "{v}");
    assert_eq!(v["strategy"], "direct");
    assert_eq!(v["converged"], false);
    assert_eq!(names(&v, "stranded"), web_agents());
    assert_eq!(v["max_in_flight"], 0);
}

#[test]
fn make_before_break_strands_none_and_converges() {
    let (code, v) = json("replace-gateway", &["--strategy", "make-before-break"]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["strategy"], "make-before-break");
    assert_eq!(v["converged"], true);
    assert!(names(&v, "stranded").is_empty());
    assert!(names(&v, "pending").is_empty());
    assert!(names(&v, "blocked").is_empty());
    assert_eq!(v["moved"], 16);
    // policy.maxInFlight is 5 in this example.
    let max = v["max_in_flight"].as_u64().unwrap();
    assert!((1..=5).contains(&max), "{v}");
    assert!(v["virtual_seconds"].as_f64().unwrap() > 0.0);
}

#[test]
fn json_keys_are_in_spec_order() {
    let (_, v) = json("replace-gateway", &[]);
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(|k| k.as_str()).collect();
    // serde_json::Value sorts keys; check the raw text instead.
    assert_eq!(keys.len(), 13);
    let out = simulate("replace-gateway", &["--format", "json"])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let order = [
        "strategy",
        "converged",
        "stranded",
        "pending",
        "blocked",
        "moved",
        "max_in_flight",
        "steps_applied",
        "provider_calls",
        "virtual_seconds",
        "stranded_ever",
        "faults",
        "forecast",
    ];
    let at: Vec<usize> = order
        .iter()
        .map(|k| text.find(&format!("\"{k}\":")).unwrap())
        .collect();
    assert!(at.windows(2).all(|w| w[0] < w[1]), "{text}");
}

#[test]
fn the_same_seed_gives_the_same_json_byte_for_byte_with_faults() {
    let run = |seed: &str| {
        simulate(
            "replace-gateway",
            &[
                "--faults",
                &faults("flaky-provider.yaml"),
                "--seed",
                seed,
                "--format",
                "json",
            ],
        )
        .output()
        .unwrap()
    };
    let a = run("42");
    let b = run("42");
    assert_eq!(a.status.code(), Some(0));
    assert_eq!(a.stdout, b.stdout);
    // Another seed draws other errors and delays: the figures differ.
    let c = run("43");
    assert_ne!(a.stdout, c.stdout);
}

#[test]
fn a_gateway_outage_mid_migration_delays_but_strands_nobody() {
    let (code, v) = json(
        "replace-gateway",
        &["--faults", &faults("gateway-outage.yaml")],
    );
    assert_eq!(code, 0, "{v}");
    assert!(names(&v, "stranded").is_empty());
    // gw2 is down from 120 s to 900 s: the migration cannot end before.
    assert!(v["virtual_seconds"].as_f64().unwrap() > 900.0, "{v}");
    // The rehearsal lists the faults it injected, with their times.
    assert_eq!(
        v["faults"],
        serde_json::json!([
            {"at": 120.0, "fault": "down", "what": "gw2.dmz.contoso.local"},
            {"at": 900.0, "fault": "up", "what": "gw2.dmz.contoso.local"}
        ])
    );
    let out = simulate(
        "replace-gateway",
        &["--faults", &faults("gateway-outage.yaml")],
    )
    .output()
    .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("Faults injected (virtual time from the start):\n        2m  down gw2.dmz.contoso.local\n       15m  up gw2.dmz.contoso.local\n"),
        "{text}"
    );
    // A rehearsal without faults says nothing about them.
    let (_, v) = json("replace-gateway", &[]);
    assert_eq!(v["faults"], serde_json::json!([]));
    let (code, v) = json(
        "replace-gateway",
        &[
            "--faults",
            &faults("gateway-outage.yaml"),
            "--strategy",
            "direct",
        ],
    );
    assert_eq!(code, 4, "{v}");
}

#[test]
fn a_flaky_provider_and_an_offline_agent_are_retried_and_waited_for() {
    let (code, v) = json(
        "replace-gateway",
        &["--faults", &faults("flaky-provider.yaml"), "--seed", "7"],
    );
    assert_eq!(code, 0, "{v}");
    // web07 comes back online at 600 s and must connect to gw2 first.
    assert!(v["virtual_seconds"].as_f64().unwrap() > 600.0, "{v}");
    // With seed 7 one call fails transiently and is retried (a retry is a
    // provider call that is not a step).
    assert!(
        v["provider_calls"].as_u64().unwrap() > v["steps_applied"].as_u64().unwrap(),
        "{v}"
    );
}

#[test]
fn a_hung_agent_stays_in_its_bridge_and_is_reported_pending() {
    let (code, v) = json("replace-gateway", &["--faults", &faults("hung-agent.yaml")]);
    assert_eq!(code, 3, "{v}");
    assert_eq!(v["converged"], false);
    assert!(names(&v, "stranded").is_empty());
    // web09 stays in its bridge; gw1's retirement waits for web09, so it is
    // not done either and is reported pending too.
    assert_eq!(
        names(&v, "pending"),
        ["gw1.dmz.contoso.local", "web09.dmz.contoso.local"]
    );
}

#[test]
fn every_example_rehearses_safely_with_make_before_break() {
    for example in [
        "add-gateway-failover",
        "management-store-failover",
        "move-gateways-to-new-management-server",
        "replace-gateway",
    ] {
        let (code, v) = json(example, &[]);
        assert_eq!(code, 0, "{example}: {v}");
        assert!(names(&v, "stranded").is_empty(), "{example}: {v}");
    }
}

#[test]
fn gateways_moving_to_a_new_management_server_while_agents_move_onto_them() {
    // gw2 is connected to ms1 only; the console's way drops ms1 at once.
    let (code, v) = json(
        "move-gateways-to-new-management-server",
        &["--strategy", "direct"],
    );
    assert_eq!(code, 4, "{v}");
    assert_eq!(names(&v, "stranded"), ["gw2.emea.contoso.local"]);
    let (code, v) = json("move-gateways-to-new-management-server", &[]);
    assert_eq!(code, 0, "{v}");
    // policy.maxInFlight is 2.
    assert!(v["max_in_flight"].as_u64().unwrap() <= 2, "{v}");
}

#[test]
fn text_shows_waves_and_a_verdict() {
    let out = simulate("replace-gateway", &["--strategy", "direct"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("UNSAFE"), "{text}");
    assert!(text.contains("12 members stranded"), "{text}");
    let out = simulate("replace-gateway", &[]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("wave 1"), "{text}");
    assert!(text.contains("Converged"), "{text}");
}

#[test]
fn input_errors_exit_1_with_the_position_and_nothing_on_stdout() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("faults.yaml");
    std::fs::write(
        &bad,
        "faults:\n  - at: soon\n    down: gw1.dmz.contoso.local\n",
    )
    .unwrap();
    let out = simulate(
        "replace-gateway",
        &["--faults", bad.to_str().unwrap(), "--format", "json"],
    )
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("faults.yaml:2:"), "{err}");
    // A fault naming a host the observed state does not have.
    std::fs::write(&bad, "faults:\n  - down: gw9.dmz.contoso.local\n").unwrap();
    let out = simulate("replace-gateway", &["--faults", bad.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("gw9.dmz.contoso.local"), "{err}");
}

/// Both files load at once; a mistake in each is reported in one run.
#[test]
fn errors_in_both_files_are_reported_together() {
    let dir = tempfile::tempdir().unwrap();
    let desired = dir.path().join("desired.yaml");
    let observed = dir.path().join("observed.yaml");
    std::fs::write(
        &desired,
        "apiVersion: handover/v1\nkind: Topology\nmetadata:\n  name: t\nmanagementServers:\n  - name: ms_1\n",
    )
    .unwrap();
    std::fs::write(
        &observed,
        "apiVersion: handover/v1\nkind: Observed\nbogus: 1\n",
    )
    .unwrap();
    let out = Command::cargo_bin("handover")
        .unwrap()
        .args(["simulate", "--desired"])
        .arg(&desired)
        .arg("--observed")
        .arg(&observed)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("desired.yaml:6:"), "{err}");
    assert!(err.contains("ms_1"), "{err}");
    assert!(err.contains("observed.yaml:3:"), "{err}");
}

/// The text a person reads, for the seed hazard side by side and for a
/// hung agent (names and figures are deterministic for the default seed).
#[test]
fn text_snapshots() {
    let text = |extra: &[&str]| {
        let out = simulate("replace-gateway", extra).output().unwrap();
        assert!(
            out.stderr.is_empty(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        format!(
            "exit {}\n{}",
            out.status.code().unwrap(),
            String::from_utf8(out.stdout).unwrap()
        )
    };
    insta::assert_snapshot!("direct", text(&["--strategy", "direct"]));
    insta::assert_snapshot!("make_before_break", text(&[]));
    insta::assert_snapshot!(
        "hung_agent",
        text(&["--faults", &faults("hung-agent.yaml")])
    );
}

/// The test provider program (`tools/test-provider`): the simulator behind
/// the exec protocol, in a separate process.
const PROVIDER: &str = env!("CARGO_BIN_EXE_handover-test-provider");

/// Every file in `dir` with its bytes, to prove nothing was written.
fn files(dir: &std::path::Path) -> Vec<(String, Vec<u8>)> {
    let mut all: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let bytes = if e.path().is_file() {
                std::fs::read(e.path()).unwrap()
            } else {
                Vec::new()
            };
            (e.file_name().to_string_lossy().into_owned(), bytes)
        })
        .collect();
    all.sort();
    all
}

/// `simulate --desired` for replace-gateway with `source` and `extra`;
/// the exit code, stdout and stderr.
fn simulate_from(source: &[&str], extra: &[&str]) -> (i32, String, String) {
    let d = root().join("examples/topologies/replace-gateway/desired.yaml");
    let out = Command::cargo_bin("handover")
        .unwrap()
        .arg("simulate")
        .arg("--desired")
        .arg(d)
        .args(source)
        .args(extra)
        .output()
        .unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn a_sim_target_is_rehearsed_from_its_observation_and_left_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let estate = dir.path().join("estate.yaml");
    let observed = root().join("examples/topologies/replace-gateway/observed.yaml");
    std::fs::copy(&observed, &estate).unwrap();
    let before = files(dir.path());
    let from_file = simulate_from(
        &["--observed", observed.to_str().unwrap()],
        &["--format", "json", "--seed", "3"],
    );
    let target = format!("sim:{}", estate.display());
    let (code, out, err) =
        simulate_from(&["--target", &target], &["--format", "json", "--seed", "3"]);
    assert_eq!(code, 0, "{err}");
    // The same estate, so the same rehearsal byte for byte.
    assert_eq!(out, from_file.1);
    assert!(err.contains("read-only observation"), "{err}");
    assert!(err.contains("nothing is applied"), "{err}");
    // Text mode too: the rehearsal converges from the observation.
    let (code, text, _) = simulate_from(&["--target", &target], &[]);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("Converged"), "{text}");
    // No lock, no snapshot, no journal, not one byte of the file changed.
    assert_eq!(files(dir.path()), before);
}

#[test]
fn an_exec_target_is_observed_once_and_nothing_is_applied() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("provider.json");
    let observed = root().join("examples/topologies/replace-gateway/observed.yaml");
    let start = handover::load::observed(&observed).unwrap();
    std::fs::write(
        &state,
        serde_json::to_vec(&serde_json::json!({ "observed": start })).unwrap(),
    )
    .unwrap();
    let from_file = simulate_from(
        &["--observed", observed.to_str().unwrap()],
        &["--format", "json"],
    );
    let (code, out, err) = simulate_from(
        &[
            "--target",
            &format!("exec:{PROVIDER}"),
            "--target-arg",
            &format!("--state={}", state.display()),
            "--provider-timeout",
            "60s",
        ],
        &["--format", "json"],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, from_file.1);
    // The provider was asked to observe, once, and nothing else.
    let record: Value = serde_json::from_slice(&std::fs::read(&state).unwrap()).unwrap();
    assert_eq!(record["calls"], serde_json::json!(["observe"]), "{record}");
    assert!(
        record["applied"].as_array().is_none_or(|a| a.is_empty()),
        "{record}"
    );
    let now: handover::model::Observed =
        serde_json::from_value(record["observed"].clone()).unwrap();
    assert_eq!(now, start);
}

#[test]
fn a_target_that_cannot_be_observed_is_an_error_naming_it() {
    let (code, out, err) = simulate_from(
        &["--target", "exec:/nonexistent/scom-provider"],
        &["--format", "json"],
    );
    assert_eq!(code, 1, "{err}");
    assert!(out.is_empty(), "{out}");
    assert!(err.contains("/nonexistent/scom-provider"), "{err}");
}

#[test]
fn simulate_needs_exactly_one_of_observed_and_target() {
    let observed = root().join("examples/topologies/replace-gateway/observed.yaml");
    let o = observed.to_str().unwrap();
    let target = format!("sim:{o}");
    for source in [&[][..], &["--observed", o, "--target", &target][..]] {
        let (code, out, err) = simulate_from(source, &[]);
        assert_eq!(code, 1, "{source:?}: {err}");
        assert!(out.is_empty(), "{out}");
        assert!(
            err.contains("--observed") && err.contains("--target"),
            "{err}"
        );
    }
    // --target-arg and --provider-timeout belong to --target: refused, not
    // ignored, beside --observed.
    for extra in [
        &["--target-arg", "x"][..],
        &["--provider-timeout", "5s"][..],
    ] {
        let (code, out, err) = simulate_from(&[&["--observed", o][..], extra].concat(), &[]);
        assert_eq!(code, 1, "{extra:?}: {err}");
        assert!(out.is_empty(), "{out}");
        assert!(err.contains(extra[0]) && err.contains("--target"), "{err}");
    }
}

/// Issue 16's chain, written to a temporary directory: gwa → ms1, gwb →
/// gwa, gwc → gwb observed, one agent below each; gwa → gwc and gwc → ms2
/// desired, with ms2 down. Runs `simulate --format json` with `extra`.
fn chain_json(extra: &[&str]) -> (i32, Value) {
    json_of(
        "apiVersion: handover/v1\nkind: Topology\nmetadata: {name: chain}\nmanagementServers: [{name: ms1}, {name: ms2}]\ngateways:\n  - {name: gwa, primary: gwc}\n  - {name: gwb, primary: gwa}\n  - {name: gwc, primary: ms2}\nagents:\n  - {name: a1, primary: gwa}\n  - {name: a2, primary: gwb}\n  - {name: a3, primary: gwc}\n",
        "apiVersion: handover/v1\nkind: Observed\nmanagementServers: [{name: ms1, up: true}, {name: ms2, up: false}]\ngateways:\n  - {name: gwa, primary: ms1, connected: ms1}\n  - {name: gwb, primary: gwa, connected: gwa}\n  - {name: gwc, primary: gwb, connected: gwb}\nagents:\n  - {name: a1, primary: gwa, connected: gwa}\n  - {name: a2, primary: gwb, connected: gwb}\n  - {name: a3, primary: gwc, connected: gwc}\n",
        extra,
    )
}

/// Writes `desired` and `observed` to a temporary directory and runs
/// `simulate --format json` on them with `extra`.
fn json_of(desired_text: &str, observed_text: &str, extra: &[&str]) -> (i32, Value) {
    let dir = tempfile::tempdir().unwrap();
    let desired = dir.path().join("desired.yaml");
    let observed = dir.path().join("observed.yaml");
    std::fs::write(&desired, desired_text).unwrap();
    std::fs::write(&observed, observed_text).unwrap();
    let out = Command::cargo_bin("handover")
        .unwrap()
        .arg("simulate")
        .arg("--desired")
        .arg(&desired)
        .arg("--observed")
        .arg(&observed)
        .args(extra)
        .args(["--format", "json"])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let v: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text:?}"));
    (out.status.code().unwrap(), v)
}

#[test]
fn a_gateway_is_never_moved_into_a_loop_of_its_own_chain() {
    let (code, v) = chain_json(&[]);
    assert_eq!(code, 3, "{v}");
    assert!(names(&v, "stranded").is_empty(), "{v}");
    assert!(names(&v, "stranded_ever").is_empty(), "{v}");
    // gwc waits for ms2; gwa waits for gwc's chain: both blocked, once.
    assert_eq!(names(&v, "blocked"), ["gwa", "gwc"], "{v}");
    assert!(names(&v, "pending").is_empty(), "{v}");
}

#[test]
fn the_console_way_on_the_chain_strands_the_whole_subtree() {
    // The console writes gwa → gwc at once: the loop gwa → gwc → gwb → gwa
    // cuts the three gateways and their agents off every management server.
    let (code, v) = chain_json(&["--strategy", "direct"]);
    assert_eq!(code, 4, "{v}");
    assert_eq!(
        names(&v, "stranded"),
        ["a1", "a2", "a3", "gwa", "gwb", "gwc"],
        "{v}"
    );
    assert_eq!(names(&v, "stranded_ever"), names(&v, "stranded"));
}

#[test]
fn a_member_found_in_a_bridge_whose_new_primary_is_down_is_reported_once() {
    // a1 is in its bridge (gw2 first, gw1 kept) and gw2 is down: the plan
    // blocks it; it is reported blocked, not also pending.
    let (code, v) = json_of(
        "apiVersion: handover/v1\nkind: Topology\nmetadata: {name: b}\nmanagementServers: [{name: ms1}]\ngateways:\n  - {name: gw1, primary: ms1}\n  - {name: gw2, primary: ms1}\nagents:\n  - {name: a1, primary: gw2}\n",
        "apiVersion: handover/v1\nkind: Observed\nmanagementServers: [{name: ms1, up: true}]\ngateways:\n  - {name: gw1, primary: ms1, connected: ms1}\n  - {name: gw2, primary: ms1, connected: null, up: false}\nagents:\n  - {name: a1, primary: gw2, failover: [gw1], connected: gw1}\n",
        &[],
    );
    assert_eq!(code, 3, "{v}");
    assert_eq!(names(&v, "blocked"), ["a1"], "{v}");
    assert!(names(&v, "pending").is_empty(), "{v}");
    assert!(names(&v, "stranded").is_empty(), "{v}");
}
