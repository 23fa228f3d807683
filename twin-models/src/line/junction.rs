//! Where a line branches: a [`Divider`] spreads units over several outputs, a
//! [`Combiner`] takes them from several inputs. Each picks among the candidates that can
//! move a unit now, by its rule, and remembers what it needs for the next pick.

use crate::scenario::{CombineRule, Divide};
use sim::SimTime;

/// A divider's rule and the units each of its outputs has had.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Divider {
    rule: Divide,
    had: Vec<u64>,
}

impl Divider {
    /// A divider over `outputs` outputs.
    pub fn new(rule: &Divide, outputs: usize) -> Self {
        Divider {
            rule: rule.clone(),
            had: vec![0; outputs],
        }
    }

    /// Picks among `candidates` (output position, free room in units; each can take a unit
    /// now), in listed order; `None` when there are none.
    pub fn pick(&self, candidates: impl IntoIterator<Item = (usize, u64)>) -> Option<usize> {
        let mut best: Option<(usize, u64)> = None;
        for (k, room) in candidates {
            let better = match best {
                None => true,
                Some((b, b_room)) => match &self.rule {
                    Divide::Priority => false,
                    Divide::MostRoom => {
                        room > b_room || (room == b_room && self.had[k] < self.had[b])
                    }
                    // (had_k + 1) / w_k < (had_b + 1) / w_b, without dividing.
                    Divide::Shares(w) => {
                        (self.had[k] + 1) as f64 * w[b] < (self.had[b] + 1) as f64 * w[k]
                    }
                },
            };
            if better {
                best = Some((k, room));
            }
        }
        best.map(|(k, _)| k)
    }

    /// Output `k` took a unit.
    pub fn record(&mut self, k: usize) {
        self.had[k] += 1;
    }

    /// Units each output has had.
    pub fn had(&self) -> &[u64] {
        &self.had
    }
}

/// A combiner's rule and the input it served last.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Combiner {
    rule: CombineRule,
    inputs: usize,
    last: usize,
}

impl Combiner {
    /// A combiner over `inputs` inputs.
    pub fn new(rule: CombineRule, inputs: usize) -> Self {
        Combiner {
            rule,
            inputs,
            last: inputs.saturating_sub(1),
        }
    }

    /// Picks among `candidates` (input position, when its unit was finished upstream;
    /// each can give a unit now), in listed order; `None` when there are none.
    pub fn pick(&self, candidates: impl IntoIterator<Item = (usize, SimTime)>) -> Option<usize> {
        let turn = |k: usize| (k + self.inputs - self.last - 1) % self.inputs.max(1);
        let mut best: Option<(usize, SimTime)> = None;
        for (k, t) in candidates {
            let better = match best {
                None => true,
                Some((b, bt)) => match self.rule {
                    CombineRule::Priority => false,
                    CombineRule::FirstCome => t < bt,
                    CombineRule::Alternate => turn(k) < turn(b),
                },
            };
            if better {
                best = Some((k, t));
            }
        }
        best.map(|(k, _)| k)
    }

    /// Input `k` gave a unit.
    pub fn record(&mut self, k: usize) {
        self.last = k;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sim::SimDuration;

    fn run(d: &mut Divider, n: usize, free: &[bool]) -> String {
        let mut s = String::new();
        for _ in 0..n {
            let k = d
                .pick(
                    free.iter()
                        .enumerate()
                        .filter(|x| *x.1)
                        .map(|(k, _)| (k, 1)),
                )
                .expect("a candidate");
            d.record(k);
            s.push((b'a' + k as u8) as char);
        }
        s
    }

    #[test]
    fn shares_two_to_one_alternate_as_worked_by_hand() {
        // (had + 1) / share: a 1/2, b 1/1 -> a; a 2/2 = b 1/1 -> a (listed first);
        // a 3/2 > b 1 -> b; and so on: a a b, repeated.
        let mut d = Divider::new(&Divide::Shares(vec![2.0, 1.0]), 2);
        assert_eq!(run(&mut d, 9, &[true, true]), "aabaabaab");
        assert_eq!(d.had(), &[6, 3]);
    }

    #[test]
    fn shares_skip_an_output_that_cannot_take_and_catch_up_after() {
        let mut d = Divider::new(&Divide::Shares(vec![1.0, 1.0]), 2);
        assert_eq!(run(&mut d, 3, &[true, false]), "aaa");
        assert_eq!(run(&mut d, 4, &[true, true]), "bbba");
    }

    #[test]
    fn most_room_wins_and_ties_go_to_the_output_with_fewer_units() {
        let mut d = Divider::new(&Divide::MostRoom, 3);
        assert_eq!(d.pick([(0, 5), (1, 7), (2, 7)]), Some(1));
        d.record(1);
        assert_eq!(d.pick([(0, 5), (1, 7), (2, 7)]), Some(2));
        assert_eq!(run(&mut d, 4, &[true, true, true]), "acab");
    }

    #[test]
    fn priority_overflows_to_the_next_only_when_the_first_cannot_take() {
        let d = Divider::new(&Divide::Priority, 2);
        assert_eq!(d.pick([(0, 1), (1, 100)]), Some(0));
        assert_eq!(d.pick([(1, 100)]), Some(1));
        assert_eq!(d.pick([]), None);
    }

    #[test]
    fn combiners_by_rule() {
        let t = |s| SimTime(SimDuration::from_secs(s).0);
        let fc = Combiner::new(CombineRule::FirstCome, 3);
        assert_eq!(fc.pick([(0, t(5)), (1, t(3)), (2, t(3))]), Some(1));
        let pr = Combiner::new(CombineRule::Priority, 3);
        assert_eq!(pr.pick([(1, t(5)), (2, t(3))]), Some(1));
        let mut alt = Combiner::new(CombineRule::Alternate, 3);
        let all = [(0, t(0)), (1, t(0)), (2, t(0))];
        let mut order = Vec::new();
        for _ in 0..4 {
            let k = alt.pick(all).expect("a candidate");
            alt.record(k);
            order.push(k);
        }
        assert_eq!(order, [0, 1, 2, 0]);
        // Its turn passes to the next that can give.
        alt.record(0);
        assert_eq!(alt.pick([(0, t(0)), (2, t(0))]), Some(2));
    }
}
