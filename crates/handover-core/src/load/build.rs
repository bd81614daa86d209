//! From document types to the model: checks the syntax of every value
//! (host names, durations, `maxInFlight`, globs, rule shape, `apiVersion`
//! and `kind`) and interns names so a 100,000-agent estate shares one
//! allocation per host.
//!
//! Owns value syntax only, reporting every bad value in one pass (and every
//! unknown field the document types collected, with the nearest field
//! name); relations between names (duplicates, references, cycles,
//! capacity) are `crate::validate`'s. Must not do I/O.

use super::doc::{self, Text};
use super::fast::{self, Lit};
use crate::diag::positions::{MemberPos, ObservedPositions, RulePos};
pub use crate::diag::quote;
use crate::diag::thousands;
use crate::diag::{Diagnostic, Pos};
use crate::model::{
    self, AgentRule, Capacity, MemberDef, Observed, ObservedMember, ObservedPool, ObservedServer,
    ObservedStore, Parents, Policy, RuleAssign, Seconds, ServerDef, StoreSpec, Topology,
};
use crate::name::{Name, NameInterner};
use serde_saphyr::Spanned;
use std::sync::Arc;

/// Something written at a place: a serde span or a fast-path scalar.
pub trait At {
    /// 1-based line and column.
    fn at(&self) -> (u64, u64);
}

/// A scalar written at a place.
pub trait Str: At {
    /// Its text.
    fn str(&self) -> &str;
}

impl<T> At for Spanned<T> {
    fn at(&self) -> (u64, u64) {
        (self.referenced.line(), self.referenced.column())
    }
}

impl Str for Text {
    fn str(&self) -> &str {
        &self.value
    }
}

impl At for Lit<'_> {
    fn at(&self) -> (u64, u64) {
        (u64::from(self.line), u64::from(self.col))
    }
}

impl Str for Lit<'_> {
    fn str(&self) -> &str {
        self.text
    }
}

/// The problems of a document's `apiVersion` and `kind` (each given as its
/// value and place, when written), for a document of kind `want`.
pub fn header_problems(
    api: Option<(&str, Pos)>,
    kind: Option<(&str, Pos)>,
    want: &str,
) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    if let Some((value, pos)) = api
        && value != model::API_VERSION
    {
        out.push(
            Diagnostic::at(
                pos,
                format!("apiVersion is {}; expected handover/v1", quote(value)),
            )
            .with_hint("this handover reads apiVersion: handover/v1 only"),
        );
    }
    if let Some((value, pos)) = kind
        && value != want
    {
        out.push(Diagnostic::at(
            pos,
            format!("kind is {}; expected {want} here", quote(value)),
        ));
    }
    out
}

/// Builds model values for one file, collecting diagnostics.
pub struct Builder<'a> {
    file: Arc<str>,
    names: &'a mut NameInterner,
    /// Problems of `apiVersion` and `kind`, which are reported first.
    pub head: Vec<Diagnostic>,
    /// Every other value-syntax problem found so far.
    pub diags: Vec<Diagnostic>,
    /// Where each kept rule's fields were written, parallel to the
    /// topology's `agent_rules`.
    pub rules: Vec<RulePos>,
    /// Unknown fields found so far.
    unknown_seen: usize,
    /// Where the first unknown field not reported was written.
    unknown_omitted: Option<Pos>,
}

/// Most unknown fields reported for one file; the rest are counted in one
/// last message (a file of a thousand misspelt keys needs one fix).
pub const MAX_UNKNOWN: usize = 100;

/// Fields of an Observed member that a desired gateway or agent may not
/// have: said so when they turn up in a Topology.
const OBSERVED_ONLY: [&str; 4] = ["connected", "up", "ready", "health"];

/// The allowed field nearest to `key`, when it is near enough to be a
/// misspelling: the same but for case, or at most a third of its letters
/// (at least one) different.
pub fn nearest(key: &str, allowed: &[&'static str]) -> Option<&'static str> {
    let k = key.to_ascii_lowercase();
    let mut best: Option<(usize, &'static str)> = None;
    for a in allowed {
        let d = edit_distance(&k, &a.to_ascii_lowercase());
        let limit = (a.chars().count() / 3).max(1);
        if d <= limit && best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, a));
        }
    }
    best.map(|(_, a)| a)
}

/// Edit distance over characters, a swap of two neighbours counting as
/// one edit (optimal string alignment; keys are short).
fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    // d[i][j]: distance between a[..i] and b[..j], three rows at a time.
    let mut before = vec![0usize; b.len() + 1];
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0usize; b.len() + 1];
    for i in 1..=a.len() {
        cur[0] = i;
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut d = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d = d.min(before[j - 2] + 1);
            }
            cur[j] = d;
        }
        std::mem::swap(&mut before, &mut prev);
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// `a, b and c`.
fn and_list(items: &[&str]) -> String {
    match items {
        [] => String::new(),
        [one] => (*one).to_string(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

impl<'a> Builder<'a> {
    /// A builder for `file`, interning into `names`.
    pub fn new(file: Arc<str>, names: &'a mut NameInterner) -> Self {
        Builder {
            file,
            names,
            head: Vec::new(),
            diags: Vec::new(),
            rules: Vec::new(),
            unknown_seen: 0,
            unknown_omitted: None,
        }
    }

    /// Reports keys that are none of their mapping's fields, each at its
    /// place with the nearest field or the fields allowed (at most
    /// [`MAX_UNKNOWN`] per file; see [`Builder::unknown_summary`]).
    pub fn unknown(&mut self, list: &[doc::UnknownKey]) {
        for u in list {
            self.unknown_seen += 1;
            if self.unknown_seen > MAX_UNKNOWN {
                if self.unknown_omitted.is_none() {
                    self.unknown_omitted = Some(self.pos(&u.key));
                }
                continue;
            }
            let pos = self.pos(&u.key);
            let key = &u.key.value;
            let fields = and_list(u.allowed);
            let d = if u.within == "a gateway or agent" && OBSERVED_ONLY.contains(&key.as_str()) {
                Diagnostic::at(
                    pos,
                    format!(
                        "unknown field {} in {}: it belongs to kind: Observed; a Topology gives {fields}",
                        quote(key),
                        u.within
                    ),
                )
                .with_hint("remove it: the desired topology says where members should report, not where they are")
            } else if let Some(n) = nearest(key, u.allowed) {
                Diagnostic::at(
                    pos,
                    format!(
                        "unknown field {} in {}; did you mean {n}?",
                        quote(key),
                        u.within
                    ),
                )
                .with_hint(format!("the fields here are {fields}"))
            } else {
                Diagnostic::at(
                    pos,
                    format!(
                        "unknown field {} in {}; expected {}{fields}",
                        quote(key),
                        u.within,
                        if u.allowed.len() > 1 { "one of " } else { "" }
                    ),
                )
                .with_hint("remove it, or fix its spelling")
            };
            self.diags.push(d);
        }
    }

    /// One message for the unknown fields beyond [`MAX_UNKNOWN`], if any.
    fn unknown_summary(&mut self) {
        if let Some(pos) = self.unknown_omitted.take() {
            self.diags.push(
                Diagnostic::at(
                    pos,
                    format!(
                        "{} more unknown fields from here on are not shown (the first {MAX_UNKNOWN} are)",
                        thousands((self.unknown_seen - MAX_UNKNOWN) as u64)
                    ),
                )
                .with_hint("fix the ones shown and validate again"),
            );
        }
    }

    /// The position of a spanned value.
    pub fn pos(&self, s: &impl At) -> Pos {
        let (line, column) = s.at();
        Pos::new(
            self.file.clone(),
            u32::try_from(line).unwrap_or(u32::MAX).max(1),
            u32::try_from(column).unwrap_or(u32::MAX).max(1),
        )
    }

    fn name(&mut self, t: &impl Str, what: &str) -> Option<Name> {
        let value = t.str();
        match self.names.intern(value) {
            // Share the allocation when spelled alike; keep the spelling as
            // written otherwise so messages quote what the user wrote.
            Ok(n) if n.as_str() == value => Some(n),
            Ok(_) => Name::parse(value).ok(),
            Err(e) => {
                let pos = self.pos(t);
                self.diags.push(
                    Diagnostic::at(
                        pos,
                        format!("{what} {} is not a host name: {e}", quote(value)),
                    )
                    .with_hint("use a DNS name: letters, digits, '-' and '.'"),
                );
                None
            }
        }
    }

    /// Checks `apiVersion` and `kind` (into [`Builder::head`]).
    pub fn header(&mut self, api: &Text, kind: &Text, want: &str) {
        let (api_at, kind_at) = (self.pos(api), self.pos(kind));
        self.head.extend(header_problems(
            Some((&api.value, api_at)),
            Some((&kind.value, kind_at)),
            want,
        ));
    }

    fn list<S: Str>(&mut self, items: &[S], what: &str) -> (Vec<Name>, Vec<Pos>) {
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

    fn member<S: Str>(
        &mut self,
        (m_name, m_primary, m_failover): (&S, &S, &[S]),
        kind: &str,
    ) -> Option<MemberDef> {
        let name = self.name(m_name, kind);
        let primary = self.name(m_primary, "primary");
        let (failover, failover_pos) = self.list(m_failover, "failover");
        Some(MemberDef {
            pos: self.pos(m_name),
            primary_pos: self.pos(m_primary),
            name: name?,
            parents: Parents {
                primary: primary?,
                failover,
            },
            failover_pos,
        })
    }

    /// A desired-topology document as a (partial) model; sections read by
    /// the fast path come from `fast` instead of `d`, in the same order.
    pub fn topology(&mut self, d: &doc::TopologyDoc, fast: Option<&fast::Split>) -> Topology {
        self.header(&d.api_version, &d.kind, "Topology");
        self.unknown(&d.unknown);
        if let Some(m) = &d.metadata {
            self.unknown(&m.unknown);
        }
        let mut t = Topology {
            group: d
                .metadata
                .as_ref()
                .and_then(|m| m.name.as_ref())
                .map(|n| n.value.clone()),
            ..Default::default()
        };
        match fast.and_then(|f| f.servers.as_ref()) {
            Some(list) => {
                t.management_servers.reserve(list.len());
                for s in list {
                    self.server(&s.name, &mut t.management_servers);
                }
            }
            None => {
                for s in &d.management_servers {
                    self.unknown(&s.unknown);
                    self.server(&s.name, &mut t.management_servers);
                }
            }
        }
        t.gateways = self.members(fast, |f| f.gateways.as_ref(), &d.gateways, "gateway");
        t.agents = self.members(fast, |f| f.agents.as_ref(), &d.agents, "agent");
        t.agent_rules = d.agent_rules.iter().filter_map(|r| self.rule(r)).collect();
        t.management_store = d.management_store.as_ref().and_then(|s| self.store(s));
        if let Some(p) = &d.policy {
            self.unknown(&p.unknown);
            if let Some(c) = &p.capacity {
                self.unknown(&c.unknown);
            }
            if let Some(c) = &p.poll {
                self.unknown(&c.unknown);
            }
            if let Some(r) = &p.rollout {
                self.rollout_unknown(&r.value);
            }
            t.policy = self.policy(p);
            t.policy.notifications = self.notifications(&p.notifications);
            t.policy.windows = self.windows(&p.windows);
            t.policy.approval = p.approval.as_ref().and_then(|a| self.approval(a));
            t.policy_pos = p
                .max_in_flight
                .as_ref()
                .map(|m| self.pos(m))
                .or_else(|| p.ack_timeout.as_ref().map(|a| self.pos(a)));
        }
        self.unknown_summary();
        t
    }

    fn server(&mut self, n: &impl Str, out: &mut Vec<ServerDef>) {
        if let Some(name) = self.name(n, "management server") {
            let pos = self.pos(n);
            out.push(ServerDef { name, pos });
        }
    }

    fn members<'f>(
        &mut self,
        fast: Option<&'f fast::Split<'f>>,
        section: impl Fn(&'f fast::Split<'f>) -> Option<&'f Vec<fast::Member<'f>>>,
        doc: &[doc::MemberDoc],
        kind: &str,
    ) -> Vec<MemberDef> {
        match fast.and_then(|f| Some((f, section(f)?))) {
            Some((f, list)) => {
                let mut out = Vec::with_capacity(list.len());
                for m in list {
                    let failover = &f.failovers[m.failover.clone()];
                    out.extend(self.member((&m.name, &m.primary, failover), kind));
                }
                out
            }
            None => doc
                .iter()
                .filter_map(|m| {
                    self.unknown(&m.unknown);
                    self.member((&m.name, &m.primary, &m.failover[..]), kind)
                })
                .collect(),
        }
    }

    fn rule(&mut self, r: &doc::RuleDoc) -> Option<AgentRule> {
        self.unknown(&r.unknown);
        let pos = self.pos(&r.pattern);
        let pattern = r.pattern.value.clone();
        let mut at = RulePos {
            primary: r.primary.as_ref().map(|p| self.pos(p)),
            failover_count: r.failover_count.as_ref().map(|f| self.pos(f)),
            spread: r.spread.as_ref().map(|s| self.pos(s)),
            ..RulePos::default()
        };
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
                    self.diags.push(
                        Diagnostic::at(
                            at,
                            "failoverCount applies only to a spread rule; this rule gives primary",
                        )
                        .with_hint("list the failovers under failover"),
                    );
                    ok = false;
                }
                let primary = self.name(p, "primary");
                let (failover, failover_pos) =
                    self.list(r.failover.as_deref().unwrap_or(&[]), "failover");
                at.failover = failover_pos;
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
                let (pool, pool_pos) = self.list(&pool.value, "spread pool member");
                at.pool = pool_pos;
                Some(RuleAssign::Spread {
                    pool,
                    failover_count: r.failover_count.as_ref().map_or(0, |f| f.value),
                })
            }
            (Some(_), Some(spread)) => {
                let at = self.pos(spread);
                self.diags.push(
                    Diagnostic::at(
                        at,
                        format!(
                            "agentRules {} gives both primary and spread; expected exactly one of them",
                            quote(&pattern)
                        ),
                    )
                    .with_hint("keep primary (fixed parents) or spread (a balanced pool), not both"),
                );
                None
            }
            (None, None) => {
                self.diags.push(
                    Diagnostic::at(
                        pos.clone(),
                        format!(
                            "agentRules {} gives neither primary nor spread; expected exactly one of them",
                            quote(&pattern)
                        ),
                    )
                    .with_hint("add primary: SERVER, or spread: [SERVER, ...]"),
                );
                None
            }
        };
        let assign = assign?;
        if !ok {
            return None;
        }
        self.rules.push(at);
        Some(AgentRule {
            pattern,
            assign,
            pos,
        })
    }

    fn store(&mut self, s: &doc::StoreDoc) -> Option<StoreSpec> {
        self.unknown(&s.unknown);
        let pool = self.name(&s.pool, "managementStore pool");
        let mut dr = model::DisasterRecovery::default();
        let restore = s.restore.as_ref().is_some_and(|r| r.value);
        if let Some(d) = &s.disaster_recovery {
            self.unknown(&d.unknown);
            dr.allowed = d.allowed.as_ref().is_some_and(|a| a.value);
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
            if let Some(a) = d.allowed.as_ref().filter(|a| a.value) {
                self.disaster_recovery_checks(a, d, s.restore.as_ref().filter(|r| r.value));
            }
        }
        Some(StoreSpec {
            pos: self.pos(&s.pool),
            pool: pool?,
            disaster_recovery: dr,
            restore,
        })
    }

    /// `disasterRecovery.allowed: true` needs a backup SQL server (a
    /// disaster-recovery failover cannot run without one), and excludes
    /// `restore` (`Invoke-CsManagementServerFailover` has no `-Restore` in
    /// its disaster-recovery parameter set). Both are errors here, at the
    /// line, so `validate` fails instead of a plan that blocks and exits 0.
    fn disaster_recovery_checks(
        &mut self,
        allowed: &Spanned<bool>,
        d: &doc::DrDoc,
        restore: Option<&Spanned<bool>>,
    ) {
        if d.backup_sql_server.is_none() {
            let pos = self.pos(allowed);
            self.diags.push(
                Diagnostic::at(
                    pos,
                    "managementStore.disasterRecovery allows a disaster-recovery failover but names no backupSqlServer; expected the backup SQL server the failover uses (-BackupSqlServerFqdn)",
                )
                .with_hint("add backupSqlServer: <FQDN of the backup SQL server> under disasterRecovery, or set allowed: false"),
            );
        }
        if let Some(r) = restore {
            let pos = self.pos(r);
            self.diags.push(
                Diagnostic::at(
                    pos,
                    "managementStore.restore: true cannot be combined with disasterRecovery.allowed: true; -Restore belongs to a planned failover only, and Invoke-CsManagementServerFailover has no -Restore in its disaster-recovery parameter set",
                )
                .with_hint("remove restore (or set it to false), or set disasterRecovery.allowed: false to keep restore for planned failovers"),
            );
        }
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
        if let Some(a) = &p.store_timeout {
            match Seconds::parse(&a.value) {
                Ok(s) if s.0 > 0 => out.store_timeout = s,
                _ => {
                    let pos = self.pos(a);
                    self.diags.push(Diagnostic::at(
                        pos,
                        format!("storeTimeout {} is not a duration; expected a whole number above 0 followed by s, m or h, such as 30m or 2h", quote(&a.value)),
                    ));
                }
            }
        }
        if let Some(poll) = &p.poll {
            for (a, what, slot) in [
                (&poll.interval, "poll.interval", &mut out.poll.interval),
                (&poll.max, "poll.max", &mut out.poll.max),
            ] {
                let Some(a) = a else { continue };
                match Seconds::parse(&a.value) {
                    Ok(s) if s.0 > 0 => *slot = s,
                    _ => {
                        let pos = self.pos(a);
                        self.diags.push(Diagnostic::at(
                            pos,
                            format!("{what} {} is not a duration; expected a whole number above 0 followed by s, m or h, such as 15s or 2m", quote(&a.value)),
                        ));
                    }
                }
            }
            if out.poll.max.0 < out.poll.interval.0
                && let Some(a) = poll.max.as_ref().or(poll.interval.as_ref())
            {
                let pos = self.pos(a);
                self.diags.push(Diagnostic::at(
                    pos,
                    format!(
                        "poll.max ({}s) is shorter than poll.interval ({}s); make max at least the interval",
                        out.poll.max.0, out.poll.interval.0
                    ),
                ));
            }
        }
        if let Some(r) = &p.rollout {
            out.rollout = self.rollout(r);
        }
        if let Some(c) = &p.cost {
            out.cost = Box::new(self.cost(c));
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

    /// One observed gateway or agent: (name, primary, failover, connected)
    /// and (up, ready).
    fn observed_member<S: Str>(
        &mut self,
        (m_name, m_primary, m_failover, m_connected): (&S, &S, &[S], Option<&S>),
        (up, ready, evidence): (Option<bool>, Option<bool>, Option<&doc::EvidenceDoc>),
        kind: &str,
    ) -> Option<(ObservedMember, MemberPos)> {
        let evidence = match evidence {
            Some(e) => Some(Box::new(self.evidence(e)?)),
            None => None,
        };
        let name = self.name(m_name, kind);
        let primary = self.name(m_primary, "primary");
        let (failover, failover_pos) = self.list(m_failover, "failover");
        let connected = m_connected.map(|c| (self.name(c, "connected"), self.pos(c)));
        let pos = MemberPos {
            name: self.pos(m_name),
            primary: self.pos(m_primary),
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
                up: up.unwrap_or(true),
                ready: ready.unwrap_or(true),
                evidence,
            },
            pos,
        ))
    }

    /// A member's `evidence`: every time and name checked, each problem
    /// reported at its place; `None` when one is wrong.
    fn evidence(&mut self, e: &doc::EvidenceDoc) -> Option<model::Evidence> {
        self.unknown(&e.unknown);
        let observed_at = self.stamp(&e.observed_at, "evidence.observedAt");
        let learned = e.learned.as_ref().map(|l| {
            self.unknown(&l.unknown);
            let (parents, _) = self.list(&l.parents, "evidence.learned.parents");
            let at = self.stamp(&l.at, "evidence.learned.at");
            (parents.len() == l.parents.len())
                .then_some(())
                .and(at)
                .map(|at| model::Learned { parents, at })
        });
        let heartbeat = e.heartbeat.as_ref().map(|h| {
            self.unknown(&h.unknown);
            let at = self.stamp(&h.at, "evidence.heartbeat.at");
            let via = h
                .via
                .as_ref()
                .map(|v| self.name(v, "evidence.heartbeat.via"));
            match (at, via) {
                (Some(at), None) => Some(model::Heartbeat { at, via: None }),
                (Some(at), Some(Some(via))) => Some(model::Heartbeat { at, via: Some(via) }),
                _ => None,
            }
        });
        let applied = e
            .config_applied_at
            .as_ref()
            .map(|t| self.stamp(t, "evidence.configAppliedAt"));
        Some(model::Evidence {
            observed_at: observed_at?,
            learned: learned.map_or(Some(None), |l| l.map(Some))?,
            heartbeat: heartbeat.map_or(Some(None), |h| h.map(Some))?,
            config_applied_at: applied.map_or(Some(None), |a| a.map(Some))?,
        })
    }

    /// A UTC time, or a problem at its place.
    fn stamp(&mut self, t: &Text, what: &str) -> Option<model::Stamp> {
        match model::Stamp::parse(&t.value) {
            Ok(s) => Some(s),
            Err(m) => {
                let pos = self.pos(t);
                self.diags.push(Diagnostic::at(pos, format!("{what}: {m}")));
                None
            }
        }
    }

    fn observed_server(
        &mut self,
        (n, up, health): (&impl Str, Option<bool>, Option<&doc::HealthDoc>),
        o: &mut Observed,
        p: &mut ObservedPositions,
    ) {
        if let Some(name) = self.name(n, "management server") {
            if let Some(h) =
                health.and_then(|h| self.health(h, &format!("management server {name}")))
            {
                o.health.insert(name.clone(), h);
            }
            p.management_servers.push(self.pos(n));
            o.management_servers.push(ObservedServer {
                name,
                up: up.unwrap_or(true),
            });
        }
    }

    /// An observed-state document as a (partial) model with positions;
    /// sections read by the fast path come from `fast` instead of `d`.
    pub fn observed(
        &mut self,
        d: &doc::ObservedDoc,
        fast: Option<&fast::Split>,
    ) -> (Observed, ObservedPositions) {
        self.header(&d.api_version, &d.kind, "Observed");
        self.unknown(&d.unknown);
        let mut o = Observed::new();
        let mut p = ObservedPositions::default();
        match fast.and_then(|f| f.servers.as_ref()) {
            Some(list) => list
                .iter()
                .for_each(|s| self.observed_server((&s.name, s.up, None), &mut o, &mut p)),
            None => d.management_servers.iter().for_each(|s| {
                self.unknown(&s.unknown);
                self.observed_server((&s.name, s.up, s.health.as_ref()), &mut o, &mut p)
            }),
        }
        let mut healths = Vec::new();
        for (list, fast_list, out, pos, kind) in [
            (
                &d.gateways,
                fast.and_then(|f| f.gateways.as_ref()),
                &mut o.gateways,
                &mut p.gateways,
                "gateway",
            ),
            (
                &d.agents,
                fast.and_then(|f| f.agents.as_ref()),
                &mut o.agents,
                &mut p.agents,
                "agent",
            ),
        ] {
            let mut push = |m: Option<(ObservedMember, MemberPos)>| {
                if let Some((member, at)) = m {
                    out.push(member);
                    pos.push(at);
                }
            };
            match (fast, fast_list) {
                (Some(f), Some(fl)) => {
                    for m in fl {
                        let failover = &f.failovers[m.failover.clone()];
                        push(self.observed_member(
                            (&m.name, &m.primary, failover, m.connected.as_ref()),
                            (m.up, m.ready, None),
                            kind,
                        ));
                    }
                }
                _ => {
                    for m in list {
                        self.unknown(&m.unknown);
                        let member = self.observed_member(
                            (&m.name, &m.primary, &m.failover[..], m.connected.as_ref()),
                            (m.up, m.ready, m.evidence.as_ref()),
                            kind,
                        );
                        match (&m.health, &member) {
                            (Some(_), _) if kind == "agent" => {
                                let at = self.pos(&m.name);
                                self.agent_health(at, &m.name.value);
                            }
                            (Some(h), Some((g, _))) => {
                                if let Some(h) = self.health(h, &format!("gateway {}", g.name)) {
                                    healths.push((g.name.clone(), h));
                                }
                            }
                            _ => {}
                        }
                        push(member);
                    }
                }
            }
        }
        o.health.extend(healths);
        if let Some(s) = &d.management_store {
            self.unknown(&s.unknown);
            let active_pool = s.active_pool.as_ref().and_then(|a| {
                p.active_pool = Some(self.pos(a));
                self.name(a, "activePool")
            });
            let mut pools = Vec::new();
            for pool in &s.pools {
                self.unknown(&pool.unknown);
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
        self.unknown_summary();
        (o, p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_field_forgives_a_slip_but_not_a_different_word() {
        let fields = ["name", "primary", "failover"];
        assert_eq!(nearest("nmae", &fields), Some("name"));
        assert_eq!(nearest("Primary", &fields), Some("primary"));
        assert_eq!(nearest("faliover", &fields), Some("failover"));
        assert_eq!(nearest("failovers", &fields), Some("failover"));
        assert_eq!(nearest("colour", &fields), None);
        assert_eq!(nearest("n", &fields), None);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("abc", "abc"), 0);
        assert_eq!(edit_distance("ab", "ba"), 1);
    }
}
