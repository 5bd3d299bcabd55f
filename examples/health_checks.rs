//! Health checks that fail, hang and recover, and the probes that follow them.
//!
//! ```sh
//! cargo run --example health_checks                  # one round of the scenario, a few seconds
//! cargo run --example health_checks -- --keep-running
//! cargo run --example health_checks -- --hang        # inventory hangs for good (benchmarks)
//! FLEXT_OBS_HEALTH_PHASE_MS=5000 cargo run --example health_checks   # wait longer per step
//! ```
//!
//! A payments service on a loopback port is a critical dependency: the example closes the
//! port, then reopens it. An inventory client then starts hanging, then answers again.
//! `/readyz` flips to 503 and back each time, while `/livez` (a worker heartbeat) stays
//! 200 throughout. The built-in CPU, memory and disk checks (feature `system`) run
//! alongside. It listens on `FLEXT_OBS_LISTEN` (default `127.0.0.1:9464`) and prints what
//! the probes answer; the bounded run fails if they do not answer as expected.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use flext_observability::health::HealthReport;
use flext_observability::{Error, Observability, ObservabilityGuard, health_check};

/// Where the payments service listens; the example opens and closes it.
struct Payments {
    addr: SocketAddr,
    listener: Mutex<Option<TcpListener>>,
}

impl Payments {
    fn start() -> std::io::Result<Payments> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        Ok(Payments {
            addr: listener.local_addr()?,
            listener: Mutex::new(Some(listener)),
        })
    }

    /// Closes the port: connections are refused from now on.
    fn stop(&self) {
        self.listener.lock().unwrap().take();
    }

    /// Opens the same port again.
    fn restart(&self) -> std::io::Result<()> {
        *self.listener.lock().unwrap() = Some(TcpListener::bind(self.addr)?);
        Ok(())
    }
}

/// Whether the inventory client hangs (a dependency that accepts and never answers).
struct Inventory {
    hanging: AtomicBool,
}

/// The worker's last heartbeat, in milliseconds since the epoch.
static HEARTBEAT_MS: AtomicU64 = AtomicU64::new(0);

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Critical: without payments the service cannot take orders.
#[health_check(critical, interval = "500ms", timeout = "250ms", groups = ["dependencies"])]
async fn payments(payments: &Arc<Payments>) -> std::io::Result<()> {
    tokio::net::TcpStream::connect(payments.addr)
        .await
        .map(drop)
}

/// Critical too; when it hangs, the timeout drops its future and reports it.
#[health_check(critical, interval = "500ms", timeout = "300ms", groups = ["dependencies"])]
async fn inventory(inventory: &Arc<Inventory>) -> HealthReport {
    let started = Instant::now();
    if inventory.hanging.load(Ordering::Relaxed) {
        std::future::pending::<()>().await;
    }
    tokio::time::sleep(Duration::from_millis(5)).await;
    let millis = started.elapsed().as_secs_f64() * 1e3;
    HealthReport::healthy().observed((millis * 10.0).round() / 10.0, "ms")
}

/// Liveness: the process itself works (its worker beats), whatever the dependencies do.
#[health_check(kind = liveness, critical, interval = "500ms")]
fn worker_heartbeat() -> Result<(), String> {
    let age = now_ms().saturating_sub(HEARTBEAT_MS.load(Ordering::Relaxed));
    if age < 5_000 {
        Ok(())
    } else {
        Err(format!("no heartbeat for {age} ms"))
    }
}

fn install(
    payments: Arc<Payments>,
    inventory: Arc<Inventory>,
) -> Result<ObservabilityGuard, Error> {
    let builder = |payments, inventory| {
        Observability::builder()
            .service_name("health-example")
            .health_details(true) // a local demo: show every reason
            .drain_delay(Duration::from_millis(500))
            .resource(payments)
            .resource(inventory)
    };
    match builder(Arc::clone(&payments), Arc::clone(&inventory)).install() {
        // Someone else has 9464: carry on, on any free port.
        Err(Error::Bind { addr, error }) if error.kind() == std::io::ErrorKind::AddrInUse => {
            eprintln!("{addr} is in use; listening on a free port instead");
            builder(payments, inventory).listen("127.0.0.1:0").install()
        }
        other => other,
    }
}

/// `GET path` over a plain socket: (status, body).
fn get(addr: SocketAddr, path: &str) -> std::io::Result<(u16, String)> {
    let mut stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    Ok((status, body.to_owned()))
}

/// Waits (at most `within`) until `/readyz` answers `expected`, then prints both probes.
fn show(addr: SocketAddr, phase: &str, expected: u16, within: Duration) -> Result<(), String> {
    let deadline = Instant::now() + within;
    let (status, body) = loop {
        let (status, body) = get(addr, "/readyz?verbose").map_err(|e| e.to_string())?;
        if status == expected || Instant::now() >= deadline {
            break (status, body);
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let (live, _) = get(addr, "/livez").map_err(|e| e.to_string())?;
    println!("\n{phase}\n  GET /readyz -> {status}   GET /livez -> {live}");
    for line in body.lines() {
        println!("    {line}");
    }
    if status != expected {
        return Err(format!(
            "{phase}: /readyz answered {status}, expected {expected}"
        ));
    }
    if live != 200 {
        return Err(format!("{phase}: /livez answered {live}, expected 200"));
    }
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let keep_running = std::env::args().any(|a| a == "--keep-running");
    let hang = std::env::args().any(|a| a == "--hang");
    let phase = Duration::from_millis(match std::env::var("FLEXT_OBS_HEALTH_PHASE_MS") {
        Ok(s) => s
            .parse()
            .map_err(|_| format!("FLEXT_OBS_HEALTH_PHASE_MS: `{s}` is not a number"))?,
        Err(_) => 3000,
    });

    let payments = Arc::new(Payments::start()?);
    let inventory = Arc::new(Inventory {
        hanging: AtomicBool::new(hang),
    });
    // The worker whose heartbeat liveness watches.
    std::thread::spawn(|| {
        loop {
            HEARTBEAT_MS.store(now_ms(), Ordering::Relaxed);
            std::thread::sleep(Duration::from_millis(200));
        }
    });

    let guard = install(Arc::clone(&payments), Arc::clone(&inventory))?;
    let addr = guard.local_addr().ok_or("the embedded server is off")?;
    println!(
        "serving http://{addr}: /livez /readyz /startupz /health /health/dependencies /metrics"
    );

    if hang {
        println!("inventory hangs until interrupted (Ctrl-C)");
        show(addr, "inventory hangs: not ready, still alive", 503, phase)?;
        loop {
            std::thread::sleep(Duration::from_hours(1));
        }
    }
    if keep_running {
        println!("cycling through the scenario until interrupted (Ctrl-C)");
    }
    loop {
        show(addr, "1. everything up", 200, phase)?;
        payments.stop();
        show(
            addr,
            "2. payments port closed: not ready, still alive",
            503,
            phase,
        )?;
        payments.restart()?;
        show(addr, "3. payments back: ready again", 200, phase)?;
        inventory.hanging.store(true, Ordering::Relaxed);
        show(addr, "4. inventory hangs: each run times out", 503, phase)?;
        inventory.hanging.store(false, Ordering::Relaxed);
        show(addr, "5. inventory answers again: ready", 200, phase)?;
        if !keep_running {
            break;
        }
    }
    let (_, health) = get(addr, "/health/dependencies")?;
    println!("\nGET /health/dependencies -> {health}");
    println!("\nstopping: readiness fails first, then the server stops");
    drop(guard);
    Ok(())
}
