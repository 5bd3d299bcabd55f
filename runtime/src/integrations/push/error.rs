//! Why a push failed.

use std::fmt;

use super::url::PUSHGATEWAY_URL_ENV;
use crate::error::Error;

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
    /// [`push_metrics`](super::Pushgateway::push_metrics) named metrics that are not
    /// registered.
    UnknownMetrics {
        /// The names not found.
        names: Vec<String>,
    },
    /// [`push_metrics`](super::Pushgateway::push_metrics) or
    /// [`push_add_metrics`](super::Pushgateway::push_add_metrics) was given no names: a
    /// `PUT` of nothing would empty the group.
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

impl PushError {
    /// The settings toolkit's error for the URL variable `var`, as an
    /// [`InvalidUrl`](PushError::InvalidUrl) naming it.
    pub(super) fn invalid_variable(var: &str, error: Error) -> PushError {
        let reason = match error {
            Error::Config { reason, .. } => reason,
            other => other.to_string(),
        };
        PushError::InvalidUrl {
            source: var.to_owned(),
            reason,
        }
    }
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
