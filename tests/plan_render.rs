//! Snapshot tests of `plan`'s text and Markdown output for every example
//! topology, and of grouping for a large synthetic fleet.

use handover::plan::plan;
use handover::render::{self, Options};
use std::path::Path;

fn example(name: &str) -> (handover::model::Topology, handover::model::Observed) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples/topologies")
        .join(name);
    let d = handover::load::topology(&[dir.join("desired.yaml")]).unwrap();
    let o = handover::load::observed(&dir.join("observed.yaml")).unwrap();
    (d, o)
}

fn snapshots(name: &str) {
    let (d, o) = example(name);
    let p = plan(&d, &o);
    let opts = Options {
        max_in_flight: d.policy.max_in_flight,
        ..Options::default()
    };
    insta::assert_snapshot!(format!("{name}.text"), render::text::render(&p, &o, &opts));
    insta::assert_snapshot!(
        format!("{name}.markdown"),
        render::markdown::render(&p, &o, &opts)
    );
}

#[test]
fn replace_gateway() {
    snapshots("replace-gateway");
}

#[test]
fn add_gateway_failover() {
    snapshots("add-gateway-failover");
}

#[test]
fn move_gateways_to_new_management_server() {
    snapshots("move-gateways-to-new-management-server");
}

#[test]
fn management_store_failover() {
    snapshots("management-store-failover");
}

#[test]
fn management_store_disaster_recovery() {
    snapshots("management-store-disaster-recovery");
}

#[test]
fn blocked_members_are_listed_with_their_reason() {
    let (d, mut o) = example("replace-gateway");
    o.gateways[1].ready = false; // gw2 not ready
    let p = plan(&d, &o);
    let opts = Options {
        max_in_flight: d.policy.max_in_flight,
        ..Options::default()
    };
    insta::assert_snapshot!(
        "replace-gateway-gw2-not-ready.text",
        render::text::render(&p, &o, &opts)
    );
    insta::assert_snapshot!(
        "replace-gateway-gw2-not-ready.markdown",
        render::markdown::render(&p, &o, &opts)
    );
}

#[test]
fn a_management_server_that_is_down_is_reported_first() {
    let (d, mut o) = example("move-gateways-to-new-management-server");
    o.management_servers[2].up = false; // ms3
    let p = plan(&d, &o);
    let opts = Options {
        max_in_flight: d.policy.max_in_flight,
        ..Options::default()
    };
    insta::assert_snapshot!("ms3-down.text", render::text::render(&p, &o, &opts));
    insta::assert_snapshot!("ms3-down.markdown", render::markdown::render(&p, &o, &opts));
}

#[test]
fn a_large_fleet_is_grouped_and_the_comment_fits() {
    let e = handover::synth::generate(&handover::synth::Spec::fleet(20_000));
    let p = plan(&e.desired, &e.observed);
    let opts = Options::default();
    let text = render::text::render(&p, &e.observed, &opts);
    assert!(text.lines().count() < 200, "{} lines", text.lines().count());
    assert!(text.contains("Agents (6,"), "{}", &text[..500]);
    assert!(text.contains(" agents: gw"), "{}", &text[..1000]);
    let verbose = render::text::render(
        &p,
        &e.observed,
        &Options {
            verbose: true,
            ..opts
        },
    );
    assert!(verbose.lines().count() > 12_000);
    let md = render::markdown::render(&p, &e.observed, &opts);
    assert!(
        md.chars().count() < render::markdown::MAX_CHARS,
        "{}",
        md.len()
    );
    assert!(md.contains("<details>"));
    // The change graph is embedded: one box per (old, new) gateway pair
    // (the synthetic fleet moves agents between 20 pairs), none per agent.
    let graph = md
        .split("```mermaid\n")
        .nth(1)
        .and_then(|g| g.split("```").next())
        .expect("a mermaid block");
    assert_eq!(graph.matches(":::moving").count(), 20, "{graph}");
    assert!(!graph.contains("more moves"), "{graph}");
    assert!(graph.len() < 10_000, "{} characters", graph.len());
}

#[test]
fn colour_marks_removed_and_added_parents_only_when_asked() {
    let (d, o) = example("replace-gateway");
    let p = plan(&d, &o);
    let on = Options {
        color: true,
        ..Options::default()
    };
    let text = render::text::render(&p, &o, &on);
    assert!(text.contains("\x1b[31m-gw1.dmz\x1b[0m"), "{text}");
    assert!(text.contains("\x1b[32m+gw2.dmz\x1b[0m"), "{text}");
    let md = render::markdown::render(&p, &o, &on);
    assert!(!md.contains('\x1b'));
}

#[test]
fn agents_a_spread_rule_keeps_on_a_gateway_that_is_not_ready_are_listed() {
    let (d, mut o) = example("add-gateway-failover");
    // gw2.branch stops being ready: its agents stay (and the plan says so),
    // and it takes no new ones.
    let gw2 = o
        .gateways
        .iter_mut()
        .find(|g| g.name.as_str() == "gw2.branch.contoso.local")
        .unwrap();
    gw2.ready = false;
    let p = plan(&d, &o);
    assert!(
        p.notes.iter().all(|n| n
            .note
            .contains("gw2.branch.contoso.local, which is not ready")),
        "{:?}",
        p.notes
    );
    assert!(!p.notes.is_empty());
    let opts = Options {
        max_in_flight: d.policy.max_in_flight,
        ..Options::default()
    };
    let text = render::text::render(&p, &o, &opts);
    assert!(text.contains("Kept where they are"), "{text}");
    insta::assert_snapshot!("add-gateway-failover-gw2-not-ready.text", text);
    insta::assert_snapshot!(
        "add-gateway-failover-gw2-not-ready.markdown",
        render::markdown::render(&p, &o, &opts)
    );
}
