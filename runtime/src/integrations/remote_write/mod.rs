//! Prometheus remote write (feature `remote-write`): every series `/metrics` serves,
//! sent every interval to a receiver — Prometheus with
//! `--web.enable-remote-write-receiver`, Thanos Receive, Mimir, Cortex, `VictoriaMetrics`,
//! Grafana Cloud — for fleets that no Prometheus scrapes directly.
//!
//! ```no_run
//! use flext_observability::Observability;
//!
//! // Or only the environment: FLEXT_OBS_REMOTE_WRITE_URL=http://prometheus:9090/api/v1/write
//! let guard = Observability::builder()
//!     .service_name("orders")
//!     .remote_write_url("http://prometheus:9090/api/v1/write")
//!     .remote_write_interval(std::time::Duration::from_secs(15))
//!     .install()?;
//! // … the service runs; dropping the guard sends the last push.
//! # drop(guard);
//! # Ok::<(), flext_observability::Error>(())
//! ```
//!
//! # What is sent
//!
//! Remote write 1.0 (`prometheus/docs`, `docs/specs/prw/remote_write_spec.md`): a
//! protobuf `WriteRequest`, snappy block compression, `POST` with `Content-Encoding:
//! snappy`, `Content-Type: application/x-protobuf` and `X-Prometheus-Remote-Write-Version:
//! 0.1.0`. The samples are those a Prometheus scrape of `/metrics` in the text format
//! stores, from the same read path: the same names, labels and values (counters
//! `_total`, histograms `_bucket`/`_sum`/`_count`, `target_info`, `build_info`), one
//! sample per series at the time of the push, at most 2,000 series per request. Counters
//! and histograms stay cumulative: engines see a restart as a counter reset, as with a
//! scrape.
//!
//! Two labels are added to every series, as Prometheus adds its external labels (a
//! series that has its own keeps it), following the OpenTelemetry Prometheus
//! compatibility rules:
//!
//! - `job`: `<service.namespace>/<service.name>`, or `<service.name>`;
//! - `instance`: `service.instance.id` (see [`InstanceId`](crate::InstanceId)): a random
//!   UUID per process unless configured, so every process of a fleet has series of its
//!   own, and a restarted process new ones.
//!
//! ```promql
//! # Calls per second of each function across the fleet
//! sum by (service_name, function) (rate(function_calls_total[5m]))
//! # How many instances reported in the last 5 minutes
//! count(count by (instance) (last_over_time(target_info{job="shop/orders"}[5m])))
//! ```
//!
//! # When the receiver fails
//!
//! Monitored calls never wait for remote write: they write their own counters, which a
//! thread of remote write reads every interval into a bounded queue; another thread
//! sends it, oldest first. A `5xx`, a `429` or a connection failure is retried with
//! exponential backoff (100 ms doubling to 5 s) until it succeeds; meanwhile pushes
//! queue up to [`remote_write_queue`](crate::ObservabilityBuilder::remote_write_queue)
//! (20) and the oldest are dropped. Any other `4xx` is not retried (the same request
//! would get the same answer). One warning says what failed (URL without credentials or
//! query values), one line says when writing works again.
//!
//! Self-metrics: `flext_remote_write_samples_total`,
//! `flext_remote_write_dropped_total{reason="queue_full"|"rejected"|"shutdown"}`,
//! `flext_remote_write_retries_total`, `flext_remote_write_pending_samples`,
//! `flext_remote_write_last_success_timestamp_seconds`.
//!
//! # Settings
//!
//! | builder | environment | default |
//! |---|---|---|
//! | [`remote_write_url`](crate::ObservabilityBuilder::remote_write_url) | `FLEXT_OBS_REMOTE_WRITE_URL` | off |
//! | [`remote_write_interval`](crate::ObservabilityBuilder::remote_write_interval) | `FLEXT_OBS_REMOTE_WRITE_INTERVAL` | `15s` |
//! | [`remote_write_timeout`](crate::ObservabilityBuilder::remote_write_timeout) | `FLEXT_OBS_REMOTE_WRITE_TIMEOUT` | `10s` |
//! | [`remote_write_queue`](crate::ObservabilityBuilder::remote_write_queue) | `FLEXT_OBS_REMOTE_WRITE_QUEUE` | 20 pushes |
//! | [`remote_write_basic_auth`](crate::ObservabilityBuilder::remote_write_basic_auth) | `FLEXT_OBS_REMOTE_WRITE_USERNAME`, `…_PASSWORD` or `…_PASSWORD_FILE`, or `http://user:password@host/…` | none |
//! | [`remote_write_bearer_token`](crate::ObservabilityBuilder::remote_write_bearer_token) | `FLEXT_OBS_REMOTE_WRITE_BEARER_TOKEN` or `…_BEARER_TOKEN_FILE` | none |
//!
//! Durations take `15s`, `500ms`, `1m30s` or plain seconds. An unusable value makes
//! `install()` fail naming its variable, without quoting a secret. Password and token
//! files are read for every request, so rotated tokens are picked up.
//!
//! # Limits
//!
//! HTTP only: this build has no TLS. For a receiver behind `https://`, send to an
//! OpenTelemetry Collector or a Prometheus agent next to the process (see the README's
//! "Running a fleet"). Remote write 1.0 only (no 2.0, no metadata, no exemplars: the
//! exemplars stay on `/metrics` and OTLP). An ended process sends no staleness markers:
//! its series stay visible for Prometheus' lookback (5 minutes), like those of a pushed
//! batch job.

mod builder;
mod config;
mod encode;
mod queue;
mod stats;
mod worker;

pub use self::config::{
    BEARER_TOKEN_ENV, BEARER_TOKEN_FILE_ENV, INTERVAL_ENV, PASSWORD_ENV, PASSWORD_FILE_ENV,
    QUEUE_ENV, TIMEOUT_ENV, URL_ENV, USERNAME_ENV,
};
use self::config::{Config, RemoteWriteSettings};
use self::worker::Worker;
use crate::error::Error;
use crate::integration::{IntegrationEntry, Prepared, Running, Setup, Start};

// After OTLP (10): both read the same storage, independently.
inventory::submit!(IntegrationEntry { order: 20, prepare });

fn prepare(setup: &mut Setup<'_>) -> Result<Option<Box<dyn Prepared>>, Error> {
    let settings = setup.extensions.take::<RemoteWriteSettings>();
    let config = config::resolve(settings, setup.env, setup.service.resource)?;
    Ok(config.map(|c| Box::new(Ready(c)) as Box<dyn Prepared>))
}

struct Ready(Config);

impl Prepared for Ready {
    fn start(self: Box<Self>, _start: &mut Start) -> Result<Box<dyn Running>, Error> {
        Ok(Box::new(Worker::start(self.0)?))
    }
}

impl Running for Worker {}

/// One push of everything registered, encoded and compressed as remote write sends it,
/// with `job` and `instance` as given: the request bodies and the bytes before
/// compression. For benchmarks (`benches/fleet`); no stability promise.
#[doc(hidden)]
pub fn __encode_push(job: &str, instance: &str) -> (Vec<Vec<u8>>, usize) {
    let external = [
        ("instance".to_owned(), instance.to_owned()),
        ("job".to_owned(), job.to_owned()),
    ];
    let (requests, raw) = encode::push(&external, worker::now_ms());
    (requests.into_iter().map(|r| r.body).collect(), raw)
}
