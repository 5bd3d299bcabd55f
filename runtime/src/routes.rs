//! Routes of the embedded server, as the parts that answer them see them: a request
//! reduced to what a read-only route needs, and a neutral reply that only the server
//! turns into HTTP. Every route registers itself ([`RouteEntry`] through `inventory`):
//! the server names none, and an integration adds a page without touching it.
//!
//! Every route answers `GET` and `HEAD` only (the server answers 405 otherwise); a
//! `HEAD` gets the headers `GET` would, `Content-Length` included.

use std::net::SocketAddr;

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};

/// What a route sees of a request.
#[derive(Debug)]
pub(crate) struct RouteRequest {
    pub(crate) path: String,
    pub(crate) query: Option<String>,
    pub(crate) headers: HeaderMap,
    /// The client's address, when known (pages that show more to local clients).
    pub(crate) peer: Option<SocketAddr>,
}

impl RouteRequest {
    /// A header's value, when it is text.
    pub(crate) fn header(&self, name: impl http::header::AsHeaderName) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// A response before it is HTTP.
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: StatusCode,
    pub(crate) content_type: &'static str,
    pub(crate) headers: Vec<(HeaderName, HeaderValue)>,
    pub(crate) body: Bytes,
}

impl Reply {
    /// A reply with a body and no other header.
    pub(crate) fn new(
        status: StatusCode,
        content_type: &'static str,
        body: impl Into<Bytes>,
    ) -> Self {
        Reply {
            status,
            content_type,
            headers: Vec::new(),
            body: body.into(),
        }
    }

    /// `text/plain` UTF-8.
    pub(crate) fn text(status: StatusCode, body: impl Into<Bytes>) -> Self {
        Reply::new(status, "text/plain; charset=utf-8", body)
    }

    /// Adds a header.
    #[must_use]
    pub(crate) fn header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.push((name, value));
        self
    }
}

/// One route (or family of routes, by path).
#[derive(Debug)]
pub(crate) struct Route {
    /// Whether this route answers `path`.
    pub(crate) matches: fn(&str) -> bool,
    /// The answer.
    pub(crate) respond: fn(&RouteRequest) -> Reply,
    /// Runs on the blocking pool, a bounded number at once: a render that takes
    /// milliseconds must not hold up the probes.
    pub(crate) heavy: bool,
}

/// What `inventory` collects for each route; routes are tried in `order`.
#[derive(Debug)]
pub(crate) struct RouteEntry {
    pub(crate) order: u16,
    pub(crate) route: &'static Route,
}

inventory::collect!(RouteEntry);

/// The route that answers `path`, if any.
pub(crate) fn find(path: &str) -> Option<&'static Route> {
    let mut entries: Vec<&RouteEntry> = inventory::iter::<RouteEntry>
        .into_iter()
        .filter(|e| (e.route.matches)(path))
        .collect();
    entries.sort_by_key(|e| e.order);
    entries.first().map(|e| e.route)
}
