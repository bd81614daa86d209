//! The exec provider protocol, versions [`PROTOCOL_VERSION`] and
//! [`SESSION_PROTOCOL`]: the JSON documents handover and an external
//! provider program exchange. Version 1: one request on the program's
//! stdin, one response on its stdout, one process per request. Version 2
//! (a session): the same documents plus an `id`, one JSON line each way,
//! many requests per process, and `apply` carrying a batch of operations.
//!
//! Owns the wire shapes only; `docs/provider-protocol.md` and
//! `docs/provider-protocol.schema.json` describe them for people writing
//! providers, and a test checks these types against that schema. Must not
//! spawn processes or do any other I/O (that is [`super::exec`]).

use super::{Operation, Scope};
use crate::model::Observed;
use crate::name::Name;
use serde::{Deserialize, Serialize};

/// The one-shot protocol version: every provider speaks it, and
/// `capabilities` is always asked in it. A one-shot response carrying
/// another version is refused.
pub const PROTOCOL_VERSION: u32 = 1;

/// The session protocol version: JSON lines with ids on a long-lived
/// process, batched `apply` (only with a provider whose capabilities say
/// `"session": true` and list 2 in `protocols`).
pub const SESSION_PROTOCOL: u32 = 2;

/// What handover asks, written as one JSON object on the provider's stdin.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Request {
    /// [`PROTOCOL_VERSION`], or [`SESSION_PROTOCOL`] inside a session.
    pub protocol: u32,
    /// Version 2: the request's number in its session; the response echoes
    /// it. Absent in version 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<u64>,
    /// The request and its argument.
    #[serde(flatten)]
    pub body: RequestBody,
}

/// The three requests.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "request", rename_all = "snake_case")]
pub enum RequestBody {
    /// Which operations the provider supports.
    Capabilities,
    /// Read the estate (or some members of it).
    Observe {
        /// What to read.
        scope: WireScope,
    },
    /// Perform one operation (version 1: `operation`) or a batch of them
    /// (version 2: `operations`, at most `max_batch`). Exactly one of the
    /// two is present.
    Apply {
        /// Version 1: the operation, in the shape of [`Operation`] (tag
        /// `op`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        operation: Option<Operation>,
        /// Version 2: the operations, in order; the response has one
        /// result for each.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        operations: Vec<Operation>,
    },
}

/// [`Scope`] on the wire: `{"kind":"all"}` or
/// `{"kind":"members","members":[...]}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum WireScope {
    /// The whole estate.
    All,
    /// These members (agents or gateways), plus every management server.
    Members {
        /// The members' host names.
        members: Vec<Name>,
    },
}

impl From<&Scope> for WireScope {
    fn from(s: &Scope) -> Self {
        match s {
            Scope::All => WireScope::All,
            Scope::Members(m) => WireScope::Members { members: m.clone() },
        }
    }
}

impl From<WireScope> for Scope {
    fn from(s: WireScope) -> Self {
        match s {
            WireScope::All => Scope::All,
            WireScope::Members { members } => Scope::Members(members),
        }
    }
}

impl Request {
    /// A `capabilities` request.
    pub fn capabilities() -> Self {
        Request {
            protocol: PROTOCOL_VERSION,
            id: None,
            body: RequestBody::Capabilities,
        }
    }

    /// An `observe` request for `scope`.
    pub fn observe(scope: &Scope) -> Self {
        Request {
            protocol: PROTOCOL_VERSION,
            id: None,
            body: RequestBody::Observe {
                scope: scope.into(),
            },
        }
    }

    /// A version 1 `apply` request for `op`.
    pub fn apply(op: &Operation) -> Self {
        Request {
            protocol: PROTOCOL_VERSION,
            id: None,
            body: RequestBody::Apply {
                operation: Some(op.clone()),
                operations: Vec::new(),
            },
        }
    }

    /// A version 2 `apply` request for a batch of operations.
    pub fn apply_batch(ops: &[Operation]) -> Self {
        Request {
            protocol: SESSION_PROTOCOL,
            id: None,
            body: RequestBody::Apply {
                operation: None,
                operations: ops.to_vec(),
            },
        }
    }

    /// The same request in version 2 with the session number `id`.
    pub fn in_session(mut self, id: u64) -> Self {
        if let RequestBody::Apply {
            operation,
            operations,
        } = &mut self.body
            && let Some(op) = operation.take()
        {
            operations.push(op);
        }
        self.protocol = SESSION_PROTOCOL;
        self.id = Some(id);
        self
    }

    /// The request's name, for messages: `capabilities`, `observe`, `apply`.
    pub fn name(&self) -> &'static str {
        self.body.name()
    }
}

impl RequestBody {
    /// The operations of an `apply` (its one `operation`, or its batch);
    /// empty for other requests.
    pub fn operations(&self) -> Vec<&Operation> {
        match self {
            RequestBody::Apply {
                operation,
                operations,
            } => operation.iter().chain(operations.iter()).collect(),
            _ => Vec::new(),
        }
    }

    /// The request's name as on the wire.
    pub fn name(&self) -> &'static str {
        match self {
            RequestBody::Capabilities => "capabilities",
            RequestBody::Observe { .. } => "observe",
            RequestBody::Apply { .. } => "apply",
        }
    }
}

/// What a provider answers, one JSON object on its stdout. One shape for
/// every request: `ok` says which of the other fields matter. Unknown
/// fields are ignored, so a provider may add its own.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Response {
    /// The protocol version of the request it answers: [`PROTOCOL_VERSION`]
    /// for a one-shot call, [`SESSION_PROTOCOL`] inside a session.
    pub protocol: u32,
    /// Version 2: the `id` of the request it answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<u64>,
    /// True when the request succeeded.
    pub ok: bool,
    /// `ok: false`: what went wrong.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<WireError>,
    /// `capabilities`: what the provider supports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capabilities: Option<Capabilities>,
    /// `observe`: the observed state (`kind: Observed`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed: Option<Observed>,
    /// `apply`: whether the operation changed anything (false when its
    /// effect already held). Informational.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changed: Option<bool>,
    /// Version 2 `apply`, ok: one result per operation of the batch, in
    /// order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub results: Option<Vec<OpResult>>,
}

/// The outcome of one operation of a version 2 batch. One operation's
/// error does not fail the others.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpResult {
    /// True when this operation succeeded (or its effect already held).
    pub ok: bool,
    /// `ok`: whether it changed anything. Informational.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changed: Option<bool>,
    /// Not `ok`: what went wrong.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<WireError>,
}

impl OpResult {
    /// A success.
    pub fn ok(changed: bool) -> Self {
        OpResult {
            ok: true,
            changed: Some(changed),
            error: None,
        }
    }

    /// A failure of this operation alone.
    pub fn error(message: impl Into<String>, retryable: bool) -> Self {
        OpResult {
            ok: false,
            changed: None,
            error: Some(WireError {
                message: message.into(),
                retryable,
            }),
        }
    }
}

/// A provider's own account of a failure.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireError {
    /// For the operator: what failed and what to do.
    pub message: String,
    /// True when trying again later may succeed (a busy SDK service, a
    /// lost connection). Absent means false.
    #[serde(default)]
    pub retryable: bool,
}

/// What a provider supports.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Capabilities {
    /// The `op` values of [`Operation`] it can apply: `set_parents`,
    /// `retire_gateway`, `store_failover`.
    pub operations: Vec<String>,
    /// Its name, for logs (`handover-scom`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// Its version, for logs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The protocol versions it speaks (`[1, 2]`); absent means `[1]`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub protocols: Vec<u32>,
    /// True when it serves a version 2 session: started once and kept,
    /// one JSON line per request and per response. Absent means false.
    #[serde(default, skip_serializing_if = "is_false")]
    pub session: bool,
    /// Operations per version 2 `apply`; absent means 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_batch: Option<u32>,
    /// Sessions handover may run at once (for SDKs where a call blocks);
    /// absent means 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parallel: Option<u32>,
}

fn is_false(b: &bool) -> bool {
    !*b
}

impl Capabilities {
    /// Capabilities listing `operations`, version 1 only.
    pub fn v1(operations: Vec<String>) -> Self {
        Capabilities {
            operations,
            provider: None,
            version: None,
            protocols: Vec::new(),
            session: false,
            max_batch: None,
            parallel: None,
        }
    }

    /// True when handover should run a version 2 session with it.
    pub fn sessions(&self) -> bool {
        self.session && self.protocols.contains(&SESSION_PROTOCOL)
    }

    /// Operations per batch, at least 1 (1 without a session).
    pub fn batch(&self) -> usize {
        if self.sessions() {
            self.max_batch.unwrap_or(1).max(1) as usize
        } else {
            1
        }
    }

    /// True when `op` is among the supported operations.
    pub fn supports(&self, op: &Operation) -> bool {
        self.operations.iter().any(|o| o == op_name(op))
    }
}

/// The `op` tag of an operation, as on the wire.
pub fn op_name(op: &Operation) -> &'static str {
    match op {
        Operation::SetParents { .. } => "set_parents",
        Operation::RetireGateway { .. } => "retire_gateway",
        Operation::StoreFailover { .. } => "store_failover",
    }
}

impl Response {
    /// A successful response with nothing in it (fill one field).
    pub fn ok() -> Self {
        Response {
            protocol: PROTOCOL_VERSION,
            id: None,
            ok: true,
            error: None,
            capabilities: None,
            observed: None,
            changed: None,
            results: None,
        }
    }

    /// A failure response.
    pub fn error(message: impl Into<String>, retryable: bool) -> Self {
        Response {
            ok: false,
            error: Some(WireError {
                message: message.into(),
                retryable,
            }),
            ..Response::ok()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{MemberKind, Parents};

    fn n(s: &str) -> Name {
        Name::parse(s).unwrap()
    }

    #[test]
    fn requests_have_the_documented_shape() {
        let op = Operation::SetParents {
            kind: MemberKind::Agent,
            name: n("web01.contoso.local"),
            parents: Parents {
                primary: n("gw2.contoso.local"),
                failover: vec![n("gw1.contoso.local")],
            },
        };
        assert_eq!(
            serde_json::to_string(&Request::apply(&op)).unwrap(),
            r#"{"protocol":1,"request":"apply","operation":{"op":"set_parents","kind":"agent","name":"web01.contoso.local","primary":"gw2.contoso.local","failover":["gw1.contoso.local"]}}"#
        );
        assert_eq!(
            serde_json::to_string(&Request::observe(&Scope::Members(vec![n("a")]))).unwrap(),
            r#"{"protocol":1,"request":"observe","scope":{"kind":"members","members":["a"]}}"#
        );
        assert_eq!(
            serde_json::to_string(&Request::observe(&Scope::All)).unwrap(),
            r#"{"protocol":1,"request":"observe","scope":{"kind":"all"}}"#
        );
        assert_eq!(
            serde_json::to_string(&Request::capabilities()).unwrap(),
            r#"{"protocol":1,"request":"capabilities"}"#
        );
    }

    #[test]
    fn requests_round_trip() {
        for r in [
            Request::capabilities(),
            Request::observe(&Scope::All),
            Request::apply(&Operation::RetireGateway { name: n("gw9") }),
        ] {
            let s = serde_json::to_string(&r).unwrap();
            assert_eq!(serde_json::from_str::<Request>(&s).unwrap(), r);
        }
    }

    #[test]
    fn error_without_retryable_is_permanent_and_unknown_fields_are_ignored() {
        let r: Response = serde_json::from_str(
            r#"{"protocol":1,"ok":false,"error":{"message":"no"},"x-vendor":42}"#,
        )
        .unwrap();
        assert!(!r.error.unwrap().retryable);
    }

    #[test]
    fn an_observation_can_report_the_store_active_in_two_pools() {
        // `pools[].active` lets a provider report the Skype for Business
        // 2015 RTM hazard; the union with `activePool` is what counts.
        let r: Response = serde_json::from_str(
            r#"{"protocol":1,"ok":true,"observed":{"apiVersion":"handover/v1","kind":"Observed","managementStore":{"activePool":"pool1","pools":[{"name":"pool1"},{"name":"pool2","active":true}],"replicationComplete":true}}}"#,
        )
        .unwrap();
        let st = r.observed.unwrap().management_store.unwrap();
        assert_eq!(st.active_pools(), [&n("pool1"), &n("pool2")]);
        // Absent means false, and is not written back.
        let back = serde_json::to_string(&st).unwrap();
        assert_eq!(
            back,
            r#"{"activePool":"pool1","pools":[{"name":"pool1","up":true},{"name":"pool2","up":true,"active":true}],"replicationComplete":true}"#
        );
        // `activePool: null` with no pool marked: active in no pool
        // (unknown, never a pool down).
        let st: crate::model::ObservedStore =
            serde_json::from_str(r#"{"activePool":null,"pools":[{"name":"pool1"}]}"#).unwrap();
        assert!(st.active_pools().is_empty());
    }

    #[test]
    fn an_observation_can_report_the_health_of_servers_and_gateways() {
        // Optional, per server (docs/provider-protocol.md section 4); an
        // absent `health` is not reported and not judged.
        let r: Response = serde_json::from_str(
            r#"{"protocol":1,"ok":true,"observed":{"apiVersion":"handover/v1","kind":"Observed","managementServers":[{"name":"ms1","health":{"state":"healthy","sendQueueSize":40}},{"name":"ms2"}],"gateways":[{"name":"gw9","primary":"ms1","connected":"ms1","health":{"state":"critical","sendQueueSize":12000}}]}}"#,
        )
        .unwrap();
        let o = r.observed.unwrap();
        assert_eq!(
            o.health[&n("gw9")],
            crate::model::Health {
                state: Some(crate::model::HealthState::Critical),
                send_queue_size: Some(12000)
            }
        );
        assert_eq!(o.health[&n("ms1")].send_queue_size, Some(40));
        assert!(!o.health.contains_key(&n("ms2")));
        // A state outside the four words is refused, naming the word.
        let e = serde_json::from_str::<Response>(
            r#"{"protocol":1,"ok":true,"observed":{"managementServers":[{"name":"ms1","health":{"state":"Error"}}]}}"#,
        )
        .unwrap_err();
        assert!(
            e.to_string().contains("unknown variant `Error`, expected one of `healthy`, `warning`, `critical`, `unknown`"),
            "{e}"
        );
    }

    #[test]
    fn capabilities_match_op_tags() {
        let c = Capabilities::v1(vec!["retire_gateway".into()]);
        assert!(c.supports(&Operation::RetireGateway { name: n("gw") }));
        let sp = Operation::SetParents {
            kind: MemberKind::Gateway,
            name: n("gw"),
            parents: Parents::primary_only(n("ms")),
        };
        assert!(!c.supports(&sp));
        // op_name agrees with serde's tag.
        let v = serde_json::to_value(&sp).unwrap();
        assert_eq!(v["op"], op_name(&sp));
    }
}
