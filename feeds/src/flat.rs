//! A fast reading of the common shape of a feed line: one flat JSON object whose values
//! are strings without escapes, numbers or `null`. Anything else (escapes, nesting, a
//! value of the wrong type, a repeated or unknown field, a malformed line) is left to
//! serde_json, which reads it exactly or says precisely what is wrong; so this path only
//! ever accepts what serde_json would accept, with the same result.

/// The text fields of an event, in the order [`FlatFields::text`] keeps them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Field {
    EventId,
    Ts,
    Site,
    Region,
    Material,
    Sku,
    Location,
    Kind,
    Unit,
    Source,
    Order,
    Due,
}

/// The fields of one event, borrowed from its line (or from serde_json's reading of it).
#[derive(Debug, Default)]
pub(super) struct FlatFields<'a> {
    /// Text fields by [`Field`]; `None` when absent or `null`.
    pub text: [Option<&'a str>; 12],
    /// The quantity, if given.
    pub qty: Option<f64>,
}

impl<'a> FlatFields<'a> {
    /// The text of `field`, if given.
    pub fn get(&self, field: Field) -> Option<&'a str> {
        self.text[field as usize]
    }
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

/// Reads `line` if it has the common shape; `None` leaves it to serde_json.
pub(super) fn read(line: &str) -> Option<FlatFields<'_>> {
    let b = line.as_bytes();
    // Escapes and control characters (tabs between tokens too, which are rare) are
    // serde_json's to read: one pass over the line, without early exit, so that it
    // vectorises. Without escapes, a string ends at the next quote.
    if b.iter()
        .fold(false, |acc, &c| acc | (c == b'\\') | (c < 0x20))
    {
        return None;
    }
    let string = |i: usize| string(line, i);
    let mut i = skip_ws(b, 0);
    if b.get(i) != Some(&b'{') {
        return None;
    }
    i = skip_ws(b, i + 1);
    let mut f = FlatFields::default();
    if b.get(i) == Some(&b'}') {
        return end(b, i + 1).then_some(f);
    }
    let mut seen = 0u16;
    loop {
        let (key, next) = string(i)?;
        i = skip_ws(b, next);
        if b.get(i) != Some(&b':') {
            return None;
        }
        i = skip_ws(b, i + 1);
        let field = field_of(key.as_bytes(), &b[next - 1 - key.len()..]);
        // A repeated field is an error serde_json words best; so is an unknown one.
        let bit = 1u16 << field.map_or(12, |f| f as u16);
        if seen & bit != 0 {
            return None;
        }
        seen |= bit;
        match (field, *b.get(i)?) {
            (Some(field), b'"') => {
                let (text, next) = string(i)?;
                f.text[field as usize] = Some(text);
                i = next;
            }
            (_, b'n') if line[i..].starts_with("null") => i += 4,
            (None, b'-' | b'0'..=b'9') if key == "qty" => {
                let (x, next) = number(line, i)?;
                f.qty = Some(x);
                i = next;
            }
            _ => return None,
        }
        if field.is_none() && key != "qty" {
            return None;
        }
        i = skip_ws(b, i);
        match b.get(i) {
            Some(b',') => i = skip_ws(b, i + 1),
            Some(b'}') => return end(b, i + 1).then_some(f),
            _ => return None,
        }
    }
}

/// The text field a key names (`None`: `qty`, or a key that is not a field). Keys are
/// matched as one little-endian word (all field names are at most 8 bytes, and a key has
/// no NUL byte, so zero padding is unambiguous).
fn field_of(key: &[u8], key_and_after: &[u8]) -> Option<Field> {
    const fn word(s: &str) -> u64 {
        let b = s.as_bytes();
        let mut w = 0u64;
        let mut k = 0;
        while k < b.len() {
            w |= (b[k] as u64) << (8 * k);
            k += 1;
        }
        w
    }
    const FIELDS: [(u64, Field); 12] = [
        (word("event_id"), Field::EventId),
        (word("ts"), Field::Ts),
        (word("site"), Field::Site),
        (word("region"), Field::Region),
        (word("material"), Field::Material),
        (word("sku"), Field::Sku),
        (word("location"), Field::Location),
        (word("kind"), Field::Kind),
        (word("unit"), Field::Unit),
        (word("source"), Field::Source),
        (word("order"), Field::Order),
        (word("due"), Field::Due),
    ];
    if key.is_empty() || key.len() > 8 {
        return None;
    }
    // The eight bytes from the key's start, cut to its length. A key with a value after it
    // has them but in odd lines such as `{"ts":""}`, which serde_json then reads.
    let w = match key_and_after.get(..8) {
        Some(eight) => u64::from_le_bytes(eight.try_into().expect("eight bytes")),
        None => return None,
    } & (u64::MAX >> (64 - 8 * key.len()));
    FIELDS
        .iter()
        .find(|(k, _)| *k == w)
        .map(|&(_, field)| field)
}

/// The string whose opening quote is at `i` (the line has no escapes: [`read`] checked):
/// its text and the index after its closing quote.
#[inline(always)]
fn string(line: &str, i: usize) -> Option<(&str, usize)> {
    let b = line.as_bytes();
    if b.get(i) != Some(&b'"') {
        return None;
    }
    let len = find_quote(&b[i + 1..])?;
    Some((&line[i + 1..i + 1 + len], i + 2 + len))
}

#[inline(always)]
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

/// A JSON number starting at `i`, and the index after it.
fn number(line: &str, i: usize) -> Option<(f64, usize)> {
    let b = line.as_bytes();
    let len = b[i..]
        .iter()
        .position(|c| !matches!(c, b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E'))
        .unwrap_or(b.len() - i);
    let text = &line[i..i + len];
    // Whole numbers of up to 15 digits are exact in f64: no float parsing needed.
    if (1..=15).contains(&len) && text.bytes().all(|c| c.is_ascii_digit()) {
        if len > 1 && b[i] == b'0' {
            return None;
        }
        let x = text
            .bytes()
            .fold(0u64, |acc, c| acc * 10 + u64::from(c - b'0'));
        return Some((x as f64, i + len));
    }
    json_number(text).then_some(())?;
    let x = text.parse::<f64>().ok().filter(|x| x.is_finite())?;
    Some((x, i + len))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_quote_is_found_at_every_position_and_length() {
        for len in 0..40 {
            for at in 0..=len {
                // Bytes just beside the quote's value (0x21, 0x23) and a second quote after
                // it must not disturb the search.
                let mut b: Vec<u8> = (0..len).map(|k| [b'!', b'#', b'a'][k % 3]).collect();
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
    fn keys_name_their_fields_and_nothing_else() {
        let names = [
            ("event_id", Field::EventId),
            ("ts", Field::Ts),
            ("site", Field::Site),
            ("region", Field::Region),
            ("material", Field::Material),
            ("sku", Field::Sku),
            ("location", Field::Location),
            ("kind", Field::Kind),
            ("unit", Field::Unit),
            ("source", Field::Source),
            ("order", Field::Order),
            ("due", Field::Due),
        ];
        let of = |key: &str| {
            let line = format!("{key}\":\"x\"}}");
            field_of(key.as_bytes(), line.as_bytes())
        };
        for (name, field) in names {
            assert_eq!(of(name), Some(field), "{name}");
            assert_eq!(of(&name[..name.len() - 1]), None, "{name}, cut short");
            assert_eq!(of(&format!("{name}s")), None, "{name}s");
            assert_eq!(of(&name.to_uppercase()), None, "{name}, upper case");
        }
        for other in ["", "qty", "colour", "event_ids"] {
            assert_eq!(of(other), None, "{other}");
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
