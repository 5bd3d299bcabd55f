//! Statement text → its cells, per thread, without parsing or locking on a hit.
//!
//! Applications run the same few statements again and again, mostly from `&'static str`
//! (`sqlx::query("…")`), whose address never changes. Each thread keeps a small
//! direct-mapped table whose slot is chosen from the text's address and length (a
//! multiply, no hash of the text) and that holds a copy of the text: a hit is one
//! comparison of the text with the copy, so an address reused for another statement is
//! never mistaken for the old one. A miss (a new statement, text built at run time)
//! parses the summary and looks it up in the shared registry under a read lock.

use std::cell::RefCell;
use std::sync::Arc;

use super::sanitize::sanitize;
use super::store::{Cells, Target, cells_for};

const SLOTS: usize = 256;

struct Entry {
    target: u32,
    ptr: usize,
    text: Box<str>,
    cells: &'static Cells,
    /// `db.query.text`, made on first request.
    sanitized: Option<Arc<str>>,
}

thread_local! {
    static CACHE: RefCell<Vec<Option<Entry>>> = const { RefCell::new(Vec::new()) };
}

/// What a statement records into, and its sanitised text when asked for.
pub(crate) struct Found {
    pub(crate) cells: &'static Cells,
    pub(crate) text: Option<Arc<str>>,
}

#[inline]
fn slot_of(ptr: usize, len: usize, target: u32) -> usize {
    let mixed =
        (ptr as u64 ^ ((len as u64) << 40) ^ u64::from(target)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    // The top bits of the product depend on every bit of the key.
    (mixed >> 56) as usize % SLOTS
}

/// The cells of `sql` on `target`; with `want_text`, its sanitised text too.
#[inline]
pub(crate) fn lookup(target: &'static Target, sql: &str, want_text: bool) -> Found {
    let ptr = sql.as_ptr() as usize;
    let slot = slot_of(ptr, sql.len(), target.id);
    CACHE
        .try_with(|cache| {
            let mut cache = cache.borrow_mut();
            if cache.is_empty() {
                cache.resize_with(SLOTS, || None);
            }
            let entry = match &mut cache[slot] {
                Some(e) if e.target == target.id && e.ptr == ptr && *e.text == *sql => e,
                other => other.insert(miss(target, sql, ptr)),
            };
            let text = want_text.then(|| {
                entry
                    .sanitized
                    .get_or_insert_with(|| sanitize(sql, target.dialect).into())
                    .clone()
            });
            Found {
                cells: entry.cells,
                text,
            }
        })
        // The thread is exiting and its cache is gone: parse.
        .unwrap_or_else(|_| Found {
            cells: cells_for(target, sql),
            text: want_text.then(|| sanitize(sql, target.dialect).into()),
        })
}

#[cold]
#[inline(never)]
fn miss(target: &'static Target, sql: &str, ptr: usize) -> Entry {
    Entry {
        target: target.id,
        ptr,
        text: sql.into(),
        cells: cells_for(target, sql),
        sanitized: None,
    }
}

#[cfg(test)]
mod tests {
    use super::super::store::target;
    use super::*;

    #[test]
    fn hits_misses_and_reused_addresses() {
        let t = target("postgresql", Some("cache_test"), None, None);
        let a = lookup(t, "SELECT * FROM cached WHERE id = $1", false);
        assert!(a.text.is_none());
        let again = lookup(t, "SELECT * FROM cached WHERE id = $1", true);
        assert!(std::ptr::eq(a.cells, again.cells));
        assert_eq!(
            again.text.as_deref(),
            Some("SELECT * FROM cached WHERE id = $1")
        );
        // The same buffer, other text: found by content, not by address.
        let mut buf = String::from("SELECT * FROM first_t");
        let first = lookup(t, &buf, false).cells;
        buf.clear();
        buf.push_str("DELETE FROM second_tt");
        let second = lookup(t, &buf, true);
        assert_eq!(&*first.summary, "SELECT first_t");
        assert_eq!(&*second.cells.summary, "DELETE second_tt");
        assert_eq!(second.text.as_deref(), Some("DELETE FROM second_tt"));
    }
}
