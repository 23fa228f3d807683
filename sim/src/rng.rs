//! Seeded random-number streams, one per stochastic element.
//!
//! A stream is named by a key (for example line 2, station 5, "failures"). Its generator is
//! seeded from the run seed and the key alone, so adding or changing one station never
//! reshuffles the random numbers another station draws. That keeps comparisons between
//! scenario variants fair (common random numbers).

use rand_pcg::Pcg64Mcg;

/// The generator behind every stream: small, fast, and good enough for simulation.
pub type StreamRng = Pcg64Mcg;

/// One step of SplitMix64, a bijective mixer used to derive seeds.
pub fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// The source of all random numbers in one run, fixed by its seed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RngStreams {
    seed: u64,
}

impl RngStreams {
    /// Streams for the run seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        Self { seed }
    }

    /// The run seed.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The generator of the stream named by `key`.
    pub fn stream(&self, key: &[u64]) -> StreamRng {
        let mut a = splitmix64(self.seed);
        let mut b = splitmix64(self.seed ^ 0xA5A5_A5A5_A5A5_A5A5);
        for (i, k) in key.iter().enumerate() {
            a = splitmix64(a ^ k.wrapping_mul(0x2545_F491_4F6C_DD1D).wrapping_add(i as u64));
            b = splitmix64(b.rotate_left(17) ^ a);
        }
        // Pcg64Mcg needs an odd state; the low bit is forced.
        let state = ((a as u128) << 64 | b as u128) | 1;
        Pcg64Mcg::new(state)
    }

    /// A stream key component made from a label, so keys can mix names and indices.
    pub fn label(name: &str) -> u64 {
        name.bytes().fold(0xCBF2_9CE4_8422_2325u64, |h, b| {
            (h ^ b as u64).wrapping_mul(0x0100_0000_01B3)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::RngExt;

    #[test]
    fn same_key_same_numbers_other_key_other_numbers() {
        let s = RngStreams::new(42);
        let a: Vec<u64> = (0..4)
            .map({
                let mut r = s.stream(&[1, 2]);
                move |_| r.random()
            })
            .collect();
        let b: Vec<u64> = (0..4)
            .map({
                let mut r = s.stream(&[1, 2]);
                move |_| r.random()
            })
            .collect();
        let c: Vec<u64> = (0..4)
            .map({
                let mut r = s.stream(&[1, 3]);
                move |_| r.random()
            })
            .collect();
        let d: Vec<u64> = (0..4)
            .map({
                let mut r = RngStreams::new(43).stream(&[1, 2]);
                move |_| r.random()
            })
            .collect();
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_ne!(a, d);
    }

    #[test]
    fn key_order_matters() {
        let s = RngStreams::new(7);
        let mut x = s.stream(&[1, 2]);
        let mut y = s.stream(&[2, 1]);
        assert_ne!(x.random::<u64>(), y.random::<u64>());
    }
}
