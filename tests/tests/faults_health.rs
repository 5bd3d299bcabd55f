//! The health-check fault cases: checks that block a thread forever (async and sync),
//! never complete, panic with a payload that is not a string or whose own `Drop`
//! panics, fail with an error whose `Display` panics, and 200 checks every 100 ms — for
//! 30 s, while probes are polled. Probes must answer, a healthy critical check must stay
//! healthy, and threads and memory must stay flat.
//!
//! A binary of its own: its checks run in every process of the binary that declares
//! them, and would load the other fault cases (`faults.rs`).

use std::fmt;
use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use flext_observability::{Observability, health_check};
use flext_observability_tests::{eventually, http, sample};

/// Blocks its thread inside an `async fn`: it cannot be cancelled.
#[health_check(timeout = "100ms", interval = "200ms")]
#[allow(clippy::unused_async)] // the point: an async check that never awaits
async fn blocks_async() -> bool {
    std::thread::sleep(Duration::from_hours(24));
    true
}

/// A sync check that blocks forever.
#[health_check(timeout = "100ms", interval = "200ms")]
fn blocks_sync() -> bool {
    std::thread::sleep(Duration::from_hours(24));
    true
}

/// Never completes: cancelled at each timeout.
#[health_check(timeout = "100ms", interval = "200ms")]
async fn never_completes() -> bool {
    std::future::pending::<()>().await;
    true
}

#[health_check(interval = "200ms")]
fn panics_with_a_number() -> bool {
    std::panic::panic_any(42_u64)
}

/// A panic payload whose own `Drop` panics.
struct Bomb;

impl Drop for Bomb {
    fn drop(&mut self) {
        panic!("the payload's drop panics too");
    }
}

#[health_check(interval = "200ms")]
fn panics_with_a_bomb() -> bool {
    std::panic::panic_any(Bomb)
}

/// An error whose `Display` panics.
#[derive(Debug)]
struct Unprintable;

impl fmt::Display for Unprintable {
    fn fmt(&self, _: &mut fmt::Formatter<'_>) -> fmt::Result {
        panic!("Display of the error panics")
    }
}

#[health_check(interval = "200ms")]
#[allow(clippy::unused_async)] // an async check, like most that fail this way
async fn display_panics() -> Result<(), Unprintable> {
    Err(Unprintable)
}

/// The healthy critical check that must never be starved.
#[health_check(critical, timeout = "100ms", interval = "100ms")]
async fn steady() -> Result<(), String> {
    tokio::time::sleep(Duration::from_millis(1)).await;
    Ok(())
}

macro_rules! many {
    (sync: $($s:ident)*; async: $($a:ident)*) => {
        $(
            #[health_check(timeout = "50ms", interval = "100ms")]
            fn $s() -> bool {
                true
            }
        )*
        $(
            #[health_check(timeout = "50ms", interval = "100ms")]
            async fn $a() -> bool {
                tokio::task::yield_now().await;
                true
            }
        )*
    };
}

many!(sync: s000 s001 s002 s003 s004 s005 s006 s007 s008 s009 s010 s011 s012 s013 s014 s015 s016 s017 s018 s019 s020 s021 s022 s023 s024 s025 s026 s027 s028 s029 s030 s031 s032 s033 s034 s035 s036 s037 s038 s039 s040 s041 s042 s043 s044 s045 s046 s047 s048 s049 s050 s051 s052 s053 s054 s055 s056 s057 s058 s059 s060 s061 s062 s063 s064 s065 s066 s067 s068 s069 s070 s071 s072 s073 s074 s075 s076 s077 s078 s079 s080 s081 s082 s083 s084 s085 s086 s087 s088 s089 s090 s091 s092 s093 s094 s095 s096 s097 s098 s099; async: a000 a001 a002 a003 a004 a005 a006 a007 a008 a009 a010 a011 a012 a013 a014 a015 a016 a017 a018 a019 a020 a021 a022 a023 a024 a025 a026 a027 a028 a029 a030 a031 a032 a033 a034 a035 a036 a037 a038 a039 a040 a041 a042 a043 a044 a045 a046 a047 a048 a049 a050 a051 a052 a053 a054 a055 a056 a057 a058 a059 a060 a061 a062 a063 a064 a065 a066 a067 a068 a069 a070 a071 a072 a073 a074 a075 a076 a077 a078 a079 a080 a081 a082 a083 a084 a085 a086 a087 a088 a089 a090 a091 a092 a093 a094 a095 a096 a097 a098 a099);

/// The status of one request on a fresh connection.
fn status(addr: SocketAddr, path: &str) -> Result<u16, String> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))
        .map_err(|e| format!("connect: {e}"))?;
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .map_err(|e| e.to_string())?;
    stream
        .write_all(
            format!("GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .map_err(|e| format!("write: {e}"))?;
    let mut head = [0u8; 12];
    stream
        .read_exact(&mut head)
        .map_err(|e| format!("read: {e}"))?;
    std::str::from_utf8(&head[9..12])
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("not HTTP: {head:?}"))
}

fn rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().strip_suffix("kB"))
        .and_then(|v| v.trim().parse::<u64>().ok())
        .unwrap()
        * 1024
}

fn threads() -> usize {
    std::fs::read_dir("/proc/self/task").unwrap().count()
}

fn metric(addr: SocketAddr, series: &str) -> Option<f64> {
    let text = http::get(&format!("http://{addr}/metrics")).ok()?.body;
    sample(&text, series)
}

/// How long the checks run while the probes are polled.
const RUN: Duration = Duration::from_secs(30);
/// When threads and memory are first read: every check has run and every abandoned run
/// holds its thread.
const WARM_UP: Duration = Duration::from_secs(5);

#[test]
#[allow(clippy::too_many_lines)] // one scenario, read top to bottom
fn hostile_checks_starve_nobody_and_threads_and_memory_stay_flat() {
    // The hostile checks panic several times a second, on the runtime's check threads:
    // keep their panic messages out of the test's output.
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let check_thread = std::thread::current()
            .name()
            .is_some_and(|n| n.starts_with("flext-obs-check"));
        if !check_thread {
            default_hook(info);
        }
    }));
    let guard = Observability::builder()
        .listen("127.0.0.1:0")
        .system_checks(false)
        .install()
        .expect("install");
    let addr = guard.local_addr().unwrap();
    let ready = eventually(Duration::from_secs(10), || {
        (status(addr, "/readyz").ok()? == 200).then_some(())
    });
    assert!(ready.is_some(), "/readyz never 200 in 10 s");

    let started = Instant::now();
    let mut probes = 0u32;
    let mut failures = Vec::new();
    let mut slowest = Duration::ZERO;
    let mut warm: Option<(usize, u64)> = None;
    let mut peak_threads = 0;
    while started.elapsed() < RUN {
        for path in ["/livez", "/readyz", "/health/steady"] {
            let t = Instant::now();
            match status(addr, path) {
                Ok(200) => {}
                other => failures.push(format!("{:.1?}: {path}: {other:?}", started.elapsed())),
            }
            slowest = slowest.max(t.elapsed());
            probes += 1;
        }
        if warm.is_none() && started.elapsed() >= WARM_UP {
            warm = Some((threads(), rss()));
        }
        if warm.is_some() {
            peak_threads = peak_threads.max(threads());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let (warm_threads, warm_rss) = warm.unwrap();
    let (end_threads, end_rss) = (threads(), rss());
    let summary = format!(
        "{probes} probes over {RUN:?}, slowest {slowest:?}; threads {warm_threads} after \
         {WARM_UP:?}, peak {peak_threads}, {end_threads} at the end; RSS {:.1} MB after \
         {WARM_UP:?}, {:.1} MB at the end",
        warm_rss as f64 / 1_048_576.0,
        end_rss as f64 / 1_048_576.0
    );
    eprintln!("{summary}");
    assert!(
        failures.is_empty(),
        "{summary}; failed probes: {failures:?}"
    );
    // The checks' threads are the concurrency limit (8 by default) plus one per run
    // stuck past its timeout (the two that block forever, there since the warm-up);
    // a cancelled run's thread leaves as its replacement arrives, hence a little slack.
    assert!(
        peak_threads <= warm_threads + 3,
        "threads grew after warm-up: {summary}"
    );
    assert!(
        end_rss < warm_rss + 16 * 1_048_576,
        "memory grew by more than 16 MB after warm-up: {summary}"
    );

    // What the metrics say about each hostile check.
    for check in ["blocks_async", "blocks_sync"] {
        let abandoned = metric(
            addr,
            &format!(r#"health_check_abandoned_runs{{check="{check}"}}"#),
        );
        let ok = metric(
            addr,
            &format!(r#"health_check_runs_total{{check="{check}",outcome="ok"}}"#),
        );
        assert_eq!(abandoned, Some(1.0), "{check}: abandoned runs; {summary}");
        assert_eq!(
            ok,
            Some(0.0),
            "{check} was never started again (or it would have ok runs)"
        );
    }
    for (check, outcome, at_least) in [
        ("never_completes", "timeout", 100.0),
        ("panics_with_a_number", "panic", 100.0),
        ("panics_with_a_bomb", "panic", 100.0),
        ("display_panics", "panic", 100.0),
        ("steady", "ok", 250.0),
        ("s000", "ok", 250.0),
        ("a099", "ok", 250.0),
    ] {
        let runs = metric(
            addr,
            &format!(r#"health_check_runs_total{{check="{check}",outcome="{outcome}"}}"#),
        );
        assert!(
            runs.is_some_and(|n| n >= at_least),
            "{check}: {runs:?} runs with outcome {outcome} in {RUN:?}, expected at least \
             {at_least} (it kept being run); {summary}"
        );
    }
    let steady_failures = ["failed", "timeout", "panic"].map(|outcome| {
        metric(
            addr,
            &format!(r#"health_check_runs_total{{check="steady",outcome="{outcome}"}}"#),
        )
    });
    assert_eq!(
        steady_failures,
        [Some(0.0); 3],
        "the healthy critical check never failed (failed, timeout, panic); {summary}"
    );
    drop(guard);
}
