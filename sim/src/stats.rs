//! Recorders and statistics: running tallies, time-weighted averages, and the summaries with
//! Student-t confidence intervals that replications report.

use crate::time::SimTime;
use serde::{Deserialize, Serialize};

/// Running mean and variance of observations (Welford's method, numerically stable).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Tally {
    n: u64,
    mean: f64,
    m2: f64,
    min: f64,
    max: f64,
}

impl Tally {
    /// An empty tally.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one observation.
    #[inline]
    pub fn record(&mut self, x: f64) {
        self.n += 1;
        if self.n == 1 {
            self.min = x;
            self.max = x;
        } else {
            self.min = self.min.min(x);
            self.max = self.max.max(x);
        }
        let d = x - self.mean;
        self.mean += d / crate::time::u64_to_f64(self.n);
        self.m2 += d * (x - self.mean);
    }

    /// Number of observations.
    pub fn count(&self) -> u64 {
        self.n
    }

    /// Sample mean (0 when empty).
    pub fn mean(&self) -> f64 {
        self.mean
    }

    /// Sample standard deviation with n − 1 in the denominator (0 with fewer than two).
    pub fn std_dev(&self) -> f64 {
        if self.n < 2 {
            0.0
        } else {
            (self.m2 / (self.n - 1) as f64).sqrt()
        }
    }

    /// Smallest observation (0 when empty).
    pub fn min(&self) -> f64 {
        self.min
    }

    /// Largest observation (0 when empty).
    pub fn max(&self) -> f64 {
        self.max
    }
}

/// Time average of a piecewise-constant signal, such as a buffer level.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TimeWeighted {
    start: SimTime,
    last: SimTime,
    value: f64,
    area: f64,
}

impl TimeWeighted {
    /// Starts observing at `start` with the signal at `value`.
    pub fn new(start: SimTime, value: f64) -> Self {
        Self {
            start,
            last: start,
            value,
            area: 0.0,
        }
    }

    /// The signal changes to `value` at `now`.
    #[inline]
    pub fn set(&mut self, now: SimTime, value: f64) {
        // No time has passed: the area stays as it is (adding `value × 0` would too).
        if now > self.last {
            self.area += self.value * now.since(self.last).as_secs_f64();
        }
        self.last = now;
        self.value = value;
    }

    /// Adds a linear ramp from the current value to `value` over `[last, now]` (for fluid
    /// levels that change at a constant rate between events).
    pub fn ramp_to(&mut self, now: SimTime, value: f64) {
        self.area += 0.5 * (self.value + value) * now.since(self.last).as_secs_f64();
        self.last = now;
        self.value = value;
    }

    /// Forgets the past, keeping the current value (used at the end of a warm-up).
    pub fn restart(&mut self, now: SimTime) {
        self.start = now;
        self.last = now;
        self.area = 0.0;
    }

    /// The time average over `[start, now]`.
    pub fn mean(&self, now: SimTime) -> f64 {
        let span = now.since(self.start).as_secs_f64();
        if span <= 0.0 {
            return self.value;
        }
        (self.area + self.value * now.since(self.last).as_secs_f64()) / span
    }
}

/// A stock level over time (units on hand, pallets at a site): its value now, its time
/// average and its least value since the statistics (re)started. Every change goes through
/// [`Level::set`] or [`Level::add`] at the time it happens, so the average is exact.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Level {
    average: TimeWeighted,
    value: f64,
    least: f64,
}

impl Level {
    /// A level of `value` observed from `start`.
    pub fn new(start: SimTime, value: f64) -> Self {
        Self {
            average: TimeWeighted::new(start, value),
            value,
            least: value,
        }
    }

    /// The level now.
    pub fn value(&self) -> f64 {
        self.value
    }

    /// The level becomes `value` at `now`.
    pub fn set(&mut self, now: SimTime, value: f64) {
        self.average.set(now, value);
        self.value = value;
        self.least = self.least.min(value);
    }

    /// The level moves by `delta` at `now`.
    pub fn add(&mut self, now: SimTime, delta: f64) {
        self.set(now, self.value + delta);
    }

    /// The least level since the statistics started.
    pub fn least(&self) -> f64 {
        self.least
    }

    /// The time-average level from the start of the statistics to `now` (the level itself
    /// when no time has passed).
    pub fn mean(&self, now: SimTime) -> f64 {
        self.average.mean(now)
    }

    /// Starts the statistics afresh at `now` (end of warm-up), from the level now.
    pub fn restart(&mut self, now: SimTime) {
        self.average.set(now, self.value);
        self.average.restart(now);
        self.least = self.value;
    }
}

/// Spells of a condition over time (a stock-out, a stopped station): how many began and
/// how long they lasted, seconds, the one going on included.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Spells {
    since: Option<SimTime>,
    total_s: f64,
    count: u64,
}

impl Spells {
    /// No spell yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether a spell is going on.
    pub fn is_on(&self) -> bool {
        self.since.is_some()
    }

    /// The condition holds (`on`) or not at `now`; returns whether a spell just began.
    pub fn set(&mut self, on: bool, now: SimTime) -> bool {
        match (on, self.since) {
            (true, None) => {
                self.since = Some(now);
                self.count += 1;
                true
            }
            (false, Some(t)) => {
                self.total_s += now.since(t).as_secs_f64();
                self.since = None;
                false
            }
            _ => false,
        }
    }

    /// Spells begun since the statistics started (one going on at the restart counts).
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Seconds in spells from the start of the statistics to `now`.
    pub fn total_s(&self, now: SimTime) -> f64 {
        self.total_s + self.since.map_or(0.0, |t| now.since(t).as_secs_f64())
    }

    /// Starts the statistics afresh at `now`: a spell going on counts as one, from now.
    pub fn restart(&mut self, now: SimTime) {
        self.total_s = 0.0;
        self.count = u64::from(self.since.is_some());
        if self.since.is_some() {
            self.since = Some(now);
        }
    }
}

/// The summary of one quantity over independent replications.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Mean over the replications.
    pub mean: f64,
    /// Sample standard deviation over the replications.
    pub std_dev: f64,
    /// Half-width of the 95% confidence interval of the mean (Student t, n − 1 degrees of
    /// freedom); 0 with a single replication.
    pub ci95_half_width: f64,
    /// Smallest value seen.
    pub min: f64,
    /// Largest value seen.
    pub max: f64,
    /// Number of replications.
    pub n: u64,
}

impl Summary {
    /// Summarises `values` (one per replication).
    pub fn of(values: &[f64]) -> Summary {
        let mut t = Tally::new();
        for &v in values {
            t.record(v);
        }
        let n = t.count();
        let half = if n >= 2 {
            student_t_quantile(0.975, (n - 1) as f64) * t.std_dev() / (n as f64).sqrt()
        } else {
            0.0
        };
        Summary {
            mean: t.mean(),
            std_dev: t.std_dev(),
            ci95_half_width: half,
            min: t.min(),
            max: t.max(),
            n,
        }
    }

    /// Whether `x` lies inside the 95% confidence interval.
    pub fn ci_contains(&self, x: f64) -> bool {
        (x - self.mean).abs() <= self.ci95_half_width
    }
}

fn ln_gamma(x: f64) -> f64 {
    // Lanczos approximation (g = 7, n = 9), accurate to about 1e-15 for x > 0.
    const C: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        let pi = std::f64::consts::PI;
        return (pi / (pi * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut a = C[0];
    let t = x + 7.5;
    for (i, c) in C.iter().enumerate().skip(1) {
        a += c / (x + i as f64);
    }
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + a.ln()
}

/// Regularised incomplete beta function I_x(a, b), by Lentz's continued fraction.
fn incomplete_beta(x: f64, a: f64, b: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let front =
        (ln_gamma(a + b) - ln_gamma(a) - ln_gamma(b) + a * x.ln() + b * (1.0 - x).ln()).exp();
    if x > (a + 1.0) / (a + b + 2.0) {
        return 1.0 - incomplete_beta(1.0 - x, b, a);
    }
    let tiny = 1e-300;
    let (mut c, mut d) = (1.0, 1.0 - (a + b) * x / (a + 1.0));
    if d.abs() < tiny {
        d = tiny;
    }
    d = 1.0 / d;
    let mut f = d;
    for m in 1..300 {
        let m = m as f64;
        let num = m * (b - m) * x / ((a + 2.0 * m - 1.0) * (a + 2.0 * m));
        d = 1.0 + num * d;
        d = if d.abs() < tiny { 1.0 / tiny } else { 1.0 / d };
        c = 1.0 + num / c;
        if c.abs() < tiny {
            c = tiny;
        }
        f *= c * d;
        let num = -(a + m) * (a + b + m) * x / ((a + 2.0 * m) * (a + 2.0 * m + 1.0));
        d = 1.0 + num * d;
        d = if d.abs() < tiny { 1.0 / tiny } else { 1.0 / d };
        c = 1.0 + num / c;
        if c.abs() < tiny {
            c = tiny;
        }
        let delta = c * d;
        f *= delta;
        if (delta - 1.0).abs() < 1e-15 {
            break;
        }
    }
    front * f / a
}

/// The cumulative distribution function of Student's t with `df` degrees of freedom.
pub fn student_t_cdf(t: f64, df: f64) -> f64 {
    let tail = 0.5 * incomplete_beta(df / (df + t * t), 0.5 * df, 0.5);
    if t >= 0.0 { 1.0 - tail } else { tail }
}

/// The `p` quantile of Student's t with `df` degrees of freedom (bisection on the CDF).
pub fn student_t_quantile(p: f64, df: f64) -> f64 {
    if p == 0.5 {
        return 0.0;
    }
    if p < 0.5 {
        return -student_t_quantile(1.0 - p, df);
    }
    let (mut lo, mut hi) = (0.0, 1.0);
    while student_t_cdf(hi, df) < p {
        hi *= 2.0;
    }
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if student_t_cdf(mid, df) < p {
            lo = mid;
        } else {
            hi = mid;
        }
        if hi - lo < 1e-12 {
            break;
        }
    }
    0.5 * (lo + hi)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(secs: u64) -> SimTime {
        SimTime(secs * crate::NANOS_PER_SEC)
    }

    #[test]
    fn a_level_averages_over_time_and_keeps_its_least() {
        // 10 for 4 s, 2 for 2 s, 6 for 4 s: (40 + 4 + 24) / 10 = 6.8, least 2.
        let mut l = Level::new(s(0), 10.0);
        l.add(s(4), -8.0);
        l.set(s(6), 6.0);
        assert_eq!(l.value(), 6.0);
        assert_eq!(l.least(), 2.0);
        assert!((l.mean(s(10)) - 6.8).abs() < 1e-12);
        // A restart at 10 s forgets the past: 6 for 5 s, then 1 for 5 s.
        l.restart(s(10));
        assert_eq!(l.least(), 6.0);
        l.set(s(15), 1.0);
        assert!((l.mean(s(20)) - 3.5).abs() < 1e-12);
        assert_eq!(l.mean(s(15)), 6.0);
    }

    #[test]
    fn spells_count_and_time_the_condition_including_the_one_going_on() {
        let mut sp = Spells::new();
        assert!(sp.set(true, s(2)));
        assert!(!sp.set(true, s(3)), "already on: no new spell");
        assert!(!sp.set(false, s(5)));
        assert!(sp.set(true, s(8)));
        assert_eq!(sp.count(), 2);
        assert_eq!(sp.total_s(s(10)), 3.0 + 2.0);
        // Restarted while on: the spell going on counts once, timed from the restart.
        sp.restart(s(10));
        assert_eq!(sp.count(), 1);
        assert_eq!(sp.total_s(s(12)), 2.0);
        sp.set(false, s(13));
        assert!(!sp.is_on());
        assert_eq!(sp.total_s(s(20)), 3.0);
    }

    #[test]
    fn t_quantiles_match_tables() {
        // Values from standard t tables (two-sided 95%).
        for (df, q) in [
            (1.0, 12.706),
            (2.0, 4.303),
            (4.0, 2.776),
            (9.0, 2.262),
            (29.0, 2.045),
            (1000.0, 1.962),
        ] {
            let got = student_t_quantile(0.975, df);
            assert!((got - q).abs() < 1e-3, "df {df}: {got} vs {q}");
        }
    }

    #[test]
    fn tally_matches_two_pass() {
        let xs = [2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0];
        let mut t = Tally::new();
        xs.iter().for_each(|&x| t.record(x));
        assert_eq!(t.mean(), 5.0);
        assert!((t.std_dev() - (32.0f64 / 7.0).sqrt()).abs() < 1e-12);
        assert_eq!((t.min(), t.max()), (2.0, 9.0));
    }

    #[test]
    fn summary_ci_by_hand() {
        let s = Summary::of(&[10.0, 12.0, 14.0]);
        // sd = 2, t(0.975, 2) = 4.3027, half = 4.3027 * 2 / sqrt(3) = 4.9683
        assert!((s.ci95_half_width - 4.968_3).abs() < 1e-3);
        assert!(s.ci_contains(14.9) && !s.ci_contains(17.0));
        assert_eq!(Summary::of(&[3.0]).ci95_half_width, 0.0);
    }

    #[test]
    fn time_weighted_average_by_hand() {
        let s = |x: u64| SimTime(x * crate::time::NANOS_PER_SEC);
        let mut w = TimeWeighted::new(s(0), 2.0);
        w.set(s(10), 4.0); // 2 for 10 s
        w.ramp_to(s(20), 0.0); // ramp 4 -> 0 over 10 s: area 20
        assert!((w.mean(s(30)) - (20.0 + 20.0) / 30.0).abs() < 1e-12);
        w.restart(s(30));
        w.set(s(40), 1.0);
        assert!((w.mean(s(50)) - 0.5).abs() < 1e-12);
    }
}
