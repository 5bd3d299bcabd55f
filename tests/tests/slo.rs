//! SLOs as code, with real tools (issue 14): the artifacts this binary's catalogue
//! generates (the quickstart example's functions and objectives, the ETL example's
//! business metrics, two health checks) pass `promtool check rules`, `promtool test
//! rules` (every burn alert fires at its factor and stays silent 5 % below it, as the
//! library's own evaluation decides; every other rule fires on its condition),
//! `amtool check-config` and `amtool config routes test`, and a real Alertmanager's
//! inhibition; the dashboards round-trip through the Grafana foundation SDK and parse
//! with promql-parser; and a real Prometheus scraping three instances of the quickstart
//! records every objective, answers every dashboard query and fires the broken
//! objective's burn alerts. With `FLEXT_OBS_AUTOMETRICS_SHARED` naming a checkout of
//! autometrics-shared, the same Prometheus loads autometrics' own rules and runs its
//! dashboards' queries.
//!
//! Missing tools print a SKIPPED banner (an error under `FLEXT_OBS_REQUIRE_E2E=1`);
//! CI needs the Debian packages `prometheus` and `prometheus-alertmanager`, and the
//! Python packages `grafana-foundation-sdk==1769699379!11.6.0` and `promql-parser`.

#![allow(clippy::float_cmp)] // counts read back as floats

#[path = "slo/autometrics.rs"]
mod autometrics;
#[path = "slo/fleet.rs"]
mod fleet;
#[path = "slo/grafana.rs"]
mod grafana;
#[path = "slo/promtool.rs"]
mod promtool;
#[path = "../../examples/quickstart.rs"]
#[allow(unreachable_pub, dead_code)] // an example's root, compiled as a module here
mod quickstart;
#[path = "slo/seeds.rs"]
mod seeds;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use flext_observability::artifacts::Artifacts;
use flext_observability::health_check;
use flext_observability_examples::etl;
use flext_observability_tests::servers::which;
use flext_observability_tests::{missing, require};

/// Critical: `HealthCheckFailing` pages when it fails.
#[health_check(critical, interval = "1s")]
fn ledger() -> bool {
    true
}

/// Not critical: `HealthCheckFailing` opens a ticket when it fails.
#[health_check(interval = "1s")]
fn cache_warm() -> bool {
    true
}

/// The batch age the tests' rules allow (promtool runs through it quickly).
const MAX_AGE: Duration = Duration::from_hours(2);

/// The artifacts of this binary, as the quickstart configures them.
fn artifacts() -> Artifacts {
    quickstart::artifacts().batch_max_age(MAX_AGE)
}

fn written() -> (tempfile::TempDir, Vec<PathBuf>) {
    let dir = tempfile::tempdir().unwrap();
    let paths = artifacts().write_to(dir.path()).expect("write artifacts");
    (dir, paths)
}

/// Runs a tool; its exit status and output.
fn run(cmd: &mut Command) -> (bool, String) {
    let out = cmd.output().expect("run tool");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// What a child started by the fleet runs: one successful and one failed pipeline run
/// (so every business series exists), then the quickstart, until it is killed.
#[test]
fn child() {
    if std::env::var_os("FLEXT_OBS_SLO_CHILD").is_none() {
        return;
    }
    let config = etl::EtlConfig::new("orders");
    etl::run_pipeline(
        &config,
        &mut etl::OrdersTap::new(40, None),
        &mut etl::MemoryTarget::default(),
    )
    .expect("a clean run");
    etl::run_pipeline(
        &config,
        &mut etl::OrdersTap::new(40, Some(5)),
        &mut etl::MemoryTarget::default(),
    )
    .expect_err("a failed run");
    quickstart::main().expect("the quickstart runs");
}

#[test]
fn catalogue_and_objectives() {
    let a = artifacts();
    assert_eq!(a.objectives(), ["checkout", "payments", "stock"]);
    let files: Vec<String> = a
        .dashboards()
        .iter()
        .map(|d| d.file_name().to_owned())
        .collect();
    assert_eq!(
        files,
        [
            "overview.json",
            "slo-checkout.json",
            "slo-payments.json",
            "slo-stock.json",
            "health.json",
            "business.json"
        ]
    );
}

#[test]
fn rules_pass_promtool_check_and_unit_tests() {
    let promtool = require!(which("promtool"), "promtool", "apt-get install prometheus");
    let (dir, _) = written();
    let rules = dir.path().join("prometheus-rules.yml");
    let (ok, out) = run(Command::new(&promtool).args(["check", "rules"]).arg(&rules));
    assert!(ok, "promtool check rules:\n{out}");
    let targets = promtool::Target::all(&[
        quickstart::STOCK,
        quickstart::PAYMENTS,
        quickstart::CHECKOUT,
    ]);
    let mut cases = promtool::burn_cases(&targets);
    let burn = cases.len();
    cases.extend(seeds::cases(MAX_AGE.as_secs()));
    let test = dir.path().join("rules.test.yml");
    std::fs::write(&test, promtool::file("prometheus-rules.yml", &cases)).unwrap();
    let started = std::time::Instant::now();
    let (ok, out) = run(Command::new(&promtool).args(["test", "rules"]).arg(&test));
    assert!(
        ok,
        "promtool test rules:\n{out}\n(test file kept at {})",
        dir.keep().join("rules.test.yml").display()
    );
    eprintln!(
        "promtool test rules: {burn} burn-rate cases and {} others passed in {:.1} s",
        cases.len() - burn,
        started.elapsed().as_secs_f64()
    );
}

#[test]
fn alertmanager_routes_and_checks() {
    let amtool = require!(
        which("amtool"),
        "amtool",
        "apt-get install prometheus-alertmanager"
    );
    let (dir, _) = written();
    let config = dir.path().join("alertmanager.yml");
    let (ok, out) = run(Command::new(&amtool).arg("check-config").arg(&config));
    assert!(ok, "amtool check-config:\n{out}");
    for (labels, receiver) in [
        (
            &[
                "severity=page",
                "alertname=SuccessRateBudgetBurn",
                "objective_name=payments",
            ][..],
            "pagerduty",
        ),
        (
            &["severity=ticket", "alertname=LatencyBudgetBurn"][..],
            "slack",
        ),
        (
            &["severity=info", "alertname=CpuAboveThreshold"][..],
            "email",
        ),
        (&["alertname=Other"][..], "email"),
    ] {
        let (ok, out) = run(Command::new(&amtool)
            .args(["config", "routes", "test"])
            .arg(format!("--config.file={}", config.display()))
            .arg(format!("--verify.receivers={receiver}"))
            .args(
                labels
                    .iter()
                    .copied()
                    .chain(["service_name=quickstart-orders"]),
            ));
        assert!(ok, "{labels:?} should reach {receiver}:\n{out}");
    }
}

#[test]
fn alertmanager_holds_tickets_back_while_their_objective_pages() {
    let exe = require!(
        which("prometheus-alertmanager").or_else(|| which("alertmanager")),
        "Alertmanager",
        "apt-get install prometheus-alertmanager"
    );
    let (dir, _) = written();
    // Secrets exist (empty) so that Alertmanager starts; notifications go nowhere.
    let secrets = dir.path().join("secrets");
    std::fs::create_dir_all(&secrets).unwrap();
    for f in [
        "pagerduty-routing-key",
        "slack-webhook-url",
        "smtp-password",
    ] {
        std::fs::write(secrets.join(f), "not-a-secret\n").unwrap();
    }
    let config = artifacts()
        .alert_secrets_dir(secrets.display().to_string())
        .alertmanager_config();
    let am = fleet::Alertmanager::start(&exe, dir.path(), &config);
    let base = am.base.clone();
    let now = fleet::rfc3339_now();
    let alert = |name: &str, severity: &str, objective: &str| {
        format!(
            r#"{{"labels":{{"alertname":"{name}","severity":"{severity}","service_name":"quickstart-orders","objective_name":"{objective}"}},"startsAt":"{now}","generatorURL":"http://prometheus.local/graph"}}"#
        )
    };
    let body = format!(
        "[{},{},{}]",
        alert("SuccessRateBudgetBurn", "page", "payments"),
        alert("SuccessRateBudgetBurn", "ticket", "payments"),
        alert("LatencyBudgetBurn", "ticket", "stock")
    );
    let resp = flext_observability_tests::http::send(
        "POST",
        &format!("{base}/api/v2/alerts"),
        "application/json",
        &body,
    )
    .expect("post alerts");
    assert_eq!(resp.status, 200, "{}", resp.body);
    let states = flext_observability_tests::eventually(Duration::from_secs(10), || {
        let list = am.alerts();
        let state = |severity: &str, objective: &str| {
            list.iter()
                .find(|a| {
                    a["labels"]["severity"] == severity
                        && a["labels"]["objective_name"] == objective
                })
                .map(|a| a["status"]["state"].as_str().unwrap_or("").to_owned())
        };
        let s = (
            state("page", "payments")?,
            state("ticket", "payments")?,
            state("ticket", "stock")?,
        );
        (s.1 == "suppressed").then_some(s)
    })
    .unwrap_or_else(|| {
        panic!(
            "the payments ticket was never suppressed: {:?}",
            am.alerts()
        )
    });
    assert_eq!(states.0, "active", "the page itself notifies");
    assert_eq!(
        states.2, "active",
        "another objective's ticket is not held back"
    );
}

#[test]
fn dashboards_round_trip_and_parse() {
    let python = require!(which("python3"), "python3", "apt-get install python3");
    let probe = Command::new(&python)
        .args(["-c", "import promql_parser, grafana_foundation_sdk"])
        .output()
        .expect("run python3");
    if !probe.status.success() {
        missing(
            "the Grafana foundation SDK and promql-parser for Python",
            "pip install 'grafana-foundation-sdk==1769699379!11.6.0' promql-parser",
        );
        return;
    }
    // With the HTTP and gRPC boards too, which the integrations' metrics turn on.
    let dir = tempfile::tempdir().unwrap();
    let paths = artifacts()
        .http_dashboard(true)
        .grpc_dashboard(true)
        .write_to(dir.path())
        .expect("write artifacts");
    let script = dir.path().join("check_dashboards.py");
    std::fs::write(&script, include_str!("slo/check_dashboards.py")).unwrap();
    let boards: Vec<&PathBuf> = paths
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    assert_eq!(boards.len(), 8);
    let (ok, out) = run(Command::new(&python).arg(&script).args(&boards));
    assert!(ok, "dashboard checks:\n{out}");
    eprint!("{out}");
}

#[test]
fn deploy_configs_are_valid() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("deploy");
    let promtool = require!(which("promtool"), "promtool", "apt-get install prometheus");
    let (ok, out) = run(Command::new(&promtool)
        .args(["check", "config"])
        .arg(root.join("prometheus").join("prometheus.yml")));
    assert!(
        ok,
        "promtool check config deploy/prometheus/prometheus.yml:\n{out}"
    );
    let amtool = require!(
        which("amtool"),
        "amtool",
        "apt-get install prometheus-alertmanager"
    );
    let (ok, out) = run(Command::new(&amtool)
        .arg("check-config")
        .arg(root.join("generated").join("alertmanager.yml")));
    assert!(
        ok,
        "amtool check-config deploy/generated/alertmanager.yml:\n{out}"
    );
}

/// `deploy/generated` is what `cargo run --example quickstart -- --write-artifacts
/// deploy/generated` writes: this binary's catalogue holds the quickstart's and a
/// pipeline and two checks more, so every deployed file and rule group must appear here
/// unchanged, and every objective here must be deployed.
#[test]
fn deploy_files_are_current() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/generated");
    let read =
        |p: &Path| std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    let regenerate =
        "regenerate with `cargo run --example quickstart -- --write-artifacts deploy/generated`";
    let a = artifacts();
    assert_eq!(
        read(&root.join("alertmanager.yml")),
        a.alertmanager_config(),
        "{regenerate}"
    );
    for board in a.dashboards() {
        let path = root.join("grafana").join(board.file_name());
        if board.file_name() == "business.json" {
            continue; // the pipeline is this test's, not the quickstart's
        }
        assert_eq!(
            read(&path),
            board.json(),
            "{}: {regenerate}",
            path.display()
        );
    }
    let groups = |text: &str| -> Vec<String> {
        text.split("\n  - name: ")
            .skip(1)
            .map(|g| g.trim_end().to_owned())
            .collect()
    };
    let ours = groups(&a.prometheus_rules());
    let deployed = groups(&read(&root.join("prometheus-rules.yml")));
    for g in &deployed {
        assert!(
            ours.contains(g),
            "deployed group {} differs: {regenerate}",
            g.lines().next().unwrap()
        );
    }
    for g in ours.iter().filter(|g| g.starts_with("\"flext-slo")) {
        assert!(
            deployed.contains(g),
            "group {} is not deployed: {regenerate}",
            g.lines().next().unwrap()
        );
    }
}

/// Three instances of the quickstart, one Prometheus with the generated rules (and
/// autometrics' when available): records, dashboards, alerts.
#[test]
fn three_instances_in_a_real_prometheus() {
    if which("prometheus").is_none() {
        missing("prometheus", "apt-get install prometheus");
        return;
    }
    let (dir, _) = written();
    let shared = autometrics::fixture();
    let fleet = fleet::Fleet::start(3);
    let mut rule_files = vec![dir.path().join("prometheus-rules.yml")];
    if let Some(shared) = &shared {
        rule_files.push(shared.rules.clone());
    }
    let prom = require!(
        fleet.prometheus(&rule_files),
        "prometheus",
        "apt-get install prometheus"
    );
    fleet::check_ours(&prom, dir.path(), &fleet);
    match &shared {
        Some(shared) => autometrics::check(&prom, shared),
        None => autometrics::skipped(),
    }
}
