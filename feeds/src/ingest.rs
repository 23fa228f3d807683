//! Ingestion rules: every event applies once, in time order.
//!
//! A duplicate `event_id` changes nothing (a reused id with different content is rejected
//! instead, since one of the two must be wrong). Events are held back for a lateness
//! window and released in (`ts`, `event_id`) order once the newest time seen has moved a
//! window past them, so events that arrive out of order within the window apply exactly as
//! if they had arrived in order. An event older than what was already released comes too
//! late for that: it is released at once, marked as a correction, and counted.

use super::event::{FeedEvent, Timestamp};
use foldhash::fast::FixedState;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::collections::hash_map::Entry;
use std::hash::BuildHasher;
use std::sync::Arc;

/// What became of an offered event.
#[derive(Clone, Debug, PartialEq)]
pub enum Admission {
    /// Held until the window passes it.
    Held,
    /// Seen before with this id and content: ignored.
    Duplicate,
    /// Older than events already released: released now as a correction.
    Late,
    /// The id was seen before with other content: rejected (the reason says how).
    Conflict(String),
}

/// Counters of an ingestion, for the run's KPIs.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct IngestionCounters {
    /// Valid events offered (first sight of their id).
    pub accepted: u64,
    /// Events released to be applied.
    pub applied: u64,
    /// Repeated ids with the same content, ignored.
    pub duplicates: u64,
    /// Events that arrived out of order but within the window (applied in order).
    pub reordered: u64,
    /// Events that came later than the window, applied as corrections.
    pub late_corrections: u64,
    /// Invalid lines and conflicting ids, set aside with a reason.
    pub quarantined: u64,
}

/// The ingestion state of one feed (or several merged).
#[derive(Debug)]
pub struct Ingestion {
    /// Nanoseconds an event may arrive after later ones and still apply in order.
    lateness: i64,
    /// Ids seen, by a 128-bit hash of the id, with a fingerprint of the content they came
    /// with. Keeping hashes, not the ids, keeps the table small and its upkeep free of
    /// shared-pointer traffic; two different ids share a hash with odds of about 1 in
    /// 10^26 in a billion events (feeds are not adversarial).
    #[allow(
        clippy::disallowed_types,
        reason = "looked up only, never iterated: order cannot leak"
    )]
    seen: std::collections::HashMap<(u64, u64), u64, FixedState>,
    /// Keys of the held events, earliest (time, id) on top, each naming its slot.
    held: BinaryHeap<Reverse<Held>>,
    /// The held events by slot (`None`: free). Events stay put while their small keys
    /// are ordered, and slots are reused, so holding an event allocates nothing.
    slots: Vec<Option<FeedEvent>>,
    /// Free slots.
    free: Vec<u32>,
    /// Newest time offered so far.
    newest: Option<Timestamp>,
    /// Key of the last event released.
    released: Option<(Timestamp, Arc<str>)>,
    /// The newest clock given to [`Ingestion::release_until`]: events stamped at or before
    /// it come too late to apply in order.
    floor: Option<Timestamp>,
    /// Late events waiting to be taken (released out of order).
    corrections: Vec<FeedEvent>,
    counters: IngestionCounters,
}

impl Ingestion {
    /// An empty ingestion holding events back `lateness_s` seconds.
    pub fn new(lateness_s: f64) -> Self {
        Ingestion {
            lateness: (lateness_s.max(0.0) * 1e9) as i64,
            seen: Default::default(),
            held: BinaryHeap::new(),
            slots: Vec::new(),
            free: Vec::new(),
            newest: None,
            released: None,
            floor: None,
            corrections: Vec::new(),
            counters: IngestionCounters::default(),
        }
    }

    /// Makes room for `events` more offers (a whole file's worth, say), so that the
    /// record of ids seen is not regrown as they come.
    pub fn reserve(&mut self, events: usize) {
        self.seen.reserve(events);
        self.held.reserve(events);
        self.slots.reserve(events.saturating_sub(self.free.len()));
    }

    /// Offers a parsed event.
    pub fn offer(&mut self, event: FeedEvent) -> Admission {
        let print = fingerprint(&event);
        match self.seen.entry(id_hash(&event.event_id)) {
            Entry::Occupied(before) if *before.get() == print => {
                self.counters.duplicates += 1;
                return Admission::Duplicate;
            }
            Entry::Occupied(_) => {
                self.counters.quarantined += 1;
                return Admission::Conflict(format!(
                    "event_id `{}` was used before for an event with other content",
                    event.event_id
                ));
            }
            Entry::Vacant(slot) => {
                slot.insert(print);
            }
        }
        self.counters.accepted += 1;
        if self
            .released
            .as_ref()
            .is_some_and(|(t, id)| (event.ts, &*event.event_id) < (*t, &**id))
            || self.floor.is_some_and(|f| event.ts <= f)
        {
            self.counters.late_corrections += 1;
            self.corrections.push(event);
            return Admission::Late;
        }
        if self.newest.is_some_and(|n| event.ts < n) {
            self.counters.reordered += 1;
        }
        self.newest = Some(self.newest.map_or(event.ts, |n| n.max(event.ts)));
        let key = Held {
            ts: event.ts,
            id: event.event_id.clone(),
            slot: self.free.pop().unwrap_or(self.slots.len() as u32),
        };
        match self.slots.get_mut(key.slot as usize) {
            Some(slot) => *slot = Some(event),
            None => self.slots.push(Some(event)),
        }
        self.held.push(Reverse(key));
        Admission::Held
    }

    /// Counts a line rejected before it became an event.
    pub fn quarantine(&mut self) {
        self.counters.quarantined += 1;
    }

    /// Events ready to apply, in order: late corrections first (as they came), then held
    /// events a window or more older than the newest time seen.
    pub fn ready(&mut self) -> Vec<FeedEvent> {
        let Some(newest) = self.newest else {
            return self.release_while(|_| false);
        };
        let bound = Timestamp(newest.0.saturating_sub(self.lateness));
        self.release_while(|ts| ts <= bound)
    }

    /// Events ready to apply when a live twin's clock reaches `now`: late corrections
    /// first, then held events stamped at or before `now`, in order. From then on, an event
    /// stamped at or before `now` comes too late to apply in order and is a correction.
    pub fn release_until(&mut self, now: Timestamp) -> Vec<FeedEvent> {
        self.floor = Some(self.floor.map_or(now, |f| f.max(now)));
        self.release_while(|ts| ts <= now)
    }

    /// Everything held, in order (the end of a stream or file).
    pub fn flush(&mut self) -> Vec<FeedEvent> {
        // One sort beats popping the heap event by event (a whole file at once).
        let mut all = std::mem::take(&mut self.held).into_vec();
        all.sort_unstable_by(|Reverse(a), Reverse(b)| a.cmp(b));
        let mut out = std::mem::take(&mut self.corrections);
        let late = out.len();
        let in_place = all.len() == self.slots.len()
            && all
                .iter()
                .enumerate()
                .all(|(k, Reverse(key))| key.slot as usize == k);
        if in_place && out.is_empty() {
            // A file read in order: the slots hold the events in order already, so they
            // become the result in their own buffer (no second one to allocate and fill).
            out = std::mem::take(&mut self.slots)
                .into_iter()
                .map(|slot| slot.expect("every slot is held: each appears in `all` once"))
                .collect();
        } else {
            out.reserve(all.len());
            for Reverse(key) in all {
                out.extend(self.slots[key.slot as usize].take());
            }
            self.slots.clear();
        }
        self.free.clear();
        self.released_now(out, late)
    }

    fn release_while(&mut self, ok: impl Fn(Timestamp) -> bool) -> Vec<FeedEvent> {
        let mut out = std::mem::take(&mut self.corrections);
        let late = out.len();
        while self.held.peek().is_some_and(|Reverse(top)| ok(top.ts)) {
            let Some(Reverse(key)) = self.held.pop() else {
                break;
            };
            out.extend(self.slots[key.slot as usize].take());
            self.free.push(key.slot);
        }
        self.released_now(out, late)
    }

    /// Books `out` as released; the first `late` of them are corrections.
    fn released_now(&mut self, out: Vec<FeedEvent>, late: usize) -> Vec<FeedEvent> {
        if out.len() > late
            && let Some(last) = out.last()
        {
            self.released = Some((last.ts, last.event_id.clone()));
        }
        self.counters.applied += out.len() as u64;
        out
    }

    /// The counters so far.
    pub fn counters(&self) -> &IngestionCounters {
        &self.counters
    }
}

/// The key of a held event: its time and id (the order events apply in), and its slot.
/// Ids are unique among held events, so the slot never decides the order.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Held {
    ts: Timestamp,
    id: Arc<str>,
    slot: u32,
}

/// Two independent 64-bit hashes of an id.
fn id_hash(id: &str) -> (u64, u64) {
    (
        FixedState::with_seed(1).hash_one(id),
        FixedState::with_seed(2).hash_one(id),
    )
}

/// A hash of everything an event says, to tell a repeat from a reused id.
fn fingerprint(e: &FeedEvent) -> u64 {
    FixedState::default().hash_one((
        e.ts,
        &e.site,
        &e.region,
        &e.material,
        &e.location,
        e.kind,
        e.qty.to_bits(),
        &e.unit,
        &e.source,
        &e.order,
        e.due,
    ))
}
