//! Independent replications run on several threads, with results that do not depend on the
//! number of threads: replication `r` always gets the same seed and lands in slot `r`.

use crate::rng::splitmix64;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The seed of replication `rep` of a run whose base seed is `base`. Replication 0 uses the
/// base seed itself, so a single run and the first replication agree.
pub fn replication_seed(base: u64, rep: usize) -> u64 {
    if rep == 0 {
        base
    } else {
        splitmix64(base ^ splitmix64(rep as u64))
    }
}

/// Runs `job(rep, seed)` for `rep` in `0..n` on up to `threads` threads and returns the
/// results in replication order. `threads` of 0 means 1.
pub fn run_replications<T, F>(n: usize, threads: usize, base_seed: u64, job: F) -> Vec<T>
where
    T: Send,
    F: Fn(usize, u64) -> T + Sync,
{
    let threads = threads.clamp(1, n.max(1));
    let next = AtomicUsize::new(0);
    let slots: Mutex<Vec<Option<T>>> = Mutex::new((0..n).map(|_| None).collect());
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                loop {
                    let rep = next.fetch_add(1, Ordering::Relaxed);
                    if rep >= n {
                        break;
                    }
                    let out = job(rep, replication_seed(base_seed, rep));
                    slots.lock().unwrap_or_else(|e| e.into_inner())[rep] = Some(out);
                }
            });
        }
    });
    slots
        .into_inner()
        .unwrap_or_else(|e| e.into_inner())
        .into_iter()
        .map(|slot| slot.expect("every replication index below n is claimed exactly once"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_do_not_depend_on_thread_count() {
        let job = |rep: usize, seed: u64| (rep, splitmix64(seed));
        let one = run_replications(37, 1, 9, job);
        let four = run_replications(37, 4, 9, job);
        assert_eq!(one, four);
        assert_eq!(one[0].0, 0);
        assert_eq!(one[36].0, 36);
    }

    #[test]
    fn seeds_are_distinct_and_first_is_base() {
        assert_eq!(replication_seed(5, 0), 5);
        let seeds: std::collections::BTreeSet<u64> =
            (0..1000).map(|r| replication_seed(5, r)).collect();
        assert_eq!(seeds.len(), 1000);
    }
}
