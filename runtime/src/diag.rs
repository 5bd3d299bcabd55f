//! Diagnostics of the runtime itself: reported once per cause, through `tracing` when a
//! subscriber is installed and on standard error otherwise, so they are never lost.

use std::collections::HashSet;
use std::sync::{Mutex, PoisonError};

static SEEN: Mutex<Option<HashSet<String>>> = Mutex::new(None);

/// Reports `message` the first time `key` is seen.
pub(crate) fn warn_once(key: &str, message: &str) {
    let first = SEEN
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .get_or_insert_with(HashSet::new)
        .insert(key.to_owned());
    if first {
        warn(message);
    }
}

/// Whether a `tracing` event emitted on this thread reaches a subscriber: one is set,
/// and this thread has not opted out (the exporter's threads run with
/// `Dispatch::none()`, so their own clients' spans are never exported).
fn traced_here() -> bool {
    tracing::dispatcher::has_been_set()
        && !tracing::dispatcher::get_default(
            tracing::Dispatch::is::<tracing::subscriber::NoSubscriber>,
        )
}

/// Reports `message`.
pub(crate) fn warn(message: &str) {
    if traced_here() {
        tracing::warn!(target: "flext_observability", "{message}");
    } else {
        eprintln!("flext-observability: warning: {message}");
    }
}

/// Says what the runtime is doing when it makes the program wait (a shutdown drain):
/// through `tracing` at `INFO` when a subscriber is installed, on standard error
/// otherwise.
pub(crate) fn notice(message: &str) {
    if traced_here() {
        tracing::info!(target: "flext_observability", "{message}");
    } else {
        eprintln!("flext-observability: {message}");
    }
}
