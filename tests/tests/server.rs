//! The embedded server over real HTTP: routes, methods, negotiation, start-up errors,
//! shutdown, and running from a sync `main` or inside Tokio. The tests of this file run
//! one after another because a process has at most one live installation; how the
//! process environment configures `install()` is seen in child processes.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::Mutex;
use std::time::Duration;

use flext_observability::{Error, Observability, health_check, monitor};
use flext_observability_tests::child::{self, Child};
use flext_observability_tests::{eventually, http};

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

/// `install()` called inside the application's own runtime (`#[tokio::main]`): a busy
/// port is the same error, not a panic of the server's runtime dropped in there.
#[test]
fn busy_port_inside_a_tokio_runtime_is_an_error_not_a_panic() {
    let _serial = serial();
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .build()
        .unwrap();
    let err = runtime
        .block_on(async { Observability::builder().listen(addr).install() })
        .unwrap_err();
    assert!(matches!(err, Error::Bind { .. }), "{err}");
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

/// Runs [`child_install_from_env`] in a new process with `env`, to see how `install()`
/// treats the process environment without mutating our own.
fn child(env: &[(&str, &str)]) -> String {
    Child::new("child_install_from_env").envs(env).run()
}

/// Installs from the environment alone and prints the outcome.
#[test]
#[ignore = "child process of `environment_configures_and_invalid_values_name_the_variable`, which runs it"]
fn child_install_from_env() {
    child::enter("child_install_from_env");
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

/// `main` in the README's style: `install()?` in a function returning
/// `Result<(), Box<dyn Error>>`, which prints the error with `Debug`.
#[test]
#[ignore = "child process of `startup_errors_print_their_message_and_hint`, which runs it"]
fn child_main_returns_the_error() -> Result<(), Box<dyn std::error::Error>> {
    child::enter("child_main_returns_the_error");
    let _guard = Observability::builder().install()?;
    Ok(())
}

#[test]
fn startup_errors_print_their_message_and_hint() {
    let _serial = serial();
    let main = |env: &[(&str, &str)]| {
        Child::new("child_main_returns_the_error")
            .envs(env)
            .run_failing()
    };
    let out = main(&[("FLEXT_OBS_LISTEN", "nonsense")]);
    assert!(
        out.contains("Error: invalid `FLEXT_OBS_LISTEN`: `nonsense` is not `host:port` or `off`"),
        "{out}"
    );
    assert!(!out.contains("Config {"), "the Debug form leaked: {out}");
    // A busy port: the message, the operating system's reason and the hint.
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = busy.local_addr().unwrap().to_string();
    let out = main(&[("FLEXT_OBS_LISTEN", &addr)]);
    assert!(
        out.contains(&format!("Error: cannot listen on {addr}: "))
            && out.contains("(set FLEXT_OBS_LISTEN or `listen(..)`; `off` disables the server)"),
        "{out}"
    );
    assert!(!out.contains("Bind {") && !out.contains("Os {"), "{out}");
}

#[test]
fn the_alternate_debug_form_shows_the_fields() {
    let err = Observability::builder()
        .listen("nonsense")
        .install()
        .unwrap_err();
    assert_eq!(format!("{err:?}"), err.to_string());
    assert!(err.to_string().starts_with("invalid `listen`: "), "{err}");
    assert!(format!("{err:#?}").starts_with("Config {"), "{err:#?}");
}

/// A failing check whose output says something only details show.
#[health_check(interval = "100ms")]
fn quota() -> Result<(), String> {
    Err("quota at 97% of 10 GiB".into())
}

/// Installs from the environment with a server on every interface, asks for readiness
/// (or not) and for `quota`'s details from loopback and from the machine's other
/// address, then drops the guard and says when it returned.
#[test]
#[ignore = "child process of `drain_and_details_from_the_environment`, which runs it"]
fn child_drain_and_details() {
    child::enter("child_drain_and_details");
    let guard = Observability::builder()
        .listen("0.0.0.0:0")
        .system_checks(false)
        .install()
        .expect("install");
    let port = guard.local_addr().unwrap().port();
    let url = |host: &str, path: &str| format!("http://{host}:{port}{path}");
    // Until its first result `quota` is unknown (503 too): wait for the result itself,
    // on a route that does not count as a readiness probe.
    eventually(Duration::from_secs(30), || {
        http::get(&url("127.0.0.1", "/readyz/quota"))
            .ok()
            .filter(|r| r.body.contains("quota failed"))
    })
    .expect("quota's first result");
    let quota = http::get(&url("127.0.0.1", "/health/quota")).unwrap();
    assert_eq!(quota.status, 503, "{}", quota.body);
    println!("LOOPBACK DETAILS {}", quota.body.contains("97%"));
    // Another address of this machine: not a loopback peer.
    if let Some(other) = std::env::var("OTHER_ADDRESS")
        .ok()
        .filter(|a| !a.is_empty())
    {
        let remote = http::get(&url(&other, "/health/quota")).expect("the other address");
        println!("REMOTE DETAILS {}", remote.body.contains("97%"));
    }
    if std::env::var("PROBE_READINESS").is_ok() {
        http::get(&url("127.0.0.1", "/readyz")).unwrap();
    }
    drop(guard);
    println!("STOPPED");
}

/// An address of this machine that is not loopback, if it has one.
fn other_address() -> Option<String> {
    let socket = std::net::UdpSocket::bind("0.0.0.0:0").ok()?;
    // Connecting a UDP socket sends nothing: it only picks the outgoing interface.
    socket.connect("192.0.2.1:9").ok()?;
    let ip = socket.local_addr().ok()?.ip();
    (!ip.is_loopback() && !ip.is_unspecified()).then(|| ip.to_string())
}

#[test]
fn drain_and_details_from_the_environment() {
    let other = other_address().unwrap_or_default();
    let run = |env: &[(&str, &str)]| {
        Child::new("child_drain_and_details")
            .env("OTHER_ADDRESS", &other)
            .envs(env)
            .run()
    };
    // Details allowed from the environment: loopback callers see them, others do not.
    let out = run(&[
        ("FLEXT_OBS_HEALTH_DETAILS", "true"),
        ("FLEXT_OBS_SHUTDOWN_DRAIN", "200ms"),
        ("PROBE_READINESS", "1"),
    ]);
    assert!(out.contains("LOOPBACK DETAILS true"), "{out}");
    if other.is_empty() {
        eprintln!("note: no non-loopback address here; the remote-caller case was not run");
    } else {
        assert!(out.contains("REMOTE DETAILS false"), "{out}");
    }
    // Readiness was probed: the drain says what it does, for as long as configured.
    assert!(
        out.contains("shutting down: readiness fails now; waiting 200ms")
            && out.contains("STOPPED"),
        "{out}"
    );
    // Withheld by default; `0` skips the drain, and so does a readiness never probed.
    let out = run(&[("FLEXT_OBS_SHUTDOWN_DRAIN", "0"), ("PROBE_READINESS", "1")]);
    assert!(out.contains("LOOPBACK DETAILS false"), "{out}");
    assert!(!out.contains("shutting down:"), "{out}");
    let out = run(&[]);
    assert!(
        !out.contains("shutting down:") && out.contains("STOPPED"),
        "{out}"
    );
}

#[test]
fn invalid_drain_and_details_values_name_their_variable() {
    for (var, value) in [
        ("FLEXT_OBS_SHUTDOWN_DRAIN", "soon"),
        ("FLEXT_OBS_HEALTH_DETAILS", "yes"),
    ] {
        let out = Child::new("child_drain_and_details")
            .env(var, value)
            .run_failing();
        assert!(out.contains(&format!("invalid `{var}`")), "{var}: {out}");
    }
}
