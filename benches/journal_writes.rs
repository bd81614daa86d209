//! How long seeding an `exec:` provider's write times from the journal
//! takes (`run::writes::from_journal`), which every `apply` on an `exec:`
//! target and every reconcile pass does when it opens its target: a
//! journal of one run that bridged and pruned 100,000 agents (a `sending`
//! and an `applied` record per write: 400,000 step records, 78 MB).
//! Run: `cargo bench --bench journal_writes`.

use criterion::{Criterion, criterion_group, criterion_main};
use handover::run::writes;
use handover::state::journal::{Journal, Record};
use std::hint::black_box;

const AGENTS: usize = 100_000;

fn journal(dir: &std::path::Path) {
    let mut j = Journal::open(dir).unwrap();
    let mut records = vec![Record::RunStarted {
        run: "r1".into(),
        at: "2026-12-07T20:00:00.000Z".into(),
        command: "reconcile".into(),
        target: "exec:scom".into(),
        revision: "rev".into(),
        user: "svc".into(),
        commit: String::new(),
    }];
    for i in 0..AGENTS {
        for (step, parents) in [
            (1, "gw2.contoso.local, gw1.contoso.local"),
            (3, "gw2.contoso.local"),
        ] {
            for outcome in ["sending", "applied"] {
                records.push(Record::Step {
                    run: "r1".into(),
                    at: format!("2026-12-07T20:{:02}:{:02}.000Z", (i / 60) % 60, i % 60),
                    step: step + 3 * i as u32,
                    action: "set_parents".into(),
                    name: format!("a{i:06}.contoso.local"),
                    outcome: outcome.into(),
                    detail: format!("parents {parents}"),
                });
            }
        }
    }
    j.append_batch(&records).unwrap();
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    journal(dir.path());
    let size = std::fs::metadata(dir.path().join("journal.jsonl"))
        .unwrap()
        .len();
    eprintln!("journal: {} records, {} bytes", 1 + 4 * AGENTS, size);
    let mut g = c.benchmark_group("journal_writes_100k_agents");
    g.sample_size(10);
    g.bench_function("from_journal", |b| {
        b.iter(|| {
            let w = writes::from_journal(black_box(dir.path()), "exec:scom").unwrap();
            assert_eq!(w.len(), AGENTS);
            black_box(w)
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
