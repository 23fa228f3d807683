//! When each element of a series line next reaches a flow boundary, with the earliest
//! found in constant time and each change made in time logarithmic in the line's size.

/// A tournament tree over the elements' boundary times (nanoseconds; `u64::MAX`: none).
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub(super) struct Boundaries {
    /// Leaves from `width` on; each inner node holds the earlier of its two children.
    tree: Vec<u64>,
    width: usize,
}

impl Boundaries {
    /// `n` elements, none with a boundary ahead.
    pub(super) fn new(n: usize) -> Self {
        let width = n.max(1).next_power_of_two();
        Boundaries {
            tree: vec![u64::MAX; 2 * width],
            width,
        }
    }

    /// Element `e`'s next boundary is at `at`.
    pub(super) fn set(&mut self, e: usize, at: u64) {
        let mut k = self.width + e;
        if self.tree[k] == at {
            return;
        }
        self.tree[k] = at;
        while k > 1 {
            k /= 2;
            let m = self.tree[2 * k].min(self.tree[2 * k + 1]);
            if self.tree[k] == m {
                break;
            }
            self.tree[k] = m;
        }
    }

    /// The earliest boundary of all (`u64::MAX`: none).
    pub(super) fn earliest(&self) -> u64 {
        self.tree[1]
    }

    /// The elements whose boundary is at or before `now`, in order, into `out`.
    pub(super) fn due(&self, now: u64, out: &mut Vec<usize>) {
        out.clear();
        self.collect(1, now, out);
    }

    fn collect(&self, k: usize, now: u64, out: &mut Vec<usize>) {
        if self.tree[k] > now {
            return;
        }
        if k >= self.width {
            out.push(k - self.width);
        } else {
            self.collect(2 * k, now, out);
            self.collect(2 * k + 1, now, out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Boundaries;

    #[test]
    fn the_earliest_and_the_due_follow_every_change() {
        let mut b = Boundaries::new(5);
        assert_eq!(b.earliest(), u64::MAX);
        for (e, t) in [(0, 50), (1, 20), (2, 90), (3, 20), (4, 70)] {
            b.set(e, t);
        }
        assert_eq!(b.earliest(), 20);
        let mut due = Vec::new();
        b.due(20, &mut due);
        assert_eq!(due, vec![1, 3]);
        b.set(1, 100);
        b.set(3, u64::MAX);
        assert_eq!(b.earliest(), 50);
        b.due(75, &mut due);
        assert_eq!(due, vec![0, 4]);
        b.set(0, 10);
        assert_eq!(b.earliest(), 10);
    }
}
