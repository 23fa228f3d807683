//! A fast reading of the common shape of an RFC 3339 time in feeds,
//! `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`, to nanoseconds since 1970 (UTC).
//!
//! Anything else (a leap second, a lower-case `t` or `z`, a year outside 1678–2261, more
//! than nine fraction digits, an out-of-range field) is left to the `time` crate, which
//! reads it exactly or words the error; so this path only ever accepts what `time` would
//! accept, with the same result (a property test holds it to that).

/// The Julian day number of 1970-01-01.
const UNIX_EPOCH_JULIAN_DAY: i64 = 2_440_588;

/// Nanoseconds since 1970-01-01T00:00:00Z, if `text` has the common shape.
pub(super) fn read(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' {
        return None;
    }
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    let year = digits(&b[0..4])?;
    let month = digits(&b[5..7])?;
    let day = digits(&b[8..10])?;
    let hour = digits(&b[11..13])?;
    let minute = digits(&b[14..16])?;
    let second = digits(&b[17..19])?;
    // Years whose every instant fits in i64 nanoseconds.
    if !(1678..=2261).contains(&year) || hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    // The calendar (and its checks of month and day) is the `time` crate's.
    let month = time::Month::try_from(month as u8).ok()?;
    let date = time::Date::from_calendar_date(year as i32, month, day as u8).ok()?;
    let days = i64::from(date.to_julian_day()) - UNIX_EPOCH_JULIAN_DAY;
    let mut i = 19;
    let mut nanos = 0i64;
    if b[i] == b'.' {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        let n = i - start;
        if n == 0 || n > 9 {
            return None;
        }
        nanos = digits(&b[start..i])? * 10i64.pow(9 - n as u32);
    }
    let offset = match &b[i..] {
        [b'Z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let h = digits(&[*h1, *h2])?;
            let m = digits(&[*m1, *m2])?;
            if h > 23 || m > 59 {
                return None;
            }
            let s = (h * 60 + m) * 60;
            if *sign == b'-' { -s } else { s }
        }
        _ => return None,
    };
    let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offset;
    Some(seconds * 1_000_000_000 + nanos)
}

/// The number the ASCII digits in `b` write, if all are digits.
fn digits(b: &[u8]) -> Option<i64> {
    b.iter().try_fold(0i64, |acc, &c| {
        c.is_ascii_digit().then(|| acc * 10 + i64::from(c - b'0'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exact(text: &str) -> Option<i64> {
        time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
            .ok()
            .and_then(|t| i64::try_from(t.unix_timestamp_nanos()).ok())
    }

    #[test]
    fn hand_worked_instants() {
        assert_eq!(read("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(read("2000-03-01T00:00:00Z"), Some(951_868_800_000_000_000));
        assert_eq!(
            read("2026-11-23T07:00:00.25+01:00"),
            Some(1_795_413_600_250_000_000)
        );
        assert_eq!(read("1969-12-31T23:59:59.000000001Z"), Some(-999_999_999));
        for other in [
            "2026-11-23T06:00:60Z",
            "2026-02-29T00:00:00Z",
            "2026-11-23t06:00:00Z",
            "2026-11-23T06:00:00",
            "2026-11-23T06:00:00.Z",
            "2026-11-23T06:00:00.1234567890Z",
            "2026-11-23T06:00:00+24:00",
            "1677-12-31T00:00:00Z",
        ] {
            assert_eq!(read(other), None, "{other}");
        }
        for same in [
            "2024-02-29T00:00:00Z",
            "2026-11-23T06:00:00-00:00",
            "2026-11-23T06:00:00+23:59",
            "1900-02-28T23:59:59.999999999Z",
        ] {
            assert_eq!(read(same), exact(same), "{same}");
            assert!(read(same).is_some(), "{same}");
        }
    }

    proptest::proptest! {
        #[test]
        fn agrees_with_the_time_crate(
            year in 1600i64..2400, month in 0i64..14, day in 0i64..33, hour in 0i64..26,
            minute in 0i64..62, second in 0i64..62, frac in proptest::option::of(0u32..12),
            frac_value in 0u64..10_000_000_000, offset in 0usize..5,
            oh in 0i64..26, om in 0i64..62,
        ) {
            let mut text = format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}");
            if let Some(n) = frac {
                let f = format!("{frac_value:010}");
                text.push('.');
                text.push_str(&f[..(n as usize).min(10)]);
            }
            match offset {
                0 => text.push('Z'),
                1 => text.push_str(&format!("+{oh:02}:{om:02}")),
                2 => text.push_str(&format!("-{oh:02}:{om:02}")),
                3 => text.push('z'),
                _ => {}
            }
            if let Some(fast) = read(&text) {
                proptest::prop_assert_eq!(Some(fast), exact(&text), "{}", text);
            }
        }

        #[test]
        fn accepts_every_ordinary_instant(
            nanos in -9_000_000_000_000_000_000i64..9_000_000_000_000_000_000,
        ) {
            let t = time::OffsetDateTime::from_unix_timestamp_nanos(nanos as i128).unwrap();
            let text = t.format(&time::format_description::well_known::Rfc3339).unwrap();
            proptest::prop_assert_eq!(read(&text), Some(nanos), "{}", text);
        }
    }
}
