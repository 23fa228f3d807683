//! Ordering production campaigns to spend less time in changeovers.
//!
//! Which campaign runs next is a planning decision: light flavours before dark ones, small
//! bottles before large. [`sequence_campaigns`] turns a list of campaigns into a run order.

use crate::changeover::ChangeoverMatrix;

/// How campaigns are put in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum SequenceRule {
    /// Run the campaigns in the order listed.
    #[default]
    AsListed,
    /// Run them in the order with the least total changeover time, starting from the first
    /// listed campaign (exact up to [`EXACT_LIMIT`] campaigns; beyond, nearest neighbour then
    /// 2-opt improvement).
    MinChangeover,
}

/// Largest number of campaigns ordered exactly (Held–Karp dynamic programming).
pub const EXACT_LIMIT: usize = 12;

/// Total changeover time of running `products` in this order, nanoseconds.
pub fn total_changeover(matrix: &ChangeoverMatrix, products: &[usize], order: &[usize]) -> u64 {
    order
        .windows(2)
        .map(|w| matrix.time(products[w[0]], products[w[1]]))
        .sum()
}

/// The run order (indices into `products`, one campaign's product each) under `rule`.
/// The first listed campaign always runs first: it is what the line is set up for.
pub fn sequence_campaigns(
    matrix: &ChangeoverMatrix,
    products: &[usize],
    rule: SequenceRule,
) -> Vec<usize> {
    let n = products.len();
    match rule {
        _ if n <= 2 => (0..n).collect(),
        SequenceRule::AsListed => (0..n).collect(),
        SequenceRule::MinChangeover if n <= EXACT_LIMIT => held_karp(matrix, products),
        SequenceRule::MinChangeover => {
            two_opt(matrix, products, nearest_neighbour(matrix, products))
        }
    }
}

fn held_karp(matrix: &ChangeoverMatrix, products: &[usize]) -> Vec<usize> {
    let n = products.len();
    let cost = |a: usize, b: usize| matrix.time(products[a], products[b]);
    let full = 1usize << n;
    // best[set][last]: least time to run the campaigns in `set` (always holding 0), ending at `last`.
    let mut best = vec![u64::MAX; full * n];
    let mut prev = vec![usize::MAX; full * n];
    // The set {0} (bit 0) ending at campaign 0 costs nothing: row `1`, column 0.
    best[n] = 0;
    for set in 1..full {
        if set & 1 == 0 {
            continue;
        }
        for last in 0..n {
            let here = best[set * n + last];
            if here == u64::MAX {
                continue;
            }
            for next in 0..n {
                if set & (1 << next) != 0 {
                    continue;
                }
                let to = set | (1 << next);
                let c = here + cost(last, next);
                if c < best[to * n + next] {
                    best[to * n + next] = c;
                    prev[to * n + next] = last;
                }
            }
        }
    }
    let all = full - 1;
    let mut last = (0..n)
        .min_by_key(|&l| (best[all * n + l], l))
        .expect("n >= 1");
    let mut order = Vec::with_capacity(n);
    let mut set = all;
    while last != usize::MAX {
        order.push(last);
        let p = prev[set * n + last];
        set &= !(1 << last);
        last = p;
    }
    order.reverse();
    order
}

fn nearest_neighbour(matrix: &ChangeoverMatrix, products: &[usize]) -> Vec<usize> {
    let n = products.len();
    let mut used = vec![false; n];
    let mut order = vec![0];
    used[0] = true;
    for _ in 1..n {
        let last = *order.last().expect("starts with one campaign");
        let next = (0..n)
            .filter(|&j| !used[j])
            .min_by_key(|&j| (matrix.time(products[last], products[j]), j))
            .expect("an unused campaign remains");
        used[next] = true;
        order.push(next);
    }
    order
}

fn two_opt(matrix: &ChangeoverMatrix, products: &[usize], mut order: Vec<usize>) -> Vec<usize> {
    let mut best = total_changeover(matrix, products, &order);
    let mut improved = true;
    while improved {
        improved = false;
        for i in 1..order.len() - 1 {
            for j in i + 1..order.len() {
                order[i..=j].reverse();
                let c = total_changeover(matrix, products, &order);
                if c < best {
                    best = c;
                    improved = true;
                } else {
                    order[i..=j].reverse();
                }
            }
        }
    }
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    fn light_to_dark() -> ChangeoverMatrix {
        // Products: 0 water, 1 lemon, 2 cola. Light → dark is quick, dark → light slow.
        let mut m = ChangeoverMatrix::uniform(3, 0);
        for (a, b, t) in [
            (0, 1, 10),
            (0, 2, 15),
            (1, 2, 10),
            (1, 0, 40),
            (2, 0, 60),
            (2, 1, 45),
        ] {
            m.set(a, b, t);
        }
        m
    }

    #[test]
    fn exact_order_runs_light_to_dark() {
        let m = light_to_dark();
        let products = [0, 2, 1, 0];
        let order = sequence_campaigns(&m, &products, SequenceRule::MinChangeover);
        // water, water, lemon, cola: 0 + 10 + 10 = 20 (listed order costs 15 + 45 + 40 = 100).
        assert_eq!(total_changeover(&m, &products, &order), 20);
        assert_eq!(order[0], 0);
        assert_eq!(total_changeover(&m, &products, &[0, 1, 2, 3]), 100);
    }

    #[test]
    fn heuristic_matches_exact_on_a_chain() {
        let m = light_to_dark();
        let products: Vec<usize> = (0..15).map(|i| [0, 2, 1][i % 3]).collect();
        let order = sequence_campaigns(&m, &products, SequenceRule::MinChangeover);
        let mut seen = order.clone();
        seen.sort();
        assert_eq!(seen, (0..15).collect::<Vec<_>>());
        // All five waters, then five lemons, then five colas: 10 + 10.
        assert_eq!(total_changeover(&m, &products, &order), 20);
    }

    #[test]
    fn as_listed_keeps_order() {
        let m = light_to_dark();
        assert_eq!(
            sequence_campaigns(&m, &[2, 1, 0], SequenceRule::AsListed),
            vec![0, 1, 2]
        );
    }
}
