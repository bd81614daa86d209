//! Planning a 100,000-agent, 100-gateway estate with 30 % of agents moving
//! (the Performance issue's reference fleet), and rendering its plan.

use criterion::{Criterion, criterion_group, criterion_main};
use handover::render::{self, Options};
use handover::synth::{Spec, generate};
use std::hint::black_box;

fn bench(c: &mut Criterion) {
    let e = generate(&Spec::fleet(100_000));
    let mut g = c.benchmark_group("plan");
    g.sample_size(10);
    g.bench_function("plan 100k agents, 100 gateways, 30% moving", |b| {
        b.iter(|| handover::plan::plan(black_box(&e.desired), black_box(&e.observed)))
    });
    let p = handover::plan::plan(&e.desired, &e.observed);
    g.bench_function("render json", |b| {
        b.iter(|| render::json::render(black_box(&p)))
    });
    g.bench_function("render text (grouped)", |b| {
        b.iter(|| render::text::render(black_box(&p), &e.observed, &Options::default()))
    });
    g.bench_function("render markdown", |b| {
        b.iter(|| render::markdown::render(black_box(&p), &e.observed, &Options::default()))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
