//! Writes a synthetic estate for performance runs: `desired.yaml`,
//! `observed.yaml`, `observed.json` and `converged.yaml` (an observed state
//! already equal to the desired one, for the idle-reconcile figure).
//!
//! `cargo run --release --example gen_estate -- AGENTS DIR`
//! The estate is `handover::synth::Spec::fleet(AGENTS)`: one gateway per
//! 1,000 agents (at least four), one management server per five gateways,
//! 30 % of agents moving. `scripts/perf.py` calls this; the files are never committed.

use handover::model::{Observed, ObservedMember};
use handover::synth::{self, Spec};
use std::path::PathBuf;

fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(n), Some(dir)) = (args.next(), args.next()) else {
        eprintln!("usage: gen_estate AGENTS DIR");
        std::process::exit(2);
    };
    let Ok(n) = n.replace('_', "").parse::<usize>() else {
        eprintln!("error: AGENTS must be a whole number, got {n:?}");
        std::process::exit(2);
    };
    let dir = PathBuf::from(dir);
    let e = synth::generate(&spec(n));
    let converged = converged(&e);
    let files = [
        ("desired.yaml", synth::desired_yaml(&e.desired)),
        ("observed.yaml", synth::observed_yaml(&e.observed)),
        ("observed.json", observed_json(&e.observed)),
        ("converged.yaml", synth::observed_yaml(&converged)),
    ];
    if let Err(err) = std::fs::create_dir_all(&dir) {
        eprintln!("error: cannot create {}: {err}", dir.display());
        std::process::exit(1);
    }
    for (name, text) in files {
        let path = dir.join(name);
        if let Err(err) = std::fs::write(&path, &text) {
            eprintln!("error: cannot write {}: {err}", path.display());
            std::process::exit(1);
        }
        println!("{}\t{} bytes", path.display(), text.len());
    }
}

/// `Spec::fleet(n)`, with at least four gateways: synth moves agents only
/// when there are more than two, and the small estates of the growth curve
/// must do the same kind of work as the large ones (10k and 100k agents
/// are `Spec::fleet` unchanged).
fn spec(n: usize) -> Spec {
    let mut s = Spec::fleet(n);
    s.gateways = s.gateways.max(4);
    s
}

/// The observed state once the migration is done: every member on its
/// desired parents, connected to its desired primary.
fn converged(e: &synth::Estate) -> Observed {
    let mut o = e.observed.clone();
    for (list, want) in [
        (&mut o.gateways, &e.desired.gateways),
        (&mut o.agents, &e.desired.agents),
    ] {
        for (m, d) in list.iter_mut().zip(want.iter()) {
            assert_eq!(m.name, d.name, "synth lists members in the same order");
            m.parents = d.parents.clone();
            m.connected = Some(d.parents.primary.clone());
        }
    }
    o
}

/// The observed state as a `kind: Observed` JSON document, the form
/// providers emit (one member per line, as `handover export` would).
fn observed_json(o: &Observed) -> String {
    use serde_json::json;
    let member = |m: &ObservedMember, gateway: bool| {
        let mut v = json!({
            "name": m.name.as_str(),
            "primary": m.parents.primary.as_str(),
            "failover": m.parents.failover.iter().map(|f| f.as_str()).collect::<Vec<_>>(),
            "connected": m.connected.as_ref().map(|c| c.as_str()),
        });
        if gateway {
            v["up"] = json!(m.up);
            v["ready"] = json!(m.ready);
        }
        v.to_string()
    };
    let mut out = String::from("{\n\"apiVersion\": \"handover/v1\",\n\"kind\": \"Observed\",\n");
    let servers: Vec<String> = o
        .management_servers
        .iter()
        .map(|s| json!({"name": s.name.as_str(), "up": s.up}).to_string())
        .collect();
    out.push_str(&format!(
        "\"managementServers\": [\n{}\n],\n",
        servers.join(",\n")
    ));
    let gateways: Vec<String> = o.gateways.iter().map(|m| member(m, true)).collect();
    out.push_str(&format!("\"gateways\": [\n{}\n],\n", gateways.join(",\n")));
    let agents: Vec<String> = o.agents.iter().map(|m| member(m, false)).collect();
    out.push_str(&format!("\"agents\": [\n{}\n]\n}}\n", agents.join(",\n")));
    out
}
