//! A real Alertmanager (Debian's `prometheus-alertmanager`) on a loopback port, started
//! and restarted by the test, and webhook receivers standing in for `PagerDuty` and Slack:
//! local HTTP servers that keep every notification they are sent.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use flext_observability_tests::servers::which;
use flext_observability_tests::{eventually, free_port, http};
use serde_json::Value;

/// How long a test waits for what should take a second or two.
pub(crate) const PATIENCE: Duration = Duration::from_mins(1);

/// A webhook receiver: every notification posted to it, as JSON.
pub(crate) struct Hook {
    pub(crate) addr: SocketAddr,
    received: Arc<Mutex<Vec<Value>>>,
}

impl Hook {
    pub(crate) fn start() -> Hook {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a webhook port");
        let addr = listener.local_addr().expect("webhook address");
        let received = Arc::new(Mutex::new(Vec::new()));
        let store = Arc::clone(&received);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let store = Arc::clone(&store);
                std::thread::spawn(move || serve(stream, &store));
            }
        });
        Hook { addr, received }
    }

    pub(crate) fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    /// Every notification so far.
    pub(crate) fn all(&self) -> Vec<Value> {
        self.received.lock().unwrap().clone()
    }

    /// The alerts of every notification so far, each with its notification's `status`.
    pub(crate) fn alerts(&self) -> Vec<Value> {
        self.all()
            .iter()
            .flat_map(|n| n["alerts"].as_array().cloned().unwrap_or_default())
            .collect()
    }

    /// Waits for an alert named `name` with `status` (`firing`, `resolved`); returns it.
    pub(crate) fn wait_alert(&self, name: &str, status: &str) -> Value {
        eventually(PATIENCE, || {
            self.alerts()
                .into_iter()
                .find(|a| a["labels"]["alertname"] == name && a["status"] == status)
        })
        .unwrap_or_else(|| {
            panic!(
                "no {status} `{name}` reached the receiver at {} in {PATIENCE:?}; it got:\n{:#?}",
                self.addr,
                self.all()
            )
        })
    }

    /// The names of every alert received.
    pub(crate) fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .alerts()
            .iter()
            .filter_map(|a| a["labels"]["alertname"].as_str().map(str::to_owned))
            .collect();
        names.sort();
        names.dedup();
        names
    }
}

/// One HTTP/1.1 request at a time on `stream`: keep the body, answer 200.
fn serve(stream: TcpStream, store: &Mutex<Vec<Value>>) {
    let mut reader = BufReader::new(stream.try_clone().expect("clone the webhook stream"));
    let mut writer = stream;
    loop {
        let mut length = 0usize;
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        loop {
            line.clear();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((k, v)) = header.split_once(':')
                && k.eq_ignore_ascii_case("content-length")
            {
                length = v.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        if let Ok(json) = serde_json::from_slice::<Value>(&body) {
            store.lock().unwrap().push(json);
        }
        if writer
            .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
            .is_err()
        {
            return;
        }
    }
}

/// The Alertmanager executable, if installed.
pub(crate) fn alertmanager_exe() -> Option<PathBuf> {
    which("prometheus-alertmanager").or_else(|| which("alertmanager"))
}

/// A routing configuration: `page` to `pagerduty`, `ticket` to `slack` (each a webhook
/// standing in for the service), anything else nowhere; grouped by service and alert,
/// with the shortest waits Alertmanager takes.
pub(crate) fn routing(pagerduty: &Hook, slack: &Hook) -> String {
    format!(
        "route:
  receiver: 'null'
  group_by: [service_name, alertname]
  group_wait: 100ms
  group_interval: 300ms
  repeat_interval: 1h
  routes:
    - receiver: pagerduty
      matchers: ['severity=\"page\"']
    - receiver: slack
      matchers: ['severity=\"ticket\"']
receivers:
  - name: 'null'
  - name: pagerduty
    webhook_configs:
      - url: '{}'
        send_resolved: true
  - name: slack
    webhook_configs:
      - url: '{}'
        send_resolved: true
",
        pagerduty.url(),
        slack.url()
    )
}

/// An Alertmanager on a loopback port, killed when dropped.
pub(crate) struct Manager {
    child: Child,
    pub(crate) port: u16,
    dir: tempfile::TempDir,
}

impl Manager {
    /// Starts one with `config` on `port` (a free one when `None`), ready to take alerts.
    pub(crate) fn start(config: &str, port: Option<u16>) -> Manager {
        let exe = alertmanager_exe().expect("prometheus-alertmanager is installed");
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("am.yml"), config).expect("write the configuration");
        let port = port.unwrap_or_else(free_port);
        let log = std::fs::File::create(dir.path().join("am.log")).expect("log file");
        let child = Command::new(exe)
            .args([
                "--config.file=am.yml".to_owned(),
                "--storage.path=data".to_owned(),
                format!("--web.listen-address=127.0.0.1:{port}"),
                "--cluster.listen-address=".to_owned(),
                "--log.level=warn".to_owned(),
            ])
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log handle"))
            .stderr(log)
            .spawn()
            .expect("start prometheus-alertmanager");
        let mut manager = Manager { child, port, dir };
        let base = manager.url();
        let ready = eventually(Duration::from_secs(30), || {
            if let Ok(Some(status)) = manager.child.try_wait() {
                panic!("Alertmanager exited with {status}:\n{}", manager.log());
            }
            http::get(&format!("{base}/-/ready"))
                .ok()
                .filter(|r| r.status == 200)
        });
        assert!(
            ready.is_some(),
            "Alertmanager not ready:\n{}",
            manager.log()
        );
        manager
    }

    pub(crate) fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub(crate) fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("am.log")).unwrap_or_default()
    }

    /// The alerts it holds, silenced and inhibited ones included.
    pub(crate) fn alerts(&self) -> Vec<Value> {
        let url = format!(
            "{}/api/v2/alerts?active=true&silenced=true&inhibited=true",
            self.url()
        );
        let body = http::get(&url).expect("list alerts").body;
        serde_json::from_str::<Value>(&body)
            .ok()
            .and_then(|v| v.as_array().cloned())
            .unwrap_or_default()
    }

    /// The alert named `name` it holds, once it holds one.
    pub(crate) fn wait_alert(&self, name: &str) -> Value {
        eventually(PATIENCE, || {
            self.alerts()
                .into_iter()
                .find(|a| a["labels"]["alertname"] == name)
        })
        .unwrap_or_else(|| panic!("Alertmanager never held `{name}`: {:#?}", self.alerts()))
    }

    /// Silences alerts named `name` for an hour through the API; returns the silence id.
    pub(crate) fn silence(&self, name: &str) -> String {
        let now = std::time::SystemTime::now();
        let stamp = |t: std::time::SystemTime| {
            let secs = t
                .duration_since(std::time::UNIX_EPOCH)
                .expect("after 1970")
                .as_secs();
            rfc3339(secs)
        };
        let body = serde_json::json!({
            "matchers": [{"name": "alertname", "value": name, "isRegex": false, "isEqual": true}],
            "startsAt": stamp(now),
            "endsAt": stamp(now + Duration::from_hours(1)),
            "createdBy": "flext-observability tests",
            "comment": "the notification must not go out",
        });
        let resp = http::send(
            "POST",
            &format!("{}/api/v2/silences", self.url()),
            "application/json",
            &body.to_string(),
        )
        .expect("create a silence");
        assert_eq!(resp.status, 200, "silence refused: {}", resp.body);
        let json: Value = serde_json::from_str(&resp.body).expect("silence JSON");
        json["silenceID"].as_str().expect("a silence id").to_owned()
    }
}

impl Drop for Manager {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `2026-12-02T10:00:00Z` for `secs` since the epoch (civil from days, Howard Hinnant).
fn rfc3339(secs: u64) -> String {
    let days = i64::try_from(secs / 86_400).expect("a date");
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[test]
fn dates() {
    assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
    assert_eq!(rfc3339(1_764_669_600), "2025-12-02T10:00:00Z");
}
