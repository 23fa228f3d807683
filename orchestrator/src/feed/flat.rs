//! A fast reading of the common shape of a feed line: one flat JSON object whose values
//! are strings without escapes, numbers or `null`. Anything else (escapes, nesting, a
//! value of the wrong type, a repeated or unknown field, a malformed line) is left to
//! serde_json, which reads it exactly or says precisely what is wrong; so this path only
//! ever accepts what serde_json would accept, with the same result.

use std::borrow::Cow;

/// The fields of one event, borrowed from its line.
#[derive(Debug, Default)]
pub(super) struct FlatFields<'a> {
    pub event_id: Option<&'a str>,
    pub ts: Option<&'a str>,
    pub site: Option<&'a str>,
    pub region: Option<&'a str>,
    pub material: Option<&'a str>,
    pub sku: Option<&'a str>,
    pub location: Option<&'a str>,
    pub kind: Option<&'a str>,
    pub qty: Option<f64>,
    pub unit: Option<&'a str>,
    pub source: Option<&'a str>,
    pub order: Option<&'a str>,
    pub due: Option<&'a str>,
}

enum Value<'a> {
    Text(&'a str),
    Number(f64),
    Null,
}

/// Reads `line` if it has the common shape; `None` leaves it to serde_json.
pub(super) fn read(line: &str) -> Option<FlatFields<'_>> {
    let b = line.as_bytes();
    // Escapes and control characters (tabs between tokens too, which are rare) are
    // serde_json's to read: one pass over the line, without early exit, so that it
    // vectorises.
    if b.iter()
        .fold(false, |acc, &c| acc | (c == b'\\') | (c < 0x20))
    {
        return None;
    }
    let mut i = skip_ws(b, 0);
    if b.get(i) != Some(&b'{') {
        return None;
    }
    i = skip_ws(b, i + 1);
    let mut f = FlatFields::default();
    let mut seen = 0u16;
    if b.get(i) == Some(&b'}') {
        return end(b, i + 1).then_some(f);
    }
    loop {
        let (key, next) = string(line, i)?;
        i = skip_ws(b, next);
        if b.get(i) != Some(&b':') {
            return None;
        }
        i = skip_ws(b, i + 1);
        let (value, next) = value(line, i)?;
        let (bit, ok) = match (key, value) {
            ("qty", Value::Number(x)) => (10, set(&mut f.qty, Some(x))),
            ("qty", Value::Null) => (10, true),
            (_, Value::Number(_)) | ("qty", _) => return None,
            (k, v) => {
                let text = match v {
                    Value::Text(t) => Some(t),
                    _ => None,
                };
                let slot = match k {
                    "event_id" => (0, &mut f.event_id),
                    "ts" => (1, &mut f.ts),
                    "site" => (2, &mut f.site),
                    "region" => (3, &mut f.region),
                    "material" => (4, &mut f.material),
                    "sku" => (5, &mut f.sku),
                    "location" => (6, &mut f.location),
                    "kind" => (7, &mut f.kind),
                    "unit" => (8, &mut f.unit),
                    "source" => (9, &mut f.source),
                    "order" => (11, &mut f.order),
                    "due" => (12, &mut f.due),
                    _ => return None,
                };
                (slot.0, set(slot.1, text))
            }
        };
        // A repeated field is an error serde_json words best.
        if !ok || seen & (1 << bit) != 0 {
            return None;
        }
        seen |= 1 << bit;
        i = skip_ws(b, next);
        match b.get(i) {
            Some(b',') => i = skip_ws(b, i + 1),
            Some(b'}') => return end(b, i + 1).then_some(f),
            _ => return None,
        }
    }
}

fn set<T>(slot: &mut Option<T>, v: Option<T>) -> bool {
    *slot = v;
    true
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && b[i] == b' ' {
        i += 1;
    }
    i
}

/// Only blanks may follow the object.
fn end(b: &[u8], i: usize) -> bool {
    skip_ws(b, i) == b.len()
}

/// A string starting at `i` (the line has no escapes or control characters: [`read`]
/// checked): its text and the index after its closing quote.
fn string(line: &str, i: usize) -> Option<(&str, usize)> {
    let b = line.as_bytes();
    if b.get(i) != Some(&b'"') {
        return None;
    }
    let start = i + 1;
    let len = find_quote(&b[start..])?;
    Some((&line[start..start + len], start + len + 1))
}

/// The first `"` in `b`, eight bytes at a time (the lowest byte flagged by the classic
/// has-zero-byte test on `word ^ "…"` is exactly the first quote).
fn find_quote(b: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    const QUOTES: u64 = 0x2222_2222_2222_2222;
    let mut i = 0;
    while let Some(chunk) = b.get(i..i + 8) {
        let x = u64::from_le_bytes(chunk.try_into().expect("eight bytes")) ^ QUOTES;
        let found = x.wrapping_sub(ONES) & !x & HIGHS;
        if found != 0 {
            return Some(i + (found.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    b[i..].iter().position(|&c| c == b'"').map(|p| i + p)
}

fn value(line: &str, i: usize) -> Option<(Value<'_>, usize)> {
    let b = line.as_bytes();
    match *b.get(i)? {
        b'"' => string(line, i).map(|(t, n)| (Value::Text(t), n)),
        b'n' => line[i..]
            .starts_with("null")
            .then_some((Value::Null, i + 4)),
        b'-' | b'0'..=b'9' => {
            let len = b[i..]
                .iter()
                .position(|c| !matches!(c, b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E'))
                .unwrap_or(b.len() - i);
            let text = &line[i..i + len];
            json_number(text).then_some(())?;
            let x = text.parse::<f64>().ok().filter(|x| x.is_finite())?;
            Some((Value::Number(x), i + len))
        }
        _ => None,
    }
}

/// Whether `t` follows JSON's number grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
fn json_number(t: &str) -> bool {
    let b = t.as_bytes();
    let mut i = usize::from(b.first() == Some(&b'-'));
    let digits = |i: &mut usize| {
        let s = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i - s
    };
    match b.get(i) {
        Some(b'0') => i += 1,
        Some(b'1'..=b'9') => {
            digits(&mut i);
        }
        _ => return false,
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

impl<'a> FlatFields<'a> {
    /// As serde_json would have read them.
    pub(super) fn into_raw(self) -> super::parse::RawEvent<'a> {
        let c = |s: Option<&'a str>| s.map(Cow::Borrowed);
        super::parse::RawEvent {
            event_id: c(self.event_id),
            ts: c(self.ts),
            site: c(self.site),
            region: c(self.region),
            material: c(self.material),
            sku: c(self.sku),
            location: c(self.location),
            kind: c(self.kind),
            qty: self.qty,
            unit: c(self.unit),
            source: c(self.source),
            order: c(self.order),
            due: c(self.due),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_quote_is_found_at_every_position_and_length() {
        for len in 0..40 {
            for at in 0..=len {
                let mut b = vec![b'a'; len];
                // Bytes just beside the quote's value (0x21, 0x23) and a second quote after
                // it must not disturb the search.
                for (k, x) in b.iter_mut().enumerate() {
                    *x = [b'!', b'#', b'a'][k % 3];
                }
                if at < len {
                    b[at] = b'"';
                    if at + 3 < len {
                        b[at + 3] = b'"';
                    }
                }
                let expected = (at < len).then_some(at);
                assert_eq!(find_quote(&b), expected, "len {len}, quote at {at}");
            }
        }
    }

    #[test]
    fn json_numbers_follow_the_grammar() {
        for ok in ["0", "-0", "12", "0.5", "1e3", "2.5E-2", "-1.25e+10"] {
            assert!(json_number(ok), "{ok}");
        }
        for bad in ["", "-", "012", "1.", ".5", "1e", "1e+", "+1", "1-2", "0x10"] {
            assert!(!json_number(bad), "{bad}");
        }
    }
}
