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

/// What the server runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum App {
    WithoutLayer,
    MetricsOnly,
    AsExample,
}

impl App {
    const ALL: [App; 3] = [App::WithoutLayer, App::MetricsOnly, App::AsExample];

    fn label(self) -> &'static str {
        match self {
            App::WithoutLayer => "without the layer (baseline)",
            App::MetricsOnly => {
                "with `ServerLayer` metrics only (`spans(false).correlation(false)`)"
            }
            App::AsExample => {
                "with `ServerLayer` as the example has it (metrics, span, correlation id)"
            }
        }
    }
}

/// CPU time (user + system) the process `pid` has used, in nanoseconds.
fn cpu_ns(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which may hold spaces, inside parentheses).
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    let hz = 100.0;
    (ticks(11) + ticks(12)) / hz * 1e9
}

/// Requests per second of one `wrk` run against a fresh server, and the server's CPU
/// time per request (ns).
fn one_run(app: App, seconds: u64, path: &str) -> (f64, f64) {
    let addr = free_addr();
    let mut server = Command::new(env!("CARGO_BIN_EXE_http_app"));
    server
        .env("APP_LISTEN", addr.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    match app {
        App::WithoutLayer => {
            server.arg("--without-layer");
        }
        App::MetricsOnly => {
            server.env("HTTP_APP_LAYER", "metrics");
        }
        App::AsExample => {}
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
    let cpu_before = cpu_ns(child.id());
    let out = wrk(seconds);
    let cpu = cpu_ns(child.id()) - cpu_before;
    let _ = child.kill();
    let _ = child.wait();
    let text = String::from_utf8_lossy(&out.stdout);
    let rps = text
        .lines()
        .find_map(|l| l.strip_prefix("Requests/sec:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no Requests/sec in wrk's output:\n{text}"));
    let errors = text
        .lines()
        .find(|l| l.contains("Non-2xx") || l.contains("Socket errors"));
    if let Some(e) = errors {
        eprintln!("  wrk: {e}");
    }
    let requests: f64 = text
        .lines()
        .find_map(|l| l.trim().split_once(" requests in "))
        .and_then(|(n, _)| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no request count in wrk's output:\n{text}"));
    (rps, cpu / requests)
}

pub(crate) fn main() {
    if Command::new("wrk").arg("--version").output().is_err() {
        println!("\nThroughput: SKIPPED (`wrk` not installed: apt-get install wrk)");
        return;
    }
    let (rounds, seconds) = if quick() { (1, 2) } else { (5, 8) };
    let path = "/orders/7";
    eprintln!("== throughput: wrk -t1 -c32 -d{seconds}s http://…{path}, {rounds} rounds");
    let mut rps: Vec<Vec<f64>> = vec![Vec::new(); App::ALL.len()];
    let mut cpu: Vec<Vec<f64>> = vec![Vec::new(); App::ALL.len()];
    for round in 0..rounds {
        // Rotate which one goes first.
        for k in 0..App::ALL.len() {
            let i = (k + round) % App::ALL.len();
            let (r, c) = one_run(App::ALL[i], seconds, path);
            eprintln!(
                "  round {round} {:?}: {r:.0} req/s, {c:.0} ns CPU/request",
                App::ALL[i]
            );
            rps[i].push(r);
            cpu[i].push(c);
        }
    }
    let rps: Vec<f64> = rps.iter_mut().map(|v| median(v)).collect();
    let cpu: Vec<f64> = cpu.iter_mut().map(|v| median(v)).collect();
    println!(
        "\n### Throughput of the `http_service` app (`GET {path}`, wrk -t1 -c32 -d{seconds}s, one server worker thread, median of {rounds})\n"
    );
    println!(
        "| app | requests/s | server CPU per request (ns) | capacity × baseline (CPU) | requests/s × baseline |"
    );
    println!("|---|---:|---:|---:|---:|");
    for i in 0..App::ALL.len() {
        println!(
            "| {} | {:.0} | {:.0} | {:.3} | {:.3} |",
            App::ALL[i].label(),
            rps[i],
            cpu[i],
            cpu[0] / cpu[i],
            rps[i] / rps[0]
        );
    }
    for i in 1..App::ALL.len() {
        let ratio = cpu[0] / cpu[i];
        println!(
            "\n{:?}: capacity {ratio:.3}× the app without the layer, by server CPU per request (target ≥ 0.95): {}",
            App::ALL[i],
            if ratio >= 0.95 { "met" } else { "NOT met" }
        );
    }
}
