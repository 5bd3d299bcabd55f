//! autometrics' own rules and dashboards (autometrics-shared 6ddd060, MIT OR
//! Apache-2.0) against the same Prometheus and instances.
//!
//! The files cannot be committed here (and no registry package ships them): the test
//! reads them from the checkout `FLEXT_OBS_AUTOMETRICS_SHARED` names
//! (`git clone https://github.com/autometrics-dev/autometrics-shared && git -C
//! autometrics-shared checkout 6ddd060`) and skips, loudly, without it. That skip is a
//! missing third-party fixture, not a missing server, so `FLEXT_OBS_REQUIRE_E2E` does
//! not make it fatal.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;

use flext_observability_tests::eventually;
use flext_observability_tests::servers::Prometheus;

use super::grafana;

const ENV: &str = "FLEXT_OBS_AUTOMETRICS_SHARED";
const DASHBOARDS: [&str; 3] = [
    "Autometrics Function Explorer.json",
    "Autometrics Overview.json",
    "Autometrics Service-Level Objectives (SLOs).json",
];

/// The SLO dashboard's `latency_objective` variable queries
/// `function_calls_duration_count`, the name before autometrics renamed the histogram to
/// `function_calls_duration_seconds` (fc0e4e8 renamed every other use): no exporter has
/// it, so the three latency panels never get data. The one-line fix:
const LATENCY_FIX: (&str, &str) = (
    "latency_objective",
    r#"label_values({__name__=~"function_calls_duration(_seconds)?_count"}, objective_name)"#,
);

pub(crate) struct Shared {
    pub(crate) rules: PathBuf,
    dashboards: Vec<PathBuf>,
}

/// The checkout named by `FLEXT_OBS_AUTOMETRICS_SHARED`, if set.
///
/// # Panics
/// When the variable is set but the files are not there.
pub(crate) fn fixture() -> Option<Shared> {
    let dir = PathBuf::from(std::env::var_os(ENV)?);
    let rules = dir.join("autometrics.rules.yml");
    assert!(
        rules.is_file(),
        "{ENV}={}: no autometrics.rules.yml there",
        dir.display()
    );
    let dashboards: Vec<PathBuf> = DASHBOARDS
        .iter()
        .map(|d| dir.join("dashboards").join(d))
        .collect();
    for d in &dashboards {
        assert!(d.is_file(), "{ENV}: {} is missing", d.display());
    }
    Some(Shared { rules, dashboards })
}

pub(crate) fn skipped() {
    eprintln!(
        "\n{bar}\nSKIPPED: autometrics compatibility (autometrics' own rules and dashboards).\n\
         {ENV} is not set. Those files (autometrics-shared 6ddd060) may not be committed to\n\
         this repository and no package registry ships them; point {ENV} at a checkout of\n\
         https://github.com/autometrics-dev/autometrics-shared at 6ddd060 to run it.\n\
         This skip is not fatal under FLEXT_OBS_REQUIRE_E2E: a missing third-party\n\
         fixture, not a missing server.\n{bar}\n",
        bar = "!".repeat(78)
    );
}

fn wait_for(prom: &Prometheus, promql: &str) -> Vec<Value> {
    let mut last = Vec::new();
    eventually(Duration::from_secs(90), || {
        last = prom.query(promql);
        (!last.is_empty()).then(|| last.clone())
    })
    .unwrap_or_else(|| panic!("`{promql}` stayed empty"))
}

pub(crate) fn check(prom: &Prometheus, shared: &Shared) {
    // The broken objective, `payments`, is a 99 % objective on both targets.
    for alert in ["High Error Rate SLO - 99%", "High Latency SLO - 99%"] {
        let firing = wait_for(
            prom,
            &format!(
                r#"ALERTS{{alertname="{alert}",objective_name="payments",alertstate="firing"}}"#
            ),
        );
        let severities: BTreeSet<String> = firing
            .iter()
            .map(|a| a["metric"]["severity"].as_str().unwrap_or("").to_owned())
            .collect();
        eprintln!("autometrics: `{alert}` fires for payments ({severities:?})");
    }
    // Every rule loaded and evaluated without error.
    let body = flext_observability_tests::http::get(&format!("{}/api/v1/rules", prom.base_url()))
        .unwrap()
        .body;
    let rules: Value = serde_json::from_str(&body).unwrap();
    let mut total = 0;
    let mut recording = 0;
    let mut broken = Vec::new();
    for group in rules["data"]["groups"].as_array().unwrap() {
        if !group["name"].as_str().unwrap_or("").starts_with("sloth-") {
            continue;
        }
        for rule in group["rules"].as_array().unwrap() {
            total += 1;
            if rule["type"] == "recording" {
                recording += 1;
            }
            if rule["health"] != "ok" && rule["health"] != "unknown" {
                broken.push(format!("{}: {}", rule["name"], rule["lastError"]));
            }
        }
    }
    assert_eq!(total, 136, "autometrics.rules.yml has 136 rules");
    assert!(broken.is_empty(), "autometrics rules failing: {broken:?}");
    let recorded =
        prom.query(r#"count by (__name__, sloth_id) ({__name__=~"slo:.+|sloth_slo_info"})"#);
    let measured = prom.query("count by (sloth_id) (slo:sli_error:ratio_rate5m)");
    let slos: BTreeSet<&str> = measured
        .iter()
        .filter_map(|r| r["metric"]["sloth_id"].as_str())
        .collect();
    eprintln!(
        "autometrics: {total} rules loaded and evaluated, {recording} of them recording rules; \
         {} recording rules have produced series (the constant ones of every SLO, all of \
         the SLOs with traffic: {slos:?})",
        recorded.len()
    );
    // The SLOs with traffic: success rate at 99 (payments) and 99.9 (stock), latency at
    // 99 (payments, stock) and 95 (checkout).
    assert_eq!(
        slos,
        BTreeSet::from([
            "autometrics-latency-95",
            "autometrics-latency-99",
            "autometrics-success-rate-99",
            "autometrics-success-rate-99_9"
        ])
    );

    let (mut with_data, mut fixed_with_data, mut panels) = (0, 0, 0);
    for path in &shared.dashboards {
        let board: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let results = grafana::run(prom, &board, &[]);
        let fixed = grafana::run(prom, &board, &[LATENCY_FIX]);
        for (p, f) in results.iter().zip(&fixed) {
            panels += 1;
            with_data += usize::from(p.has_data());
            fixed_with_data += usize::from(f.has_data());
            let state = |r: &grafana::PanelResult| match (r.has_data(), r.unset.is_empty()) {
                (true, _) => "data".to_owned(),
                (false, true) => "NO DATA".to_owned(),
                (false, false) => format!("NO DATA (empty variables {:?})", r.unset),
            };
            eprintln!(
                "autometrics: {}: {}: {}; with the variable fixed: {}",
                path.file_stem().unwrap().to_string_lossy(),
                p.title,
                state(p),
                state(f)
            );
        }
    }
    eprintln!(
        "autometrics dashboards: {with_data} of {panels} panels have data as published, \
         {fixed_with_data} of {panels} with `latency_objective` fixed"
    );
    assert_eq!(panels, 11);
    assert!(
        with_data >= 8,
        "autometrics-rs 3.0 gets data on 8 of 11 panels"
    );
    assert_eq!(
        with_data, 8,
        "as published, the three latency panels have no objective"
    );
    assert_eq!(
        fixed_with_data, 11,
        "every panel, once the dashboard's variable is fixed"
    );
}
