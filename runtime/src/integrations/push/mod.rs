//! Pushing metrics to a Prometheus [Pushgateway](https://github.com/prometheus/pushgateway)
//! (feature `push`), for batch jobs that end before Prometheus could scrape them.
//!
//! ```no_run
//! use flext_observability::push::Pushgateway;
//!
//! # fn run_batch() {}
//! # fn main() -> Result<(), flext_observability::push::PushError> {
//! run_batch();
//! // Everything registered, to http://pushgateway:9091/metrics/job/etl/pipeline/orders.
//! Pushgateway::new("http://pushgateway:9091", "etl")?
//!     .grouping("pipeline", "orders")
//!     .push()?;
//! # Ok(())
//! # }
//! ```
//!
//! - [`push`](Pushgateway::push) (`PUT`) replaces every metric of the group;
//!   [`push_add`](Pushgateway::push_add) (`POST`) replaces only the metrics pushed, keeping
//!   the group's others; [`push_metrics`](Pushgateway::push_metrics) and
//!   [`push_add_metrics`](Pushgateway::push_add_metrics) push chosen metrics only;
//!   [`delete`](Pushgateway::delete) removes the group.
//! - The grouping key is the job plus [`instance`](Pushgateway::instance) and
//!   [`grouping`](Pushgateway::grouping) labels. Values containing `/` (or empty) are sent
//!   base64url-encoded with the `@base64` suffix, as the Pushgateway API requires.
//! - Runs in parallel: [`per_instance`](Pushgateway::per_instance) puts the process's
//!   `service.instance.id` in the grouping key as `instance`, so each run keeps a group
//!   of its own instead of replacing the others' (see [Parallel runs](#parallel-runs)).
//! - Connection failures and `5xx` answers are retried with exponential backoff (3 retries
//!   from 250 ms by default, each wait at most 30 s); if the gateway stays unreachable the
//!   error says so and names the URL (credentials removed). Nothing else is affected:
//!   metrics keep being recorded and served.
//! - A push takes at most its [`deadline`](Pushgateway::deadline), attempts and waits
//!   included: 5 s by default, each attempt at most 2 s
//!   ([`timeout`](Pushgateway::timeout)). A gateway that accepts connections and never
//!   answers costs a batch job 5 s, not a hang.
//! - Failed pushes are counted in `flext_observability_push_failures_total{reason}`
//!   (`unreachable`, `rejected`), exposed by every exporter once one failed.
//! - Credentials in the URL (`http://user:password@gateway:9091`) are sent as HTTP Basic
//!   authentication and kept apart from the URL: errors, logs and `Debug` never show them,
//!   nor query values. Percent-encode `/`, `?`, `#` in a password (`%2F`, `%3F`, `%23`):
//!   unencoded, they make the URL ambiguous, and it is refused rather than sent to
//!   another host.
//! - The body is the Prometheus text format 0.0.4, without timestamps, ending with `\n`.
//! - Pushing is blocking (it waits for the gateway, and between retries): in async code,
//!   call it from `tokio::task::spawn_blocking` or a thread of its own.
//!
//! [`Pushgateway::from_env`] reads the gateway's URL from `FLEXT_OBS_PUSHGATEWAY_URL`, else
//! `PROMETHEUS_PUSH_GATEWAY`, and returns `None` when neither is set, so "push when
//! configured" is one `if let`.
//!
//! HTTP only: TLS is not built in. Reach a gateway behind TLS through a local proxy.
//!
//! # Parallel runs
//!
//! Without an `instance` in the grouping key, every run of a job pushes to the same
//! group and replaces the previous push: right for a job that runs once at a time, wrong
//! for runs side by side, which overwrite each other. With
//! [`per_instance`](Pushgateway::per_instance) each run (each process) pushes to
//! `/metrics/job/<job>/instance/<service.instance.id>` and its series keep their own
//! `instance` label:
//!
//! ```no_run
//! # use flext_observability::push::Pushgateway;
//! # fn main() -> Result<(), flext_observability::push::PushError> {
//! Pushgateway::new("http://pushgateway:9091", "etl")?
//!     .per_instance()
//!     .push()?;
//! # Ok(())
//! # }
//! ```
//!
//! Scrape the Pushgateway with `honor_labels: true` (the pushed `instance` then stays
//! `instance`), and add the runs up by leaving the instance out:
//!
//! ```promql
//! # Rows written by every run still in the gateway, per job and service
//! sum without (instance) (etl_rows_written_total{job="etl"})
//! sum by (service_name) (function_calls_total{job="etl"})
//! # The runs, and when each last pushed
//! count(push_time_seconds{job="etl"})
//! time() - push_time_seconds{job="etl"}
//! ```
//!
//! A group stays in the gateway until deleted: the sum counts every run still there, so
//! delete a run's group once it has been scraped ([`delete`](Pushgateway::delete) with the
//! same key), or let a retention job of your own remove old groups. The instance id is
//! random per process unless configured (`OTEL_RESOURCE_ATTRIBUTES`'s
//! `service.instance.id`, `FLEXT_OBS_INSTANCE_ID_FROM`, or
//! [`service_instance_id`](crate::ObservabilityBuilder::service_instance_id)).

mod error;
mod request;
mod stats;
mod url;

use std::time::Duration;

pub use self::error::PushError;
use self::request::{Attempts, MAX_BACKOFF, Request};
use self::url::{Credentials, redact};
pub use self::url::{PUSHGATEWAY_URL_ENV, PUSHGATEWAY_URL_ENV_COMPAT};
use crate::prometheus::render;
use crate::settings::{self, EnvLookup, Policy, process_env};

/// Default time limit of one attempt.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);
/// Default time limit of a whole push.
const DEFAULT_DEADLINE: Duration = Duration::from_secs(5);

/// A Pushgateway and the grouping key of this job's metrics.
///
/// Its `Debug` output shows the URL without credentials.
#[derive(Clone, Debug)]
#[must_use]
pub struct Pushgateway {
    /// `http://host[:port][/prefix]`, credentials removed.
    base: String,
    credentials: Option<Credentials>,
    job: String,
    grouping: Vec<(String, String)>,
    retries: u32,
    backoff: Duration,
    timeout: Duration,
    deadline: Duration,
}

impl Pushgateway {
    /// A gateway at `url` (`http://host:9091`, optionally with a path prefix) for the job
    /// `job`.
    ///
    /// # Errors
    /// [`PushError::InvalidUrl`] when `url` is not an `http://` URL, and
    /// [`PushError::InvalidGroupingKey`] when `job` is empty.
    pub fn new(url: &str, job: &str) -> Result<Pushgateway, PushError> {
        let (base, credentials) = url::parse(url).map_err(|reason| PushError::InvalidUrl {
            source: "Pushgateway::new".to_owned(),
            reason,
        })?;
        Self::with_parts(base, credentials, job)
    }

    fn with_parts(
        base: String,
        credentials: Option<Credentials>,
        job: &str,
    ) -> Result<Pushgateway, PushError> {
        if job.is_empty() {
            return Err(PushError::InvalidGroupingKey {
                reason: "the job name is empty".into(),
            });
        }
        Ok(Pushgateway {
            base,
            credentials,
            job: job.to_owned(),
            grouping: Vec::new(),
            retries: 3,
            backoff: Duration::from_millis(250),
            timeout: DEFAULT_TIMEOUT,
            deadline: DEFAULT_DEADLINE,
        })
    }

    /// The gateway configured by `FLEXT_OBS_PUSHGATEWAY_URL` (else `PROMETHEUS_PUSH_GATEWAY`),
    /// or `None` when neither is set.
    ///
    /// # Errors
    /// [`PushError::InvalidUrl`] naming the variable when its value is not a URL.
    pub fn from_env(job: &str) -> Result<Option<Pushgateway>, PushError> {
        Self::from_env_with(job, &process_env)
    }

    pub(crate) fn from_env_with(
        job: &str,
        env: EnvLookup<'_>,
    ) -> Result<Option<Pushgateway>, PushError> {
        // The project's own variables: an unusable URL is an error naming its variable,
        // never a silent fall back to the other one.
        for var in [PUSHGATEWAY_URL_ENV, PUSHGATEWAY_URL_ENV_COMPAT] {
            let parts = settings::read(env, var, Policy::Strict, url::parse)
                .map_err(|e| PushError::invalid_variable(var, e))?;
            if let Some((base, credentials)) = parts {
                return Self::with_parts(base, credentials, job).map(Some);
            }
        }
        Ok(None)
    }

    /// Adds the `instance` label to the grouping key. Batch jobs run one at a time usually
    /// leave it out, so each run replaces the previous one's metrics; runs in parallel
    /// use [`per_instance`](Self::per_instance).
    pub fn instance(self, instance: impl Into<String>) -> Self {
        self.grouping("instance", instance)
    }

    /// Adds this process's `service.instance.id` to the grouping key as `instance`, so
    /// runs in parallel keep a group each (see [Parallel runs](self#parallel-runs)). The
    /// id is the one [`install()`](crate::ObservabilityBuilder::install) resolved, else
    /// what the environment gives, else the process's random UUID, taken when this is
    /// called (call it after `install()`).
    pub fn per_instance(self) -> Self {
        self.instance(crate::identity::instance_id())
    }

    /// Adds a label to the grouping key (`/metrics/job/<job>/<name>/<value>`).
    pub fn grouping(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.grouping.push((name.into(), value.into()));
        self
    }

    /// Retries after a connection failure or a `5xx` answer (default 3).
    pub fn retries(mut self, retries: u32) -> Self {
        self.retries = retries;
        self
    }

    /// Wait before the first retry, doubled for each next one (default 250 ms; at most
    /// 30 s, longer waits are cut to it).
    pub fn backoff(mut self, backoff: Duration) -> Self {
        self.backoff = backoff.min(MAX_BACKOFF);
        self
    }

    /// Time limit of one attempt (default 2 s), within the [`deadline`](Self::deadline).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Time limit of a whole push, attempts and waits between them included (default
    /// 5 s): no retry starts, and no wait is made, past it.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use flext_observability::push::Pushgateway;
    /// let gateway = Pushgateway::new("http://pushgateway:9091", "etl")?
    ///     .deadline(Duration::from_secs(30))
    ///     .timeout(Duration::from_secs(10));
    /// # Ok::<(), flext_observability::push::PushError>(())
    /// ```
    pub fn deadline(mut self, deadline: Duration) -> Self {
        self.deadline = deadline;
        self
    }

    /// The URL of this job's group, with credentials removed.
    ///
    /// # Errors
    /// [`PushError::InvalidGroupingKey`] when a grouping label is invalid.
    pub fn group_url(&self) -> Result<String, PushError> {
        Ok(redact(&self.url()?))
    }

    fn url(&self) -> Result<String, PushError> {
        url::group(&self.base, &self.job, &self.grouping)
            .map_err(|reason| PushError::InvalidGroupingKey { reason })
    }

    /// `PUT`: replaces every metric of the group with everything registered.
    ///
    /// Blocking: see the [module docs](self).
    ///
    /// # Errors
    /// See [`PushError`].
    pub fn push(&self) -> Result<(), PushError> {
        self.send(Request::Put(&render()))
    }

    /// `POST`: replaces the group's metrics that have the names of the pushed ones (here:
    /// everything registered), keeping its others.
    ///
    /// # Errors
    /// See [`PushError`].
    pub fn push_add(&self) -> Result<(), PushError> {
        self.send(Request::Post(&render()))
    }

    /// `PUT` with the chosen metrics only, by exposed name (`etl_rows_written_total`).
    ///
    /// # Errors
    /// [`PushError::NoMetrics`] when `names` is empty and [`PushError::UnknownMetrics`]
    /// when a name is not registered (nothing is pushed), and see [`PushError`].
    pub fn push_metrics(&self, names: &[&str]) -> Result<(), PushError> {
        self.send(Request::Put(&request::select(names)?))
    }

    /// `POST` with the chosen metrics only: the group's other metrics stay.
    ///
    /// # Errors
    /// As [`push_metrics`](Self::push_metrics).
    pub fn push_add_metrics(&self, names: &[&str]) -> Result<(), PushError> {
        self.send(Request::Post(&request::select(names)?))
    }

    /// `DELETE`: removes every metric of the group.
    ///
    /// # Errors
    /// See [`PushError`].
    pub fn delete(&self) -> Result<(), PushError> {
        self.send(Request::Delete)
    }

    fn send(&self, request: Request<'_>) -> Result<(), PushError> {
        let attempts = Attempts {
            retries: self.retries,
            backoff: self.backoff,
            timeout: self.timeout,
            deadline: self.deadline,
        };
        let result = request::send(&self.url()?, self.credentials.as_ref(), attempts, request);
        match &result {
            Err(PushError::Unreachable { .. }) => {
                stats::UNREACHABLE.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
            Err(PushError::Rejected { .. }) => {
                stats::REJECTED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
            _ => {}
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_settings_are_errors() {
        assert!(matches!(
            Pushgateway::new("localhost:9091", "etl"),
            Err(PushError::InvalidUrl { .. })
        ));
        let err = Pushgateway::new("https://user:secret@gw:9091", "etl").unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("no TLS") && !text.contains("secret"),
            "{text}"
        );
        assert!(matches!(
            Pushgateway::new("http://gw:9091", ""),
            Err(PushError::InvalidGroupingKey { .. })
        ));
        let pg = Pushgateway::new("http://gw:9091", "etl").unwrap();
        for bad in [
            pg.clone().grouping("job", "x"),
            pg.clone().grouping("__x", "x"),
            pg.clone().grouping("a-b", "x"),
            pg.clone().grouping("a", "1").grouping("a", "2"),
        ] {
            assert!(matches!(
                bad.url(),
                Err(PushError::InvalidGroupingKey { .. })
            ));
        }
    }

    #[test]
    fn environment() {
        use crate::settings::test_env as env;

        assert!(
            Pushgateway::from_env_with("etl", &env(&[]))
                .unwrap()
                .is_none()
        );
        let pg =
            Pushgateway::from_env_with("etl", &env(&[(PUSHGATEWAY_URL_ENV_COMPAT, "http://a:1")]))
                .unwrap()
                .unwrap();
        assert_eq!(pg.url().unwrap(), "http://a:1/metrics/job/etl");
        let pg = Pushgateway::from_env_with(
            "etl",
            &env(&[
                (PUSHGATEWAY_URL_ENV, "http://b:2"),
                (PUSHGATEWAY_URL_ENV_COMPAT, "http://a:1"),
            ]),
        )
        .unwrap()
        .unwrap();
        assert_eq!(pg.url().unwrap(), "http://b:2/metrics/job/etl");
        let err =
            Pushgateway::from_env_with("etl", &env(&[(PUSHGATEWAY_URL_ENV, "gw")])).unwrap_err();
        assert!(err.to_string().contains(PUSHGATEWAY_URL_ENV), "{err}");
        // An unusable value is an error, not a fall back to the other variable.
        let both = env(&[
            (PUSHGATEWAY_URL_ENV, "gw"),
            (PUSHGATEWAY_URL_ENV_COMPAT, "http://a:1"),
        ]);
        match Pushgateway::from_env_with("etl", &both) {
            Err(PushError::InvalidUrl { source, .. }) => assert_eq!(source, PUSHGATEWAY_URL_ENV),
            other => panic!("{other:?}"),
        }
        let err = Pushgateway::from_env_with(
            "etl",
            &env(&[(PUSHGATEWAY_URL_ENV_COMPAT, " https://u:pw@gw:9091 ")]),
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid Pushgateway URL in `PROMETHEUS_PUSH_GATEWAY`: `https://***@gw:9091` uses https, and this build has no TLS: use http:// on a trusted network, or a local TLS proxy"
        );
        // Blank counts as unset, as in the process environment.
        let blank = env(&[
            (PUSHGATEWAY_URL_ENV, " "),
            (PUSHGATEWAY_URL_ENV_COMPAT, "http://a:1"),
        ]);
        let pg = Pushgateway::from_env_with("etl", &blank).unwrap().unwrap();
        assert_eq!(pg.url().unwrap(), "http://a:1/metrics/job/etl");
    }

    #[test]
    fn credentials_stay_out_of_urls_and_debug_output() {
        let pg = Pushgateway::new("http://user:s%40cret@gw:9091/prefix/", "etl").unwrap();
        assert_eq!(pg.url().unwrap(), "http://gw:9091/prefix/metrics/job/etl");
        assert_eq!(
            pg.credentials.as_ref().unwrap().authorization(),
            "Basic dXNlcjpzQGNyZXQ="
        );
        let debug = format!("{pg:?}");
        assert!(
            !debug.contains("cret") && !debug.contains("user") && debug.contains("gw:9091"),
            "{debug}"
        );
        for bad in [
            "http://user:pw@",
            "http://user:pw@/x",
            "http://user:pw@:9091",
            "http://gw:",
        ] {
            let err = Pushgateway::new(bad, "etl").unwrap_err().to_string();
            assert!(
                err.contains("no host") && !err.contains("pw"),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn per_instance_groups_by_the_process_instance() {
        let pg = Pushgateway::new("http://gw:9091", "etl")
            .unwrap()
            .per_instance();
        let url = pg.url().unwrap();
        let id = crate::identity::instance_id();
        assert_eq!(url, format!("http://gw:9091/metrics/job/etl/instance/{id}"));
        assert!(matches!(
            pg.instance("x").url(),
            Err(PushError::InvalidGroupingKey { .. })
        ));
    }

    #[test]
    fn backoff_is_capped() {
        let pg = Pushgateway::new("http://gw:9091", "etl")
            .unwrap()
            .backoff(Duration::MAX);
        assert_eq!(pg.backoff, MAX_BACKOFF);
    }
}
