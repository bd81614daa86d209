//! The Performance issue's figures inside one process (no process start,
//! no file reads): the `handover plan` pipeline over YAML text at 1k, 10k
//! and 100k agents (load desired and observed in parallel, validate, plan,
//! render JSON), its phases at 100k, the same with the observed state as
//! JSON, and the idle reconcile pass (plan of a converged estate plus its
//! digest, once loaded). Run: `cargo bench --bench e2e`;
//! `scripts/perf.py` measures the binary end to end against rapidyaml.

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use handover::model::{Observed, Topology};
use handover::synth::{self, Spec};
use handover::{load, plan, render};
use std::hint::black_box;

/// Desired and observed YAML for `n` agents, and the observed state once
/// converged.
struct Texts {
    desired: String,
    observed: String,
    converged: Observed,
    desired_model: Topology,
}

fn texts(n: usize) -> Texts {
    // At least four gateways: synth moves agents only with more than two,
    // so the 1k estate does the same kind of work as 10k and 100k.
    let mut spec = Spec::fleet(n);
    spec.gateways = spec.gateways.max(4);
    let e = synth::generate(&spec);
    let mut converged = e.observed.clone();
    for (list, want) in [
        (&mut converged.gateways, &e.desired.gateways),
        (&mut converged.agents, &e.desired.agents),
    ] {
        for (m, d) in list.iter_mut().zip(want) {
            m.parents = d.parents.clone();
            m.connected = Some(d.parents.primary.clone());
        }
    }
    Texts {
        desired: synth::desired_yaml(&e.desired),
        observed: synth::observed_yaml(&e.observed),
        converged,
        desired_model: e.desired,
    }
}

/// The `handover plan --format json` pipeline after reading the files.
fn pipeline(desired: &str, observed: &str) -> String {
    let (t, o) = std::thread::scope(|s| {
        let o = s.spawn(|| load::observed_str(observed, "observed.yaml"));
        let t = load::topology_str(desired, "desired.yaml");
        (t, o.join().expect("the loader does not panic"))
    });
    let (t, o) = (t.expect("valid"), o.expect("valid"));
    render::json::render(&plan::plan(&t, &o))
}

fn growth(c: &mut Criterion) {
    let mut g = c.benchmark_group("plan_pipeline");
    g.sample_size(10);
    for n in [1_000, 10_000, 100_000] {
        let t = texts(n);
        g.bench_with_input(BenchmarkId::from_parameter(n), &t, |b, t| {
            b.iter(|| pipeline(black_box(&t.desired), black_box(&t.observed)))
        });
    }
    g.finish();
}

fn phases(c: &mut Criterion) {
    let t = texts(100_000);
    let json = observed_json(&t.observed);
    let d = load::topology_str(&t.desired, "d").expect("valid");
    let o = load::observed_str(&t.observed, "o").expect("valid");
    let p = plan::plan(&d, &o);
    let mut g = c.benchmark_group("phases_100k");
    g.sample_size(10);
    g.bench_function("load_desired_yaml", |b| {
        b.iter(|| load::topology_str(black_box(&t.desired), "d"))
    });
    g.bench_function("load_observed_yaml", |b| {
        b.iter(|| load::observed_str(black_box(&t.observed), "o"))
    });
    g.bench_function("load_observed_json", |b| {
        b.iter(|| load::observed_str(black_box(&json), "o"))
    });
    g.bench_function("plan", |b| b.iter(|| plan::plan(black_box(&d), &o)));
    g.bench_function("render_json", |b| {
        b.iter(|| render::json::render(black_box(&p)))
    });
    g.bench_function("pipeline_observed_json", |b| {
        b.iter(|| pipeline(black_box(&t.desired), black_box(&json)))
    });
    g.finish();
}

/// Idle reconcile: nothing to do at 100,000 agents; the pass is a plan of
/// the converged estate, which includes the digest that proves it.
fn idle(c: &mut Criterion) {
    let t = texts(100_000);
    let mut g = c.benchmark_group("idle_reconcile_100k");
    g.sample_size(20);
    g.bench_function("plan_and_digest", |b| {
        b.iter(|| {
            let p = plan::plan(black_box(&t.desired_model), black_box(&t.converged));
            assert!(p.is_empty(), "a converged estate has nothing to do");
            // `plan` computes the digest of what it read (observed_digest).
            p.observed_digest
        })
    });
    g.finish();
}

/// The observed YAML's JSON twin, as providers emit it.
fn observed_json(yaml: &str) -> String {
    let o = load::observed_str(yaml, "o").expect("valid");
    let member = |m: &handover::model::ObservedMember, gateway: bool| {
        let mut v = serde_json::json!({
            "name": m.name.as_str(),
            "primary": m.parents.primary.as_str(),
            "failover": m.parents.failover.iter().map(|f| f.as_str()).collect::<Vec<_>>(),
            "connected": m.connected.as_ref().map(|c| c.as_str()),
        });
        if gateway {
            v["up"] = m.up.into();
            v["ready"] = m.ready.into();
        }
        v
    };
    serde_json::json!({
        "apiVersion": "handover/v1",
        "kind": "Observed",
        "managementServers": o.management_servers.iter()
            .map(|s| serde_json::json!({"name": s.name.as_str(), "up": s.up})).collect::<Vec<_>>(),
        "gateways": o.gateways.iter().map(|m| member(m, true)).collect::<Vec<_>>(),
        "agents": o.agents.iter().map(|m| member(m, false)).collect::<Vec<_>>(),
    })
    .to_string()
}

criterion_group!(benches, growth, phases, idle);
criterion_main!(benches);
