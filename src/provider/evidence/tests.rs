//! One test per rule of the judgement (docs/provider-protocol.md section 4).

use super::*;
use crate::model::{Heartbeat, Learned, ObservedServer, Parents};

fn n(s: &str) -> Name {
    Name::parse(s).unwrap()
}

/// Seconds on some clock, as a stamp.
fn at(secs: f64) -> Stamp {
    Stamp((secs * 1000.0) as i64)
}

fn parents(list: &[&str]) -> Parents {
    Parents {
        primary: n(list[0]),
        failover: list[1..].iter().map(|s| n(s)).collect(),
    }
}

fn learned(list: &[&str], t: f64) -> Option<Learned> {
    Some(Learned {
        parents: list.iter().map(|s| n(s)).collect(),
        at: at(t),
    })
}

fn heartbeat(t: f64, via: Option<&str>) -> Option<Heartbeat> {
    Some(Heartbeat {
        at: at(t),
        via: via.map(n),
    })
}

fn evidence(observed_at: f64) -> Evidence {
    Evidence {
        observed_at: at(observed_at),
        learned: None,
        heartbeat: None,
        config_applied_at: None,
    }
}

/// An estate: ms1 up, gateways gw1 and gw2 (up as given), and web01
/// configured with `configured`, claiming to be connected to its primary,
/// carrying `ev`.
fn estate(configured: &[&str], ev: Option<Evidence>, gw2_up: bool) -> Observed {
    let mut o = Observed::new();
    o.management_servers.push(ObservedServer {
        name: n("ms1"),
        up: true,
    });
    for (g, up) in [("gw1", true), ("gw2", gw2_up)] {
        o.gateways.push(ObservedMember {
            name: n(g),
            parents: parents(&["ms1"]),
            connected: Some(n("ms1")),
            up,
            ready: true,
            evidence: None,
        });
    }
    let p = parents(configured);
    o.agents.push(ObservedMember {
        name: n("web01"),
        connected: Some(p.primary.clone()),
        parents: p,
        up: true,
        ready: true,
        evidence: ev.map(Box::new),
    });
    o
}

/// The observe call: sent at `sent` on handover's clock, answered a
/// second later.
fn call(sent: f64) -> Exchange {
    Exchange {
        sent: at(sent),
        received: at(sent + 1.0),
    }
}

fn writes(t: Option<f64>) -> Writes {
    let mut w = Writes::new();
    if let Some(t) = t {
        w.insert(n("web01"), at(t));
    }
    w
}

/// Judges web01 and returns its verdict and resulting `connected`.
fn web01(o: &mut Observed, write: Option<f64>, sent: f64) -> (Verdict, Option<Name>) {
    let v = judge_all(o, &writes(write), call(sent), Tolerance::default());
    let verdict = v
        .into_iter()
        .find(|(_, name, _)| name == &n("web01"))
        .expect("web01 judged")
        .2;
    (verdict, o.agents[0].connected.clone())
}

const BRIDGE: [&str; 2] = ["gw2", "gw1"];

#[test]
fn no_change_on_record_and_no_positive_fact_is_not_connected() {
    // Steady state, heartbeating, nothing written: the provider's claim
    // "connected to its configured primary" is not evidence.
    let mut ev = evidence(1000.5);
    ev.heartbeat = heartbeat(990.0, None);
    let mut o = estate(&["gw1"], Some(ev), true);
    let (v, c) = web01(&mut o, None, 1000.0);
    assert!(matches!(v, Verdict::NoEvidence(_)), "{v:?}");
    assert_eq!(c, None);
}

#[test]
fn a_member_that_learned_its_bridge_after_the_write_is_connected_to_its_primary() {
    let mut ev = evidence(1300.5);
    ev.learned = learned(&BRIDGE, 1290.0);
    let mut o = estate(&BRIDGE, Some(ev), true);
    let (v, c) = web01(&mut o, Some(1000.0), 1300.0);
    assert_eq!(v, Verdict::LearnedParents(n("gw2")));
    assert_eq!(c, Some(n("gw2")));
}

#[test]
fn a_reading_taken_before_the_write_is_not_evidence() {
    // The reading shows the bridge (the configuration held before, say)
    // but was taken before handover's write was answered.
    let mut ev = evidence(1300.5);
    ev.learned = learned(&BRIDGE, 990.0);
    let mut o = estate(&BRIDGE, Some(ev), true);
    assert_eq!(web01(&mut o, Some(1000.0), 1300.0).1, None);
}

#[test]
fn a_reading_within_the_skew_allowance_after_the_write_is_not_evidence() {
    let mut ev = evidence(1300.5);
    ev.learned = learned(&BRIDGE, 1060.0);
    let mut o = estate(&BRIDGE, Some(ev), true);
    assert_eq!(web01(&mut o, Some(1000.0), 1300.0).1, None);
}

#[test]
fn with_the_write_unknown_the_member_must_have_learned_exactly_its_configured_parents() {
    // Written by another replica, or the record was lost: handover knows no
    // write time. The member still lists only its old parent: not evidence.
    let mut ev = evidence(1300.5);
    ev.learned = learned(&["gw1"], 1290.0);
    let mut o = estate(&BRIDGE, Some(ev.clone()), true);
    assert_eq!(web01(&mut o, None, 1300.0).1, None);
    // Learned the primary but not the whole bridge (the old parent is not
    // kept as a failover): not evidence either.
    ev.learned = learned(&["gw2"], 1290.0);
    let mut o = estate(&BRIDGE, Some(ev.clone()), true);
    assert_eq!(web01(&mut o, None, 1300.0).1, None);
    // Learned the bridge itself, read just now: that is the safety
    // condition, whoever wrote it.
    ev.learned = learned(&BRIDGE, 1290.0);
    let mut o = estate(&BRIDGE, Some(ev), true);
    assert_eq!(web01(&mut o, None, 1300.0).1, Some(n("gw2")));
}

#[test]
fn a_stale_reading_is_not_evidence() {
    let mut ev = evidence(3000.5);
    ev.learned = learned(&BRIDGE, 3000.0 - 1200.0);
    let mut o = estate(&BRIDGE, Some(ev), true);
    assert_eq!(web01(&mut o, None, 3000.0).1, None);
}

#[test]
fn a_reading_from_the_future_is_not_evidence() {
    let mut ev = evidence(1300.5);
    ev.learned = learned(&BRIDGE, 1300.5 + 600.0);
    let mut o = estate(&BRIDGE, Some(ev), true);
    assert_eq!(web01(&mut o, Some(1000.0), 1300.0).1, None);
}

#[test]
fn running_on_a_failover_while_the_primary_is_down_is_null_or_the_failover_really_used() {
    // The member learned its bridge, but its primary gw2 is down: it cannot
    // be talking to gw2, and nothing says which failover it uses.
    let mut ev = evidence(1300.5);
    ev.learned = learned(&BRIDGE, 1290.0);
    let mut o = estate(&BRIDGE, Some(ev.clone()), false);
    let (v, c) = web01(&mut o, Some(1000.0), 1300.0);
    assert_eq!(c, None, "{v:?}");
    // Its heartbeat arrives through gw1: that is the failover it uses.
    ev.heartbeat = heartbeat(1295.0, Some("gw1"));
    let mut o = estate(&BRIDGE, Some(ev), false);
    let (v, c) = web01(&mut o, Some(1000.0), 1300.0);
    assert_eq!(v, Verdict::HeartbeatVia(n("gw1")));
    assert_eq!(c, Some(n("gw1")));
}

#[test]
fn a_heartbeat_through_a_server_down_or_not_listed_is_not_evidence() {
    let mut ev = evidence(1300.5);
    ev.heartbeat = heartbeat(1295.0, Some("gw2"));
    let mut o = estate(&BRIDGE, Some(ev.clone()), false);
    assert_eq!(web01(&mut o, Some(1000.0), 1300.0).1, None);
    ev.heartbeat = heartbeat(1295.0, Some("ms1"));
    let mut o = estate(&BRIDGE, Some(ev), true);
    assert_eq!(web01(&mut o, Some(1000.0), 1300.0).1, None);
}

#[test]
fn a_heartbeat_through_the_new_primary_after_the_write_is_connected() {
    let mut ev = evidence(1300.5);
    ev.heartbeat = heartbeat(1295.0, Some("gw2"));
    let mut o = estate(&BRIDGE, Some(ev.clone()), true);
    assert_eq!(web01(&mut o, Some(1000.0), 1300.0).1, Some(n("gw2")));
    // The same heartbeat, but before the write: not evidence.
    ev.heartbeat = heartbeat(995.0, Some("gw2"));
    let mut o = estate(&BRIDGE, Some(ev), true);
    assert_eq!(web01(&mut o, Some(1000.0), 1300.0).1, None);
}

#[test]
fn event_1210_alone_is_not_evidence() {
    let mut ev = evidence(1300.5);
    ev.config_applied_at = Some(at(1290.0));
    ev.heartbeat = heartbeat(1295.0, None);
    let mut o = estate(&BRIDGE, Some(ev), true);
    let (v, c) = web01(&mut o, Some(1000.0), 1300.0);
    assert!(matches!(v, Verdict::NoEvidence(_)), "{v:?}");
    assert_eq!(c, None);
}

#[test]
fn clock_skew_between_provider_and_handover_is_taken_out() {
    // The provider's clock runs 10 minutes ahead of handover's. handover
    // wrote at 1000 (its clock). A reading taken at 990 (handover's clock,
    // before the write) carries 1590 on the provider's clock: compared
    // naively with 1000 it would look like evidence.
    let ahead = 600.0;
    let mut ev = evidence(1100.5 + ahead);
    ev.learned = learned(&BRIDGE, 990.0 + ahead);
    let mut o = estate(&BRIDGE, Some(ev), true);
    assert_eq!(web01(&mut o, Some(1000.0), 1100.0).1, None);
    // A reading really taken after the write counts, ahead or behind.
    for skew in [ahead, -ahead] {
        let mut ev = evidence(1300.5 + skew);
        ev.learned = learned(&BRIDGE, 1200.0 + skew);
        let mut o = estate(&BRIDGE, Some(ev), true);
        assert_eq!(
            web01(&mut o, Some(1000.0), 1300.0).1,
            Some(n("gw2")),
            "skew {skew}"
        );
    }
}

#[test]
fn members_without_evidence_keep_what_the_provider_said() {
    let mut o = estate(&["gw1"], None, true);
    let v = judge_all(&mut o, &writes(None), call(1000.0), Tolerance::default());
    assert!(v.is_empty());
    assert_eq!(o.agents[0].connected, Some(n("gw1")));
}

#[test]
fn a_gateway_without_a_live_reading_is_not_ready() {
    let mut o = estate(&["gw1"], None, true);
    let mut ev = evidence(5000.0);
    ev.heartbeat = heartbeat(5000.0 - 3600.0, Some("ms1"));
    o.gateways[1].evidence = Some(Box::new(ev.clone()));
    judge_all(&mut o, &writes(None), call(5000.0), Tolerance::default());
    assert!(!o.gateways[1].ready);
    assert_eq!(o.gateways[1].connected, None);
    // A fresh heartbeat through its primary: ready as reported, connected.
    ev.heartbeat = heartbeat(4990.0, Some("ms1"));
    o.gateways[1].evidence = Some(Box::new(ev));
    o.gateways[1].ready = true;
    judge_all(&mut o, &writes(None), call(5000.0), Tolerance::default());
    assert!(o.gateways[1].ready);
    assert_eq!(o.gateways[1].connected, Some(n("ms1")));
}

#[test]
fn stamps_read_and_write_rfc_3339() {
    let s = Stamp::parse("2026-12-07T20:31:05.1234567Z").unwrap();
    assert_eq!(s.to_string(), "2026-12-07T20:31:05.123Z");
    let e = Stamp::parse("07/12/2026 20:31").unwrap_err();
    assert!(e.contains("2026-12-07T20:31:05Z"), "{e}");
}
