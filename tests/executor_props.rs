//! Properties of a pass over random estates and faults: nobody is ever
//! stranded, the window holds (pending members aside, which keep their
//! bridge by design), and every member ends untouched, in its bridge, or
//! finished — never pruned without acknowledgment.

mod exec_fake;

use exec_fake::*;
use handover::execute::{EngineOptions, RetryPolicy, Silent, apply_plan};
use proptest::prelude::*;
use std::time::Duration;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn a_pass_never_strands_and_keeps_its_window(
        agents in 1usize..25,
        window in 1u32..6,
        faults in proptest::collection::vec(0u8..5, 25),
        seed in any::<u64>(),
    ) {
        let mut fake = Fake::estate(agents);
        for (i, fault) in faults.iter().enumerate().take(agents) {
            match fault {
                1 => { fake.never_ack.insert(agent(i)); }
                2 => { fake.transient.insert(agent(i), 2); }
                3 => { fake.transient.insert(agent(i), 9); }
                4 => { fake.permanent.insert(agent(i)); }
                _ => {}
            }
        }
        let mut b = PlanBuilder::default();
        for i in 0..agents {
            b.mbb(&agent(i), "gw1", "gw2", &[]);
        }
        let plan = b.build();
        let opts = EngineOptions {
            max_in_flight: window,
            ack_timeout: Duration::from_secs(300),
            retry: RetryPolicy { max_attempts: 4, ..RetryPolicy::default() },
            seed,
            ..EngineOptions::default()
        };
        let start = fake.observed();
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let r = rt.block_on(apply_plan(&mut fake, &plan, &opts, &start, &mut Silent));
        prop_assert!(fake.violations.is_empty(), "{:?}", fake.violations);
        prop_assert!(fake.stranded.is_empty());
        prop_assert!(r.max_in_flight <= window as usize);
        prop_assert!(fake.max_bridged <= window as usize + r.pending.len());
        for (i, fault) in faults.iter().enumerate().take(agents) {
            let m = &fake.members[&agent(i)];
            let done = m.parents == p("gw2", &[]) && m.connected == Some(n("gw2"));
            let bridged = m.parents == p("gw2", &["gw1"]) && m.connected == Some(n("gw1"));
            let untouched = m.parents == p("gw1", &[]) && m.connected == Some(n("gw1"));
            match fault {
                1 => prop_assert!(bridged && r.pending.contains(&agent(i))),
                3 | 4 => prop_assert!(untouched && r.failed.contains(&agent(i))),
                _ => prop_assert!(done, "{:?}", m),
            }
        }
        prop_assert_eq!(r.provider_calls, fake.apply_calls);
    }
}
