//! Structured logs: a JSON line per event with the active trace and span ids, or
//! human-readable text (feature `logs`).
//!
//! `install()` sets a global `tracing` subscriber made of one log layer and, with the
//! `otlp` feature, the layer that exports spans when traces are exported. `LOG_LEVEL`
//! filters log lines (`info`, `warn,my_crate=debug`), `LOG_FORMAT` picks `json` or
//! `text`; the builder's `log_level` / `log_format` win over them.
//!
//! A JSON line:
//!
//! ```json
//! {"timestamp":"2026-11-23T10:00:00.123456Z","level":"INFO","target":"orders","message":"placed","fields":{"order_id":7},"span":"place","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","span_id":"00f067aa0ba902b7","correlation_id":"c-42"}
//! ```
//!
//! The subscriber is global and set once per process: when `install()` runs again after
//! its guard was dropped, the first subscriber (and its exporting layer, bound to the
//! first, stopped pipeline) stays, so spans are no longer exported.
//! `.tracing_subscriber(false)` leaves the subscriber to the application, without the
//! exporting layer. In both cases `install()` warns when OTLP trace export is
//! configured, rather than export nothing silently.
//!
//! # What a span costs
//!
//! Each layer decides per callsite whether it wants a span or an event, so `tracing`
//! caches the answer: a span that no layer wants (below `LOG_LEVEL` and, when traces are
//! exported, below `trace_level`) costs one atomic load and is never built. A span the
//! log layer wants costs the registry's bookkeeping; with the `otlp` feature and traces
//! not exported it gets trace ids only when something shows them (a JSON line inside
//! it, an exemplar, an outgoing request), and nothing OpenTelemetry is built for it.
//!
//! `span`, `trace_id` and `span_id` are those of the span the event happened in, as the
//! trace sees it, even when `LOG_LEVEL` filters that span's own level out (feature
//! `otlp` for the ids); `correlation_id` comes from the nearest span with a
//! `correlation_id` field (such spans are kept at any level), else from the
//! `correlation_id` baggage entry (which [`extract`](crate::propagation::extract) fills
//! from the `X-Correlation-ID` header).
//!
//! Spans belong to the trace according to
//! [`trace_level`](crate::ObservabilityBuilder::trace_level) (default `info`: the clients
//! and servers of other crates open `debug` and `trace` spans by the thousand); the
//! `exception` events of `#[monitor]` spans always do.

mod json;
mod stack;
mod text;
mod writer;

use std::sync::OnceLock;

use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt;

use self::json::{JsonLayer, JsonWants};
pub(crate) use self::stack::Member;
use self::stack::Stack;
#[cfg(feature = "otlp")]
pub(crate) use self::stack::Wants;
pub(crate) use self::writer::LogWriter;
use crate::error::Error;
use crate::settings::{self, EnvLookup, Policy};

/// How log lines are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum LogFormat {
    /// One JSON object per line (`LOG_FORMAT=json`): the default when standard output is
    /// not a terminal (a service, a container, a log shipper), as the FLEXT services log.
    Json,
    /// Human-readable lines (`LOG_FORMAT=text`): the default when standard output is a
    /// terminal, where a person reads it.
    Text,
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
    // JSON for machines, text for a person at a terminal; a writer given in code is
    // not a terminal.
    let default =
        if settings.writer.is_none() && std::io::IsTerminal::is_terminal(&std::io::stdout()) {
            LogFormat::Text
        } else {
            LogFormat::Json
        };
    let (format, _) = settings::pick(
        settings.format,
        "log_format",
        from_env,
        "LOG_FORMAT",
        default,
    );
    Ok(LogConfig {
        filter,
        format,
        writer: settings.writer.unwrap_or(LogWriter::Stdout),
        install: settings.install.unwrap_or(true),
    })
}

/// Names of the layers of the subscriber `install()` set, innermost first.
static INSTALLED: OnceLock<Vec<&'static str>> = OnceLock::new();

/// The members of the global subscriber that `install()` set, innermost first, by
/// name: `otlp-traces` (the exporting layer), `otlp-context` (no layer: keeps request
/// scopes, and `trace_level` spans when set, recorded when traces are not exported),
/// `log-json` or `log-text`. Empty when
/// `install()` did not set the subscriber. For tests and diagnostics; no stability
/// promise.
#[doc(hidden)]
pub fn installed_layers() -> &'static [&'static str] {
    INSTALLED.get().map_or(&[], Vec::as_slice)
}

/// Installs the global subscriber: the members integrations contributed (in the order
/// given) and one log layer. When a subscriber is already set, says so once and keeps
/// it. Returns whether the contributed members are now part of the global subscriber.
pub(crate) fn install_subscriber(config: LogConfig, contributed: Vec<Member>) -> bool {
    if !config.install {
        return false;
    }
    let log = match config.format {
        LogFormat::Json => Member {
            name: "log-json",
            layer: Some(Box::new(JsonLayer::new(config.writer))),
            wants: Box::new(JsonWants(config.filter)),
        },
        LogFormat::Text => Member {
            name: "log-text",
            layer: Some(Box::new(
                tracing_subscriber::fmt::layer()
                    .with_writer(config.writer)
                    .with_ansi(false)
                    .fmt_fields(text::TextFields),
            )),
            wants: Box::new(config.filter),
        },
    };
    let mut members = contributed;
    members.push(log);
    let names = members.iter().map(|m| m.name).collect();
    let result = tracing::subscriber::set_global_default(
        tracing_subscriber::registry().with(Stack(members)),
    );
    if result.is_err() {
        crate::diag::warn_once(
            "subscriber-taken",
            "a global `tracing` subscriber is already set: it is kept, and flext-observability's log and OpenTelemetry layers are not installed (call `.tracing_subscriber(false)` to silence this)",
        );
        return false;
    }
    let _ = INSTALLED.set(names);
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_strings_and_timestamps() {
        let mut s = String::new();
        crate::json::string(&mut s, "a\"b\\c\nd\u{1}");
        assert_eq!(s, r#""a\"b\\c\nd\u0001""#);
        let mut ts = String::new();
        crate::json::rfc3339_micros_to(&mut ts, std::time::SystemTime::now());
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
