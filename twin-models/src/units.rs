//! Human units in scenario files: durations such as `"90s"`, `"1.5min"`, `"2h"`, `"3d"`, and
//! rates such as `"36000/h"`, `"600/min"`, `"10/s"`.

use sim::{NANOS_PER_HOUR, SimDuration};

/// Quantity ticks in one unit (bottle, pack, pallet). Flow quantities are integers of ticks:
/// a rate in milli-units per hour is exactly a number of ticks per nanosecond, so a machine
/// at a whole rate produces exactly the units its rate says, with no rounding drift.
pub const TICKS_PER_UNIT: u128 = NANOS_PER_HOUR as u128 * 1000;

/// Parses a duration: a non-negative number followed by `ms`, `s`, `min`, `h` or `d`.
pub fn parse_duration(text: &str) -> Result<SimDuration, String> {
    let t = text.trim();
    let split = t.find(|c: char| c.is_ascii_alphabetic()).ok_or_else(|| {
        format!("`{text}` has no unit; write it like \"90s\", \"1.5min\", \"2h\" or \"3d\"")
    })?;
    let (num, unit) = t.split_at(split);
    let value: f64 = num
        .trim()
        .parse()
        .map_err(|_| format!("`{text}` does not start with a number"))?;
    if !value.is_finite() {
        return Err(format!("`{text}` is not a finite duration"));
    }
    if value < 0.0 {
        return Err(format!(
            "`{text}` is negative; durations must be zero or more"
        ));
    }
    let secs_per_unit = match unit.trim() {
        "ms" => 1e-3,
        "s" | "sec" => 1.0,
        "min" => 60.0,
        "h" => 3600.0,
        "d" => 86400.0,
        other => {
            return Err(format!(
                "`{text}` has unknown unit `{other}`; use ms, s, min, h or d"
            ));
        }
    };
    let secs = value * secs_per_unit;
    // The clock counts nanoseconds in 64 bits: about 584 years. Longer is refused rather
    // than cut short without a word.
    if secs * 1e9 >= u64::MAX as f64 {
        return Err(format!(
            "`{text}` is longer than the longest time twinline can simulate, about 584 years (2^64 ns)"
        ));
    }
    Ok(SimDuration::from_secs_f64(secs))
}

/// Parses a rate `N/unit` (unit `s`, `min`, `h` or `d`) into milli-units per hour.
pub fn parse_rate(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let (num, unit) = t.split_once('/').ok_or_else(|| {
        format!("`{text}` is not a rate; write it like \"36000/h\" or \"600/min\"")
    })?;
    let value: f64 = num
        .trim()
        .parse()
        .map_err(|_| format!("`{text}` does not start with a number"))?;
    if !value.is_finite() || value <= 0.0 {
        return Err(format!("`{text}` must be a positive rate"));
    }
    let per_hour = match unit.trim() {
        "s" => value * 3600.0,
        "min" => value * 60.0,
        "h" => value,
        "d" => value / 24.0,
        other => {
            return Err(format!(
                "`{text}` has unknown time unit `{other}`; use s, min, h or d"
            ));
        }
    };
    let milli = (per_hour * 1000.0).round();
    if !(1.0..=1e15).contains(&milli) {
        return Err(format!(
            "`{text}` is outside the supported range (0.001/h to 1e12/h)"
        ));
    }
    Ok(milli as u64)
}

/// The rate (milli-units per hour) of a machine that takes `cycle` per unit.
pub fn rate_of_cycle(cycle: SimDuration) -> u64 {
    ((NANOS_PER_HOUR as f64 * 1000.0) / cycle.0 as f64).round() as u64
}

/// Units from ticks, as a float (exact for whole units).
pub fn units(ticks: u128) -> f64 {
    // Below 2^64 the hardware conversion is exact enough and far faster than the u128 one.
    let t = if ticks >> 64 == 0 {
        ticks as u64 as f64
    } else {
        ticks as f64
    };
    t / TICKS_PER_UNIT as f64
}

/// Whole units begun in `ticks` of flow: a unit counts once any of it is taken.
pub fn units_begun(ticks: u128) -> u64 {
    ticks.div_ceil(TICKS_PER_UNIT) as u64
}

/// Whole units finished in `ticks` of flow: a unit counts once all of it is through.
pub fn units_done(ticks: u128) -> u64 {
    (ticks / TICKS_PER_UNIT) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90s").unwrap(), SimDuration::from_secs(90));
        assert_eq!(
            parse_duration("1.5min").unwrap(),
            SimDuration::from_secs(90)
        );
        assert_eq!(parse_duration("2h").unwrap(), SimDuration::from_secs(7200));
        assert_eq!(
            parse_duration("3d").unwrap(),
            SimDuration::from_secs(3 * 86400)
        );
        assert_eq!(parse_duration("250ms").unwrap(), SimDuration(250_000_000));
        assert!(parse_duration("-5min").unwrap_err().contains("negative"));
        // `--horizon 1000000000d` was cut to 584 years without a word.
        assert!(
            parse_duration("1000000000d")
                .unwrap_err()
                .contains("584 years")
        );
        assert!(parse_duration("200000d").is_ok());
        assert!(parse_duration("5").unwrap_err().contains("no unit"));
        assert!(
            parse_duration("5 weeks")
                .unwrap_err()
                .contains("unknown unit")
        );
    }

    #[test]
    fn rates() {
        assert_eq!(parse_rate("36000/h").unwrap(), 36_000_000);
        assert_eq!(parse_rate("600/min").unwrap(), 36_000_000);
        assert_eq!(parse_rate("10/s").unwrap(), 36_000_000);
        assert!(parse_rate("0/h").is_err());
        assert!(parse_rate("36000").is_err());
        assert_eq!(rate_of_cycle(SimDuration(100_000_000)), 36_000_000);
    }
}
