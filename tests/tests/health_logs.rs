//! What checks return (and what they panic with) reaches the log only when details are
//! shown (`health_details(true)`): an error text often holds a connection string, and logs
//! travel further than the probes, which withhold it by default.

use std::fmt::Debug;
use std::sync::Mutex;
use std::time::Duration;

use flext_observability::{Observability, health_check};
use flext_observability_tests::eventually;
use tracing::field::{Field, Visit};
use tracing_subscriber::Registry;
use tracing_subscriber::layer::{Context, Layer, SubscriberExt as _};

const SECRET: &str = "postgres://app:hunter2@db.internal:5432/orders";

// Only the first run matters; the timeout leaves room for the panic hook, which can take
// a while to print a backtrace when `RUST_BACKTRACE` is set.
#[health_check(interval = "30s", timeout = "30s")]
fn database() -> Result<(), String> {
    Err(format!("cannot connect to {SECRET}"))
}

#[health_check(interval = "30s", timeout = "30s")]
fn exploding() -> Result<(), String> {
    panic!("lost {SECRET}")
}

/// Every event's message, as the application's subscriber receives it.
static LOG: Mutex<Vec<String>> = Mutex::new(Vec::new());

struct Capture;

impl<S: tracing::Subscriber> Layer<S> for Capture {
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        struct Message(String);
        impl Visit for Message {
            fn record_debug(&mut self, field: &Field, value: &dyn Debug) {
                if field.name() == "message" {
                    self.0 = format!("{value:?}");
                }
            }
        }
        let mut message = Message(String::new());
        event.record(&mut message);
        LOG.lock().unwrap().push(message.0);
    }
}

/// The warnings about `database` and `exploding` turning unhealthy.
fn warnings() -> (String, String) {
    eventually(Duration::from_secs(30), || {
        let log = LOG.lock().unwrap();
        let find = |name: &str| {
            log.iter()
                .find(|l| l.starts_with(&format!("health check `{name}` is unhealthy")))
                .cloned()
        };
        Some((find("database")?, find("exploding")?))
    })
    .expect("both failures are logged")
}

#[test]
fn outputs_reach_the_log_only_with_details() {
    tracing::subscriber::set_global_default(Registry::default().with(Capture))
        .expect("the only subscriber");
    let install = |details: bool| {
        Observability::builder()
            .without_server()
            .tracing_subscriber(false)
            .system_checks(false)
            .health_details(details)
            .install()
            .expect("install")
    };

    let guard = install(false);
    let (database, exploding) = warnings();
    drop(guard);
    assert_eq!(
        database,
        "health check `database` is unhealthy (was pending): returned a failure (output \
         withheld; `health_details(true)` logs it)"
    );
    assert_eq!(
        exploding,
        "health check `exploding` is unhealthy (was pending): panicked (message withheld; \
         `health_details(true)` logs it)"
    );
    let log = LOG.lock().unwrap().join("\n");
    assert!(!log.contains("hunter2"), "{log}");

    LOG.lock().unwrap().clear();
    let guard = install(true);
    let (database, exploding) = warnings();
    drop(guard);
    assert!(
        database.ends_with(&format!("returned: cannot connect to {SECRET}")),
        "{database}"
    );
    assert!(
        exploding.ends_with(&format!("panicked: lost {SECRET}")),
        "{exploding}"
    );
}
