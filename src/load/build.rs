//! From document types to the model: checks the syntax of every value
//! (host names, durations, `maxInFlight`, globs, rule shape, `apiVersion`
//! and `kind`) and interns names so a 100,000-agent estate shares one
//! allocation per host.
//!
//! Owns value syntax only, reporting every bad value in one pass; relations
//! between names (duplicates, references, cycles, capacity) are
//! `crate::validate`'s. Must not do I/O.

use super::doc::{self, Text};
use crate::diag::{Diagnostic, Pos};
use crate::model::{
    self, AgentRule, Capacity, MemberDef, Observed, ObservedMember, ObservedPool, ObservedServer,
    ObservedStore, Parents, Policy, RuleAssign, Seconds, ServerDef, StoreSpec, Topology,
};
use crate::name::{Name, NameInterner};
use crate::validate::{MemberPos, ObservedPositions};
use serde_saphyr::Spanned;
use std::sync::Arc;

/// Builds model values for one file, collecting diagnostics.
pub struct Builder<'a> {
    file: Arc<str>,
    names: &'a mut NameInterner,
    /// Every value-syntax problem found so far.
    pub diags: Vec<Diagnostic>,
}

/// Shortens a quoted value for a message so a 50 MB scalar is not echoed.
pub fn quote(s: &str) -> String {
    if s.chars().count() > 80 {
        format!("{:?}…", s.chars().take(80).collect::<String>())
    } else {
        format!("{s:?}")
    }
}

impl<'a> Builder<'a> {
    /// A builder for `file`, interning into `names`.
    pub fn new(file: Arc<str>, names: &'a mut NameInterner) -> Self {
        Builder {
            file,
            names,
            diags: Vec::new(),
        }
    }

    /// The position of a spanned value.
    pub fn pos<T>(&self, s: &Spanned<T>) -> Pos {
        let l = &s.referenced;
        Pos::new(
            self.file.clone(),
            u32::try_from(l.line()).unwrap_or(u32::MAX).max(1),
            u32::try_from(l.column()).unwrap_or(u32::MAX).max(1),
        )
    }

    fn name(&mut self, t: &Text, what: &str) -> Option<Name> {
        match self.names.intern(&t.value) {
            // Share the allocation when spelled alike; keep the spelling as
            // written otherwise so messages quote what the user wrote.
            Ok(n) if n.as_str() == t.value => Some(n),
            Ok(_) => Name::parse(&t.value).ok(),
            Err(e) => {
                let pos = self.pos(t);
                self.diags.push(
                    Diagnostic::at(
                        pos,
                        format!("{what} {} is not a host name: {e}", quote(&t.value)),
                    )
                    .with_hint("use a DNS name: letters, digits, '-' and '.'"),
                );
                None
            }
        }
    }

    /// Checks `apiVersion` and `kind`.
    pub fn header(&mut self, api: &Text, kind: &Text, want: &str) {
        if api.value != model::API_VERSION {
            let pos = self.pos(api);
            self.diags.push(Diagnostic::at(
                pos,
                format!("apiVersion is {}; expected handover/v1", quote(&api.value)),
            ));
        }
        if kind.value != want {
            let pos = self.pos(kind);
            self.diags.push(Diagnostic::at(
                pos,
                format!("kind is {}; expected {want} here", quote(&kind.value)),
            ));
        }
    }

    fn list(&mut self, items: &[Text], what: &str) -> (Vec<Name>, Vec<Pos>) {
        let mut names = Vec::with_capacity(items.len());
        let mut pos = Vec::with_capacity(items.len());
        for t in items {
            if let Some(n) = self.name(t, what) {
                names.push(n);
                pos.push(self.pos(t));
            }
        }
        (names, pos)
    }

    fn member(&mut self, m: &doc::MemberDoc, kind: &str) -> Option<MemberDef> {
        let name = self.name(&m.name, kind);
        let primary = self.name(&m.primary, "primary");
        let (failover, failover_pos) = self.list(&m.failover, "failover");
        Some(MemberDef {
            pos: self.pos(&m.name),
            primary_pos: self.pos(&m.primary),
            name: name?,
            parents: Parents {
                primary: primary?,
                failover,
            },
            failover_pos,
        })
    }

    /// A desired-topology document as a (partial) model.
    pub fn topology(&mut self, d: &doc::TopologyDoc) -> Topology {
        self.header(&d.api_version, &d.kind, "Topology");
        let mut t = Topology {
            group: d
                .metadata
                .as_ref()
                .and_then(|m| m.name.as_ref())
                .map(|n| n.value.clone()),
            ..Default::default()
        };
        for s in &d.management_servers {
            if let Some(name) = self.name(&s.name, "management server") {
                let pos = self.pos(&s.name);
                t.management_servers.push(ServerDef { name, pos });
            }
        }
        t.gateways = d
            .gateways
            .iter()
            .filter_map(|m| self.member(m, "gateway"))
            .collect();
        t.agents = d
            .agents
            .iter()
            .filter_map(|m| self.member(m, "agent"))
            .collect();
        t.agent_rules = d.agent_rules.iter().filter_map(|r| self.rule(r)).collect();
        t.management_store = d.management_store.as_ref().and_then(|s| self.store(s));
        if let Some(p) = &d.policy {
            t.policy = self.policy(p);
            t.policy_pos = p
                .max_in_flight
                .as_ref()
                .map(|m| self.pos(m))
                .or_else(|| p.ack_timeout.as_ref().map(|a| self.pos(a)));
        }
        t
    }

    fn rule(&mut self, r: &doc::RuleDoc) -> Option<AgentRule> {
        let pos = self.pos(&r.pattern);
        let pattern = r.pattern.value.clone();
        let mut ok = true;
        if let Err(e) = globset::GlobBuilder::new(&pattern)
            .case_insensitive(true)
            .literal_separator(false)
            .backslash_escape(true)
            .build()
        {
            self.diags.push(
                Diagnostic::at(
                    pos.clone(),
                    format!(
                        "agentRules match {} is not a valid glob: {}",
                        quote(&pattern),
                        e.kind()
                    ),
                )
                .with_hint("use *, ? and [...]; close every ["),
            );
            ok = false;
        }
        let assign = match (&r.primary, &r.spread) {
            (Some(p), None) => {
                if let Some(fc) = &r.failover_count {
                    let at = self.pos(fc);
                    self.diags.push(Diagnostic::at(
                        at,
                        "failoverCount applies only to a spread rule; this rule gives primary",
                    ));
                    ok = false;
                }
                let primary = self.name(p, "primary");
                let (failover, _) = self.list(r.failover.as_deref().unwrap_or(&[]), "failover");
                primary.map(|primary| RuleAssign::Fixed(Parents { primary, failover }))
            }
            (None, Some(pool)) => {
                if let Some(f) = r.failover.as_ref().and_then(|f| f.first()) {
                    let at = self.pos(f);
                    self.diags.push(
                        Diagnostic::at(
                            at,
                            "failover applies only to a primary rule; this rule gives spread",
                        )
                        .with_hint("use failoverCount to take failovers from the pool"),
                    );
                    ok = false;
                }
                let (pool, _) = self.list(pool, "spread pool member");
                Some(RuleAssign::Spread {
                    pool,
                    failover_count: r.failover_count.as_ref().map_or(0, |f| f.value),
                })
            }
            (Some(_), Some(_)) => {
                self.diags.push(Diagnostic::at(
                    pos.clone(),
                    format!(
                        "agentRules {} gives both primary and spread; expected exactly one of them",
                        quote(&pattern)
                    ),
                ));
                None
            }
            (None, None) => {
                self.diags.push(Diagnostic::at(
                    pos.clone(),
                    format!("agentRules {} gives neither primary nor spread; expected exactly one of them", quote(&pattern)),
                ));
                None
            }
        };
        let assign = assign?;
        ok.then_some(AgentRule {
            pattern,
            assign,
            pos,
        })
    }

    fn store(&mut self, s: &doc::StoreDoc) -> Option<StoreSpec> {
        let pool = self.name(&s.pool, "managementStore pool");
        let mut dr = model::DisasterRecovery::default();
        if let Some(d) = &s.disaster_recovery {
            dr.allowed = d.allowed;
            dr.backup_sql_server = d
                .backup_sql_server
                .as_ref()
                .and_then(|n| self.name(n, "backupSqlServer"));
            dr.backup_sql_instance = d.backup_sql_instance.clone();
            dr.backup_mirror_sql_server = d
                .backup_mirror_sql_server
                .as_ref()
                .and_then(|n| self.name(n, "backupMirrorSqlServer"));
            dr.backup_mirror_sql_instance = d.backup_mirror_sql_instance.clone();
        }
        Some(StoreSpec {
            pos: self.pos(&s.pool),
            pool: pool?,
            disaster_recovery: dr,
            restore: s.restore,
        })
    }

    fn policy(&mut self, p: &doc::PolicyDoc) -> Policy {
        let mut out = Policy::default();
        if let Some(m) = &p.max_in_flight {
            match u32::try_from(m.value) {
                Ok(v) if v >= 1 => out.max_in_flight = v,
                _ => {
                    let pos = self.pos(m);
                    self.diags.push(Diagnostic::at(
                        pos,
                        format!("maxInFlight is {}; expected a whole number of at least 1 (and at most {})", m.value, u32::MAX),
                    ));
                }
            }
        }
        if let Some(a) = &p.ack_timeout {
            match Seconds::parse(&a.value) {
                Ok(s) => out.ack_timeout = s,
                Err(_) => {
                    let pos = self.pos(a);
                    self.diags.push(Diagnostic::at(
                        pos,
                        format!("ackTimeout {} is not a duration; expected a whole number followed by s, m or h, such as 30s, 15m or 2h", quote(&a.value)),
                    ));
                }
            }
        }
        if let Some(r) = p.retire_gateways {
            out.retire_gateways = r;
        }
        if let Some(s) = p.suspend {
            out.suspend = s;
        }
        if let Some(c) = &p.capacity {
            let d = Capacity::default();
            out.capacity = Capacity {
                gateway: c.gateway.unwrap_or(d.gateway),
                management_server: c.management_server.unwrap_or(d.management_server),
            };
        }
        out
    }

    fn observed_member(
        &mut self,
        m: &doc::ObservedMemberDoc,
        kind: &str,
    ) -> Option<(ObservedMember, MemberPos)> {
        let name = self.name(&m.name, kind);
        let primary = self.name(&m.primary, "primary");
        let (failover, failover_pos) = self.list(&m.failover, "failover");
        let connected = m
            .connected
            .as_ref()
            .map(|c| (self.name(c, "connected"), self.pos(c)));
        let pos = MemberPos {
            name: self.pos(&m.name),
            primary: self.pos(&m.primary),
            failover: failover_pos,
            connected: connected.as_ref().map(|c| c.1.clone()),
        };
        let connected = match connected {
            Some((None, _)) => return None,
            Some((Some(n), _)) => Some(n),
            None => None,
        };
        Some((
            ObservedMember {
                name: name?,
                parents: Parents {
                    primary: primary?,
                    failover,
                },
                connected,
                up: m.up.unwrap_or(true),
                ready: m.ready.unwrap_or(true),
            },
            pos,
        ))
    }

    /// An observed-state document as a (partial) model with positions.
    pub fn observed(&mut self, d: &doc::ObservedDoc) -> (Observed, ObservedPositions) {
        self.header(&d.api_version, &d.kind, "Observed");
        let mut o = Observed::new();
        let mut p = ObservedPositions::default();
        for s in &d.management_servers {
            if let Some(name) = self.name(&s.name, "management server") {
                p.management_servers.push(self.pos(&s.name));
                o.management_servers.push(ObservedServer {
                    name,
                    up: s.up.unwrap_or(true),
                });
            }
        }
        for (list, out, pos, kind) in [
            (&d.gateways, &mut o.gateways, &mut p.gateways, "gateway"),
            (&d.agents, &mut o.agents, &mut p.agents, "agent"),
        ] {
            for m in list {
                if let Some((member, at)) = self.observed_member(m, kind) {
                    out.push(member);
                    pos.push(at);
                }
            }
        }
        if let Some(s) = &d.management_store {
            let active_pool = s.active_pool.as_ref().and_then(|a| {
                p.active_pool = Some(self.pos(a));
                self.name(a, "activePool")
            });
            let mut pools = Vec::new();
            for pool in &s.pools {
                if let Some(name) = self.name(&pool.name, "pool") {
                    p.pools.push(self.pos(&pool.name));
                    pools.push(ObservedPool {
                        name,
                        up: pool.up.unwrap_or(true),
                        active: pool.active,
                    });
                }
            }
            o.management_store = Some(ObservedStore {
                active_pool,
                pools,
                replication_complete: s.replication_complete,
            });
        }
        (o, p)
    }
}
