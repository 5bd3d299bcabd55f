//! `/metrics` on the embedded server, in the format the scraper's `Accept` asks for.

use http::{HeaderValue, StatusCode, header};

use super::render::Format;
use crate::routes::{Reply, Route, RouteEntry, RouteRequest};

static METRICS: Route = Route {
    matches: |path| path == "/metrics",
    respond,
    // Each render builds the whole exposition in memory.
    heavy: true,
};

inventory::submit!(RouteEntry {
    order: 0,
    route: &METRICS,
});

fn respond(req: &RouteRequest) -> Reply {
    let format = Format::negotiate(req.header(header::ACCEPT));
    // The whole body also for HEAD: hyper sends no body then, but the `Content-Length`
    // GET would have.
    Reply::new(StatusCode::OK, format.content_type(), format.render())
        .header(header::VARY, HeaderValue::from_static("Accept"))
        .header(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))
}
