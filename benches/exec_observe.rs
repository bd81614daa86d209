//! How long an `exec:` observation of a 100,000-agent estate takes on
//! handover's side: spawning the provider, reading its response (about
//! 15 MB of JSON), parsing it into `Observed`. The provider is `cat` of a
//! prepared response file, so the figure excludes the provider's own work.

use criterion::{Criterion, criterion_group, criterion_main};
use handover::provider::exec::{ExecConfig, ExecProvider};
use handover::provider::protocol::Response;
use handover::provider::{Provider, Scope};
use handover::synth::{Spec, generate};
use std::hint::black_box;

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("observe.json");
    let observed = generate(&Spec::fleet(100_000)).observed;
    let resp = Response {
        observed: Some(observed),
        ..Response::ok()
    };
    let bytes = serde_json::to_vec(&resp).unwrap();
    eprintln!("observe response: {} bytes", bytes.len());
    std::fs::write(&file, bytes).unwrap();

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut prov = ExecProvider::new(
        "cat",
        vec![file.display().to_string()],
        ExecConfig::default(),
    );
    let mut g = c.benchmark_group("exec");
    g.sample_size(10);
    g.bench_function("observe_100k_agents", |b| {
        b.iter(|| {
            let o = rt.block_on(prov.observe(&Scope::All)).unwrap();
            black_box(o.agents.len())
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
