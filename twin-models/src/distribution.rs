//! Random durations: the distributions a scenario can name for processing times, times
//! between failures, repair times and inter-arrival times.
//!
//! Written as text: `"45min"` (fixed), `"exp(45min)"` (mean), `"uniform(5s, 60s)"`,
//! `"tri(1min, 3min, 8min)"` (min, mode, max), `"normal(5min, 1min)"` and
//! `"lognormal(5min, 2min)"` (mean, standard deviation; normal is truncated at 0),
//! `"empirical(1s, 2s, 5s)"` (equally likely) or `"empirical(1s@0.2, 2s@0.8)"` (weighted).

use crate::units::parse_duration;
use rand::RngExt;
use rand_distr::{Distribution as _, Exp1, StandardNormal};
use sim::{SimDuration, StreamRng};

/// A distribution of durations, resolved to seconds.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Distribution {
    /// Always this long.
    Fixed(SimDuration),
    /// Exponential with this mean, seconds.
    Exponential { mean: f64 },
    /// Uniform on `[low, high]`, seconds.
    Uniform { low: f64, high: f64 },
    /// Triangular with `min ≤ mode ≤ max`, seconds.
    Triangular { min: f64, mode: f64, max: f64 },
    /// Normal with this mean and standard deviation (seconds), redrawn while negative.
    Normal { mean: f64, sd: f64 },
    /// Lognormal with this mean and standard deviation of the duration itself, seconds.
    LogNormal { mean: f64, sd: f64 },
    /// Values (seconds) with cumulative weights summing to 1.
    Empirical {
        values: Vec<f64>,
        cumulative: Vec<f64>,
    },
}

impl Distribution {
    /// Parses the text form (see the module documentation).
    pub fn parse(text: &str) -> Result<Distribution, String> {
        let t = text.trim();
        let Some(open) = t.find('(') else {
            return parse_duration(t).map(Distribution::Fixed);
        };
        if !t.ends_with(')') {
            return Err(format!("`{text}` is missing its closing parenthesis"));
        }
        let name = t[..open].trim();
        let args: Vec<&str> = t[open + 1..t.len() - 1].split(',').map(str::trim).collect();
        let secs = |s: &str| parse_duration(s).map(|d| d.as_secs_f64());
        let want = |n: usize| {
            if args.len() == n {
                Ok(())
            } else {
                Err(format!(
                    "`{name}` takes {n} argument(s), `{text}` gives {}",
                    args.len()
                ))
            }
        };
        let d = match name {
            "exp" | "exponential" => {
                want(1)?;
                let mean = secs(args[0])?;
                if mean <= 0.0 {
                    return Err(format!("`{text}`: the mean must be positive"));
                }
                Distribution::Exponential { mean }
            }
            "uniform" => {
                want(2)?;
                let (low, high) = (secs(args[0])?, secs(args[1])?);
                if low > high {
                    return Err(format!("`{text}`: low is above high"));
                }
                Distribution::Uniform { low, high }
            }
            "tri" | "triangular" => {
                want(3)?;
                let (min, mode, max) = (secs(args[0])?, secs(args[1])?, secs(args[2])?);
                if !(min <= mode && mode <= max) || min == max {
                    return Err(format!("`{text}`: needs min ≤ mode ≤ max with min < max"));
                }
                Distribution::Triangular { min, mode, max }
            }
            "normal" | "lognormal" => {
                want(2)?;
                let (mean, sd) = (secs(args[0])?, secs(args[1])?);
                if mean <= 0.0 {
                    return Err(format!("`{text}`: the mean must be positive"));
                }
                if name == "normal" {
                    Distribution::Normal { mean, sd }
                } else {
                    Distribution::LogNormal { mean, sd }
                }
            }
            "empirical" => {
                if args.iter().all(|a| a.is_empty()) {
                    return Err(format!("`{text}`: give at least one value"));
                }
                let mut values = Vec::new();
                let mut weights = Vec::new();
                for a in &args {
                    let (v, w) = match a.split_once('@') {
                        Some((v, w)) => {
                            let w: f64 = w
                                .trim()
                                .parse()
                                .map_err(|_| format!("`{text}`: weight `{w}` is not a number"))?;
                            (v, w)
                        }
                        None => (*a, 1.0),
                    };
                    if !(w.is_finite() && w > 0.0) {
                        return Err(format!("`{text}`: weights must be positive"));
                    }
                    values.push(secs(v)?);
                    weights.push(w);
                }
                let total: f64 = weights.iter().sum();
                let mut acc = 0.0;
                let cumulative = weights.iter().map(|w| {
                    acc += w / total;
                    acc
                });
                Distribution::Empirical {
                    cumulative: cumulative.collect(),
                    values,
                }
            }
            other => {
                return Err(format!(
                    "`{text}`: unknown distribution `{other}`; use exp, uniform, tri, normal, lognormal or empirical"
                ));
            }
        };
        Ok(d)
    }

    /// The mean duration, seconds.
    pub fn mean_secs(&self) -> f64 {
        match self {
            Distribution::Fixed(d) => d.as_secs_f64(),
            Distribution::Exponential { mean } | Distribution::LogNormal { mean, .. } => *mean,
            // The truncation at zero is ignored here: it matters only for sd close to the mean.
            Distribution::Normal { mean, .. } => *mean,
            Distribution::Uniform { low, high } => 0.5 * (low + high),
            Distribution::Triangular { min, mode, max } => (min + mode + max) / 3.0,
            Distribution::Empirical { values, cumulative } => {
                let mut prev = 0.0;
                values
                    .iter()
                    .zip(cumulative)
                    .map(|(v, c)| {
                        let w = c - prev;
                        prev = *c;
                        v * w
                    })
                    .sum()
            }
        }
    }

    /// Whether every draw is the same.
    pub fn is_fixed(&self) -> bool {
        matches!(self, Distribution::Fixed(_))
    }

    /// Draws one duration.
    #[inline(always)]
    pub fn sample(&self, rng: &mut StreamRng) -> SimDuration {
        // The exponential is the per-unit engine's usual draw: kept inline, the others out
        // of line (the same draws either way).
        match self {
            Distribution::Exponential { mean } => {
                SimDuration::from_secs_f64(exponential_secs(*mean, rng))
            }
            _ => self.sample_other(rng),
        }
    }

    /// [`Self::sample`] of every distribution but the exponential.
    #[inline(never)]
    fn sample_other(&self, rng: &mut StreamRng) -> SimDuration {
        let secs = match self {
            Distribution::Fixed(d) => return *d,
            Distribution::Exponential { mean } => exponential_secs(*mean, rng),
            Distribution::Uniform { low, high } => low + (high - low) * rng.random::<f64>(),
            Distribution::Triangular { min, mode, max } => {
                let u: f64 = rng.random();
                let cut = (mode - min) / (max - min);
                if u < cut {
                    min + ((max - min) * (mode - min) * u).sqrt()
                } else {
                    max - ((max - min) * (max - mode) * (1.0 - u)).sqrt()
                }
            }
            Distribution::Normal { mean, sd } => {
                let mut x;
                let mut tries = 0;
                loop {
                    let z: f64 = StandardNormal.sample(rng);
                    x = mean + sd * z;
                    tries += 1;
                    if x >= 0.0 || tries > 64 {
                        break;
                    }
                }
                x.max(0.0)
            }
            Distribution::LogNormal { mean, sd } => {
                let s2 = (1.0 + (sd / mean).powi(2)).ln();
                let mu = mean.ln() - 0.5 * s2;
                let z: f64 = StandardNormal.sample(rng);
                (mu + s2.sqrt() * z).exp()
            }
            Distribution::Empirical { values, cumulative } => {
                let u: f64 = rng.random();
                let i = cumulative
                    .partition_point(|c| *c <= u)
                    .min(values.len() - 1);
                values[i]
            }
        };
        SimDuration::from_secs_f64(secs)
    }
}

/// An exponential draw of mean `mean` seconds: rand_distr's ziggurat (Marsaglia and Tsang),
/// exact like inversion, but mostly one table lookup where inversion takes a logarithm,
/// which had been the single largest cost of a unit-by-unit event.
#[inline(always)]
fn exponential_secs(mean: f64, rng: &mut StreamRng) -> f64 {
    let e: f64 = Exp1.sample(rng);
    mean * e
}

#[cfg(test)]
mod tests {
    use super::*;
    use sim::RngStreams;

    fn sample_mean(d: &Distribution) -> (f64, f64) {
        let mut rng = RngStreams::new(3).stream(&[1]);
        let n = 200_000;
        let xs: Vec<f64> = (0..n).map(|_| d.sample(&mut rng).as_secs_f64()).collect();
        let m = xs.iter().sum::<f64>() / n as f64;
        let v = xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1) as f64;
        (m, v.sqrt())
    }

    #[test]
    fn parse_and_moments() {
        let cases = [
            ("exp(10s)", 10.0, 10.0),
            ("uniform(2s, 4s)", 3.0, 2.0 / 12f64.sqrt()),
            ("tri(0s, 0s, 6s)", 2.0, (36.0f64 / 18.0).sqrt()),
            ("lognormal(5min, 2min)", 300.0, 120.0),
            ("normal(60s, 5s)", 60.0, 5.0),
            (
                "empirical(1s@0.25, 3s@0.75)",
                2.5,
                (0.75f64 * 0.25 * 4.0).sqrt(),
            ),
        ];
        for (text, mean, sd) in cases {
            let d = Distribution::parse(text).unwrap();
            assert!((d.mean_secs() - mean).abs() < 1e-9, "{text} mean formula");
            let (m, s) = sample_mean(&d);
            assert!(
                (m - mean).abs() < 0.01 * mean,
                "{text}: sample mean {m} vs {mean}"
            );
            assert!((s - sd).abs() < 0.02 * sd, "{text}: sample sd {s} vs {sd}");
        }
        assert_eq!(
            Distribution::parse("45min").unwrap(),
            Distribution::Fixed(SimDuration::from_secs(2700))
        );
    }

    #[test]
    fn exponential_draws_follow_the_exponential_law_into_the_tail() {
        // Kolmogorov-Smirnov against 1 - exp(-x / mean), and the far tail (the ziggurat's
        // own branch) against exp(-k): P(X > 5 means) = 0.67 %, P(X > 8 means) = 0.034 %.
        let d = Distribution::parse("exp(10s)").unwrap();
        let mut rng = RngStreams::new(11).stream(&[2]);
        let n = 200_000;
        let mut xs: Vec<f64> = (0..n).map(|_| d.sample(&mut rng).as_secs_f64()).collect();
        xs.sort_by(f64::total_cmp);
        let ks = xs
            .iter()
            .enumerate()
            .map(|(i, &x)| {
                let f = 1.0 - (-x / 10.0).exp();
                (f - i as f64 / n as f64)
                    .abs()
                    .max(((i + 1) as f64 / n as f64 - f).abs())
            })
            .fold(0.0, f64::max);
        // The 0.1 % critical value is 1.95 / sqrt(n).
        assert!(ks < 1.95 / (n as f64).sqrt(), "KS statistic {ks}");
        for k in [5.0f64, 8.0] {
            let above = xs.iter().filter(|&&x| x > 10.0 * k).count() as f64;
            let expected = n as f64 * (-k).exp();
            // Four binomial standard deviations.
            assert!(
                (above - expected).abs() < 4.0 * expected.sqrt(),
                "beyond {k} means: {above} draws, {expected:.0} expected"
            );
        }
    }

    #[test]
    fn bad_distributions_say_why() {
        assert!(
            Distribution::parse("exp(0s)")
                .unwrap_err()
                .contains("positive")
        );
        assert!(
            Distribution::parse("uniform(5s, 1s)")
                .unwrap_err()
                .contains("low is above high")
        );
        assert!(
            Distribution::parse("weibull(1s)")
                .unwrap_err()
                .contains("unknown distribution")
        );
        assert!(
            Distribution::parse("exp(1s, 2s)")
                .unwrap_err()
                .contains("takes 1")
        );
        assert!(
            Distribution::parse("exp(-1s)")
                .unwrap_err()
                .contains("negative")
        );
        assert!(
            Distribution::parse("empirical(1s@-2)")
                .unwrap_err()
                .contains("positive")
        );
    }
}
