//! Reading feed events from text: NDJSON (one JSON object per line) or CSV with a header
//! row. Every line gives an event or a [`Rejection`] saying why not; nothing is dropped.

use super::event::{EventKind, FeedEvent, Timestamp};
use serde::Deserialize;

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

/// The fields of an event as written (NDJSON and CSV alike).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEvent {
    event_id: Option<String>,
    ts: Option<String>,
    site: Option<String>,
    #[serde(default)]
    region: Option<String>,
    #[serde(default)]
    material: Option<String>,
    #[serde(default)]
    sku: Option<String>,
    location: Option<String>,
    kind: Option<String>,
    qty: Option<f64>,
    unit: Option<String>,
    #[serde(default)]
    source: Option<String>,
}

/// Text fields: absent and blank are the same (CSV has no null).
fn text(v: Option<String>) -> Option<String> {
    v.map(|s| {
        if s.trim().len() == s.len() {
            s
        } else {
            s.trim().to_string()
        }
    })
    .filter(|s| !s.is_empty())
}

impl RawEvent {
    fn check(self) -> Result<FeedEvent, String> {
        let need =
            |v: Option<String>, name: &str| text(v).ok_or_else(|| format!("`{name}` is missing"));
        let event_id = need(self.event_id, "event_id")?;
        let ts = Timestamp::parse(&need(self.ts, "ts")?).map_err(|e| format!("`ts`: {e}"))?;
        let site = need(self.site, "site")?;
        let location = need(self.location, "location")?;
        let material = match (text(self.material), text(self.sku)) {
            (Some(m), Some(s)) if m != s => {
                return Err(format!("`material` ({m}) and `sku` ({s}) disagree"));
            }
            (Some(m), _) | (None, Some(m)) => m,
            (None, None) => return Err("`material` (or `sku`) is missing".into()),
        };
        let kind_name = need(self.kind, "kind")?;
        let kind = EventKind::from_name(&kind_name).ok_or_else(|| {
            let names: Vec<&str> = EventKind::NAMES.iter().map(|(n, _)| *n).collect();
            format!("`kind`: `{kind_name}` is not one of {}", names.join(", "))
        })?;
        let qty = self.qty.ok_or_else(|| "`qty` is missing".to_string())?;
        if !qty.is_finite() {
            return Err(format!("`qty`: {qty} is not a number"));
        }
        if qty < 0.0 && kind != EventKind::Adjustment {
            return Err(format!(
                "`qty`: {qty} is negative; only adjustments may be (a {} counts up from 0)",
                kind.name()
            ));
        }
        let unit = need(self.unit, "unit")?;
        Ok(FeedEvent {
            event_id,
            ts,
            site,
            region: text(self.region),
            material,
            location,
            kind,
            qty,
            unit,
            source: text(self.source),
        })
    }
}

/// Parses one NDJSON line (line number `line`, from 1).
pub fn parse_ndjson_line(text: &str, line: usize) -> Result<FeedEvent, Rejection> {
    let reject = |reason: String| Rejection {
        line,
        reason,
        raw: text.to_string(),
    };
    let raw: RawEvent = serde_json::from_str(text).map_err(|e| reject(format!("{e}")))?;
    raw.check().map_err(reject)
}

/// Parses NDJSON text: one result per non-blank line, in file order (lazily, so a large
/// file streams through).
pub fn parse_ndjson(text: &str) -> impl Iterator<Item = Result<FeedEvent, Rejection>> + '_ {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(k, l)| parse_ndjson_line(l, k + 1))
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
            let raw: RawEvent = record
                .deserialize(Some(&headers))
                .map_err(|e| reject(format!("{e}")))?;
            raw.check().map_err(reject)
        })
        .collect()
}
