//! Logging: readable text locally, one JSON object per line in Cloud
//! Logging's shape in production (`severity`, `message`, `httpRequest`,
//! `logging.googleapis.com/trace` as `projects/P/traces/T`, `spanId`).
//! Every line written while serving a request carries its request id and
//! trace, taken from the [`RequestContext`].
//!
//! The subscriber is built apart from being installed, so tests can use it
//! without touching the global one.

use std::fmt::{self, Write as _};

use serde_json::{Map, Value};
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, MakeWriter};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;

use crate::config::{LogFormat, SharedConfig};
use crate::context::RequestContext;

/// Build a subscriber writing to `writer`.
pub fn subscriber<W>(
    format: LogFormat,
    filter: &str,
    gcp_project: Option<String>,
    writer: W,
) -> Box<dyn Subscriber + Send + Sync>
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let filter = EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let registry = tracing_subscriber::registry().with(filter);
    match format {
        LogFormat::Text => Box::new(
            registry.with(
                tracing_subscriber::fmt::layer()
                    .with_writer(writer)
                    .event_format(TextFormat),
            ),
        ),
        LogFormat::Json => Box::new(
            registry.with(
                tracing_subscriber::fmt::layer()
                    .with_writer(writer)
                    .event_format(CloudLoggingFormat {
                        project: gcp_project,
                    }),
            ),
        ),
    }
}

/// Install the global subscriber for a process and return the guard that
/// keeps its writer: lines are written to stderr by a thread of their own
/// (a slow terminal or log pipe never stalls a request), and dropping the
/// guard flushes what is still queued. Keep it for the life of `main`.
/// `RUST_LOG` overrides the configured level. Calling it twice is harmless
/// (the first subscriber stays).
#[must_use = "dropping the guard stops the log writer"]
pub fn init(config: &SharedConfig) -> TelemetryGuard {
    let filter = std::env::var("RUST_LOG").unwrap_or_else(|_| config.log_level.clone());
    // Lossless: when the queue is full a line waits rather than vanishes.
    let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .lossy(false)
        .thread_name("log-writer")
        .finish(std::io::stderr());
    let subscriber = subscriber(
        config.log_format,
        &filter,
        config.gcp_project.clone(),
        writer,
    );
    let _ = tracing::subscriber::set_global_default(subscriber);
    TelemetryGuard { _writer: guard }
}

/// Keeps the log writer of [`init`] running; flushes it when dropped.
#[derive(Debug)]
pub struct TelemetryGuard {
    _writer: tracing_appender::non_blocking::WorkerGuard,
}

/// Readable lines: `time LEVEL target [request_id] message key=value…`.
struct TextFormat;

impl<S, N> FormatEvent<S, N> for TextFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let meta = event.metadata();
        let mut fields = FieldMap::default();
        event.record(&mut fields);
        write!(
            writer,
            "{} {:>5} {}",
            chrono::Utc::now().format("%H:%M:%S%.3f"),
            meta.level(),
            meta.target()
        )?;
        if let Some(ctx) = RequestContext::current() {
            write!(writer, " [{}]", ctx.request_id)?;
        }
        write!(writer, " {}", fields.message)?;
        for (k, v) in &fields.fields {
            match v {
                Value::String(s) => write!(writer, " {k}={s}")?,
                other => write!(writer, " {k}={other}")?,
            }
        }
        writeln!(writer)
    }
}

/// Cloud Logging's structured JSON.
struct CloudLoggingFormat {
    project: Option<String>,
}

/// Event fields that together form Cloud Logging's `httpRequest`.
const HTTP_FIELDS: &[(&str, &str)] = &[
    ("http.method", "requestMethod"),
    ("http.url", "requestUrl"),
    ("http.status", "status"),
    ("http.user_agent", "userAgent"),
    ("http.remote_ip", "remoteIp"),
    ("http.response_size", "responseSize"),
];

impl<S, N> FormatEvent<S, N> for CloudLoggingFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let line = self.to_json(event);
        writeln!(writer, "{line}")
    }
}

impl CloudLoggingFormat {
    fn to_json(&self, event: &Event<'_>) -> Value {
        let meta = event.metadata();
        let mut fields = FieldMap::default();
        event.record(&mut fields);
        let mut out = Map::new();
        out.insert("severity".into(), Value::from(severity(*meta.level())));
        out.insert("message".into(), Value::from(fields.message));
        out.insert("time".into(), Value::from(chrono::Utc::now().to_rfc3339()));
        out.insert("target".into(), Value::from(meta.target()));
        let mut http = Map::new();
        for (key, value) in fields.fields {
            if let Some((_, name)) = HTTP_FIELDS.iter().find(|(k, _)| *k == key) {
                http.insert((*name).into(), value);
            } else if key == "http.latency_ms" {
                let secs = value.as_f64().unwrap_or_default() / 1000.0;
                http.insert("latency".into(), Value::from(format!("{secs:.6}s")));
            } else {
                out.insert(key, value);
            }
        }
        if !http.is_empty() {
            out.insert("httpRequest".into(), Value::Object(http));
        }
        if let Some(ctx) = RequestContext::current() {
            out.insert("request_id".into(), Value::from(ctx.request_id.as_str()));
            let trace = ctx.trace.trace_id_hex();
            let trace = match &self.project {
                Some(p) => format!("projects/{p}/traces/{trace}"),
                None => trace,
            };
            out.insert("logging.googleapis.com/trace".into(), Value::from(trace));
            out.insert(
                "logging.googleapis.com/spanId".into(),
                Value::from(ctx.trace.span_id_hex()),
            );
            out.insert(
                "logging.googleapis.com/trace_sampled".into(),
                Value::from(ctx.trace.sampled),
            );
        }
        Value::Object(out)
    }
}

fn severity(level: Level) -> &'static str {
    match level {
        Level::ERROR => "ERROR",
        Level::WARN => "WARNING",
        Level::INFO => "INFO",
        Level::DEBUG | Level::TRACE => "DEBUG",
    }
}

/// An event's fields: the message apart, the rest as JSON values.
#[derive(Default)]
struct FieldMap {
    message: String,
    fields: Vec<(String, Value)>,
}

impl Visit for FieldMap {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        let mut s = String::new();
        let _ = write!(s, "{value:?}");
        self.put(field, Value::from(s));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, Value::from(value));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, Value::from(value));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field, Value::from(value));
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.put(field, Value::from(value));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, Value::from(value));
    }
}

impl FieldMap {
    fn put(&mut self, field: &Field, value: Value) {
        if field.name() == "message" {
            self.message = match value {
                Value::String(s) => s,
                other => other.to_string(),
            };
        } else {
            self.fields.push((field.name().to_owned(), value));
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(crate) mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    /// A log sink for tests: what the subscriber wrote, kept in memory.
    #[derive(Clone, Default)]
    pub(crate) struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl Buffer {
        /// Everything written so far.
        pub(crate) fn text(&self) -> String {
            String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
        }
    }

    impl std::io::Write for Buffer {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    impl<'a> MakeWriter<'a> for Buffer {
        type Writer = Buffer;
        fn make_writer(&'a self) -> Self::Writer {
            self.clone()
        }
    }

    #[tokio::test]
    async fn json_lines_have_cloud_logging_shape_and_request_context() {
        let buf = Buffer::default();
        let sub = subscriber(LogFormat::Json, "info", Some("proj".into()), buf.clone());
        let ctx = RequestContext::new_root();
        let expected_trace = format!("projects/proj/traces/{}", ctx.trace.trace_id_hex());
        let id = ctx.request_id.to_string();
        ctx.scope(async {
            tracing::subscriber::with_default(sub, || {
                tracing::warn!(
                    http.method = "GET",
                    http.status = 200u64,
                    http.latency_ms = 12.5,
                    user = "u1",
                    "served"
                );
            });
        })
        .await;
        let out = buf.text();
        let line: Value = serde_json::from_str(out.trim()).unwrap();
        assert_eq!(line["severity"], "WARNING");
        assert_eq!(line["message"], "served");
        assert_eq!(line["request_id"], Value::from(id));
        assert_eq!(
            line["logging.googleapis.com/trace"],
            Value::from(expected_trace)
        );
        assert_eq!(line["httpRequest"]["requestMethod"], "GET");
        assert_eq!(line["httpRequest"]["status"], 200);
        assert_eq!(line["httpRequest"]["latency"], "0.012500s");
        assert_eq!(line["user"], "u1");
    }

    #[test]
    fn text_lines_are_readable() {
        let buf = Buffer::default();
        let sub = subscriber(LogFormat::Text, "info", None, buf.clone());
        tracing::subscriber::with_default(sub, || tracing::info!(count = 3, "hello"));
        let out = buf.text();
        assert!(
            out.contains("INFO") && out.contains("hello count=3"),
            "{out}"
        );
    }
}
