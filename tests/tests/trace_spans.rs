//! `#[monitor]` spans as any `tracing` subscriber sees them: names, code attributes,
//! parent/child, error status and exception events, recorded arguments, levels, opt-out.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use flext_observability::monitor;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;

#[derive(Clone, Debug, Default)]
struct SpanRecord {
    name: String,
    level: String,
    parent: Option<String>,
    fields: BTreeMap<String, String>,
    events: Vec<BTreeMap<String, String>>,
    closed: bool,
}

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<(u64, SpanRecord)>>>);

struct Fields<'a>(&'a mut BTreeMap<String, String>);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }
}

impl Capture {
    fn find(&self, name: &str) -> Vec<SpanRecord> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, s)| s.name == name)
            .map(|(_, s)| s.clone())
            .collect()
    }
    fn with(&self, id: &Id, f: impl FnOnce(&mut SpanRecord)) {
        let mut spans = self.0.lock().unwrap();
        if let Some((_, s)) = spans.iter_mut().rev().find(|(i, _)| *i == id.into_u64()) {
            f(s);
        }
    }
}

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Capture {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let mut record = SpanRecord {
            name: attrs.metadata().name().to_owned(),
            level: attrs.metadata().level().to_string(),
            parent: ctx
                .span(id)
                .and_then(|s| s.parent())
                .map(|p| p.name().to_owned()),
            ..SpanRecord::default()
        };
        attrs.record(&mut Fields(&mut record.fields));
        self.0.lock().unwrap().push((id.into_u64(), record));
    }
    fn on_record(&self, id: &Id, values: &Record<'_>, _: Context<'_, S>) {
        self.with(id, |s| values.record(&mut Fields(&mut s.fields)));
    }
    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let Some(span) = event
            .parent()
            .cloned()
            .or_else(|| ctx.lookup_current().map(|s| s.id()))
        else {
            return;
        };
        let mut fields = BTreeMap::new();
        fields.insert("@name".to_owned(), event.metadata().name().to_owned());
        fields.insert("@level".to_owned(), event.metadata().level().to_string());
        event.record(&mut Fields(&mut fields));
        self.with(&span, |s| s.events.push(fields));
    }
    fn on_close(&self, id: Id, _: Context<'_, S>) {
        self.with(&id, |s| s.closed = true);
    }
}

#[derive(Debug)]
struct NotFound(u64);

impl std::fmt::Display for NotFound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "order {} not found", self.0)
    }
}

/// An error with `Debug` only, holding request data.
#[derive(Debug)]
#[allow(dead_code)] // read through `Debug` only
struct Rejected {
    card_number: &'static str,
}

#[monitor]
fn charge() -> Result<(), Rejected> {
    Err(Rejected {
        card_number: "4111111111111111",
    })
}

/// An error whose message is far longer than a span should carry.
#[derive(Debug)]
struct Verbose;

impl std::fmt::Display for Verbose {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for _ in 0..100 {
            f.write_str("é-long ")?;
        }
        Ok(())
    }
}

#[monitor]
fn verbose() -> Result<(), Verbose> {
    Err(Verbose)
}

#[monitor]
fn load(id: u64) -> Result<u64, NotFound> {
    if id == 0 { Err(NotFound(id)) } else { Ok(id) }
}

#[monitor]
fn checkout(id: u64) -> Result<u64, NotFound> {
    load(id).map(|v| v + 1)
}

#[monitor(args, skip(password), fields(user.kind = "admin", total = %format!("{}", amount * 2)))]
fn login(user: &str, password: &str, amount: u32) -> bool {
    !user.is_empty() && !password.is_empty() && amount > 0
}

#[monitor(fields(%id))]
fn shown(id: u64, secret: &str) -> usize {
    secret.len() + usize::try_from(id).unwrap()
}

#[monitor(level = "debug")]
fn chatty() {}

#[monitor(span = false)]
fn metrics_only() {}

#[monitor]
fn explode() {
    panic!("boom");
}

#[monitor]
async fn fetch(id: u64) -> Result<u64, NotFound> {
    tokio::task::yield_now().await;
    load(id)
}

struct Repo;

#[monitor(level = "warn")]
impl Repo {
    fn get(&self, id: u64) -> u64 {
        id
    }
    #[monitor(level = "error")]
    fn put(&self, id: u64) -> u64 {
        id
    }
}

fn capture() -> (Capture, tracing::subscriber::DefaultGuard) {
    let capture = Capture::default();
    let subscriber = tracing_subscriber::registry().with(capture.clone());
    let guard = tracing::subscriber::set_default(subscriber);
    (capture, guard)
}

#[test]
fn spans_carry_names_code_attributes_and_parents() {
    let (capture, _guard) = capture();
    checkout(7).unwrap();
    let outer = capture.find("checkout");
    let inner = capture.find("load");
    assert_eq!(outer.len(), 1, "{outer:?}");
    assert_eq!(inner.len(), 1, "{inner:?}");
    assert_eq!(inner[0].parent.as_deref(), Some("checkout"));
    assert_eq!(outer[0].parent, None);
    assert_eq!(outer[0].level, "INFO");
    let f = &outer[0].fields;
    assert_eq!(f["code.function"], "checkout");
    assert_eq!(f["code.namespace"], "trace_spans");
    assert!(f["code.filepath"].ends_with("trace_spans.rs"), "{f:?}");
    assert!(f["code.lineno"].parse::<u32>().unwrap() > 0);
    assert!(!f.contains_key("otel.status_code"), "{f:?}");
    assert!(
        !f.contains_key("id"),
        "arguments are not recorded by default: {f:?}"
    );
    assert!(outer[0].closed && inner[0].closed);
}

#[test]
fn errors_mark_the_span_and_emit_an_exception_event() {
    let (capture, _guard) = capture();
    checkout(0).unwrap_err();
    for name in ["checkout", "load"] {
        let span = &capture.find(name)[0];
        assert_eq!(span.fields["otel.status_code"], "ERROR", "{span:?}");
        assert_eq!(span.fields["otel.status_description"], "order 0 not found");
        assert!(span.fields["error.type"].ends_with("NotFound"), "{span:?}");
        assert_eq!(span.events.len(), 1, "{span:?}");
        let event = &span.events[0];
        assert_eq!(event["@name"], "exception");
        assert_eq!(event["exception.message"], "order 0 not found");
        assert!(event["exception.type"].ends_with("NotFound"));
    }
}

#[test]
fn debug_only_errors_record_their_type_and_messages_are_capped() {
    let (capture, _guard) = capture();
    charge().unwrap_err();
    let span = &capture.find("charge")[0];
    assert_eq!(span.fields["otel.status_code"], "ERROR");
    assert!(span.fields["error.type"].ends_with("Rejected"), "{span:?}");
    let everything = format!("{span:?}");
    assert!(
        !everything.contains("4111"),
        "a Debug form is not recorded: {everything}"
    );
    assert!(!span.fields.contains_key("otel.status_description"));
    assert!(!span.events[0].contains_key("exception.message"));
    assert!(span.events[0]["exception.type"].ends_with("Rejected"));

    verbose().unwrap_err();
    let span = &capture.find("verbose")[0];
    let description = &span.fields["otel.status_description"];
    assert_eq!(description.chars().count(), 256 + 1, "{description}");
    assert!(description.starts_with("é-long é-long"));
    assert!(description.ends_with('…'));
    assert_eq!(&span.events[0]["exception.message"], description);
}

#[test]
fn panics_mark_the_span() {
    let (capture, _guard) = capture();
    let result = std::panic::catch_unwind(explode);
    assert!(result.is_err());
    let span = &capture.find("explode")[0];
    assert_eq!(span.fields["otel.status_code"], "ERROR");
    assert_eq!(span.fields["error.type"], "panic");
    assert_eq!(span.events[0]["exception.type"], "panic");
    assert!(span.closed);
}

#[test]
fn arguments_only_when_asked() {
    let (capture, _guard) = capture();
    assert!(login("ann", "hunter2", 21));
    let span = &capture.find("login")[0];
    assert_eq!(span.fields["user"], "\"ann\"");
    assert_eq!(span.fields["amount"], "21");
    assert_eq!(span.fields["user.kind"], "admin");
    assert_eq!(span.fields["total"], "42");
    assert!(!span.fields.contains_key("password"), "{span:?}");
    assert_eq!(shown(5, "abc"), 8);
    let span = &capture.find("shown")[0];
    assert_eq!(span.fields["id"], "5");
    assert!(!span.fields.contains_key("secret"));
}

#[test]
fn levels_and_opt_out() {
    let (capture, _guard) = capture();
    chatty();
    metrics_only();
    Repo.get(1);
    Repo.put(1);
    assert_eq!(capture.find("chatty")[0].level, "DEBUG");
    assert!(capture.find("metrics_only").is_empty());
    assert_eq!(capture.find("Repo::get")[0].level, "WARN");
    assert_eq!(capture.find("Repo::put")[0].level, "ERROR");
    let text = flext_observability::prometheus::render();
    assert!(
        text.contains(
            r#"function_calls_total{function="metrics_only",module="trace_spans",result="ok"} 1"#
        ),
        "metrics are still recorded with span = false"
    );
}

#[test]
fn async_spans_are_entered_while_polled() {
    let capture = Capture::default();
    let subscriber = tracing_subscriber::registry().with(capture.clone());
    let dispatch = tracing::Dispatch::new(subscriber);
    let result = tracing::dispatcher::with_default(&dispatch, || futures_lite_block_on(fetch(0)));
    assert!(result.is_err());
    let outer = &capture.find("fetch")[0];
    let inner = &capture.find("load")[0];
    assert_eq!(inner.parent.as_deref(), Some("fetch"));
    assert_eq!(outer.fields["otel.status_code"], "ERROR");
}

/// Polls a future to completion on this thread (the subscriber is thread-local here).
fn futures_lite_block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(future)
}
