//! Throughput of the example's app with and without the layer, under `wrk` on loopback.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::{median, quick};

fn free_addr() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
}

/// Requests per second of one `wrk` run against a fresh server.
fn one_run(with_layer: bool, seconds: u64, path: &str) -> f64 {
    let addr = free_addr();
    let mut server = Command::new(env!("CARGO_BIN_EXE_http_app"));
    server
        .env("APP_LISTEN", addr.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if !with_layer {
        server.arg("--without-layer");
    }
    let mut child = server.spawn().expect("start http_app");
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(addr).is_err() {
        assert!(Instant::now() < deadline, "http_app did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    let url = format!("http://{addr}{path}");
    let wrk = |secs: u64| {
        Command::new("wrk")
            .args(["-t1", "-c32", &format!("-d{secs}s"), &url])
            .output()
            .expect("run wrk")
    };
    wrk(1); // warm-up: connections, pools, first requests of the route
    let out = wrk(seconds);
    let _ = child.kill();
    let _ = child.wait();
    let text = String::from_utf8_lossy(&out.stdout);
    let rps = text
        .lines()
        .find_map(|l| l.strip_prefix("Requests/sec:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no Requests/sec in wrk's output:\n{text}"));
    let errors = text.lines().find(|l| l.contains("Non-2xx") || l.contains("Socket errors"));
    if let Some(e) = errors {
        eprintln!("  wrk: {e}");
    }
    rps
}

pub(crate) fn main() {
    if Command::new("wrk").arg("--version").output().is_err() {
        println!("\nThroughput: SKIPPED (`wrk` not installed: apt-get install wrk)");
        return;
    }
    let (rounds, seconds) = if quick() { (1, 2) } else { (5, 8) };
    let path = "/orders/7";
    eprintln!("== throughput: wrk -t1 -c32 -d{seconds}s http://…{path}, {rounds} rounds");
    let (mut with, mut without) = (Vec::new(), Vec::new());
    for round in 0..rounds {
        // Alternate which one goes first.
        let order = if round % 2 == 0 { [true, false] } else { [false, true] };
        for layer in order {
            let rps = one_run(layer, seconds, path);
            eprintln!("  round {round} layer={layer}: {rps:.0} req/s");
            if layer { with.push(rps) } else { without.push(rps) }
        }
    }
    let (w, wo) = (median(&mut with), median(&mut without));
    let ratio = w / wo;
    println!("\n### Throughput of the `http_service` app (`GET {path}`, wrk -t1 -c32 -d{seconds}s, median of {rounds})\n");
    println!("| app | requests/s |");
    println!("|---|---:|");
    println!("| without the layer | {wo:.0} |");
    println!("| with `ServerLayer` (as the example: metrics, span, correlation, JSON logs) | {w:.0} |");
    println!(
        "\nRatio {ratio:.3} (target ≥ 0.95): {}",
        if ratio >= 0.95 { "met" } else { "NOT met" }
    );
}
