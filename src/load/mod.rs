//! Loading: YAML files into the model.
//!
//! Owns reading desired topologies (a file, or a directory of `*.yaml` /
//! `*.yml` merged) and observed-state documents, and turning them into the
//! plain data of `model`, with source positions. Calls `validate` so that
//! callers only ever see a checked model. Must not plan or apply anything.
//!
//! NOTE: this first version is a thin serde shim without positions; the
//! Foundation work replaces its internals behind the same functions.

use crate::diag::{Diagnostic, Diagnostics, Pos};
use crate::model::{self, MemberDef, Observed, Parents, RuleAssign, ServerDef, Topology};
use crate::name::Name;
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Loads and validates a desired topology from files and directories.
pub fn topology(paths: &[PathBuf]) -> Result<Topology, Diagnostics> {
    let mut merged = Topology::default();
    let mut diags = Vec::new();
    for file in expand(paths)? {
        let text = read(&file)?;
        match topology_str(&text, &file.display().to_string()) {
            Ok(t) => merge(&mut merged, t),
            Err(d) => diags.extend(d.0),
        }
    }
    if diags.is_empty() {
        Ok(merged)
    } else {
        Err(Diagnostics(diags))
    }
}

/// Loads and validates an observed-state file.
pub fn observed(path: &Path) -> Result<Observed, Diagnostics> {
    let text = read(path)?;
    observed_str(&text, &path.display().to_string())
}

/// Parses one desired-topology document; `file` labels positions.
pub fn topology_str(text: &str, file: &str) -> Result<Topology, Diagnostics> {
    let doc: TopologyDoc = serde_saphyr::from_str(text).map_err(|e| yaml_error(file, e))?;
    let pos = Pos::new(Arc::from(file), 1, 1);
    let member = |m: MemberDoc| MemberDef {
        failover_pos: vec![pos.clone(); m.failover.len()],
        parents: Parents {
            primary: m.primary,
            failover: m.failover,
        },
        name: m.name,
        pos: pos.clone(),
        primary_pos: pos.clone(),
    };
    Ok(Topology {
        group: doc.metadata.and_then(|m| m.name),
        management_servers: doc
            .management_servers
            .into_iter()
            .map(|s| ServerDef {
                name: s.name,
                pos: pos.clone(),
            })
            .collect(),
        gateways: doc.gateways.into_iter().map(member).collect(),
        agents: doc.agents.into_iter().map(member).collect(),
        agent_rules: doc
            .agent_rules
            .into_iter()
            .map(|r| model::AgentRule {
                pattern: r.r#match,
                assign: match r.spread {
                    Some(pool) => RuleAssign::Spread {
                        pool,
                        failover_count: r.failover_count.unwrap_or(0),
                    },
                    None => RuleAssign::Fixed(Parents {
                        primary: r.primary.expect("shim: rule needs primary or spread"),
                        failover: r.failover,
                    }),
                },
                pos: pos.clone(),
            })
            .collect(),
        management_store: doc.management_store.map(|s| model::StoreSpec {
            pool: s.pool,
            pos: pos.clone(),
            disaster_recovery: s
                .disaster_recovery
                .map(|d| model::DisasterRecovery {
                    allowed: d.allowed,
                    backup_sql_server: d.backup_sql_server,
                    backup_sql_instance: d.backup_sql_instance,
                    backup_mirror_sql_server: d.backup_mirror_sql_server,
                    backup_mirror_sql_instance: d.backup_mirror_sql_instance,
                })
                .unwrap_or_default(),
        }),
        policy: doc.policy.unwrap_or_default(),
        policy_pos: None,
    })
}

/// Parses one observed-state document; `file` labels positions.
pub fn observed_str(text: &str, file: &str) -> Result<Observed, Diagnostics> {
    serde_saphyr::from_str(text).map_err(|e| yaml_error(file, e))
}

fn yaml_error(file: &str, e: impl std::fmt::Display) -> Diagnostics {
    Diagnostic::general(format!("{file}: {e}")).into()
}

fn read(path: &Path) -> Result<String, Diagnostics> {
    std::fs::read_to_string(path)
        .map_err(|e| Diagnostic::general(format!("{}: cannot read: {e}", path.display())).into())
}

fn expand(paths: &[PathBuf]) -> Result<Vec<PathBuf>, Diagnostics> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut files: Vec<PathBuf> = std::fs::read_dir(p)
                .map_err(|e| Diagnostic::general(format!("{}: {e}", p.display())))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|f| matches!(f.extension().and_then(|x| x.to_str()), Some("yaml" | "yml")))
                .collect();
            files.sort();
            out.extend(files);
        } else {
            out.push(p.clone());
        }
    }
    Ok(out)
}

fn merge(into: &mut Topology, t: Topology) {
    into.group = into.group.take().or(t.group);
    into.management_servers.extend(t.management_servers);
    into.gateways.extend(t.gateways);
    into.agents.extend(t.agents);
    into.agent_rules.extend(t.agent_rules);
    if t.management_store.is_some() {
        into.management_store = t.management_store;
    }
    into.policy = t.policy;
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct TopologyDoc {
    #[allow(dead_code)]
    api_version: String,
    #[allow(dead_code)]
    kind: String,
    metadata: Option<MetadataDoc>,
    #[serde(default)]
    management_servers: Vec<ServerDoc>,
    #[serde(default)]
    gateways: Vec<MemberDoc>,
    #[serde(default)]
    agents: Vec<MemberDoc>,
    #[serde(default)]
    agent_rules: Vec<RuleDoc>,
    management_store: Option<StoreDoc>,
    policy: Option<model::Policy>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MetadataDoc {
    name: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ServerDoc {
    name: Name,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MemberDoc {
    name: Name,
    primary: Name,
    #[serde(default)]
    failover: Vec<Name>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RuleDoc {
    r#match: String,
    primary: Option<Name>,
    #[serde(default)]
    failover: Vec<Name>,
    spread: Option<Vec<Name>>,
    failover_count: Option<u32>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct StoreDoc {
    pool: Name,
    disaster_recovery: Option<DrDoc>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct DrDoc {
    #[serde(default)]
    allowed: bool,
    backup_sql_server: Option<Name>,
    backup_sql_instance: Option<String>,
    backup_mirror_sql_server: Option<Name>,
    backup_mirror_sql_instance: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_example_loads() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/topologies");
        let mut seen = 0;
        for dir in std::fs::read_dir(&root).unwrap() {
            let dir = dir.unwrap().path();
            let t = topology(&[dir.join("desired.yaml")]).unwrap();
            let o = observed(&dir.join("observed.yaml")).unwrap();
            assert!(
                !t.management_servers.is_empty() || t.management_store.is_some(),
                "{}",
                dir.display()
            );
            assert!(!o.management_servers.is_empty() || o.management_store.is_some());
            seen += 1;
        }
        assert!(seen >= 4);
    }
}
