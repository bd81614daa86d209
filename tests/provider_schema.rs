//! The protocol's JSON Schema (docs/provider-protocol.schema.json) agrees
//! with the wire types: everything handover sends and the test provider
//! answers validates; the SCOM provider's fixtures validate and are
//! accepted by `ExecProvider`; and documents handover refuses, the schema
//! refuses too.

mod common;

use handover::model::{MemberKind, Observed, ObservedMember, ObservedServer};
use handover::name::Name;
use handover::plan::FailoverMode;
use handover::provider::exec::{ExecConfig, ExecProvider};
use handover::provider::protocol::{Request, Response};
use handover::provider::{Operation, Provider, Scope};
use serde_json::{Value, json};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn schema() -> Value {
    let text = std::fs::read_to_string(root().join("docs/provider-protocol.schema.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// A validator for one `$defs` entry.
fn def(name: &str) -> jsonschema::Validator {
    let s = schema();
    assert!(s["$defs"].get(name).is_some(), "no $defs/{name}");
    let doc = json!({
        "$schema": s["$schema"],
        "$defs": s["$defs"],
        "$ref": format!("#/$defs/{name}"),
    });
    jsonschema::validator_for(&doc).unwrap()
}

fn assert_valid(v: &jsonschema::Validator, doc: &Value, what: &str) {
    let errors: Vec<String> = v
        .iter_errors(doc)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{what} does not validate: {errors:#?}\n{doc}"
    );
}

fn n(s: &str) -> Name {
    Name::parse(s).unwrap()
}

fn ops() -> Vec<Operation> {
    vec![
        Operation::SetParents {
            kind: MemberKind::Gateway,
            name: n("gw2.dmz.contoso.local"),
            parents: handover::model::Parents {
                primary: n("ms1.contoso.local"),
                failover: vec![n("ms2.contoso.local"), n("ms3")],
            },
        },
        Operation::SetParents {
            kind: MemberKind::Agent,
            name: n("WEB01.dmz.contoso.local"),
            parents: handover::model::Parents::primary_only(n("gw2.dmz.contoso.local")),
        },
        Operation::RetireGateway {
            name: n("gw1.dmz.contoso.local"),
        },
        Operation::StoreFailover {
            pool: n("pool2.contoso.local"),
            mode: FailoverMode::Planned,
            backup_sql_server: None,
            backup_sql_instance: None,
            backup_mirror_sql_server: None,
            backup_mirror_sql_instance: None,
            restore: false,
        },
        Operation::StoreFailover {
            pool: n("pool2.contoso.local"),
            mode: FailoverMode::Planned,
            backup_sql_server: None,
            backup_sql_instance: None,
            backup_mirror_sql_server: None,
            backup_mirror_sql_instance: None,
            restore: true,
        },
        Operation::StoreFailover {
            pool: n("pool2.contoso.local"),
            mode: FailoverMode::Disaster,
            backup_sql_server: Some(n("sql2.contoso.local")),
            backup_sql_instance: Some("RTC".into()),
            backup_mirror_sql_server: Some(n("sql3.contoso.local")),
            backup_mirror_sql_instance: Some("RTC".into()),
            restore: false,
        },
    ]
}

#[test]
fn the_schema_is_a_valid_draft_2020_12_schema() {
    jsonschema::meta::validate(&schema()).unwrap();
}

#[test]
fn every_request_handover_sends_validates() {
    let v = def("request");
    let whole = jsonschema::validator_for(&schema()).unwrap();
    let mut reqs = vec![
        Request::capabilities(),
        Request::observe(&Scope::All),
        Request::observe(&Scope::Members(vec![n("a"), n("b.c")])),
    ];
    reqs.extend(ops().iter().map(Request::apply));
    // Version 2: the same requests in a session, and a batch.
    let v2: Vec<Request> = reqs
        .iter()
        .cloned()
        .enumerate()
        .map(|(i, r)| r.in_session(i as u64 + 1))
        .chain([Request::apply_batch(&ops()).in_session(99)])
        .collect();
    reqs.extend(v2);
    for r in reqs {
        let doc = serde_json::to_value(&r).unwrap();
        assert_valid(&v, &doc, "request");
        assert_valid(&whole, &doc, "request (top level)");
    }
    // A version 2 request without its id, and a v1 apply with a batch,
    // are refused.
    for bad in [
        json!({"protocol": 2, "request": "capabilities"}),
        json!({"protocol": 1, "request": "apply", "operations": [serde_json::to_value(&ops()[0]).unwrap()]}),
    ] {
        assert!(!v.is_valid(&bad), "{bad}");
    }
}

#[test]
fn version_2_responses_validate() {
    use handover::provider::protocol::{Capabilities, OpResult};
    let v = def("response");
    let caps = Response {
        capabilities: Some(Capabilities {
            protocols: vec![1, 2],
            session: true,
            max_batch: Some(100),
            parallel: Some(4),
            ..Capabilities::v1(vec!["set_parents".into()])
        }),
        ..Response::ok()
    };
    let batch = Response {
        protocol: 2,
        id: Some(3),
        results: Some(vec![
            OpResult::ok(true),
            OpResult::error("no agent named web99", false),
        ]),
        ..Response::ok()
    };
    for r in [caps, batch] {
        assert_valid(&v, &serde_json::to_value(&r).unwrap(), "v2 response");
    }
    // A failed operation needs its error.
    let bad = json!({"protocol": 2, "id": 1, "ok": true, "results": [{"ok": false}]});
    assert!(!v.is_valid(&bad), "{bad}");
}

#[test]
fn responses_built_from_the_wire_types_validate() {
    let mut o = Observed::new();
    o.management_servers.push(ObservedServer {
        name: n("ms1"),
        up: false,
    });
    o.agents.push(ObservedMember {
        name: n("web01"),
        parents: handover::model::Parents::primary_only(n("ms1")),
        connected: None,
        up: true,
        ready: true,
        evidence: None,
    });
    o.health.insert(
        n("ms1"),
        handover::model::Health {
            state: Some(handover::model::HealthState::Critical),
            send_queue_size: Some(12_000),
        },
    );
    let cases = [
        (
            "observeResponse",
            Response {
                observed: Some(o),
                ..Response::ok()
            },
        ),
        (
            "applyResponse",
            Response {
                changed: Some(false),
                ..Response::ok()
            },
        ),
        ("errorResponse", Response::error("no", true)),
    ];
    for (d, r) in cases {
        let doc = serde_json::to_value(&r).unwrap();
        assert_valid(&def(d), &doc, d);
        assert_valid(&def("response"), &doc, "response");
    }
}

/// Runs the test provider once and returns its stdout as JSON.
fn run_test_provider(state: &Path, request: &Value) -> Value {
    let mut child = Command::new(env!("CARGO_BIN_EXE_handover-test-provider"))
        .arg("--state")
        .arg(state)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(request.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn the_test_provider_answers_validate() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("s.json");
    let fixture =
        std::fs::read_to_string(root().join("providers/scom/fixtures/observe-all.response.json"))
            .unwrap();
    let observed = serde_json::from_str::<Value>(&fixture).unwrap()["observed"].clone();
    std::fs::write(&state, json!({ "observed": observed }).to_string()).unwrap();
    let cases = [
        ("capabilities", Request::capabilities()),
        ("observe", Request::observe(&Scope::All)),
        (
            "observe",
            Request::observe(&Scope::Members(vec![n("web01.dmz.contoso.local")])),
        ),
        // A parent the fixture's estate has (the simulator behind the
        // test provider refuses unknown parents, as SCOM does).
        (
            "apply",
            Request::apply(&Operation::SetParents {
                kind: MemberKind::Agent,
                name: n("WEB01.dmz.contoso.local"),
                parents: handover::model::Parents::primary_only(n("gw3.dmz.contoso.local")),
            }),
        ),
        // Unknown agent: an error response.
        (
            "error",
            Request::apply(&Operation::RetireGateway {
                name: n("gw1.dmz.contoso.local"),
            }),
        ),
    ];
    for (d, r) in cases {
        let resp = run_test_provider(&state, &serde_json::to_value(&r).unwrap());
        assert_valid(&def(&format!("{d}Response")), &resp, d);
    }
}

fn fixtures() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(root().join("providers/scom/fixtures"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".response.json"))
        .collect();
    v.sort();
    assert!(v.len() >= 5, "fixtures missing: {v:?}");
    v
}

#[test]
fn scom_fixtures_validate_against_their_response_kind() {
    for f in fixtures() {
        let doc: Value = serde_json::from_str(&std::fs::read_to_string(&f).unwrap()).unwrap();
        let stem = f.file_name().unwrap().to_string_lossy().into_owned();
        let kind = stem.split(['-', '.']).next().unwrap();
        assert_valid(&def(&format!("{kind}Response")), &doc, &stem);
        // And the Rust side reads them.
        let r: Response = serde_json::from_value(doc).unwrap();
        assert_eq!(r.ok, kind != "error", "{stem}");
    }
}

/// `cat FIXTURE` as a provider: ExecProvider accepts the SCOM fixtures'
/// bytes exactly as written.
#[tokio::test]
async fn exec_provider_accepts_the_scom_fixtures() {
    let fx = root().join("providers/scom/fixtures");
    let cat = |file: &str| {
        ExecProvider::new(
            "cat",
            vec![fx.join(file).display().to_string()],
            ExecConfig::default(),
        )
    };
    let o = cat("observe-all.response.json")
        .observe(&Scope::All)
        .await
        .unwrap();
    assert_eq!(o.agents.len(), 3);
    assert_eq!(o.agents[1].connected, None, "a grey agent is disconnected");
    assert!(!o.gateways[1].ready);
    let caps = cat("capabilities.response.json")
        .capabilities()
        .await
        .unwrap()
        .clone();
    assert_eq!(caps.operations, ["set_parents", "store_failover"]);
    let e = cat("error-retryable.response.json")
        .observe(&Scope::All)
        .await
        .unwrap_err();
    assert!(e.is_transient(), "{e}");
}

#[test]
fn what_handover_refuses_the_schema_refuses() {
    let response = def("response");
    let request = def("request");
    let bad_responses = [
        json!({"protocol": 2, "ok": true}),
        json!({"ok": true}),
        json!({"protocol": 1, "ok": false}),
        json!({"protocol": 1, "ok": true, "observed": {"apiVersion": "handover/v1", "kind": "Observed",
            "agents": [{"name": "web 01", "primary": "gw1"}]}}),
        json!({"protocol": 1, "ok": true, "observed": {"apiVersion": "handover/v1", "kind": "Observed",
            "servers": []}}),
        json!({"protocol": 1, "ok": true, "observed": {"apiVersion": "handover/v1", "kind": "Observed",
            "managementServers": [{"name": "ms1", "health": {"state": "Error"}}]}}),
        json!({"protocol": 1, "ok": true, "observed": {"apiVersion": "handover/v1", "kind": "Observed",
            "managementServers": [{"name": "ms1", "health": {"sendQueueSize": -1}}]}}),
        json!({"protocol": 1, "ok": true, "observed": {"apiVersion": "handover/v1", "kind": "Observed",
            "managementServers": [{"name": "ms1", "health": {"queue": 3}}]}}),
    ];
    for b in bad_responses {
        assert!(!response.is_valid(&b), "schema accepts {b}");
    }
    let bad_requests = [
        json!({"protocol": 1, "request": "apply", "operation": {"op": "reboot", "name": "a"}}),
        json!({"protocol": 1, "request": "apply", "operation": {"op": "set_parents", "kind": "agent",
            "name": "-a", "primary": "b", "failover": []}}),
        json!({"protocol": 1, "request": "observe", "scope": {"kind": "some"}}),
    ];
    for b in bad_requests {
        assert!(!request.is_valid(&b), "schema accepts {b}");
        assert!(
            serde_json::from_value::<Request>(b.clone()).is_err(),
            "serde accepts {b}"
        );
    }
}

/// The minimal provider printed in docs/provider-protocol.md section 10,
/// run as written with python3, satisfies handover.
#[tokio::test]
async fn the_documented_minimal_provider_works() {
    let doc = std::fs::read_to_string(root().join("docs/provider-protocol.md")).unwrap();
    let start = doc.find("```python\n").expect("a python block") + "```python\n".len();
    let len = doc[start..].find("```").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("minimal.py");
    std::fs::write(&file, &doc[start..start + len]).unwrap();
    // Without python3 this says so on the terminal (and fails under CI=true):
    // it never passes silently.
    let Some(python3) = common::tool(&common::PYTHON3, "the_documented_minimal_provider_works")
    else {
        return;
    };
    let mut prov = ExecProvider::new(
        python3,
        vec![file.display().to_string()],
        ExecConfig::default(),
    );
    let caps = prov.capabilities().await.unwrap().clone();
    assert_eq!(caps.operations, ["set_parents"]);
    assert_eq!(prov.observe(&Scope::All).await.unwrap(), Observed::new());
    prov.apply(&ops()[1]).await.unwrap();
    let e = prov.apply(&ops()[2]).await.unwrap_err();
    assert!(
        e.to_string().contains("does not support retire_gateway"),
        "{e}"
    );
}
