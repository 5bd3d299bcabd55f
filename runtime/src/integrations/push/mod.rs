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
//! - Connection failures and `5xx` answers are retried with exponential backoff (3 retries
//!   from 250 ms by default, each wait at most 30 s); if the gateway stays unreachable the
//!   error says so and names the URL (credentials removed). Nothing else is affected:
//!   metrics keep being recorded and served.
//! - Credentials in the URL (`http://user:password@gateway:9091`) are sent as HTTP Basic
//!   authentication and kept apart from the URL: errors, logs and `Debug` never show them.
//! - The body is the Prometheus text format 0.0.4, without timestamps, ending with `\n`.
//! - Pushing is blocking (it waits for the gateway, and between retries): in async code,
//!   call it from `tokio::task::spawn_blocking` or a thread of its own.
//!
//! [`Pushgateway::from_env`] reads the gateway's URL from `FLEXT_OBS_PUSHGATEWAY_URL`, else
//! `PROMETHEUS_PUSH_GATEWAY`, and returns `None` when neither is set, so "push when
//! configured" is one `if let`.
//!
//! HTTP only: TLS is not built in. Reach a gateway behind TLS through a local proxy.

use std::fmt;
use std::time::Duration;

use flext_observability_naming::validate_label_name;

use crate::prometheus::{TEXT_CONTENT_TYPE, render};
use crate::settings::{EnvLookup, process_env};

/// Environment variable with the Pushgateway URL.
pub const PUSHGATEWAY_URL_ENV: &str = "FLEXT_OBS_PUSHGATEWAY_URL";
/// The Python FLEXT name of the same setting, read when [`PUSHGATEWAY_URL_ENV`] is unset.
pub const PUSHGATEWAY_URL_ENV_COMPAT: &str = "PROMETHEUS_PUSH_GATEWAY";

/// Why a push failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum PushError {
    /// The gateway URL is not `http://host[:port][/prefix]`.
    InvalidUrl {
        /// Where the URL came from: the environment variable, or `Pushgateway::new`.
        source: String,
        /// What is wrong.
        reason: String,
    },
    /// A grouping key label is invalid (bad name, `job` given as a label, a duplicate).
    InvalidGroupingKey {
        /// What is wrong.
        reason: String,
    },
    /// [`push_metrics`](Pushgateway::push_metrics) named metrics that are not registered.
    UnknownMetrics {
        /// The names not found.
        names: Vec<String>,
    },
    /// [`push_metrics`](Pushgateway::push_metrics) or
    /// [`push_add_metrics`](Pushgateway::push_add_metrics) was given no names: a `PUT` of
    /// nothing would empty the group.
    NoMetrics,
    /// The gateway could not be reached, on any attempt.
    Unreachable {
        /// The URL tried (credentials removed).
        url: String,
        /// How many attempts were made.
        attempts: u32,
        /// The last transport error.
        reason: String,
    },
    /// The gateway answered with an error status (after retries, for `5xx`).
    Rejected {
        /// The URL (credentials removed).
        url: String,
        /// The HTTP status.
        status: u16,
        /// The gateway's explanation (the start of the response body).
        body: String,
    },
}

impl fmt::Display for PushError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PushError::InvalidUrl { source, reason } => {
                write!(f, "invalid Pushgateway URL in `{source}`: {reason}")
            }
            PushError::InvalidGroupingKey { reason } => {
                write!(f, "invalid Pushgateway grouping key: {reason}")
            }
            PushError::NoMetrics => f.write_str(
                "no metrics to push: name at least one (pushing none would empty the group; `delete()` removes it)",
            ),
            PushError::UnknownMetrics { names } => write!(
                f,
                "cannot push metrics that are not registered: {} (use the exposed names, such as `etl_rows_total`)",
                names.join(", ")
            ),
            PushError::Unreachable {
                url,
                attempts,
                reason,
            } => write!(
                f,
                "cannot reach the Pushgateway at {url} ({attempts} attempts): {reason}; check that it runs and that {PUSHGATEWAY_URL_ENV} points at it"
            ),
            PushError::Rejected { url, status, body } => {
                write!(f, "the Pushgateway at {url} answered {status}: {body}")
            }
        }
    }
}

impl std::error::Error for PushError {}

/// Longest wait between two attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

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
}

/// `user:password` from the gateway URL, percent-decoded, sent as HTTP Basic
/// authentication. Shown as `***`.
#[derive(Clone)]
struct Credentials(String);

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// One request: the body goes with the methods that have one.
#[derive(Clone, Copy, Debug)]
enum Request<'a> {
    Put(&'a str),
    Post(&'a str),
    Delete,
}

impl Pushgateway {
    /// A gateway at `url` (`http://host:9091`, optionally with a path prefix) for the job
    /// `job`.
    ///
    /// # Errors
    /// [`PushError::InvalidUrl`] when `url` is not an `http://` URL, and
    /// [`PushError::InvalidGroupingKey`] when `job` is empty.
    pub fn new(url: &str, job: &str) -> Result<Pushgateway, PushError> {
        Self::with_source(url, job, "Pushgateway::new")
    }

    fn with_source(url: &str, job: &str, source: &str) -> Result<Pushgateway, PushError> {
        let (base, credentials) = parse_url(url).map_err(|reason| PushError::InvalidUrl {
            source: source.to_owned(),
            reason,
        })?;
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
            timeout: Duration::from_secs(10),
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
        for var in [PUSHGATEWAY_URL_ENV, PUSHGATEWAY_URL_ENV_COMPAT] {
            if let Some(url) = env(var).filter(|v| !v.trim().is_empty()) {
                return Self::with_source(url.trim(), job, var).map(Some);
            }
        }
        Ok(None)
    }

    /// Adds the `instance` label to the grouping key. Batch jobs usually leave it out, so
    /// each run replaces the previous one's metrics.
    pub fn instance(self, instance: impl Into<String>) -> Self {
        self.grouping("instance", instance)
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

    /// Time limit of one attempt (default 10 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
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
        let mut seen: Vec<&str> = Vec::new();
        for (name, _) in &self.grouping {
            if name == "job" {
                return Err(PushError::InvalidGroupingKey {
                    reason:
                        "`job` is the job name given to `Pushgateway::new`, not a grouping label"
                            .into(),
                });
            }
            validate_label_name(name).map_err(|e| PushError::InvalidGroupingKey {
                reason: e.to_string(),
            })?;
            if seen.contains(&name.as_str()) {
                return Err(PushError::InvalidGroupingKey {
                    reason: format!("label `{name}` is given twice"),
                });
            }
            seen.push(name);
        }
        let mut url = format!("{}/metrics", self.base);
        push_segment(&mut url, "job", &self.job);
        for (name, value) in &self.grouping {
            push_segment(&mut url, name, value);
        }
        Ok(url)
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
        self.send(Request::Put(&select(names)?))
    }

    /// `POST` with the chosen metrics only: the group's other metrics stay.
    ///
    /// # Errors
    /// As [`push_metrics`](Self::push_metrics).
    pub fn push_add_metrics(&self, names: &[&str]) -> Result<(), PushError> {
        self.send(Request::Post(&select(names)?))
    }

    /// `DELETE`: removes every metric of the group.
    ///
    /// # Errors
    /// See [`PushError`].
    pub fn delete(&self) -> Result<(), PushError> {
        self.send(Request::Delete)
    }

    fn send(&self, request: Request<'_>) -> Result<(), PushError> {
        let url = self.url()?;
        let shown = redact(&url);
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(self.timeout))
            .build()
            .into();
        let authorization = self
            .credentials
            .as_ref()
            .map(|c| format!("Basic {}", base64(c.0.as_bytes(), STANDARD)));
        let mut wait = self.backoff.min(MAX_BACKOFF);
        let attempts = self.retries.saturating_add(1);
        let mut last = String::new();
        for attempt in 1..=attempts {
            let result = match request {
                Request::Put(body) => {
                    let mut put = agent.put(&url).header("Content-Type", TEXT_CONTENT_TYPE);
                    if let Some(authorization) = &authorization {
                        put = put.header("Authorization", authorization);
                    }
                    put.send(body.as_bytes())
                }
                Request::Post(body) => {
                    let mut post = agent.post(&url).header("Content-Type", TEXT_CONTENT_TYPE);
                    if let Some(authorization) = &authorization {
                        post = post.header("Authorization", authorization);
                    }
                    post.send(body.as_bytes())
                }
                Request::Delete => {
                    let mut delete = agent.delete(&url);
                    if let Some(authorization) = &authorization {
                        delete = delete.header("Authorization", authorization);
                    }
                    delete.call()
                }
            };
            match result {
                Ok(mut response) => {
                    let status = response.status().as_u16();
                    if (200..300).contains(&status) {
                        return Ok(());
                    }
                    let text = response
                        .body_mut()
                        .with_config()
                        .limit(64 * 1024)
                        .read_to_string()
                        .unwrap_or_default();
                    let text: String = text.trim().chars().take(500).collect();
                    if status < 500 || attempt == attempts {
                        return Err(PushError::Rejected {
                            url: shown,
                            status,
                            body: text,
                        });
                    }
                    last = format!("status {status}: {text}");
                }
                Err(error) => last = redact(&error.to_string()),
            }
            if attempt < attempts {
                crate::diag::warn(&format!(
                    "push to {shown} failed (attempt {attempt} of {attempts}): {last}; retrying in {wait:?}"
                ));
                std::thread::sleep(wait);
                wait = wait.saturating_mul(2).min(MAX_BACKOFF);
            }
        }
        Err(PushError::Unreachable {
            url: shown,
            attempts,
            reason: last,
        })
    }
}

/// `http://host[:port][/prefix]` without a trailing `/` and without credentials, and the
/// credentials (`user:password@`), percent-decoded.
fn parse_url(url: &str) -> Result<(String, Option<Credentials>), String> {
    let url = url.trim();
    let Some(rest) = url.strip_prefix("http://") else {
        return Err(if url.starts_with("https://") {
            format!(
                "`{}` uses https, and this build has no TLS: use http:// on a trusted network, or a local TLS proxy",
                redact(url)
            )
        } else {
            format!(
                "`{}` is not an http:// URL, such as `http://localhost:9091`",
                redact(url)
            )
        });
    };
    if rest.contains(['?', '#']) {
        return Err(format!(
            "`{}` has a query or fragment; give the base URL only",
            redact(url)
        ));
    }
    let authority = rest.split('/').next().unwrap_or("");
    let (credentials, rest) = match authority.rfind('@') {
        Some(at) => (
            Some(Credentials(crate::percent::decode_lossy(&authority[..at]))),
            &rest[at + 1..],
        ),
        None => (None, rest),
    };
    let host = rest.split('/').next().unwrap_or("");
    if host.is_empty() || host.starts_with(':') || host.ends_with(':') {
        return Err(format!(
            "`{}` has no host, such as `http://localhost:9091`",
            redact(url)
        ));
    }
    Ok((
        format!("http://{}", rest.trim_end_matches('/')),
        credentials,
    ))
}

/// Removes `user:password@` from a URL (and from error texts that quote it).
fn redact(text: &str) -> String {
    let Some(scheme) = text.find("://") else {
        return text.to_owned();
    };
    let after = &text[scheme + 3..];
    let authority_end = after.find(['/', ' ', '"', '\'']).unwrap_or(after.len());
    match after[..authority_end].rfind('@') {
        Some(at) => format!("{}://***@{}", &text[..scheme], &after[at + 1..]),
        None => text.to_owned(),
    }
}

/// Appends `/<name>/<value>`, or `/<name>@base64/<base64url>` for values the path cannot
/// carry as they are (a `/`, or empty).
fn push_segment(url: &mut String, name: &str, value: &str) {
    url.push('/');
    if value.is_empty() || value.contains('/') {
        url.push_str(name);
        url.push_str("@base64/");
        if value.is_empty() {
            url.push('=');
        } else {
            url.push_str(&base64(value.as_bytes(), URL_SAFE));
        }
    } else {
        url.push_str(name);
        url.push('/');
        crate::percent::encode_into(url, value);
    }
}

/// RFC 4648 base64, for HTTP Basic authentication.
const STANDARD: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
/// RFC 4648 base64url, for grouping values (the Pushgateway accepts it with padding).
const URL_SAFE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// RFC 4648 base64 in `alphabet`, with padding.
fn base64(bytes: &[u8], alphabet: &[u8; 64]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = (u32::from(chunk[0]) << 16)
            | (u32::from(chunk.get(1).copied().unwrap_or(0)) << 8)
            | u32::from(chunk.get(2).copied().unwrap_or(0));
        let sextet = |shift: u32| char::from(alphabet[((n >> shift) & 63) as usize]);
        out.push(sextet(18));
        out.push(sextet(12));
        out.push(if chunk.len() > 1 { sextet(6) } else { '=' });
        out.push(if chunk.len() > 2 { sextet(0) } else { '=' });
    }
    out
}

/// The families whose exposed name is in `names`, in text format 0.0.4; an error
/// naming those that are not registered.
fn select(names: &[&str]) -> Result<String, PushError> {
    if names.is_empty() {
        return Err(PushError::NoMetrics);
    }
    let (text, written) = crate::prometheus::render_filtered(&|name| names.contains(&name));
    let missing: Vec<String> = names
        .iter()
        .filter(|n| !written.iter().any(|w| w == *n))
        .map(|n| (*n).to_owned())
        .collect();
    if missing.is_empty() {
        Ok(text)
    } else {
        Err(PushError::UnknownMetrics { names: missing })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grouping_key_paths() {
        let pg = Pushgateway::new("http://localhost:9091/", "etl")
            .unwrap()
            .grouping("pipeline", "orders")
            .grouping("path", "/var/tmp")
            .grouping("empty", "")
            .instance("host 1");
        assert_eq!(
            pg.url().unwrap(),
            "http://localhost:9091/metrics/job/etl/pipeline/orders/path@base64/L3Zhci90bXA=/empty@base64/=/instance/host%201"
        );
        let pg = Pushgateway::new("http://localhost:9091/prefix", "nightly/etl").unwrap();
        assert_eq!(
            pg.url().unwrap(),
            "http://localhost:9091/prefix/metrics/job@base64/bmlnaHRseS9ldGw="
        );
    }

    #[test]
    fn base64url_matches_rfc4648() {
        for (raw, encoded) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("/var/tmp", "L3Zhci90bXA="),
            ("\u{ff}\u{fe}", "w7_Dvg=="),
        ] {
            assert_eq!(base64(raw.as_bytes(), URL_SAFE), encoded, "{raw:?}");
        }
    }

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
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| (*v).to_owned())
            }
        };
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
    }

    #[test]
    fn credentials_stay_out_of_urls_and_debug_output() {
        let pg = Pushgateway::new("http://user:s%40cret@gw:9091/prefix/", "etl").unwrap();
        assert_eq!(pg.url().unwrap(), "http://gw:9091/prefix/metrics/job/etl");
        assert_eq!(pg.credentials.as_ref().unwrap().0, "user:s@cret");
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
        assert_eq!(base64(b"user:s@cret", STANDARD), "dXNlcjpzQGNyZXQ=");
    }

    #[test]
    fn pushing_no_metrics_is_an_error() {
        assert!(matches!(select(&[]), Err(PushError::NoMetrics)));
    }

    #[test]
    fn backoff_is_capped() {
        let pg = Pushgateway::new("http://gw:9091", "etl")
            .unwrap()
            .backoff(Duration::MAX);
        assert_eq!(pg.backoff, MAX_BACKOFF);
    }

    #[test]
    fn redaction() {
        assert_eq!(redact("http://u:p@host:1/x"), "http://***@host:1/x");
        assert_eq!(redact("http://host:1/x@y"), "http://host:1/x@y");
        assert_eq!(redact("no url"), "no url");
    }

    #[test]
    fn selecting_families_names_what_is_missing() {
        assert!(matches!(
            select(&["no_such_metric_total"]),
            Err(PushError::UnknownMetrics { names }) if names == ["no_such_metric_total"]
        ));
    }
}
