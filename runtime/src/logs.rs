//! Structured logs: a JSON line per event with the active trace and span ids, or
//! human-readable text (feature `logs`).
//!
//! `install()` sets a global `tracing` subscriber made of the OpenTelemetry layer (with
//! the `otlp` feature) and one log layer. `LOG_LEVEL` filters log lines
//! (`info`, `warn,my_crate=debug`), `LOG_FORMAT` picks `json` or `text`; the builder's
//! `log_level` / `log_format` win over them.
//!
//! A JSON line:
//!
//! ```json
//! {"timestamp":"2026-11-23T10:00:00.123456Z","level":"INFO","target":"orders","message":"placed","fields":{"order_id":7},"span":"place","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","span_id":"00f067aa0ba902b7","correlation_id":"c-42"}
//! ```
//!
//! The subscriber is global and set once per process: when `install()` runs again after
//! its guard was dropped, the first subscriber (and its OpenTelemetry layer, bound to the
//! first, stopped pipeline) stays, so spans are no longer exported.
//! `.tracing_subscriber(false)` leaves the subscriber to the application, without the
//! OpenTelemetry layer. In both cases `install()` warns when OTLP trace export is
//! configured, rather than export nothing silently.
//!
//! With the `otlp` feature the OpenTelemetry layer is installed even when no span is
//! exported: it gives log lines their trace ids, exemplars their traces and propagation
//! its context. It takes spans from `info` up by default.
//!
//! `span`, `trace_id` and `span_id` are those of the span the event happened in, as the
//! trace sees it, even when `LOG_LEVEL` filters that span's own level out (feature
//! `otlp` for the ids); `correlation_id` comes from the nearest span with a
//! `correlation_id` field, else from the `correlation_id` baggage entry (which
//! [`extract`](crate::propagation::extract) fills from the `X-Correlation-ID` header).
//!
//! Spans reach OpenTelemetry according to [`trace_level`](crate::ObservabilityBuilder::trace_level)
//! (default `info`: the clients and servers of other crates open `debug` and `trace`
//! spans by the thousand); the `exception` events of `#[monitor]` spans always do.

use std::fmt::Write as _;
use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::subscriber::Interest;
use tracing::{Event, Metadata, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::registry::{LookupSpan, Registry};

use crate::error::Error;
use crate::settings::{self, EnvLookup, Policy};

/// How log lines are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum LogFormat {
    /// One JSON object per line (`LOG_FORMAT=json`).
    Json,
    /// Human-readable lines (`LOG_FORMAT=text`, the default).
    Text,
}

/// Where log lines go: standard output, or a writer given to the builder.
#[derive(Clone)]
pub(crate) enum LogWriter {
    Stdout,
    Shared(Arc<Mutex<Box<dyn Write + Send>>>),
}

impl std::fmt::Debug for LogWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            LogWriter::Stdout => "Stdout",
            LogWriter::Shared(_) => "Writer",
        })
    }
}

impl LogWriter {
    fn write_line(&self, line: &[u8]) {
        // Logging must never fail the program: write errors are ignored.
        match self {
            LogWriter::Stdout => {
                let _ = std::io::stdout().lock().write_all(line);
            }
            LogWriter::Shared(w) => {
                let _ = w
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .write_all(line);
            }
        }
    }
}

/// One `write` call per formatted line (the text layer formats a whole line first).
pub(crate) struct LineWriter(LogWriter);

impl Write for LineWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.write_line(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for LogWriter {
    type Writer = LineWriter;
    fn make_writer(&'a self) -> LineWriter {
        LineWriter(self.clone())
    }
}

/// Log settings given in code.
#[derive(Debug, Default)]
pub(crate) struct LogSettings {
    pub(crate) level: Option<String>,
    pub(crate) format: Option<LogFormat>,
    pub(crate) writer: Option<LogWriter>,
    pub(crate) install: Option<bool>,
}

/// Resolved log settings.
#[derive(Debug)]
pub(crate) struct LogConfig {
    pub(crate) filter: Targets,
    pub(crate) format: LogFormat,
    pub(crate) writer: LogWriter,
    pub(crate) install: bool,
}

/// A level (`info`) or a `target=level` list (`warn,orders=debug`).
pub(crate) fn parse_targets(source: &str, value: &str) -> Result<Targets, Error> {
    let parts: Vec<&str> = value
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect();
    // A bare word would silently be read as a target at `trace`: only levels may be bare.
    for part in &parts {
        if !part.contains('=')
            && !matches!(
                part.to_ascii_lowercase().as_str(),
                "trace" | "debug" | "info" | "warn" | "error" | "off"
            )
        {
            return Err(Error::config(
                source,
                format!(
                    "`{part}` is not a level: use trace, debug, info, warn, error or off, or `target=level`"
                ),
            ));
        }
    }
    // Levels are read in any case; target names keep theirs (module paths may have
    // capitals).
    parts.join(",").parse::<Targets>().map_err(|e| {
        Error::config(
            source,
            format!("`{value}` is not a level (trace, debug, info, warn, error, off) or `target=level` list: {e}"),
        )
    })
}

pub(crate) fn resolve(settings: LogSettings, env: EnvLookup<'_>) -> Result<LogConfig, Error> {
    let filter = match (&settings.level, env("LOG_LEVEL")) {
        (Some(level), _) => parse_targets("log_level", level)?,
        (None, Some(level)) => parse_targets("LOG_LEVEL", &level)?,
        (None, None) => parse_targets("LOG_LEVEL", "info")?,
    };
    let from_env = match settings.format {
        Some(_) => None,
        None => settings::read(env, "LOG_FORMAT", Policy::Strict, |v| {
            match v.to_ascii_lowercase().as_str() {
                "json" => Ok(LogFormat::Json),
                "text" => Ok(LogFormat::Text),
                _ => Err(format!("`{v}` is not `json` or `text`")),
            }
        })?,
    };
    let (format, _) = settings::pick(
        settings.format,
        "log_format",
        from_env,
        "LOG_FORMAT",
        LogFormat::Text,
    );
    Ok(LogConfig {
        filter,
        format,
        writer: settings.writer.unwrap_or(LogWriter::Stdout),
        install: settings.install.unwrap_or(true),
    })
}

/// A layer of the subscriber `install()` sets.
pub(crate) type BoxedLayer = Box<dyn Layer<Registry> + Send + Sync>;

/// The filter of the JSON layer: the log level, plus every span that declares a
/// `correlation_id` field, so its id reaches the lines of events inside it whatever the
/// span's own level.
struct JsonFilter(Targets);

impl JsonFilter {
    fn allows(&self, meta: &Metadata<'_>) -> bool {
        self.0.would_enable(meta.target(), meta.level())
            || (meta.is_span()
                && meta
                    .fields()
                    .field(crate::span_ids::CORRELATION_FIELD)
                    .is_some())
    }
}

impl<S> tracing_subscriber::layer::Filter<S> for JsonFilter {
    fn enabled(&self, meta: &Metadata<'_>, _: &Context<'_, S>) -> bool {
        self.allows(meta)
    }
    fn callsite_enabled(&self, meta: &'static Metadata<'static>) -> Interest {
        if self.allows(meta) {
            Interest::always()
        } else {
            Interest::never()
        }
    }
    fn max_level_hint(&self) -> Option<LevelFilter> {
        tracing_subscriber::layer::Filter::<S>::max_level_hint(&self.0)
    }
}

/// Installs the global subscriber: the layers integrations contributed (stacked in the
/// order given) and one log layer. When a subscriber is already set, says so once and
/// keeps it. Returns whether the contributed layers are now part of the global
/// subscriber.
pub(crate) fn install_subscriber(config: LogConfig, contributed: Vec<BoxedLayer>) -> bool {
    if !config.install {
        return false;
    }
    // Layers are stacked, not boxed in a `Vec`: a `Vec` of layers does not forward
    // `on_register_dispatch`, which the JSON layer needs to read span ids.
    let stacked = contributed
        .into_iter()
        .reduce(|below, above| Box::new(below.and_then(above)));
    let base = tracing_subscriber::registry().with(stacked);
    let result = match config.format {
        LogFormat::Json => tracing::subscriber::set_global_default(
            base.with(JsonLayer::new(config.writer).with_filter(JsonFilter(config.filter))),
        ),
        LogFormat::Text => tracing::subscriber::set_global_default(
            base.with(
                tracing_subscriber::fmt::layer()
                    .with_writer(config.writer)
                    .with_ansi(false)
                    .with_filter(config.filter),
            ),
        ),
    };
    if result.is_err() {
        crate::diag::warn_once(
            "subscriber-taken",
            "a global `tracing` subscriber is already set: it is kept, and flext-observability's log and OpenTelemetry layers are not installed (call `.tracing_subscriber(false)` to silence this)",
        );
        return false;
    }
    true
}

/// The `correlation_id` field of a span, kept in its extensions.
struct CorrelationId(String);

/// Writes one JSON object per event.
pub(crate) struct JsonLayer {
    writer: LogWriter,
    dispatch: OnceLock<tracing::dispatcher::WeakDispatch>,
}

impl JsonLayer {
    pub(crate) fn new(writer: LogWriter) -> Self {
        JsonLayer {
            writer,
            dispatch: OnceLock::new(),
        }
    }
}

struct CorrelationVisitor(Option<String>);

impl Visit for CorrelationVisitor {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == crate::span_ids::CORRELATION_FIELD {
            self.0 = Some(value.to_owned());
        }
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == crate::span_ids::CORRELATION_FIELD {
            self.0 = Some(format!("{value:?}"));
        }
    }
}

/// Event fields as JSON members.
struct JsonFields {
    message: String,
    fields: String,
}

impl JsonFields {
    fn key(&mut self, field: &Field) -> bool {
        if field.name() == "message" {
            return false;
        }
        if !self.fields.is_empty() {
            self.fields.push(',');
        }
        crate::json::string(&mut self.fields, field.name());
        self.fields.push(':');
        true
    }
}

impl Visit for JsonFields {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message.push_str(value);
        } else if self.key(field) {
            crate::json::string(&mut self.fields, value);
        }
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.message, "{value:?}");
        } else if self.key(field) {
            crate::json::string(&mut self.fields, &format!("{value:?}"));
        }
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        if self.key(field) {
            let _ = write!(self.fields, "{value}");
        }
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        if self.key(field) {
            let _ = write!(self.fields, "{value}");
        }
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        if self.key(field) {
            let _ = write!(self.fields, "{value}");
        }
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        if self.key(field) {
            if value.is_finite() {
                let _ = write!(self.fields, "{value}");
            } else {
                crate::json::string(&mut self.fields, &value.to_string());
            }
        }
    }
}

impl<S> Layer<S> for JsonLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_register_dispatch(&self, subscriber: &tracing::Dispatch) {
        let _ = self.dispatch.set(subscriber.downgrade());
    }

    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        if attrs
            .fields()
            .field(crate::span_ids::CORRELATION_FIELD)
            .is_none()
        {
            return;
        }
        let mut visitor = CorrelationVisitor(None);
        attrs.record(&mut visitor);
        if let (Some(value), Some(span)) = (visitor.0, ctx.span(id)) {
            span.extensions_mut().insert(CorrelationId(value));
        }
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let mut visitor = CorrelationVisitor(None);
        values.record(&mut visitor);
        if let (Some(value), Some(span)) = (visitor.0, ctx.span(id)) {
            let mut ext = span.extensions_mut();
            ext.remove::<CorrelationId>();
            ext.insert(CorrelationId(value));
        }
    }

    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let meta = event.metadata();
        let mut fields = JsonFields {
            message: String::new(),
            fields: String::new(),
        };
        event.record(&mut fields);
        let mut line = String::with_capacity(256);
        line.push_str("{\"timestamp\":\"");
        line.push_str(&crate::json::rfc3339_micros(std::time::SystemTime::now()));
        line.push_str("\",\"level\":\"");
        line.push_str(meta.level().as_str());
        line.push_str("\",\"target\":");
        crate::json::string(&mut line, meta.target());
        line.push_str(",\"message\":");
        crate::json::string(&mut line, &fields.message);
        if !fields.fields.is_empty() {
            line.push_str(",\"fields\":{");
            line.push_str(&fields.fields);
            line.push('}');
        }
        // The event's span as the subscriber sees it, through the registry: `ctx` would
        // skip the spans this layer's filter left out (a `debug` span under
        // `LOG_LEVEL=info`) and report their parent's name and ids instead of the ones the
        // trace shows.
        let dispatch = self
            .dispatch
            .get()
            .and_then(tracing::dispatcher::WeakDispatch::upgrade);
        let current = dispatch
            .as_ref()
            .and_then(|d| d.downcast_ref::<Registry>())
            .and_then(|registry| {
                let id = match event.parent() {
                    Some(parent) => parent.clone(),
                    None if event.is_contextual() => registry.current_span().id()?.clone(),
                    None => return None,
                };
                registry.span(&id)
            });
        let mut correlation = None;
        if let Some(span) = &current {
            line.push_str(",\"span\":");
            crate::json::string(&mut line, span.name());
            for s in span.scope() {
                if let Some(c) = s.extensions().get::<CorrelationId>() {
                    correlation = Some(c.0.clone());
                    break;
                }
            }
            if let Some(dispatch) = &dispatch {
                let (ids, baggage) = crate::span_ids::log_context_of(&span.id(), dispatch);
                if let Some((trace_id, span_id)) = ids {
                    line.push_str(",\"trace_id\":\"");
                    line.push_str(&crate::span_ids::hex(&trace_id));
                    line.push_str("\",\"span_id\":\"");
                    line.push_str(&crate::span_ids::hex(&span_id));
                    line.push('"');
                }
                if correlation.is_none() {
                    correlation = baggage;
                }
            }
        }
        if let Some(c) = correlation {
            line.push_str(",\"correlation_id\":");
            crate::json::string(&mut line, &c);
        }
        line.push_str("}\n");
        self.writer.write_line(line.as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_strings_and_timestamps() {
        let mut s = String::new();
        crate::json::string(&mut s, "a\"b\\c\nd\u{1}");
        assert_eq!(s, r#""a\"b\\c\nd\u0001""#);
        let ts = crate::json::rfc3339_micros(std::time::SystemTime::now());
        assert_eq!(ts.len(), "2026-11-23T10:00:00.123456Z".len(), "{ts}");
        assert!(ts.starts_with("20") && ts.ends_with('Z'));
    }

    #[test]
    fn levels_and_formats() {
        let env = |k: &str| match k {
            "LOG_LEVEL" => Some("WARN,orders=debug".to_owned()),
            "LOG_FORMAT" => Some("JSON".to_owned()),
            _ => None,
        };
        let c = resolve(LogSettings::default(), &env).unwrap();
        assert_eq!(c.format, LogFormat::Json);
        let bad = |k: &str| (k == "LOG_FORMAT").then(|| "xml".to_owned());
        match resolve(LogSettings::default(), &bad) {
            Err(Error::Config { source, .. }) => assert_eq!(source, "LOG_FORMAT"),
            other => panic!("{other:?}"),
        }
        // Levels in any case; target names keep their case.
        assert!(c.filter.would_enable("Orders", &tracing::Level::WARN));
        assert!(!c.filter.would_enable("Orders", &tracing::Level::INFO));
        let env = |k: &str| (k == "LOG_LEVEL").then(|| "warn, Orders=DEBUG".to_owned());
        let c = resolve(LogSettings::default(), &env).unwrap();
        assert!(c.filter.would_enable("Orders", &tracing::Level::DEBUG));
        assert!(!c.filter.would_enable("orders", &tracing::Level::DEBUG));
        let bad = |k: &str| (k == "LOG_LEVEL").then(|| "loud".to_owned());
        match resolve(LogSettings::default(), &bad) {
            Err(Error::Config { source, .. }) => assert_eq!(source, "LOG_LEVEL"),
            other => panic!("{other:?}"),
        }
    }
}
