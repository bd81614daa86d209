//! How long loading and validating a 100,000-agent topology takes: the
//! whole `load::topology_str` (parse, names, validation) and validation
//! alone. Run: `cargo bench --bench validate`.

use criterion::{Criterion, criterion_group, criterion_main};
use handover::{load, synth, validate};
use std::hint::black_box;

fn bench(c: &mut Criterion) {
    let estate = synth::generate(&synth::Spec::fleet(100_000));
    let yaml = synth::desired_yaml(&estate.desired);
    let observed = synth::observed_yaml(&estate.observed);
    let model = load::topology_str(&yaml, "fleet.yaml").expect("the synthetic fleet is valid");
    let mut g = c.benchmark_group("validate_100k_agents");
    g.sample_size(10);
    g.bench_function("validate_model", |b| {
        b.iter(|| black_box(validate::topology(black_box(&model))))
    });
    g.bench_function("load_and_validate_topology_yaml", |b| {
        b.iter(|| black_box(load::topology_str(black_box(&yaml), "fleet.yaml")))
    });
    g.bench_function("load_and_validate_observed_yaml", |b| {
        b.iter(|| black_box(load::observed_str(black_box(&observed), "observed.yaml")))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
