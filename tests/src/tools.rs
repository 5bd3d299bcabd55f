//! External validators: `promtool check metrics` and the Python OpenMetrics parser.

use std::io::Write as _;
use std::process::{Command, Stdio};

use crate::servers::which;

/// Outcome of an external check.
#[derive(Debug)]
pub struct Check {
    pub code: i32,
    pub output: String,
}

fn run(mut cmd: Command, input: &str) -> Check {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn checker");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("write to checker");
    let out = child.wait_with_output().expect("wait for checker");
    Check {
        code: out.status.code().unwrap_or(-1),
        output: format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    }
}

/// `promtool check metrics` on Prometheus text 0.0.4: exit 0 clean, 3 lint findings,
/// 1 parse error. `None` when promtool is not installed.
pub fn promtool_check_metrics(text: &str) -> Option<Check> {
    let exe = which("promtool")?;
    let mut cmd = Command::new(exe);
    cmd.args(["check", "metrics"]);
    Some(run(cmd, text))
}

const PARSE_OPENMETRICS: &str = r"
import sys
from prometheus_client.openmetrics.parser import text_string_to_metric_families
text = sys.stdin.read()
families = list(text_string_to_metric_families(text))
for f in families:
    print(f.name, f.type, len(f.samples))
";

/// Parses OpenMetrics text with Python `prometheus_client` (strict parser). `None` when
/// Python or the package is missing.
pub fn python_openmetrics_parse(text: &str) -> Option<Check> {
    let python = which("python3")?;
    let probe = Command::new(&python)
        .args(["-c", "import prometheus_client.openmetrics.parser"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .ok()?;
    if !probe.success() {
        return None;
    }
    let mut cmd = Command::new(python);
    cmd.args(["-c", PARSE_OPENMETRICS]);
    Some(run(cmd, text))
}
