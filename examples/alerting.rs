//! Alerts declared where the code is, evaluated in the process, delivered to a real
//! Alertmanager, which routes them by severity.
//!
//! ```sh
//! prometheus-alertmanager --config.file=deploy/alertmanager/alertmanager.yml \
//!   --storage.path=/tmp/am --cluster.listen-address= &          # 127.0.0.1:9093
//! FLEXT_OBS_ALERTMANAGER_URL=http://127.0.0.1:9093 cargo run --example alerting
//! FLEXT_OBS_ALERTMANAGER_URL=http://127.0.0.1:9093 cargo run --example alerting -- --keep-running
//! ```
//!
//! For about 60 s, `charge_card` fails 30 % of its calls during the first 20 s, then
//! none, and the `payments` data-quality ratio drops to 0.80 for the same 20 s, then
//! returns to 0.99. Two alerts, declared on them and evaluated every second:
//!
//! - `ChargeCardErrorRate` (`page`): more than 5 % of the charges of the last 10 s failed,
//!   for 3 s: fires a few seconds in, resolves some 30 s in, once the failures have
//!   left the window and 3 s more have passed;
//! - `LowDataQuality` (`ticket`): the ratio below 0.95 for 3 s: fires a few seconds
//!   in, resolves some 23 s in.
//!
//! The example asks Alertmanager (`/api/v2/alerts`) every second and prints when each
//! arrives firing and when it is resolved; it fails unless both did. Without
//! `FLEXT_OBS_ALERTMANAGER_URL` the alerts are evaluated and shown (in the output and on
//! `/metrics` as `flext_alerts_firing`), and nothing is delivered. It listens on
//! `FLEXT_OBS_LISTEN` (default `127.0.0.1:9464`).

// The scenario is shared with its end-to-end test (`tests/tests/alerts.rs`), which
// compiles this file as a module and runs `run` against a real Alertmanager.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use flext_observability::{Gauge, Observability, business_metric, monitor};

pub(crate) fn main() -> ExitCode {
    let keep_running = std::env::args().any(|a| a == "--keep-running");
    let alertmanager = std::env::var("FLEXT_OBS_ALERTMANAGER_URL")
        .ok()
        .filter(|u| !u.trim().is_empty());
    let guard = match Observability::builder()
        .service_name("payments")
        .alert_evaluation_interval(Duration::from_secs(1))
        .install()
    {
        Ok(guard) => guard,
        Err(e) => {
            eprintln!("cannot start: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let Some(addr) = guard.local_addr() {
        println!("metrics on http://{addr}/metrics (flext_alerts_firing)");
    }
    match &alertmanager {
        Some(urls) => println!("delivering alerts to {}", without_credentials(urls)),
        None => println!(
            "FLEXT_OBS_ALERTMANAGER_URL is not set: alerts are evaluated and shown here, not delivered"
        ),
    }
    let scenario = Scenario {
        alertmanager: alertmanager.clone(),
        ..Scenario::default()
    };
    println!(
        "charge_card fails 30% of its calls and data quality is 0.80 for {:?}, then both recover; {:?} in all",
        scenario.bad, scenario.duration
    );
    let report = run(&scenario, |line| println!("{line}"));
    let ok = alertmanager.is_none() || report.complete();
    if alertmanager.is_some() {
        for (name, seen) in ALERTS.iter().zip(&report.alerts) {
            println!(
                "{name}: firing in Alertmanager at {:?}, resolved at {:?}",
                seen.firing, seen.resolved
            );
        }
        if !ok {
            eprintln!("not every alert reached Alertmanager firing, then resolved");
        }
    }
    if keep_running {
        println!("--keep-running: serving until interrupted");
        loop {
            std::thread::park();
        }
    }
    drop(guard);
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// A charge the card issuer declined.
#[derive(Debug)]
pub(crate) struct Declined;

/// Charges a card. Pages when more than 5 % of the charges of the last 10 s failed, for
/// 3 s (and resolves once that has been false for 3 s).
#[monitor(alert(
    name = "ChargeCardErrorRate",
    error_rate > 0.05,
    over = "10s",
    for = "3s",
    severity = "page",
    summary = "{{ $labels.service_name }}: card charges are failing",
    runbook = "https://runbooks.example.com/payments/charge-card"
))]
pub(crate) fn charge_card(cents: u64, declined: bool) -> Result<u64, Declined> {
    if declined { Err(Declined) } else { Ok(cents) }
}

/// Share of the records of the last batch that passed validation, from 0 to 1.
#[business_metric(
    labels(pipeline),
    alert(name = "LowDataQuality", below = 0.95, for = "3s", severity = "ticket")
)]
pub(crate) static PAYMENTS_DATA_QUALITY_RATIO: Gauge;

/// How the scenario runs.
#[derive(Clone, Debug)]
pub(crate) struct Scenario {
    /// The whole run (60 s).
    pub(crate) duration: Duration,
    /// How long charges fail and quality is low, from the start (20 s).
    pub(crate) bad: Duration,
    /// The Alertmanager to watch (`http://host:9093`), if any.
    pub(crate) alertmanager: Option<String>,
}

impl Default for Scenario {
    fn default() -> Self {
        Scenario {
            duration: Duration::from_mins(1),
            bad: Duration::from_secs(20),
            alertmanager: None,
        }
    }
}

/// The alerts the scenario must see fire, then resolve.
pub(crate) const ALERTS: [&str; 2] = ["ChargeCardErrorRate", "LowDataQuality"];

/// When each alert was first seen active in Alertmanager, then first seen gone again,
/// from the start of the run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Seen {
    pub(crate) firing: Option<Duration>,
    pub(crate) resolved: Option<Duration>,
}

/// What the run saw, per alert of [`ALERTS`].
#[derive(Clone, Debug, Default)]
pub(crate) struct Report {
    pub(crate) alerts: [Seen; 2],
}

impl Report {
    /// Whether every alert reached Alertmanager firing, then resolved.
    pub(crate) fn complete(&self) -> bool {
        self.alerts
            .iter()
            .all(|s| s.firing.is_some() && s.resolved.is_some())
    }
}

/// Runs the scenario (the runtime installed already), telling `say` what happens.
pub(crate) fn run(scenario: &Scenario, mut say: impl FnMut(&str)) -> Report {
    let start = Instant::now();
    let mut report = Report::default();
    let mut in_process: Vec<String> = Vec::new();
    let mut next_check = start;
    let mut call = 0u64;
    while start.elapsed() < scenario.duration {
        let bad = start.elapsed() < scenario.bad;
        // About 200 charges a second; 3 in 10 declined while things are bad.
        for _ in 0..20 {
            call += 1;
            let _ = charge_card(1_000 + call % 500, bad && call % 10 < 3);
        }
        PAYMENTS_DATA_QUALITY_RATIO {
            pipeline: "payments",
        }
        .set(if bad { 0.80 } else { 0.99 });
        if Instant::now() >= next_check {
            next_check += Duration::from_secs(1);
            let at = start.elapsed();
            let firing: Vec<String> = flext_observability::alerts::firing()
                .into_iter()
                .map(|a| a.name)
                .collect();
            for name in &firing {
                if !in_process.contains(name) {
                    say(&format!(
                        "{:>4.1} s  {name} fires in the process",
                        at.as_secs_f64()
                    ));
                }
            }
            for name in &in_process {
                if !firing.contains(name) {
                    say(&format!(
                        "{:>4.1} s  {name} resolved in the process",
                        at.as_secs_f64()
                    ));
                }
            }
            in_process = firing;
            if let Some(url) = &scenario.alertmanager {
                watch(url, at, &mut report, &mut say);
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    report
}

/// Asks Alertmanager which of [`ALERTS`] it holds active.
fn watch(url: &str, at: Duration, report: &mut Report, say: &mut impl FnMut(&str)) {
    let base = url
        .split(',')
        .next()
        .unwrap_or("")
        .trim()
        .trim_end_matches('/');
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(2)))
        .build()
        .into();
    let body = match agent
        .get(&format!(
            "{base}/api/v2/alerts?active=true&silenced=true&inhibited=true"
        ))
        .call()
        .and_then(|mut r| r.body_mut().read_to_string())
    {
        Ok(body) => body,
        Err(e) => {
            say(&format!(
                "{:>4.1} s  cannot ask Alertmanager: {e}",
                at.as_secs_f64()
            ));
            return;
        }
    };
    for (name, seen) in ALERTS.iter().zip(&mut report.alerts) {
        let active = body.contains(&format!("\"alertname\":\"{name}\""));
        if active && seen.firing.is_none() {
            seen.firing = Some(at);
            say(&format!(
                "{:>4.1} s  {name} is firing in Alertmanager",
                at.as_secs_f64()
            ));
        } else if !active && seen.firing.is_some() && seen.resolved.is_none() {
            seen.resolved = Some(at);
            say(&format!(
                "{:>4.1} s  {name} is resolved in Alertmanager",
                at.as_secs_f64()
            ));
        }
    }
}

/// The URLs as they may be printed: `user:password@` left out of each.
fn without_credentials(urls: &str) -> String {
    urls.split(',')
        .map(|url| {
            let url = url.trim();
            let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
            let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
            let host = authority
                .rsplit_once('@')
                .map_or(authority, |(_, host)| host);
            if scheme.is_empty() {
                format!("{host}{path}")
            } else {
                format!("{scheme}://{host}{path}")
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}
