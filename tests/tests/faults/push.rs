//! Pushgateways that fail: one that accepts connections and never answers, one that
//! answers 500, one that closes every connection at once. A push gives up within its
//! deadline (5 s by default) saying why, monitored calls made meanwhile are all counted,
//! and memory stays bounded.

#![allow(clippy::float_cmp)] // exact counts read back as f64

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use flext_observability::monitor;
use flext_observability::push::{PushError, Pushgateway};

use super::common::{mb, rss, runtime, serial};

#[monitor]
fn during_push() {}

/// How a fake gateway treats a connection.
#[derive(Clone, Copy, Debug)]
enum Behaviour {
    /// Reads the request and never answers.
    Silent,
    /// Answers 500.
    Error,
    /// Closes the connection at once.
    Reset,
}

/// A gateway on loopback behaving as told, until dropped.
struct Gateway {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
}

impl Gateway {
    fn start(behaviour: Behaviour) -> Gateway {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = Arc::clone(&stop);
        std::thread::spawn(move || {
            let mut held: Vec<TcpStream> = Vec::new();
            while !stopped.load(Ordering::Relaxed) {
                let Ok((mut stream, _)) = listener.accept() else {
                    std::thread::sleep(Duration::from_millis(5));
                    continue;
                };
                match behaviour {
                    Behaviour::Silent => held.push(stream),
                    Behaviour::Error => {
                        let _ = stream.set_read_timeout(Some(Duration::from_millis(200)));
                        let mut buf = vec![0u8; 65536];
                        let _ = stream.read(&mut buf);
                        let _ = stream.write_all(
                            b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 4\r\nConnection: close\r\n\r\nboom",
                        );
                    }
                    Behaviour::Reset => drop(stream),
                }
            }
        });
        Gateway { addr, stop }
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn calls() -> f64 {
    let text = flext_observability::prometheus::render();
    flext_observability_tests::sample_with(
        &text,
        "function_calls_total",
        &[
            ("function", "during_push"),
            ("module", "faults::faults::push"),
            ("result", "ok"),
        ],
    )
    .unwrap_or(0.0)
}

#[test]
fn failing_gateways_cost_a_bounded_time_and_nothing_else() {
    let _serial = serial();
    runtime();
    let before = rss();
    let failures = |reason: &str| {
        flext_observability_tests::sample(
            &flext_observability::prometheus::render(),
            &format!(r#"flext_observability_push_failures_total{{reason="{reason}"}}"#),
        )
        .unwrap_or(0.0)
    };
    let failed_before = failures("unreachable") + failures("rejected");
    let mut lines = Vec::new();
    for behaviour in [Behaviour::Silent, Behaviour::Error, Behaviour::Reset] {
        let gateway = Gateway::start(behaviour);
        let url = format!("http://fault:S3CRET%2F@{}", gateway.addr);
        let pushgateway = Pushgateway::new(&url, "fault_job").unwrap();
        let calls_before = calls();
        let started = Instant::now();
        let (result, made) = std::thread::scope(|scope| {
            let push = scope.spawn(|| pushgateway.push());
            // Monitored calls go on meanwhile, untouched by the push.
            let mut made = 0u32;
            while !push.is_finished() {
                for _ in 0..1000 {
                    during_push();
                }
                made += 1000;
                std::thread::sleep(Duration::from_millis(1));
            }
            (push.join().unwrap(), made)
        });
        let took = started.elapsed();
        let counted = calls() - calls_before;
        let error = result.expect_err("the push fails");
        let text = error.to_string();
        lines.push(format!("{behaviour:?}: gave up in {took:.1?}: {text}"));
        assert!(
            took < Duration::from_secs(6),
            "{behaviour:?}: the push took {took:?}, past its 5 s deadline: {text}"
        );
        assert!(
            matches!(
                error,
                PushError::Unreachable { .. } | PushError::Rejected { status: 500, .. }
            ),
            "{behaviour:?}: {error:?}"
        );
        assert!(
            !text.contains("S3CRET"),
            "{behaviour:?}: credentials shown: {text}"
        );
        assert_eq!(
            counted,
            f64::from(made),
            "{behaviour:?}: {made} monitored calls made during the push, {counted} counted"
        );
    }
    let grown = rss().saturating_sub(before);
    eprintln!("{}; RSS +{:.1} MB", lines.join("; "), mb(grown));
    assert_eq!(
        failures("unreachable") + failures("rejected") - failed_before,
        3.0,
        "each failed push is counted: {lines:?}"
    );
    assert!(
        grown < 16 * 1_048_576,
        "RSS grew by {:.1} MB over three failing pushes: {lines:?}",
        mb(grown)
    );
}
