//! Connection flood: 2,000 idle connections, 200 slowloris connections trickling header
//! bytes, and a thread that keeps opening new idle ones, while 1,000 probe requests are
//! made. Every probe must be answered 200.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use super::common::{runtime, serial};

const IDLE: usize = 2_000;
const SLOWLORIS: usize = 200;
const PROBES: usize = 1_000;

/// One request on a fresh connection; the status and the time it took.
fn probe(addr: SocketAddr, path: &str) -> Result<(u16, Duration), String> {
    let started = Instant::now();
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))
        .map_err(|e| format!("connect: {e}"))?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .map_err(|e| e.to_string())?;
    stream
        .write_all(
            format!("GET {path} HTTP/1.1\r\nHost: probe\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .map_err(|e| format!("write: {e}"))?;
    let mut response = Vec::new();
    stream
        .read_to_end(&mut response)
        .map_err(|e| format!("read: {e}"))?;
    let head = String::from_utf8_lossy(&response[..response.len().min(64)]).into_owned();
    let status = head
        .strip_prefix("HTTP/1.1 ")
        .and_then(|s| s.get(..3))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("not an HTTP response: {head:?}"))?;
    Ok((status, started.elapsed()))
}

#[test]
#[allow(clippy::too_many_lines)] // one scenario, read top to bottom
fn probes_are_answered_during_a_connection_flood() {
    let _serial = serial();
    let addr = runtime();
    // Readiness is 503 until the first results: wait for them before the flood.
    let ready = flext_observability_tests::eventually(Duration::from_secs(10), || {
        (probe(addr, "/readyz").ok()?.0 == 200).then_some(())
    });
    assert!(
        ready.is_some(),
        "/readyz not 200 within 10 s before the flood"
    );

    let setup = Instant::now();
    let mut idle: Vec<TcpStream> = Vec::with_capacity(IDLE);
    for i in 0..IDLE {
        match TcpStream::connect_timeout(&addr, Duration::from_secs(5)) {
            Ok(s) => idle.push(s),
            Err(e) => panic!("idle connection {i} of {IDLE} could not connect: {e}"),
        }
    }
    let mut slow: Vec<TcpStream> = (0..SLOWLORIS)
        .map(|_| {
            let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).unwrap();
            let _ = s.write_all(b"GET /metrics HTTP/1.1\r\nHost: slow\r\n");
            s
        })
        .collect();

    let stop = Arc::new(AtomicBool::new(false));
    let churned = Arc::new(AtomicUsize::new(0));
    // Slowloris: one more header byte per connection every 100 ms.
    let trickle = {
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                for s in &mut slow {
                    let _ = s.write_all(b"X");
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        })
    };
    // Churn: new idle connections all along, 2,000 held at a time, as a client that
    // reopens what the server closed would.
    let churn = {
        let (stop, churned) = (Arc::clone(&stop), Arc::clone(&churned));
        std::thread::spawn(move || {
            let mut ring: std::collections::VecDeque<TcpStream> = idle.into();
            while !stop.load(Ordering::Relaxed) {
                if let Ok(s) = TcpStream::connect_timeout(&addr, Duration::from_secs(5)) {
                    ring.push_back(s);
                    churned.fetch_add(1, Ordering::Relaxed);
                }
                if ring.len() > IDLE {
                    ring.pop_front();
                }
                std::thread::sleep(Duration::from_micros(500));
            }
        })
    };

    eprintln!("flood set up in {:?}", setup.elapsed());
    let paths = ["/livez", "/readyz", "/startupz", "/metrics"];
    let started = Instant::now();
    let mut failures = Vec::new();
    let mut latencies = Vec::with_capacity(PROBES);
    for i in 0..PROBES {
        let path = paths[i % paths.len()];
        match probe(addr, path) {
            Ok((200, took)) => latencies.push(took),
            Ok((status, _)) => failures.push(format!("{path}: status {status}")),
            Err(e) => failures.push(format!("{path}: {e}")),
        }
    }
    let elapsed = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    trickle.join().unwrap();
    churn.join().unwrap();

    latencies.sort_unstable();
    let p = |q: usize| {
        latencies
            .get(latencies.len() * q / 100)
            .copied()
            .unwrap_or_default()
    };
    let summary = format!(
        "{} of {PROBES} probes answered 200 in {elapsed:.1?} (p50 {:?}, p99 {:?}, max {:?}) \
         while {IDLE} idle + {SLOWLORIS} slowloris connections were held and {} more opened",
        latencies.len(),
        p(50),
        p(99),
        latencies.last().copied().unwrap_or_default(),
        churned.load(Ordering::Relaxed)
    );
    eprintln!("{summary}");
    assert!(
        failures.is_empty(),
        "{summary}; failures ({}): {:?}",
        failures.len(),
        &failures[..failures.len().min(10)]
    );
    assert!(
        latencies.last().copied().unwrap_or_default() < Duration::from_secs(2),
        "a probe took over 2 s: {summary}"
    );
    // The server says what it closed to make room.
    let (status, _) = probe(addr, "/metrics").unwrap();
    assert_eq!(status, 200);
    let text = flext_observability_tests::http::get(&format!("http://{addr}/metrics"))
        .unwrap()
        .body;
    let evicted = flext_observability_tests::sample(
        &text,
        r#"flext_observability_server_connections_closed_total{reason="evicted"}"#,
    );
    assert!(
        evicted.is_some_and(|n| n >= (IDLE + SLOWLORIS - 512) as f64),
        "evictions counted: {evicted:?}; {summary}"
    );
}
