//! The event queue: what happens next, in virtual time.
//!
//! Owns the [`Event`] kinds and a priority queue ordered by
//! (time, sequence number), so events at the same instant run in the order
//! they were scheduled and a run is deterministic. Cost is proportional to
//! the events scheduled, never to the fleet size times the ticks. Must not
//! know what the events do (see `rules`, `faults`, `store`).

use super::ids::MemberId;
use serde::{Deserialize, Serialize};
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// Something that happens at a point in virtual time.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub(crate) enum Event {
    /// A connected member learns the management group's configuration.
    Learn {
        /// The member.
        member: MemberId,
    },
    /// A member's 60 s retry (reconnect, or fail back to its primary).
    Retry {
        /// The member.
        member: MemberId,
    },
    /// The next fault of the schedule fires (faults fire in time order).
    Fault {
        /// Its index in the time-sorted schedule.
        index: usize,
    },
    /// A store failover finishes: the store becomes active in `pool`.
    StoreActive {
        /// Index of the pool.
        pool: u32,
        /// Store generation when it was scheduled (stale if it changed).
        generation: u64,
    },
    /// Replication of the store finishes.
    Replicated {
        /// Store generation when it was scheduled (stale if it changed).
        generation: u64,
    },
}

/// One scheduled event.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub(crate) struct Scheduled {
    /// Virtual time in milliseconds.
    pub at: u64,
    /// Scheduling order, breaking ties at the same instant.
    pub seq: u64,
    /// What happens.
    #[serde(flatten)]
    pub event: Event,
}

/// Events in (time, sequence) order. Serialises as a sorted list, so the
/// saved form does not depend on the heap's internal layout.
#[derive(Clone, Debug, Default)]
pub(crate) struct Queue {
    heap: BinaryHeap<Reverse<Scheduled>>,
    next_seq: u64,
}

impl Queue {
    /// Schedules `event` at `at` (milliseconds).
    pub fn push(&mut self, at: u64, event: Event) {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.heap.push(Reverse(Scheduled { at, seq, event }));
    }

    /// Removes and returns the earliest event due at or before `until`.
    pub fn pop_due(&mut self, until: u64) -> Option<Scheduled> {
        if self.heap.peek()?.0.at <= until {
            self.heap.pop().map(|r| r.0)
        } else {
            None
        }
    }

    /// When the earliest event is due.
    pub fn next_at(&self) -> Option<u64> {
        self.heap.peek().map(|r| r.0.at)
    }

    /// Every scheduled event, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = &Event> {
        self.heap.iter().map(|r| &r.0.event)
    }

    /// How many events are scheduled.
    pub fn len(&self) -> usize {
        self.heap.len()
    }
}

#[derive(Serialize, Deserialize)]
struct QueueDoc {
    next_seq: u64,
    events: Vec<Scheduled>,
}

impl Serialize for Queue {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut events: Vec<Scheduled> = self.heap.iter().map(|r| r.0.clone()).collect();
        events.sort();
        QueueDoc {
            next_seq: self.next_seq,
            events,
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for Queue {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let doc = QueueDoc::deserialize(d)?;
        Ok(Queue {
            heap: doc.events.into_iter().map(Reverse).collect(),
            next_seq: doc.next_seq,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pops_by_time_then_scheduling_order() {
        let mut q = Queue::default();
        q.push(500, Event::Retry { member: 1 });
        q.push(100, Event::Retry { member: 2 });
        q.push(500, Event::Learn { member: 0 });
        assert_eq!(q.next_at(), Some(100));
        assert_eq!(q.pop_due(99), None);
        let order: Vec<Event> = std::iter::from_fn(|| q.pop_due(1000).map(|s| s.event)).collect();
        assert_eq!(
            order,
            vec![
                Event::Retry { member: 2 },
                Event::Retry { member: 1 },
                Event::Learn { member: 0 }
            ]
        );
    }

    #[test]
    fn serialises_sorted_and_round_trips() {
        let mut q = Queue::default();
        for (i, at) in [30u64, 10, 20, 10].into_iter().enumerate() {
            q.push(at, Event::Retry { member: i as u32 });
        }
        let text = serde_json::to_string(&q).unwrap();
        let back: Queue = serde_json::from_str(&text).unwrap();
        assert_eq!(serde_json::to_string(&back).unwrap(), text);
        let ats: Vec<u64> = serde_json::from_str::<serde_json::Value>(&text).unwrap()["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["at"].as_u64().unwrap())
            .collect();
        assert_eq!(ats, vec![10, 10, 20, 30]);
    }
}
