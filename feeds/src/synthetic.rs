//! Feeds made up for load tests and benchmarks (the same text on every call), and the
//! whole path from such a text to stock positions, as a replay takes it.

use super::{Ingestion, StockLedger, estimate_lines, parse_ndjson_parallel};

/// A synthetic NDJSON feed of `n` lines for load tests: receipts, consumption and cycle
/// counts of five packaging materials at one line side of `plant-1`, one second apart,
/// with every 50th line repeated (duplicates are part of real feeds).
pub fn synthetic_ndjson(n: usize) -> String {
    let kinds = [
        "receipt",
        "consumption",
        "consumption",
        "consumption",
        "cycle_count",
    ];
    let materials = ["preforms", "caps", "labels", "film", "pallets"];
    let mut out = String::with_capacity(n * 200);
    let mut k = 0usize;
    while k < n {
        let s = k as u64;
        let line = format!(
            "{{\"event_id\":\"ev-{s:08}\",\"ts\":\"2026-11-{:02}T{:02}:{:02}:{:02}Z\",\"site\":\"plant-1\",\"region\":\"eu\",\"material\":\"{}\",\"location\":\"L1.line-side\",\"kind\":\"{}\",\"qty\":{},\"unit\":\"pcs\",\"source\":\"wms\"}}\n",
            1 + (s / 86_400) % 28,
            (s / 3600) % 24,
            (s / 60) % 60,
            s % 60,
            materials[k % materials.len()],
            kinds[(k / 5) % kinds.len()],
            100 + (s * 37) % 900,
        );
        out.push_str(&line);
        k += 1;
        if k.is_multiple_of(50) && k < n {
            out.push_str(&line);
            k += 1;
        }
    }
    out
}

/// Parses, dedupes, orders and applies NDJSON `text` as a file replay does (no lateness
/// window, since a file is read whole): the events applied, the final stock positions and
/// the ingestion with its counters. Lines that are no valid event, and events in another
/// unit than their position's, are counted as quarantined.
pub fn ingest_ndjson(text: &str) -> (u64, StockLedger, Ingestion) {
    let mut ingestion = Ingestion::new(0.0);
    let mut ledger = StockLedger::new();
    ingestion.reserve(estimate_lines(text));
    parse_ndjson_parallel(text, |parsed| {
        // A refused line is counted; nothing more is kept of it here.
        let _ = ingestion.offer_line(parsed, 0);
    });
    let mut applied = 0;
    for e in ingestion.flush() {
        match ledger.apply(&e) {
            Ok(_) => applied += 1,
            Err(_) => ingestion.quarantine(),
        }
    }
    (applied, ledger, ingestion)
}
