//! The forecast (issue 19) driven as a user would: `plan` and `simulate`
//! print it in text and JSON, `policy.cost` and `--cost` change its
//! figures (the flag wins), bad figures are refused with their place and
//! nothing is planned or applied, and `apply` compares what it took with
//! it in the summary and `--report`.

use assert_cmd::Command;
use serde_json::Value;
use std::path::{Path, PathBuf};

fn example(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("examples/topologies")
        .join(name)
}

fn handover() -> Command {
    Command::cargo_bin("handover").unwrap()
}

/// The replace-gateway example's desired topology with `policy.cost`
/// lines appended under its `policy:` block, written into `dir`.
fn with_cost(dir: &Path, cost: &str) -> PathBuf {
    let text = std::fs::read_to_string(example("replace-gateway").join("desired.yaml")).unwrap();
    assert!(
        text.contains("\npolicy:\n"),
        "the example has a policy block"
    );
    let text = text.replacen("\npolicy:\n", &format!("\npolicy:\n  cost:\n{cost}"), 1);
    let path = dir.join("desired.yaml");
    std::fs::write(&path, text).unwrap();
    path
}

fn run(cmd: &str, desired: &Path, extra: &[&str]) -> (i32, String, String) {
    let out = handover()
        .arg(cmd)
        .arg("--desired")
        .arg(desired)
        .arg("--observed")
        .arg(example("replace-gateway").join("observed.yaml"))
        .args(extra)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn json(cmd: &str, desired: &Path, extra: &[&str]) -> Value {
    let mut args = vec!["--format", "json"];
    args.extend_from_slice(extra);
    let (code, out, err) = run(cmd, desired, &args);
    assert!(code == 0, "{cmd}: {code}\n{err}");
    serde_json::from_str(&out).unwrap()
}

#[test]
fn plan_and_simulate_print_the_same_forecast_in_text_and_json() {
    let desired = example("replace-gateway").join("desired.yaml");
    let (code, text, _) = run("plan", &desired, &[]);
    assert_eq!(code, 0);
    assert!(
        text.contains("\nForecast against the real estate: about "),
        "{text}"
    );
    for part in [
        "waiting for members to learn their new parents:",
        "provider requests:",
        "observations:",
        "provider start-ups:",
        "Estimates, not measurements: --cost startup=5s,",
    ] {
        assert!(text.contains(part), "{part}\n{text}");
    }
    let p = json("plan", &desired, &[]);
    let s = json("simulate", &desired, &[]);
    assert_eq!(p["forecast"], s["forecast"], "one forecast of one plan");
    let f = &p["forecast"];
    let b = &f["breakdown"];
    let sum: f64 = ["propagation", "apply", "observe", "startup"]
        .iter()
        .map(|k| b[k].as_f64().unwrap())
        .sum();
    assert!(
        (sum - f["wall_seconds"].as_f64().unwrap()).abs() < 1e-6,
        "{f}"
    );
    assert_eq!(f["cost"]["propagation"], "5m", "the documented default");
    let (_, text, _) = run("simulate", &desired, &[]);
    assert!(
        text.contains("\nForecast against the real estate"),
        "{text}"
    );
}

#[test]
fn policy_cost_changes_the_figures_and_the_flag_wins() {
    let dir = tempfile::tempdir().unwrap();
    let desired = with_cost(
        dir.path(),
        "    propagation: 2m\n    batch: 10\n    startup: 250ms\n",
    );
    let f = &json("plan", &desired, &[])["forecast"];
    assert_eq!(f["cost"]["propagation"], "2m");
    assert_eq!(f["cost"]["batch"], 10);
    assert_eq!(f["cost"]["startup"], "250ms");
    let g = &json("plan", &desired, &["--cost", "batch=1,propagation=30s"])["forecast"];
    assert_eq!(g["cost"]["batch"], 1, "the flag wins");
    assert_eq!(g["cost"]["propagation"], "30s");
    assert_eq!(
        g["cost"]["startup"], "250ms",
        "what the flag leaves alone stays"
    );
    assert!(
        g["apply_calls"].as_u64() > f["apply_calls"].as_u64(),
        "one operation to a request needs more requests"
    );
}

#[test]
fn a_wrong_policy_cost_is_refused_at_its_place_and_nothing_is_planned() {
    let dir = tempfile::tempdir().unwrap();
    let desired = with_cost(dir.path(), "    propagation: 5\n    parallel: 0\n");
    for cmd in ["plan", "simulate"] {
        let (code, out, err) = run(cmd, &desired, &[]);
        assert_eq!(code, 1, "{cmd}: {err}");
        assert_eq!(out, "", "{cmd}: nothing planned or rehearsed");
        assert!(
            err.contains("policy.cost.propagation \"5\" is not a duration; expected a whole number followed by ms, s, m or h"),
            "{err}"
        );
        assert!(
            err.contains(
                "policy.cost.parallel \"0\" is not a count; expected a whole number of at least 1"
            ),
            "{err}"
        );
        assert!(err.contains("desired.yaml:"), "file:line:column: {err}");
    }
    let desired = with_cost(dir.path(), "    speed: 5s\n");
    let (code, _, err) = run("plan", &desired, &[]);
    assert_eq!(code, 1);
    assert!(err.contains("speed"), "{err}");
}

#[test]
fn a_wrong_cost_flag_is_refused_before_anything_runs() {
    let desired = example("replace-gateway").join("desired.yaml");
    for (flag, says) in [
        ("batch=0", "batch \"0\" is not a count"),
        ("startup=5", "startup \"5\" is not a duration"),
        ("warp=9", "--cost has no figure \"warp\""),
        ("startup", "expected key=value pairs"),
    ] {
        let (code, out, err) = run("simulate", &desired, &["--cost", flag]);
        assert_eq!(code, 1, "{flag}: {err}");
        assert_eq!(out, "", "{flag}");
        assert!(err.contains(says), "{flag}: {err}");
    }
}

#[test]
fn apply_compares_what_it_took_with_the_forecast() {
    let dir = tempfile::tempdir().unwrap();
    let sim = dir.path().join("sim.yaml");
    std::fs::copy(example("replace-gateway").join("observed.yaml"), &sim).unwrap();
    let report = dir.path().join("report.json");
    let out = handover()
        .args(["apply", "--auto-approve", "--desired"])
        .arg(example("replace-gateway").join("desired.yaml"))
        .arg("--target")
        .arg(format!("sim:{}", sim.display()))
        .arg("--report")
        .arg(&report)
        .env("HANDOVER_LOCK_DIR", dir.path().join("locks"))
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    let line = stdout
        .lines()
        .find(|l| l.starts_with("Took "))
        .unwrap_or_else(|| panic!("no comparison line:\n{stdout}"));
    assert!(line.contains("; forecast "), "{line}");
    assert!(
        line.contains("on the target's clock"),
        "virtual time: {line}"
    );
    let r: Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    let c = &r["forecast"];
    assert_eq!(
        c["actual"]["apply_calls"], r["execution"]["provider_calls"],
        "{c}"
    );
    assert_eq!(
        c["actual"]["clock_seconds"], r["execution"]["clock_seconds"],
        "{c}"
    );
    assert!(c["forecast"]["wall_seconds"].as_f64().unwrap() > 0.0, "{c}");
    assert!(line.contains(&format!(
        "Apply requests {} (forecast {})",
        c["actual"]["apply_calls"], c["forecast"]["apply_calls"]
    )));
}
