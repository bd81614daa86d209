//! The rules of the simulated management group: who accepts whom, which
//! gateways have a working path to a management server (and so relay and
//! accept), how a member learns its configuration, retries, fails over and
//! fails back, when it is cut off and when it is stranded (now, or at any
//! instant of the run).
//!
//! Owns building a [`Sim`] from an observed state and the event loop.
//! Members needing nothing have no event; a member that cannot connect
//! anywhere parks on its servers' wait lists and is woken when one of them
//! may accept it again (comes up, becomes ready) or when its configuration
//! changes — so an idle 100,000-member estate costs nothing per tick. Must
//! not parse files (see `faults`) or know the provider seam (see `target`).

use super::config::SimConfig;
use super::events::{Event, Queue};
use super::state::{
    Calls, Ids, Index, Member, MemberId, Server, ServerId, ServerKind, Sim, SimRng,
};
use super::store::Store;
use crate::model::{MemberKind, Observed, ObservedMember, Parents};
use crate::name::Name;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeSet;

/// Builds the simulation (see [`Sim::from_observed`]).
pub(super) fn build(observed: &Observed, config: SimConfig) -> Sim {
    let mut config = config;
    // Faults fire in time order; equal times keep file order.
    config.faults.faults.sort_by_key(|f| f.at);
    let mut sim = Sim {
        rng: SimRng(ChaCha8Rng::seed_from_u64(config.seed)),
        config,
        now_ms: 0,
        servers: Vec::new(),
        members: Vec::new(),
        store: None,
        queue: Queue::default(),
        faults_fired: 0,
        error_rate: 0.0,
        lost_answer_rate: 0.0,
        calls: Calls::default(),
        stranded_ever: BTreeSet::new(),
        rooted: Vec::new(),
        touched: Vec::new(),
        paths_dirty: true,
        overload_armed: false,
        roots_stale: true,
        index: Index::default(),
    };
    for ms in &observed.management_servers {
        if !sim.index.servers.contains_key(&ms.name) {
            let id = sim.add_server(&ms.name, ServerKind::ManagementServer);
            sim.servers[id as usize].up = ms.up;
        }
    }
    for gw in &observed.gateways {
        if sim.index.servers.contains_key(&gw.name) {
            continue;
        }
        let id = sim.add_server(&gw.name, ServerKind::Gateway);
        let s = &mut sim.servers[id as usize];
        s.up = gw.up;
        s.ready = gw.ready;
    }
    let members = observed
        .gateways
        .iter()
        .map(|m| (m, MemberKind::Gateway))
        .chain(observed.agents.iter().map(|m| (m, MemberKind::Agent)));
    for (om, kind) in members {
        sim.add_member(om, kind);
    }
    sim.store = observed.management_store.as_ref().map(Store::from_observed);
    // Members were connected as observed; note which gateways have a path.
    sim.settle_paths();
    for m in 0..sim.members.len() as MemberId {
        sim.nudge(m);
    }
    sim.schedule_faults();
    sim.store_start();
    sim.run_until(0);
    sim.after_change();
    sim
}

impl Sim {
    fn add_server(&mut self, name: &Name, kind: ServerKind) -> ServerId {
        let id = self.servers.len() as ServerId;
        self.servers.push(Server {
            name: name.clone(),
            kind,
            up: kind != ServerKind::Unknown,
            ready: kind != ServerKind::Unknown,
            retired: false,
            member: None,
            waiting: Vec::new(),
            connected: BTreeSet::new(),
            had_path: false,
            overload_above: None,
        });
        self.index.servers.insert(name.clone(), id);
        id
    }

    /// The id of a parent name, adding an absent server for a name no
    /// server answers to (it never accepts anyone).
    fn server_for(&mut self, name: &Name) -> ServerId {
        match self.index.servers.get(name) {
            Some(id) => *id,
            None => self.add_server(name, ServerKind::Unknown),
        }
    }

    fn ids_for(&mut self, parents: &Parents) -> Ids {
        Ids {
            primary: self.server_for(&parents.primary),
            failover: parents
                .failover
                .iter()
                .map(|n| self.server_for(n))
                .collect(),
        }
    }

    fn add_member(&mut self, om: &ObservedMember, kind: MemberKind) {
        if self.index.members.contains_key(&om.name) {
            return;
        }
        let id = self.members.len() as MemberId;
        let mg = self.ids_for(&om.parents);
        let server = match kind {
            MemberKind::Gateway => self.index.servers.get(&om.name).copied(),
            MemberKind::Agent => None,
        };
        if let Some(s) = server {
            self.servers[s as usize].member = Some(id);
        }
        let phase_ms = self.rng.0.random_range(0..self.retry_ms()) as u32;
        self.members.push(Member {
            name: om.name.clone(),
            kind,
            server,
            learned: mg.clone(),
            mg,
            connected: None,
            online: true,
            never_ack: false,
            retired: false,
            phase_ms,
            learn_pending: false,
            retry_pending: false,
            parked: false,
            park_epoch: 0,
        });
        self.index.members.insert(om.name.clone(), id);
        // Connected as observed, when that server would accept it, its
        // path aside (a member below a gateway without one is cut off).
        if let Some(&s) = om
            .connected
            .as_ref()
            .and_then(|c| self.index.servers.get(c))
            && self.active(id)
            && self.admits(s, id)
        {
            self.members[id as usize].connected = Some(s);
            self.servers[s as usize].connected.insert(id);
        }
    }

    fn retry_ms(&self) -> u64 {
        (self.config.retry_interval.as_millis() as u64).max(1)
    }

    /// A uniform draw from a delay range, in milliseconds.
    pub(crate) fn draw_ms(&mut self, range: super::DelayRange) -> u64 {
        let lo = range.min.as_millis() as u64;
        let hi = (range.max.as_millis() as u64).max(lo);
        self.rng.0.random_range(lo..=hi)
    }

    /// True when the member takes part: online, not retired, and (for a
    /// gateway) its server is up.
    pub(crate) fn active(&self, m: MemberId) -> bool {
        let member = &self.members[m as usize];
        member.online
            && !member.retired
            && member.server.is_none_or(|s| self.servers[s as usize].up)
    }

    /// True when server `s` accepts member `m` now: it is up (a gateway
    /// also ready, and with a working path to a management server at this
    /// instant), the management group lists it for `m`, and `m` itself may
    /// connect (a gateway member only once ready). A gateway member whose
    /// connection closes a loop is accepted: the path vanishes only once
    /// it is connected, and then everything on the loop is cut off.
    pub(crate) fn accepts(&self, s: ServerId, m: MemberId) -> bool {
        self.admits(s, m) && self.has_path(s)
    }

    /// [`Sim::accepts`] without the path: up, ready, listed, and a member
    /// that may connect at all.
    pub(crate) fn admits(&self, s: ServerId, m: MemberId) -> bool {
        let srv = &self.servers[s as usize];
        let member = &self.members[m as usize];
        srv.up
            && !srv.retired
            && match srv.kind {
                ServerKind::ManagementServer => true,
                ServerKind::Gateway => srv.ready,
                ServerKind::Unknown => false,
            }
            && member.server != Some(s)
            && member
                .server
                .is_none_or(|own| self.servers[own as usize].ready)
            && member.mg.lists(s)
    }

    /// True when server `s` has a working path to a management server now:
    /// a management server that is up, or a gateway that is up, ready, not
    /// retired, active as a member, and connected to a server that has
    /// one.
    pub(crate) fn has_path(&self, s: ServerId) -> bool {
        let mut at = s;
        for _ in 0..=self.servers.len() {
            let srv = &self.servers[at as usize];
            match srv.kind {
                ServerKind::ManagementServer => return srv.up,
                ServerKind::Unknown => return false,
                ServerKind::Gateway => {}
            }
            if !srv.up || !srv.ready || srv.retired {
                return false;
            }
            let Some(m) = srv.member else { return false };
            if !self.active(m) {
                return false;
            }
            let Some(c) = self.members[m as usize].connected else {
                return false;
            };
            at = c;
        }
        false // a loop of connections
    }

    /// After an event or a call: gateways that gained a path wake the
    /// members parked on them and relay configuration to the members
    /// connected to them again, and every member touched is judged for
    /// stranding.
    pub(crate) fn after_change(&mut self) {
        self.check_overload();
        self.settle_paths();
        self.note_strandings();
    }

    /// Notes which gateways have a working path now. Members stay
    /// connected to a gateway that loses its path (their connection is up;
    /// nothing goes through): they are *cut off*, learn nothing and are
    /// stranded when nothing could ever reach them (`is_stranded_with`).
    /// A gateway that gains a path wakes the members parked on it and lets
    /// its connected members learn.
    pub(crate) fn settle_paths(&mut self) {
        if !self.paths_dirty {
            return;
        }
        self.paths_dirty = false;
        let mut gained = Vec::new();
        for s in 0..self.servers.len() as ServerId {
            if self.servers[s as usize].kind != ServerKind::Gateway {
                continue;
            }
            let now = self.has_path(s);
            let before = std::mem::replace(&mut self.servers[s as usize].had_path, now);
            if now != before {
                self.touched
                    .extend(self.servers[s as usize].connected.iter().copied());
            }
            if now && !before {
                gained.push(s);
            }
        }
        for s in gained {
            self.wake(s);
            let connected: Vec<MemberId> =
                self.servers[s as usize].connected.iter().copied().collect();
            for m in connected {
                self.maybe_learn(m);
            }
        }
    }

    /// True when `m` is connected to a gateway without a working path.
    pub(crate) fn cut_off(&self, m: MemberId) -> bool {
        self.members[m as usize]
            .connected
            .is_some_and(|c| !self.has_path(c))
    }

    /// Which servers could ever relay configuration again, whatever comes
    /// up or becomes ready: every management server, and (to a fixed
    /// point) every gateway, not retired, whose own learned servers
    /// include one that still lists it and could. A gateway whose learned
    /// chain only loops back, or ends at servers that dropped it, cannot.
    fn compute_rooted(&self) -> Vec<bool> {
        let mut rooted: Vec<bool> = self
            .servers
            .iter()
            .map(|s| s.kind == ServerKind::ManagementServer)
            .collect();
        loop {
            let mut changed = false;
            for (s, srv) in self.servers.iter().enumerate() {
                if rooted[s] || srv.kind != ServerKind::Gateway || srv.retired {
                    continue;
                }
                let Some(m) = srv.member else { continue };
                let member = &self.members[m as usize];
                if member
                    .learned
                    .iter()
                    .any(|p| rooted[p as usize] && member.mg.lists(p))
                {
                    rooted[s] = true;
                    changed = true;
                }
            }
            if !changed {
                return rooted;
            }
        }
    }

    /// Online, disconnected or cut off (connected to a gateway without a
    /// path), and no learned server both still lists it and could ever
    /// relay configuration (`rooted`): no configuration can reach it. A
    /// member whose servers are merely down or not ready, or cut off for
    /// now by an outage higher up, is not stranded.
    pub(crate) fn is_stranded_with(&self, m: MemberId, rooted: &[bool]) -> bool {
        let member = &self.members[m as usize];
        self.active(m)
            && (member.connected.is_none() || self.cut_off(m))
            && !member
                .learned
                .iter()
                .any(|s| member.mg.lists(s) && rooted[s as usize])
    }

    /// Which servers could ever relay configuration again (see
    /// `compute_rooted`), from the cache when it is fresh.
    pub(crate) fn rooted_now(&self) -> Vec<bool> {
        if self.rooted.len() == self.servers.len() && !self.roots_stale {
            self.rooted.clone()
        } else {
            self.compute_rooted()
        }
    }

    /// Judges the members touched since the last call (all of them when
    /// some gateway's chance of relaying changed) and records the stranded
    /// ones in `stranded_ever`.
    fn note_strandings(&mut self) {
        let rooted = self.compute_rooted_if_needed();
        if rooted {
            self.touched.clear();
            self.touched.extend(0..self.members.len() as MemberId);
        }
        let mut touched = std::mem::take(&mut self.touched);
        touched.sort_unstable();
        touched.dedup();
        for &m in &touched {
            if self.is_stranded_with(m, &self.rooted) {
                self.stranded_ever.insert(m);
            }
        }
        touched.clear();
        self.touched = touched;
    }

    /// Recomputes `rooted` when it is stale; true when it changed.
    fn compute_rooted_if_needed(&mut self) -> bool {
        if self.rooted.len() == self.servers.len() && !self.roots_stale {
            return false;
        }
        self.roots_stale = false;
        let new = self.compute_rooted();
        let changed = new != self.rooted;
        self.rooted = new;
        changed
    }

    /// Processes every event due up to `until` (ms), then sets the clock.
    pub(crate) fn run_until(&mut self, until: u64) {
        while let Some(ev) = self.queue.pop_due(until) {
            self.now_ms = self.now_ms.max(ev.at);
            match ev.event {
                Event::Learn { member } => self.on_learn(member),
                Event::Retry { member } => self.on_retry(member),
                Event::Fault { index } => {
                    self.fire_fault(index);
                    self.paths_dirty = true;
                    self.roots_stale = true;
                }
                Event::StoreActive { pool, generation } => self.on_store_active(pool, generation),
                Event::Replicated { generation } => self.on_replicated(generation),
            }
            self.after_change();
        }
        self.now_ms = self.now_ms.max(until);
    }

    /// Notes that `m`'s connection changed: a gateway's changes paths.
    fn connection_changed(&mut self, m: MemberId) {
        self.touched.push(m);
        if self.members[m as usize].server.is_some() {
            self.paths_dirty = true;
        }
    }

    /// Connects `m` to `s`, leaving any previous server.
    fn connect(&mut self, m: MemberId, s: ServerId) {
        self.connection_changed(m);
        if let Some(old) = self.members[m as usize].connected {
            self.servers[old as usize].connected.remove(&m);
        }
        self.servers[s as usize].connected.insert(m);
        let member = &mut self.members[m as usize];
        member.connected = Some(s);
        member.parked = false;
        self.maybe_learn(m);
        self.nudge(m);
    }

    /// Disconnects `m` without scheduling anything.
    pub(crate) fn disconnect(&mut self, m: MemberId) {
        self.connection_changed(m);
        if let Some(old) = self.members[m as usize].connected.take() {
            self.servers[old as usize].connected.remove(&m);
        }
    }

    /// The server stopped accepting `m`: it drops at once and retries at
    /// its next retry time.
    pub(crate) fn drop_member(&mut self, m: MemberId) {
        self.disconnect(m);
        self.nudge(m);
    }

    /// Drops every member connected to `s` (in id order).
    pub(crate) fn drop_all(&mut self, s: ServerId) {
        let connected: Vec<MemberId> = std::mem::take(&mut self.servers[s as usize].connected)
            .into_iter()
            .collect();
        self.paths_dirty = true;
        for m in connected {
            self.members[m as usize].connected = None;
            self.connection_changed(m);
            self.nudge(m);
        }
    }

    /// Schedules learning when a connected member's learned configuration
    /// differs from the management group's. A pending learn is not reset
    /// by a further change: when it fires, the member learns whatever the
    /// configuration is then.
    pub(crate) fn maybe_learn(&mut self, m: MemberId) {
        let member = &self.members[m as usize];
        if member.learn_pending
            || member.never_ack
            || member.connected.is_none()
            || member.mg == member.learned
            || !self.active(m)
        {
            return;
        }
        let delay = self.draw_ms(self.config.propagation);
        self.members[m as usize].learn_pending = true;
        self.queue
            .push(self.now_ms + delay, Event::Learn { member: m });
    }

    /// Schedules the member's next retry when it needs one: disconnected,
    /// or connected elsewhere than its learned primary.
    pub(crate) fn nudge(&mut self, m: MemberId) {
        self.touched.push(m);
        if !self.active(m) {
            return;
        }
        let member = &self.members[m as usize];
        let needs = member.connected != Some(member.learned.primary);
        if !needs || member.retry_pending {
            return;
        }
        let interval = self.retry_ms();
        let phase = u64::from(member.phase_ms) % interval;
        let now = self.now_ms;
        let mut at = now - now % interval + phase;
        if at <= now {
            at += interval;
        }
        let member = &mut self.members[m as usize];
        member.retry_pending = true;
        member.parked = false;
        self.queue.push(at, Event::Retry { member: m });
    }

    /// Wakes the members parked on `s` (it may accept them now), and the
    /// gateway's own member side (it may connect now: up, or ready).
    pub(crate) fn wake(&mut self, s: ServerId) {
        if let Some(own) = self.servers[s as usize].member {
            self.nudge(own);
        }
        let waiting = std::mem::take(&mut self.servers[s as usize].waiting);
        let mut due: Vec<MemberId> = waiting
            .into_iter()
            .filter(|(m, epoch)| {
                let member = &self.members[*m as usize];
                member.parked && member.park_epoch == *epoch
            })
            .map(|(m, _)| m)
            .collect();
        due.sort_unstable();
        due.dedup();
        for m in due {
            self.members[m as usize].parked = false;
            self.nudge(m);
        }
    }

    fn park(&mut self, m: MemberId, on: &[ServerId]) {
        let member = &mut self.members[m as usize];
        member.parked = true;
        member.park_epoch = member.park_epoch.wrapping_add(1);
        let epoch = member.park_epoch;
        for s in on {
            self.servers[*s as usize].waiting.push((m, epoch));
        }
    }

    fn on_retry(&mut self, m: MemberId) {
        self.members[m as usize].retry_pending = false;
        if !self.active(m) {
            return;
        }
        let member = &self.members[m as usize];
        let learned: Vec<ServerId> = member.learned.iter().collect();
        match member.connected {
            None => match learned.iter().find(|&&s| self.accepts(s, m)) {
                Some(&s) => self.connect(m, s),
                None => self.park(m, &learned),
            },
            Some(c) if c != learned[0] => {
                if self.accepts(learned[0], m) {
                    self.connect(m, learned[0]);
                } else {
                    self.park(m, &learned[..1]);
                }
            }
            Some(_) => {}
        }
    }

    fn on_learn(&mut self, m: MemberId) {
        self.members[m as usize].learn_pending = false;
        let member = &self.members[m as usize];
        if member.never_ack || member.connected.is_none() || !self.active(m) {
            return;
        }
        if self.cut_off(m) {
            // Nothing is relayed through a gateway without a path; it
            // learns once that gateway has one again (`settle_paths`).
            return;
        }
        if member.mg == member.learned {
            return;
        }
        let learned = member.mg.clone();
        if member.server.is_some() {
            self.roots_stale = true;
        }
        self.members[m as usize].learned = learned.clone();
        match learned.iter().find(|&s| self.accepts(s, m)) {
            Some(s) if Some(s) != self.members[m as usize].connected => self.connect(m, s),
            _ => self.nudge(m),
        }
    }

    /// Writes the management group's configuration of `m` (a
    /// `set_parents`): a server no longer listed drops the member at once;
    /// a connected member will learn the change; a parked one retries.
    pub(crate) fn set_configured(&mut self, m: MemberId, ids: Ids) -> bool {
        if self.members[m as usize].mg == ids {
            return false;
        }
        self.members[m as usize].mg = ids;
        if self.members[m as usize].server.is_some() {
            self.roots_stale = true;
        }
        if let Some(c) = self.members[m as usize].connected
            && !self.members[m as usize].mg.lists(c)
        {
            self.drop_member(m);
        }
        self.maybe_learn(m);
        self.nudge(m);
        true
    }
}
