//! The per-call cost of `#[monitor]` under the subscriber `install()` really builds, for
//! each feature set and environment, against `tracing-subscriber` and
//! `tracing-opentelemetry` (issue 18), in one run:
//!
//! ```sh
//! cd benches/stack && cargo bench            # ROUNDS=5 CALLS=1000000 BLOCKS=21
//! ```
//!
//! The driver builds the case program (`src/bin/stack-case.rs`) once per feature set of
//! flext-observability (`otlp`, `logs`, none; in `target/variant-*`), then runs every
//! configuration in a process of its own (the subscriber is global), round after round,
//! configurations interleaved, and prints markdown tables with the median of the rounds.
//! Inside a process the functions compared are alternated block by block; ratios are
//! the median of the per-block ratios. `FLEXT_BENCH_OUT=<file>` also writes the tables
//! there.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::Command;

/// A target on a ratio.
#[derive(Clone, Copy)]
enum Target {
    None,
    /// `#[monitor]` ≤ this × `#[monitor(span = false)]`, same process.
    OverSpanFalse(f64),
}

struct Case {
    id: &'static str,
    variant: &'static str,
    mode: &'static str,
    env: &'static [(&'static str, &'static str)],
    what: &'static str,
    target: Target,
}

const SINK: (&str, &str) = ("FLEXT_BENCH_SINK", "1");
const WARN: (&str, &str) = ("LOG_LEVEL", "warn");
const INFO: (&str, &str) = ("LOG_LEVEL", "info");
const JSON: (&str, &str) = ("LOG_FORMAT", "json");
const NO_TRACES: (&str, &str) = ("OTEL_TRACES_EXPORTER", "none");
const DISABLED: (&str, &str) = ("OTEL_SDK_DISABLED", "true");
/// The same span queue for our exporter and the SDK's batch processor: the sink keeps
/// up, and neither drops for want of room.
const QUEUE: (&str, &str) = ("OTEL_BSP_MAX_QUEUE_SIZE", "65536");

const CASES: &[Case] = &[
    Case { id: "none", variant: "none", mode: "monitor", env: &[], what: "features `server` (no `logs`): no subscriber", target: Target::OverSpanFalse(1.2) },
    Case { id: "logs-warn", variant: "logs", mode: "monitor", env: &[WARN], what: "features `logs`, `LOG_LEVEL=warn`", target: Target::OverSpanFalse(1.2) },
    Case { id: "otlp-none-warn", variant: "otlp", mode: "monitor", env: &[WARN], what: "`otlp`, no endpoint, `LOG_LEVEL=warn`", target: Target::OverSpanFalse(1.2) },
    Case { id: "otlp-none-warn-json", variant: "otlp", mode: "monitor", env: &[WARN, JSON], what: "`otlp`, no endpoint, `LOG_LEVEL=warn`, JSON", target: Target::OverSpanFalse(1.2) },
    Case { id: "otlp-exporter-none-warn", variant: "otlp", mode: "monitor", env: &[SINK, NO_TRACES, WARN], what: "`otlp`, endpoint, `OTEL_TRACES_EXPORTER=none`, `LOG_LEVEL=warn`", target: Target::OverSpanFalse(1.2) },
    Case { id: "otlp-disabled-warn", variant: "otlp", mode: "monitor", env: &[DISABLED, WARN], what: "`otlp`, `OTEL_SDK_DISABLED=true`, `LOG_LEVEL=warn`", target: Target::OverSpanFalse(1.2) },
    Case { id: "logs-info", variant: "logs", mode: "monitor", env: &[INFO], what: "features `logs`, `LOG_LEVEL=info` (text)", target: Target::None },
    Case { id: "otlp-none-info", variant: "otlp", mode: "monitor", env: &[INFO], what: "`otlp`, no endpoint, `LOG_LEVEL=info` (text): the defaults", target: Target::None },
    Case { id: "otlp-none-info-json", variant: "otlp", mode: "monitor", env: &[INFO, JSON], what: "`otlp`, no endpoint, `LOG_LEVEL=info`, JSON", target: Target::None },
    Case { id: "otlp-exporter-none-info", variant: "otlp", mode: "monitor", env: &[SINK, NO_TRACES, INFO], what: "`otlp`, endpoint, `OTEL_TRACES_EXPORTER=none`, `LOG_LEVEL=info`", target: Target::None },
    Case { id: "otlp-disabled-info", variant: "otlp", mode: "monitor", env: &[DISABLED, INFO], what: "`otlp`, `OTEL_SDK_DISABLED=true`, `LOG_LEVEL=info`", target: Target::None },
    Case { id: "otlp-sampled-out", variant: "otlp", mode: "monitor", env: &[SINK, WARN, QUEUE, ("OTEL_TRACES_SAMPLER", "parentbased_traceidratio"), ("OTEL_TRACES_SAMPLER_ARG", "0.01")], what: "`otlp`, exporting, `parentbased_traceidratio` 0.01, `LOG_LEVEL=warn`", target: Target::None },
    Case { id: "otlp-sampled-in", variant: "otlp", mode: "monitor", env: &[SINK, WARN, QUEUE], what: "`otlp`, exporting, every trace sampled, `LOG_LEVEL=warn`", target: Target::None },
    Case { id: "otlp-sampled-in-info", variant: "otlp", mode: "monitor", env: &[SINK, INFO, QUEUE], what: "`otlp`, exporting, every trace sampled, `LOG_LEVEL=info` (text)", target: Target::None },
    Case { id: "peer-instrument-registry", variant: "otlp", mode: "peer-instrument-registry", env: &[], what: "`#[tracing::instrument]`, registry + no-op layer", target: Target::None },
    Case { id: "peer-otel-batch", variant: "otlp", mode: "peer-otel-batch", env: &[QUEUE], what: "`#[tracing::instrument]` + tracing-opentelemetry 0.34 + SDK 0.33 batch exporter (OTLP/HTTP), every trace sampled", target: Target::None },
    Case { id: "peer-otel-batch-ratio", variant: "otlp", mode: "peer-otel-batch-ratio", env: &[QUEUE], what: "the same, `ParentBased(TraceIdRatioBased(0.01))`", target: Target::None },
    Case { id: "otlp-json-line", variant: "otlp", mode: "json-line", env: &[INFO, JSON], what: "`otlp`, no endpoint, JSON at `info`: a line inside the call (with trace ids)", target: Target::None },
    Case { id: "otlp-json-line-disabled", variant: "otlp", mode: "json-line", env: &[INFO, JSON, DISABLED], what: "the same, `OTEL_SDK_DISABLED=true` (no trace ids)", target: Target::None },
    Case { id: "logs-json-line", variant: "logs", mode: "json-line", env: &[INFO, JSON], what: "features `logs`, JSON at `info`", target: Target::None },
    Case { id: "peer-json-line", variant: "logs", mode: "peer-json-line", env: &[], what: "the same functions under tracing-subscriber 0.3.23's JSON layer (`fmt::layer().json()`) at `INFO`", target: Target::None },
];

/// Builds the case program with one feature set; returns its path.
fn build(variant: &str) -> PathBuf {
    let dir = env!("CARGO_MANIFEST_DIR");
    let target = PathBuf::from(dir).join("target").join(format!("variant-{variant}"));
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(dir)
        .args(["build", "--release", "--bin", "stack-case", "--no-default-features"])
        .arg("--target-dir")
        .arg(&target);
    if variant != "none" {
        cmd.args(["--features", variant]);
    }
    eprintln!("== building the `{variant}` case program");
    let status = cmd.status().expect("run cargo");
    assert!(status.success(), "building the `{variant}` variant failed");
    target.join("release").join("stack-case")
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let rounds: usize = std::env::var("ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let exes: BTreeMap<&str, PathBuf> = ["otlp", "logs", "none"]
        .into_iter()
        .map(|v| (v, build(v)))
        .collect();
    let mut values: BTreeMap<(&str, String), Vec<f64>> = BTreeMap::new();
    let mut layers: BTreeMap<&str, String> = BTreeMap::new();
    for round in 0..rounds {
        eprintln!("== round {} of {rounds} (load {})", round + 1, loadavg());
        for case in CASES {
            let mut cmd = Command::new(&exes[case.variant]);
            cmd.arg(case.mode);
            for (k, _) in std::env::vars() {
                if k.starts_with("OTEL_") || k.starts_with("LOG_") || k.starts_with("FLEXT_BENCH_") {
                    cmd.env_remove(k);
                }
            }
            cmd.envs(case.env.iter().copied());
            let out = cmd.output().expect("run a case");
            assert!(
                out.status.success(),
                "{}: {}",
                case.id,
                String::from_utf8_lossy(&out.stderr)
            );
            if round == 0 && !out.stderr.is_empty() {
                eprint!("  [{}]\n{}", case.id, String::from_utf8_lossy(&out.stderr));
            }
            for line in String::from_utf8_lossy(&out.stdout).lines() {
                let Some((key, value)) = line.split_once('\t') else {
                    continue;
                };
                if key == "@layers" {
                    layers.insert(case.id, value.to_owned());
                } else if let Ok(v) = value.parse::<f64>() {
                    values.entry((case.id, key.to_owned())).or_default().push(v);
                }
            }
        }
    }
    let get = |id: &str, key: &str| -> f64 {
        values
            .get(&(
                CASES.iter().find(|c| c.id == id).unwrap().id,
                key.to_owned(),
            ))
            .map_or(f64::NAN, |v| median(v.clone()))
    };
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Median of {rounds} rounds; ns per call of the calling thread (CPU time).\n"
    );
    let _ = writeln!(
        out,
        "| configuration | layers installed | `#[monitor]` | `span = false` | ratio (alternated) | target | verdict |\n|---|---|---:|---:|---:|---|---|"
    );
    for case in CASES.iter().filter(|c| c.mode == "monitor") {
        let ratio = get(case.id, "monitor/span_false");
        let (target, verdict) = match case.target {
            Target::OverSpanFalse(max) => (
                format!("≤ {max}×"),
                if ratio <= max { "**met**" } else { "**missed**" }.to_owned(),
            ),
            Target::None => ("–".to_owned(), "–".to_owned()),
        };
        let _ = writeln!(
            out,
            "| {} | {} | {:.1} | {:.1} | {:.2}× | {target} | {verdict} |",
            case.what,
            layers.get(case.id).map_or("none", String::as_str),
            get(case.id, "monitor"),
            get(case.id, "span_false"),
            ratio,
        );
    }
    let _ = writeln!(out, "\n| peer | `#[instrument]` | `#[monitor]` in the same stack |\n|---|---:|---:|");
    for case in CASES.iter().filter(|c| c.mode.starts_with("peer-") && c.mode != "peer-json-line") {
        let _ = writeln!(
            out,
            "| {} | {:.1} | {:.1} |",
            case.what,
            get(case.id, "instrument"),
            get(case.id, "monitor")
        );
    }
    let sampled_out = get("otlp-sampled-out", "monitor");
    let registry = get("peer-instrument-registry", "instrument");
    let sampled_in = get("otlp-sampled-in", "monitor");
    let otel = get("peer-otel-batch", "instrument");
    let _ = writeln!(
        out,
        "\n| comparison | measured | target | verdict |\n|---|---|---|---|"
    );
    let _ = writeln!(
        out,
        "| exporting, 1 % sampled: `#[monitor]` ÷ `#[instrument]` under a registry | {sampled_out:.1} / {registry:.1} = {:.2}× | ≤ 2× | {} |",
        sampled_out / registry,
        if sampled_out / registry <= 2.0 { "**met**" } else { "**missed**" }
    );
    let _ = writeln!(
        out,
        "| exporting, every trace sampled: `#[monitor]` ÷ `#[instrument]` + tracing-opentelemetry + SDK batch exporter | {sampled_in:.1} / {otel:.1} = {:.2}× | < 1× | {} |",
        sampled_in / otel,
        if sampled_in < otel { "**met**" } else { "**missed**" }
    );
    let _ = writeln!(
        out,
        "\n| JSON lines | call with a line | call without | the line | `span = false` with a line | `span = false` |\n|---|---:|---:|---:|---:|---:|"
    );
    let mut lines = Vec::new();
    for case in CASES.iter().filter(|c| c.mode.ends_with("json-line")) {
        let line = get(case.id, "monitor_line") - get(case.id, "monitor");
        lines.push((case.id, line));
        let _ = writeln!(
            out,
            "| {} | {:.1} | {:.1} | {line:.1} | {:.1} | {:.1} |",
            case.what,
            get(case.id, "monitor_line"),
            get(case.id, "monitor"),
            get(case.id, "span_false_line"),
            get(case.id, "span_false"),
        );
    }
    let peer = get("peer-json-line", "monitor_line");
    let ours = get("otlp-json-line", "monitor_line");
    let _ = writeln!(
        out,
        "\nJSON line inside a monitored call, ours (`otlp`, with ids) ÷ tracing-subscriber's JSON layer: {ours:.1} / {peer:.1} = {:.2}× (target ≤ 1×: {})",
        ours / peer,
        if ours <= peer { "**met**" } else { "**missed**" }
    );
    print!("{out}");
    if let Ok(path) = std::env::var("FLEXT_BENCH_OUT") {
        std::fs::write(path, &out).expect("write FLEXT_BENCH_OUT");
    }
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(str::to_owned))
        .unwrap_or_default()
}
