//! Gateway chains (docs/spec.md rule 3): does the gateway a member moves onto lead
//! to a management server, without passing through the member, as its
//! configured primary chain will stand when the move runs?
//!
//! Owns each gateway's *effective primary* during a plan and the walk up
//! the chain of effective primaries, memoised per gateway. A gateway whose
//! own change is planned has its desired primary (a move onto it is
//! ordered after every gateway of its chain that has a planned change, see
//! [`Chains::changing`]); any other observed gateway keeps its observed
//! primary (converged, blocked, unmanaged, in a desired cycle). Members
//! fail back along their primary chain at any time, so a chain that loops
//! is a trap even while a gateway on it runs on a failover: only primaries
//! count. Must not decide a member's change (`diff`), a parent's readiness
//! (`ready`) or step ids (`build`). Pure.

use super::types::BlockReason;
use crate::hash::{FastMap as HashMap, FastSet as HashSet};
use crate::model::Observed;
use crate::name::Name;

/// Where a gateway's primary chain leads.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Walk<'a> {
    /// To a management server, through these gateways (the first gateway
    /// first).
    Root(Vec<&'a Name>),
    /// Back to a gateway already met: these gateways, the last one being
    /// the one met twice.
    Loop(Vec<&'a Name>),
    /// To a name that is neither an observed management server nor an
    /// observed gateway: the gateways, then that name.
    Broken(Vec<&'a Name>, &'a Name),
}

/// The gateways' primary chains as they stand when a move runs.
pub(crate) struct Chains<'a> {
    /// Every observed gateway's effective primary.
    primary: HashMap<&'a Name, &'a Name>,
    /// Gateways with a planned change (steps of their own in the plan).
    changes: HashSet<&'a Name>,
    /// Observed management servers (up or down: the chain's shape is what
    /// counts here; a down server is readiness's business).
    management: HashSet<&'a Name>,
    /// Walks already made, by first gateway.
    memo: HashMap<&'a Name, Walk<'a>>,
}

impl<'a> Chains<'a> {
    /// The chains of `observed`'s gateways, where each of `moving` (a
    /// gateway and its desired primary, for every gateway whose change is
    /// planned) has its desired primary.
    pub(crate) fn new(
        observed: &'a Observed,
        moving: impl IntoIterator<Item = (&'a Name, &'a Name)>,
    ) -> Self {
        let mut primary: HashMap<&'a Name, &'a Name> = HashMap::default();
        for g in &observed.gateways {
            primary.entry(&g.name).or_insert(&g.parents.primary);
        }
        let mut changes = HashSet::default();
        for (g, p) in moving {
            if let Some(old) = primary.get_mut(g) {
                changes.insert(g);
                *old = p;
            }
        }
        Chains {
            primary,
            changes,
            management: observed
                .management_servers
                .iter()
                .map(|m| &m.name)
                .collect(),
            memo: HashMap::default(),
        }
    }

    /// The observed gateway called `name` (not a management server), as
    /// the name the chains are keyed by.
    fn gateway(&self, name: &Name) -> Option<&'a Name> {
        if self.management.contains(name) {
            return None;
        }
        self.primary.get_key_value(name).map(|(k, _)| *k)
    }

    /// Walks up from `start`, memoised.
    fn walk(&mut self, start: &'a Name) -> &Walk<'a> {
        if !self.memo.contains_key(start) {
            let mut chain: Vec<&'a Name> = Vec::new();
            let mut at = start;
            let walk = loop {
                if self.management.contains(at) {
                    break Walk::Root(chain);
                }
                let Some(&next) = self.primary.get(at) else {
                    break Walk::Broken(chain, at);
                };
                let seen = chain.contains(&at);
                chain.push(at);
                if seen {
                    break Walk::Loop(chain);
                }
                at = next;
            };
            self.memo.insert(start, walk);
        }
        &self.memo[start]
    }

    /// Whether `member` may move onto `onto` as far as chains go: when
    /// `onto` is an observed gateway, its chain reaches a management
    /// server without passing through `member`. Other servers are
    /// readiness's business and pass here.
    pub(crate) fn check(&mut self, member: &Name, onto: &Name) -> Result<(), BlockReason> {
        let Some(onto) = self.gateway(onto) else {
            return Ok(());
        };
        let owned = |c: &[&Name]| c.iter().map(|n| (*n).clone()).collect::<Vec<Name>>();
        match self.walk(onto) {
            Walk::Root(chain) => match chain.iter().position(|g| *g == member) {
                None => Ok(()),
                Some(i) => Err(BlockReason::ParentChainLoop {
                    parent: onto.clone(),
                    chain: owned(&chain[..=i]),
                }),
            },
            Walk::Loop(chain) => {
                let upto = chain
                    .iter()
                    .position(|g| *g == member)
                    .unwrap_or(chain.len() - 1);
                Err(BlockReason::ParentChainLoop {
                    parent: onto.clone(),
                    chain: owned(&chain[..=upto]),
                })
            }
            Walk::Broken(chain, end) => {
                if let Some(i) = chain.iter().position(|g| *g == member) {
                    return Err(BlockReason::ParentChainLoop {
                        parent: onto.clone(),
                        chain: owned(&chain[..=i]),
                    });
                }
                Err(BlockReason::ParentChainBroken {
                    parent: onto.clone(),
                    chain: owned(chain),
                    end: (*end).clone(),
                })
            }
        }
    }

    /// The gateways of `onto`'s chain (itself included) that have a
    /// planned change: a move onto `onto` waits for their final steps, so
    /// that from the move on the chain is exactly the one
    /// [`Chains::check`] judged. All of them, not only those whose primary
    /// changes: a gateway found in its bridge already has its new primary
    /// and still has steps, and a re-plan after any prefix must wait for
    /// the same steps as the plan it continues. Empty when the chain does
    /// not reach a management server (the move is blocked then).
    pub(crate) fn changing(&mut self, onto: &Name) -> Vec<&'a Name> {
        let Some(onto) = self.gateway(onto) else {
            return Vec::new();
        };
        let chain = match self.walk(onto) {
            Walk::Root(chain) => chain.clone(),
            _ => Vec::new(),
        };
        chain
            .into_iter()
            .filter(|g| self.changes.contains(g))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::observed_str;

    fn n(s: &str) -> Name {
        Name::parse(s).unwrap()
    }

    fn observed() -> Observed {
        observed_str(
            "apiVersion: handover/v1\nkind: Observed\nmanagementServers: [{name: ms1, up: true}, {name: ms2, up: false}]\ngateways:\n  - {name: gwa, primary: ms1, connected: ms1}\n  - {name: gwb, primary: gwa, connected: gwa}\n  - {name: gwc, primary: gwb, connected: gwb}\n  - {name: gwx, primary: gwy}\n  - {name: gwy, primary: gwx}\n  - {name: gwz, primary: ms1}\n",
            "o.yaml",
        )
        .map(|mut o| {
            // The loader refuses an undefined parent; a provider's answer
            // might still carry one, and the walk must not trust it.
            o.gateways[5].parents.primary = n("nowhere");
            o
        })
        .unwrap()
    }

    #[test]
    fn a_chain_through_the_member_is_a_loop_named_in_full() {
        let o = observed();
        let (gwa, gwc) = (n("gwa"), n("gwc"));
        let mut c = Chains::new(&o, [(&gwa, &gwc)]);
        let r = c.check(&gwa, &o.gateways[2].name).unwrap_err();
        assert_eq!(
            r,
            BlockReason::ParentChainLoop {
                parent: n("gwc"),
                chain: vec![n("gwc"), n("gwb"), n("gwa")],
            }
        );
        // An agent below gwc is not on the chain, but the chain loops
        // (gwa now points at gwc): still refused.
        assert!(c.check(&n("a1"), &o.gateways[2].name).is_err());
    }

    #[test]
    fn observed_chains_reach_a_management_server_or_say_why_not() {
        let o = observed();
        let mut c = Chains::new(&o, []);
        assert_eq!(c.check(&n("a1"), &o.gateways[2].name), Ok(()));
        assert_eq!(
            c.check(&n("gwb"), &o.gateways[2].name),
            Err(BlockReason::ParentChainLoop {
                parent: n("gwc"),
                chain: vec![n("gwc"), n("gwb")],
            })
        );
        assert_eq!(
            c.check(&n("a1"), &o.gateways[3].name),
            Err(BlockReason::ParentChainLoop {
                parent: n("gwx"),
                chain: vec![n("gwx"), n("gwy"), n("gwx")],
            })
        );
        assert_eq!(
            c.check(&n("a1"), &o.gateways[5].name),
            Err(BlockReason::ParentChainBroken {
                parent: n("gwz"),
                chain: vec![n("gwz")],
                end: n("nowhere"),
            })
        );
        // Management servers and unknown names are readiness's business.
        assert_eq!(c.check(&n("a1"), &o.management_servers[1].name), Ok(()));
    }

    #[test]
    fn changing_lists_the_gateways_of_the_chain_with_a_planned_change() {
        let o = observed();
        let (gwb, ms2) = (n("gwb"), n("ms2"));
        let mut c = Chains::new(&o, [(&gwb, &ms2)]);
        assert_eq!(c.changing(&o.gateways[2].name), vec![&gwb]);
        assert!(c.changing(&o.gateways[0].name).is_empty());
    }
}
