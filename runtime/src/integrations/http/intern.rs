//! Bounded interning of names that arrive with requests: HTTP route templates, gRPC
//! method names and destinations. Each distinct name gets one leaked entry for the life
//! of the process, found again by its text with one hash and no lock; past a limit,
//! nothing new is interned, so what clients send cannot grow memory or the number of
//! series.

use std::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};

/// An entry that knows the name it was interned under.
pub(crate) trait Named: Send + Sync + 'static {
    fn name(&self) -> &str;
}

/// Entries by name in an open-addressing table of `SLOTS` slots; at most `limit`
/// entries (below `SLOTS`, so a probe always ends on a free slot or its name).
#[derive(Debug)]
pub(crate) struct Interner<T: 'static, const SLOTS: usize> {
    slots: [AtomicPtr<T>; SLOTS],
    count: AtomicUsize,
    limit: usize,
}

impl<T: Named, const SLOTS: usize> Interner<T, SLOTS> {
    pub(crate) const fn new(limit: usize) -> Self {
        assert!(limit < SLOTS, "an interner keeps free slots");
        Interner {
            slots: [const { AtomicPtr::new(std::ptr::null_mut()) }; SLOTS],
            count: AtomicUsize::new(0),
            limit,
        }
    }

    /// The entry of `name`, if interned.
    #[cfg_attr(not(feature = "grpc"), allow(dead_code))] // the gRPC integration looks up
    #[inline]
    pub(crate) fn get(&self, name: &str) -> Option<&'static T> {
        self.probe(name).ok()
    }

    /// The entry of `name`, made by `make` (given the name, leaked) on first sight;
    /// `None` once `limit` entries exist.
    #[inline]
    pub(crate) fn intern(
        &self,
        name: &str,
        make: impl FnOnce(&'static str) -> T,
    ) -> Option<&'static T> {
        match self.probe(name) {
            Ok(entry) => Some(entry),
            Err(slot) => self.insert(slot, name, make),
        }
    }

    /// The entry of `name`, or the index of the free slot where it belongs.
    fn probe(&self, name: &str) -> Result<&'static T, usize> {
        let start = hash(name) % SLOTS;
        for i in 0..SLOTS {
            let at = (start + i) % SLOTS;
            let p = self.slots[at].load(Ordering::Acquire);
            if p.is_null() {
                return Err(at);
            }
            // SAFETY: published entries are leaked boxes, never freed; each was fully
            // built before its release store.
            let entry = unsafe { &*p };
            if entry.name() == name {
                return Ok(entry);
            }
        }
        unreachable!("an interner keeps free slots")
    }

    #[cold]
    fn insert(
        &self,
        mut slot: usize,
        name: &str,
        make: impl FnOnce(&'static str) -> T,
    ) -> Option<&'static T> {
        if self
            .count
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < self.limit).then_some(n + 1)
            })
            .is_err()
        {
            return None;
        }
        let fresh = Box::into_raw(Box::new(make(Box::leak(name.to_owned().into_boxed_str()))));
        loop {
            if self.slots[slot]
                .compare_exchange(
                    std::ptr::null_mut(),
                    fresh,
                    Ordering::AcqRel,
                    Ordering::Acquire,
                )
                .is_ok()
            {
                // SAFETY: published, never freed.
                return Some(unsafe { &*fresh });
            }
            // Another thread took the slot first: with this very name (use its entry),
            // or with another (go on to the next free slot).
            match self.probe(name) {
                Ok(entry) => {
                    self.count.fetch_sub(1, Ordering::AcqRel);
                    // SAFETY: `fresh` was never published. Its name stays leaked:
                    // rare, and bounded by the races on one name.
                    drop(unsafe { Box::from_raw(fresh) });
                    return Some(entry);
                }
                Err(next) => slot = next,
            }
        }
    }

    /// Every entry, in table order.
    pub(crate) fn each(&self, mut f: impl FnMut(&'static T)) {
        for slot in &self.slots {
            let p = slot.load(Ordering::Acquire);
            if !p.is_null() {
                // SAFETY: as in `probe`.
                f(unsafe { &*p });
            }
        }
    }
}

/// FNV-1a: short keys, no state.
fn hash(text: &str) -> usize {
    let h = text.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    usize::try_from(h >> 32).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Entry(&'static str);

    impl Named for Entry {
        fn name(&self) -> &str {
            self.0
        }
    }

    #[test]
    fn names_are_interned_once_up_to_the_limit() {
        static TABLE: Interner<Entry, 8> = Interner::new(4);
        let a = TABLE.intern("a", Entry).unwrap();
        assert!(std::ptr::eq(a, TABLE.intern("a", Entry).unwrap()));
        assert!(std::ptr::eq(a, TABLE.get("a").unwrap()));
        assert!(TABLE.get("b").is_none());
        for name in ["b", "c", "d"] {
            assert_eq!(TABLE.intern(name, Entry).unwrap().0, name);
        }
        assert!(TABLE.intern("e", Entry).is_none(), "past the limit");
        assert!(
            TABLE.intern("d", Entry).is_some(),
            "known names still found"
        );
        let mut all = Vec::new();
        TABLE.each(|e| all.push(e.0));
        all.sort_unstable();
        assert_eq!(all, ["a", "b", "c", "d"]);
    }

    #[test]
    fn racing_threads_share_one_entry_per_name() {
        static TABLE: Interner<Entry, 64> = Interner::new(32);
        let seen: Vec<Vec<usize>> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..4)
                .map(|_| {
                    s.spawn(|| {
                        (0..16)
                            .map(|i| {
                                let name = format!("n{i}");
                                std::ptr::from_ref(TABLE.intern(&name, Entry).unwrap()) as usize
                            })
                            .collect()
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert!(seen.windows(2).all(|w| w[0] == w[1]));
        let mut n = 0;
        TABLE.each(|_| n += 1);
        assert_eq!(n, 16);
    }
}
