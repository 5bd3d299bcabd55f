//! The `http_service` example's app under real HTTP clients (ureq, raw sockets, hyper
//! through the instrumented client, reqwest through the middleware): exact counts per
//! method, route and status under concurrency; route templates whatever the ids;
//! bogus methods and paths bounded; panics counted as 500 with and without catch-panic;
//! cancelled requests counted apart; active requests back to 0; a caller's
//! `traceparent` continued by the server span and the client span of `/proxy`, exported
//! to a real OTLP receiver; the correlation id echoed and in the JSON log lines;
//! `promtool check metrics` clean; and the metrics path allocates nothing per request.

// Counts are small integers, exact in an f64.
#![allow(clippy::float_cmp)]

#[path = "http_service/common.rs"]
mod common;

use std::time::Duration;

use common::{env, labels, raw, scrape, series_count, server_count, value, wait_metrics};
use flext_observability_tests::http::{get, get_with, send};

const DURATION: &str = "http_server_request_duration_seconds";

/// Counts the allocations of each thread, so a test can count its own.
struct Counting;

std::thread_local! {
    static ALLOCATIONS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

fn count_allocation() {
    // `try_with`: allocations also happen while thread-locals are torn down.
    let _ = ALLOCATIONS.try_with(|c| c.set(c.get() + 1));
}

// SAFETY: every call is forwarded to the system allocator unchanged.
unsafe impl std::alloc::GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: std::alloc::Layout) -> *mut u8 {
        count_allocation();
        // SAFETY: the caller's contract, passed on.
        unsafe { std::alloc::System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: std::alloc::Layout) {
        // SAFETY: the caller's contract, passed on.
        unsafe { std::alloc::System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: std::alloc::Layout, size: usize) -> *mut u8 {
        count_allocation();
        // SAFETY: the caller's contract, passed on.
        unsafe { std::alloc::System.realloc(ptr, layout, size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Allocations made by `layer` over 1,000 requests (after a first one that interns
/// the route), on this thread, with no `tracing` subscriber.
fn allocations_per_1000(layer: &flext_observability::http::ServerLayer) -> u64 {
    use std::pin::pin;
    use std::task::{Context, Poll, Waker};
    use tower::{Layer, Service};

    let inner = tower::service_fn(|_request: http::Request<()>| async {
        Ok::<_, std::convert::Infallible>(http::Response::new(String::new()))
    });
    let mut service = layer.layer(inner);
    let requests: Vec<http::Request<()>> = (0..1001)
        .map(|_| {
            let mut request = http::Request::get("/alloc/7").body(()).unwrap();
            request
                .extensions_mut()
                .insert(flext_observability::http::Route::new("/alloc/{id}"));
            request
        })
        .collect();
    tracing::subscriber::with_default(tracing::subscriber::NoSubscriber::default(), || {
        let mut cx = Context::from_waker(Waker::noop());
        let mut before = 0;
        for (i, request) in requests.into_iter().enumerate() {
            if i == 1 {
                before = ALLOCATIONS.with(std::cell::Cell::get);
            }
            let future = pin!(service.call(request));
            let Poll::Ready(Ok(response)) = future.poll(&mut cx) else {
                panic!("the inner service answers at once");
            };
            assert_eq!(response.status(), 200);
        }
        ALLOCATIONS.with(std::cell::Cell::get) - before
    })
}

#[test]
fn the_metrics_path_allocates_nothing() {
    use flext_observability::http::ServerLayer;
    let metrics_only = allocations_per_1000(&ServerLayer::new().spans(false).correlation(false));
    assert_eq!(
        metrics_only, 0,
        "allocations in 1,000 requests, metrics only"
    );
    // Spans nobody records cost nothing either.
    let unrecorded_spans = allocations_per_1000(&ServerLayer::new().correlation(false));
    assert_eq!(
        unrecorded_spans, 0,
        "allocations in 1,000 requests, spans unrecorded"
    );
    // A correlation id made and echoed: its bytes, and here the response's header map
    // (empty until then: two allocations on its first insertion).
    let correlated = allocations_per_1000(&ServerLayer::new());
    assert!(
        correlated <= 3_000,
        "{correlated} allocations in 1,000 correlated requests"
    );
}

#[test]
fn counts_are_exact_under_concurrency() {
    let (_turn, env) = env();
    let app = env.app;
    let before = scrape(env);
    let (threads, per_thread) = (8u64, 40u64);
    std::thread::scope(|s| {
        for t in 0..threads {
            s.spawn(move || {
                for i in 0..per_thread {
                    let id = t * per_thread + i;
                    assert_eq!(
                        get(&format!("http://{app}/orders/{id}")).unwrap().status,
                        200
                    );
                    let missing = 1000 + id;
                    assert_eq!(
                        get(&format!("http://{app}/orders/{missing}"))
                            .unwrap()
                            .status,
                        404
                    );
                    let created =
                        send("POST", &format!("http://{app}/orders"), "text/plain", "").unwrap();
                    assert_eq!(created.status, 201);
                }
            });
        }
    });
    let after = scrape(env);
    let n = (threads * per_thread) as f64;
    for (labels, want) in [
        (labels("GET", "200", Some("/orders/{id}"), None), n),
        (labels("GET", "404", Some("/orders/{id}"), None), n),
        (labels("POST", "201", Some("/orders"), None), n),
    ] {
        let delta = server_count(&after, &labels) - server_count(&before, &labels);
        assert!(
            (delta - want).abs() < f64::EPSILON,
            "{labels}: {delta} requests counted, {want} sent\n{}",
            common::relevant(&after)
        );
    }
    for method in ["GET", "POST"] {
        let active = value(
            &after,
            &format!(
                r#"http_server_active_requests{{http_request_method="{method}",url_scheme="http"}}"#
            ),
        );
        assert!(
            active.abs() < f64::EPSILON,
            "{method}: {active} still active"
        );
    }
}

#[test]
fn ten_thousand_ids_are_one_route() {
    let (_turn, env) = env();
    let app = env.app;
    // Every series these requests can produce exists once before.
    assert_eq!(get(&format!("http://{app}/orders/1")).unwrap().status, 200);
    assert_eq!(
        get(&format!("http://{app}/orders/1001")).unwrap().status,
        404
    );
    let before = scrape(env);
    let series_before = series_count(&before, DURATION);
    std::thread::scope(|s| {
        for t in 0..4u64 {
            s.spawn(move || {
                for id in (t..10_000).step_by(4) {
                    get(&format!("http://{app}/orders/{id}")).unwrap();
                }
            });
        }
    });
    let after = scrape(env);
    assert_eq!(
        series_count(&after, DURATION),
        series_before,
        "10,000 distinct ids added series:\n{}",
        common::relevant(&after)
    );
    let delta = |l: &str| server_count(&after, l) - server_count(&before, l);
    assert_eq!(
        delta(&labels("GET", "200", Some("/orders/{id}"), None)),
        1000.0
    );
    assert_eq!(
        delta(&labels("GET", "404", Some("/orders/{id}"), None)),
        9000.0
    );
    assert!(
        !after.contains("/orders/12"),
        "a raw path leaked into a label"
    );
}

#[test]
fn bogus_methods_and_paths_stay_bounded() {
    let (_turn, env) = env();
    let before = scrape(env);
    let n = 200;
    for i in 0..n {
        // A known route with a method nobody knows: axum answers 405, route matched.
        let (status, _) = raw(env.app, &format!("FOO{i}"), "/orders/1");
        assert_eq!(status, 405);
        // An unknown path with an unknown method: the fallback's 404, no route.
        let (status, _) = raw(
            env.app,
            &format!("BAR{i}"),
            &format!("/no/{i}/x%2f{i}?q={i}"),
        );
        assert_eq!(status, 404);
        // Methods are case-sensitive: `get` is not `GET`.
        let (status, _) = raw(env.app, "get", &format!("/random/{i}"));
        assert_eq!(status, 404);
    }
    let after = scrape(env);
    let new: Vec<&str> = after
        .lines()
        .filter(|l| l.starts_with("http_server_request_duration_seconds_count{"))
        .filter(|l| {
            let series = l.rsplit_once(' ').unwrap().0;
            !before.lines().any(|b| b.starts_with(series))
        })
        .collect();
    assert!(new.len() <= 2, "bogus requests added series: {new:?}");
    let delta = |l: &str| server_count(&after, l) - server_count(&before, l);
    assert_eq!(
        delta(&labels("_OTHER", "405", Some("/orders/{id}"), None)),
        f64::from(n)
    );
    assert_eq!(
        delta(&labels("_OTHER", "404", None, None)),
        f64::from(2 * n)
    );
    assert!(
        !after.contains("FOO1") && !after.contains("/no/"),
        "raw input leaked into labels"
    );

    // The span keeps the method the client sent; its name says `HTTP`.
    let span = env.receiver.wait_spans(Duration::from_secs(20), |spans| {
        spans
            .iter()
            .find(|s| s.attr("http.request.method_original").as_deref() == Some("FOO7"))
            .cloned()
    });
    let span = span.expect("the span of a FOO7 request");
    assert_eq!(span.span.name, "HTTP /orders/{id}");
    assert_eq!(span.attr("http.request.method").as_deref(), Some("_OTHER"));
}

#[test]
fn panics_are_500s_with_or_without_catch_panic() {
    let (_turn, env) = env();
    let caught = labels("GET", "500", Some("/panic"), Some("panic"));
    let uncaught = labels("GET", "500", Some("/bare/boom"), Some("panic"));
    let before = scrape(env);
    for _ in 0..5 {
        assert_eq!(
            get(&format!("http://{}/panic", env.app)).unwrap().status,
            500
        );
    }
    // Nothing catches it: the connection ends without an answer.
    for _ in 0..3 {
        let (status, _) = raw(env.bare, "GET", "/bare/boom");
        assert_eq!(status, 0, "no answer is expected without catch-panic");
    }
    let after = wait_metrics(env, "uncaught panics are counted", |text| {
        server_count(text, &uncaught) - server_count(&before, &uncaught) >= 3.0
    });
    assert_eq!(
        server_count(&after, &caught) - server_count(&before, &caught),
        5.0
    );
    assert_eq!(
        server_count(&after, &uncaught) - server_count(&before, &uncaught),
        3.0
    );
    let active = value(
        &after,
        r#"http_server_active_requests{http_request_method="GET",url_scheme="http"}"#,
    );
    assert!(
        active.abs() < f64::EPSILON,
        "{active} still active after panics"
    );
}

#[test]
fn cancelled_requests_are_counted_apart() {
    let (_turn, env) = env();
    let timed_out = labels("GET", "", Some("/bare/timeout"), Some("cancelled"));
    let gone = labels("GET", "", Some("/bare/slow"), Some("cancelled"));
    let before = scrape(env);

    // A timeout outside the layer drops the request's future.
    assert_eq!(
        get(&format!("http://{}/bare/timeout", env.bare))
            .unwrap()
            .status,
        504
    );

    // A client that goes away in the middle of a request.
    let active = r#"http_server_active_requests{http_request_method="GET",url_scheme="http"}"#;
    let mut stream = std::net::TcpStream::connect(env.bare).unwrap();
    std::io::Write::write_all(
        &mut stream,
        format!("GET /bare/slow HTTP/1.1\r\nHost: {}\r\n\r\n", env.bare).as_bytes(),
    )
    .unwrap();
    wait_metrics(env, "the slow request is active", |t| {
        value(t, active) >= 1.0
    });
    drop(stream);

    let after = wait_metrics(env, "the dropped request is counted", |t| {
        server_count(t, &gone) - server_count(&before, &gone) >= 1.0
    });
    assert_eq!(
        server_count(&after, &timed_out) - server_count(&before, &timed_out),
        1.0
    );
    assert_eq!(
        server_count(&after, &gone) - server_count(&before, &gone),
        1.0
    );
    let after = wait_metrics(env, "nothing stays active", |t| value(t, active) == 0.0);
    // No status was sent for either: they are neither successes nor server errors.
    assert!(
        !after
            .lines()
            .any(|l| l.contains("/bare/slow") && l.contains("status_code")),
        "{}",
        common::relevant(&after)
    );
}

#[test]
fn body_sizes_when_asked() {
    let (_turn, env) = env();
    let before = scrape(env);
    let body = "y".repeat(100);
    let r = send(
        "POST",
        &format!("http://{}/bare/sized", env.bare),
        "text/plain",
        &body,
    )
    .unwrap();
    assert_eq!((r.status, r.body.len()), (200, 200));
    let after = scrape(env);
    let l = labels("POST", "200", Some("/bare/sized"), None);
    for (family, bytes) in [
        ("http_server_request_body_size_bytes", 100.0),
        ("http_server_response_body_size_bytes", 200.0),
    ] {
        let sum = |t: &str| value(t, &format!("{family}_sum{{{l}}}"));
        let count = |t: &str| value(t, &format!("{family}_count{{{l}}}"));
        assert_eq!(count(&after) - count(&before), 1.0, "{family}");
        assert_eq!(sum(&after) - sum(&before), bytes, "{family}");
    }
    // The example does not ask for sizes: none of its routes has them.
    assert!(!after.contains(r#"http_server_request_body_size_bytes_count{http_request_method="GET",http_response_status_code="200",http_route="/orders/{id}""#));
}

#[test]
fn traceparent_continues_through_proxy() {
    let (_turn, env) = env();
    let trace = format!(
        "{:032x}",
        0x4bf9_2f35_77b3_4da6_a3ce_929d_0e0e_4736_u128 ^ u128::from(std::process::id())
    );
    let caller = "00f067aa0ba902b7";
    let r = get_with(
        &format!("http://{}/proxy/7", env.app),
        &[("traceparent", &format!("00-{trace}-{caller}-01"))],
    )
    .unwrap();
    assert_eq!(r.status, 200);
    let spans = env
        .receiver
        .wait_spans(Duration::from_secs(20), |spans| {
            let ours: Vec<_> = spans
                .iter()
                .filter(|s| s.trace_id() == trace)
                .cloned()
                .collect();
            (ours.len() >= 3).then_some(ours)
        })
        .expect("the server, client and inner server spans of /proxy reach the receiver");
    let find = |name: &str| {
        spans
            .iter()
            .find(|s| s.span.name == name)
            .unwrap_or_else(|| {
                panic!(
                    "no span {name} in {:?}",
                    spans.iter().map(|s| &s.span.name).collect::<Vec<_>>()
                )
            })
    };
    let server = find("GET /proxy/{id}");
    assert_eq!(
        server.parent_span_id(),
        caller,
        "the caller's span is the parent"
    );
    assert_eq!(server.span.kind, 2, "SERVER");
    assert_eq!(server.attr("http.route").as_deref(), Some("/proxy/{id}"));
    assert_eq!(
        server.attr("http.response.status_code").as_deref(),
        Some("200")
    );
    assert_eq!(server.attr("url.path").as_deref(), Some("/proxy/7"));
    let client = find("GET");
    assert_eq!(client.span.kind, 3, "CLIENT");
    assert_eq!(
        client.parent_span_id(),
        server.span_id(),
        "the client span is the server span's child"
    );
    assert_eq!(client.attr("server.address").as_deref(), Some("127.0.0.1"));
    assert_eq!(client.attr("server.port"), Some(env.app.port().to_string()));
    assert_eq!(
        client.attr("url.full"),
        Some(format!("http://{}/orders/7", env.app))
    );
    let inner = find("GET /orders/{id}");
    assert_eq!(
        inner.parent_span_id(),
        client.span_id(),
        "the call continues the trace"
    );
}

#[test]
fn correlation_id_is_echoed_and_logged() {
    let (_turn, env) = env();
    let id = format!("corr-{}", std::process::id());
    let r = get_with(
        &format!("http://{}/orders/3", env.app),
        &[("X-Correlation-ID", &id)],
    )
    .unwrap();
    assert_eq!(r.header("x-correlation-id"), Some(id.as_str()));
    let logged = |id: &str, message: &str| {
        flext_observability_tests::eventually(Duration::from_secs(10), || {
            env.logs
                .lines()
                .into_iter()
                .find(|l| l["correlation_id"] == id && l["message"] == message)
        })
    };
    let line = logged(&id, "order fetched").expect("a JSON line with the correlation id");
    assert_eq!(line["fields"]["order"], 3);
    assert_eq!(line["trace_id"].as_str().map(str::len), Some(32));

    // Without one, a UUID is made, echoed, logged, and forwarded by /proxy's call.
    let r = get(&format!("http://{}/proxy/9", env.app)).unwrap();
    let made = r
        .header("x-correlation-id")
        .expect("a generated id")
        .to_owned();
    assert_eq!(made.len(), 36, "{made}");
    logged(&made, "proxied").expect("the proxy's line");
    logged(&made, "order fetched").expect("the inner request's line carries the same id");

    // An id that is too long is replaced, not logged.
    let long = "z".repeat(500);
    let r = get_with(
        &format!("http://{}/orders/4", env.app),
        &[("X-Correlation-ID", &long)],
    )
    .unwrap();
    assert_ne!(r.header("x-correlation-id"), Some(long.as_str()));
}

#[test]
fn clients_measure_by_destination() {
    let (_turn, env) = env();
    let app = env.app;
    let port = app.port();
    let client_series = |status: &str, error: Option<&str>| {
        let error = error
            .map(|e| format!(r#"error_type="{e}","#))
            .unwrap_or_default();
        format!(
            r#"http_client_request_duration_seconds_count{{{error}http_request_method="GET",http_response_status_code="{status}",network_protocol_version="1.1",server_address="127.0.0.1",server_port="{port}"}}"#
        )
    };
    let before = scrape(env);
    let closed = flext_observability_tests::free_port();
    let (ok, missing, refused) = env.runtime.block_on(async {
        let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
            .with(flext_observability::http::ClientMiddleware::new())
            .build();
        let ok = client
            .get(format!("http://{app}/orders/8"))
            .send()
            .await
            .unwrap()
            .status();
        let missing = client
            .get(format!("http://{app}/orders/2000"))
            .send()
            .await
            .unwrap()
            .status();
        let refused = client
            .get(format!("http://127.0.0.1:{closed}/"))
            .send()
            .await
            .is_err();
        (ok, missing, refused)
    });
    assert_eq!((ok.as_u16(), missing.as_u16(), refused), (200, 404, true));
    let after = scrape(env);
    let delta = |s: &str| value(&after, s) - value(&before, s);
    assert_eq!(delta(&client_series("200", None)), 1.0);
    assert_eq!(delta(&client_series("404", Some("404"))), 1.0);
    let failed = after
        .lines()
        .find(|l| {
            l.starts_with("http_client_request_duration_seconds_count{")
                && l.contains(&format!(r#"server_port="{closed}""#))
        })
        .unwrap_or_else(|| {
            panic!(
                "no series for the refused call:\n{}",
                common::relevant(&after)
            )
        });
    assert!(
        failed.contains(r#"error_type="connect_error""#)
            || failed.contains(r#"error_type="connection_refused""#),
        "{failed}"
    );
    assert!(!failed.contains("http_response_status_code"), "{failed}");
}

#[test]
fn exposition_passes_promtool() {
    let (_turn, env) = env();
    get(&format!("http://{}/orders/5", env.app)).unwrap();
    let text = scrape(env);
    assert!(text.contains("# TYPE http_server_request_duration_seconds histogram"));
    assert!(text.contains("# TYPE http_server_active_requests gauge"));
    assert!(
        text.contains("# TYPE http_client_request_duration_seconds histogram")
            || !text.contains("http_client_")
    );
    let check = flext_observability_tests::require!(
        flext_observability_tests::tools::promtool_check_metrics(&text),
        "promtool",
        "apt-get install prometheus"
    );
    assert_eq!(check.code, 0, "promtool check metrics:\n{}", check.output);
    let om = flext_observability::prometheus::render_openmetrics();
    if let Some(check) = flext_observability_tests::tools::python_openmetrics_parse(&om) {
        assert_eq!(check.code, 0, "OpenMetrics parser:\n{}", check.output);
    }
}
