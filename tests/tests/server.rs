//! The embedded server over real HTTP: routes, methods, negotiation, start-up errors,
//! shutdown, and running from a sync `main` or inside Tokio. The tests of this file run
//! one after another because a process has at most one live installation.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::Command;
use std::sync::Mutex;

use flext_observability::{Error, Observability, monitor};
use flext_observability_tests::http;

static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[monitor]
fn work() {}

#[test]
fn routes_methods_and_negotiation() {
    let _serial = serial();
    let guard = Observability::builder()
        .listen("127.0.0.1:0")
        .install()
        .unwrap();
    let base = format!("http://{}", guard.local_addr().unwrap());
    work();

    let text = http::get(&format!("{base}/metrics")).unwrap();
    assert_eq!(text.status, 200);
    assert_eq!(
        text.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    assert!(
        text.body
            .contains(r#"function_calls_total{function="work""#)
    );

    for (accept, om) in [
        ("application/openmetrics-text; version=1.0.0", true),
        ("application/openmetrics-text", true),
        ("application/openmetrics-text; version=0.0.1", false),
        (
            "text/plain;version=0.0.4;q=0.9,application/openmetrics-text;q=0.5",
            false,
        ),
        ("*/*", false),
    ] {
        let resp = http::get_with(&format!("{base}/metrics"), &[("Accept", accept)]).unwrap();
        let ct = resp.header("content-type").unwrap().to_owned();
        assert_eq!(
            ct.starts_with("application/openmetrics-text; version=1.0.0"),
            om,
            "Accept: {accept} gave {ct}"
        );
        assert_eq!(resp.body.ends_with("# EOF\n"), om);
    }

    let missing = http::get(&format!("{base}/nope")).unwrap();
    assert_eq!(missing.status, 404);
    let post = http::send("POST", &format!("{base}/metrics"), "text/plain", "x").unwrap();
    assert_eq!(post.status, 405);
    assert_eq!(post.header("allow"), Some("GET, HEAD"));

    drop(guard);
}

#[test]
fn head_has_headers_and_no_body() {
    let _serial = serial();
    let guard = Observability::builder()
        .listen("127.0.0.1:0")
        .install()
        .unwrap();
    let addr = guard.local_addr().unwrap();
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "HEAD /metrics HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = String::new();
    stream.read_to_string(&mut raw).unwrap();
    assert!(raw.starts_with("HTTP/1.1 200"), "{raw}");
    assert!(
        raw.contains("content-type: text/plain; version=0.0.4"),
        "{raw}"
    );
    assert!(
        raw.ends_with("\r\n\r\n"),
        "HEAD must not carry a body: {raw:?}"
    );
}

#[monitor]
fn under_load(x: u64) -> u64 {
    std::hint::black_box(x)
}

#[test]
fn concurrent_scrapes_under_load_all_succeed_and_counts_only_grow() {
    let _serial = serial();
    let guard = Observability::builder()
        .service_name("load")
        .listen("127.0.0.1:0")
        .install()
        .unwrap();
    let url = format!("http://{}/metrics", guard.local_addr().unwrap());
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let workers: Vec<_> = (0..2)
        .map(|_| {
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut i = 0;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    under_load(i);
                    i += 1;
                }
            })
        })
        .collect();
    let scrapers: Vec<_> = (0..6)
        .map(|_| {
            let url = url.clone();
            std::thread::spawn(move || {
                let mut last = 0.0;
                for _ in 0..20 {
                    let resp = http::get(&url).unwrap();
                    assert_eq!(resp.status, 200);
                    let seen = flext_observability_tests::sample(
                        &resp.body,
                        r#"function_calls_total{function="under_load",module="server",service_name="load",result="ok"}"#,
                    )
                    .expect("the series is always there");
                    assert!(seen >= last, "a counter went down: {last} then {seen}");
                    last = seen;
                }
            })
        })
        .collect();
    for s in scrapers {
        s.join().unwrap();
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for w in workers {
        w.join().unwrap();
    }
    drop(guard);
}

#[test]
fn busy_port_is_a_bind_error_and_nothing_stays_installed() {
    let _serial = serial();
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap();
    let err = Observability::builder().listen(addr).install().unwrap_err();
    match &err {
        Error::Bind { addr: a, .. } => assert_eq!(*a, addr),
        other => panic!("expected a bind error, got {other}"),
    }
    assert!(err.to_string().contains(&addr.to_string()));
    // The failed attempt left nothing behind: a second one succeeds.
    let guard = Observability::builder()
        .listen("127.0.0.1:0")
        .install()
        .unwrap();
    drop(guard);
}

#[test]
fn one_live_installation_at_a_time_and_drop_stops_the_server() {
    let _serial = serial();
    let guard = Observability::builder()
        .listen("127.0.0.1:0")
        .install()
        .unwrap();
    let addr = guard.local_addr().unwrap();
    assert!(matches!(
        Observability::builder().without_server().install(),
        Err(Error::AlreadyInstalled)
    ));
    drop(guard);
    assert!(
        std::net::TcpStream::connect(addr).is_err(),
        "the server must be gone once the guard is dropped"
    );
    let again = Observability::builder().without_server().install().unwrap();
    assert!(again.local_addr().is_none());
}

#[test]
fn invalid_builder_values_name_the_method() {
    let _serial = serial();
    let err = Observability::builder()
        .listen("not an address")
        .install()
        .unwrap_err();
    assert!(err.to_string().contains("`listen`"), "{err}");
    let err = Observability::builder()
        .without_server()
        .histogram_buckets("x", &[1.0, 0.5])
        .install()
        .unwrap_err();
    assert!(err.to_string().contains("`histogram_buckets`"), "{err}");
    let err = Observability::builder()
        .without_server()
        .series_limit(0)
        .install()
        .unwrap_err();
    assert!(err.to_string().contains("`series_limit`"), "{err}");
}

#[test]
fn works_inside_a_tokio_runtime() {
    let _serial = serial();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let guard = Observability::builder()
            .listen("127.0.0.1:0")
            .install()
            .unwrap();
        let url = format!("http://{}/metrics", guard.local_addr().unwrap());
        // Our server runs on its own thread: a blocking client here cannot starve it.
        let resp = tokio::task::spawn_blocking(move || http::get(&url).unwrap())
            .await
            .unwrap();
        assert_eq!(resp.status, 200);
        drop(guard);
    });
}

/// Runs this test binary again with `env`, to see how `install()` treats the process
/// environment without mutating our own.
fn child(env: &[(&str, &str)]) -> String {
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_install_from_env",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("FLEXT_OBS_CHILD", "1")
        .envs(env.iter().copied())
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

#[test]
fn child_install_from_env() {
    if std::env::var_os("FLEXT_OBS_CHILD").is_none() {
        return;
    }
    match Observability::builder().install() {
        Ok(guard) => println!(
            "INSTALLED {:?} {}",
            guard.local_addr(),
            guard.service_name()
        ),
        Err(e) => println!("ERROR {e}"),
    }
}

#[test]
fn environment_configures_and_invalid_values_name_the_variable() {
    // Children bind `:0` too: serialised, they cannot take a port another test just freed.
    let _serial = serial();
    let out = child(&[("FLEXT_OBS_LISTEN", "127.0.0.1:99999")]);
    assert!(out.contains("ERROR invalid `FLEXT_OBS_LISTEN`"), "{out}");
    let out = child(&[
        ("FLEXT_OBS_LISTEN", "off"),
        ("OTEL_SERVICE_NAME", "billing"),
    ]);
    assert!(out.contains("INSTALLED None billing"), "{out}");
    let out = child(&[("OTEL_EXPORTER_PROMETHEUS_PORT", "port")]);
    assert!(
        out.contains("ERROR invalid `OTEL_EXPORTER_PROMETHEUS_PORT`"),
        "{out}"
    );
    // Blank is unset (the OpenTelemetry rule): the default name is used.
    let out = child(&[("FLEXT_OBS_LISTEN", ":0"), ("OTEL_SERVICE_NAME", "   ")]);
    assert!(out.contains(" unknown_service:"), "{out}");
    let out = child(&[("FLEXT_OBS_LISTEN", ":0")]);
    assert!(out.contains("INSTALLED Some(127.0.0.1:"), "{out}");
}
