//! Ingestion rules: every event applies once, in time order.
//!
//! A duplicate `event_id` changes nothing. An id that comes with different contents is a
//! conflict: one of them must be wrong and nothing says which, so none applies. Every
//! version is refused, whichever came first, so the result does not depend on the order
//! of lines; only a version already applied when its rival arrives (past a live
//! twin's lateness window) stands, since it has had its effect. Events are held back for a lateness
//! window and released in (`ts`, `event_id`) order once the newest time seen has moved a
//! window past them, so events that arrive out of order within the window apply exactly as
//! if they had arrived in order. An event older than what was already released comes too
//! late for that: it is released at once, marked as a correction, and counted.

use super::event::{FeedEvent, Timestamp};
use super::parse::{Parsed, Rejection};
use foldhash::fast::FixedState;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::collections::hash_map::Entry;
use std::hash::BuildHasher;
use std::sync::Arc;

/// What became of an offered event.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Admission {
    /// Held until the window passes it.
    Held,
    /// Seen before with this id and content: ignored.
    Duplicate,
    /// Older than events already released: released now as a correction.
    Late,
    /// The id was seen before with other content: refused, as every version of it is.
    Conflict(Box<Conflict>),
}

/// Where an offered event was read: a source (a file or stream, numbered by the caller)
/// and a line of it (from 1; 0 where lines are not counted).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Origin {
    pub source: u32,
    pub line: usize,
}

/// An event whose id was seen before with other content.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Conflict {
    /// The event refused.
    pub event: FeedEvent,
    /// Where it was read.
    pub at: Origin,
    /// Where the id was first seen.
    pub first: Origin,
    /// The first version, refused now as well: it was still held, so it never applied.
    /// `None` when it is no longer held: it was refused already (the id was in conflict
    /// before), or it applied before this version came.
    pub withdrawn: Option<FeedEvent>,
    /// The first version applied before this one came (a live run past its lateness
    /// window): it stands.
    pub first_applied: bool,
}

/// Counters of an ingestion, for the run's KPIs.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
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
    /// Invalid lines and every version of a conflicting id, set aside with a reason.
    pub quarantined: u64,
}

/// A table by a 128-bit hash of an event id.
#[allow(
    clippy::disallowed_types,
    reason = "looked up only; saved in key order (`by_key`): its order cannot leak"
)]
type IdTable<V> = std::collections::HashMap<(u64, u64), V, FixedState>;

/// An [`IdTable`] as a saved ingestion keeps it: its entries in key order, so that equal
/// tables give equal bytes whatever their history.
mod by_key {
    use super::IdTable;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer, V: Serialize>(t: &IdTable<V>, s: S) -> Result<S::Ok, S::Error> {
        let mut entries: Vec<_> = t.iter().collect();
        entries.sort_unstable_by_key(|(k, _)| **k);
        s.collect_seq(entries)
    }

    pub fn deserialize<'de, D: Deserializer<'de>, V: Deserialize<'de>>(
        d: D,
    ) -> Result<IdTable<V>, D::Error> {
        let entries: Vec<((u64, u64), V)> = Vec::deserialize(d)?;
        Ok(entries.into_iter().collect())
    }
}

/// The ingestion state of one feed (or several merged).
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct Ingestion {
    /// Nanoseconds an event may arrive after later ones and still apply in order.
    lateness: i64,
    /// Ids seen, by a 128-bit hash of the id, with a fingerprint of the content they came
    /// with. Keeping hashes, not the ids, keeps the table small and its upkeep free of
    /// shared-pointer traffic; two different ids share a hash with odds of about 1 in
    /// 10^26 in a billion events (feeds are not adversarial).
    #[serde(with = "by_key")]
    seen: IdTable<Seen>,
    /// Where each id was first read, in order of first sighting (apart from the table,
    /// written in order and read only for conflicts).
    origins: Vec<Origin>,
    /// The contents seen for each id in conflict (rare): a repeat of any of them is a
    /// duplicate, whatever came between.
    #[serde(with = "by_key")]
    conflicts: IdTable<Rivals>,
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
            origins: Vec::new(),
            conflicts: Default::default(),
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
        self.origins.reserve(events);
        self.held.reserve(events);
        self.slots.reserve(events.saturating_sub(self.free.len()));
    }

    /// Offers a parsed event, read at `origin`.
    pub fn offer(&mut self, event: FeedEvent, origin: Origin) -> Admission {
        let print = fingerprint(&event);
        let hash = id_hash(&event.event_id);
        let late = self
            .released
            .as_ref()
            .is_some_and(|(t, id)| (event.ts, &*event.event_id) < (*t, &**id))
            || self.floor.is_some_and(|f| event.ts <= f);
        // The slot a held event takes: the last one freed, or a new one.
        let slot = if late {
            NOT_HELD
        } else {
            self.free.last().copied().unwrap_or(self.slots.len() as u32)
        };
        match self.seen.entry(hash) {
            Entry::Occupied(before) if before.get().print == print => {
                self.counters.duplicates += 1;
                return Admission::Duplicate;
            }
            Entry::Occupied(before) => {
                let first = *before.get();
                return self.conflict(hash, print, first, event, origin);
            }
            Entry::Vacant(entry) => {
                entry.insert(Seen {
                    print,
                    arrival: self.origins.len() as u32,
                    slot,
                });
                self.origins.push(origin);
            }
        }
        self.counters.accepted += 1;
        if late {
            self.counters.late_corrections += 1;
            self.corrections.push(event);
            return Admission::Late;
        }
        if self.newest.is_some_and(|n| event.ts < n) {
            self.counters.reordered += 1;
        }
        self.newest = Some(self.newest.map_or(event.ts, |n| n.max(event.ts)));
        self.free.pop();
        let key = Held {
            ts: event.ts,
            id: event.event_id.clone(),
            slot,
        };
        match self.slots.get_mut(slot as usize) {
            Some(s) => *s = Some(event),
            None => self.slots.push(Some(event)),
        }
        self.held.push(Reverse(key));
        Admission::Held
    }

    /// Books a version of an id seen before with other content (`first`): refused, and the
    /// first version with it if it is still held.
    fn conflict(
        &mut self,
        hash: (u64, u64),
        print: u64,
        first: Seen,
        event: FeedEvent,
        at: Origin,
    ) -> Admission {
        if let Some(rivals) = self.conflicts.get_mut(&hash) {
            if rivals.prints.contains(&print) {
                self.counters.duplicates += 1;
                return Admission::Duplicate;
            }
            rivals.prints.push(print);
            self.counters.quarantined += 1;
            return Admission::Conflict(Box::new(Conflict {
                event,
                at,
                first: self.origins[first.arrival as usize],
                withdrawn: None,
                first_applied: rivals.first_applied,
            }));
        }
        self.counters.quarantined += 1;
        // The first version is still held if its slot holds an event with its id (a slot
        // is reused only after its event is released).
        let held = self
            .slots
            .get_mut(first.slot as usize)
            .filter(|s| s.as_ref().is_some_and(|e| e.event_id == event.event_id));
        let withdrawn = held.and_then(Option::take);
        if withdrawn.is_some() {
            // Its key stays in the heap and finds the slot empty: nothing is released.
            self.counters.accepted -= 1;
            self.counters.quarantined += 1;
        }
        let first_applied = withdrawn.is_none();
        self.conflicts.insert(
            hash,
            Rivals {
                first_applied,
                prints: vec![first.print, print],
            },
        );
        Admission::Conflict(Box::new(Conflict {
            event,
            at,
            first: self.origins[first.arrival as usize],
            first_applied,
            withdrawn,
        }))
    }

    /// Takes one line of source `source` as a parser gave it: offers its event (read at
    /// its line), or counts the line quarantined and hands its rejection back.
    pub fn offer_line(
        &mut self,
        line: Result<Parsed, Rejection>,
        source: u32,
    ) -> Result<Admission, Rejection> {
        match line {
            Ok(p) => Ok(self.offer(
                p.event,
                Origin {
                    source,
                    line: p.line,
                },
            )),
            Err(r) => {
                self.quarantine();
                Err(r)
            }
        }
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
            // (A slot is empty where a conflict withdrew its event.) `filter_map` collects
            // in place, in the slots' own buffer; `flatten` would allocate a second one.
            #[allow(
                clippy::filter_map_identity,
                reason = "collects in place; flatten does not"
            )]
            let events = std::mem::take(&mut self.slots)
                .into_iter()
                .filter_map(|slot| slot);
            out = events.collect();
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

/// What is kept of an id seen: a fingerprint of its content, where it was read (its
/// number among the first sightings, in [`Ingestion::origins`]), and the slot it was held
/// in ([`NOT_HELD`] if none). Sixteen bytes: the table of a feed of millions of ids stays
/// in cache as much as it can (with the origin inside, ingestion took 35 % longer).
#[derive(Clone, Copy, Debug, serde::Serialize, serde::Deserialize)]
struct Seen {
    print: u64,
    /// Its place in [`Ingestion::origins`].
    arrival: u32,
    slot: u32,
}

/// The versions of an id in conflict: whether the first applied before the second came,
/// and the fingerprints of all.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct Rivals {
    first_applied: bool,
    prints: Vec<u64>,
}

/// The slot of an event never held (a late one).
const NOT_HELD: u32 = u32::MAX;

/// The key of a held event: its time and id (the order events apply in), and its slot.
/// Ids are unique among held events, so the slot never decides the order.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
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
        &e.detail,
    ))
}
