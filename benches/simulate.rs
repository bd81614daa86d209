//! Scale check of a whole rehearsal (`handover simulate`): 100,000 agents
//! (handover::synth's fleet), 30 % of them moving, the real planner
//! (make-before-break), the real executor's converge loop and the real
//! simulator, in virtual time. Run with `cargo bench --bench simulate`;
//! the target is under 10 s of wall time per rehearsal. The default policy
//! has maxInFlight 100; the second bench uses 1,000. The `growth` group
//! rehearses 1,000, 10,000 and 100,000 agents, for docs/performance.md's
//! growth curve.

use criterion::{BatchSize, BenchmarkId, Criterion, criterion_group, criterion_main};
use handover::execute::{ConvergeOptions, EngineOptions, RehearsalReport, Silent, converge};
use handover::model::Topology;
use handover::sim::{Sim, SimConfig};
use handover::synth::{Spec, generate};
use std::time::Instant;

fn rehearse(sim: &mut Sim, desired: &Topology) -> RehearsalReport {
    let opts = ConvergeOptions {
        exec: EngineOptions {
            seed: 1,
            ..EngineOptions::from_policy(&desired.policy)
        },
        ..ConvergeOptions::default()
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    rt.block_on(converge(
        sim,
        desired,
        handover::plan::plan,
        &opts,
        &mut Silent,
    ))
}

fn bench(c: &mut Criterion) {
    let estate = generate(&Spec::fleet(100_000));
    let sim = Sim::from_observed(&estate.observed, SimConfig::seeded(1));
    let mut wide = estate.desired.clone();
    wide.policy.max_in_flight = 1000;

    let mut g = c.benchmark_group("simulate");
    g.sample_size(10);
    for (label, desired) in [
        ("rehearse_100k_window_100", &estate.desired),
        ("rehearse_100k_window_1000", &wide),
    ] {
        // One run outside criterion, to print what the rehearsal found.
        let mut s = sim.clone();
        let start = Instant::now();
        let r = rehearse(&mut s, desired);
        eprintln!(
            "{label}: {:?} wall; converged {}, {} moved, {} stranded, {} pending, \
             max {} in a bridge, {} steps, {} passes, {:.0} s virtual",
            start.elapsed(),
            r.converged,
            r.moved,
            r.stranded.len(),
            r.pending.len(),
            r.max_in_flight,
            r.steps_applied,
            r.passes,
            r.virtual_seconds
        );
        assert!(r.converged && r.stranded.is_empty(), "{label}: {r:?}");
        g.bench_function(label, |b| {
            b.iter_batched(
                || sim.clone(),
                |mut s| rehearse(&mut s, desired),
                BatchSize::LargeInput,
            )
        });
    }
    g.finish();
}

/// The same rehearsal at three sizes. The estate is `Spec::fleet(n)` with
/// at least four gateways (as `examples/gen_estate.rs` and
/// `scripts/perf.py` make it: with two, synth moves no agent).
fn growth(c: &mut Criterion) {
    let mut g = c.benchmark_group("simulate_growth");
    g.sample_size(10);
    for n in [1_000, 10_000, 100_000] {
        let mut spec = Spec::fleet(n);
        spec.gateways = spec.gateways.max(4);
        let estate = generate(&spec);
        let sim = Sim::from_observed(&estate.observed, SimConfig::seeded(1));
        g.bench_with_input(BenchmarkId::from_parameter(n), &estate.desired, |b, d| {
            b.iter_batched(
                || sim.clone(),
                |mut s| rehearse(&mut s, d),
                BatchSize::LargeInput,
            )
        });
    }
    g.finish();
}

criterion_group!(benches, bench, growth);
criterion_main!(benches);
