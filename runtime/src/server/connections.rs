//! The connections the server holds, and which one gives way when it is full.
//!
//! Connections are capped ([`MAX_CONNECTIONS`]), and a connection only holds its place
//! while it serves a request. At the cap, a new connection takes the place of the oldest
//! one that has no request in progress: a client that connects and sends nothing, one
//! that sends its headers a byte at a time (slowloris), or a keep-alive connection idle
//! between two scrapes. A flood of such connections, however often renewed, thus only
//! evicts itself, and a probe that sends its request when it connects is answered.
//! Only when every held connection is in the middle of a request is a new one closed
//! at once; requests are answered in milliseconds, so that does not last.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::oneshot;

/// Connections held at once. Each idle connection costs a few kilobytes of buffers and
/// one descriptor, so the cap bounds the server's memory and descriptors whatever the
/// number of clients.
pub(super) const MAX_CONNECTIONS: usize = 512;

/// Connections closed to make room for a new one, since the process started.
pub(super) static EVICTED: AtomicU64 = AtomicU64::new(0);
/// Connections closed at once because every held one was serving a request.
pub(super) static REFUSED: AtomicU64 = AtomicU64::new(0);

/// Whether a connection is serving a request. Set when hyper hands the request to the
/// service, cleared when the response body has been written (dropped).
#[derive(Debug, Default)]
pub(super) struct Busy(AtomicBool);

impl Busy {
    pub(super) fn start(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    pub(super) fn end(&self) {
        self.0.store(false, Ordering::Relaxed);
    }

    fn is_busy(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

struct Entry {
    busy: Arc<Busy>,
    /// Closes the connection: its task drops it when this is sent or dropped.
    close: oneshot::Sender<()>,
}

/// The held connections, oldest first (ids grow with each connection).
#[derive(Default)]
pub(super) struct Connections {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    next: u64,
    live: BTreeMap<u64, Entry>,
}

/// A connection admitted: its id (to leave), its busy flag, and what closes it.
pub(super) struct Admitted {
    pub(super) id: u64,
    pub(super) busy: Arc<Busy>,
    pub(super) closed: oneshot::Receiver<()>,
}

impl Connections {
    /// Admits a new connection, evicting the oldest one without a request in progress
    /// when `limit` are held; `None` when all of them are serving a request.
    pub(super) fn admit(&self, limit: usize) -> Option<Admitted> {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        if inner.live.len() >= limit {
            let oldest_idle = inner
                .live
                .iter()
                .find(|(_, e)| !e.busy.is_busy())
                .map(|(&id, _)| id);
            let Some(id) = oldest_idle else {
                REFUSED.fetch_add(1, Ordering::Relaxed);
                return None;
            };
            if let Some(entry) = inner.live.remove(&id) {
                let _ = entry.close.send(());
            }
            EVICTED.fetch_add(1, Ordering::Relaxed);
        }
        let id = inner.next;
        inner.next += 1;
        let busy = Arc::new(Busy::default());
        let (close, closed) = oneshot::channel();
        inner.live.insert(
            id,
            Entry {
                busy: Arc::clone(&busy),
                close,
            },
        );
        Some(Admitted { id, busy, closed })
    }

    /// Forgets a connection that ended (or was evicted).
    pub(super) fn leave(&self, id: u64) {
        self.inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .live
            .remove(&id);
    }

    #[cfg(test)]
    fn held(&self) -> usize {
        self.inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .live
            .len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_oldest_idle_connection_gives_way() {
        let table = Connections::default();
        let mut held: Vec<Admitted> = (0..3).map(|_| table.admit(3).unwrap()).collect();
        // The oldest is serving a request: the next oldest gives way.
        held[0].busy.start();
        let evicted_before = EVICTED.load(Ordering::Relaxed);
        let fourth = table.admit(3).unwrap();
        assert!(EVICTED.load(Ordering::Relaxed) > evicted_before);
        assert_eq!(
            held[1].closed.try_recv(),
            Ok(()),
            "the oldest idle one closes"
        );
        assert!(held[0].closed.try_recv().is_err(), "a busy one stays");
        assert!(held[2].closed.try_recv().is_err());
        table.leave(held[1].id);
        assert_eq!(table.held(), 3);
        // Everyone busy: the newcomer is refused, nobody is closed.
        held[2].busy.start();
        fourth.busy.start();
        assert!(table.admit(3).is_none());
        assert_eq!(table.held(), 3);
        // A request ended: that connection may go again.
        held[0].busy.end();
        assert!(table.admit(3).is_some());
        assert_eq!(held[0].closed.try_recv(), Ok(()));
    }
}
