//! How long `assign::resolve` takes for a fleet matched by spread rules:
//! 100,000 agents (names from `handover::synth`) over a pool of 100
//! gateways with one failover each: already spread over the pool with
//! capacity ample (`ample`) and exactly full (`tight`), and all on
//! management servers so that every agent is dealt (`fresh`). Issue 9 asks
//! for well under 100 ms in release mode.

use criterion::{Criterion, criterion_group, criterion_main};
use handover::assign;
use handover::diag::Pos;
use handover::model::{AgentRule, RuleAssign};
use handover::synth::{Spec, generate};
use std::hint::black_box;

fn fleet(
    agents: usize,
    capacity: u32,
    fresh: bool,
) -> (handover::model::Topology, handover::model::Observed) {
    let mut e = generate(&Spec {
        management_servers: 20,
        gateways: 100,
        agents,
        moving: 0.0,
        seed: 7,
    });
    let pool: Vec<_> = e.desired.gateways.iter().map(|g| g.name.clone()).collect();
    // Rules, not a list: nobody lists 100,000 agents by hand.
    e.desired.agents.clear();
    e.desired.agent_rules = vec![AgentRule {
        pattern: "*.fleet.contoso.local".into(),
        assign: RuleAssign::Spread {
            pool,
            failover_count: 1,
        },
        pos: Pos::default(),
    }];
    e.desired.policy.capacity.gateway = capacity;
    e.desired.policy.capacity.management_server = 1_000_000;
    if fresh {
        // Not on the pool yet: on the management servers.
        let ms: Vec<_> = e
            .observed
            .management_servers
            .iter()
            .map(|m| m.name.clone())
            .collect();
        for (i, a) in e.observed.agents.iter_mut().enumerate() {
            a.parents = handover::model::Parents::primary_only(ms[i % ms.len()].clone());
            a.connected = Some(a.parents.primary.clone());
        }
    }
    (e.desired, e.observed)
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("assign");
    g.sample_size(20);
    for (label, capacity, fresh) in [
        ("ample", 100_000, false),
        ("tight", 1_000, false),
        ("fresh", 100_000, true),
    ] {
        let (t, o) = fleet(100_000, capacity, fresh);
        let a = assign::resolve(&t, &o).expect("the pool can take the fleet");
        assert_eq!(a.agents.len(), 100_000);
        g.bench_function(format!("resolve_100k_agents_100_gateways_{label}"), |b| {
            // Dropping the 100,000 results is the caller's cost, not resolve's.
            b.iter_with_large_drop(|| assign::resolve(black_box(&t), black_box(&o)).unwrap())
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
