//! Faults (docs/spec.md section 6): the `--faults` file and firing faults at their
//! virtual times.
//!
//! Owns parsing the faults file (YAML; unknown fields, wrong types and
//! entries with no or several actions are errors naming `file:line:column`)
//! and checking its names against an observed state; what each fault does
//! when it fires is `fire`. Parsing works on strings; reading the file is
//! the caller's job.

use crate::diag::{Diagnostic, Diagnostics, Pos};
use crate::model::{Observed, Seconds};
use crate::name::Name;
use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_saphyr::Spanned;
use std::fmt;
use std::sync::Arc;

/// A parsed faults file: faults in file order.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FaultSchedule {
    /// The faults.
    pub faults: Vec<Fault>,
}

/// One fault: what happens, and when.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Fault {
    /// Virtual time from the start of the simulation.
    pub at: Seconds,
    /// What happens.
    pub action: FaultAction,
    /// Where it was written (not saved with a simulation).
    #[serde(skip)]
    pub pos: Pos,
}

/// What a fault does.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum FaultAction {
    /// Servers (management servers, gateways, store pools) stop. Members
    /// connected to them drop and fail over at their next retry.
    Down(Vec<Name>),
    /// Servers start again; members waiting for them retry.
    Up(Vec<Name>),
    /// Members (agents, or gateways as members) stop heartbeating.
    Offline(Vec<Name>),
    /// Members come back online.
    Online(Vec<Name>),
    /// Members that never pick up new configuration.
    NeverAck(Vec<Name>),
    /// Gateways finish their set-up and start accepting members.
    Ready(Vec<Name>),
    /// From now on this share of provider calls fails transiently.
    ProviderErrorRate(f64),
    /// From now on this share of `apply` calls that succeed loses its
    /// answer: the change is made, but the caller sees a transient failure
    /// (a timeout), as when a call times out after the SDK applied it.
    ProviderLostAnswerRate(f64),
    /// `true`: the next Central Management Store failover that finishes
    /// leaves the store active in its old pool as well as in the new one
    /// (the Skype for Business 2015 RTM hazard); `false` cancels that.
    BothActive(bool),
    /// From now on store replication takes this long (replication under way
    /// restarts with it).
    ReplicationLag(Seconds),
    /// From now on the server goes down as soon as more than `above`
    /// members are connected to it (a gateway or management server that
    /// chokes on its load); its members fall back to their failovers.
    Overload {
        /// The management server or gateway.
        server: Name,
        /// The most members it carries and stays up.
        above: u32,
    },
}

impl FaultAction {
    /// The fault's key in the faults file (`down`, `neverAck`, ...).
    pub(crate) fn key(&self) -> &'static str {
        match self {
            FaultAction::Down(_) => "down",
            FaultAction::Up(_) => "up",
            FaultAction::Offline(_) => "offline",
            FaultAction::Online(_) => "online",
            FaultAction::NeverAck(_) => "neverAck",
            FaultAction::Ready(_) => "ready",
            FaultAction::ProviderErrorRate(_) => "providerErrorRate",
            FaultAction::ProviderLostAnswerRate(_) => "providerLostAnswerRate",
            FaultAction::BothActive(_) => "bothActive",
            FaultAction::ReplicationLag(_) => "replicationLag",
            FaultAction::Overload { .. } => "overload",
        }
    }
}

impl FaultAction {
    /// What the fault names, as a person reads it: the servers or members
    /// (comma-separated), or its value.
    pub fn what(&self) -> String {
        let names = |n: &[Name]| n.iter().map(|x| x.as_str()).collect::<Vec<_>>().join(", ");
        match self {
            FaultAction::Down(n)
            | FaultAction::Up(n)
            | FaultAction::Offline(n)
            | FaultAction::Online(n)
            | FaultAction::NeverAck(n)
            | FaultAction::Ready(n) => names(n),
            FaultAction::ProviderErrorRate(r) | FaultAction::ProviderLostAnswerRate(r) => {
                r.to_string()
            }
            FaultAction::BothActive(b) => b.to_string(),
            FaultAction::ReplicationLag(d) => d.to_string(),
            FaultAction::Overload { server, above } => {
                format!("{server} above {above} members")
            }
        }
    }
}

/// A fault the simulator injected: one line of a rehearsal's timeline.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Fired {
    /// When it fired, in virtual seconds from the start of the rehearsal.
    pub at: f64,
    /// The fault, by its key in the faults file (`down`, `neverAck`, ...).
    pub fault: &'static str,
    /// What it names (see [`FaultAction::what`]).
    pub what: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct FileDoc {
    #[serde(default)]
    api_version: Option<Spanned<String>>,
    #[serde(default)]
    kind: Option<Spanned<String>>,
    #[serde(default)]
    faults: Vec<Spanned<EntryDoc>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct EntryDoc {
    #[serde(default)]
    at: Option<Seconds>,
    #[serde(default)]
    down: Option<Names>,
    #[serde(default)]
    up: Option<Names>,
    #[serde(default)]
    offline: Option<Names>,
    #[serde(default)]
    online: Option<Names>,
    #[serde(default)]
    never_ack: Option<Names>,
    #[serde(default)]
    ready: Option<Names>,
    #[serde(default)]
    provider_error_rate: Option<f64>,
    #[serde(default)]
    provider_lost_answer_rate: Option<f64>,
    #[serde(default)]
    both_active: Option<bool>,
    #[serde(default)]
    replication_lag: Option<Seconds>,
    #[serde(default)]
    overload: Option<OverloadDoc>,
}

/// `overload: {server: gw9, above: 50}`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OverloadDoc {
    server: Name,
    above: u32,
}

/// One host name or a list of them.
struct Names(Vec<Name>);

impl<'de> Deserialize<'de> for Names {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Names;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a host name or a list of host names")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Names, E> {
                Name::parse(s)
                    .map(|n| Names(vec![n]))
                    .map_err(|e| E::custom(format!("{s:?}: {e}")))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Names, A::Error> {
                let mut out = Vec::new();
                while let Some(n) = seq.next_element::<Name>()? {
                    out.push(n);
                }
                Ok(Names(out))
            }
        }
        d.deserialize_any(V)
    }
}

fn pos(file: &Arc<str>, loc: &serde_saphyr::Location) -> Pos {
    Pos::new(file.clone(), loc.line() as u32, loc.column() as u32)
}

/// The parser's message without the position it appends (the diagnostic
/// carries it in front) and without advice meant for programmers.
fn yaml_message(raw: &str, at: &Pos) -> String {
    let suffix = format!(" at line {}, column {}", at.line, at.column);
    let msg = raw
        .trim_end()
        .strip_suffix(&suffix)
        .unwrap_or(raw.trim_end());
    match msg.strip_prefix("duplicate mapping key: ") {
        Some(rest) => {
            let key = rest.split(',').next().unwrap_or(rest);
            format!("duplicate key `{key}`; give each key once per entry")
        }
        None => msg.to_string(),
    }
}

impl FaultSchedule {
    /// Parses a faults file; `file` labels positions in errors.
    pub fn parse(text: &str, file: &str) -> Result<FaultSchedule, Diagnostics> {
        let file: Arc<str> = Arc::from(file);
        let doc: FileDoc = serde_saphyr::from_str(text).map_err(|e| {
            let e = e.without_snippet();
            let at = e
                .location()
                .map(|l| pos(&file, &l))
                .unwrap_or_else(|| Pos::new(file.clone(), 1, 1));
            let msg = yaml_message(&e.to_string(), &at);
            Diagnostics::from(Diagnostic::at(at, format!("faults file: {msg}")))
        })?;
        let mut diags = Vec::new();
        if let Some(v) = &doc.api_version
            && v.value != crate::model::API_VERSION
        {
            diags.push(Diagnostic::at(
                pos(&file, &v.referenced),
                format!(
                    "apiVersion {:?} is not supported; expected handover/v1",
                    v.value
                ),
            ));
        }
        if let Some(k) = &doc.kind
            && k.value != "Faults"
        {
            diags.push(Diagnostic::at(
                pos(&file, &k.referenced),
                format!(
                    "kind {:?} is wrong for a faults file; expected Faults",
                    k.value
                ),
            ));
        }
        let mut faults = Vec::new();
        for entry in doc.faults {
            let at = pos(&file, &entry.referenced);
            let e = entry.value;
            let mut actions = Vec::new();
            let names = [
                (e.down, FaultAction::Down as fn(Vec<Name>) -> FaultAction),
                (e.up, FaultAction::Up),
                (e.offline, FaultAction::Offline),
                (e.online, FaultAction::Online),
                (e.never_ack, FaultAction::NeverAck),
                (e.ready, FaultAction::Ready),
            ];
            for (v, make) in names {
                if let Some(Names(list)) = v {
                    actions.push(make(list));
                }
            }
            let rates = [
                (
                    e.provider_error_rate,
                    FaultAction::ProviderErrorRate as fn(f64) -> FaultAction,
                ),
                (
                    e.provider_lost_answer_rate,
                    FaultAction::ProviderLostAnswerRate,
                ),
            ];
            let mut bad_rate = false;
            for (v, make) in rates {
                let Some(rate) = v else { continue };
                let action = make(rate);
                if !(0.0..=1.0).contains(&rate) {
                    diags.push(Diagnostic::at(
                        at.clone(),
                        format!(
                            "{} {rate} is not a share; expected a number from 0 to 1",
                            action.key()
                        ),
                    ));
                    bad_rate = true;
                }
                actions.push(action);
            }
            if bad_rate {
                continue;
            }
            if let Some(on) = e.both_active {
                actions.push(FaultAction::BothActive(on));
            }
            if let Some(lag) = e.replication_lag {
                actions.push(FaultAction::ReplicationLag(lag));
            }
            if let Some(o) = e.overload {
                actions.push(FaultAction::Overload {
                    server: o.server,
                    above: o.above,
                });
            }
            match actions.len() {
                1 => faults.push(Fault {
                    at: e.at.unwrap_or_default(),
                    action: actions.pop().expect("one action"),
                    pos: at,
                }),
                0 => diags.push(Diagnostic::at(at, "fault has no action").with_hint(
                    "give one of down, up, offline, online, neverAck, ready, providerErrorRate, providerLostAnswerRate, bothActive, replicationLag, overload",
                )),
                _ => diags.push(
                    Diagnostic::at(
                        at,
                        format!(
                            "fault has several actions ({}); give one per entry",
                            actions
                                .iter()
                                .map(FaultAction::key)
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    )
                    .with_hint("split it into entries with the same `at`"),
                ),
            }
        }
        if diags.is_empty() {
            Ok(FaultSchedule { faults })
        } else {
            Err(Diagnostics(diags))
        }
    }

    /// Reads and parses a faults file (the one edge function here: the
    /// `simulate --faults FILE` command calls it).
    pub fn load(path: &std::path::Path) -> Result<FaultSchedule, Diagnostics> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            Diagnostics::from(Diagnostic::general(format!(
                "{}: cannot read the faults file: {e}",
                path.display()
            )))
        })?;
        FaultSchedule::parse(&text, &path.display().to_string())
    }

    /// Checks that every name exists in `observed` with the right role:
    /// `down`/`up` name servers or store pools, `offline`/`online`/`neverAck`
    /// name agents or gateways, `ready` names gateways.
    pub fn check_names(&self, observed: &Observed) -> Result<(), Diagnostics> {
        let servers = || {
            observed
                .management_servers
                .iter()
                .map(|s| &s.name)
                .chain(observed.gateways.iter().map(|g| &g.name))
                .chain(
                    observed
                        .management_store
                        .iter()
                        .flat_map(|s| s.pools.iter().map(|p| &p.name)),
                )
        };
        let members = || {
            observed
                .gateways
                .iter()
                .chain(observed.agents.iter())
                .map(|m| &m.name)
        };
        let gateways = || observed.gateways.iter().map(|g| &g.name);
        let mut diags = Vec::new();
        for f in &self.faults {
            let one;
            let (list, what): (&[Name], &str) = match &f.action {
                FaultAction::Overload { server, .. } => {
                    one = [server.clone()];
                    (&one, "a management server or gateway")
                }
                FaultAction::Down(l) | FaultAction::Up(l) => {
                    (l, "a management server, gateway or store pool")
                }
                FaultAction::Offline(l) | FaultAction::Online(l) | FaultAction::NeverAck(l) => {
                    (l, "an agent or gateway")
                }
                FaultAction::Ready(l) => (l, "a gateway"),
                FaultAction::ProviderErrorRate(_) | FaultAction::ProviderLostAnswerRate(_) => {
                    (&[], "")
                }
                FaultAction::BothActive(_) | FaultAction::ReplicationLag(_) => {
                    if observed.management_store.is_none() {
                        diags.push(Diagnostic::at(
                            f.pos.clone(),
                            format!(
                                "{} needs a Central Management Store, and the observed state has none",
                                f.action.key()
                            ),
                        ));
                    }
                    (&[], "")
                }
            };
            for n in list {
                let known = match &f.action {
                    FaultAction::Down(_) | FaultAction::Up(_) => servers().any(|s| s == n),
                    FaultAction::Overload { .. } => {
                        observed.management_servers.iter().any(|s| &s.name == n)
                            || gateways().any(|s| s == n)
                    }
                    FaultAction::Ready(_) => gateways().any(|s| s == n),
                    _ => members().any(|s| s == n),
                };
                if !known {
                    diags.push(Diagnostic::at(
                        f.pos.clone(),
                        format!(
                            "{} names {n}, which is not {what} of the observed state",
                            f.action.key()
                        ),
                    ));
                }
            }
        }
        if diags.is_empty() {
            Ok(())
        } else {
            Err(Diagnostics(diags))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::Sim;

    fn n(s: &str) -> Name {
        Name::parse(s).unwrap()
    }

    #[test]
    fn parses_the_spec_example() {
        let text = "faults:
  - at: 120s
    down: gw1.dmz.contoso.local
  - at: 900s
    up: gw1.dmz.contoso.local
  - offline: [web07.dmz.contoso.local]
  - at: 600s
    online: [web07.dmz.contoso.local]
  - neverAck: [web09.dmz.contoso.local]
  - at: 300s
    ready: gw2.dmz.contoso.local
  - providerErrorRate: 0.05
";
        let s = FaultSchedule::parse(text, "f.yaml").unwrap();
        assert_eq!(s.faults.len(), 7);
        assert_eq!(s.faults[0].at, Seconds(120));
        assert_eq!(
            s.faults[0].action,
            FaultAction::Down(vec![n("gw1.dmz.contoso.local")])
        );
        assert_eq!(s.faults[2].at, Seconds(0));
        assert_eq!(
            s.faults[2].action,
            FaultAction::Offline(vec![n("web07.dmz.contoso.local")])
        );
        assert_eq!(s.faults[6].action, FaultAction::ProviderErrorRate(0.05));
        assert_eq!((s.faults[1].pos.line, s.faults[1].pos.column), (4, 5));
    }

    #[test]
    fn rejects_unknown_fields_with_position() {
        let err =
            FaultSchedule::parse("faults:\n  - at: 1s\n    dwn: gw1\n", "f.yaml").unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with("f.yaml:3:"), "{text}");
        assert!(text.contains("dwn"), "{text}");
    }

    #[test]
    fn rejects_bad_durations_names_and_rates() {
        let err =
            FaultSchedule::parse("faults:\n  - at: 2d\n    down: gw1\n", "f.yaml").unwrap_err();
        assert!(err.to_string().starts_with("f.yaml:2:"), "{err}");
        let err = FaultSchedule::parse("faults:\n  - down: 'gw 1'\n", "f.yaml").unwrap_err();
        assert!(err.to_string().starts_with("f.yaml:2:"), "{err}");
        let err =
            FaultSchedule::parse("faults:\n  - providerErrorRate: 1.5\n", "f.yaml").unwrap_err();
        assert_eq!(
            err.to_string(),
            "f.yaml:2:5: providerErrorRate 1.5 is not a share; expected a number from 0 to 1"
        );
    }

    #[test]
    fn an_entry_needs_exactly_one_action() {
        let err = FaultSchedule::parse("faults:\n  - at: 5s\n", "f.yaml").unwrap_err();
        assert!(
            err.to_string()
                .starts_with("f.yaml:2:5: fault has no action"),
            "{err}"
        );
        let err =
            FaultSchedule::parse("faults:\n  - down: gw1\n    up: gw2\n", "f.yaml").unwrap_err();
        assert!(
            err.to_string().contains("several actions (down, up)"),
            "{err}"
        );
    }

    #[test]
    fn a_lost_answer_is_a_change_made_and_reported_as_a_timeout() {
        let s = FaultSchedule::parse("faults:\n  - providerLostAnswerRate: 1\n", "f.yaml").unwrap();
        assert_eq!(s.faults[0].action, FaultAction::ProviderLostAnswerRate(1.0));
        let err = FaultSchedule::parse("faults:\n  - providerLostAnswerRate: -0.1\n", "f.yaml")
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "f.yaml:2:5: providerLostAnswerRate -0.1 is not a share; expected a number from 0 to 1"
        );
        let observed = crate::load::observed_str(
            "apiVersion: handover/v1\nkind: Observed\nmanagementServers: [{name: ms1}, {name: ms2}]\n\
             agents: [{name: a1, primary: ms1, connected: ms1}]\n",
            "o.yaml",
        )
        .unwrap();
        let mut sim =
            Sim::try_new(&observed, crate::sim::SimConfig::seeded(1).with_faults(s)).unwrap();
        sim.advance(std::time::Duration::from_secs(1));
        let op = crate::provider::Operation::SetParents {
            kind: crate::model::MemberKind::Agent,
            name: n("a1"),
            parents: crate::model::Parents {
                primary: n("ms2"),
                failover: vec![n("ms1")],
            },
        };
        // Every answer lost: the caller sees a transient failure, the
        // management group has the new parents, and a repeat (the retry)
        // changes nothing more.
        let e = sim.apply_now(&op).unwrap_err();
        assert!(e.is_transient(), "{e}");
        assert!(e.to_string().contains("applied"), "{e}");
        assert_eq!(sim.member(&n("a1")).unwrap().configured.primary, n("ms2"));
        assert!(sim.apply_now(&op).is_err());
        let c = sim.calls();
        assert_eq!((c.apply, c.changes, c.transient_failures), (2, 1, 2));
        // Observations are not affected (nothing to lose but the answer).
        assert!(sim.observe_now(&crate::provider::Scope::All).is_ok());
        // A refused call is refused, not lost.
        let bad = crate::provider::Operation::RetireGateway { name: n("nope") };
        assert!(!sim.apply_now(&bad).unwrap_err().is_transient());
    }

    #[test]
    fn parses_the_store_faults() {
        let s = FaultSchedule::parse(
            "faults:\n  - at: 60s\n    bothActive: true\n  - replicationLag: 20m\n",
            "f.yaml",
        )
        .unwrap();
        assert_eq!(s.faults[0].action, FaultAction::BothActive(true));
        assert_eq!(s.faults[0].at, Seconds(60));
        assert_eq!(
            s.faults[1].action,
            FaultAction::ReplicationLag(Seconds(1200))
        );
        let err =
            FaultSchedule::parse("faults:\n  - bothActive: yes please\n", "f.yaml").unwrap_err();
        assert!(err.to_string().starts_with("f.yaml:2:"), "{err}");
        // A store fault needs a store.
        let observed = crate::load::observed_str(
            "apiVersion: handover/v1\nkind: Observed\nmanagementServers: [{name: ms1}]\n",
            "o.yaml",
        )
        .unwrap();
        let err = s.check_names(&observed).unwrap_err();
        assert_eq!(err.len(), 2);
        assert!(
            err.0[0]
                .to_string()
                .starts_with("f.yaml:2:5: bothActive needs a Central Management Store"),
            "{err}"
        );
    }

    #[test]
    fn an_overloaded_server_goes_down_and_its_members_fail_over() {
        let s = FaultSchedule::parse("faults:\n  - overload: {server: gw2, above: 1}\n", "f.yaml")
            .unwrap();
        assert_eq!(
            s.faults[0].action,
            FaultAction::Overload {
                server: n("gw2"),
                above: 1
            }
        );
        assert_eq!(s.faults[0].action.what(), "gw2 above 1 members");
        let observed = crate::load::observed_str(
            "apiVersion: handover/v1\nkind: Observed\nmanagementServers: [{name: ms1}]\n\
             gateways: [{name: gw1, primary: ms1, connected: ms1}, {name: gw2, primary: ms1, connected: ms1}]\n\
             agents: [{name: a1, primary: gw1, connected: gw1}, {name: a2, primary: gw1, connected: gw1}]\n",
            "o.yaml",
        )
        .unwrap();
        assert!(s.check_names(&observed).is_ok());
        let mut sim =
            Sim::try_new(&observed, crate::sim::SimConfig::seeded(1).with_faults(s)).unwrap();
        sim.advance(std::time::Duration::from_secs(1));
        let bridge = |a: &str| crate::provider::Operation::SetParents {
            kind: crate::model::MemberKind::Agent,
            name: n(a),
            parents: crate::model::Parents {
                primary: n("gw2"),
                failover: vec![n("gw1")],
            },
        };
        // One member on gw2 is within its load.
        sim.apply_now(&bridge("a1")).unwrap();
        sim.advance(std::time::Duration::from_secs(600));
        assert_eq!(sim.member(&n("a1")).unwrap().connected, Some(n("gw2")));
        // The second takes it over: gw2 goes down, both fail over to gw1.
        sim.apply_now(&bridge("a2")).unwrap();
        sim.advance(std::time::Duration::from_secs(600));
        let o = sim.snapshot(&crate::provider::Scope::All);
        let gw2 = o.gateways.iter().find(|g| g.name == n("gw2")).unwrap();
        assert!(!gw2.up);
        for a in ["a1", "a2"] {
            assert_eq!(sim.member(&n(a)).unwrap().connected, Some(n("gw1")), "{a}");
        }
        assert!(sim.stranded().is_empty());
        // Names are checked: an agent is not a server.
        let bad = FaultSchedule::parse("faults:\n  - overload: {server: a1, above: 5}\n", "f.yaml")
            .unwrap();
        let err = bad.check_names(&observed).unwrap_err();
        assert!(
            err.to_string().starts_with(
                "f.yaml:2:5: overload names a1, which is not a management server or gateway"
            ),
            "{err}"
        );
        let err =
            FaultSchedule::parse("faults:\n  - overload: {server: gw2}\n", "f.yaml").unwrap_err();
        assert!(err.to_string().contains("above"), "{err}");
    }

    #[test]
    fn checks_names_against_the_observed_state() {
        let observed = crate::load::observed_str(
            "apiVersion: handover/v1\nkind: Observed\nmanagementServers: [{name: ms1}]\n\
             gateways: [{name: gw1, primary: ms1, connected: ms1}]\n\
             agents: [{name: a1, primary: gw1, connected: gw1}]\n",
            "o.yaml",
        )
        .unwrap();
        let ok = FaultSchedule::parse(
            "faults:\n  - down: gw1\n  - offline: [a1, gw1]\n  - ready: gw1\n",
            "f.yaml",
        )
        .unwrap();
        assert!(ok.check_names(&observed).is_ok());
        let bad =
            FaultSchedule::parse("faults:\n  - ready: a1\n  - down: nope\n", "f.yaml").unwrap();
        let err = bad.check_names(&observed).unwrap_err();
        assert_eq!(err.len(), 2);
        assert!(
            err.0[0]
                .to_string()
                .starts_with("f.yaml:2:5: ready names a1"),
            "{err}"
        );
    }
}
