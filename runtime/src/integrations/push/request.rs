//! One push on the wire: the body (everything registered, or chosen families), the HTTP
//! request, and the retries with exponential backoff.

use std::time::{Duration, Instant};

use super::error::PushError;
use super::url::{Credentials, redact};
use crate::prometheus::TEXT_CONTENT_TYPE;

/// Longest wait between two attempts.
pub(super) const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// One request: the body goes with the methods that have one.
#[derive(Clone, Copy, Debug)]
pub(super) enum Request<'a> {
    Put(&'a str),
    Post(&'a str),
    Delete,
}

/// How a request is tried.
#[derive(Clone, Copy, Debug)]
pub(super) struct Attempts {
    /// Retries after a connection failure or a `5xx` answer.
    pub(super) retries: u32,
    /// Wait before the first retry, doubled for each next one up to [`MAX_BACKOFF`].
    pub(super) backoff: Duration,
    /// Time limit of one attempt.
    pub(super) timeout: Duration,
    /// Time limit of the whole push, attempts and waits included.
    pub(super) deadline: Duration,
}

/// Sends `request` to `url` until it succeeds, is rejected (`4xx`, or `5xx` on the
/// last attempt), or every attempt failed to connect.
///
/// # Errors
/// [`PushError::Rejected`] and [`PushError::Unreachable`], naming the URL without its
/// credentials.
pub(super) fn send(
    url: &str,
    credentials: Option<&Credentials>,
    attempts: Attempts,
    request: Request<'_>,
) -> Result<(), PushError> {
    let shown = redact(url);
    let started = Instant::now();
    let authorization = credentials.map(Credentials::authorization);
    let mut wait = attempts.backoff.min(MAX_BACKOFF);
    let most = attempts.retries.saturating_add(1);
    let mut last = String::new();
    let mut made = 0;
    while made < most {
        // Each attempt gets what is left of the deadline, at most its own limit.
        let left = attempts.deadline.saturating_sub(started.elapsed());
        if left.is_zero() {
            break;
        }
        made += 1;
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(attempts.timeout.min(left)))
            .build()
            .into();
        match attempt(&agent, url, authorization.as_deref(), request) {
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
                let text: String = redact(text.trim()).chars().take(500).collect();
                if status < 500 || made == most {
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
        let left = attempts.deadline.saturating_sub(started.elapsed());
        if made < most && wait < left {
            crate::diag::warn(&format!(
                "push to {shown} failed (attempt {made} of {most}): {last}; retrying in {wait:?}"
            ));
            std::thread::sleep(wait);
            wait = wait.saturating_mul(2).min(MAX_BACKOFF);
        } else {
            break;
        }
    }
    Err(PushError::Unreachable {
        url: shown,
        attempts: made,
        reason: format!(
            "{last} (gave up after {:.1?}; the deadline is {:?})",
            started.elapsed(),
            attempts.deadline
        ),
    })
}

/// One request on the wire.
fn attempt(
    agent: &ureq::Agent,
    url: &str,
    authorization: Option<&str>,
    request: Request<'_>,
) -> Result<ureq::http::Response<ureq::Body>, ureq::Error> {
    match request {
        Request::Put(body) => {
            let mut put = agent.put(url).header("Content-Type", TEXT_CONTENT_TYPE);
            if let Some(authorization) = authorization {
                put = put.header("Authorization", authorization);
            }
            put.send(body.as_bytes())
        }
        Request::Post(body) => {
            let mut post = agent.post(url).header("Content-Type", TEXT_CONTENT_TYPE);
            if let Some(authorization) = authorization {
                post = post.header("Authorization", authorization);
            }
            post.send(body.as_bytes())
        }
        Request::Delete => {
            let mut delete = agent.delete(url);
            if let Some(authorization) = authorization {
                delete = delete.header("Authorization", authorization);
            }
            delete.call()
        }
    }
}

/// The families whose exposed name is in `names`, in text format 0.0.4; an error
/// naming those that are not registered.
pub(super) fn select(names: &[&str]) -> Result<String, PushError> {
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
    fn pushing_no_metrics_is_an_error() {
        assert!(matches!(select(&[]), Err(PushError::NoMetrics)));
    }

    #[test]
    fn selecting_families_names_what_is_missing() {
        assert!(matches!(
            select(&["no_such_metric_total"]),
            Err(PushError::UnknownMetrics { names }) if names == ["no_such_metric_total"]
        ));
    }
}
