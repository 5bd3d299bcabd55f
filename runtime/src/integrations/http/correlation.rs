//! Correlation ids: taken from the request when it carries a usable one, generated
//! otherwise, echoed on the response, readable by handlers ([`current`]) and forwarded
//! by the client layers on calls made while the request's future is polled. The
//! request's headers are left as they came (writing into them costs a hash and often an
//! allocation per request).

use std::cell::Cell;

use ::http::{HeaderMap, HeaderName, HeaderValue};

/// Longest correlation id taken from a request: longer ones are replaced, so a client
/// cannot make every log line of the request carry kilobytes.
pub(crate) const MAX_LEN: usize = 128;

/// A request's correlation header and id.
pub(crate) type Pair = (HeaderName, HeaderValue);

thread_local! {
    /// The correlation id of the request being polled on this thread.
    static CURRENT: Cell<*const Pair> = const { Cell::new(std::ptr::null()) };
}

/// Makes a request's id the current one until dropped (the span of one poll).
pub(crate) struct Scope {
    previous: *const Pair,
}

/// Makes `pair` current for the life of the returned scope; the scope must not outlive
/// `pair` (it is a local of the poll that borrows it).
pub(crate) fn enter(pair: &Pair) -> Scope {
    Scope {
        previous: CURRENT.replace(std::ptr::from_ref(pair)),
    }
}

impl Drop for Scope {
    fn drop(&mut self) {
        // Also on unwinding: the thread's next request must not see a dangling id.
        CURRENT.set(self.previous);
    }
}

/// Writes the current request's correlation id into outgoing headers that have none.
pub(crate) fn forward(headers: &mut HeaderMap) {
    let current = CURRENT.get();
    if current.is_null() {
        return;
    }
    // SAFETY: a non-null pointer was set by a live `Scope`, a local of the poll that
    // borrows the pair: we are inside that poll, on its thread.
    let (name, value) = unsafe { &*current };
    if !headers.contains_key(name) {
        headers.insert(name.clone(), value.clone());
    }
}

/// The header name `install()` configured (`LOG_CORRELATION_ID_HEADER`, default
/// `X-Correlation-ID`), read once.
pub(crate) fn configured_header() -> HeaderName {
    let name = crate::span_ids::correlation_header();
    HeaderName::from_bytes(name.as_bytes())
        .unwrap_or_else(|_| HeaderName::from_static("x-correlation-id"))
}

/// Whether a received id is used as it is: 1 to [`MAX_LEN`] visible ASCII characters.
pub(crate) fn usable(value: &HeaderValue) -> bool {
    let bytes = value.as_bytes();
    !bytes.is_empty() && bytes.len() <= MAX_LEN && bytes.iter().all(|b| (0x21..=0x7e).contains(b))
}

/// The request's correlation id, or a new one.
pub(crate) fn take_or_make(headers: &HeaderMap, name: &HeaderName) -> HeaderValue {
    let mut values = headers.get_all(name).iter();
    match (values.next(), values.next()) {
        (Some(value), None) if usable(value) => value.clone(),
        _ => generate(),
    }
}

/// The correlation id of the request being served on this thread (inside the server
/// layer's polls of its handler).
pub(crate) fn current() -> Option<String> {
    let current = CURRENT.get();
    if current.is_null() {
        return None;
    }
    // SAFETY: as in `forward`.
    let (_, value) = unsafe { &*current };
    value.to_str().ok().map(str::to_owned)
}

const DIGITS: &[u8; 16] = b"0123456789abcdef";

/// A random UUID (version 4) in its usual text form.
pub(crate) fn generate() -> HeaderValue {
    let (hi, lo) = (next_random(), next_random());
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&hi.to_be_bytes());
    bytes[8..].copy_from_slice(&lo.to_be_bytes());
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let mut text = [0u8; 36];
    let mut at = 0;
    for (i, b) in bytes.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            text[at] = b'-';
            at += 1;
        }
        text[at] = DIGITS[usize::from(b >> 4)];
        text[at + 1] = DIGITS[usize::from(b & 0xf)];
        at += 2;
    }
    HeaderValue::from_bytes(&text).unwrap_or_else(|_| HeaderValue::from_static("invalid"))
}

thread_local! {
    static STATE: Cell<u64> = const { Cell::new(0) };
}

/// wyrand, per thread, seeded from the standard library's random hasher keys: ids need
/// to be unique, not secret.
fn next_random() -> u64 {
    STATE.with(|state| {
        let mut s = state.get();
        if s == 0 {
            use std::hash::{BuildHasher, Hasher};
            let mut h = std::collections::hash_map::RandomState::new().build_hasher();
            h.write_u64(crate::clock::unix_nanos());
            s = h.finish() | 1;
        }
        s = s.wrapping_add(0xa076_1d64_78bd_642f);
        state.set(s);
        let t = u128::from(s) * u128::from(s ^ 0xe703_7ed1_a0b4_28db);
        // Folding the halves of the product is the algorithm.
        #[allow(clippy::cast_possible_truncation)]
        let folded = ((t >> 64) as u64) ^ (t as u64);
        folded
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_polled_request_id_is_forwarded() {
        let pair: Pair = (
            HeaderName::from_static("x-correlation-id"),
            HeaderValue::from_static("c-1"),
        );
        let mut out = HeaderMap::new();
        forward(&mut out);
        assert!(out.is_empty(), "no request is polled");
        {
            let _scope = enter(&pair);
            forward(&mut out);
            assert_eq!(current().as_deref(), Some("c-1"));
        }
        assert_eq!(current(), None);
        assert_eq!(out["x-correlation-id"], "c-1");
        let mut after = HeaderMap::new();
        forward(&mut after);
        assert!(after.is_empty(), "the scope ended");
    }

    #[test]
    fn ids_are_kept_when_usable_and_made_otherwise() {
        let name = HeaderName::from_static("x-correlation-id");
        let mut headers = HeaderMap::new();
        headers.insert(&name, HeaderValue::from_static("c-42"));
        assert_eq!(take_or_make(&headers, &name), "c-42");

        for bad in ["", "has space", &"x".repeat(MAX_LEN + 1)] {
            let mut headers = HeaderMap::new();
            headers.insert(&name, HeaderValue::from_str(bad).unwrap());
            assert_ne!(take_or_make(&headers, &name), bad);
        }
        let mut twice = HeaderMap::new();
        twice.append(&name, HeaderValue::from_static("a"));
        twice.append(&name, HeaderValue::from_static("b"));
        assert_eq!(
            take_or_make(&twice, &name).len(),
            36,
            "which one is meant is unknown"
        );
        let a = generate();
        let b = generate();
        assert_ne!(a, b);
        let text = a.to_str().unwrap();
        assert_eq!(text.len(), 36);
        assert_eq!(&text[14..15], "4", "{text}");
    }
}
