//! The SCOM provider's recorded sessions (tests/fixtures/scom/*.jsonl,
//! protocol 2 form): every recorded answer validates against the protocol
//! schema, every recorded observation loads through handover's loader, and
//! replayed through a real `ExecProvider` (tests/fixtures/scom/replay.py
//! as the provider program) handover judges `connected` from the evidence
//! alone: a bridged DMZ agent becomes connected only once it has learned
//! its bridge, never on event 1210, never on the provider's word, and a
//! member whose primary is down is not reported on that primary.

mod common;

use handover::model::MemberKind;
use handover::name::Name;
use handover::provider::evidence::Tolerance;
use handover::provider::exec::{ExecConfig, ExecProvider};
use handover::provider::{Operation, Provider, Scope};
use serde_json::{Value, json};
use std::path::PathBuf;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn fixtures() -> PathBuf {
    root().join("tests/fixtures/scom")
}

/// Every (request, response) pair of every transcript, with its file.
fn transcripts() -> Vec<(String, Value, Value)> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(fixtures())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .collect();
    files.sort();
    assert!(files.len() >= 2, "transcripts missing: {files:?}");
    let mut out = Vec::new();
    for f in files {
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        for (i, line) in std::fs::read_to_string(&f).unwrap().lines().enumerate() {
            let v: Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("{name}:{}: not JSON: {e}", i + 1));
            out.push((
                format!("{name}:{}", i + 1),
                v["request"].clone(),
                v["response"].clone(),
            ));
        }
    }
    out
}

fn validator(def: &str) -> jsonschema::Validator {
    let text = std::fs::read_to_string(root().join("docs/provider-protocol.schema.json")).unwrap();
    let s: Value = serde_json::from_str(&text).unwrap();
    jsonschema::validator_for(&json!({
        "$schema": s["$schema"], "$defs": s["$defs"], "$ref": format!("#/$defs/{def}"),
    }))
    .unwrap()
}

/// A recorded protocol 2 answer in its protocol 1 form (what the schema
/// of this branch describes): no `id`, `protocol: 1`, a batch of one
/// `changed`, the capabilities' protocol 2 fields left out.
fn as_v1(resp: &Value) -> Value {
    let mut r = resp.clone();
    let o = r.as_object_mut().unwrap();
    o.remove("id");
    o.insert("protocol".into(), json!(1));
    if let Some(results) = o.remove("results") {
        // A batch of one: the first result's `changed`, or its error as the
        // answer's (`ok: false`).
        if results[0]["ok"] == json!(false) {
            o.insert("ok".into(), json!(false));
            o.insert("error".into(), results[0]["error"].clone());
        } else {
            o.insert("changed".into(), results[0]["changed"].clone());
        }
    }
    if let Some(c) = o.get_mut("capabilities").and_then(Value::as_object_mut) {
        for k in ["protocols", "session", "max_batch", "parallel"] {
            c.remove(k);
        }
    }
    r
}

#[test]
fn recorded_answers_have_the_protocol_2_framing_and_validate() {
    for (at, req, resp) in transcripts() {
        assert_eq!(req["protocol"], 2, "{at}");
        assert_eq!(resp["id"], req["id"], "{at}: the answer echoes the id");
        let kind = match (req["request"].as_str().unwrap(), resp["ok"].as_bool()) {
            (_, Some(false)) => "errorResponse",
            ("capabilities", _) => "capabilitiesResponse",
            ("observe", _) => "observeResponse",
            _ => "applyResponse",
        };
        if let Some(results) = resp["results"].as_array() {
            let ops = req["operations"].as_array().unwrap();
            assert_eq!(results.len(), ops.len(), "{at}: one result per operation");
        }
        let v1 = as_v1(&resp);
        let kind = if v1["ok"] == json!(false) {
            "errorResponse"
        } else {
            kind
        };
        let errors: Vec<String> = validator(kind)
            .iter_errors(&v1)
            .map(|e| format!("{e} at {}", e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{at} ({kind}): {errors:#?}");
    }
}

#[test]
fn recorded_observations_load_through_the_loader_with_their_evidence() {
    let mut with_evidence = 0;
    for (at, _, resp) in transcripts() {
        let Some(obs) = resp.get("observed") else {
            continue;
        };
        let text = serde_json::to_string_pretty(obs).unwrap();
        let o = handover::load::observed_str(&text, &at)
            .unwrap_or_else(|d| panic!("{at}: the loader refuses it: {d:?}"));
        with_evidence += o
            .gateways
            .iter()
            .chain(&o.agents)
            .filter(|m| m.evidence.is_some())
            .count();
    }
    assert!(with_evidence >= 10, "{with_evidence}");
}

#[test]
fn the_loader_refuses_bad_evidence_at_its_place() {
    let doc = |evidence: &str| {
        format!(
            "apiVersion: handover/v1\nkind: Observed\nagents:\n  - name: web01\n    primary: gw1\n    evidence:\n{evidence}"
        )
    };
    let cases = [
        (
            "      observedAt: 2026-12-07T20:00:00Z\n      learnt: {parents: [gw1], at: 2026-12-07T20:00:00Z}\n",
            "learnt",
            "8:7",
        ),
        (
            "      observedAt: 07/12/2026\n",
            "evidence.observedAt",
            "7:19",
        ),
        (
            "      observedAt: 2026-12-07T20:00:00Z\n      learned: {parents: [gw_1], at: 2026-12-07T20:00:00Z}\n",
            "gw_1",
            "8:27",
        ),
        (
            "      observedAt: 2026-12-07T20:00:00Z\n      heartbeat: {via: gw1}\n",
            "missing field `at`",
            "8:19",
        ),
    ];
    for (ev, word, place) in cases {
        let e = handover::load::observed_str(&doc(ev), "o.yaml").unwrap_err();
        let text = format!("{e:?}");
        let shown = e.to_string();
        assert!(shown.contains(word) || text.contains(word), "{ev}: {shown}");
        assert!(shown.contains(&format!("o.yaml:{place}")), "{ev}: {shown}");
    }
}

fn n(s: &str) -> Name {
    Name::parse(s).unwrap()
}

/// The replayer as an exec provider (one process per request, with a
/// state file), judging with no skew allowance: the recording replays in
/// milliseconds, not minutes.
fn replay(transcript: &str, state: &std::path::Path) -> Option<ExecProvider> {
    let python3 = common::tool(&common::PYTHON3, "scom_provider replay")?;
    let mut p = ExecProvider::new(
        python3,
        vec![
            fixtures().join("replay.py").display().to_string(),
            fixtures().join(transcript).display().to_string(),
            state.display().to_string(),
        ],
        ExecConfig::default(),
    );
    p.set_evidence_tolerance(Tolerance {
        skew_ms: 0,
        max_age_ms: 600_000,
    });
    Some(p)
}

fn connected(o: &handover::model::Observed, name: &str) -> Option<Name> {
    o.gateways
        .iter()
        .chain(&o.agents)
        .find(|m| m.name == n(name))
        .unwrap_or_else(|| panic!("{name} not observed"))
        .connected
        .clone()
}

#[tokio::test]
async fn a_bridged_dmz_agent_is_connected_only_once_it_has_learned_its_bridge() {
    let dir = tempfile::tempdir().unwrap();
    let Some(mut p) = replay("bridge-dmz-agent.jsonl", &dir.path().join("cursor")) else {
        return;
    };
    let o = p.observe(&Scope::All).await.unwrap();
    // Gateways whose learned parents match their configuration: connected.
    assert_eq!(
        connected(&o, "gw1.dmz.contoso.local"),
        Some(n("ms1.contoso.local"))
    );
    // Heartbeating, nothing learned read (a whole-estate observe runs no
    // agent task): not connected, whatever the configuration says.
    assert_eq!(connected(&o, "web01.dmz.contoso.local"), None);
    assert_eq!(connected(&o, "web03.dmz.contoso.local"), None);
    // A gateway with no live reading is not ready.
    let gw4 = o
        .gateways
        .iter()
        .find(|g| g.name == n("gw4.dmz.contoso.local"));
    assert!(!gw4.unwrap().ready);

    let web03 = n("web03.dmz.contoso.local");
    p.apply(&Operation::SetParents {
        kind: MemberKind::Agent,
        name: web03.clone(),
        parents: handover::model::Parents {
            primary: n("gw3.dmz.contoso.local"),
            failover: vec![n("gw1.dmz.contoso.local")],
        },
    })
    .await
    .unwrap();
    // The write time handover keeps is taken when the answer arrives;
    // make sure the next reading is a millisecond later.
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let members = Scope::Members(vec![web03.clone()]);
    // Still its old learned list, and an event 1210 from a management pack
    // import: not connected (neither to gw3 nor, on the provider's word, to
    // anything).
    let o = p.observe(&members).await.unwrap();
    assert_eq!(connected(&o, "web03.dmz.contoso.local"), None);
    // It has learned the bridge (gw3, then gw1), read after the write.
    let o = p.observe(&members).await.unwrap();
    assert_eq!(
        connected(&o, "web03.dmz.contoso.local"),
        Some(n("gw3.dmz.contoso.local"))
    );
}

#[tokio::test]
async fn with_the_primary_down_nothing_is_reported_on_it_and_two_active_pools_show() {
    let dir = tempfile::tempdir().unwrap();
    let Some(mut p) = replay("primary-down.jsonl", &dir.path().join("cursor")) else {
        return;
    };
    let o = p.observe(&Scope::All).await.unwrap();
    // gw1 has learned ms1 (down) then ms2, and nothing says which it uses.
    assert_eq!(connected(&o, "gw1.dmz.contoso.local"), None);
    let store = o.management_store.as_ref().unwrap();
    assert_eq!(store.active_pools().len(), 2, "{store:?}");
    // A batch answered with one failure: over protocol 1 the replayer
    // answers the first operation only; the failing member's error is in
    // the transcript and validated above.
    p.apply(&Operation::SetParents {
        kind: MemberKind::Agent,
        name: n("web01.dmz.contoso.local"),
        parents: handover::model::Parents {
            primary: n("gw3.dmz.contoso.local"),
            failover: vec![n("gw1.dmz.contoso.local")],
        },
    })
    .await
    .expect_err("the recorded batch has two operations; one was sent");
}

/// A write known from elsewhere (the journal of a run resumed after a
/// restart) later than the reading: the reading is not evidence.
#[tokio::test]
async fn a_write_remembered_from_the_journal_outdates_earlier_readings() {
    let dir = tempfile::tempdir().unwrap();
    let Some(mut p) = replay("bridge-dmz-agent.jsonl", &dir.path().join("cursor")) else {
        return;
    };
    p.observe(&Scope::All).await.unwrap();
    let web03 = n("web03.dmz.contoso.local");
    p.apply(&Operation::SetParents {
        kind: MemberKind::Agent,
        name: web03.clone(),
        parents: handover::model::Parents {
            primary: n("gw3.dmz.contoso.local"),
            failover: vec![n("gw1.dmz.contoso.local")],
        },
    })
    .await
    .unwrap();
    let later = std::time::SystemTime::now() + std::time::Duration::from_secs(3600);
    p.remember_write(&web03, handover::model::Stamp::from_system(later));
    let members = Scope::Members(vec![web03]);
    p.observe(&members).await.unwrap();
    let o = p.observe(&members).await.unwrap();
    assert_eq!(connected(&o, "web03.dmz.contoso.local"), None);
}

/// `handover provider check` against the replayed SCOM provider, with the
/// requests in the order the check makes them (provider-check.jsonl: the
/// capabilities and observation of the primary-down recording, then the
/// provider's answers to a scope and to writes naming a member that does
/// not exist, in the shapes the script gives): every check passes, in
/// session mode, and nothing is written.
#[test]
fn the_scom_provider_passes_provider_check_on_its_fixtures() {
    let Some(python3) = common::tool(&common::PYTHON3, "scom provider check") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let check = |transcript: &str| {
        let target = format!(
            "exec:{} {} {} {}",
            python3.display(),
            fixtures().join("replay.py").display(),
            fixtures().join(transcript).display(),
            dir.path().join(format!("{transcript}.cursor")).display()
        );
        let out = assert_cmd::Command::cargo_bin("handover")
            .unwrap()
            .args(["provider", "check", "--target", &target])
            .timeout(std::time::Duration::from_secs(60))
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    let (code, out) = check("provider-check.jsonl");
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("All 7 checks passed."), "{out}");
    assert!(
        out.contains("pass  session: every request in one process, in step"),
        "{out}"
    );
    // A recording made for another conversation does not pass by accident:
    // the replayer answers requests it did not record with an error.
    let (code, out) = check("bridge-dmz-agent.jsonl");
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("FAIL"), "{out}");
}
