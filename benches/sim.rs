//! Scale check of the simulator: 100,000 agents (handover::synth's fleet),
//! bridges applied for the 30 % that move, then two virtual hours advanced.
//! The whole 100k rehearsal must fit in 10 s of wall time, so this part
//! must take a small share of that.

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use handover::model::{MemberKind, Parents};
use handover::provider::{Operation, Scope};
use handover::sim::{Sim, SimConfig};
use handover::synth::{Estate, Spec, generate};
use std::hint::black_box;
use std::time::{Duration, Instant};

/// A bridge for every agent whose desired parents differ: the desired
/// primary and failovers, then the old parents as extra failovers.
fn bridges(estate: &Estate) -> Vec<Operation> {
    estate
        .desired
        .agents
        .iter()
        .zip(&estate.observed.agents)
        .filter(|(want, now)| want.parents != now.parents)
        .map(|(want, now)| {
            let mut bridge: Parents = want.parents.clone();
            for old in now.parents.iter() {
                if !bridge.lists(old) {
                    bridge.failover.push(old.clone());
                }
            }
            Operation::SetParents {
                kind: MemberKind::Agent,
                name: want.name.clone(),
                parents: bridge,
            }
        })
        .collect()
}

fn rehearse(mut sim: Sim, ops: &[Operation]) -> Sim {
    for op in ops {
        sim.apply_now(op).expect("bridge applies");
    }
    sim.advance(Duration::from_secs(2 * 3600));
    sim
}

fn bench(c: &mut Criterion) {
    let estate = generate(&Spec::fleet(100_000));
    let ops = bridges(&estate);
    let start = Instant::now();
    let sim = Sim::from_observed(&estate.observed, SimConfig::seeded(1));
    let built = start.elapsed();
    let start = Instant::now();
    let done = rehearse(sim.clone(), &ops);
    let ran = start.elapsed();
    let on_new_primary = done
        .snapshot(&Scope::All)
        .agents
        .iter()
        .zip(&estate.desired.agents)
        .filter(|(o, want)| o.connected.as_ref() == Some(&want.parents.primary))
        .count();
    eprintln!(
        "sim 100k: build {built:?}; {} bridges + 2 h virtual {ran:?}; \
         {on_new_primary} agents on their desired primary; {} stranded; {} events left",
        ops.len(),
        done.stranded().len(),
        done.pending_events()
    );

    let mut g = c.benchmark_group("sim");
    g.sample_size(10);
    g.bench_function("build_100k", |b| {
        b.iter(|| Sim::from_observed(black_box(&estate.observed), SimConfig::seeded(1)))
    });
    g.bench_function("bridge_30pct_then_2h_100k", |b| {
        b.iter_batched(
            || sim.clone(),
            |s| rehearse(s, black_box(&ops)),
            BatchSize::LargeInput,
        )
    });
    g.bench_function("save_json_100k", |b| {
        b.iter(|| black_box(&done).save_json().len())
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
