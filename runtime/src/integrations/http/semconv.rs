//! The bounded vocabularies of the HTTP semantic conventions (v1.44.0): methods,
//! protocol versions, schemes, error types, bucket bounds. Every label value a request
//! can produce comes from one of these tables, so the number of series stays bounded
//! whatever clients send.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock, PoisonError};

/// Bucket bounds (seconds) of `http.server.request.duration` and
/// `http.client.request.duration`: the semantic conventions' advice.
pub(crate) const DURATION_BOUNDS: [f64; 14] = [
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
];

/// The same bounds in nanoseconds.
pub(crate) const DURATION_BOUNDS_NS: [u64; 14] = [
    5_000_000,
    10_000_000,
    25_000_000,
    50_000_000,
    75_000_000,
    100_000_000,
    250_000_000,
    500_000_000,
    750_000_000,
    1_000_000_000,
    2_500_000_000,
    5_000_000_000,
    7_500_000_000,
    10_000_000_000,
];

/// Bucket bounds (bytes) of the body-size histograms; the conventions give no advice.
/// Powers of four from 64 B to 64 MiB.
pub(crate) const SIZE_BOUNDS: [u64; 11] = [
    64, 256, 1_024, 4_096, 16_384, 65_536, 262_144, 1_048_576, 4_194_304, 16_777_216, 67_108_864,
];

/// Methods the conventions know (RFC 9110, PATCH from RFC 5789, QUERY from the
/// safe-method-with-body draft), in method-id order after `_OTHER` (id 0).
const STANDARD: [&str; 10] = [
    "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH", "QUERY",
];

/// Most distinct method names: the standard ones plus those a known-methods list adds.
pub(crate) const MAX_METHODS: usize = 32;

/// The method id of `_OTHER`.
pub(crate) const OTHER_METHOD: u8 = 0;

/// Method names by id: `_OTHER`, the standard ones, then those known-method lists add
/// (interned once, when a layer is built).
static EXTRA_METHODS: Mutex<Vec<&'static str>> = Mutex::new(Vec::new());
static METHOD_NAMES: [OnceLock<&'static str>; MAX_METHODS] =
    [const { OnceLock::new() }; MAX_METHODS];
static METHOD_COUNT: AtomicUsize = AtomicUsize::new(STANDARD.len() + 1);

/// The label value of a method id.
pub(crate) fn method_name(id: u8) -> &'static str {
    match id {
        OTHER_METHOD => "_OTHER",
        1..=10 => STANDARD[usize::from(id) - 1],
        _ => METHOD_NAMES[usize::from(id)]
            .get()
            .copied()
            .unwrap_or("_OTHER"),
    }
}

/// Number of method ids handed out.
pub(crate) fn method_count() -> usize {
    METHOD_COUNT.load(Ordering::Acquire)
}

/// The id of a method name, interning it (cold: when a layer is built). `None` when the
/// table is full.
fn intern_method(name: &str) -> Option<u8> {
    if let Some(i) = STANDARD.iter().position(|s| *s == name) {
        return u8::try_from(i + 1).ok();
    }
    let mut extra = EXTRA_METHODS.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(i) = extra.iter().position(|s| *s == name) {
        return u8::try_from(STANDARD.len() + 1 + i).ok();
    }
    let id = STANDARD.len() + 1 + extra.len();
    if id >= MAX_METHODS {
        return None;
    }
    let name: &'static str = Box::leak(name.to_owned().into_boxed_str());
    extra.push(name);
    let _ = METHOD_NAMES[id].set(name);
    METHOD_COUNT.store(id + 1, Ordering::Release);
    u8::try_from(id).ok()
}

static STANDARD_METHODS: [::http::Method; 9] = [
    ::http::Method::GET,
    ::http::Method::HEAD,
    ::http::Method::POST,
    ::http::Method::PUT,
    ::http::Method::DELETE,
    ::http::Method::CONNECT,
    ::http::Method::OPTIONS,
    ::http::Method::TRACE,
    ::http::Method::PATCH,
];

/// Which methods keep their name; any other becomes `_OTHER`.
#[derive(Clone, Debug)]
pub(crate) enum KnownMethods {
    /// The conventions' list.
    Standard,
    /// A full replacement (`OTEL_INSTRUMENTATION_HTTP_KNOWN_METHODS` or a layer's
    /// `known_methods`), each with its id.
    Custom(Vec<(::http::Method, u8)>),
}

impl KnownMethods {
    /// A replacement list: names are case-sensitive, as methods are. Names that are not
    /// methods are left out and returned.
    pub(crate) fn custom<'a>(names: impl IntoIterator<Item = &'a str>) -> (Self, Vec<String>) {
        let mut known = Vec::new();
        let mut refused = Vec::new();
        for name in names {
            let name = name.trim();
            if name.is_empty() {
                continue;
            }
            match (
                ::http::Method::from_bytes(name.as_bytes()),
                intern_method(name),
            ) {
                (Ok(method), Some(id)) => {
                    if !known.iter().any(|(m, _)| *m == method) {
                        known.push((method, id));
                    }
                }
                _ => refused.push(name.to_owned()),
            }
        }
        (KnownMethods::Custom(known), refused)
    }

    /// The method id of `method`.
    #[inline]
    pub(crate) fn classify(&self, method: &::http::Method) -> u8 {
        match self {
            KnownMethods::Standard => {
                // `Method` compares standard methods by their tag, not their text.
                match STANDARD_METHODS.iter().position(|m| m == method) {
                    Some(i) => u8::try_from(i + 1).unwrap_or(OTHER_METHOD),
                    None if method.as_str() == "QUERY" => 10,
                    None => OTHER_METHOD,
                }
            }
            KnownMethods::Custom(known) => known
                .iter()
                .find(|(m, _)| m == method)
                .map_or(OTHER_METHOD, |(_, id)| *id),
        }
    }
}

/// `network.protocol.version` by version id.
pub(crate) const VERSIONS: [&str; 6] = ["", "0.9", "1.0", "1.1", "2", "3"];

/// The version id of a request's or response's HTTP version.
#[inline]
pub(crate) fn version_id(version: ::http::Version) -> u8 {
    use ::http::Version;
    match version {
        Version::HTTP_09 => 1,
        Version::HTTP_10 => 2,
        Version::HTTP_11 => 3,
        Version::HTTP_2 => 4,
        Version::HTTP_3 => 5,
        _ => 0,
    }
}

/// `url.scheme` by scheme id.
pub(crate) const SCHEMES: [&str; 2] = ["http", "https"];

/// Error-type ids with a fixed meaning; the other ids are interned names.
pub(crate) const NO_ERROR: u8 = 0;
/// `error.type` is the status code (a 5xx on the server, a 4xx or 5xx on the client).
pub(crate) const STATUS_ERROR: u8 = 1;

/// Most distinct error types; further ones are `_OTHER`.
const MAX_ERROR_TYPES: usize = 32;

static ERROR_TYPES: [OnceLock<&'static str>; MAX_ERROR_TYPES] =
    [const { OnceLock::new() }; MAX_ERROR_TYPES];
static ERROR_TYPE_COUNT: Mutex<usize> = Mutex::new(2);

/// The id of an error type (a fixed name, such as `panic`, or a type name). Only
/// failures pay for it, and a failure that repeats finds its name in a short scan.
pub(crate) fn error_type_id(name: &'static str) -> u8 {
    for (i, cell) in ERROR_TYPES.iter().enumerate().skip(2) {
        match cell.get() {
            Some(known) if std::ptr::eq(*known, name) || *known == name => {
                return u8::try_from(i).unwrap_or(STATUS_ERROR);
            }
            Some(_) => {}
            None => break,
        }
    }
    intern_error_type(name)
}

#[cold]
fn intern_error_type(name: &'static str) -> u8 {
    let mut count = ERROR_TYPE_COUNT
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    for (i, cell) in ERROR_TYPES.iter().enumerate().take(*count).skip(2) {
        if cell.get().is_some_and(|known| *known == name) {
            return u8::try_from(i).unwrap_or(STATUS_ERROR);
        }
    }
    if *count >= MAX_ERROR_TYPES {
        return error_type_id("_OTHER");
    }
    let id = *count;
    let _ = ERROR_TYPES[id].set(name);
    *count += 1;
    u8::try_from(id).unwrap_or(STATUS_ERROR)
}

/// The `error.type` value of an id, given the status code for [`STATUS_ERROR`].
pub(crate) fn error_type_name(id: u8, status: &str) -> &str {
    match id {
        NO_ERROR => "",
        STATUS_ERROR => status,
        _ => ERROR_TYPES[usize::from(id)]
            .get()
            .copied()
            .unwrap_or("_OTHER"),
    }
}

/// `error.type` of a request whose handler panicked.
pub(crate) const PANIC: &str = "panic";
/// `error.type` of a request dropped before it completed (the client went away, a
/// timeout layer gave up).
pub(crate) const CANCELLED: &str = "cancelled";

/// Status codes as text, `100` to `599`: label values without formatting per request.
pub(crate) fn status_text(code: u16) -> &'static str {
    static TEXT: OnceLock<Box<[u8]>> = OnceLock::new();
    if !(100..=599).contains(&code) {
        return "";
    }
    let table = TEXT.get_or_init(|| {
        (100..=599u16)
            .flat_map(|c| c.to_string().into_bytes())
            .collect()
    });
    let at = usize::from(code - 100) * 3;
    std::str::from_utf8(&table[at..at + 3]).unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods_outside_the_list_are_other() {
        let standard = KnownMethods::Standard;
        assert_eq!(method_name(standard.classify(&::http::Method::GET)), "GET");
        assert_eq!(
            method_name(standard.classify(&::http::Method::PATCH)),
            "PATCH"
        );
        let query = ::http::Method::from_bytes(b"QUERY").unwrap();
        assert_eq!(method_name(standard.classify(&query)), "QUERY");
        for bogus in ["get", "FOO", "PROPFIND", "G3T"] {
            let m = ::http::Method::from_bytes(bogus.as_bytes()).unwrap();
            assert_eq!(standard.classify(&m), OTHER_METHOD, "{bogus}");
        }
        let (custom, refused) = KnownMethods::custom(["GET", "PROPFIND", "bad method", ""]);
        assert_eq!(refused, ["bad method"]);
        let propfind = ::http::Method::from_bytes(b"PROPFIND").unwrap();
        assert_eq!(method_name(custom.classify(&propfind)), "PROPFIND");
        assert_eq!(custom.classify(&::http::Method::POST), OTHER_METHOD);
        assert!(method_count() > 11);
    }

    #[test]
    fn statuses_and_error_types_are_tables() {
        assert_eq!(status_text(200), "200");
        assert_eq!(status_text(599), "599");
        assert_eq!(status_text(600), "");
        let a = error_type_id("some::Error");
        assert_eq!(error_type_id("some::Error"), a);
        assert_eq!(error_type_name(a, ""), "some::Error");
        assert_eq!(error_type_name(STATUS_ERROR, "503"), "503");
        assert_eq!(version_id(::http::Version::HTTP_11), 3);
        assert_eq!(VERSIONS[3], "1.1");
    }
}
