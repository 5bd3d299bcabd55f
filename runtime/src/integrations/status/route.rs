//! The routes: `/status`, `/status.json` and `/` (a redirect), answered on the blocking
//! pool (`heavy`), to clients on this machine, or to others with the health token.

use http::{HeaderValue, StatusCode, header};

use super::{csp, html, json, page, shared};
use crate::health;
use crate::routes::{Reply, Route, RouteEntry, RouteRequest};

static STATUS_ROUTES: Route = Route {
    matches: |path| matches!(path, "/" | "/status" | "/status/" | "/status.json"),
    respond,
    heavy: true,
};

inventory::submit!(RouteEntry {
    order: 40,
    route: &STATUS_ROUTES,
});

/// Who may read the page, and whether they see messages.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Access {
    Refused,
    /// The page; messages only with `details`.
    Allowed {
        details: bool,
    },
}

/// The health rules: a loopback client reads the page, and sees messages when
/// `health_details` is on; any client with the health token reads everything.
pub(super) fn access(req: &RouteRequest, show_details: bool, token: Option<&str>) -> Access {
    if token.is_some_and(|t| bearer_matches(req, t)) {
        return Access::Allowed { details: true };
    }
    if req.peer.is_some_and(|p| p.ip().is_loopback()) {
        return Access::Allowed {
            details: show_details,
        };
    }
    Access::Refused
}

/// Whether the request carries `Authorization: Bearer <token>` (as the health routes
/// check it: scheme in any case, compared without an early exit).
fn bearer_matches(req: &RouteRequest, token: &str) -> bool {
    let Some(value) = req.headers.get(header::AUTHORIZATION) else {
        return false;
    };
    let value = value.as_bytes();
    let Some(scheme) = value.get(..7) else {
        return false;
    };
    scheme.eq_ignore_ascii_case(b"bearer ")
        && constant_time_eq(value[7..].trim_ascii(), token.as_bytes())
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

/// `?refresh=N`: reload every N seconds (2 to 3600).
fn refresh(query: Option<&str>) -> Option<u32> {
    query?
        .split('&')
        .find_map(|pair| pair.strip_prefix("refresh="))
        .and_then(|n| n.parse::<u32>().ok())
        .map(|n| n.clamp(2, 3600))
}

fn no_store(reply: Reply) -> Reply {
    reply.header(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))
}

fn respond(req: &RouteRequest) -> Reply {
    let Some(shared) = shared() else {
        return Reply::text(
            StatusCode::NOT_FOUND,
            "the status page is off (`status_page(false)` or FLEXT_OBS_STATUS_PAGE=false)\n",
        );
    };
    let snapshot = health::snapshot();
    let exposure = snapshot.as_ref().map(|s| s.exposure());
    let access = access(
        req,
        exposure.is_some_and(|e| e.show_details),
        exposure.and_then(|e| e.token.as_deref()),
    );
    let Access::Allowed { details } = access else {
        return no_store(
            Reply::text(
                StatusCode::FORBIDDEN,
                "the status page answers clients on this machine, and others that send the \
                 health token (`Authorization: Bearer …`, `health_token(..)`)\n",
            )
            .header(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer")),
        );
    };
    match req.path.as_str() {
        "/" => Reply::text(StatusCode::FOUND, "see /status\n")
            .header(header::LOCATION, HeaderValue::from_static("/status")),
        "/status.json" => no_store(Reply::new(
            StatusCode::OK,
            "application/json",
            json::render(&page::gather(&shared, details)),
        )),
        _ => no_store(
            Reply::new(
                StatusCode::OK,
                "text/html; charset=utf-8",
                html::render(
                    &page::gather(&shared, details),
                    refresh(req.query.as_deref()),
                ),
            )
            .header(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(csp::POLICY),
            )
            .header(
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            )
            .header(
                header::REFERRER_POLICY,
                HeaderValue::from_static("no-referrer"),
            ),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(peer: &str, auth: Option<&str>) -> RouteRequest {
        let mut headers = http::HeaderMap::new();
        if let Some(a) = auth {
            headers.insert(header::AUTHORIZATION, HeaderValue::from_str(a).unwrap());
        }
        RouteRequest {
            path: "/status".into(),
            query: None,
            headers,
            peer: Some(peer.parse().unwrap()),
        }
    }

    #[test]
    fn refresh_is_bounded() {
        assert_eq!(refresh(Some("refresh=10")), Some(10));
        assert_eq!(refresh(Some("a=b&refresh=0")), Some(2));
        assert_eq!(refresh(Some("refresh=999999")), Some(3600));
        assert_eq!(refresh(Some("refresh=x")), None);
        assert_eq!(refresh(None), None);
    }

    #[test]
    fn loopback_reads_others_need_the_token() {
        let local = req("127.0.0.1:5000", None);
        assert_eq!(
            access(&local, false, None),
            Access::Allowed { details: false }
        );
        assert_eq!(
            access(&local, true, None),
            Access::Allowed { details: true }
        );
        assert_eq!(
            access(&req("[::1]:5000", None), true, Some("t")),
            Access::Allowed { details: true }
        );
        let remote = req("10.1.2.3:5000", None);
        assert_eq!(access(&remote, true, None), Access::Refused);
        assert_eq!(access(&remote, true, Some("s3cret")), Access::Refused);
        let with = req("10.1.2.3:5000", Some("Bearer s3cret"));
        assert_eq!(
            access(&with, false, Some("s3cret")),
            Access::Allowed { details: true }
        );
        assert_eq!(access(&with, false, Some("s3cres")), Access::Refused);
        assert_eq!(
            access(
                &req("10.1.2.3:5000", Some("bearer  s3cret ")),
                false,
                Some("s3cret")
            ),
            Access::Allowed { details: true }
        );
        assert_eq!(
            access(
                &req("10.1.2.3:5000", Some("Basic s3cret")),
                false,
                Some("s3cret")
            ),
            Access::Refused
        );
    }
}
