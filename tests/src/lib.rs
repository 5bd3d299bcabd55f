//! Helpers shared by the integration tests: a plain HTTP client, real Prometheus
//! components (Prometheus, Pushgateway, Alertmanager, promtool) and the Python
//! OpenMetrics parser started on loopback, a real OTLP receiver, and child processes
//! for what shows once per process. `tests/README.md` says which test uses which.
//!
//! When a component is missing the test prints a loud `SKIPPED` banner and returns;
//! with `FLEXT_OBS_REQUIRE_E2E=1` (set by `.ci/run`) it fails instead. Either way it adds
//! a line to `target/e2e-skips.txt`, which `.ci/test` empties first and prints last: a
//! banner inside a passing test is captured by the harness, the summary is not.

#![allow(missing_debug_implementations)] // test helpers, never printed
#![allow(clippy::missing_panics_doc, clippy::missing_errors_doc)] // test helpers: errors are test failures

pub mod child;
pub mod http;
pub mod otlp;
pub mod postgres;
pub mod remote_write;
pub mod servers;
pub mod tools;

/// The README's Rust examples compile as written (`cargo test --doc`).
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
mod readme {}

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Where skipped end-to-end checks are recorded, in cargo's target directory.
pub const SKIPS_FILE: &str = "e2e-skips.txt";

/// Whether missing end-to-end components must fail the test (`FLEXT_OBS_REQUIRE_E2E=1`).
pub fn e2e_required() -> bool {
    std::env::var("FLEXT_OBS_REQUIRE_E2E").is_ok_and(|v| v == "1" || v == "true")
}

/// Reports a missing component: records the skip in `target/e2e-skips.txt`, then panics
/// under CI or prints a banner otherwise.
pub fn missing(what: &str, how: &str) {
    let message = format!("{what} is not available ({how})");
    if let Some(target) = target_dir() {
        record_skip(
            &target.join(SKIPS_FILE),
            &format!("{}: {message}", current_test()),
        );
    }
    assert!(!e2e_required(), "FLEXT_OBS_REQUIRE_E2E is set: {message}");
    eprintln!("\n{bar}\nSKIPPED: {message}\n{bar}\n", bar = "!".repeat(78));
}

/// Appends `line` to `file` in one `write` on a file opened for appending, so that test
/// processes running in parallel never interleave their lines.
pub fn record_skip(file: &Path, line: &str) {
    let line = format!("{}\n", line.replace('\n', " "));
    let written = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(file)
        .and_then(|mut f| f.write_all(line.as_bytes()));
    if let Err(e) = written {
        // The banner still shows the skip; the summary is a convenience.
        eprintln!("cannot record the skip in {}: {e}", file.display());
    }
}

/// Cargo's target directory (its build directory, where they differ), as `.ci/test`
/// reads it from `cargo metadata`: test binaries are built in `<it>/<profile>/deps`.
fn target_dir() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let deps = exe
        .parent()
        .filter(|d| d.file_name() == Some("deps".as_ref()))?;
    Some(deps.parent()?.parent()?.to_path_buf())
}

/// `binary::test` for the summary: libtest names the thread of a test after it, the
/// binary's file name is its target name and a hash.
fn current_test() -> String {
    let exe = std::env::current_exe().ok();
    let stem = exe
        .as_deref()
        .and_then(Path::file_stem)
        .and_then(|s| s.to_str());
    let binary = stem.map_or("?", |s| s.rsplit_once('-').map_or(s, |(name, _hash)| name));
    match std::thread::current().name() {
        Some(test) if test != "main" => format!("{binary}::{test}"),
        _ => binary.to_owned(),
    }
}

/// Returns from the test when `$opt` is `None`, after [`missing`].
#[macro_export]
macro_rules! require {
    ($opt:expr, $what:expr, $how:expr) => {
        match $opt {
            Some(v) => v,
            None => {
                $crate::missing($what, $how);
                return;
            }
        }
    };
}

/// Polls `f` until it returns `Some`, for at most `timeout`.
pub fn eventually<T>(timeout: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A free TCP port on loopback (bound then released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("cannot bind a loopback port")
}

/// The value of the sample whose line starts with `prefix` (name and labels up to a
/// point) in Prometheus text, if exactly one line matches.
pub fn sample(text: &str, series: &str) -> Option<f64> {
    let mut found = None;
    for line in text.lines() {
        if line.starts_with('#') {
            continue;
        }
        let Some((name_labels, value)) = line.rsplit_once(' ') else {
            continue;
        };
        if name_labels == series {
            assert!(found.is_none(), "series {series} appears twice");
            found = Some(value.parse::<f64>().expect("sample value is a number"));
        }
    }
    found
}

/// The value of the one sample of `name` whose labels include every pair of `labels`
/// (others, such as `service_name`, may be there too), in Prometheus text; panics when
/// two samples match.
pub fn sample_with(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let wanted: Vec<String> = labels.iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect();
    let mut found = None;
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let Some((series, value)) = line.rsplit_once(' ') else {
            continue;
        };
        let (sample_name, rest) = series.split_once('{').unwrap_or((series, "}"));
        if sample_name != name {
            continue;
        }
        let pairs: Vec<&str> = rest.trim_end_matches('}').split("\",").collect();
        let has = |w: &String| {
            pairs
                .iter()
                .any(|p| p.trim_end_matches('"') == w.trim_end_matches('"'))
        };
        if wanted.iter().all(has) {
            assert!(found.is_none(), "two samples of {name} match {labels:?}");
            found = Some(value.parse::<f64>().expect("sample value is a number"));
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_by_some_of_their_labels() {
        let text = "# TYPE x counter\nx_total{a=\"1\",b=\"2\",c=\"3\"} 5\nx_total{a=\"1\",b=\"22\"} 7\ny 1\n";
        assert_eq!(
            sample_with(text, "x_total", &[("a", "1"), ("c", "3")]),
            Some(5.0)
        );
        assert_eq!(sample_with(text, "x_total", &[("b", "22")]), Some(7.0));
        assert_eq!(
            sample_with(text, "x_total", &[("b", "2"), ("c", "4")]),
            None
        );
        assert_eq!(sample_with(text, "y", &[]), Some(1.0));
    }

    #[test]
    fn skips_are_appended_one_line_each_from_many_threads() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join(SKIPS_FILE);
        std::thread::scope(|s| {
            for t in 0..8 {
                let file = &file;
                s.spawn(move || {
                    for i in 0..50 {
                        record_skip(
                            file,
                            &format!("t{t}::case{i}: Prometheus is not\navailable"),
                        );
                    }
                });
            }
        });
        let text = std::fs::read_to_string(&file).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 400);
        assert!(
            lines
                .iter()
                .all(|l| l.starts_with('t') && l.ends_with(": Prometheus is not available")),
            "{text}"
        );
    }

    #[test]
    fn the_target_directory_is_found_from_the_test_binary() {
        let target = target_dir().expect("a test binary lives in <target>/<profile>/deps");
        let exe = std::env::current_exe().unwrap();
        assert!(exe.starts_with(&target), "{}", exe.display());
        if std::env::var_os("CARGO_TARGET_DIR").is_none() {
            let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
            assert_eq!(
                target.canonicalize().unwrap(),
                workspace.join("target").canonicalize().unwrap()
            );
        }
    }

    #[test]
    fn the_current_test_is_named_after_binary_and_thread() {
        assert_eq!(
            current_test(),
            "flext_observability_tests::tests::the_current_test_is_named_after_binary_and_thread"
        );
    }
}
