//! Sequence-dependent setup times between products.

/// Setup times between products, indexed by product number (0..n), in nanoseconds.
///
/// `time(a, a)` is always zero: running on with the same product needs no changeover.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ChangeoverMatrix {
    n: usize,
    /// Row-major `n × n` setup times, nanoseconds.
    times: Vec<u64>,
}

impl ChangeoverMatrix {
    /// A matrix for `n` products where every change takes `default_ns`.
    pub fn uniform(n: usize, default_ns: u64) -> Self {
        let mut times = vec![default_ns; n * n];
        for i in 0..n {
            times[i * n + i] = 0;
        }
        Self { n, times }
    }

    /// Sets the time from product `from` to product `to` (ignored on the diagonal).
    pub fn set(&mut self, from: usize, to: usize, ns: u64) {
        if from != to {
            self.times[from * self.n + to] = ns;
        }
    }

    /// Setup time from product `from` to product `to`, nanoseconds.
    pub fn time(&self, from: usize, to: usize) -> u64 {
        self.times[from * self.n + to]
    }

    /// Number of products.
    pub fn products(&self) -> usize {
        self.n
    }
}
