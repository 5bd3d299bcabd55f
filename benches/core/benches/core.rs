//! `#[monitor]` against its peers, and exposition rendering, in one run.
//!
//! ```sh
//! cd benches/core && cargo bench --bench core                    # full run, 2-10 minutes
//! cd benches/core && FLEXT_BENCH_QUICK=1 cargo bench --bench core # smoke run, seconds
//! ```
//!
//! The driver (this `main` without `FLEXT_BENCH_SECTION`) runs each section in a child
//! process (the per-call loops, the peers' renders, and the two `src/bin` programs that
//! render ours), collects their result lines, and prints markdown tables and the verdicts
//! on the targets of issue 2. Knobs (all optional): `FLEXT_BENCH_RUNS`,
//! `FLEXT_BENCH_RENDER_RUNS`, `FLEXT_BENCH_RETRIES`, `FLEXT_BENCH_WAIT_QUIET=<s>`,
//! `FLEXT_BENCH_WALL=1`, `FLEXT_BENCH_OUT=<file>`, `FLEXT_BENCH_VERBOSE=1`; see
//! BENCHMARKS.md. `FLEXT_BENCH_SECTION=profile FLEXT_BENCH_VARIANT=<name>` runs one
//! variant alone, for a profiler.

#[path = "core/calls.rs"]
mod calls;
#[path = "core/render_peers.rs"]
mod render_peers;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};

use flext_observability_bench_core::{probe_occupancy, quick, runs, wall_clock};

fn main() {
    match std::env::var("FLEXT_BENCH_SECTION").as_deref() {
        Ok("calls") => calls::main(),
        Ok("render-peers") => render_peers::main(),
        Ok("profile") => calls::profile(),
        Ok(other) => panic!("unknown FLEXT_BENCH_SECTION {other:?}"),
        Err(_) => driver(),
    }
}

/// One `@result` line of a child.
#[derive(Debug, Clone)]
struct Row {
    section: String,
    name: String,
    param: String,
    value: f64,
    extra: String,
}

fn run_child(label: &str, mut cmd: Command) -> Vec<Row> {
    eprintln!("== {label} (load {})", loadavg());
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("start {label}: {e}"));
    let mut rows = Vec::new();
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        let Some(rest) = line.strip_prefix("@result\t") else {
            eprintln!("  [{label}] {line}");
            continue;
        };
        let f: Vec<&str> = rest.split('\t').collect();
        rows.push(Row {
            section: f[0].to_owned(),
            name: f[1].to_owned(),
            param: f[2].to_owned(),
            value: f[3].parse().unwrap(),
            extra: f.get(4).copied().unwrap_or("").to_owned(),
        });
    }
    let status = child.wait().unwrap();
    assert!(status.success(), "{label} failed: {status}");
    rows
}

fn section(name: &str) -> Command {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.env("FLEXT_BENCH_SECTION", name);
    cmd
}

/// (steal, total) jiffies of all CPUs: steal is time the hypervisor gave our vCPUs to
/// another VM.
fn cpu_jiffies() -> (u64, u64) {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let Some(line) = stat.lines().find(|l| l.starts_with("cpu ")) else {
        return (0, 0);
    };
    let v: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|x| x.parse().ok())
        .collect();
    let total = v.iter().take(8).sum();
    (v.get(7).copied().unwrap_or(0), total)
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            let kb: u64 = s.lines().next()?.split_whitespace().nth(1)?.parse().ok()?;
            Some(format!("{} GiB", kb / 1024 / 1024))
        })
        .unwrap_or_default();
    let rustc = Command::new("rustc")
        .arg("-V")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();
    let clocksource =
        std::fs::read_to_string("/sys/devices/system/clocksource/clocksource0/current_clocksource")
            .map(|s| s.trim().to_owned())
            .unwrap_or_default();
    format!("{cpu}, {cores} vCPU, {mem}, kernel clocksource `{clocksource}`, {rustc}")
}

/// Probes how much CPU two busy threads get; with `FLEXT_BENCH_WAIT_QUIET=<seconds>`,
/// waits up to that long for a probe of at least 0.95 before measuring.
fn wait_for_quiet() -> f64 {
    let max_wait: u64 = std::env::var("FLEXT_BENCH_WAIT_QUIET")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(max_wait);
    loop {
        let occupancy = probe_occupancy(2, std::time::Duration::from_secs(1));
        eprintln!(
            "== quietness probe: 2 busy threads got {:.0}% of a CPU each",
            occupancy * 100.0
        );
        if occupancy >= 0.95 || std::time::Instant::now() >= deadline {
            return occupancy;
        }
        std::thread::sleep(std::time::Duration::from_secs(20));
    }
}

fn driver() {
    let started = std::time::Instant::now();
    let probe = wait_for_quiet();
    let load_before = loadavg();
    let jiffies_before = cpu_jiffies();
    let mut rows = Vec::new();
    rows.extend(run_child("calls", section("calls")));
    let mut traced = section("calls");
    traced.env("FLEXT_BENCH_TRACED", "1");
    rows.extend(run_child("calls with a tracing subscriber", traced));
    rows.extend(run_child("render: peers", section("render-peers")));
    rows.extend(run_child(
        "render: ours (facade, dynamic series)",
        Command::new(env!("CARGO_BIN_EXE_render_ours")),
    ));
    rows.extend(run_child(
        "render: ours (1k #[monitor] fns)",
        Command::new(env!("CARGO_BIN_EXE_render_static")),
    ));
    let load_after = loadavg();
    let jiffies_after = cpu_jiffies();
    let steal = (jiffies_after.0 - jiffies_before.0) as f64
        / (jiffies_after.1 - jiffies_before.1).max(1) as f64;

    let mut out = String::new();
    writeln!(
        out,
        "Machine: {}. Load average before / after: {load_before} / {load_after}. \
         CPU steal during the run: {:.1}%. Quietness probe before the run: two busy threads got {:.0}% of a CPU each. \
         Times are {}. Mode: {}, {} runs per call point, {} per render, medians; total {:.0} s.\n",
        machine(),
        steal * 100.0,
        probe * 100.0,
        if wall_clock() { "wall-clock time" } else { "each thread's CPU time (`CLOCK_THREAD_CPUTIME_ID`), so time a worker waited for a CPU held by another process on this shared machine is not counted" },
        if quick() { "QUICK (smoke, not for publishing)" } else { "full" },
        runs(),
        std::env::var("FLEXT_BENCH_RENDER_RUNS").unwrap_or_else(|_| (if quick() { "3" } else { "25" }).to_owned()),
        started.elapsed().as_secs_f64()
    )
    .unwrap();
    calls_report(&mut out, &rows);
    render_report(&mut out, &rows);
    println!("\n{out}");
    if let Some(path) = std::env::var_os("FLEXT_BENCH_OUT") {
        std::fs::write(&path, &out).expect("write FLEXT_BENCH_OUT");
        eprintln!("report written to {}", path.to_string_lossy());
    }
}

/// (name, what it measures) in table order; `None` starts a group.
const CALL_ROWS: &[(&str, &str)] = &[
    ("bare", "bare fn: `work(x)` in an `#[inline(never)]` fn"),
    (
        "bare_async",
        "bare `async fn`, polled once with a noop waker",
    ),
    ("bare_err", "bare fn returning `Err`"),
    ("clock_instant", "+ one `Instant::now()`"),
    ("clock_quanta", "+ one `quanta::Clock::raw()`"),
    ("clock_rdtsc", "+ one raw `rdtsc`"),
    (
        "floor_instant_shared",
        "floor: 2 × `Instant::now()` + count/sum/bucket, shared atomics",
    ),
    (
        "floor_quanta_shared",
        "floor: 2 × quanta raw + count/sum/bucket, shared atomics",
    ),
    (
        "floor_quanta_sharded",
        "floor: 2 × quanta raw + per-thread padded shards (`fetch_add`)",
    ),
    (
        "floor_quanta_slots",
        "floor: 2 × quanta raw + per-thread single-writer slots (load+store)",
    ),
    (
        "floor_quanta_slots_count_all",
        "single-writer floor, but the bucket by a branch-free count over all 22 bounds (`#[monitor]` before 8925ca9)",
    ),
    (
        "floor_rdtsc_slots",
        "single-writer floor, but `rdtsc` inline instead of a call to `quanta::Clock::raw`",
    ),
    ("monitor_sync", "**`#[monitor]`**, sync, `Ok`"),
    (
        "monitor_async",
        "**`#[monitor]`** `async fn`, polled to completion",
    ),
    ("monitor_err", "**`#[monitor]`**, returns `Err`"),
    (
        "monitor_nospan",
        "**`#[monitor(span = false)]`**, sync, `Ok`",
    ),
    (
        "autometrics_sync",
        "autometrics 3.0 (`prometheus-0_14`, `track_concurrency`), sync",
    ),
    ("autometrics_async", "autometrics 3.0, `async fn`"),
    ("autometrics_err", "autometrics 3.0, returns `Err`"),
    (
        "metrics_cached",
        "`metrics` 0.24 + metrics-exporter-prometheus 0.18, cached handles",
    ),
    (
        "metrics_macros",
        "`metrics` 0.24 + metrics-exporter-prometheus 0.18, macros per call",
    ),
    ("prometheus_cached", "`prometheus` 0.14, cached children"),
    (
        "prometheus_client_cached",
        "prometheus-client 0.25, cached handles",
    ),
];

/// Rows of the process with a `tracing` subscriber (spans on).
const TRACED_ROWS: &[(&str, &str)] = &[
    ("traced_bare", "bare fn"),
    ("traced_bare_async", "bare `async fn`"),
    ("traced_bare_err", "bare fn returning `Err`"),
    (
        "traced_monitor_sync",
        "**`#[monitor]`** with its span, sync, `Ok`",
    ),
    (
        "traced_monitor_async",
        "**`#[monitor]`** with its span, `async fn`",
    ),
    (
        "traced_monitor_err",
        "**`#[monitor]`** with its span, returns `Err`",
    ),
    (
        "traced_monitor_nospan",
        "**`#[monitor(span = false)]`** (subscriber present)",
    ),
    (
        "traced_tracing_sync",
        "`#[tracing::instrument(skip_all)]`, sync",
    ),
    (
        "traced_tracing_async",
        "`#[tracing::instrument(skip_all)]`, `async fn`",
    ),
    (
        "traced_tracing_err",
        "`#[tracing::instrument(skip_all, err)]`, returns `Err`",
    ),
    (
        "traced_tracing_pc",
        "`#[tracing::instrument(skip_all)]` around prometheus-client cached handles (the same facts as `#[monitor]` with its span)",
    ),
];

/// Peers with the same facts as `#[monitor]` sync (ok path), for the "fastest peer" target.
const PEERS: &[&str] = &[
    "autometrics_sync",
    "metrics_cached",
    "metrics_macros",
    "prometheus_cached",
    "prometheus_client_cached",
];

struct Calls {
    /// (name, threads) -> (ns per call, baseline name, spread)
    by: BTreeMap<(String, u32), (f64, String, f64)>,
}

impl Calls {
    fn ns(&self, name: &str, t: u32) -> Option<f64> {
        self.by.get(&(name.to_owned(), t)).map(|v| v.0)
    }
    fn overhead(&self, name: &str, t: u32) -> Option<f64> {
        let (ns, base, _) = self.by.get(&(name.to_owned(), t))?;
        Some(ns - self.ns(base, t)?)
    }
    fn spread(&self, name: &str, t: u32) -> Option<f64> {
        self.by.get(&(name.to_owned(), t)).map(|v| v.2)
    }
}

/// The `#[monitor]` row a variant compares with (in the same process).
fn ours_for(name: &str) -> Option<String> {
    let (prefix, base) = match name.strip_prefix("traced_") {
        Some(base) => ("traced_", base),
        None => ("", name),
    };
    if base.starts_with("bare") || base.starts_with("clock") || base.starts_with("monitor") {
        return None;
    }
    let ours = if base.ends_with("_async") {
        "monitor_async"
    } else if base.ends_with("_err") {
        "monitor_err"
    } else {
        "monitor_sync"
    };
    Some(format!("{prefix}{ours}"))
}

fn table(out: &mut String, calls: &Calls, rows: &[Row], list: &[(&str, &str)], prefix: &str) {
    writeln!(
        out,
        "| variant | 1 thread | overhead | × ours | 2 threads, each | overhead | × ours | spread |"
    )
    .unwrap();
    writeln!(out, "|---|---:|---:|---:|---:|---:|---:|---:|").unwrap();
    let fmt = |v: Option<f64>| v.map_or("–".to_owned(), |v| format!("{v:.1}"));
    for &(name, what) in list {
        if calls.ns(name, 1).is_none() {
            continue;
        }
        let mut line = format!("| {what} |");
        for t in [1, 2] {
            let ns = calls.ns(name, t);
            let overhead = if name.contains("bare") {
                None
            } else {
                calls.overhead(name, t)
            };
            let ratio = ours_for(name)
                .and_then(|o| Some(calls.overhead(name, t)? / calls.overhead(&o, t)?));
            write!(
                line,
                " {} | {} | {} |",
                fmt(ns),
                fmt(overhead),
                ratio.map_or("–".to_owned(), |r| format!("{r:.2}×"))
            )
            .unwrap();
        }
        let spread = calls
            .spread(name, 1)
            .unwrap_or(0.0)
            .max(calls.spread(name, 2).unwrap_or(0.0));
        write!(line, " {:.0}% |", spread * 100.0).unwrap();
        writeln!(out, "{line}").unwrap();
    }
    writeln!(out).unwrap();
    let occ = |name: &str, param: &str| {
        rows.iter().find(|r| {
            r.section == "occupancy" && r.name == format!("{prefix}{name}") && r.param == param
        })
    };
    if let (Some(o1), Some(o2), Some(d)) =
        (occ("min", "1"), occ("min", "2"), occ("disturbed", "all"))
    {
        writeln!(
            out,
            "Quietness: each worker's CPU time ÷ wall time over its window (a window below 0.95 is measured again, up to `FLEXT_BENCH_RETRIES` times, and the best-served one kept) was at least {:.3} (1 thread) and {:.3} (2 threads); {} of {} kept windows were below 0.95.\n",
            o1.value, o2.value, d.value, d.extra
        )
        .unwrap();
    }
}

fn calls_report(out: &mut String, rows: &[Row]) {
    let mut calls = Calls {
        by: BTreeMap::new(),
    };
    for r in rows.iter().filter(|r| r.section == "calls") {
        let (base, spread) = r.extra.split_once(':').unwrap_or((&r.extra, "0"));
        calls.by.insert(
            (r.name.clone(), r.param.parse().unwrap()),
            (r.value, base.to_owned(), spread.parse().unwrap_or(0.0)),
        );
    }
    if calls.by.is_empty() {
        return;
    }
    writeln!(out, "### Per-call cost (median ns per call; 2 threads: each thread's own ns per call, both hammering at once)\n").unwrap();
    writeln!(out, "Overhead = ns per call − the matching bare fn (sync, async or `Err`). \"× ours\" = overhead ÷ the overhead of the matching `#[monitor]` row. Spread = (max − min) ÷ median over the runs, worst of the two thread counts.\n").unwrap();
    writeln!(out, "No `tracing` subscriber in this process (as in a service that does not trace): `#[monitor]`'s span is filtered out at its callsite.\n").unwrap();
    table(out, &calls, rows, CALL_ROWS, "");
    writeln!(out, "With a `tracing` subscriber installed (`tracing_subscriber::registry().with(Identity)`, in its own process): `#[monitor]` opens its span on every call.\n").unwrap();
    table(out, &calls, rows, TRACED_ROWS, "traced_");
    writeln!(out, "### Targets (per-call)\n").unwrap();
    writeln!(out, "| target | 1 thread | 2 threads | verdict |").unwrap();
    writeln!(out, "|---|---|---|---|").unwrap();
    let verdict = |ok: bool| if ok { "**met**" } else { "**missed**" };
    // 1. floor
    for (floor, label) in [
        ("floor_quanta_slots", "single-writer slots"),
        ("floor_quanta_sharded", "padded `fetch_add` shards"),
    ] {
        let mut cells = Vec::new();
        let mut ok = true;
        for t in [1, 2] {
            let (Some(m), Some(f)) = (calls.overhead("monitor_sync", t), calls.overhead(floor, t))
            else {
                continue;
            };
            let r = m / f;
            ok &= r <= 1.3;
            cells.push(format!("{m:.1} / {f:.1} = {r:.2}×"));
        }
        writeln!(
            out,
            "| `#[monitor]` overhead ≤ 1.3 × per-thread floor ({label}) | {} | {} | {} |",
            cells.first().map_or("–", String::as_str),
            cells.get(1).map_or("–", String::as_str),
            verdict(ok)
        )
        .unwrap();
    }
    // 2. fastest peer
    {
        let mut cells = Vec::new();
        let mut ok = true;
        for t in [1, 2] {
            let Some(m) = calls.overhead("monitor_sync", t) else {
                continue;
            };
            let Some((peer, p)) = PEERS
                .iter()
                .filter_map(|&p| Some((p, calls.overhead(p, t)?)))
                .min_by(|a, b| a.1.total_cmp(&b.1))
            else {
                continue;
            };
            let r = p / m;
            ok &= r >= 3.0;
            cells.push(format!("{p:.1} ({peer}) / {m:.1} = {r:.2}×"));
        }
        writeln!(
            out,
            "| ≥ 3 × faster than the fastest peer (overhead) | {} | {} | {} |",
            cells.first().map_or("–", String::as_str),
            cells.get(1).map_or("–", String::as_str),
            verdict(ok)
        )
        .unwrap();
    }
    // 3. autometrics
    for (am, ours) in [
        ("autometrics_sync", "monitor_sync"),
        ("autometrics_async", "monitor_async"),
        ("autometrics_err", "monitor_err"),
    ] {
        let mut cells = Vec::new();
        let mut ok = true;
        for t in [1, 2] {
            let (Some(a), Some(m)) = (calls.overhead(am, t), calls.overhead(ours, t)) else {
                continue;
            };
            let r = a / m;
            ok &= r >= 10.0;
            cells.push(format!("{a:.1} / {m:.1} = {r:.1}×"));
        }
        writeln!(
            out,
            "| ≥ 10 × faster than autometrics ({}) | {} | {} | {} |",
            am.trim_start_matches("autometrics_"),
            cells.first().map_or("–", String::as_str),
            cells.get(1).map_or("–", String::as_str),
            verdict(ok)
        )
        .unwrap();
    }
    writeln!(out).unwrap();

    writeln!(
        out,
        "### Spans (no target in issue 2; context for the tracing comparison)\n"
    )
    .unwrap();
    writeln!(out, "| comparison | 1 thread | 2 threads |").unwrap();
    writeln!(out, "|---|---|---|").unwrap();
    let pair = |label: &str, a: &str, b: &str, diff: bool| {
        let mut line = format!("| {label} |");
        for t in [1, 2] {
            let cell = match (calls.overhead(a, t), calls.overhead(b, t)) {
                (Some(x), Some(y)) if diff => format!(" {x:.1} − {y:.1} = {:+.1} ns |", x - y),
                (Some(x), Some(y)) => format!(" {x:.1} / {y:.1} = {:.2}× |", x / y),
                _ => " – |".to_owned(),
            };
            line.push_str(&cell);
        }
        line
    };
    for line in [
        pair(
            "no subscriber: `#[monitor]` − `#[monitor(span = false)]` (the filtered-out span)",
            "monitor_sync",
            "monitor_nospan",
            true,
        ),
        pair(
            "subscriber: `#[monitor]` with its span ÷ `#[instrument]` alone (metrics on top of the span)",
            "traced_monitor_sync",
            "traced_tracing_sync",
            false,
        ),
        pair(
            "subscriber: `#[instrument]` + prometheus-client ÷ `#[monitor]` with its span (the same facts)",
            "traced_tracing_pc",
            "traced_monitor_sync",
            false,
        ),
    ] {
        writeln!(out, "{line}").unwrap();
    }
    writeln!(out).unwrap();
}

fn render_report(out: &mut String, rows: &[Row]) {
    // peer -> series -> (ms, bytes)
    let mut by: BTreeMap<String, BTreeMap<usize, (f64, u64)>> = BTreeMap::new();
    let mut order: Vec<String> = Vec::new();
    for r in rows.iter().filter(|r| r.section == "render") {
        if !order.contains(&r.name) {
            order.push(r.name.clone());
        }
        by.entry(r.name.clone()).or_default().insert(
            r.param.parse().unwrap(),
            (r.value, r.extra.parse().unwrap_or(0)),
        );
    }
    if by.is_empty() {
        return;
    }
    const REFERENCE: &str = "prometheus-client 0.25 (OpenMetrics)";
    writeln!(
        out,
        "### Rendering (median ms per render; a series = a counter + an 11-bucket histogram)\n"
    )
    .unwrap();
    writeln!(
        out,
        "| exporter | 1k series: ms | bytes | 10k series: ms | bytes | 10k ÷ prometheus-client |"
    )
    .unwrap();
    writeln!(out, "|---|---:|---:|---:|---:|---:|").unwrap();
    let reference = by.get(REFERENCE).and_then(|m| m.get(&10_000)).map(|v| v.0);
    for name in &order {
        let m = &by[name];
        let cell = |n: usize| {
            m.get(&n)
                .map_or(("–".to_owned(), "–".to_owned()), |(ms, b)| {
                    (format!("{ms:.2}"), format!("{b}"))
                })
        };
        let (a, ab) = cell(1_000);
        let (b, bb) = cell(10_000);
        let ratio = match (m.get(&10_000), reference) {
            (Some((ms, _)), Some(r)) => format!("{:.2}×", ms / r),
            _ => "–".to_owned(),
        };
        writeln!(out, "| {name} | {a} | {ab} | {b} | {bb} | {ratio} |").unwrap();
    }
    writeln!(out).unwrap();
    let ours = by
        .get("flext-observability (text 0.0.4)")
        .and_then(|m| m.get(&10_000))
        .map(|v| v.0);
    let ours_om = by
        .get("flext-observability (OpenMetrics)")
        .and_then(|m| m.get(&10_000))
        .map(|v| v.0);
    if let (Some(o), Some(om), Some(r)) = (ours, ours_om, reference) {
        let worst = o.max(om);
        writeln!(
            out,
            "Target: render of 10k series ≤ 0.5 × prometheus-client: text {o:.2} ms, OpenMetrics {om:.2} ms vs {r:.2} ms = {:.2}× / {:.2}× → {}\n",
            o / r,
            om / r,
            if worst / r <= 0.5 { "**met**" } else { "**missed**" }
        )
        .unwrap();
    }
}
