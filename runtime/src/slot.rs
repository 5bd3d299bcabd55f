//! Per-thread storage slots.
//!
//! Every monitored function owns `SLOTS` cache-padded shards. A thread that holds an
//! exclusive slot is the only writer of its shard, so it updates counters with a plain
//! load and store instead of a locked read-modify-write; the exporter sums the shards.
//! Threads beyond the exclusive slots share shard 0 and use `fetch_add`. A thread gives
//! its slot back when it exits, and the next thread continues from the same totals.

use std::cell::Cell;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

/// Shards per monitored function: shard 0 is shared, shards 1.. are exclusive.
pub(crate) const SLOTS: usize = 32;

const UNASSIGNED: u32 = 0;
/// Slot codes: `1` is the shared shard, `k >= 2` is the exclusive shard `k - 1`.
const SHARED: u32 = 1;

thread_local! {
    // Const-initialised and without `Drop`: reading it is one TLS load, and it stays
    // readable while other thread-local destructors run.
    static SLOT: Cell<u32> = const { Cell::new(UNASSIGNED) };
    static RELEASE: SlotRelease = const { SlotRelease };
}

struct Pool {
    free: Vec<u32>,
    next: u32,
}

static POOL: Mutex<Pool> = Mutex::new(Pool {
    free: Vec::new(),
    next: 1,
});

/// One past the highest shard index ever handed out; collectors read shards below it.
static HIGH_WATER: AtomicUsize = AtomicUsize::new(1);

/// The calling thread's slot.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Slot(u32);

impl Slot {
    #[cfg_attr(debug_assertions, inline)]
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub(crate) fn current() -> Slot {
        let code = SLOT.get();
        if code == UNASSIGNED {
            return assign();
        }
        Slot(code)
    }

    #[cfg_attr(debug_assertions, inline)]
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub(crate) fn index(self) -> usize {
        (self.0 - 1) as usize
    }

    /// Adds `value` to a cell of this slot's shard.
    #[cfg_attr(debug_assertions, inline)]
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub(crate) fn add(self, cell: &AtomicU64, value: u64) {
        if self.0 == SHARED {
            cell.fetch_add(value, Ordering::Relaxed);
        } else {
            // Only this thread writes this shard: a plain store cannot lose an update.
            cell.store(
                cell.load(Ordering::Relaxed).wrapping_add(value),
                Ordering::Relaxed,
            );
        }
    }
}

/// Number of shards that may hold data.
pub(crate) fn shards_in_use() -> usize {
    HIGH_WATER.load(Ordering::Acquire)
}

#[cold]
#[inline(never)]
fn assign() -> Slot {
    let taken = {
        let mut pool = POOL
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(code) = pool.free.pop() {
            Some(code)
        } else if (pool.next as usize) < SLOTS {
            pool.next += 1;
            Some(pool.next)
        } else {
            None
        }
    };
    let code = match taken {
        // Registering the release hook fails while the thread is being torn down; the
        // slot then goes back at once and this thread uses the shared shard.
        Some(code) if RELEASE.try_with(|_| ()).is_ok() => {
            HIGH_WATER.fetch_max(code as usize, Ordering::AcqRel);
            code
        }
        Some(code) => {
            give_back(code);
            SHARED
        }
        None => SHARED,
    };
    SLOT.set(code);
    Slot(code)
}

fn give_back(code: u32) {
    let mut pool = POOL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    pool.free.push(code);
}

struct SlotRelease;

impl Drop for SlotRelease {
    fn drop(&mut self) {
        let code = SLOT.replace(SHARED);
        if code > SHARED {
            give_back(code);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn threads_get_distinct_exclusive_slots_and_return_them() {
        let barrier = std::sync::Arc::new(std::sync::Barrier::new(4));
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let barrier = barrier.clone();
                std::thread::spawn(move || {
                    let slot = Slot::current();
                    barrier.wait();
                    slot.0
                })
            })
            .collect();
        let mut codes: Vec<u32> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(
            codes.len(),
            4,
            "live threads must not share an exclusive slot"
        );
        assert!(codes.iter().all(|&c| c > SHARED));
        // More threads than slots, one after another: each finds a returned slot.
        for _ in 0..SLOTS * 2 {
            let code = std::thread::spawn(|| Slot::current().0).join().unwrap();
            assert!(
                code > SHARED,
                "a slot was not returned when its thread exited"
            );
        }
    }
}
