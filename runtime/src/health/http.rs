//! Health routes of the embedded server, answered from the snapshot alone.
//!
//! - `/livez`, `/readyz`, `/startupz`: Kubernetes probes in kube-apiserver's style: `ok`,
//!   or one `[+]name ok` / `[-]name failed: reason` line per check on failure or with
//!   `?verbose`; `?exclude=name` (repeatable) leaves checks out; `/readyz/<check>` asks
//!   about one check.
//! - `/health`: every check in `application/health+json` (IETF draft); `/health/<name>`
//!   one check or one group.
//!
//! 200 when healthy or degraded, 503 otherwise; `Cache-Control: no-store`. Outputs,
//! observed values and details are withheld unless configured or the request carries the
//! bearer token.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::time::Instant;

use http::{HeaderValue, StatusCode, header};

use super::model::Exposure;
use super::report::{Probe, Status};
use super::state::{self, CheckState, Line, Verdict, Why};
use crate::json;
use crate::routes::{Reply, Route as ServerRoute, RouteEntry, RouteRequest};

const HEALTH_JSON: &str = "application/health+json";
const TEXT: &str = "text/plain; charset=utf-8";

static HEALTH_ROUTES: ServerRoute = ServerRoute {
    matches: |path| route(path).is_some(),
    respond,
    heavy: false,
};

inventory::submit!(RouteEntry {
    order: 10,
    route: &HEALTH_ROUTES,
});

/// A health route.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Route<'a> {
    Probe(Probe),
    /// `/livez/<check>` and the like.
    ProbeCheck(Probe, &'a str),
    /// `/health`.
    Health,
    /// `/health/<check or group>`.
    HealthNamed(&'a str),
}

/// The health route `path` names, if any.
pub(crate) fn route(path: &str) -> Option<Route<'_>> {
    let (first, rest) = match path.strip_prefix('/')?.split_once('/') {
        Some((first, rest)) => (first, Some(rest)),
        None => (path.strip_prefix('/')?, None),
    };
    let probe = match first {
        "livez" => Probe::Liveness,
        "readyz" => Probe::Readiness,
        "startupz" => Probe::Startup,
        "health" => Probe::All,
        _ => return None,
    };
    Some(match (probe, rest) {
        (Probe::All, None | Some("")) => Route::Health,
        (Probe::All, Some(name)) => Route::HealthNamed(name),
        (probe, None | Some("")) => Route::Probe(probe),
        (probe, Some(name)) => Route::ProbeCheck(probe, name),
    })
}

/// Parsed query parameters.
#[derive(Debug, Default)]
struct Query {
    verbose: bool,
    exclude: Vec<String>,
}

fn parse_query(query: Option<&str>) -> Query {
    let mut parsed = Query::default();
    for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        match key {
            "verbose" => parsed.verbose = !matches!(value, "false" | "0"),
            "exclude" => parsed.exclude.extend(
                decoded(value)
                    .split(',')
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned),
            ),
            _ => {}
        }
    }
    parsed
}

/// A percent-decoded path segment or query value. Names are plain ASCII; an escape that
/// does not decode is kept as written, so it matches no name (a 404, or an `exclude` that
/// matches nothing) instead of another one.
fn decoded(raw: &str) -> Cow<'_, str> {
    if raw.contains('%') {
        crate::percent::decode(raw).map_or(Cow::Borrowed(raw), Cow::Owned)
    } else {
        Cow::Borrowed(raw)
    }
}

/// Whether the request may see details: configured for everyone, or the bearer token.
fn authorized(req: &RouteRequest, exposure: &Exposure) -> bool {
    // Allowed details go to clients on this machine only; anyone else needs the token,
    // even when the server listens on every interface.
    if exposure.show_details && req.peer.is_some_and(|p| p.ip().is_loopback()) {
        return true;
    }
    let Some(token) = &exposure.token else {
        return false;
    };
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

/// Compares without an early exit, so the time taken says nothing about how much of the
/// token matched (only whether the lengths differ).
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

/// Answers a health route.
fn respond(req: &RouteRequest) -> Reply {
    let Some(route) = route(&req.path) else {
        return Reply::text(StatusCode::NOT_FOUND, "not found\n");
    };
    let Some(snapshot) = state::snapshot() else {
        return plain(
            StatusCode::SERVICE_UNAVAILABLE,
            "health checks are not running\n".into(),
        );
    };
    let query = parse_query(req.query.as_deref());
    let exclude: Vec<&str> = query.exclude.iter().map(String::as_str).collect();
    let details = authorized(req, snapshot.exposure());
    let now = Instant::now();
    match route {
        Route::Probe(probe) => {
            if probe == Probe::Readiness {
                state::mark_probed();
            }
            let verdict = snapshot.verdict(probe, &exclude, now);
            let body = probe_text(probe, &verdict, query.verbose, details);
            plain(code(verdict.status()), body)
        }
        Route::ProbeCheck(probe, name) => {
            let name = decoded(name);
            let name: &str = &name;
            let Some(line) = snapshot.probe_check(probe, name, now) else {
                return plain(
                    StatusCode::NOT_FOUND,
                    format!("no {} check named `{name}`\n", probe.as_str()),
                );
            };
            let status = line.status();
            let body = if status.is_available() {
                "ok\n".to_owned()
            } else {
                let mut text = String::new();
                write_line(&mut text, &line, details);
                text
            };
            plain(code(status), body)
        }
        Route::Health => {
            state::mark_probed();
            let verdict = snapshot.verdict(Probe::All, &exclude, now);
            json_response(&verdict, details)
        }
        Route::HealthNamed(name) => {
            let name = decoded(name);
            match snapshot.named(&name, &exclude, now) {
                Some(verdict) => json_response(&verdict, details),
                None => plain(
                    StatusCode::NOT_FOUND,
                    format!("no health check or group named `{name}`\n"),
                ),
            }
        }
    }
}

fn code(status: Status) -> StatusCode {
    if status.is_available() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    }
}

/// kube-apiserver's format: `ok`, or one line per check and a verdict.
fn probe_text(probe: Probe, verdict: &Verdict<'_>, verbose: bool, details: bool) -> String {
    let ok = verdict.status().is_available();
    if ok && !verbose {
        return "ok\n".to_owned();
    }
    let mut out = String::with_capacity(64 * (verdict.lines().len() + 2));
    for line in verdict.lines() {
        write_line(&mut out, line, details);
    }
    if matches!(probe, Probe::Readiness) {
        out.push_str(if verdict.draining() {
            "[-]shutdown failed: shutting down\n"
        } else {
            "[+]shutdown ok\n"
        });
    }
    if !verdict.unknown_excludes().is_empty() {
        let names: Vec<String> = verdict
            .unknown_excludes()
            .iter()
            .map(|n| format!("{n:?}"))
            .collect();
        let _ = writeln!(
            out,
            "warn: some health checks cannot be excluded: no matches for {}",
            names.join(",")
        );
    }
    let _ = writeln!(
        out,
        "{} check {}",
        probe.as_str(),
        if ok { "passed" } else { "failed" }
    );
    out
}

fn write_line(out: &mut String, line: &Line<'_>, details: bool) {
    let name = line.check().name();
    if line.excluded() {
        let _ = writeln!(out, "[+]{name} excluded: ok");
        return;
    }
    let status = line.status();
    let mark = if status.is_available() { '+' } else { '-' };
    let _ = write!(out, "[{mark}]{name} ");
    match line.why() {
        Why::Pending => out.push_str("pending: no result yet"),
        Why::Stale(age) => {
            let _ = write!(out, "unknown: the latest result is {age:.0?} old");
        }
        Why::Result | Why::Started => {
            out.push_str(match status {
                Status::Healthy => "ok",
                Status::Degraded => "degraded",
                Status::Unhealthy | Status::Unknown => "failed",
            });
            if status != Status::Healthy {
                match line.check().report().and_then(|r| r.output_text()) {
                    Some(text) if details => {
                        out.push_str(": ");
                        // One line per check, whatever the output holds.
                        out.extend(text.chars().map(|c| if c.is_control() { ' ' } else { c }));
                    }
                    _ => out.push_str(": reason withheld"),
                }
            }
        }
    }
    out.push('\n');
}

fn json_response(verdict: &Verdict<'_>, details: bool) -> Reply {
    let mut out = String::with_capacity(128 + 256 * verdict.lines().len());
    out.push('{');
    let mut first = true;
    json::key(&mut out, &mut first, "status");
    json::string(&mut out, verdict.status().as_ietf());
    if verdict.draining() {
        json::key(&mut out, &mut first, "output");
        json::string(&mut out, "shutting down");
    }
    json::key(&mut out, &mut first, "checks");
    out.push('{');
    let mut first_check = true;
    for line in verdict.lines().iter().filter(|l| !l.excluded()) {
        json::key(&mut out, &mut first_check, line.check().name());
        out.push('[');
        check_json(&mut out, line, details);
        out.push(']');
    }
    out.push_str("}}");
    body_response(code(verdict.status()), out, HEALTH_JSON)
}

fn check_json(out: &mut String, line: &Line<'_>, details: bool) {
    let check: &CheckState = line.check();
    out.push('{');
    let mut first = true;
    json::key(out, &mut first, "status");
    json::string(out, line.status().as_ietf());
    if !details {
        out.push('}');
        return;
    }
    json::key(out, &mut first, "componentType");
    json::string(out, check.kind().as_str());
    json::key(out, &mut first, "critical");
    out.push_str(if check.critical() { "true" } else { "false" });
    let groups: Vec<&str> = check.groups().collect();
    if !groups.is_empty() {
        json::key(out, &mut first, "groups");
        out.push('[');
        for (i, g) in groups.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            json::string(out, g);
        }
        out.push(']');
    }
    if let Some(time) = check.time() {
        json::key(out, &mut first, "time");
        json::string(out, &json::rfc3339(time));
    }
    if let Some(duration) = check.duration() {
        json::key(out, &mut first, "duration");
        json::number(out, duration.as_secs_f64());
    }
    let output = match line.why() {
        Why::Pending => Some("no result yet".to_owned()),
        Why::Stale(age) => Some(format!("the latest result is {age:.0?} old")),
        Why::Result | Why::Started => check
            .report()
            .and_then(|r| r.output_text())
            .map(str::to_owned),
    };
    if let Some(output) = output {
        json::key(out, &mut first, "output");
        json::string(out, &output);
    }
    if let Some(report) = check.report() {
        if let (Some(value), Some(unit)) = (report.observed_value(), report.observed_unit()) {
            json::key(out, &mut first, "observedValue");
            json::number(out, value);
            json::key(out, &mut first, "observedUnit");
            json::string(out, unit);
        }
        if !report.details().is_empty() {
            json::key(out, &mut first, "details");
            out.push('{');
            let mut first_detail = true;
            for (k, v) in report.details() {
                json::key(out, &mut first_detail, k);
                json::string(out, v);
            }
            out.push('}');
        }
    }
    if check.consecutive_failures() > 0 {
        json::key(out, &mut first, "consecutiveFailures");
        json::number(out, f64::from(check.consecutive_failures()));
    }
    if let Some(success) = check.last_success() {
        json::key(out, &mut first, "lastSuccess");
        json::string(out, &json::rfc3339(success));
    }
    out.push('}');
}

fn plain(status: StatusCode, body: String) -> Reply {
    body_response(status, body, TEXT)
}

/// Every health response: the body is given for `HEAD` too, so hyper writes the
/// `Content-Length` a `GET` would get (it never sends a body in answer to `HEAD`).
fn body_response(status: StatusCode, body: String, content_type: &'static str) -> Reply {
    Reply::new(status, content_type, body)
        .header(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))
        // Every health answer may change with the bearer token (reasons and outputs shown
        // or withheld), the plain-text probes too: caches must key on it.
        .header(header::VARY, HeaderValue::from_static("Authorization"))
        .header(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes() {
        assert_eq!(route("/readyz"), Some(Route::Probe(Probe::Readiness)));
        assert_eq!(route("/livez/"), Some(Route::Probe(Probe::Liveness)));
        assert_eq!(
            route("/livez/db"),
            Some(Route::ProbeCheck(Probe::Liveness, "db"))
        );
        assert_eq!(route("/health"), Some(Route::Health));
        assert_eq!(
            route("/health/cpu:utilization"),
            Some(Route::HealthNamed("cpu:utilization"))
        );
        assert_eq!(route("/metrics"), None);
        assert_eq!(route("/healthz"), None);
    }

    #[test]
    fn queries() {
        let q = parse_query(Some("verbose&exclude=db&exclude=cpu%3Autilization,disk"));
        assert!(q.verbose);
        assert_eq!(q.exclude, ["db", "cpu:utilization", "disk"]);
        assert!(!parse_query(Some("verbose=false")).verbose);
        // Undecodable escapes are kept as written; `+` is not a space in a name.
        assert_eq!(decoded("a%2"), "a%2");
        assert_eq!(decoded("%zz"), "%zz");
        assert_eq!(decoded("%+f"), "%+f");
        assert_eq!(decoded("cpu%3Autilization"), "cpu:utilization");
        assert_eq!(parse_query(Some("exclude=a%2Cb")).exclude, ["a", "b"]);
    }

    #[test]
    fn tokens() {
        let exposure = Exposure {
            show_details: false,
            token: Some("s3cret".into()),
        };
        let req = |auth: Option<&str>| {
            let mut headers = http::HeaderMap::new();
            if let Some(a) = auth {
                headers.insert(header::AUTHORIZATION, HeaderValue::from_str(a).unwrap());
            }
            RouteRequest {
                path: "/health".into(),
                query: None,
                headers,
                peer: None,
            }
        };
        assert!(authorized(&req(Some("Bearer s3cret")), &exposure));
        assert!(authorized(&req(Some("bearer s3cret")), &exposure));
        assert!(!authorized(&req(Some("Bearer s3cres")), &exposure));
        assert!(!authorized(&req(Some("Bearer s3cret2")), &exposure));
        assert!(!authorized(&req(Some("Basic s3cret")), &exposure));
        assert!(!authorized(&req(None), &exposure));
        assert!(!authorized(
            &req(Some("Bearer s3cret")),
            &Exposure::default()
        ));
    }
}
