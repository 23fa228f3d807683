//! Reading feed events from text: NDJSON (one JSON object per line) or CSV with a header
//! row. Every line gives an event or a [`Rejection`] saying why not; nothing is dropped.

use super::event::{EventKind, FeedEvent, Timestamp};
use super::fnv::Fnv;
use serde::Deserialize;
use std::borrow::Cow;
use std::hash::BuildHasherDefault;
use std::sync::Arc;

/// A line that is not a valid event, with the reason (for the quarantine file).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rejection {
    /// Line number in its file, from 1.
    pub line: usize,
    /// Why it was rejected, naming the field.
    pub reason: String,
    /// The line as it came.
    pub raw: String,
}

/// The fields of an event as written (NDJSON and CSV alike), borrowed from the line
/// where they need no unescaping.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawEvent<'a> {
    #[serde(borrow, default)]
    pub(super) event_id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub(super) ts: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub(super) site: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub(super) region: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub(super) material: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub(super) sku: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub(super) location: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub(super) kind: Option<Cow<'a, str>>,
    #[serde(default)]
    pub(super) qty: Option<f64>,
    #[serde(borrow, default)]
    pub(super) unit: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub(super) source: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub(super) order: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub(super) due: Option<Cow<'a, str>>,
}

/// Text fields: absent and blank are the same (CSV has no null).
fn text<'b>(v: &'b Option<Cow<'_, str>>) -> Option<&'b str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// Reads feed lines into events, sharing the text that repeats (sites, materials, units)
/// between them.
#[derive(Debug, Default)]
pub struct FeedReader {
    #[allow(
        clippy::disallowed_types,
        reason = "looked up only, never iterated: order cannot leak"
    )]
    known: std::collections::HashSet<Arc<str>, BuildHasherDefault<Fnv>>,
}

impl FeedReader {
    /// A reader with nothing seen yet.
    pub fn new() -> Self {
        Self::default()
    }

    fn share(&mut self, s: &str) -> Arc<str> {
        if let Some(a) = self.known.get(s) {
            return a.clone();
        }
        let a: Arc<str> = Arc::from(s);
        self.known.insert(a.clone());
        a
    }

    fn check(&mut self, raw: &RawEvent<'_>) -> Result<FeedEvent, String> {
        fn need<'b>(v: &'b Option<Cow<'_, str>>, name: &str) -> Result<&'b str, String> {
            text(v).ok_or_else(|| format!("`{name}` is missing"))
        }
        let event_id: Arc<str> = Arc::from(need(&raw.event_id, "event_id")?);
        let ts = Timestamp::parse(need(&raw.ts, "ts")?).map_err(|e| format!("`ts`: {e}"))?;
        let site = need(&raw.site, "site")?;
        let location = need(&raw.location, "location")?;
        let material = match (text(&raw.material), text(&raw.sku)) {
            (Some(m), Some(s)) if m != s => {
                return Err(format!("`material` ({m}) and `sku` ({s}) disagree"));
            }
            (Some(m), _) | (None, Some(m)) => m,
            (None, None) => return Err("`material` (or `sku`) is missing".into()),
        };
        let kind_name = need(&raw.kind, "kind")?;
        let kind = EventKind::from_name(kind_name).ok_or_else(|| {
            let names: Vec<&str> = EventKind::NAMES.iter().map(|(n, _)| *n).collect();
            format!("`kind`: `{kind_name}` is not one of {}", names.join(", "))
        })?;
        let qty = raw.qty.ok_or_else(|| "`qty` is missing".to_string())?;
        if !qty.is_finite() {
            return Err(format!("`qty`: {qty} is not a number"));
        }
        if qty < 0.0 && kind != EventKind::Adjustment {
            return Err(format!(
                "`qty`: {qty} is negative; only adjustments may be (a {} counts up from 0)",
                kind.name()
            ));
        }
        let unit = need(&raw.unit, "unit")?;
        let order = text(&raw.order);
        if order.is_some() && !matches!(kind, EventKind::Demand | EventKind::Shipment) {
            return Err(format!(
                "`order`: a {} refers to no order; only demands and shipments do",
                kind.name()
            ));
        }
        let due = match text(&raw.due) {
            None => None,
            Some(_) if kind != EventKind::Demand => {
                return Err(format!(
                    "`due`: a {} has no due time; only demands do",
                    kind.name()
                ));
            }
            Some(d) => Some(Timestamp::parse(d).map_err(|e| format!("`due`: {e}"))?),
        };
        Ok(FeedEvent {
            event_id,
            ts,
            site: self.share(site),
            region: text(&raw.region).map(|r| self.share(r)),
            material: self.share(material),
            location: self.share(location),
            kind,
            qty,
            unit: self.share(unit),
            source: text(&raw.source).map(|r| self.share(r)),
            order: order.map(Arc::from),
            due,
        })
    }

    /// Parses one NDJSON line (line number `line`, from 1).
    pub fn ndjson_line(&mut self, text: &str, line: usize) -> Result<FeedEvent, Rejection> {
        let reject = |reason: String| Rejection {
            line,
            reason,
            raw: text.to_string(),
        };
        let raw: RawEvent<'_> = match super::flat::read(text) {
            Some(fields) => fields.into_raw(),
            None => serde_json::from_str(text).map_err(|e| reject(format!("{e}")))?,
        };
        self.check(&raw).map_err(reject)
    }
}

/// Parses one NDJSON line (line number `line`, from 1).
pub fn parse_ndjson_line(text: &str, line: usize) -> Result<FeedEvent, Rejection> {
    FeedReader::new().ndjson_line(text, line)
}

/// Parses NDJSON text: one result per non-blank line, in file order (lazily, so a large
/// file streams through).
pub fn parse_ndjson(text: &str) -> impl Iterator<Item = Result<FeedEvent, Rejection>> + '_ {
    ndjson_lines(text, 1)
}

/// The non-blank lines of `text` parsed in order, numbered from `first`.
fn ndjson_lines(
    text: &str,
    first: usize,
) -> impl Iterator<Item = Result<FeedEvent, Rejection>> + '_ {
    let mut reader = FeedReader::new();
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(move |(k, l)| reader.ndjson_line(l, first + k))
}

/// Parses NDJSON text as [`parse_ndjson`] does, spread over the machine's cores (the
/// results, in file order, do not depend on how the work is split).
pub fn parse_ndjson_parallel(text: &str) -> Vec<Result<FeedEvent, Rejection>> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    // Cut at line ends, keeping each part's first line number.
    let mut parts: Vec<(usize, &str)> = Vec::new();
    let (mut rest, mut line) = (text, 1usize);
    let size = text.len().div_ceil(threads.max(1)).max(1 << 16);
    while !rest.is_empty() {
        let cut = match rest.get(size..).and_then(|t| t.find('\n')) {
            Some(k) => size + k + 1,
            None => rest.len(),
        };
        let (part, tail) = rest.split_at(cut);
        parts.push((line, part));
        line += part.bytes().filter(|&b| b == b'\n').count();
        rest = tail;
    }
    std::thread::scope(|scope| {
        let handles: Vec<_> = parts
            .into_iter()
            .map(|(first, part)| scope.spawn(move || ndjson_lines(part, first).collect::<Vec<_>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("a feed parser thread panicked"))
            .collect()
    })
}

/// Parses CSV text with a header row naming the fields (any order; `region`, `sku` or
/// `material`, and `source` optional): one result per data row, in file order.
pub fn parse_csv(text: &str) -> Vec<Result<FeedEvent, Rejection>> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(true)
        .from_reader(text.as_bytes());
    let headers = match reader.headers() {
        Ok(h) => h.clone(),
        Err(e) => {
            return vec![Err(Rejection {
                line: 1,
                reason: format!("header row: {e}"),
                raw: text.lines().next().unwrap_or("").to_string(),
            })];
        }
    };
    let lines: Vec<&str> = text.lines().collect();
    let mut events = FeedReader::new();
    reader
        .records()
        .map(|record| {
            let record = record.map_err(|e| Rejection {
                line: e.position().map_or(0, |p| p.line() as usize),
                reason: format!("{e}"),
                raw: String::new(),
            })?;
            let line = record.position().map_or(0, |p| p.line() as usize);
            let raw_line = lines
                .get(line.saturating_sub(1))
                .copied()
                .unwrap_or("")
                .to_string();
            let reject = |reason: String| Rejection {
                line,
                reason,
                raw: raw_line.clone(),
            };
            if record.len() != headers.len() {
                return Err(reject(format!(
                    "{} fields, the header has {}",
                    record.len(),
                    headers.len()
                )));
            }
            let raw: RawEvent<'_> = record
                .deserialize(Some(&headers))
                .map_err(|e| reject(format!("{e}")))?;
            events.check(&raw).map_err(reject)
        })
        .collect()
}
