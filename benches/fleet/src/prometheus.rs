//! A real Prometheus (the Debian package's `prometheus` on `PATH`) in a temporary
//! directory: it scrapes the bench's endpoint and accepts remote write.

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Prometheus {
    child: Child,
    pub base: String,
    _dir: tempfile::TempDir,
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .into()
}

impl Prometheus {
    /// Scrapes `target` every `interval` (OpenMetrics negotiated, as Prometheus 2.42
    /// asks for it), with `--enable-feature=extra-scrape-metrics` for
    /// `scrape_body_size_bytes`.
    pub fn start(target: Option<SocketAddr>, interval: Duration) -> Prometheus {
        let dir = tempfile::tempdir().expect("temp dir");
        let ms = interval.as_millis();
        let mut config = format!(
            "global:\n  scrape_interval: {ms}ms\n  scrape_timeout: {ms}ms\nscrape_configs:\n"
        );
        if let Some(target) = target {
            config.push_str(&format!(
                "  - job_name: bench\n    static_configs:\n      - targets: ['{target}']\n"
            ));
        }
        std::fs::write(dir.path().join("prometheus.yml"), config).expect("write config");
        let port = free_port();
        let log = std::fs::File::create(dir.path().join("prometheus.log")).expect("log");
        let child = Command::new("prometheus")
            .args([
                "--config.file=prometheus.yml".to_owned(),
                "--storage.tsdb.path=data".to_owned(),
                format!("--web.listen-address=127.0.0.1:{port}"),
                "--web.enable-remote-write-receiver".to_owned(),
                "--enable-feature=extra-scrape-metrics".to_owned(),
                "--log.level=warn".to_owned(),
            ])
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("start `prometheus` (apt-get install prometheus)");
        let p = Prometheus {
            child,
            base: format!("http://127.0.0.1:{port}"),
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while agent()
            .get(&format!("{}/-/ready", p.base))
            .call()
            .map_or(true, |r| r.status() != 200)
        {
            assert!(Instant::now() < deadline, "Prometheus not ready in 60 s");
            std::thread::sleep(Duration::from_millis(100));
        }
        p
    }

    pub fn write_url(&self) -> String {
        format!("{}/api/v1/write", self.base)
    }

    /// The value of an instant query that returns one series.
    pub fn scalar(&self, promql: &str) -> Option<f64> {
        let mut encoded = String::new();
        for b in promql.bytes() {
            if b.is_ascii_alphanumeric() {
                encoded.push(char::from(b));
            } else {
                encoded.push_str(&format!("%{b:02X}"));
            }
        }
        let mut resp = agent()
            .get(&format!("{}/api/v1/query?query={encoded}", self.base))
            .call()
            .ok()?;
        let body = resp.body_mut().read_to_string().ok()?;
        let json: serde_json::Value = serde_json::from_str(&body).ok()?;
        let result = json["data"]["result"].as_array()?;
        match result.as_slice() {
            [one] => one["value"][1].as_str()?.parse().ok(),
            _ => None,
        }
    }
}
