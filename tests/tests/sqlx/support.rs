//! What the database tests share: the one `install()`, a runtime, the exposition parsed
//! into samples, the label sets of one database, and a subscriber that records spans.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use flext_observability::{Observability, ObservabilityGuard};
use tracing::span::{Attributes, Id, Record};
use tracing::{Subscriber, field};
use tracing_subscriber::layer::{Context, SubscriberExt as _};
use tracing_subscriber::registry::LookupSpan;

/// Installs once for the binary: slow queries from 80 ms, query text on, no global
/// subscriber (the span test sets its own), the Tokio metrics of [`shared_runtime`].
pub(crate) fn setup() {
    static GUARD: OnceLock<ObservabilityGuard> = OnceLock::new();
    GUARD.get_or_init(|| {
        Observability::builder()
            .service_name("sqlx-tests")
            .without_server()
            .tracing_subscriber(false)
            .db_slow_query_threshold(Duration::from_millis(80))
            .db_query_text(true)
            .tokio_runtime(shared_runtime().handle().clone())
            .install()
            .expect("install")
    });
}

/// A runtime of two workers whose metrics `setup` exports; only the Tokio test uses it.
pub(crate) fn shared_runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a runtime")
    })
}

pub(crate) fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime")
}

/// Polls `done` until it holds, yielding to the runtime in between (for what sqlx does
/// on tasks of its own); fails after 10 s naming `what`.
pub(crate) async fn until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(Instant::now() < deadline, "never happened: {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// One sample of the Prometheus text.
#[derive(Debug)]
pub(crate) struct Sample {
    pub(crate) name: String,
    pub(crate) labels: BTreeMap<String, String>,
    pub(crate) value: f64,
}

/// The samples of one render.
pub(crate) struct Samples(Vec<Sample>);

impl Samples {
    pub(crate) fn now() -> Samples {
        let text = flext_observability::prometheus::render();
        Samples(text.lines().filter_map(parse).collect())
    }

    /// The sample `name` whose labels are exactly `labels`.
    pub(crate) fn get(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let want: BTreeMap<String, String> = labels
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let found: Vec<f64> = self
            .0
            .iter()
            .filter(|s| s.name == name && s.labels == want)
            .map(|s| s.value)
            .collect();
        assert!(found.len() <= 1, "{name} {labels:?} appears twice");
        found.first().copied()
    }

    /// The samples `name` whose labels include `labels`.
    pub(crate) fn matching(&self, name: &str, labels: &[(&str, &str)]) -> Vec<&Sample> {
        self.0
            .iter()
            .filter(|s| {
                s.name == name
                    && labels
                        .iter()
                        .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
            })
            .collect()
    }
}

/// `name{k="v",…} value`; label values here hold no quote or escape.
fn parse(line: &str) -> Option<Sample> {
    if line.starts_with('#') || line.is_empty() {
        return None;
    }
    let (series, value) = line.rsplit_once(' ')?;
    let (name, labels) = match series.split_once('{') {
        Some((name, rest)) => (name, rest.strip_suffix('}')?),
        None => (series, ""),
    };
    let labels = labels
        .split("\",")
        .filter(|p| !p.is_empty())
        .filter_map(|pair| {
            let (k, v) = pair.split_once("=\"")?;
            Some((k.to_owned(), v.trim_end_matches('"').to_owned()))
        })
        .collect();
    Some(Sample {
        name: name.to_owned(),
        labels,
        value: value.parse().ok()?,
    })
}

/// The labels of one database's query series.
pub(crate) struct Db {
    system: &'static str,
    namespace: &'static str,
    server: Option<(String, String)>,
}

impl Db {
    pub(crate) fn postgres(namespace: &'static str, port: u16) -> Db {
        Db {
            system: "postgresql",
            namespace,
            server: Some(("127.0.0.1".to_owned(), port.to_string())),
        }
    }

    pub(crate) fn sqlite(namespace: &'static str) -> Db {
        Db {
            system: "sqlite",
            namespace,
            server: None,
        }
    }

    fn labels<'a>(
        &'a self,
        op: &'a str,
        collection: Option<&'a str>,
        summary: &'a str,
        error: Option<(&'a str, Option<&'a str>)>,
    ) -> Vec<(&'a str, &'a str)> {
        let mut labels = vec![
            ("db_system_name", self.system),
            ("db_namespace", self.namespace),
            ("db_query_summary", summary),
        ];
        if !op.is_empty() {
            labels.push(("db_operation_name", op));
        }
        if let Some(c) = collection {
            labels.push(("db_collection_name", c));
        }
        if let Some((addr, port)) = &self.server {
            labels.push(("server_address", addr));
            labels.push(("server_port", port));
        }
        if let Some((kind, code)) = error {
            labels.push(("error_type", kind));
            if let Some(code) = code {
                labels.push(("db_response_status_code", code));
            }
        }
        labels
    }

    /// Operations of a summary, exactly labelled; `error` is a database code (both
    /// `error_type` and `db_response_status_code`).
    pub(crate) fn count(
        &self,
        s: &Samples,
        op: &str,
        collection: Option<&str>,
        summary: &str,
        error: Option<&str>,
    ) -> f64 {
        let error = error.map(|code| (code, Some(code)));
        let labels = self.labels(op, collection, summary, error);
        s.get("db_client_operation_duration_seconds_count", &labels)
            .unwrap_or_else(|| panic!("no series {labels:?}"))
    }

    /// Like [`count`](Self::count) with any `error_type` and status code.
    pub(crate) fn count_kind(
        &self,
        s: &Samples,
        op: &str,
        collection: Option<&str>,
        summary: &str,
        error_type: &str,
        code: Option<&str>,
    ) -> f64 {
        let labels = self.labels(op, collection, summary, Some((error_type, code)));
        s.get("db_client_operation_duration_seconds_count", &labels)
            .unwrap_or_else(|| panic!("no series {labels:?}"))
    }

    /// Every duration series of this database.
    pub(crate) fn series<'s>(&self, s: &'s Samples) -> Vec<&'s Sample> {
        s.matching(
            "db_client_operation_duration_seconds_count",
            &[
                ("db_system_name", self.system),
                ("db_namespace", self.namespace),
            ],
        )
    }

    /// Rows returned by the successful operations of `summary`.
    pub(crate) fn rows_sum(&self, s: &Samples, summary: &str) -> f64 {
        let found: Vec<f64> = s
            .matching(
                "db_client_response_returned_rows_sum",
                &[
                    ("db_namespace", self.namespace),
                    ("db_query_summary", summary),
                ],
            )
            .iter()
            .filter(|s| !s.labels.contains_key("error_type"))
            .map(|s| s.value)
            .collect();
        assert_eq!(found.len(), 1, "one successful series of {summary}");
        found[0]
    }

    /// Successful operations of `summary` at most `le` seconds long.
    pub(crate) fn bucket_count(&self, s: &Samples, summary: &str, le: f64) -> f64 {
        let le = le.to_string();
        let found: Vec<f64> = s
            .matching(
                "db_client_operation_duration_seconds_bucket",
                &[
                    ("db_namespace", self.namespace),
                    ("db_query_summary", summary),
                    ("le", le.as_str()),
                ],
            )
            .iter()
            .filter(|s| !s.labels.contains_key("error_type"))
            .map(|s| s.value)
            .collect();
        assert_eq!(found.len(), 1, "one bucket le={le} of {summary}");
        found[0]
    }
}

/// A span as a subscriber saw it.
#[derive(Debug, Clone)]
pub(crate) struct SpanSeen {
    pub(crate) name: String,
    pub(crate) parent: Option<String>,
    pub(crate) fields: BTreeMap<String, String>,
}

impl SpanSeen {
    pub(crate) fn field(&self, name: &str) -> Option<&str> {
        self.fields.get(name).map(String::as_str)
    }
}

type Seen = Arc<Mutex<Vec<(u64, SpanSeen)>>>;

struct Recorder(Seen);

struct Fields<'a>(&'a mut BTreeMap<String, String>);

impl field::Visit for Fields<'_> {
    fn record_debug(&mut self, field: &field::Field, value: &dyn fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }
    fn record_str(&mut self, field: &field::Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }
}

impl<S: Subscriber + for<'a> LookupSpan<'a>> tracing_subscriber::Layer<S> for Recorder {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let parent = if attrs.is_root() {
            None
        } else if let Some(p) = attrs.parent() {
            ctx.span(p).map(|s| s.name().to_owned())
        } else {
            ctx.lookup_current().map(|s| s.name().to_owned())
        };
        let mut fields = BTreeMap::new();
        attrs.record(&mut Fields(&mut fields));
        self.0.lock().unwrap_or_else(PoisonError::into_inner).push((
            id.into_u64(),
            SpanSeen {
                name: attrs.metadata().name().to_owned(),
                parent,
                fields,
            },
        ));
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, _: Context<'_, S>) {
        let mut seen = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((_, span)) = seen.iter_mut().rev().find(|(i, _)| *i == id.into_u64()) {
            values.record(&mut Fields(&mut span.fields));
        }
    }
}

/// Runs `f` with a subscriber that records every span created on this thread.
pub(crate) fn capture(f: impl FnOnce()) -> Vec<SpanSeen> {
    let seen: Seen = Arc::default();
    let subscriber = tracing_subscriber::registry().with(Recorder(Arc::clone(&seen)));
    tracing::subscriber::with_default(subscriber, f);
    seen.lock()
        .unwrap_or_else(PoisonError::into_inner)
        .iter()
        .map(|(_, s)| s.clone())
        .collect()
}
