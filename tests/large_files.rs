//! Large files (over the loader's 64 KiB fast-path threshold) through the
//! real binary: the fast YAML path, the fast JSON path and the serde path
//! (a file nudged out of the fast subset) give the same plan byte for byte,
//! and the same errors with the same `file:line:column`.

use assert_cmd::Command;
use handover::model::Observed;
use handover::synth::{self, Spec};
use std::path::Path;

/// The observed state as JSON, one member per line.
fn observed_json(o: &Observed) -> String {
    let members = |list: &[handover::model::ObservedMember], gw: bool| -> Vec<String> {
        list.iter()
            .map(|m| {
                let mut v = serde_json::json!({
                    "name": m.name.as_str(),
                    "primary": m.parents.primary.as_str(),
                    "failover": m.parents.failover.iter().map(|f| f.as_str()).collect::<Vec<_>>(),
                    "connected": m.connected.as_ref().map(|c| c.as_str()),
                });
                if gw {
                    v["up"] = m.up.into();
                    v["ready"] = m.ready.into();
                }
                v.to_string()
            })
            .collect()
    };
    let servers: Vec<String> = o
        .management_servers
        .iter()
        .map(|s| serde_json::json!({"name": s.name.as_str(), "up": s.up}).to_string())
        .collect();
    format!(
        "{{\n\"apiVersion\": \"handover/v1\",\n\"kind\": \"Observed\",\n\"managementServers\": [\n{}\n],\n\"gateways\": [\n{}\n],\n\"agents\": [\n{}\n]\n}}\n",
        servers.join(",\n"),
        members(&o.gateways, true).join(",\n"),
        members(&o.agents, false).join(",\n")
    )
}

fn plan(dir: &Path, desired: &str, observed: &str) -> std::process::Output {
    Command::cargo_bin("handover")
        .unwrap()
        .current_dir(dir)
        .args(["plan", "--format", "json", "--desired", desired])
        .args(["--observed", observed])
        .output()
        .unwrap()
}

#[test]
fn fast_and_serde_paths_give_the_same_plan_and_errors() {
    let mut spec = Spec::fleet(2_000);
    spec.gateways = 10; // synth moves agents only with more than two gateways
    let e = synth::generate(&spec);
    let desired = synth::desired_yaml(&e.desired);
    let observed = synth::observed_yaml(&e.observed);
    assert!(desired.len() > 64 * 1024 && observed.len() > 64 * 1024);
    // A quoted name is outside the fast subset: this copy loads through
    // serde-saphyr only, with the same meaning.
    let quote = |t: &str| {
        t.replacen(
            "name: ms01.contoso.local",
            "name: \"ms01.contoso.local\"",
            1,
        )
    };
    let dir = tempfile::tempdir().unwrap();
    let files = [
        ("d.yaml", desired.clone()),
        ("d-slow.yaml", quote(&desired)),
        ("o.yaml", observed.clone()),
        ("o-slow.yaml", quote(&observed)),
        ("o.json", observed_json(&e.observed)),
    ];
    for (name, text) in &files {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    let reference = plan(dir.path(), "d-slow.yaml", "o-slow.yaml");
    assert!(reference.status.success(), "{reference:?}");
    let v: serde_json::Value = serde_json::from_slice(&reference.stdout).unwrap();
    assert!(
        v["summary"]["moves"].as_u64().unwrap() > 100,
        "{}",
        v["summary"]
    );
    for (d, o) in [
        ("d.yaml", "o.yaml"),
        ("d.yaml", "o.json"),
        ("d-slow.yaml", "o.yaml"),
    ] {
        let out = plan(dir.path(), d, o);
        assert!(out.status.success(), "{d} {o}: {out:?}");
        assert_eq!(out.stdout, reference.stdout, "{d} {o}");
    }

    // The same error, found late in a large file, at the same place.
    let broken = |t: &str| t.replace("primary: gw007.dmz", "primary: gw999.dmz");
    std::fs::write(dir.path().join("bad.yaml"), broken(&desired)).unwrap();
    std::fs::write(dir.path().join("bad-slow.yaml"), quote(&broken(&desired))).unwrap();
    let fast = plan(dir.path(), "bad.yaml", "o.yaml");
    let slow = plan(dir.path(), "bad-slow.yaml", "o.yaml");
    assert_eq!(fast.status.code(), Some(1));
    let (fast, slow) = (
        String::from_utf8(fast.stderr).unwrap(),
        String::from_utf8(slow.stderr).unwrap(),
    );
    assert!(fast.contains("gw999.dmz.contoso.local"), "{fast}");
    assert!(fast.contains("bad.yaml:"), "{fast}");
    assert_eq!(
        fast.replace("bad.yaml", "X"),
        slow.replace("bad-slow.yaml", "X")
    );
}
