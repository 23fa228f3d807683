//! The event calendar: a priority queue of future events ordered by time, then by the order
//! in which they were scheduled, so that simultaneous events run in a reproducible order.
//!
//! It is a 4-ary min-heap keyed by one 128-bit number, time above and scheduling order
//! below, so that ordering two events is one integer comparison; a 4-ary heap has half
//! the levels of a binary one, and moving an entry down a level looks at four children
//! that share a cache line or two. It is on every event's path: one push and one pop.

use crate::time::SimTime;
use serde::{Deserialize, Serialize};

#[derive(Clone, Serialize, Deserialize)]
struct Entry<E> {
    /// `time << 64 | seq`: earlier first, then scheduled first.
    key: u128,
    event: E,
}

/// Children per node.
const ARITY: usize = 4;

/// Future events of type `E`, earliest first; ties go first-scheduled-first.
///
/// Events cannot be removed: a model that changes its mind bumps a generation counter and
/// ignores stale events when they come up, which is cheaper than a heap with deletion.
#[derive(Clone, Serialize, Deserialize)]
pub struct EventCalendar<E> {
    heap: Vec<Entry<E>>,
    next_seq: u64,
}

impl<E> Default for EventCalendar<E> {
    fn default() -> Self {
        Self {
            heap: Vec::new(),
            next_seq: 0,
        }
    }
}

impl<E> EventCalendar<E> {
    /// An empty calendar.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `event` at `time`.
    #[inline(always)]
    pub fn schedule(&mut self, time: SimTime, event: E) {
        let key = (time.0 as u128) << 64 | self.next_seq as u128;
        self.next_seq += 1;
        // Sift up: parents later than the new entry move down into the hole.
        let mut hole = self.heap.len();
        self.heap.push(Entry { key, event });
        while hole > 0 {
            let parent = (hole - 1) / ARITY;
            if self.heap[parent].key <= key {
                break;
            }
            self.heap.swap(hole, parent);
            hole = parent;
        }
    }

    /// The earliest event and its time, if any.
    #[inline]
    pub fn peek(&self) -> Option<(SimTime, &E)> {
        self.heap
            .first()
            .map(|e| (SimTime((e.key >> 64) as u64), &e.event))
    }

    /// The time of the earliest event, if any.
    #[inline]
    pub fn peek_time(&self) -> Option<SimTime> {
        self.heap.first().map(|e| SimTime((e.key >> 64) as u64))
    }

    /// Removes and returns the earliest event.
    #[inline(always)]
    pub fn pop(&mut self) -> Option<(SimTime, E)> {
        let last = self.heap.pop()?;
        let top = if self.heap.is_empty() {
            last
        } else {
            let top = std::mem::replace(&mut self.heap[0], last);
            self.sift_down();
            top
        };
        Some((SimTime((top.key >> 64) as u64), top.event))
    }

    /// Moves the root down to its place.
    #[inline]
    fn sift_down(&mut self) {
        let n = self.heap.len();
        let key = self.heap[0].key;
        let mut hole = 0;
        loop {
            let first = hole * ARITY + 1;
            if first >= n {
                break;
            }
            let end = (first + ARITY).min(n);
            let mut child = first;
            let mut child_key = self.heap[first].key;
            for c in first + 1..end {
                let k = self.heap[c].key;
                if k < child_key {
                    child = c;
                    child_key = k;
                }
            }
            if key <= child_key {
                break;
            }
            self.heap.swap(hole, child);
            hole = child;
        }
    }

    /// Whether the entries are in heap order and every one was scheduled before the next
    /// sequence number: true of any calendar this type built, checked of one read back
    /// from a file (a calendar out of order would hand events out of time order).
    pub fn is_consistent(&self) -> bool {
        (1..self.heap.len()).all(|c| self.heap[(c - 1) / ARITY].key <= self.heap[c].key)
            && self.heap.iter().all(|e| (e.key as u64) < self.next_seq)
    }

    /// Keeps only the pending events `keep` says yes to (their order and ties unchanged).
    pub fn retain(&mut self, mut keep: impl FnMut(&E) -> bool) {
        self.heap.retain(|e| keep(&e.event));
        // A sorted array is a heap.
        self.heap.sort_unstable_by_key(|e| e.key);
    }

    /// Number of pending events (stale ones included).
    pub fn len(&self) -> usize {
        self.heap.len()
    }

    /// Whether no event is pending.
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn ties_pop_in_scheduling_order() {
        let mut c = EventCalendar::new();
        c.schedule(SimTime(5), 'b');
        c.schedule(SimTime(1), 'a');
        c.schedule(SimTime(5), 'c');
        c.schedule(SimTime(5), 'd');
        let order: Vec<char> = std::iter::from_fn(|| c.pop().map(|(_, e)| e)).collect();
        assert_eq!(order, vec!['a', 'b', 'c', 'd']);
    }

    #[test]
    fn the_latest_time_a_run_can_hold_keeps_its_place() {
        let mut c = EventCalendar::new();
        c.schedule(SimTime::NEVER, 2);
        c.schedule(SimTime(u64::MAX - 1), 1);
        c.schedule(SimTime::NEVER, 3);
        assert_eq!(c.pop(), Some((SimTime(u64::MAX - 1), 1)));
        assert_eq!(c.pop(), Some((SimTime::NEVER, 2)));
        assert_eq!(c.pop(), Some((SimTime::NEVER, 3)));
        assert_eq!(c.pop(), None);
    }

    proptest! {
        #[test]
        fn pops_sorted_by_time_then_seq(times in proptest::collection::vec(0u64..50, 0..200)) {
            let mut c = EventCalendar::new();
            for (i, t) in times.iter().enumerate() {
                c.schedule(SimTime(*t), i);
            }
            let mut expected: Vec<(u64, usize)> = times.iter().copied().zip(0..).collect();
            expected.sort();
            let got: Vec<(u64, usize)> = std::iter::from_fn(|| c.pop().map(|(t, e)| (t.0, e))).collect();
            prop_assert_eq!(got, expected);
        }

        #[test]
        fn pushes_and_pops_interleaved_keep_the_order(
            ops in proptest::collection::vec((any::<bool>(), 0u64..30), 0..300),
        ) {
            // A model schedules while it runs, never before now: compare with a sorted list.
            let mut c = EventCalendar::new();
            let mut reference: Vec<(u64, usize)> = Vec::new();
            let mut now = 0;
            for (n, (pop, dt)) in ops.into_iter().enumerate() {
                if pop {
                    let got = c.pop().map(|(t, e)| (t.0, e));
                    let want = (!reference.is_empty()).then(|| reference.remove(0));
                    prop_assert_eq!(got, want);
                    if let Some((t, _)) = got {
                        now = t;
                    }
                } else {
                    c.schedule(SimTime(now + dt), n);
                    reference.push((now + dt, n));
                    reference.sort();
                }
            }
        }
    }
}
