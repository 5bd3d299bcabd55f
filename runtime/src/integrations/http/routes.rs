//! Route templates, interned: each distinct template gets one [`RouteData`] (its series
//! and its span names) for the life of the process.
//!
//! A request finds its route by the address of the template text. axum's `MatchedPath`
//! of a route that is not nested is the same allocation on every request (the router
//! clones one `Arc<str>`), and a [`Route`] holds a `&'static str`: after the first
//! request, the lookup is one multiplication and one comparison in a table indexed by
//! that address. The table keeps a clone of what it saw (so the address can never be
//! reused for another text while it is there). Templates seen under many addresses
//! (nested routers build theirs per request) stop being cached by address and are found
//! by their text instead: one hash of the template, no lock.

use std::any::Any;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicPtr, AtomicU32, Ordering};

use super::intern::{Interner, Named};
use super::semconv::{MAX_METHODS, OTHER_METHOD, method_name};
use super::series::SeriesList;

/// The route template of a request, for services that route without axum: insert it in
/// the request's extensions before the layer sees it, or in the response's extensions
/// (the layer reads it when the response comes back).
///
/// ```
/// use flext_observability::http::Route;
///
/// let mut response = http::Response::new(());
/// response.extensions_mut().insert(Route::new("/orders/{id}"));
/// assert_eq!(response.extensions().get::<Route>().unwrap().as_str(), "/orders/{id}");
/// ```
///
/// Follow the conventions' rules for `http.route`: static segments as they are, dynamic
/// ones as placeholders, never the raw path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Route(&'static str);

impl Route {
    /// A route template.
    pub const fn new(template: &'static str) -> Route {
        Route(template)
    }

    /// The template.
    pub const fn as_str(self) -> &'static str {
        self.0
    }
}

/// Most distinct route templates; requests of further ones count as unmatched.
pub const MAX_ROUTES: usize = 1000;

/// An interned route.
#[derive(Debug)]
pub(crate) struct RouteData {
    /// The template; empty for requests without a route.
    pub(crate) template: &'static str,
    /// `{method} {template}` by method id, built on first use.
    names: [OnceLock<&'static str>; MAX_METHODS],
    pub(crate) series: SeriesList,
    /// Addresses this template was cached under.
    addresses: AtomicU32,
}

impl RouteData {
    const fn new(template: &'static str) -> Self {
        RouteData {
            template,
            names: [const { OnceLock::new() }; MAX_METHODS],
            series: SeriesList::new(),
            addresses: AtomicU32::new(0),
        }
    }

    /// Whether this is [`UNMATCHED`] (the only route without a template).
    pub(crate) fn is_unmatched(&self) -> bool {
        self.template.is_empty()
    }

    /// The server span name for a method: `{method} {route}`, `{method}` without a
    /// route, and `HTTP` for `_OTHER` methods, as the conventions ask.
    #[inline]
    pub(crate) fn span_name(&self, method: u8) -> &'static str {
        if method == OTHER_METHOD {
            return if self.template.is_empty() {
                "HTTP"
            } else {
                self.names[0].get_or_init(|| leak(format!("HTTP {}", self.template)))
            };
        }
        if self.template.is_empty() {
            return method_name(method);
        }
        self.names[usize::from(method)]
            .get_or_init(|| leak(format!("{} {}", method_name(method), self.template)))
    }
}

impl Named for RouteData {
    fn name(&self) -> &str {
        self.template
    }
}

fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

/// Requests without a route (and of routes past [`MAX_ROUTES`]).
pub(crate) static UNMATCHED: RouteData = RouteData::new("");

/// Interned routes by template text.
static TEXTS: Interner<RouteData, 2048> = Interner::new(MAX_ROUTES);

/// Cached addresses of template texts.
const BY_ADDRESS: usize = 1024;
static ADDRESSES: [AtomicPtr<Cached>; BY_ADDRESS] =
    [const { AtomicPtr::new(std::ptr::null_mut()) }; BY_ADDRESS];
/// Addresses one template may be cached under before it is looked up by text only.
const MAX_ADDRESSES_PER_ROUTE: u32 = 4;

struct Cached {
    address: usize,
    len: usize,
    route: &'static RouteData,
    /// What owns the text at `address` (a clone of the `MatchedPath`), kept so the
    /// address is never reused for another text.
    _owner: Box<dyn Any + Send + Sync>,
}

/// Every interned route, for the exporters.
pub(crate) fn each(mut f: impl FnMut(&'static RouteData)) {
    f(&UNMATCHED);
    TEXTS.each(f);
}

/// The route of a template whose text lives at a stable address owned by `owner`.
#[inline]
pub(crate) fn by_address<O: Any + Send + Sync>(
    text: &str,
    owner: impl FnOnce() -> O,
) -> &'static RouteData {
    let address = text.as_ptr() as usize;
    let start = slot_of(address);
    for i in 0..8 {
        let p = ADDRESSES[(start + i) % BY_ADDRESS].load(Ordering::Acquire);
        if p.is_null() {
            break;
        }
        // SAFETY: cached entries are leaked boxes, never freed.
        let cached = unsafe { &*p };
        if cached.address == address && cached.len == text.len() {
            return cached.route;
        }
    }
    remember(text, owner)
}

#[cold]
fn remember<O: Any + Send + Sync>(text: &str, owner: impl FnOnce() -> O) -> &'static RouteData {
    let route = by_text(text);
    if route.is_unmatched()
        || route.addresses.fetch_add(1, Ordering::AcqRel) >= MAX_ADDRESSES_PER_ROUTE
    {
        return route;
    }
    let address = text.as_ptr() as usize;
    let entry = Box::into_raw(Box::new(Cached {
        address,
        len: text.len(),
        route,
        _owner: Box::new(owner()),
    }));
    let start = slot_of(address);
    for i in 0..8 {
        if ADDRESSES[(start + i) % BY_ADDRESS]
            .compare_exchange(
                std::ptr::null_mut(),
                entry,
                Ordering::AcqRel,
                Ordering::Acquire,
            )
            .is_ok()
        {
            return route;
        }
    }
    // SAFETY: `entry` was never published.
    drop(unsafe { Box::from_raw(entry) });
    route
}

fn slot_of(address: usize) -> usize {
    // Fibonacci hashing of an address: allocations are 8- or 16-byte aligned, the
    // multiplication spreads the high bits down.
    let h = (address as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    usize::try_from(h >> 54).unwrap_or(0) % BY_ADDRESS
}

/// The route of a template, by its text (interned on first sight).
pub(crate) fn by_text(text: &str) -> &'static RouteData {
    if text.is_empty() {
        return &UNMATCHED;
    }
    TEXTS.intern(text, RouteData::new).unwrap_or_else(|| {
        crate::diag::warn_once(
            "http-routes-full",
            &format!(
                "more than {MAX_ROUTES} distinct HTTP route templates: requests of further routes are recorded without `http.route`; route templates must not contain raw paths"
            ),
        );
        &UNMATCHED
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_template_is_one_route_whatever_its_address() {
        static TEXT: &str = "/t/c/{id}";
        let a = by_text("/t/a/{id}");
        assert!(std::ptr::eq(a, by_text("/t/a/{id}")));
        assert!(!std::ptr::eq(a, by_text("/t/b/{id}")));
        assert!(by_text("").is_unmatched());
        let c = by_address(TEXT, || ());
        assert!(std::ptr::eq(c, by_address(TEXT, || ())));
        assert!(std::ptr::eq(c, by_text("/t/c/{id}")));
        // The same text at new addresses each time (a nested router) still finds it.
        for _ in 0..20 {
            let owned: std::sync::Arc<str> = std::sync::Arc::from("/t/c/{id}");
            let keep = owned.clone();
            assert!(std::ptr::eq(c, by_address(&owned, move || keep)));
        }
        assert!(c.addresses.load(Ordering::Relaxed) > MAX_ADDRESSES_PER_ROUTE);
    }

    #[test]
    fn span_names_follow_the_conventions() {
        let r = by_text("/t/orders/{id}");
        assert_eq!(r.span_name(1), "GET /t/orders/{id}");
        assert_eq!(r.span_name(OTHER_METHOD), "HTTP /t/orders/{id}");
        assert_eq!(UNMATCHED.span_name(3), "POST");
        assert_eq!(UNMATCHED.span_name(OTHER_METHOD), "HTTP");
    }
}
