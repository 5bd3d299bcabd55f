//! Instances of the quickstart (this test binary re-run as its `child` test), the
//! Prometheus that scrapes them with the generated rules, and an Alertmanager with the
//! generated routing.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::Value;

use flext_observability_tests::servers::{Prometheus, Target};
use flext_observability_tests::{eventually, free_port, http};

use super::grafana;

const JOB: &str = "quickstart";
const SERVICE: &str = "quickstart-orders";

pub(crate) struct Fleet {
    children: Vec<Child>,
    pub(crate) addrs: Vec<SocketAddr>,
    logs: tempfile::TempDir,
}

impl Fleet {
    /// `n` instances, each serving `/metrics` with every function already called.
    pub(crate) fn start(n: usize) -> Fleet {
        let logs = tempfile::tempdir().unwrap();
        let mut fleet = Fleet {
            children: Vec::new(),
            addrs: Vec::new(),
            logs,
        };
        for i in 0..n {
            let addr: SocketAddr = ([127, 0, 0, 1], free_port()).into();
            let log =
                std::fs::File::create(fleet.logs.path().join(format!("child-{i}.log"))).unwrap();
            let child = Command::new(std::env::current_exe().unwrap())
                .args(["child", "--exact", "--nocapture", "--test-threads=1"])
                .env("FLEXT_OBS_SLO_CHILD", "1")
                .env("FLEXT_OBS_LISTEN", addr.to_string())
                .env("FLEXT_OBS_QUICKSTART_SECONDS", "900")
                .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .expect("start an instance");
            fleet.children.push(child);
            fleet.addrs.push(addr);
        }
        for (i, addr) in fleet.addrs.clone().iter().enumerate() {
            let ready = eventually(Duration::from_mins(1), || {
                let body = http::get(&format!("http://{addr}/metrics")).ok()?.body;
                body.contains("function=\"charge_card\"")
                    .then_some(())
                    .filter(|()| body.contains("etl_runs_total"))
            });
            assert!(
                ready.is_some(),
                "instance {i} never served its metrics:\n{}",
                fleet.log(i)
            );
        }
        fleet
    }

    pub(crate) fn log(&self, i: usize) -> String {
        std::fs::read_to_string(self.logs.path().join(format!("child-{i}.log"))).unwrap_or_default()
    }

    /// A Prometheus scraping every instance each second, evaluating `rules` each second.
    pub(crate) fn prometheus(&self, rules: &[PathBuf]) -> Option<Prometheus> {
        let targets: Vec<Target> = self.addrs.iter().map(|a| Target::new(JOB, *a)).collect();
        let mut extra = String::from("rule_files:\n");
        for r in rules {
            let _ = writeln!(extra, "  - '{}'", r.display());
        }
        Prometheus::start_with(&targets, Duration::from_secs(1), &extra, None)
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn wait(
    prom: &Prometheus,
    promql: &str,
    what: &str,
    accept: impl Fn(&[Value]) -> bool,
) -> Vec<Value> {
    let mut last = Vec::new();
    let found = eventually(Duration::from_secs(90), || {
        last = prom.query(promql);
        accept(&last).then(|| last.clone())
    });
    found.unwrap_or_else(|| {
        panic!(
            "{what}: `{promql}` returned {last:?}\ntargets: {}",
            prom.targets()
        )
    })
}

/// Our rules and dashboards against the running fleet.
pub(crate) fn check_ours(prom: &Prometheus, dir: &Path, fleet: &Fleet) {
    let n = fleet.addrs.len();
    wait(
        prom,
        &format!(r#"count(up{{job="{JOB}"}} == 1)"#),
        "every instance scraped",
        |r| r.first().and_then(|s| s["value"][1].as_str()) == Some(&n.to_string()),
    );
    // One series per objective target and service, summed over every instance.
    let records = wait(
        prom,
        r#"service_objective:error_ratio:rate5m{service_name="quickstart-orders"}"#,
        "a 5m error ratio per objective target",
        |r| r.len() == 5,
    );
    for r in &records {
        assert!(r["metric"].get("instance").is_none(), "{r}");
        assert_eq!(r["metric"]["service_name"], SERVICE, "{r}");
    }
    let instances =
        prom.query(r#"count(count by (instance) (function_calls_total{objective_name="stock"}))"#);
    assert_eq!(
        instances[0]["value"][1],
        n.to_string(),
        "the raw series come from every instance"
    );
    for record in [
        "service_objective:error_ratio:rate30d",
        "service_objective:error_budget_remaining:ratio",
        "service_objective:calls:rate5m",
    ] {
        wait(prom, record, record, |r| r.len() == 5);
    }
    // The workload breaks `payments`: 1 card in 8 declined against a 1 % budget.
    let firing = wait(
        prom,
        r#"ALERTS{alertname="SuccessRateBudgetBurn",objective_name="payments",severity="page",alertstate="firing"}"#,
        "the broken objective pages",
        |r| !r.is_empty(),
    );
    eprintln!(
        "SuccessRateBudgetBurn pages for payments on windows {:?}",
        firing
            .iter()
            .map(|a| a["metric"]["window"].clone())
            .collect::<Vec<_>>()
    );
    assert!(
        prom.query(r#"ALERTS{alertname="SuccessRateBudgetBurn",objective_name="stock"}"#)
            .is_empty(),
        "stock never fails"
    );
    let mut panels = 0;
    for entry in std::fs::read_dir(dir.join("grafana")).unwrap() {
        let path = entry.unwrap().path();
        let board: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        for p in grafana::run(prom, &board, &[]) {
            assert!(
                p.unset.is_empty(),
                "{}: panel {:?} uses empty variables {:?}",
                path.display(),
                p.title,
                p.unset
            );
            for (expr, series) in &p.queries {
                assert!(
                    *series > 0,
                    "{}: panel {:?} has no data:\n{expr}",
                    path.display(),
                    p.title
                );
            }
            panels += 1;
        }
    }
    eprintln!("every query of {panels} panels in the generated dashboards returned data");
}

pub(crate) fn rfc3339_now() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days.cast_signed() + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
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

/// An Alertmanager with a given configuration, killed when dropped.
pub(crate) struct Alertmanager {
    child: Child,
    pub(crate) base: String,
    log: PathBuf,
}

impl Alertmanager {
    pub(crate) fn start(exe: &Path, dir: &Path, config: &str) -> Alertmanager {
        std::fs::write(dir.join("am.yml"), config).unwrap();
        let port = free_port();
        let log = dir.join("alertmanager.log");
        let file = std::fs::File::create(&log).unwrap();
        let child = Command::new(exe)
            .current_dir(dir)
            .args([
                "--config.file=am.yml".to_owned(),
                "--storage.path=am-data".to_owned(),
                format!("--web.listen-address=127.0.0.1:{port}"),
                "--cluster.listen-address=".to_owned(),
                "--log.level=warn".to_owned(),
            ])
            .stdin(Stdio::null())
            .stdout(file.try_clone().unwrap())
            .stderr(file)
            .spawn()
            .expect("start Alertmanager");
        let am = Alertmanager {
            child,
            base: format!("http://127.0.0.1:{port}"),
            log,
        };
        let ready = eventually(Duration::from_secs(30), || {
            http::get(&format!("{}/-/ready", am.base))
                .ok()
                .filter(|r| r.status == 200)
        });
        assert!(
            ready.is_some(),
            "Alertmanager not ready:\n{}",
            std::fs::read_to_string(&am.log).unwrap_or_default()
        );
        am
    }

    pub(crate) fn alerts(&self) -> Vec<Value> {
        let body = http::get(&format!("{}/api/v2/alerts", self.base))
            .expect("list alerts")
            .body;
        serde_json::from_str::<Value>(&body)
            .ok()
            .and_then(|v| v.as_array().cloned())
            .unwrap_or_default()
    }
}

impl Drop for Alertmanager {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
