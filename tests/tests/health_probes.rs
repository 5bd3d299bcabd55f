//! Health probes over real HTTP against the embedded server: a hanging check times out
//! while probes keep answering, a panicking check is reported and the process lives, a
//! critical failure fails readiness but not liveness, `?verbose` and `?exclude=`, single
//! checks and groups, details withheld without the bearer token, `HEAD` with the headers
//! of `GET`, and percent-encoded names.

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::sync::OnceLock;
use std::time::Duration;

use flext_observability::health::{self, HealthReport, Status};
use flext_observability::{Observability, ObservabilityGuard, health_check};
use flext_observability_tests::{eventually, http, sample};
use serde_json::Value;

const TOKEN: &str = "probe-test-token-7f3a";

/// Never completes: every run times out and its future is dropped.
#[health_check(timeout = "100ms", interval = "200ms")]
async fn hanging() -> Result<(), String> {
    std::future::pending::<()>().await;
    Ok(())
}

/// Blocks its thread far past its timeout: a sync check cannot be stopped.
#[health_check(timeout = "100ms", interval = "200ms")]
fn hanging_sync() -> bool {
    std::thread::sleep(Duration::from_hours(1));
    true
}

#[health_check(interval = "200ms")]
fn panicking() -> Result<(), String> {
    panic!("boom: invariant broken")
}

/// A dependency that is down: its port is bound but not listening, so every connection
/// is refused and nothing else can take the port while the tests run.
#[health_check(critical, interval = "200ms")]
async fn database() -> std::io::Result<()> {
    static SOCKET: OnceLock<(tokio::net::TcpSocket, u16)> = OnceLock::new();
    let (_, port) = SOCKET.get_or_init(|| {
        let socket = tokio::net::TcpSocket::new_v4().expect("a socket");
        socket
            .bind(([127, 0, 0, 1], 0).into())
            .expect("a loopback port");
        let port = socket.local_addr().expect("bound").port();
        (socket, port)
    });
    tokio::net::TcpStream::connect(("127.0.0.1", *port))
        .await
        .map(drop)
}

#[health_check(kind = liveness, critical, interval = "200ms")]
fn event_loop() -> Status {
    Status::Healthy
}

#[health_check(groups = ["storage"], interval = "200ms")]
async fn cache() -> HealthReport {
    tokio::task::yield_now().await;
    HealthReport::healthy()
        .observed(12.5, "ms")
        .detail("node", "cache-1")
}

const CHECKS: &[&str] = &[
    "cache",
    "database",
    "event_loop",
    "hanging",
    "hanging_sync",
    "panicking",
];

/// One installation for every test of this file, once every check has a result.
fn base() -> &'static str {
    static SERVER: OnceLock<(ObservabilityGuard, String)> = OnceLock::new();
    &SERVER
        .get_or_init(|| {
            let guard = Observability::builder()
                .service_name("probes")
                .listen("127.0.0.1:0")
                .health_token(TOKEN)
                .system_checks(false)
                .install()
                .expect("install");
            let base = format!("http://{}", guard.local_addr().unwrap());
            let all_ran = eventually(Duration::from_secs(30), || {
                let snapshot = health::snapshot()?;
                snapshot
                    .checks()
                    .iter()
                    .all(|c| c.report().is_some())
                    .then_some(())
            });
            assert!(all_ran.is_some(), "every check has a first result");
            (guard, base)
        })
        .1
}

fn get(path: &str) -> http::Response {
    http::get(&format!("{}{path}", base())).expect("the server answers")
}

fn get_authorized(path: &str, token: &str) -> http::Response {
    let bearer = format!("Bearer {token}");
    http::get_with(
        &format!("{}{path}", base()),
        &[("Authorization", bearer.as_str())],
    )
    .expect("the server answers")
}

/// One request over a raw connection, so the path goes out exactly as written and the
/// head comes back as sent: the status line and headers (names lower-cased), and the
/// bytes after them.
fn raw(method: &str, path: &str) -> (String, Vec<(String, String)>, Vec<u8>) {
    let addr = base().trim_start_matches("http://");
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut bytes = Vec::new();
    stream.read_to_end(&mut bytes).expect("the server answers");
    let end = bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a complete head")
        + 4;
    let head = String::from_utf8(bytes[..end].to_vec()).unwrap();
    let mut lines = head.lines();
    let status = lines.next().unwrap().to_owned();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    (status, headers, bytes[end..].to_vec())
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn json(response: &http::Response) -> Value {
    serde_json::from_str(&response.body)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", response.body))
}

#[test]
fn critical_failure_fails_readiness_but_not_liveness() {
    let ready = get("/readyz");
    assert_eq!(ready.status, 503, "{}", ready.body);
    assert!(
        ready.body.contains("[-]database failed: reason withheld\n"),
        "{}",
        ready.body
    );
    assert!(
        ready.body.ends_with("readyz check failed\n"),
        "{}",
        ready.body
    );
    assert_eq!(ready.header("cache-control"), Some("no-store"));
    assert_eq!(
        ready.header("content-type"),
        Some("text/plain; charset=utf-8")
    );

    let live = get("/livez");
    assert_eq!((live.status, live.body.as_str()), (200, "ok\n"));
    assert_eq!(live.header("cache-control"), Some("no-store"));

    let health = get("/health");
    assert_eq!(health.status, 503);
    assert_eq!(
        health.header("content-type"),
        Some("application/health+json")
    );
    assert_eq!(json(&health)["status"], "fail");
}

#[test]
fn hanging_checks_time_out_and_probes_keep_answering() {
    base();
    // Both hanging checks hold a run (the sync one a thread) for as long as this test
    // lasts; every probe is still answered from the snapshot.
    for _ in 0..50 {
        assert_eq!(get("/livez").status, 200);
        assert_eq!(get("/readyz").status, 503);
    }
    let hanging = json(&get_authorized("/health/hanging", TOKEN));
    let check = &hanging["checks"]["hanging"][0];
    assert_eq!(check["status"], "fail", "{hanging}");
    assert_eq!(check["output"], "timed out after 100ms", "{hanging}");
    assert_eq!(check["duration"], 0.1, "a timed-out run lasts its timeout");

    let metrics = eventually(Duration::from_secs(30), || {
        let text = get("/metrics").body;
        let timeouts = sample(
            &text,
            r#"health_check_runs_total{check="hanging_sync",outcome="timeout"}"#,
        )?;
        // The first timeout, then "still running" at each later due time.
        (timeouts >= 2.0).then_some(text)
    })
    .expect("the stuck sync check is counted at every due time");
    assert_eq!(
        sample(
            &metrics,
            r#"health_check_abandoned_runs{check="hanging_sync"}"#
        ),
        Some(1.0),
        "one thread, not one per interval"
    );
    assert_eq!(
        sample(
            &metrics,
            r#"health_check_runs_total{check="hanging_sync",outcome="ok"}"#
        ),
        Some(0.0)
    );
    assert_eq!(
        sample(
            &metrics,
            r#"health_check_duration_seconds_count{check="hanging_sync"}"#
        ),
        Some(1.0),
        "the timed-out run is observed once; \"still running\" reports add no 0 s runs"
    );
    let sync = json(&get_authorized("/health/hanging_sync", TOKEN));
    let check = &sync["checks"]["hanging_sync"][0];
    let output = check["output"].as_str().unwrap().to_owned();
    assert!(
        output.starts_with("the previous run is still running"),
        "{output}"
    );
    assert!(check.get("duration").is_none(), "nothing ran: {check}");
}

#[test]
fn panicking_check_is_reported_and_runs_again() {
    base();
    let text = eventually(Duration::from_secs(30), || {
        let text = get("/metrics").body;
        let panics = sample(
            &text,
            r#"health_check_runs_total{check="panicking",outcome="panic"}"#,
        )?;
        (panics >= 2.0).then_some(text)
    })
    .expect("the check keeps running after panics");
    assert!(text.contains(
        r#"health_check_status{check="panicking",kind="readiness",critical="false",status="unhealthy"} 1"#
    ));
    let body = json(&get_authorized("/health/panicking", TOKEN));
    assert_eq!(
        body["checks"]["panicking"][0]["output"],
        "panicked: boom: invariant broken"
    );
    // Not critical: readiness without the critical failure is degraded, not failed.
    let ready = get("/readyz?exclude=database&verbose");
    assert_eq!(ready.status, 200, "{}", ready.body);
    assert!(
        ready
            .body
            .contains("[-]panicking failed: reason withheld\n")
    );
}

#[test]
fn verbose_and_exclude() {
    let ready = get("/readyz?verbose");
    let lines: Vec<&str> = ready.body.lines().collect();
    assert_eq!(
        lines,
        [
            "[+]cache ok",
            "[-]database failed: reason withheld",
            "[+]event_loop ok",
            "[-]hanging failed: reason withheld",
            "[-]hanging_sync failed: reason withheld",
            "[-]panicking failed: reason withheld",
            "[+]shutdown ok",
            "readyz check failed",
        ],
        "{}",
        ready.body
    );

    let live = get("/livez?verbose");
    assert_eq!(live.status, 200);
    assert_eq!(live.body, "[+]event_loop ok\nlivez check passed\n");

    let excluded = get("/readyz?exclude=database");
    assert_eq!((excluded.status, excluded.body.as_str()), (200, "ok\n"));
    let excluded = get("/readyz?verbose&exclude=database&exclude=hanging,nope");
    assert_eq!(excluded.status, 200, "{}", excluded.body);
    assert!(excluded.body.contains("[+]database excluded: ok\n"));
    assert!(excluded.body.contains("[+]hanging excluded: ok\n"));
    assert!(
        excluded
            .body
            .contains("warn: some health checks cannot be excluded: no matches for \"nope\"\n")
    );
    assert!(excluded.body.ends_with("readyz check passed\n"));

    // `exclude` applies to the JSON document too.
    let health = json(&get("/health?exclude=database"));
    assert_eq!(health["status"], "warn");
    assert!(health["checks"].get("database").is_none());
}

#[test]
fn details_are_withheld_without_the_token() {
    let withheld = json(&get("/health"));
    for name in CHECKS {
        let check = &withheld["checks"][name][0];
        assert_eq!(
            check.as_object().map(|o| o.keys().collect::<Vec<_>>()),
            Some(vec![&"status".to_owned()]),
            "{name}: {check}"
        );
    }
    let wrong = json(&get_authorized("/health", "probe-test-token-7f3b"));
    assert_eq!(wrong, withheld, "a wrong token shows nothing more");

    let shown = get_authorized("/health", TOKEN);
    assert_eq!(shown.header("vary"), Some("Authorization"));
    let shown = json(&shown);
    let cache = &shown["checks"]["cache"][0];
    assert_eq!(cache["status"], "pass");
    assert_eq!(cache["observedValue"], 12.5);
    assert_eq!(cache["observedUnit"], "ms");
    assert_eq!(cache["details"]["node"], "cache-1");
    assert_eq!(cache["componentType"], "readiness");
    assert_eq!(cache["critical"], false);
    assert_eq!(cache["groups"][0], "storage");
    assert!(cache["time"].as_str().unwrap().ends_with('Z'), "{cache}");
    assert!(cache["duration"].as_f64().unwrap() >= 0.0);
    let database = &shown["checks"]["database"][0];
    assert_eq!(database["status"], "fail");
    assert!(
        database["output"].as_str().unwrap().contains("refused"),
        "{database}"
    );
    assert!(database["consecutiveFailures"].as_u64().unwrap() >= 1);

    let ready = get_authorized("/readyz?verbose", TOKEN);
    assert!(
        ready
            .body
            .contains("[-]database failed: Connection refused"),
        "{}",
        ready.body
    );
    assert!(!get("/readyz?verbose").body.contains("refused"));
}

#[test]
fn single_checks_groups_and_methods() {
    let cache = get("/health/cache");
    assert_eq!(cache.status, 200);
    assert_eq!(json(&cache)["status"], "pass");
    let database = get("/health/database");
    assert_eq!(database.status, 503);
    assert_eq!(json(&database)["checks"]["database"][0]["status"], "fail");
    let group = get("/health/storage");
    assert_eq!(group.status, 200);
    let group = json(&group);
    assert_eq!(group["status"], "pass");
    assert_eq!(
        group["checks"]
            .as_object()
            .unwrap()
            .keys()
            .collect::<Vec<_>>(),
        ["cache"]
    );
    assert_eq!(get("/health/nope").status, 404);

    assert_eq!(get("/readyz/database").status, 503);
    assert_eq!(
        get("/readyz/database").body,
        "[-]database failed: reason withheld\n"
    );
    let live = get("/livez/event_loop");
    assert_eq!((live.status, live.body.as_str()), (200, "ok\n"));
    assert_eq!(get("/livez/database").status, 404, "not a liveness check");
    assert_eq!(get("/startupz").status, 200, "no startup checks");

    let post = http::send("POST", &format!("{}/readyz", base()), "text/plain", "x").unwrap();
    assert_eq!(post.status, 405);
    assert_eq!(post.header("allow"), Some("GET, HEAD"));
}

#[test]
fn head_has_the_headers_of_get() {
    for path in [
        "/livez",
        "/readyz",
        "/readyz?verbose",
        "/readyz/database",
        "/health",
        "/health/cache",
        "/health/storage",
        "/health/nope",
    ] {
        let got = get(path);
        let (status, headers, body) = raw("HEAD", path);
        assert!(
            status.starts_with(&format!("HTTP/1.1 {} ", got.status)),
            "{path}: {status}"
        );
        assert!(body.is_empty(), "{path}: no body in answer to HEAD");
        assert_eq!(
            header(&headers, "content-length"),
            Some(got.body.len().to_string().as_str()),
            "{path}: {headers:?}"
        );
        for name in ["content-type", "cache-control", "vary"] {
            assert_eq!(header(&headers, name), got.header(name), "{path}: {name}");
        }
    }
}

#[test]
fn every_health_answer_varies_on_authorization() {
    // The text probes change with the token too (reasons shown or withheld).
    for path in [
        "/livez",
        "/readyz?verbose",
        "/readyz/database",
        "/startupz",
        "/health",
        "/health/storage",
        "/health/nope",
    ] {
        assert_eq!(get(path).header("vary"), Some("Authorization"), "{path}");
    }
    assert_ne!(
        get("/readyz/database").body,
        get_authorized("/readyz/database", TOKEN).body
    );
}

#[test]
fn names_in_paths_are_percent_decoded() {
    // Sent exactly as written: `%65` is `e`, `%5F` is `_`, `%61` is `a`.
    let (status, _, body) = raw("GET", "/health/cach%65");
    assert!(status.starts_with("HTTP/1.1 200 "), "{status}");
    let body: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(body["checks"]["cache"][0]["status"], "pass", "{body}");
    let (status, _, _) = raw("GET", "/health/stor%61ge");
    assert!(status.starts_with("HTTP/1.1 200 "), "the group: {status}");
    let (status, _, body) = raw("GET", "/livez/event%5Floop");
    assert!(status.starts_with("HTTP/1.1 200 "), "{status}");
    assert_eq!(body, b"ok\n");
    // Escapes that do not decode match nothing, signs included.
    for path in ["/health/cache%zz", "/health/cach%+6", "/readyz/database%"] {
        let (status, _, _) = raw("GET", path);
        assert!(status.starts_with("HTTP/1.1 404 "), "{path}: {status}");
    }
    let (status, _, _) = raw("GET", "/readyz?exclude=d%61tabase");
    assert!(status.starts_with("HTTP/1.1 200 "), "{status}");
}
