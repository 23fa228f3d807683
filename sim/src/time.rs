//! Simulated time as integers: nanoseconds since the start of a run.
//!
//! Integer time means no floating drift: adding a cycle time a million times lands exactly on
//! the million-th multiple. A `u64` of nanoseconds covers 584 years.

use serde::{Deserialize, Serialize};

/// Nanoseconds in one second.
pub const NANOS_PER_SEC: u64 = 1_000_000_000;
/// Nanoseconds in one hour.
pub const NANOS_PER_HOUR: u64 = 3_600 * NANOS_PER_SEC;

/// A point in simulated time, in nanoseconds since the start of the run.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct SimTime(pub u64);

/// A span of simulated time, in nanoseconds.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct SimDuration(pub u64);

/// `x as f64`, the same number, converted in one instruction where `x` fits an `i64`: the
/// baseline x86-64 target has no unsigned conversion, and the one the compiler writes
/// instead costs several (times are converted on the per-event path).
#[inline(always)]
pub fn u64_to_f64(x: u64) -> f64 {
    if x <= i64::MAX as u64 {
        x as i64 as f64
    } else {
        wide_to_f64(x)
    }
}

/// `x as u64` (saturating: NaN and below 0 give 0), the same number, converted through a
/// signed conversion where `x` is below 2^63 (see [`u64_to_f64`]).
#[inline(always)]
pub fn f64_to_u64(x: f64) -> u64 {
    // Saturating: NaN gives 0 (as `as u64` does), 2^63 and more give `i64::MAX`, which no
    // float below 2^63 truncates to (the largest is 2^63 - 1024).
    let i = x as i64;
    if (0..i64::MAX).contains(&i) {
        i as u64
    } else {
        wide_to_u64(x)
    }
}

/// [`u64_to_f64`] from 2^63 on (out of line, so that the compiler keeps the branch).
#[cold]
#[inline(never)]
fn wide_to_f64(x: u64) -> f64 {
    x as f64
}

/// [`f64_to_u64`] below 0 and from 2^63 on.
#[cold]
#[inline(never)]
fn wide_to_u64(x: f64) -> u64 {
    x as u64
}

/// `x` (at least 0 and below 2^64) rounded to the nearest whole number, halves away from
/// zero: what `x.round() as u64` gives, without the call into the maths library that
/// `f64::round` costs on the baseline x86-64 target (it is on the per-event path).
#[inline]
pub fn round_half_up(x: f64) -> u64 {
    debug_assert!((0.0..u64::MAX as f64).contains(&x), "{x}");
    let whole = f64_to_u64(x);
    // Exact: below 2^53 the fraction is representable; above, `x` is whole already.
    let fraction = x - u64_to_f64(whole);
    whole + u64::from(fraction >= 0.5)
}

/// The least whole number at or above `x`, as `x.ceil() as u64` gives it (0 for NaN and
/// below 0, `u64::MAX` from 2^64 on), without a call into the maths library.
#[inline]
pub fn ceil_u64(x: f64) -> u64 {
    if x >= u64::MAX as f64 {
        return u64::MAX;
    }
    let whole = f64_to_u64(x);
    whole + u64::from(x > u64_to_f64(whole))
}

impl SimTime {
    /// The start of every run.
    pub const ZERO: SimTime = SimTime(0);
    /// Later than any event a run can hold.
    pub const NEVER: SimTime = SimTime(u64::MAX);

    /// Seconds since the start, as a float (for reports only).
    #[inline]
    pub fn as_secs_f64(self) -> f64 {
        u64_to_f64(self.0) / NANOS_PER_SEC as f64
    }

    /// `self + d`, saturating at [`SimTime::NEVER`].
    #[inline]
    pub fn saturating_add(self, d: SimDuration) -> SimTime {
        SimTime(self.0.saturating_add(d.0))
    }

    /// The span from `earlier` to `self` (zero if `earlier` is later).
    #[inline]
    pub fn since(self, earlier: SimTime) -> SimDuration {
        SimDuration(self.0.saturating_sub(earlier.0))
    }
}

impl SimDuration {
    /// No time at all.
    pub const ZERO: SimDuration = SimDuration(0);

    /// A duration from seconds, rounded to the nearest nanosecond; negative and NaN give zero.
    #[inline]
    pub fn from_secs_f64(secs: f64) -> SimDuration {
        if secs.is_nan() || secs <= 0.0 {
            return SimDuration::ZERO;
        }
        let ns = secs * NANOS_PER_SEC as f64;
        if ns >= u64::MAX as f64 {
            SimDuration(u64::MAX)
        } else {
            SimDuration(round_half_up(ns))
        }
    }

    /// A duration of whole seconds.
    pub const fn from_secs(secs: u64) -> SimDuration {
        SimDuration(secs * NANOS_PER_SEC)
    }

    /// Seconds, as a float (for reports only).
    #[inline]
    pub fn as_secs_f64(self) -> f64 {
        u64_to_f64(self.0) / NANOS_PER_SEC as f64
    }
}

impl std::ops::Add<SimDuration> for SimTime {
    type Output = SimTime;
    fn add(self, d: SimDuration) -> SimTime {
        self.saturating_add(d)
    }
}

impl std::fmt::Display for SimTime {
    /// Formats as `HH:MM:SS.mmm` with days in front when there are any (`2d 03:00:00.000`).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ms_total = self.0 / 1_000_000;
        let (ms, s_total) = (ms_total % 1000, ms_total / 1000);
        let (s, m_total) = (s_total % 60, s_total / 60);
        let (m, h_total) = (m_total % 60, m_total / 60);
        let (h, d) = (h_total % 24, h_total / 24);
        if d > 0 {
            write!(f, "{d}d {h:02}:{m:02}:{s:02}.{ms:03}")
        } else {
            write!(f, "{h:02}:{m:02}:{s:02}.{ms:03}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn rounding_takes_halves_away_from_zero() {
        for (x, r) in [
            (0.0, 0),
            (0.49999999999999994, 0),
            (0.5, 1),
            (1.5, 2),
            (2.5, 3),
        ] {
            assert_eq!(round_half_up(x), r, "{x}");
        }
        let big = 2f64.powi(60) + 2048.0;
        assert_eq!(round_half_up(big), big as u64);
        for x in [
            f64::NAN,
            f64::INFINITY,
            2f64.powi(64),
            -3.5,
            0.0,
            1e-300,
            7.0,
        ] {
            assert_eq!(ceil_u64(x), x.ceil() as u64, "{x}");
        }
    }

    proptest! {
        #[test]
        fn rounding_agrees_with_the_maths_library(
            bits in 0u64..0x43EF_FFFF_FFFF_FFFF,
            whole in 0u64..1 << 52,
        ) {
            // Any float below 2^64, and every whole number plus a half.
            let x = f64::from_bits(bits);
            prop_assert_eq!(round_half_up(x), x.round() as u64);
            let half = whole as f64 + 0.5;
            prop_assert_eq!(round_half_up(half), half.round() as u64);
            prop_assert_eq!(ceil_u64(x), x.ceil() as u64);
            prop_assert_eq!(ceil_u64(half), half.ceil() as u64);
            prop_assert_eq!(ceil_u64(-x), (-x).ceil() as u64);
        }
    }

    #[test]
    fn the_fast_conversions_give_what_the_casts_give_at_the_edges() {
        for x in [
            f64::NAN,
            f64::NEG_INFINITY,
            f64::INFINITY,
            -1.0,
            -0.5,
            -0.0,
            0.0,
            0.75,
            2f64.powi(63) - 1024.0,
            2f64.powi(63),
            2f64.powi(64),
            1e300,
        ] {
            assert_eq!(f64_to_u64(x), x as u64, "{x}");
        }
        for n in [
            0,
            1,
            i64::MAX as u64 - 1,
            i64::MAX as u64,
            1 << 63,
            u64::MAX,
        ] {
            assert_eq!(u64_to_f64(n).to_bits(), (n as f64).to_bits(), "{n}");
        }
    }

    proptest! {
        #[test]
        fn the_fast_conversions_give_what_the_casts_give(bits in any::<u64>(), n in any::<u64>()) {
            let x = f64::from_bits(bits);
            prop_assert_eq!(f64_to_u64(x), x as u64);
            prop_assert_eq!(u64_to_f64(n).to_bits(), (n as f64).to_bits());
            prop_assert_eq!(u64_to_f64(n >> 1).to_bits(), ((n >> 1) as f64).to_bits());
        }
    }

    #[test]
    fn repeated_cycle_lands_exactly() {
        let cycle = SimDuration::from_secs_f64(0.1);
        let mut t = SimTime::ZERO;
        for _ in 0..1_000_000 {
            t = t + cycle;
        }
        assert_eq!(t, SimTime(100_000 * NANOS_PER_SEC));
    }

    #[test]
    fn display_has_days_hours_minutes() {
        let t = SimTime(2 * 24 * NANOS_PER_HOUR + 3 * NANOS_PER_HOUR + 61_500_000_000);
        assert_eq!(t.to_string(), "2d 03:01:01.500");
        assert_eq!(SimTime(1_500_000).to_string(), "00:00:00.001");
    }

    #[test]
    fn negative_seconds_are_zero() {
        assert_eq!(SimDuration::from_secs_f64(-3.0), SimDuration::ZERO);
        assert_eq!(SimDuration::from_secs_f64(f64::NAN), SimDuration::ZERO);
    }
}
