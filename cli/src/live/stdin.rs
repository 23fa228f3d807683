//! NDJSON events on standard input, one per line.

use super::{Arrival, Reading};
use crossbeam_channel::Sender;
use feeds::FeedReader;
use std::io::BufRead;
use std::sync::Arc;

/// Reads standard input on a thread of its own until it ends.
pub fn spawn(tx: Sender<Arrival>) {
    std::thread::spawn(move || {
        let source: Arc<str> = Arc::from("stdin");
        let mut reader = FeedReader::new();
        let mut input = std::io::stdin().lock();
        let mut buf = Vec::new();
        let mut line = 0usize;
        loop {
            buf.clear();
            match input.read_until(b'\n', &mut buf) {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) => {
                    let _ = tx.send(Arrival::Read(Reading::Refused {
                        source: source.clone(),
                        line: Some(line + 1),
                        reason: format!("standard input failed: {e}"),
                        raw: String::new(),
                    }));
                    break;
                }
            }
            line += 1;
            let arrival = match std::str::from_utf8(&buf) {
                Ok(text) if text.trim().is_empty() => continue,
                Ok(text) => match reader.ndjson_line(text.trim_end(), line) {
                    Ok(event) => Arrival::Read(Reading::Event {
                        source: source.clone(),
                        line: Some(line),
                        event,
                    }),
                    Err(r) => Arrival::Read(Reading::Refused {
                        source: source.clone(),
                        line: Some(r.line),
                        reason: r.reason,
                        raw: r.raw,
                    }),
                },
                Err(e) => Arrival::Read(Reading::Refused {
                    source: source.clone(),
                    line: Some(line),
                    reason: format!("not UTF-8 text: {e}"),
                    raw: String::from_utf8_lossy(&buf).into_owned(),
                }),
            };
            // The engine has stopped (horizon reached): nothing more to do.
            if tx.send(arrival).is_err() {
                return;
            }
        }
        let _ = tx.send(Arrival::Ended);
    });
}
