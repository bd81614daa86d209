use super::*;
use crate::synth;

#[test]
fn every_example_loads() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/topologies");
    let mut seen = 0;
    for dir in std::fs::read_dir(&root).unwrap() {
        let dir = dir.unwrap().path();
        // The directory holds an Observed document too; topology() skips it.
        let t = topology(std::slice::from_ref(&dir)).unwrap();
        let o = observed(&dir.join("observed.yaml")).unwrap();
        assert!(!t.management_servers.is_empty() || t.management_store.is_some());
        assert!(!o.management_servers.is_empty() || o.management_store.is_some());
        seen += 1;
    }
    assert!(seen >= 4);
}

#[test]
fn generated_fleet_round_trips_and_shares_names() {
    let e = synth::generate(&synth::Spec::fleet(3_000));
    let t = topology_str(&synth::desired_yaml(&e.desired), "d.yaml").unwrap();
    assert_eq!(t.agents.len(), 3_000);
    let p = &t.agents[0].parents.primary;
    let g = t.gateways.iter().find(|g| &g.name == p).unwrap();
    assert!(p.ptr_eq(&g.name), "one allocation per host name");
    assert_eq!(
        t.agents[5].pos.to_string(),
        format!(
            "d.yaml:{}:11",
            6 + t.management_servers.len() + 3 * t.gateways.len() + 2 + 3 * 5
        )
    );
    let o = observed_str(&synth::observed_yaml(&e.observed), "o.yaml").unwrap();
    assert_eq!(o, e.observed);
}

#[test]
fn document_kind_is_detected() {
    let t = "apiVersion: handover/v1\nkind: Topology\n";
    assert!(matches!(document_str(t, "t"), Ok(Document::Topology(_))));
    let o = r#"{"apiVersion": "handover/v1", "kind": "Observed"}"#;
    assert!(matches!(document_str(o, "o"), Ok(Document::Observed(_))));
    let bad = document_str("apiVersion: handover/v1\nkind: Plan\n", "p").unwrap_err();
    assert_eq!(
        bad.0[0].to_string(),
        "p:2:7: kind is \"Plan\"; expected Topology or Observed"
    );
}

#[test]
fn budgets_stop_bombs_where_nothing_else_would() {
    // The header parse skips unknown fields, so only the budget limits it.
    let mut bomb =
        String::from("{kind: Topology, a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]");
    for i in 1..9u8 {
        let (p, c) = ((b'a' + i - 1) as char, (b'a' + i) as char);
        bomb.push_str(&format!(
            ", {c}: &{c} [{}]",
            vec![format!("*{p}"); 9].join(", ")
        ));
    }
    bomb.push('}');
    let label: Arc<str> = Arc::from("b");
    let e = kind_of(&bomb, &label).unwrap_err();
    assert!(
        e.message.contains("alias") || e.message.contains("budget"),
        "{e}"
    );
    let deep = format!("{{x: {}{}}}", "[".repeat(20_000), "]".repeat(20_000));
    let e = kind_of(&deep, &label).unwrap_err();
    assert!(e.message.contains("nesting deeper than 64"), "{e}");
}

#[test]
fn directory_merge_conflicts_name_both_files() {
    let dir = tempfile::tempdir().unwrap();
    let doc = "apiVersion: handover/v1\nkind: Topology\nmanagementServers:\n  - name: ms1\npolicy:\n  maxInFlight: 5\n";
    std::fs::write(dir.path().join("a.yaml"), doc).unwrap();
    std::fs::write(dir.path().join("b.yaml"), doc.replace("ms1", "ms2")).unwrap();
    let e = topology(&[dir.path().to_path_buf()])
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("b.yaml:6:16: policy is given twice: here and at"),
        "{e}"
    );
    assert!(e.contains("a.yaml:6:16"), "{e}");
}

mod never_panics {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Arbitrary YAML-ish text (indicators, anchors, aliases, tags,
        /// quotes, flow brackets, handover keys) never panics the loader:
        /// it loads or it gives diagnostics with positions.
        #[test]
        fn yamlish_text(s in "(apiVersion: handover/v1\nkind: (Topology|Observed)\n)?([-:&*!|>?%@`'\"\\[\\]{},#\n ]|name|primary|failover|agents|gateways|managementServers|web01|gw1|ms1|null|true|0){0,120}") {
            for d in [
                document_str(&s, "p").err(),
                topology_str(&s, "p").err(),
                observed_str(&s, "p").err(),
            ]
            .into_iter()
            .flatten()
            {
                prop_assert!(!d.is_empty());
                prop_assert!(d.0.iter().all(|d| d.pos.as_ref().is_some_and(|p| p.line >= 1 && p.column >= 1)), "{}", d);
            }
        }

        /// Arbitrary bytes never panic either.
        #[test]
        fn arbitrary_text(s in any::<String>()) {
            let _ = document_str(&s, "p");
        }
    }
}
