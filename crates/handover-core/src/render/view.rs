//! The plan seen as phases, shared by the text and Markdown renderers.
//!
//! Owns how steps are grouped for people: management servers that block
//! moves, gateways, agents, prunes, retirements, the store; each member
//! with its old parents (from the observed state), its bridge and its
//! final parents; and the common domain suffix left out of names.

use crate::hash::FastMap as HashMap;
use crate::model::{MemberKind, Observed, ObservedMember, Parents};
use crate::name::Name;
use crate::plan::{Action, BlockReason, Plan, ServerKind};

/// One member's change as people read it.
#[derive(Clone, Debug)]
pub struct MemberView<'a> {
    /// Agent or gateway.
    pub kind: MemberKind,
    /// The member.
    pub name: &'a Name,
    /// Its observed parents (absent only for a hand-made plan).
    pub old: Option<&'a Parents>,
    /// The server it is connected to now.
    pub connected: Option<&'a Name>,
    /// The bridge the plan writes first, if any.
    pub bridge: Option<Parents>,
    /// The primary the plan waits for it to connect to, if any.
    pub awaits: Option<&'a Name>,
    /// The exact parents it ends with.
    pub new: Parents,
}

impl MemberView<'_> {
    /// Old parents the change removes, in their old order.
    pub fn dropped(&self) -> Vec<&Name> {
        self.old
            .map(|o| o.iter().filter(|s| !self.new.lists(s)).collect())
            .unwrap_or_default()
    }

    /// A key for grouping identical moves: old and new parents.
    pub fn group_key(&self) -> GroupKey {
        let l = |p: &Parents| p.iter().map(|n| n.to_lowercase()).collect::<Vec<_>>();
        (
            self.old.map(l).unwrap_or_default(),
            l(&self.new),
            match (&self.bridge, self.awaits) {
                (Some(_), _) => 0,
                (None, Some(_)) => 1,
                (None, None) => 2,
            },
        )
    }

    /// How it moves, in words: `bridge`, `in flight` or `one step`.
    pub fn how(&self) -> &'static str {
        match (&self.bridge, self.awaits) {
            (Some(_), _) => "bridge",
            (None, Some(_)) => "in flight",
            (None, None) => "one step",
        }
    }
}

/// Members grouped by identical moves ([`MemberView::group_key`]), largest
/// group first, then by key.
pub fn move_groups<'m, 'a>(members: &'m [MemberView<'a>]) -> Vec<Vec<&'m MemberView<'a>>> {
    let mut groups: std::collections::BTreeMap<GroupKey, Vec<&MemberView<'a>>> =
        std::collections::BTreeMap::new();
    for m in members {
        groups.entry(m.group_key()).or_default().push(m);
    }
    let mut groups: Vec<_> = groups.into_values().collect();
    groups.sort_by_key(|g| std::cmp::Reverse(g.len()));
    groups
}

/// What makes two moves identical: old parents, new parents (lowercase)
/// and how (0 bridge, 1 in flight, 2 one step).
pub type GroupKey = (Vec<String>, Vec<String>, u8);

/// A group of steps shown together.
#[derive(Clone, Debug)]
pub enum Phase<'a> {
    /// Management servers that are down or absent while desired members
    /// need them: (server, "down" or "absent", members waiting).
    ManagementServers(Vec<(Name, &'static str, u64)>),
    /// Gateways changing their parents, parents-first.
    Gateways(Vec<MemberView<'a>>),
    /// Agents changing their parents, by name.
    Agents(Vec<MemberView<'a>>),
    /// Members whose bridge is pruned once they have connected.
    Prune(Vec<MemberView<'a>>),
    /// Gateways retired.
    Retire(Vec<&'a Name>),
    /// Central Management Store steps.
    Store(Vec<&'a Action>),
}

impl Phase<'_> {
    /// The heading.
    pub fn title(&self) -> &'static str {
        match self {
            Phase::ManagementServers(_) => "Management servers",
            Phase::Gateways(_) => "Gateways",
            Phase::Agents(_) => "Agents",
            Phase::Prune(_) => "Prune",
            Phase::Retire(_) => "Retire",
            Phase::Store(_) => "Central Management Store",
        }
    }
}

/// A plan laid out in phases.
#[derive(Clone, Debug)]
pub struct View<'a> {
    /// The plan.
    pub plan: &'a Plan,
    /// Non-empty phases, in order.
    pub phases: Vec<Phase<'a>>,
    /// The domain suffix (`contoso.local`) left out of names; empty if none.
    pub suffix: String,
}

impl<'a> View<'a> {
    /// Lays `plan` out, reading old parents from `observed`.
    pub fn new(plan: &'a Plan, observed: &'a Observed) -> Self {
        let index = |l: &'a [ObservedMember]| -> HashMap<&'a Name, &'a ObservedMember> {
            l.iter().rev().map(|m| (&m.name, m)).collect()
        };
        let gateways = index(&observed.gateways);
        let agents = index(&observed.agents);
        let mut members: Vec<MemberView<'a>> = Vec::new();
        let mut at: HashMap<(MemberKind, &'a Name), usize> = HashMap::default();
        let mut retire = Vec::new();
        let mut store = Vec::new();
        for s in &plan.steps {
            let (kind, name) = match &s.action {
                Action::SetParents { kind, name, .. }
                | Action::AwaitConnected { kind, name, .. } => (*kind, name),
                Action::RetireGateway { name, .. } => {
                    retire.push(name);
                    continue;
                }
                Action::AwaitReady { .. } => continue,
                _ => {
                    store.push(&s.action);
                    continue;
                }
            };
            let i = *at.entry((kind, name)).or_insert_with(|| {
                let obs = match kind {
                    MemberKind::Gateway => gateways.get(name),
                    MemberKind::Agent => agents.get(name),
                };
                members.push(MemberView {
                    kind,
                    name,
                    old: obs.map(|m| &m.parents),
                    connected: obs.and_then(|m| m.connected.as_ref()),
                    bridge: None,
                    awaits: None,
                    new: obs
                        .map(|m| m.parents.clone())
                        .unwrap_or_else(|| Parents::primary_only(name.clone())),
                });
                members.len() - 1
            });
            let m = &mut members[i];
            match &s.action {
                Action::SetParents { bridge: true, .. } => m.bridge = s.action.parents(),
                Action::SetParents { .. } => m.new = s.action.parents().expect("set_parents"),
                Action::AwaitConnected { server, .. } => m.awaits = Some(server),
                _ => {}
            }
        }
        let mut phases = Vec::new();
        let down = management_servers(plan);
        if !down.is_empty() {
            phases.push(Phase::ManagementServers(down));
        }
        let (gw, ag): (Vec<_>, Vec<_>) = members
            .into_iter()
            .partition(|m| m.kind == MemberKind::Gateway);
        let prune: Vec<MemberView<'a>> = gw
            .iter()
            .chain(ag.iter())
            .filter(|m| m.awaits.is_some())
            .cloned()
            .collect();
        if !gw.is_empty() {
            phases.push(Phase::Gateways(gw));
        }
        if !ag.is_empty() {
            phases.push(Phase::Agents(ag));
        }
        if !prune.is_empty() {
            phases.push(Phase::Prune(prune));
        }
        if !retire.is_empty() {
            phases.push(Phase::Retire(retire));
        }
        if !store.is_empty() {
            phases.push(Phase::Store(store));
        }
        let suffix = common_suffix(plan, observed);
        View {
            plan,
            phases,
            suffix,
        }
    }

    /// `name` without the common suffix.
    pub fn short<'n>(&self, name: &'n Name) -> &'n str {
        let s = name.as_str();
        if self.suffix.is_empty() || s.len() <= self.suffix.len() + 1 {
            return s;
        }
        let cut = s.len() - self.suffix.len();
        if s[cut..].eq_ignore_ascii_case(&self.suffix) && s.as_bytes()[cut - 1] == b'.' {
            &s[..cut - 1]
        } else {
            s
        }
    }

    /// Parents as `primary [failover, ...]`, short names.
    pub fn parents(&self, p: &Parents) -> String {
        let f: Vec<&str> = p.failover.iter().map(|n| self.short(n)).collect();
        format!("{} [{}]", self.short(&p.primary), f.join(", "))
    }

    /// Names joined with `, `, short.
    pub fn names(&self, names: &[&Name]) -> String {
        names
            .iter()
            .map(|n| self.short(n))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// What the member's change is, in words: `gw1 → gw2 (bridge: ...)`.
    pub fn describe(&self, m: &MemberView<'_>) -> String {
        let head = match m.old {
            Some(o) if o.primary != m.new.primary => {
                format!(
                    "{} → {}",
                    self.short(&o.primary),
                    self.short(&m.new.primary)
                )
            }
            Some(o) => format!("{} → {}", self.parents(o), self.parents(&m.new)),
            None => format!("→ {}", self.parents(&m.new)),
        };
        let who = m.name.short();
        let how = match (&m.bridge, m.awaits) {
            (Some(_), Some(p)) => format!(
                "bridge: keep {} as failover until {who} connects to {}",
                self.names(&m.dropped()),
                self.short(p)
            ),
            (None, Some(p)) => format!(
                "in flight: already bridged; remove {} once {who} connects to {}",
                self.names(&m.dropped()),
                self.short(p)
            ),
            _ => "one step: removes nothing it may be talking to".to_string(),
        };
        format!("{head} ({how})")
    }
}

/// Management servers named by blocked reasons as down or absent, with how
/// many members wait for each, by name.
fn management_servers(plan: &Plan) -> Vec<(Name, &'static str, u64)> {
    let mut by: std::collections::BTreeMap<Name, (&'static str, u64)> = Default::default();
    for b in &plan.blocked {
        let (parent, state) = match &b.reason {
            BlockReason::ParentDown {
                parent,
                parent_kind: ServerKind::ManagementServer,
            } => (parent, "down"),
            BlockReason::ParentAbsent {
                parent,
                parent_kind: ServerKind::ManagementServer,
            } => (parent, "absent"),
            _ => continue,
        };
        by.entry(parent.clone()).or_insert((state, 0)).1 += 1;
    }
    by.into_iter().map(|(n, (s, c))| (n, s, c)).collect()
}

/// The longest run of trailing labels every name in the plan shares, as
/// long as each name keeps at least one label of its own.
fn common_suffix(plan: &Plan, observed: &Observed) -> String {
    let mut names: Vec<&Name> = Vec::new();
    for s in &plan.steps {
        names.push(s.action.subject());
        match &s.action {
            Action::SetParents {
                primary, failover, ..
            } => {
                names.push(primary);
                names.extend(failover);
            }
            Action::AwaitConnected { server, .. } => names.push(server),
            _ => {}
        }
    }
    for b in &plan.blocked {
        names.push(&b.name);
        if let Some(p) = b.reason.parent() {
            names.push(p);
        }
    }
    let planned: crate::hash::FastSet<&Name> = names.iter().copied().collect();
    for m in observed.gateways.iter().chain(&observed.agents) {
        if planned.contains(&m.name) {
            names.extend(m.parents.iter());
        }
    }
    suffix_shared_by(&names)
}

/// The longest run of trailing labels every one of `names` shares, as long
/// as each keeps at least one label of its own; lowercase, without the
/// leading dot. Shared with `graph`, so plans and graphs shorten alike.
pub(crate) fn suffix_shared_by(names: &[&Name]) -> String {
    let Some(first) = names.first() else {
        return String::new();
    };
    // Trailing labels of the first name, last label first.
    let mut common: Vec<&str> = first.as_str().rsplit('.').collect();
    for n in names {
        let labels = n.as_str().split('.').count();
        let keep = common
            .iter()
            .zip(n.as_str().rsplit('.'))
            .take_while(|(a, b)| a.eq_ignore_ascii_case(b))
            .count()
            .min(labels - 1);
        common.truncate(keep);
        if common.is_empty() {
            break;
        }
    }
    common.reverse();
    common.join(".").to_ascii_lowercase()
}
