//! Reading feed events from text: NDJSON (one JSON object per line) or CSV with a header
//! row. Every line gives an event or a [`Rejection`] saying why not; nothing is dropped.

use super::event::{EventKind, FeedEvent, Timestamp};
use super::flat::{Field, FlatFields};
use foldhash::fast::FixedState;
use serde::Deserialize;
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering as AtomicOrdering};

/// The UTF-8 byte-order mark.
const BOM: char = '\u{feff}';

/// A feed file's bytes as text: each line that is not valid UTF-8 becomes a blank line of
/// the text (so every other line keeps its number) and a [`Rejection`] of its own; a
/// byte-order mark at the start is dropped.
pub fn decode(bytes: &[u8]) -> (Cow<'_, str>, Vec<Rejection>) {
    let bytes = bytes.strip_prefix("\u{feff}".as_bytes()).unwrap_or(bytes);
    if let Ok(text) = std::str::from_utf8(bytes) {
        return (Cow::Borrowed(text), Vec::new());
    }
    let mut text = String::with_capacity(bytes.len());
    let mut rejected = Vec::new();
    for (k, line) in bytes.split(|&b| b == b'\n').enumerate() {
        if k > 0 {
            text.push('\n');
        }
        match std::str::from_utf8(line) {
            Ok(l) => text.push_str(l),
            Err(e) => rejected.push(Rejection {
                line: k + 1,
                reason: format!(
                    "not valid UTF-8 (at byte {} of the line)",
                    e.valid_up_to() + 1
                ),
                raw: String::from_utf8_lossy(line).into_owned(),
            }),
        }
    }
    (Cow::Owned(text), rejected)
}

/// A line that is a valid event, with its number (from 1).
#[derive(Clone, Debug, PartialEq)]
pub struct Parsed {
    pub line: usize,
    pub event: FeedEvent,
}

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
    // Machine states (`kind = "machine_state"`).
    #[serde(borrow, default)]
    pub(super) line: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub(super) station: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub(super) state: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub(super) sub_state: Option<Cow<'a, str>>,
    #[serde(default)]
    pub(super) repair_s: Option<f64>,
    #[serde(default)]
    pub(super) produced: Option<f64>,
    #[serde(default)]
    pub(super) rejected: Option<f64>,
}

impl RawEvent<'_> {
    /// The first field given that only a machine state has.
    fn machine_field(&self) -> Option<&'static str> {
        [
            ("line", self.line.is_some()),
            ("station", self.station.is_some()),
            ("state", self.state.is_some()),
            ("sub_state", self.sub_state.is_some()),
            ("repair_s", self.repair_s.is_some()),
            ("produced", self.produced.is_some()),
            ("rejected", self.rejected.is_some()),
        ]
        .into_iter()
        .find(|(_, given)| *given)
        .map(|(name, _)| name)
    }

    /// Its fields as the fast NDJSON reading gives them.
    fn fields(&self) -> FlatFields<'_> {
        FlatFields {
            text: [
                self.event_id.as_deref(),
                self.ts.as_deref(),
                self.site.as_deref(),
                self.region.as_deref(),
                self.material.as_deref(),
                self.sku.as_deref(),
                self.location.as_deref(),
                self.kind.as_deref(),
                self.unit.as_deref(),
                self.source.as_deref(),
                self.order.as_deref(),
                self.due.as_deref(),
            ],
            qty: self.qty,
        }
    }
}

/// A text field: absent and blank are the same (CSV has no null).
fn text<'b>(fields: &FlatFields<'b>, field: Field) -> Option<&'b str> {
    let v = fields.get(field)?;
    // Most values have nothing to trim: look at their ends before trimming.
    let plain = |c: Option<&u8>| c.is_some_and(|c| c.is_ascii_graphic());
    if plain(v.as_bytes().first()) && plain(v.as_bytes().last()) {
        return Some(v);
    }
    Some(v.trim()).filter(|s| !s.is_empty())
}

/// Reads feed lines into events, sharing the text that repeats (sites, materials, units)
/// between them.
#[derive(Debug, Default)]
pub struct FeedReader {
    #[allow(
        clippy::disallowed_types,
        reason = "looked up only, never iterated: order cannot leak"
    )]
    known: std::collections::HashSet<Arc<str>, FixedState>,
    /// The value each field had on the line before.
    last: [Option<Arc<str>>; 12],
}

impl FeedReader {
    /// A reader with nothing seen yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// The shared copy of `s`, the text of `field`.
    fn share(&mut self, field: Field, s: &str) -> Arc<str> {
        // A feed mostly repeats a field's value from the line before: compare with that
        // before hashing.
        let last = &mut self.last[field as usize];
        if let Some(a) = last.as_ref().filter(|a| ***a == *s) {
            return a.clone();
        }
        let a = match self.known.get(s) {
            Some(a) => a.clone(),
            None => {
                let a: Arc<str> = Arc::from(s);
                self.known.insert(a.clone());
                a
            }
        };
        *last = Some(a.clone());
        a
    }

    fn check(&mut self, raw: &FlatFields<'_>) -> Result<FeedEvent, String> {
        let need = |field: Field, name: &str| {
            text(raw, field).ok_or_else(|| format!("`{name}` is missing"))
        };
        let event_id: Arc<str> = Arc::from(need(Field::EventId, "event_id")?);
        let ts = Timestamp::parse(need(Field::Ts, "ts")?).map_err(|e| format!("`ts`: {e}"))?;
        let site = need(Field::Site, "site")?;
        let location = need(Field::Location, "location")?;
        let material = match (text(raw, Field::Material), text(raw, Field::Sku)) {
            (Some(m), Some(s)) if m != s => {
                return Err(format!("`material` ({m}) and `sku` ({s}) disagree"));
            }
            (Some(m), _) | (None, Some(m)) => m,
            (None, None) => return Err("`material` (or `sku`) is missing".into()),
        };
        let kind_name = need(Field::Kind, "kind")?;
        let kind = EventKind::from_name(kind_name).ok_or_else(|| {
            let names: Vec<&str> = EventKind::NAMES.iter().map(|(n, _)| *n).collect();
            format!("`kind`: `{kind_name}` is not one of {}", names.join(", "))
        })?;
        if kind == EventKind::MachineState {
            return Err(
                "a machine_state needs `line`, `station` and `state` (and no `material`, `location`, `qty` or `unit`)"
                    .into(),
            );
        }
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
        let unit = need(Field::Unit, "unit")?;
        let order = text(raw, Field::Order);
        if order.is_some() && !matches!(kind, EventKind::Demand | EventKind::Shipment) {
            return Err(format!(
                "`order`: a {} refers to no order; only demands and shipments do",
                kind.name()
            ));
        }
        let due = match text(raw, Field::Due) {
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
            site: self.share(Field::Site, site),
            region: text(raw, Field::Region).map(|r| self.share(Field::Region, r)),
            material: self.share(Field::Material, material),
            location: self.share(Field::Location, location),
            kind,
            qty,
            unit: self.share(Field::Unit, unit),
            source: text(raw, Field::Source).map(|r| self.share(Field::Source, r)),
            detail: (order.is_some() || due.is_some()).then(|| {
                Box::new(crate::Detail {
                    order: order.map(Arc::from),
                    due,
                    machine: None,
                })
            }),
        })
    }

    /// Parses one NDJSON line (line number `line`, from 1).
    pub fn ndjson_line(&mut self, text: &str, line: usize) -> Result<FeedEvent, Rejection> {
        // A byte-order mark starts a file (or a stream) written by some editors and tools.
        let text = text.strip_prefix(BOM).unwrap_or(text);
        let reject = |reason: String| Rejection {
            line,
            reason,
            raw: text.to_string(),
        };
        if let Some(fields) = super::flat::read(text) {
            return self.check(&fields).map_err(reject);
        }
        let raw: RawEvent<'_> = serde_json::from_str(text).map_err(|e| reject(format!("{e}")))?;
        if raw.kind.as_deref() == Some(EventKind::MachineState.name()) {
            return self.check_machine(&raw).map_err(reject);
        }
        if let Some(name) = raw.machine_field() {
            return Err(reject(format!(
                "`{name}` belongs to a machine_state; a {} has none",
                raw.kind.as_deref().unwrap_or("feed event")
            )));
        }
        self.check(&raw.fields()).map_err(reject)
    }

    /// A `machine_state` event: a machine's PackML state and counters.
    fn check_machine(&mut self, raw: &RawEvent<'_>) -> Result<FeedEvent, String> {
        let fields = raw.fields();
        let need = |v: &Option<Cow<'_, str>>, name: &str| -> Result<String, String> {
            v.as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .ok_or_else(|| format!("`{name}` is missing"))
        };
        let event_id: Arc<str> = Arc::from(
            text(&fields, Field::EventId).ok_or_else(|| "`event_id` is missing".to_string())?,
        );
        let ts = Timestamp::parse(text(&fields, Field::Ts).ok_or("`ts` is missing")?)
            .map_err(|e| format!("`ts`: {e}"))?;
        let site = text(&fields, Field::Site).ok_or("`site` is missing")?;
        for (name, given) in [
            ("material", raw.material.is_some() || raw.sku.is_some()),
            ("location", raw.location.is_some()),
            ("qty", raw.qty.is_some()),
            ("unit", raw.unit.is_some()),
            ("order", raw.order.is_some()),
            ("due", raw.due.is_some()),
        ] {
            if given {
                return Err(format!(
                    "`{name}` is not a field of a machine_state (it has `line`, `station` and `state`)"
                ));
            }
        }
        let state_name = need(&raw.state, "state")?;
        let state = crate::PackmlState::from_name(&state_name).ok_or_else(|| {
            let names: Vec<&str> = crate::PackmlState::NAMES.iter().map(|(n, _)| *n).collect();
            format!(
                "`state`: `{state_name}` is not a PackML state ({})",
                names.join(", ")
            )
        })?;
        let sub_state = match raw.sub_state.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(s @ ("lack" | "tailback")) if state == crate::PackmlState::Suspended => {
                Some(Arc::from(s))
            }
            Some(s @ ("lack" | "tailback")) => {
                return Err(format!(
                    "`sub_state`: `{s}` qualifies a suspended machine, not a {} one",
                    state.name()
                ));
            }
            Some(s) => {
                return Err(format!(
                    "`sub_state`: `{s}` is not `lack` (starved) or `tailback` (blocked)"
                ));
            }
        };
        let number = |v: Option<f64>, name: &str| match v {
            Some(x) if !x.is_finite() || x < 0.0 => {
                Err(format!("`{name}`: {x} is not a number of 0 or more"))
            }
            other => Ok(other),
        };
        let repair_s = number(raw.repair_s, "repair_s")?;
        if repair_s.is_some() && state.producing() {
            return Err(format!(
                "`repair_s`: a {} machine is not stopped; only a stop has a repair time",
                state.name()
            ));
        }
        let empty = self.share(Field::Unit, "");
        Ok(FeedEvent {
            event_id,
            ts,
            site: self.share(Field::Site, site),
            region: text(&fields, Field::Region).map(|r| self.share(Field::Region, r)),
            material: empty.clone(),
            location: empty.clone(),
            kind: EventKind::MachineState,
            qty: 0.0,
            unit: empty,
            source: text(&fields, Field::Source).map(|r| self.share(Field::Source, r)),
            detail: Some(Box::new(crate::Detail {
                machine: Some(crate::MachineReport {
                    line: Arc::from(need(&raw.line, "line")?),
                    station: Arc::from(need(&raw.station, "station")?),
                    state,
                    sub_state,
                    repair_s,
                    produced: number(raw.produced, "produced")?,
                    rejected: number(raw.rejected, "rejected")?,
                }),
                ..crate::Detail::default()
            })),
        })
    }
}

/// Parses one NDJSON line (line number `line`, from 1).
pub fn parse_ndjson_line(text: &str, line: usize) -> Result<FeedEvent, Rejection> {
    FeedReader::new().ndjson_line(text, line)
}

/// Parses NDJSON text: one result per non-blank line, in file order (lazily, so a large
/// file streams through).
pub fn parse_ndjson(text: &str) -> impl Iterator<Item = Result<Parsed, Rejection>> + '_ {
    ndjson_lines(text, 1)
}

/// The non-blank lines of `text` parsed in order, numbered from `first`.
fn ndjson_lines(text: &str, first: usize) -> impl Iterator<Item = Result<Parsed, Rejection>> + '_ {
    let mut reader = FeedReader::new();
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(move |(k, l)| {
            let line = first + k;
            reader
                .ndjson_line(l, line)
                .map(|event| Parsed { line, event })
        })
}

/// About how many lines `text` has, from the first 64 KiB of it: enough to make room for
/// a file's events before they come.
pub fn estimate_lines(text: &str) -> usize {
    let sample = &text.as_bytes()[..text.len().min(1 << 16)];
    let lines = sample.iter().filter(|&&b| b == b'\n').count().max(1);
    (text.len() as f64 / sample.len().max(1) as f64 * lines as f64) as usize
}

/// Parses NDJSON text as [`parse_ndjson`] does, on all the machine's cores, and hands each
/// non-blank line's result to `each` in file order while later parts are still being read
/// (so applying events overlaps with parsing them). The calling thread parses too whenever
/// the next part in order is not ready; the results do not depend on how the work is split.
/// Parts parsed ahead wait in memory for their turn: at most a file's worth, which is in
/// memory already.
pub fn parse_ndjson_parallel(text: &str, mut each: impl FnMut(Result<Parsed, Rejection>)) {
    // Parts of about 64 KiB (a few hundred lines): small enough to keep both cores busy to
    // the end, large enough that handing them over costs nothing.
    let parts = cut_at_line_ends(text, 1 << 16);
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(parts.len());
    let claimed = AtomicUsize::new(0);
    // A part's results, numbered from line 0 of the part, and its count of line ends.
    let parse = |k: usize| {
        let part = parts[k];
        let mut results = Vec::with_capacity(part.len() / 128 + 1);
        results.extend(ndjson_lines(part, 0));
        let lines = part.bytes().filter(|&b| b == b'\n').count();
        (results, lines)
    };
    let claim = || Some(claimed.fetch_add(1, AtomicOrdering::Relaxed)).filter(|&k| k < parts.len());
    std::thread::scope(|scope| {
        let (done, ready) = std::sync::mpsc::channel();
        for _ in 1..threads {
            let done = done.clone();
            let (parse, claim) = (&parse, &claim);
            scope.spawn(move || {
                while let Some(k) = claim() {
                    if done.send((k, parse(k))).is_err() {
                        break;
                    }
                }
            });
        }
        drop(done);
        let mut waiting: BTreeMap<usize, (Vec<Result<Parsed, Rejection>>, usize)> = BTreeMap::new();
        let mut line = 1;
        for next in 0..parts.len() {
            let (results, lines) = loop {
                if let Some(part) = waiting.remove(&next) {
                    break part;
                }
                match claim() {
                    Some(k) => {
                        waiting.insert(k, parse(k));
                    }
                    None => {
                        let (k, part) = ready.recv().expect("a feed parser thread panicked");
                        waiting.insert(k, part);
                    }
                }
            };
            for mut result in results {
                match &mut result {
                    Ok(p) => p.line += line,
                    Err(r) => r.line += line,
                }
                each(result);
            }
            line += lines;
        }
    })
}

/// `text` cut into parts of about `size` bytes, each ending at a line end (but the last).
fn cut_at_line_ends(text: &str, size: usize) -> Vec<&str> {
    let mut parts = Vec::with_capacity(text.len() / size + 1);
    let mut rest = text;
    while !rest.is_empty() {
        let cut = match rest.get(size..).and_then(|t| t.find('\n')) {
            Some(k) => size + k + 1,
            None => rest.len(),
        };
        let (part, tail) = rest.split_at(cut);
        parts.push(part);
        rest = tail;
    }
    parts
}

/// Parses CSV text with a header row naming the fields (any order; `region`, `sku` or
/// `material`, and `source` optional): one result per data row, in file order. A record is
/// one line (events never hold a line break), so a malformed one (a stray quote, a field
/// too many) is refused alone and the next line is read afresh.
pub fn parse_csv(text: &str) -> Vec<Result<Parsed, Rejection>> {
    let text = text.strip_prefix(BOM).unwrap_or(text);
    let mut builder = csv::ReaderBuilder::new();
    builder
        .has_headers(false)
        .trim(csv::Trim::All)
        .flexible(true)
        // A line is all a reader sees: no need for the default 8 KiB buffer each time.
        .buffer_capacity(1024);
    let record_of = |line: &str| -> Result<csv::StringRecord, String> {
        let mut reader = builder.from_reader(line.as_bytes());
        match reader.records().next() {
            Some(Ok(r)) => Ok(r),
            Some(Err(e)) => Err(format!("{e}")),
            None => Err("no fields".to_string()),
        }
    };
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty());
    let Some((h, header_line)) = lines.next() else {
        return Vec::new();
    };
    let headers = match record_of(header_line) {
        Ok(h) => h,
        Err(e) => {
            return vec![Err(Rejection {
                line: h + 1,
                reason: format!("header row: {e}"),
                raw: header_line.to_string(),
            })];
        }
    };
    let mut events = FeedReader::new();
    lines
        .map(|(k, raw_line)| {
            let reject = |reason: String| Rejection {
                line: k + 1,
                reason,
                raw: raw_line.to_string(),
            };
            let record = record_of(raw_line).map_err(reject)?;
            if record.len() != headers.len() {
                return Err(reject(format!(
                    "{} fields, the header has {}{}",
                    record.len(),
                    headers.len(),
                    if raw_line.matches('"').count() % 2 == 1 {
                        " (a quote is not closed)"
                    } else {
                        ""
                    }
                )));
            }
            let raw: RawEvent<'_> = record
                .deserialize(Some(&headers))
                .map_err(|e| reject(format!("{e}")))?;
            let event = events.check(&raw.fields()).map_err(reject)?;
            Ok(Parsed { line: k + 1, event })
        })
        .collect()
}
