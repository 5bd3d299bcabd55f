//! Rendering `/status` and `/status.json` for 1,000 monitored functions, every one of
//! them called in the sampled intervals (the worst case: every row has its windows,
//! quantiles and sparkline), timed from a client on loopback: the time includes the
//! request, the hop to the blocking pool and the response, so it bounds the render.
//!
//!   cd benches/status && cargo bench --bench status
//!
//! `FLEXT_BENCH_RUNS` (default 25) requests per page; the median and the worst are
//! reported. The target is 10 ms for `/status`.

use std::hint::black_box;
use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use flext_observability::Observability;

macro_rules! leaf {
    ($($m:ident)*) => {$(
        pub mod $m {
            #[flext_observability::monitor]
            pub fn handler(x: u64) -> Result<u64, String> {
                if x % 97 == 0 { Err(format!("rejected {x}")) } else { Ok(std::hint::black_box(x)) }
            }
        }
    )*};
}

macro_rules! middle {
    ($($m:ident)*) => {$(
        pub mod $m {
            leaf!(c0 c1 c2 c3 c4 c5 c6 c7 c8 c9);
            pub fn call_all(x: u64) -> u64 {
                [c0::handler(x), c1::handler(x), c2::handler(x), c3::handler(x), c4::handler(x),
                 c5::handler(x), c6::handler(x), c7::handler(x), c8::handler(x), c9::handler(x)]
                    .into_iter().map(|r| r.unwrap_or(1)).fold(0, |a, b| a ^ b)
            }
        }
    )*};
}

macro_rules! top {
    ($($m:ident)*) => {$(
        pub mod $m {
            middle!(b0 b1 b2 b3 b4 b5 b6 b7 b8 b9);
            pub fn call_all(x: u64) -> u64 {
                b0::call_all(x) ^ b1::call_all(x) ^ b2::call_all(x) ^ b3::call_all(x) ^ b4::call_all(x)
                    ^ b5::call_all(x) ^ b6::call_all(x) ^ b7::call_all(x) ^ b8::call_all(x) ^ b9::call_all(x)
            }
        }
    )*};
}

top!(a0 a1 a2 a3 a4 a5 a6 a7 a8 a9);

fn call_everything(x: u64) -> u64 {
    a0::call_all(x)
        ^ a1::call_all(x)
        ^ a2::call_all(x)
        ^ a3::call_all(x)
        ^ a4::call_all(x)
        ^ a5::call_all(x)
        ^ a6::call_all(x)
        ^ a7::call_all(x)
        ^ a8::call_all(x)
        ^ a9::call_all(x)
}

/// `GET path`, the whole response; its time and body size.
fn get(addr: SocketAddr, path: &str) -> (Duration, usize) {
    let started = Instant::now();
    let mut stream = TcpStream::connect(addr).expect("connect");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).expect("read");
    let elapsed = started.elapsed();
    assert!(
        response.starts_with(b"HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&response[..200.min(response.len())])
    );
    (elapsed, response.len())
}

fn main() {
    let guard = Observability::builder()
        .listen("127.0.0.1:0")
        .system_checks(false)
        .status_sample_interval(Duration::from_millis(100))
        .install()
        .expect("install");
    let addr = guard.local_addr().unwrap();
    // Calls in several intervals: every function has windows and a sparkline.
    for round in 0..10 {
        for x in 0..20 {
            black_box(call_everything(round * 20 + x));
        }
        std::thread::sleep(Duration::from_millis(120));
    }
    let runs: usize = std::env::var("FLEXT_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(25);
    println!("| page | median ms | worst ms | bytes |\n|---|---:|---:|---:|");
    for path in ["/status", "/status.json", "/metrics"] {
        get(addr, path);
        let mut times = Vec::new();
        let mut bytes = 0;
        for _ in 0..runs {
            let (t, b) = get(addr, path);
            times.push(t.as_secs_f64() * 1e3);
            bytes = b;
        }
        times.sort_by(f64::total_cmp);
        println!(
            "| `{path}`, 1,000 functions | {:.2} | {:.2} | {bytes} |",
            times[times.len() / 2],
            times[times.len() - 1]
        );
    }
    drop(guard);
}
