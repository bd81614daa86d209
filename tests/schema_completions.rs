//! `handover schema` and `handover completions` end to end.

use assert_cmd::Command;
use serde_json::Value;

fn stdout(args: &[&str]) -> String {
    let out = Command::cargo_bin("handover")
        .unwrap()
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn schema_describes_the_topology_file() {
    let s: Value = serde_json::from_str(&stdout(&["schema"])).unwrap();
    assert_eq!(s["$schema"], "https://json-schema.org/draft/2020-12/schema");
    assert_eq!(s["required"], serde_json::json!(["apiVersion", "kind"]));
    assert_eq!(s["additionalProperties"], false);
    assert_eq!(
        s["$defs"]["PolicyDoc"]["properties"]["maxInFlight"]["minimum"],
        1
    );
    assert_eq!(
        s["$defs"]["RuleDoc"]["required"],
        serde_json::json!(["match"])
    );
    // Every top-level key used by the examples is a property of the schema.
    let props = s["properties"].as_object().unwrap();
    for key in [
        "apiVersion",
        "kind",
        "metadata",
        "managementServers",
        "gateways",
        "agents",
        "agentRules",
        "managementStore",
        "policy",
    ] {
        assert!(props.contains_key(key), "{key}");
    }
    let pattern = s["$defs"]["HostName"]["pattern"].as_str().unwrap();
    assert!(pattern.contains("{0,61}"), "{pattern}");
}

#[test]
fn schema_for_observed() {
    let s: Value = serde_json::from_str(&stdout(&["schema", "--kind", "observed"])).unwrap();
    assert_eq!(s["title"], "handover Observed");
    assert!(s["properties"]["managementStore"].is_object());
}

#[test]
fn completions_for_each_shell() {
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let out = stdout(&["completions", shell]);
        assert!(out.contains("handover"), "{shell}");
        assert!(
            out.contains("validate") && out.contains("schema"),
            "{shell}"
        );
    }
    let bad = Command::cargo_bin("handover")
        .unwrap()
        .args(["completions", "tcsh"])
        .output()
        .unwrap();
    assert!(!bad.status.success());
}

/// SCOM administrators work in PowerShell: the script registers a native
/// completer for `handover` and completes every subcommand's own flags.
#[test]
fn completions_for_powershell_register_a_native_completer() {
    let out = stdout(&["completions", "powershell"]);
    assert!(
        out.contains("Register-ArgumentCompleter -Native -CommandName 'handover'"),
        "{out}"
    );
    // One case per subcommand, each offering that subcommand's flags.
    for (case, flag) in [
        ("'handover;plan'", "'--detailed-exitcode'"),
        ("'handover;apply'", "'--auto-approve'"),
        ("'handover;simulate'", "'--faults'"),
        ("'handover;reconcile'", "'--interval'"),
        ("'handover;export'", "'--as-topology'"),
    ] {
        let start = out
            .find(&format!("{case} {{"))
            .unwrap_or_else(|| panic!("no case {case}"));
        let body = &out[start..];
        let body = &body[..body.find("break").expect("each case ends with break")];
        assert!(body.contains(flag), "{case} lacks {flag}: {body}");
    }
    // The top-level case offers every subcommand.
    for sub in ["validate", "plan", "simulate", "apply", "completions"] {
        assert!(out.contains(&format!("'{sub}', '{sub}'")), "{sub}");
    }
}
