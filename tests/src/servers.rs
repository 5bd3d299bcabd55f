//! Real Prometheus components from the Debian packages, each in its own temp dir on a
//! free loopback port, killed when dropped.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::{eventually, free_port, http};

/// Finds an executable on `PATH`.
pub fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

struct Process {
    child: Child,
    name: &'static str,
    log: PathBuf,
}

impl Process {
    fn spawn(name: &'static str, exe: &Path, args: &[String], dir: &Path) -> Process {
        let log = dir.join(format!("{name}.log"));
        let file = std::fs::File::create(&log).expect("create log file");
        let child = Command::new(exe)
            .args(args)
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(file.try_clone().expect("clone log handle"))
            .stderr(file)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        Process { child, name, log }
    }

    fn wait_ready(&mut self, base: &str) {
        let ready = eventually(Duration::from_secs(30), || {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "{} exited with {status} before it was ready:\n{}",
                    self.name,
                    std::fs::read_to_string(&self.log).unwrap_or_default()
                );
            }
            http::get(&format!("{base}/-/ready"))
                .ok()
                .filter(|r| r.status == 200)
        });
        assert!(
            ready.is_some(),
            "{} not ready after 30 s:\n{}",
            self.name,
            std::fs::read_to_string(&self.log).unwrap_or_default()
        );
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A Prometheus server scraping the given targets every `interval`.
pub struct Prometheus {
    process: Process,
    base: String,
    _dir: tempfile::TempDir,
}

/// One scrape job.
pub struct Target {
    pub job: String,
    pub addr: SocketAddr,
    pub metrics_path: String,
    /// Keep the pushed `job`/`instance` labels (for scraping a Pushgateway).
    pub honor_labels: bool,
}

impl Target {
    pub fn new(job: &str, addr: SocketAddr) -> Target {
        Target {
            job: job.into(),
            addr,
            metrics_path: "/metrics".into(),
            honor_labels: false,
        }
    }
}

impl Prometheus {
    /// `None` when the `prometheus` executable is not installed.
    pub fn start(targets: &[Target], interval: Duration) -> Option<Prometheus> {
        Self::start_with(targets, interval, "", None)
    }

    /// With extra top-level configuration (`rule_files`, `alerting`) and a rules file.
    /// Targets with the same `job` are scraped as instances of one job.
    pub fn start_with(
        targets: &[Target],
        interval: Duration,
        extra_config: &str,
        rules: Option<&str>,
    ) -> Option<Prometheus> {
        Self::start_on(free_port(), targets, interval, extra_config, rules)
    }

    /// A Prometheus that only receives remote write (`/api/v1/write`), on `port` (a
    /// test that starts it late, on a port a sender already writes to).
    pub fn start_receiver(port: u16) -> Option<Prometheus> {
        Self::start_on(port, &[], Duration::from_secs(1), "", None)
    }

    fn start_on(
        port: u16,
        targets: &[Target],
        interval: Duration,
        extra_config: &str,
        rules: Option<&str>,
    ) -> Option<Prometheus> {
        let exe = which("prometheus")?;
        let dir = tempfile::tempdir().expect("temp dir");
        let secs = interval.as_millis();
        let mut config = format!(
            "global:\n  scrape_interval: {secs}ms\n  evaluation_interval: {secs}ms\n  scrape_timeout: {secs}ms\n"
        );
        if let Some(rules) = rules {
            std::fs::write(dir.path().join("rules.yml"), rules).expect("write rules");
            config.push_str("rule_files:\n  - rules.yml\n");
        }
        config.push_str(extra_config);
        config.push_str("scrape_configs:\n");
        // Targets that share a job are instances of one service: one job, several targets.
        let mut jobs: Vec<&str> = Vec::new();
        for t in targets {
            if !jobs.contains(&t.job.as_str()) {
                jobs.push(&t.job);
            }
        }
        for job in jobs {
            let members: Vec<&Target> = targets.iter().filter(|t| t.job == job).collect();
            let addrs: Vec<String> = members.iter().map(|t| format!("'{}'", t.addr)).collect();
            let _ = write!(
                config,
                "  - job_name: {job}\n    honor_labels: {honor}\n    metrics_path: {path}\n    static_configs:\n      - targets: [{addrs}]\n",
                honor = members[0].honor_labels,
                path = members[0].metrics_path,
                addrs = addrs.join(", ")
            );
        }
        std::fs::write(dir.path().join("prometheus.yml"), config).expect("write config");
        let base = format!("http://127.0.0.1:{port}");
        let args = vec![
            "--config.file=prometheus.yml".to_owned(),
            "--storage.tsdb.path=data".to_owned(),
            format!("--web.listen-address=127.0.0.1:{port}"),
            "--web.enable-lifecycle".to_owned(),
            "--enable-feature=exemplar-storage".to_owned(),
            // Every test server also accepts remote write (`remote_write_url`).
            "--web.enable-remote-write-receiver".to_owned(),
            "--rules.alert.resend-delay=1s".to_owned(),
            "--log.level=warn".to_owned(),
        ];
        let mut process = Process::spawn("prometheus", &exe, &args, dir.path());
        process.wait_ready(&base);
        Some(Prometheus {
            process,
            base,
            _dir: dir,
        })
    }

    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// Where remote write sends to this server.
    pub fn remote_write_url(&self) -> String {
        format!("{}/api/v1/write", self.base)
    }

    /// Runs an instant query; returns the `data.result` array.
    pub fn query(&self, promql: &str) -> Vec<Value> {
        let url = format!("{}/api/v1/query?query={}", self.base, encode(promql));
        let resp = http::get(&url).expect("query Prometheus");
        let json: Value = serde_json::from_str(&resp.body)
            .unwrap_or_else(|e| panic!("Prometheus answered {}: {e}: {}", resp.status, resp.body));
        assert_eq!(json["status"], "success", "query {promql} failed: {json}");
        json["data"]["result"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// The single value of an instant query that returns one series.
    pub fn scalar(&self, promql: &str) -> Option<f64> {
        let result = self.query(promql);
        match result.as_slice() {
            [one] => one["value"][1].as_str().and_then(|s| s.parse().ok()),
            _ => None,
        }
    }

    /// Polls until `promql` returns one series with a value for which `accept` holds;
    /// returns the last value seen.
    pub fn wait_for(
        &self,
        promql: &str,
        timeout: Duration,
        accept: impl Fn(f64) -> bool,
    ) -> Result<f64, String> {
        let mut last = None;
        eventually(timeout, || {
            last = self.scalar(promql);
            last.filter(|v| accept(*v))
        })
        .ok_or_else(|| {
            format!(
                "`{promql}` never satisfied the condition in {timeout:?}; last value {last:?}; targets: {}",
                self.targets()
            )
        })
    }

    /// The `/api/v1/targets` answer, for failure messages.
    pub fn targets(&self) -> String {
        http::get(&format!("{}/api/v1/targets", self.base))
            .map(|r| r.body)
            .unwrap_or_default()
    }

    /// Exemplars of `promql` over the last `window`.
    pub fn exemplars(&self, promql: &str, window: Duration) -> Vec<Value> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock after 1970")
            .as_secs_f64();
        let url = format!(
            "{}/api/v1/query_exemplars?query={}&start={}&end={}",
            self.base,
            encode(promql),
            now - window.as_secs_f64(),
            now + 1.0
        );
        let resp = http::get(&url).expect("query exemplars");
        let json: Value = serde_json::from_str(&resp.body).expect("exemplars JSON");
        json["data"].as_array().cloned().unwrap_or_default()
    }

    /// The server log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.process.log).unwrap_or_default()
    }
}

/// A Pushgateway.
pub struct Pushgateway {
    _process: Process,
    pub addr: SocketAddr,
    _dir: tempfile::TempDir,
}

impl Pushgateway {
    /// `None` when `prometheus-pushgateway` is not installed.
    pub fn start() -> Option<Pushgateway> {
        let exe = which("prometheus-pushgateway").or_else(|| which("pushgateway"))?;
        let dir = tempfile::tempdir().expect("temp dir");
        let port = free_port();
        let args = vec![
            format!("--web.listen-address=127.0.0.1:{port}"),
            "--persistence.file=pg.data".to_owned(),
            "--log.level=warn".to_owned(),
        ];
        let mut process = Process::spawn("pushgateway", &exe, &args, dir.path());
        let base = format!("http://127.0.0.1:{port}");
        process.wait_ready(&base);
        Some(Pushgateway {
            _process: process,
            addr: ([127, 0, 0, 1], port).into(),
            _dir: dir,
        })
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

/// An Alertmanager with one webhook receiver (or none).
pub struct Alertmanager {
    _process: Process,
    pub addr: SocketAddr,
    _dir: tempfile::TempDir,
}

impl Alertmanager {
    /// `None` when `prometheus-alertmanager` is not installed. `webhook` receives every
    /// notification when given.
    pub fn start(webhook: Option<&str>) -> Option<Alertmanager> {
        let exe = which("prometheus-alertmanager").or_else(|| which("alertmanager"))?;
        let dir = tempfile::tempdir().expect("temp dir");
        let receiver = match webhook {
            Some(url) => format!(
                "receivers:\n  - name: hook\n    webhook_configs:\n      - url: '{url}'\n        send_resolved: true\n"
            ),
            None => "receivers:\n  - name: hook\n".to_owned(),
        };
        let config = format!(
            "route:\n  receiver: hook\n  group_wait: 100ms\n  group_interval: 1s\n  repeat_interval: 1h\n{receiver}"
        );
        std::fs::write(dir.path().join("am.yml"), config).expect("write config");
        let port = free_port();
        let args = vec![
            "--config.file=am.yml".to_owned(),
            "--storage.path=data".to_owned(),
            format!("--web.listen-address=127.0.0.1:{port}"),
            "--cluster.listen-address=".to_owned(),
            "--log.level=warn".to_owned(),
        ];
        let mut process = Process::spawn("alertmanager", &exe, &args, dir.path());
        let base = format!("http://127.0.0.1:{port}");
        process.wait_ready(&base);
        Some(Alertmanager {
            _process: process,
            addr: ([127, 0, 0, 1], port).into(),
            _dir: dir,
        })
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Alerts Alertmanager currently holds (`GET /api/v2/alerts`).
    pub fn alerts(&self) -> Vec<Value> {
        let resp = http::get(&format!("{}/api/v2/alerts", self.base_url())).expect("list alerts");
        serde_json::from_str::<Value>(&resp.body)
            .ok()
            .and_then(|v| v.as_array().cloned())
            .unwrap_or_default()
    }
}

/// Percent-encodes a query parameter.
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}
