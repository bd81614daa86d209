use super::*;
use crate::synth;

mod fuzz;

#[test]
fn every_example_loads() {
    let root = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../..")).join("examples/topologies");
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

#[test]
fn unknown_keys_get_their_place_on_both_paths_and_valid_files_read_keys_once() {
    // The bulk on the fast path (forced, whatever the size), the unknown
    // keys in the remainder; and the same through serde alone.
    let doc = "apiVersion: handover/v1\nkind: Topology\nmanagementServers:\n  - name: ms1\npolicy:\n  maxInFlite: 5\n  capacity:\n    gateways: 1\n";
    for route in [Route::Fast, Route::Slow] {
        let e = topology_with(doc, "t.yaml", route).unwrap_err().to_string();
        let lines: Vec<&str> = e.lines().collect();
        assert_eq!(lines.len(), 2, "{e}");
        assert!(
            lines[0].starts_with(
                "t.yaml:6:3: unknown field \"maxInFlite\" in policy; did you mean maxInFlight?"
            ),
            "{e}"
        );
        assert!(
            lines[1].starts_with("t.yaml:8:5: unknown field \"gateways\" in policy.capacity"),
            "{e}"
        );
    }
    // A valid document leaves no unknown key behind for the next parse.
    topology_str("apiVersion: handover/v1\nkind: Topology\n", "t").unwrap();
    assert!(!doc::take_unknown_met());
    // Keys are read without places unless asked for.
    let d: doc::PolicyDoc = yaml::parse_quiet("x: 1\n").unwrap();
    assert_eq!(d.unknown[0].key.referenced.line(), 0);
    assert!(doc::take_unknown_met());
    let d: doc::PolicyDoc = doc::with_key_places(|| yaml::parse_quiet("\nx: 1\n")).unwrap();
    assert_eq!(d.unknown[0].key.referenced.line(), 2);
    assert!(doc::take_unknown_met());
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

/// The fast path (`load::fast`) and serde-saphyr build the same model, with
/// the same positions, for valid input, and the same diagnostics for
/// invalid input.
mod fast_path {
    use super::*;
    use proptest::prelude::*;

    fn same(text: &str) -> Result<(), TestCaseError> {
        let t = (
            topology_with(text, "f", Route::Fast),
            topology_with(text, "f", Route::Slow),
        );
        prop_assert_eq!(
            t.0.as_ref().map_err(|d| d.to_string()),
            t.1.as_ref().map_err(|d| d.to_string()),
            "topology, input:\n{}",
            text
        );
        let o = (
            observed_with(text, "f", Route::Fast),
            observed_with(text, "f", Route::Slow),
        );
        prop_assert_eq!(
            o.0.as_ref().map_err(|d| d.to_string()),
            o.1.as_ref().map_err(|d| d.to_string()),
            "observed, input:\n{}",
            text
        );
        Ok(())
    }

    /// A small generated estate: desired and observed YAML.
    pub(super) fn estate(agents: usize) -> (String, String) {
        let mut spec = synth::Spec::fleet(agents);
        spec.gateways = 3;
        spec.management_servers = 2;
        let e = synth::generate(&spec);
        (
            synth::desired_yaml(&e.desired),
            synth::observed_yaml(&e.observed),
        )
    }

    #[test]
    fn generated_files_take_the_fast_path_and_agree() {
        let (d, o) = estate(40);
        assert!(fast::split(&d, fast::Shape::Desired).is_some());
        assert!(fast::split(&o, fast::Shape::Observed).is_some());
        same(&d).unwrap();
        same(&o).unwrap();
    }

    /// Production's route: serde-saphyr alone below `fast::MIN_BYTES`, the
    /// fast path from there on; the forced routes do what they say.
    #[test]
    fn the_default_route_splits_large_files_only() {
        let label: Arc<str> = Arc::from("f");
        let route = |text: &str, r| {
            parse_split::<doc::TopologyDoc>(text, &label, r, fast::Shape::Desired)
                .unwrap()
                .1
                .is_some()
        };
        let (small, _) = estate(40);
        assert!(small.len() < fast::MIN_BYTES);
        assert!(!route(&small, Route::Auto));
        assert!(route(&small, Route::Fast));
        assert!(!route(&small, Route::Slow));
        let (large, _) = estate(1_500);
        assert!(large.len() >= fast::MIN_BYTES);
        assert!(route(&large, Route::Auto));
        assert!(!route(&large, Route::Slow));
        same(&large).unwrap();
        assert_eq!(
            topology_str(&large, "f").unwrap(),
            topology_with(&large, "f", Route::Slow).unwrap()
        );
    }

    #[test]
    fn positions_agree_for_every_member() {
        // A dangling primary and failover in every agent: every position
        // ends up in a message, so equal messages mean equal positions.
        let (d, o) = estate(12);
        let d = d
            .replace("primary: gw", "primary: nogw")
            .replace("[ms", "[x, ms");
        let o = o
            .replace("primary: gw", "primary: nogw")
            .replace("[ms", "[x, ms");
        assert!(fast::split(&d, fast::Shape::Desired).is_some());
        same(&d).unwrap();
        same(&o).unwrap();
        assert!(topology_str(&d, "f").is_err());
        assert!(observed_str(&o, "f").is_err());
    }

    /// One edit applied to one line of a generated document.
    #[derive(Clone, Debug)]
    enum Edit {
        Insert(&'static str),
        Replace(&'static str),
        Append(&'static str),
        Delete,
        Indent,
        Dedent,
        Crlf,
    }

    fn edit() -> impl Strategy<Value = Edit> {
        let pieces = prop::sample::select(vec![
            "  - name: extra.contoso.local",
            "    primary: ms01.contoso.local",
            "    failover: []",
            "    failover: [gw001.dmz.contoso.local,ms01.contoso.local]",
            "    failover: [a, ]",
            "    failover:",
            "      - ms01.contoso.local",
            "    connected: null",
            "    connected: ~",
            "    up: false",
            "    up: yes",
            "    ready: true",
            "    colour: blue",
            "    name: dup.contoso.local",
            "    primary: 10.0.0.1",
            "    primary: \"quoted.contoso.local\"",
            "    primary: null",
            "    primary: true",
            "    primary: Web_01",
            "    primary: WEB01.CONTOSO.LOCAL",
            "# a comment",
            "",
            "   ",
            "agents:",
            "agents: []",
            "agents :",
            "gateways:",
            "managementServers:",
            "- name: top.level",
            "---",
            "policy:\n  maxInFlight: 3",
            "metadata:\n  name: g",
            "  - name: &a anchored",
            "\tname: tab",
            "kind: [a,",
            "]",
        ]);
        let tails = prop::sample::select(vec![" # note", "  ", "#x", ":", ", x", "]", " extra"]);
        prop_oneof![
            pieces.clone().prop_map(Edit::Insert),
            pieces.prop_map(Edit::Replace),
            tails.prop_map(Edit::Append),
            Just(Edit::Delete),
            Just(Edit::Indent),
            Just(Edit::Dedent),
            Just(Edit::Crlf),
        ]
    }

    fn apply(text: &str, edits: &[(usize, Edit)]) -> String {
        let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
        for (at, e) in edits {
            if lines.is_empty() {
                break;
            }
            let i = at % lines.len();
            match e {
                Edit::Insert(s) => lines.insert(i, s.to_string()),
                Edit::Replace(s) => lines[i] = s.to_string(),
                Edit::Append(s) => lines[i].push_str(s),
                Edit::Delete => {
                    lines.remove(i);
                }
                Edit::Indent => lines[i].insert_str(0, "  "),
                Edit::Dedent => lines[i] = lines[i].trim_start().to_string(),
                Edit::Crlf => lines[i].push('\r'),
            }
        }
        lines.join("\n") + "\n"
    }

    /// The observed state as JSON, one member per line (as `gen_estate`
    /// writes it) or all on one line.
    pub(super) fn json(agents: usize, one_line: bool) -> String {
        let mut spec = synth::Spec::fleet(agents);
        spec.gateways = 3;
        spec.management_servers = 2;
        let o = synth::generate(&spec).observed;
        let member = |m: &crate::model::ObservedMember, gw: bool| {
            let mut v = serde_json::json!({
                "name": m.name.as_str(),
                "primary": m.parents.primary.as_str(),
                "failover": m.parents.failover.iter().map(|f| f.as_str()).collect::<Vec<_>>(),
                "connected": m.connected.as_ref().map(|c| c.as_str()),
            });
            if gw {
                v["up"] = m.up.into();
                v["ready"] = m.ready.into();
            }
            v.to_string()
        };
        let sep = if one_line { ", " } else { ",\n  " };
        let servers: Vec<String> = o
            .management_servers
            .iter()
            .map(|s| serde_json::json!({"name": s.name.as_str(), "up": s.up}).to_string())
            .collect();
        let gws: Vec<String> = o.gateways.iter().map(|m| member(m, true)).collect();
        let agents: Vec<String> = o.agents.iter().map(|m| member(m, false)).collect();
        let text = format!(
            "{{\n\"apiVersion\": \"handover/v1\",\n\"kind\": \"Observed\",\n\"managementServers\": [\n  {}\n],\n\"gateways\": [\n  {}\n],\n\"agents\": [\n  {}\n],\n\"managementStore\": {{\"activePool\": \"pool1.contoso.local\", \"pools\": [{{\"name\": \"pool1.contoso.local\", \"up\": true}}], \"replicationComplete\": true}}\n}}\n",
            servers.join(sep),
            gws.join(sep),
            agents.join(sep)
        );
        if one_line {
            text.replace('\n', "")
        } else {
            text
        }
    }

    #[test]
    fn json_takes_the_fast_path_and_agrees() {
        for one_line in [false, true] {
            let j = json(10, one_line);
            let s = fast_json::split(&j, fast::Shape::Observed).expect("fast path");
            assert_eq!(s.agents.as_ref().map(Vec::len), Some(10));
            same(&j).unwrap();
            assert!(observed_str(&j, "f").is_ok());
            let bad = j.replace("\"primary\":\"gw", "\"primary\":\"nogw");
            assert!(fast_json::split(&bad, fast::Shape::Observed).is_some());
            same(&bad).unwrap();
            assert!(observed_str(&bad, "f").is_err());
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(
            std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(256)
        ))]

        /// Edited JSON documents: both paths agree, whatever the edit.
        #[test]
        fn edited_json_agrees(
            one_line in any::<bool>(),
            edits in prop::collection::vec((any::<prop::sample::Index>(), prop::sample::select(vec![
                "", "\"", ",", ":", "[", "]", "{", "}", " ", "\n", "\t", "\\u0041", "null", "true", "1",
                "\"colour\": \"blue\", ", "\"name\": \"dup.local\", ", "\"up\": 1, ",
                "\"connected\": false, ", "\"failover\": [\"a\", \"b\"], ", "\"Web_01\"", "\u{e9}",
                "# c\n", "&a ", "*a",
            ]), 0usize..3), 1..4),
        ) {
            let mut text = json(4, one_line);
            for (at, piece, cut) in edits {
                let mut i = at.index(text.len() + 1);
                while !text.is_char_boundary(i) { i -= 1; }
                let mut end = (i + cut).min(text.len());
                while !text.is_char_boundary(end) { end -= 1; }
                text.replace_range(i..end, piece);
            }
            same(&text)?;
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(
            std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(256)
        ))]

        /// Edited documents: both paths agree, whatever the edit.
        #[test]
        fn edited_documents_agree(
            observed in any::<bool>(),
            edits in prop::collection::vec((any::<usize>(), edit()), 1..4),
        ) {
            let (d, o) = estate(6);
            let text = apply(if observed { &o } else { &d }, &edits);
            same(&text)?;
        }
    }
}

/// A member's `evidence` (which the fast path does not read) sends the
/// document to serde-saphyr whatever the route, and loads the same, with
/// the model serialising back to the same JSON.
#[test]
fn evidence_loads_the_same_by_every_route() {
    let text = r#"{"apiVersion":"handover/v1","kind":"Observed",
"managementServers":[{"name":"ms1","up":true}],
"gateways":[{"name":"gw1","primary":"ms1","failover":[],"connected":null,"evidence":{"observedAt":"2026-12-07T20:31:05Z","learned":{"parents":["ms1"],"at":"2026-12-07T20:30:58.5Z"},"heartbeat":{"at":"2026-12-07T20:30:00Z","via":"ms1"},"configAppliedAt":"2026-12-07T20:29:10Z"}}],
"agents":[{"name":"web01","primary":"gw1","failover":[],"connected":null}]}"#;
    let fast = observed_with(text, "f", Route::Fast).unwrap();
    let slow = observed_with(text, "f", Route::Slow).unwrap();
    assert_eq!(fast, slow);
    let ev = fast.gateways[0].evidence.as_deref().unwrap();
    assert_eq!(
        ev.learned.as_ref().unwrap().at.to_string(),
        "2026-12-07T20:30:58.500Z"
    );
    let back: crate::model::Observed =
        serde_json::from_str(&serde_json::to_string(&fast).unwrap()).unwrap();
    assert_eq!(back, fast);
}

/// What `handover schema` prints, pinned: a change to the document types
/// that changes the schema editors validate against shows here.
#[test]
fn the_schemas_are_pinned() {
    crate::testkit::snapshots().bind(|| {
        insta::assert_snapshot!(
            "topology_schema",
            serde_json::to_string_pretty(&super::doc::topology_schema()).unwrap()
        );
        insta::assert_snapshot!(
            "observed_schema",
            serde_json::to_string_pretty(&super::doc::observed_schema()).unwrap()
        );
    });
}
