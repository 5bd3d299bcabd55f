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

use std::process::ExitCode;
use std::time::Duration;

use flext_observability::Observability;
use flext_observability_examples::alerting::{self, ALERTS, Scenario};

fn main() -> ExitCode {
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
        Some(url) => println!("delivering alerts to {url}"),
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
    let report = alerting::run(&scenario, |line| println!("{line}"));
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
    if ok { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}
