//! Rebuilding the facts from an exported event log: JSON lines, one Pub/Sub
//! message each, whose `data` is the base64 event envelope — as a BigQuery
//! subscription's table exports them (`bq extract
//! --destination_format=NEWLINE_DELIMITED_JSON`), and as a push request's
//! `message` carries them (a whole push request per line is taken too).
//! Events already stored are skipped, so a log may be replayed again, or
//! overlap what the service already received.

use std::io::BufRead;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use events::Received;
use serde::Deserialize;

use super::{FactError, FactStore, Ingest, decode};

/// Events stored per transaction.
pub const BATCH: usize = 5_000;
/// The longest line read (an event envelope is far smaller).
const MAX_LINE: usize = 1 << 20;

#[derive(Deserialize)]
struct Line {
    data: Option<String>,
    message: Option<Message>,
}

#[derive(Deserialize)]
struct Message {
    data: String,
}

/// What a replay did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Replayed {
    pub lines: usize,
    /// Events stored now (not before).
    pub new: usize,
    /// Lines that were not an event, with their numbers (the first 20).
    pub skipped: usize,
    pub problems: Vec<String>,
}

fn event(line: &str) -> Result<Ingest, String> {
    let parsed: Line = serde_json::from_str(line).map_err(|e| format!("not JSON: {e}"))?;
    let data = parsed
        .data
        .or(parsed.message.map(|m| m.data))
        .ok_or("no data")?;
    let bytes = STANDARD
        .decode(data.trim())
        .map_err(|_| "data is not base64".to_owned())?;
    let received = Received::from_bytes(&bytes).map_err(|e| e.to_string())?;
    decode::ingest(&received).map_err(|e| e.to_string())
}

/// Replay every event of `log` into `facts`.
pub fn replay(log: impl BufRead, facts: &dyn FactStore) -> Result<Replayed, FactError> {
    let mut out = Replayed::default();
    let mut batch = Vec::with_capacity(BATCH);
    for (n, line) in log.lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        out.lines += 1;
        let parsed = if line.len() > MAX_LINE {
            Err("longer than an event".to_owned())
        } else {
            event(&line)
        };
        match parsed {
            Ok(e) => batch.push(e),
            Err(problem) => {
                out.skipped += 1;
                if out.problems.len() < 20 {
                    out.problems.push(format!("line {}: {problem}", n + 1));
                }
            }
        }
        if batch.len() == BATCH {
            out.new += facts.ingest(&batch)?;
            batch.clear();
        }
    }
    out.new += facts.ingest(&batch)?;
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use events::PushRequest;
    use events::v1::{EngagementRecorded, ProductCreated};

    use super::*;
    use crate::facts::{Scope, SqliteFacts, Window};

    #[test]
    fn a_log_replays_into_facts_once_and_names_its_bad_lines() {
        let created = PushRequest::for_event(
            "e1",
            "product",
            "p1",
            &ProductCreated {
                product_id: "p1".into(),
                artisan_id: "a1".into(),
                category: "pottery".into(),
                ..Default::default()
            },
        );
        let viewed = PushRequest::for_event(
            "e2",
            "product",
            "p1",
            &EngagementRecorded {
                product_id: "p1".into(),
                artisan_id: "a1".into(),
                kind: "view".into(),
                count: 7,
                ..Default::default()
            },
        );
        let log = format!(
            "{}\n{}\n\n{{\"data\": \"%%%\"}}\nnot json\n",
            serde_json::to_string(&created).unwrap(),
            serde_json::json!({"data": viewed.message.data}),
        );
        let dir = tempfile::tempdir().unwrap();
        let facts = SqliteFacts::open(&dir.path().join("f.sqlite")).unwrap();

        let first = replay(log.as_bytes(), &facts).unwrap();
        let again = replay(log.as_bytes(), &facts).unwrap();

        assert_eq!((first.lines, first.new, first.skipped), (4, 2, 2));
        assert_eq!(first.problems[0], "line 4: data is not base64");
        assert_eq!(again.new, 0);
        let all = Window {
            from: 0,
            to: i64::MAX,
        };
        assert_eq!(
            facts
                .engagement(&Scope::Artisan("a1".into()), all)
                .unwrap()
                .views,
            7
        );
    }
}
