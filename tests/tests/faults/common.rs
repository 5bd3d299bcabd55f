//! What the fault cases share: the one installation, the serial lock, memory readings.

use std::net::SocketAddr;
use std::sync::{Mutex, MutexGuard, OnceLock, PoisonError};

use flext_observability::{Observability, ObservabilityGuard};

static SERIAL: Mutex<()> = Mutex::new(());

/// Held by each case while it runs: cases measure time and memory.
pub(crate) fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The address of the runtime installed for this process (once).
pub(crate) fn runtime() -> SocketAddr {
    static GUARD: OnceLock<ObservabilityGuard> = OnceLock::new();
    GUARD
        .get_or_init(|| {
            Observability::builder()
                .listen("127.0.0.1:0")
                .series_limit(1000)
                // The host's CPU, busy with the cases themselves, is not what is tested.
                .system_checks(false)
                .log_writer(Capture)
                .install()
                .expect("install")
        })
        .local_addr()
        .expect("the server listens")
}

/// Resident memory of this process, in bytes.
pub(crate) fn rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("read /proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().strip_suffix("kB"))
        .and_then(|v| v.trim().parse::<u64>().ok())
        .expect("VmRSS in /proc/self/status")
        * 1024
}

/// Threads of this process.
#[allow(dead_code)] // used by some cases only
pub(crate) fn threads() -> usize {
    std::fs::read_dir("/proc/self/task").map_or(0, Iterator::count)
}

/// Megabytes, for messages.
pub(crate) fn mb(bytes: u64) -> f64 {
    bytes as f64 / 1_048_576.0
}

static LOGS: Mutex<Vec<u8>> = Mutex::new(Vec::new());

/// Keeps every log line the runtime writes, for [`logs`].
struct Capture;

impl std::io::Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        LOGS.lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend_from_slice(buf);
        std::io::stderr().write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Everything logged so far.
pub(crate) fn logs() -> String {
    String::from_utf8_lossy(&LOGS.lock().unwrap_or_else(PoisonError::into_inner)).into_owned()
}

/// The rendered exposition in both formats, each checked by promtool (text) and the
/// Python parsers (text and OpenMetrics); panics naming what rejected which.
pub(crate) fn validate_both_formats(what: &str) -> (String, String) {
    use flext_observability::prometheus::{render, render_openmetrics};
    use flext_observability_tests::tools;

    let text = render();
    let om = render_openmetrics();
    let excerpt = |s: &str| s.chars().take(3000).collect::<String>();
    if let Some(check) = tools::promtool_check_metrics(&text) {
        // Exit 3 is lint; the only finding allowed is facade metrics recorded without a
        // `describe_*!` (no help text), which is the user's to add.
        let lint_only = check.code == 3
            && check
                .output
                .lines()
                .filter(|l| !l.trim().is_empty())
                .all(|l| l.ends_with("no help text"));
        assert!(
            check.code == 0 || lint_only,
            "{what}: promtool rejected the text format (exit {}): {}\n{}",
            check.code,
            excerpt(&check.output),
            excerpt(&text)
        );
    } else {
        flext_observability_tests::missing("promtool", "apt-get install prometheus");
    }
    match tools::python_openmetrics_parse(&om) {
        Some(check) => assert!(
            check.code == 0,
            "{what}: the Python OpenMetrics parser rejected the exposition: {}\n{}",
            excerpt(&check.output),
            excerpt(&om)
        ),
        None => flext_observability_tests::missing(
            "the Python OpenMetrics parser",
            "pip install 'prometheus-client>=0.26'",
        ),
    }
    if let Some(check) = python_text_parse(&text) {
        assert!(
            check.code == 0,
            "{what}: the Python text-format parser rejected the exposition: {}",
            excerpt(&check.output)
        );
    }
    (text, om)
}

const PARSE_TEXT: &str = r"
import sys
from prometheus_client.parser import text_string_to_metric_families
for f in text_string_to_metric_families(sys.stdin.read()):
    pass
";

/// The Python parser of text format 0.0.4, when Python and `prometheus_client` are there.
fn python_text_parse(text: &str) -> Option<flext_observability_tests::tools::Check> {
    use std::io::Write as _;
    use std::process::{Command, Stdio};

    let mut child = Command::new("python3")
        .args(["-c", PARSE_TEXT])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .ok()?;
    child.stdin.take()?.write_all(text.as_bytes()).ok()?;
    let out = child.wait_with_output().ok()?;
    let output = String::from_utf8_lossy(&out.stderr).into_owned();
    if output.contains("No module named") {
        return None;
    }
    Some(flext_observability_tests::tools::Check {
        code: out.status.code().unwrap_or(-1),
        output,
    })
}
