//! The deployment's Alertmanager configuration (`deploy/alertmanager/alertmanager.yml`)
//! and the generated one pass `amtool check-config`, route `page`, `ticket` and `info`
//! (and alerts without a severity) to the same receivers, and a real Alertmanager loads
//! the deployment's; the rules generated for this binary's declared alerts pass
//! `promtool check rules`, `for` and `keep_firing_for` included.

use std::path::{Path, PathBuf};
use std::process::Command;

use flext_observability::artifacts::Artifacts;
use flext_observability_tests::servers::which;
use flext_observability_tests::{missing, require};

use super::support::Manager;

fn deploy_config() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../deploy/alertmanager/alertmanager.yml")
}

fn run(cmd: &mut Command) -> (bool, String) {
    let out = cmd.output().expect("run the tool");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// The receiver `amtool` routes `labels` to under `config`.
fn route(amtool: &Path, config: &Path, labels: &[&str]) -> String {
    let (ok, out) = run(Command::new(amtool)
        .arg("config")
        .arg("routes")
        .arg("test")
        .arg(format!("--config.file={}", config.display()))
        .args(labels));
    assert!(ok, "amtool routes test {labels:?}: {out}");
    out.lines()
        .filter(|l| !l.starts_with("Warning"))
        .collect::<Vec<_>>()
        .join("\n")
        .trim()
        .to_owned()
}

#[test]
fn the_deployment_configuration_routes_by_severity_and_loads() {
    let amtool = require!(
        which("amtool"),
        "amtool",
        "apt-get install prometheus-alertmanager"
    );
    let generated_dir = tempfile::tempdir().unwrap();
    let generated = generated_dir.path().join("alertmanager.yml");
    std::fs::write(&generated, Artifacts::from_catalog().alertmanager_config()).unwrap();
    let deploy = deploy_config();
    for config in [&deploy, &generated] {
        let (ok, out) = run(Command::new(&amtool).arg("check-config").arg(config));
        assert!(ok, "amtool check-config {}: {out}", config.display());
        assert!(out.contains("3 receivers"), "{out}");
        for (labels, receiver) in [
            (&["severity=page", "service_name=shop"][..], "pagerduty"),
            (&["severity=ticket", "service_name=shop"][..], "slack"),
            (&["severity=info", "service_name=shop"][..], "email"),
            (&["service_name=shop"][..], "email"),
        ] {
            assert_eq!(
                route(&amtool, config, labels),
                receiver,
                "{} {labels:?}",
                config.display()
            );
        }
    }
    let text = std::fs::read_to_string(&deploy).unwrap();
    for file in [
        "pagerduty-routing-key",
        "slack-webhook-url",
        "smtp-password",
    ] {
        assert!(
            text.contains(&format!("/etc/alertmanager/secrets/{file}")),
            "{file}"
        );
    }
    for secret_field in ["routing_key:", "api_url:", "auth_password:"] {
        assert!(
            !text.contains(&format!(" {secret_field}")),
            "a secret in the file: {secret_field}"
        );
    }
    if super::support::alertmanager_exe().is_some() {
        let am = Manager::start(&text, None);
        assert!(am.alerts().is_empty());
    } else {
        missing("Alertmanager", "apt-get install prometheus-alertmanager");
    }
}

#[test]
fn the_generated_rules_of_declared_alerts_pass_promtool() {
    let promtool = require!(which("promtool"), "promtool", "apt-get install prometheus");
    let rules = Artifacts::from_catalog()
        .service_name("shop")
        .prometheus_rules();
    for alert in [
        "alert: CheckoutErrorRate",
        "alert: SlowReportLatencyP99",
        "alert: OrdersQualityLow",
        "alert: ChargeCardErrorRate",
        "alert: LowDataQuality",
    ] {
        assert!(rules.contains(alert), "{alert} missing:\n{rules}");
    }
    assert!(rules.contains("keep_firing_for: \"1s\""), "{rules}");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rules.yml");
    std::fs::write(&path, &rules).unwrap();
    let (ok, out) = run(Command::new(&promtool).arg("check").arg("rules").arg(&path));
    assert!(ok, "{out}\n{rules}");
    assert!(!out.contains("FAILED"), "{out}\n{rules}");
}
