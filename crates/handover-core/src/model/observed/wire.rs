//! The documented YAML/JSON shape of [`Observed`]: each management
//! server's and gateway's `health` written inside its own entry, while the
//! model keeps it beside the lists ([`Observed::health`]).
//!
//! Owns only that mapping, both ways. Unknown fields of a management
//! server are refused as before; a gateway's or agent's unknown fields are
//! ignored as before (serde cannot refuse them beside `flatten`; the YAML
//! loader refuses them with positions). An agent's `health` is ignored:
//! only parents' health is judged. Must not touch I/O.

use super::{Observed, ObservedMember, ObservedServer, ObservedStore, api_version, kind, yes};
use crate::model::health::Health;
use crate::name::Name;
use serde::ser::SerializeStruct;
use serde::{Deserialize, Serialize, Serializer};
use std::collections::BTreeMap;

/// `kind: Observed` as read.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct ObservedIn {
    #[serde(default = "api_version")]
    api_version: String,
    #[serde(default = "kind")]
    kind: String,
    #[serde(default)]
    management_servers: Vec<ServerIn>,
    #[serde(default)]
    gateways: Vec<GatewayIn>,
    #[serde(default)]
    agents: Vec<ObservedMember>,
    #[serde(default)]
    management_store: Option<ObservedStore>,
}

/// A management server as read: [`ObservedServer`] and its health.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ServerIn {
    name: Name,
    #[serde(default = "yes")]
    up: bool,
    #[serde(default)]
    health: Option<Health>,
}

/// A gateway as read: [`ObservedMember`] and its health.
#[derive(Deserialize)]
struct GatewayIn {
    #[serde(flatten)]
    member: ObservedMember,
    #[serde(default)]
    health: Option<Health>,
}

impl From<ObservedIn> for Observed {
    fn from(w: ObservedIn) -> Observed {
        let mut health = BTreeMap::new();
        let management_servers = w
            .management_servers
            .into_iter()
            .map(|s| {
                if let Some(h) = s.health {
                    health.insert(s.name.clone(), h);
                }
                ObservedServer {
                    name: s.name,
                    up: s.up,
                }
            })
            .collect();
        let gateways = w
            .gateways
            .into_iter()
            .map(|g| {
                if let Some(h) = g.health {
                    health.insert(g.member.name.clone(), h);
                }
                g.member
            })
            .collect();
        Observed {
            api_version: w.api_version,
            kind: w.kind,
            management_servers,
            gateways,
            agents: w.agents,
            management_store: w.management_store,
            health,
        }
    }
}

/// A management server as written, with its health when reported.
#[derive(Serialize)]
struct ServerOut<'a> {
    #[serde(flatten)]
    server: &'a ObservedServer,
    #[serde(skip_serializing_if = "Option::is_none")]
    health: Option<&'a Health>,
}

/// A gateway as written, with its health when reported.
#[derive(Serialize)]
struct GatewayOut<'a> {
    #[serde(flatten)]
    member: &'a ObservedMember,
    #[serde(skip_serializing_if = "Option::is_none")]
    health: Option<&'a Health>,
}

impl Serialize for Observed {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let n = 5 + usize::from(self.management_store.is_some());
        let mut st = s.serialize_struct("Observed", n)?;
        st.serialize_field("apiVersion", &self.api_version)?;
        st.serialize_field("kind", &self.kind)?;
        if self.health.is_empty() {
            st.serialize_field("managementServers", &self.management_servers)?;
            st.serialize_field("gateways", &self.gateways)?;
        } else {
            let servers: Vec<ServerOut> = self
                .management_servers
                .iter()
                .map(|m| ServerOut {
                    server: m,
                    health: self.health.get(&m.name),
                })
                .collect();
            st.serialize_field("managementServers", &servers)?;
            let gateways: Vec<GatewayOut> = self
                .gateways
                .iter()
                .map(|g| GatewayOut {
                    member: g,
                    health: self.health.get(&g.name),
                })
                .collect();
            st.serialize_field("gateways", &gateways)?;
        }
        st.serialize_field("agents", &self.agents)?;
        if let Some(store) = &self.management_store {
            st.serialize_field("managementStore", store)?;
        }
        st.end()
    }
}

#[cfg(test)]
mod tests {
    use crate::model::{Health, HealthState, Observed};

    const WITH_HEALTH: &str = r#"{"apiVersion":"handover/v1","kind":"Observed","managementServers":[{"name":"ms1","up":true,"health":{"state":"healthy","sendQueueSize":12}},{"name":"ms2","up":true}],"gateways":[{"name":"gw9","primary":"ms1","failover":[],"connected":"ms1","health":{"state":"critical"}}],"agents":[]}"#;

    #[test]
    fn health_is_read_from_each_server_and_written_back_in_place() {
        let o: Observed = serde_json::from_str(WITH_HEALTH).unwrap();
        assert_eq!(o.health.len(), 2);
        let n = |s: &str| -> crate::name::Name { s.parse().unwrap() };
        assert_eq!(
            o.health[&n("ms1")],
            Health {
                state: Some(HealthState::Healthy),
                send_queue_size: Some(12)
            }
        );
        assert_eq!(o.health[&n("GW9")].state, Some(HealthState::Critical));
        assert_eq!(serde_json::to_string(&o).unwrap(), WITH_HEALTH);
    }

    #[test]
    fn without_health_the_shape_is_unchanged() {
        let text = r#"{"apiVersion":"handover/v1","kind":"Observed","managementServers":[{"name":"ms1","up":false}],"gateways":[],"agents":[{"name":"a1","primary":"ms1","failover":["ms2"],"connected":null}],"managementStore":{"activePool":null,"pools":[],"replicationComplete":false}}"#;
        let o: Observed = serde_json::from_str(text).unwrap();
        assert!(o.health.is_empty());
        assert_eq!(serde_json::to_string(&o).unwrap(), text);
        assert_eq!(
            serde_json::to_string(&Observed::new()).unwrap(),
            r#"{"apiVersion":"handover/v1","kind":"Observed","managementServers":[],"gateways":[],"agents":[]}"#
        );
    }

    #[test]
    fn a_bad_health_value_or_field_is_refused_with_its_name() {
        for (bad, want) in [
            (r#"{"state":"red"}"#, "unknown variant `red`"),
            (r#"{"sendQueueSize":"lots"}"#, "invalid type"),
            (r#"{"queue":3}"#, "unknown field `queue`"),
        ] {
            let text = format!(r#"{{"managementServers":[{{"name":"ms1","health":{bad}}}]}}"#);
            let e = serde_json::from_str::<Observed>(&text).unwrap_err();
            assert!(e.to_string().contains(want), "{bad}: {e}");
        }
    }
}
