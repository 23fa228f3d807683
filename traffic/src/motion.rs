//! How long a vehicle takes along one segment, with a trapezoidal speed profile:
//! it speeds up and slows down at a constant rate, and cruises at its top speed between.

/// Seconds to drive `length` metres at top speed `speed` (m/s) with `acceleration` (m/s²,
/// used for braking too; infinite for instant changes of speed). `from_rest`: the vehicle
/// stands at the start; `to_rest`: it stops at the end. A segment too short to reach top
/// speed is driven speeding up (and slowing down) all the way.
pub fn travel_time(
    length: f64,
    speed: f64,
    acceleration: f64,
    from_rest: bool,
    to_rest: bool,
) -> f64 {
    let cruise = length / speed;
    if !acceleration.is_finite() || !(from_rest || to_rest) {
        return cruise;
    }
    // Distance to reach top speed from rest, metres.
    let ramp = speed * speed / (2.0 * acceleration);
    if from_rest && to_rest {
        if length >= 2.0 * ramp {
            cruise + speed / acceleration
        } else {
            2.0 * (length / acceleration).sqrt()
        }
    } else if length >= ramp {
        cruise + speed / (2.0 * acceleration)
    } else {
        (2.0 * length / acceleration).sqrt()
    }
}

#[cfg(test)]
mod tests {
    use super::travel_time;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    #[test]
    fn cruising_is_length_over_speed() {
        assert!(close(travel_time(3.0, 1.5, 0.5, false, false), 2.0));
        assert!(close(travel_time(3.0, 1.5, f64::INFINITY, true, true), 2.0));
    }

    #[test]
    fn ramps_worked_by_hand() {
        // 1.5 m/s at 0.5 m/s²: 3 s and 2.25 m to reach top speed from rest.
        // From rest over 3 m: 2.25 m in 3 s, then 0.75 m at 1.5 m/s in 0.5 s.
        assert!(close(travel_time(3.0, 1.5, 0.5, true, false), 3.5));
        assert!(close(travel_time(3.0, 1.5, 0.5, false, true), 3.5));
        // Rest to rest over 3 m never reaches top speed: 1.5 m each way, t = √(2·1.5/0.5).
        assert!(close(
            travel_time(3.0, 1.5, 0.5, true, true),
            2.0 * 6f64.sqrt()
        ));
        // Rest to rest over 9 m: 3 s up, 3 s down (4.5 m), 4.5 m at 1.5 m/s in 3 s.
        assert!(close(travel_time(9.0, 1.5, 0.5, true, true), 9.0));
        // From rest over 1 m: speeding up all the way, t = √(2·1/0.5).
        assert!(close(travel_time(1.0, 1.5, 0.5, true, false), 2.0));
    }

    #[test]
    fn the_profile_is_continuous_at_the_ramp_length() {
        // Exactly the ramp length: both branches agree.
        let (v, a) = (2.0, 0.8);
        let ramp = v * v / (2.0 * a);
        let at = travel_time(ramp, v, a, true, false);
        let below = travel_time(ramp - 1e-9, v, a, true, false);
        assert!((at - below).abs() < 1e-6);
        let both = travel_time(2.0 * ramp, v, a, true, true);
        let both_below = travel_time(2.0 * ramp - 1e-9, v, a, true, true);
        assert!((both - both_below).abs() < 1e-6);
    }
}
