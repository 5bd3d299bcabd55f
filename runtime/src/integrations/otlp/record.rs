//! What is kept of an exported span while it is open: its name, kind, status,
//! attributes, events and links, copied from `tracing` fields. Only sampled spans keep
//! this; a span sampled out keeps nothing (see `layer`).
//!
//! The special fields of `tracing-opentelemetry` keep their meaning: `otel.name` renames
//! the span, `otel.kind` sets its kind, `otel.status_code` (`OK`, `ERROR`) and
//! `otel.status_description` its status. An event's `message` is its name.

use std::cell::RefCell;
use std::fmt::{self, Write as _};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Record};

/// A field value; strings live in the text buffer of the [`Fields`] that hold them.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Val {
    Text(u32, u32),
    Static(&'static str),
    I64(i64),
    F64(f64),
    Bool(bool),
}

/// OTLP span kinds (`SpanKind` in `trace.proto`).
pub(crate) mod kind {
    pub(crate) const INTERNAL: i32 = 1;
    pub(crate) const SERVER: i32 = 2;
    pub(crate) const CLIENT: i32 = 3;
    pub(crate) const PRODUCER: i32 = 4;
    pub(crate) const CONSUMER: i32 = 5;
}

/// OTLP status codes (`Status.StatusCode`).
pub(crate) mod status {
    pub(crate) const UNSET: i32 = 0;
    pub(crate) const OK: i32 = 1;
    pub(crate) const ERROR: i32 = 2;
}

/// The fields of a span or an event: attributes, and what the special fields set. All
/// strings share one buffer, so a span costs a few allocations whatever its field count.
#[derive(Clone, Debug, Default)]
pub(crate) struct Fields {
    text: String,
    pub(crate) attrs: Vec<(&'static str, Val)>,
    /// `otel.name` on a span, `message` on an event.
    pub(crate) name: Option<Val>,
    pub(crate) kind: i32,
    pub(crate) status: i32,
    pub(crate) status_message: Option<Val>,
}

impl Fields {
    const fn new() -> Self {
        Fields {
            text: String::new(),
            attrs: Vec::new(),
            name: None,
            kind: 0,
            status: status::UNSET,
            status_message: None,
        }
    }

    fn clear(&mut self) {
        self.text.clear();
        self.attrs.clear();
        self.name = None;
        self.kind = 0;
        self.status = status::UNSET;
        self.status_message = None;
    }

    /// The text of a value (empty for a non-text value).
    pub(crate) fn text(&self, value: Val) -> &str {
        match value {
            Val::Text(start, end) => self.text.get(start as usize..end as usize).unwrap_or(""),
            Val::Static(s) => s,
            _ => "",
        }
    }

    fn push_str(&mut self, s: &str) -> Val {
        let start = self.offset();
        self.text.push_str(s);
        Val::Text(start, self.offset())
    }

    fn push_debug(&mut self, value: &dyn fmt::Debug) -> Val {
        let start = self.offset();
        let _ = write!(self.text, "{value:?}");
        Val::Text(start, self.offset())
    }

    /// `value` of `from`, with its text copied here.
    fn copy(&mut self, from: &Fields, value: Val) -> Val {
        match value {
            Val::Text(..) => self.push_str(from.text(value)),
            other => other,
        }
    }

    fn offset(&self) -> u32 {
        u32::try_from(self.text.len()).unwrap_or(u32::MAX)
    }

    /// Sets an attribute; a key recorded again replaces its value.
    fn set(&mut self, key: &'static str, value: Val) {
        match self.attrs.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = value,
            None => self.attrs.push((key, value)),
        }
    }
}

/// Reads span fields into [`Fields`], the `otel.*` ones by their meaning. `fresh`: the
/// fields a span was created with, whose names are unique (no search for a previous
/// value).
struct SpanFields<'a> {
    fields: &'a mut Fields,
    fresh: bool,
}

impl SpanFields<'_> {
    fn set(&mut self, key: &'static str, value: Val) {
        if self.fresh {
            self.fields.attrs.push((key, value));
        } else {
            self.fields.set(key, value);
        }
    }

    fn text(&mut self, field: &Field, value: Val) {
        let name = field.name();
        if !name.starts_with("otel.") {
            return self.set(name, value);
        }
        let f = &mut *self.fields;
        match name {
            "otel.name" => f.name = Some(value),
            "otel.kind" => {
                f.kind = match f.text(value).to_ascii_lowercase().as_str() {
                    "server" => kind::SERVER,
                    "client" => kind::CLIENT,
                    "producer" => kind::PRODUCER,
                    "consumer" => kind::CONSUMER,
                    _ => kind::INTERNAL,
                };
            }
            "otel.status_code" => {
                f.status = match f.text(value).to_ascii_lowercase().as_str() {
                    "error" => status::ERROR,
                    "ok" => status::OK,
                    _ => status::UNSET,
                };
            }
            "otel.status_description" => f.status_message = Some(value),
            _ => self.set(name, value),
        }
    }
}

impl Visit for SpanFields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        let v = self.fields.push_str(value);
        self.text(field, v);
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        let v = self.fields.push_debug(value);
        self.text(field, v);
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.set(field.name(), Val::I64(value));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        match i64::try_from(value) {
            Ok(v) => self.set(field.name(), Val::I64(v)),
            Err(_) => self.record_debug(field, &value),
        }
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.set(field.name(), Val::F64(value));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.set(field.name(), Val::Bool(value));
    }
}

/// Reads event fields: `message` names the event, `log.*` (from the `log` bridge) are
/// left out.
struct EventFields<'a>(&'a mut Fields);

impl EventFields<'_> {
    fn keep(field: &Field) -> bool {
        !field.name().starts_with("log.")
    }
}

impl Visit for EventFields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        if Self::keep(field) {
            let v = self.0.push_str(value);
            if field.name() == "message" {
                self.0.name = Some(v);
            } else {
                self.0.set(field.name(), v);
            }
        }
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if Self::keep(field) {
            let v = self.0.push_debug(value);
            if field.name() == "message" {
                self.0.name = Some(v);
            } else {
                self.0.set(field.name(), v);
            }
        }
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        if Self::keep(field) {
            self.0.set(field.name(), Val::I64(value));
        }
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        match i64::try_from(value) {
            Ok(v) => self.record_i64(field, v),
            Err(_) => self.record_debug(field, &value),
        }
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        if Self::keep(field) {
            self.0.set(field.name(), Val::F64(value));
        }
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        if Self::keep(field) {
            self.0.set(field.name(), Val::Bool(value));
        }
    }
}

/// An event of a span.
#[derive(Debug)]
pub(crate) struct SpanEvent {
    pub(crate) time: u64,
    /// The event's name when it has no `message`.
    pub(crate) default_name: &'static str,
    pub(crate) fields: Fields,
}

/// An open, sampled span.
#[derive(Debug)]
pub(crate) struct Recording {
    pub(crate) name: &'static str,
    pub(crate) fields: Fields,
    pub(crate) start: u64,
    /// The parent's span id, and whether the parent is a remote caller.
    pub(crate) parent: Option<([u8; 8], bool)>,
    /// The W3C `tracestate` of the trace, from the caller.
    pub(crate) trace_state: Option<Arc<str>>,
    pub(crate) events: Vec<SpanEvent>,
    pub(crate) links: Vec<([u8; 16], [u8; 8])>,
}

impl Recording {
    /// A recording of a span that starts now, with the fields it was created with.
    pub(crate) fn new(
        attrs: &Attributes<'_>,
        parent: Option<([u8; 8], bool)>,
        trace_state: Option<Arc<str>>,
    ) -> Box<Self> {
        let mut fields = Fields::default();
        attrs.record(&mut SpanFields {
            fields: &mut fields,
            fresh: true,
        });
        Self::with_fields(attrs.metadata(), fields, parent, trace_state)
    }

    /// A recording of a span of this callsite that starts now, with these fields.
    pub(crate) fn with_fields(
        meta: &'static tracing::Metadata<'static>,
        mut fields: Fields,
        parent: Option<([u8; 8], bool)>,
        trace_state: Option<Arc<str>>,
    ) -> Box<Self> {
        // As `tracing-opentelemetry` did: the span's target (module path) is an
        // attribute, unless a field of that name says otherwise.
        if !fields.attrs.iter().any(|(k, _)| *k == "target") {
            fields
                .attrs
                .insert(0, ("target", Val::Static(meta.target())));
        }
        Box::new(Recording {
            name: meta.name(),
            fields,
            start: crate::clock::unix_nanos(),
            parent,
            trace_state,
            events: Vec::new(),
            links: Vec::new(),
        })
    }

    /// Adds recorded values (read with [`Recorded::read`], before the span's extensions
    /// are locked).
    pub(crate) fn record(&mut self, values: &Recorded) {
        let f = &mut self.fields;
        let v = &values.0;
        for &(key, value) in &v.attrs {
            let value = f.copy(v, value);
            f.set(key, value);
        }
        if let Some(name) = v.name {
            f.name = Some(f.copy(v, name));
        }
        if v.kind != 0 {
            f.kind = v.kind;
        }
        if v.status != status::UNSET {
            f.status = v.status;
        }
        if let Some(message) = v.status_message {
            f.status_message = Some(f.copy(v, message));
        }
    }

    /// Adds an event (read with [`SpanEvent::read`]). An `ERROR` event marks the span
    /// failed unless its status is set.
    pub(crate) fn event(&mut self, event: SpanEvent, error: bool) {
        if error && self.fields.status == status::UNSET {
            self.fields.status = status::ERROR;
        }
        self.events.push(event);
    }
}

/// Values recorded into a span, read before its extensions are locked: reading runs the
/// values' `Debug`, which may log (and so reach this layer again).
#[derive(Debug)]
pub(crate) struct Recorded(Fields);

impl Recorded {
    pub(crate) fn read(values: &Record<'_>) -> Self {
        let mut fields = Fields::default();
        values.record(&mut SpanFields {
            fields: &mut fields,
            fresh: false,
        });
        Recorded(fields)
    }
}

impl SpanEvent {
    /// An event, read before the span's extensions are locked; and whether it is an
    /// `ERROR`.
    pub(crate) fn read(event: &tracing::Event<'_>) -> (Self, bool) {
        let meta = event.metadata();
        let mut fields = Fields::default();
        fields
            .attrs
            .push(("level", Val::Static(meta.level().as_str())));
        fields.attrs.push(("target", Val::Static(meta.target())));
        event.record(&mut EventFields(&mut fields));
        (
            SpanEvent {
                time: crate::clock::unix_nanos(),
                default_name: meta.name(),
                fields,
            },
            *meta.level() == tracing::Level::ERROR,
        )
    }
}

/// Recordings held by open spans, in the whole process.
static OPEN: AtomicUsize = AtomicUsize::new(0);

/// Whether any span holds a recording: while none does (every trace sampled out),
/// closing, recording into and logging inside a span need no lookup of it. A span's
/// recording is counted before the span can close (its creation happens before), so a
/// relaxed load sees it.
pub(crate) fn any_open() -> bool {
    OPEN.load(Ordering::Relaxed) != 0
}

/// The recording of an open span, counted in [`any_open`] until it is finished or
/// dropped.
#[derive(Debug)]
pub(crate) struct Open(Option<Box<Recording>>);

impl Open {
    pub(crate) fn new(recording: Box<Recording>) -> Self {
        OPEN.fetch_add(1, Ordering::Relaxed);
        Open(Some(recording))
    }

    pub(crate) fn get_mut(&mut self) -> Option<&mut Recording> {
        self.0.as_deref_mut()
    }

    pub(crate) fn get(&self) -> Option<&Recording> {
        self.0.as_deref()
    }

    /// The recording, no longer counted (the span closed).
    pub(crate) fn finish(mut self) -> Option<Box<Recording>> {
        self.0.take()
    }
}

impl Drop for Open {
    fn drop(&mut self) {
        OPEN.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The creation fields of the last root span sampled out on this thread, kept until
/// another one replaces them: when a caller's context made that span's trace sampled
/// after all (`RemoteContext::set_parent_of`, called right after the span was created),
/// the span is recorded with them. Reused, so sampling out allocates nothing.
struct Stash {
    id: u64,
    fields: Fields,
}

thread_local! {
    static STASH: RefCell<Stash> = const { RefCell::new(Stash { id: 0, fields: Fields::new() }) };
}

/// Keeps the creation fields of the root span `id`, sampled out.
pub(crate) fn stash(id: u64, attrs: &Attributes<'_>) {
    let _ = STASH.try_with(|s| {
        if let Ok(mut s) = s.try_borrow_mut() {
            s.id = id;
            s.fields.clear();
            attrs.record(&mut SpanFields {
                fields: &mut s.fields,
                fresh: true,
            });
        }
    });
}

/// Adds recorded values to the stash when it holds span `id`.
pub(crate) fn stash_record(id: u64, values: &Record<'_>) {
    let _ = STASH.try_with(|s| {
        if let Ok(mut s) = s.try_borrow_mut()
            && s.id == id
        {
            values.record(&mut SpanFields {
                fields: &mut s.fields,
                fresh: false,
            });
        }
    });
}

/// The stashed fields of span `id`, if this thread still holds them.
pub(crate) fn take_stash(id: u64) -> Option<Fields> {
    STASH
        .try_with(|s| {
            let mut s = s.try_borrow_mut().ok()?;
            (s.id == id).then(|| {
                s.id = 0;
                s.fields.clone()
            })
        })
        .ok()
        .flatten()
}

/// Forgets span `id` (closed): a later span that reuses its id must not find its fields.
pub(crate) fn forget_stash(id: u64) {
    let _ = STASH.try_with(|s| {
        if let Ok(mut s) = s.try_borrow_mut()
            && s.id == id
        {
            s.id = 0;
        }
    });
}
