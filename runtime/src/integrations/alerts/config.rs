//! The alerting settings resolved: code over `FLEXT_OBS_*` variables over defaults,
//! checked before anything starts. Alertmanager URLs are parsed here: plain `http://`,
//! credentials kept apart and never shown.

use std::fmt;
use std::time::Duration;

use super::builder::AlertSettings;
use crate::error::Error;
use crate::settings::{self, EnvLookup, Policy};

/// Comma-separated Alertmanager base URLs.
pub(super) const URL_ENV: &str = "FLEXT_OBS_ALERTMANAGER_URL";
/// How often alerts are evaluated (`15s`, `1s`).
pub(super) const INTERVAL_ENV: &str = "FLEXT_OBS_ALERT_EVALUATION_INTERVAL";

const DEFAULT_INTERVAL: Duration = Duration::from_secs(15);
const DEFAULT_RESEND: Duration = Duration::from_mins(1);
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);
const DEFAULT_QUEUE: usize = 10_000;
const DEFAULT_HEALTH_FOR: (Duration, Duration) = (Duration::from_mins(1), Duration::from_mins(5));

/// One Alertmanager.
#[derive(Clone)]
pub(super) struct Target {
    /// `http://host:port[/prefix]/api/v2/alerts`, without credentials.
    pub(super) endpoint: String,
    /// The base URL as it may be shown (credentials and query values withheld).
    pub(super) shown: String,
    /// `Basic …` from `user:password@`.
    pub(super) authorization: Option<String>,
}

impl fmt::Debug for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Target")
            .field("url", &self.shown)
            .field("authorization", &self.authorization.as_ref().map(|_| "***"))
            .finish_non_exhaustive()
    }
}

/// Everything checked.
#[derive(Debug)]
pub(super) struct Config {
    pub(super) targets: Vec<Target>,
    pub(super) interval: Duration,
    pub(super) resend: Duration,
    pub(super) timeout: Duration,
    pub(super) queue_size: usize,
    pub(super) labels: Vec<(String, String)>,
    pub(super) generator_url: Option<String>,
    pub(super) health: bool,
    pub(super) health_for: (Duration, Duration),
}

/// `None` when alerting is turned off.
pub(super) fn resolve(code: AlertSettings, env: EnvLookup<'_>) -> Result<Option<Config>, Error> {
    if code.enabled == Some(false) {
        return Ok(None);
    }
    let targets = if code.urls.is_empty() {
        settings::read(env, URL_ENV, Policy::Strict, |text| {
            text.split(',')
                .map(str::trim)
                .filter(|u| !u.is_empty())
                .map(parse_url)
                .collect::<Result<Vec<Target>, String>>()
        })?
        .unwrap_or_default()
    } else {
        code.urls
            .iter()
            .map(|u| parse_url(u).map_err(|r| Error::config("alertmanager_url", r)))
            .collect::<Result<Vec<Target>, Error>>()?
    };
    let interval = settings::code_or_read(
        code.evaluation_interval,
        env,
        INTERVAL_ENV,
        Policy::Strict,
        settings::duration,
    )?
    .unwrap_or(DEFAULT_INTERVAL);
    let positive = |value: Duration, method: &str| {
        if value.is_zero() {
            Err(Error::config(method, "must be above zero"))
        } else {
            Ok(value)
        }
    };
    let interval = positive(
        interval,
        if code.evaluation_interval.is_some() {
            "alert_evaluation_interval"
        } else {
            INTERVAL_ENV
        },
    )?;
    let resend = positive(
        code.resend_interval.unwrap_or(DEFAULT_RESEND),
        "alert_resend_interval",
    )?;
    let timeout = positive(code.timeout.unwrap_or(DEFAULT_TIMEOUT), "alert_timeout")?;
    let queue_size = code.queue_size.unwrap_or(DEFAULT_QUEUE);
    if queue_size == 0 {
        return Err(Error::config("alert_queue_size", "must be at least 1"));
    }
    for (name, value) in &code.labels {
        flext_observability_naming::validate_label_name(name)
            .map_err(|e| Error::config("alert_label", e.to_string()))?;
        if ["alertname", "severity", "instance"].contains(&name.as_str()) {
            return Err(Error::config(
                "alert_label",
                format!("`{name}` is set by each alert: choose another label"),
            ));
        }
        if value.is_empty() {
            return Err(Error::config(
                "alert_label",
                format!("label `{name}` has an empty value"),
            ));
        }
    }
    if let Some(url) = &code.generator_url
        && !(url.starts_with("http://") || url.starts_with("https://"))
    {
        return Err(Error::config(
            "alert_generator_url",
            format!(
                "`{}` is not an http:// or https:// URL",
                crate::percent::redact_urls(url)
            ),
        ));
    }
    Ok(Some(Config {
        targets,
        interval,
        resend,
        timeout,
        queue_size,
        labels: code.labels,
        generator_url: code.generator_url,
        health: code.health.unwrap_or(true),
        health_for: code.health_for.unwrap_or(DEFAULT_HEALTH_FOR),
    }))
}

/// `http://[user:password@]host[:port][/prefix]`; the error quotes the URL redacted.
pub(super) fn parse_url(url: &str) -> Result<Target, String> {
    let url = url.trim();
    let shown = crate::percent::redact_urls(url);
    let Some(rest) = url.strip_prefix("http://") else {
        return Err(if url.starts_with("https://") {
            format!(
                "`{shown}` uses https, and this build has no TLS: use http:// on a trusted network, or a local TLS proxy"
            )
        } else {
            format!("`{shown}` is not an http:// URL, such as `http://alertmanager:9093`")
        });
    };
    // Everything up to the last `@` is user information, whatever it holds.
    let (credentials, rest) = match rest.rfind('@') {
        Some(at) if rest[..at].contains(['/', '?', '#']) => {
            return Err(format!(
                "`{shown}` has an `@` after a `/`, `?` or `#`: percent-encode those characters in the password (`%2F`, `%3F`, `%23`)"
            ));
        }
        Some(at) => (
            Some(crate::percent::decode_lossy(&rest[..at])),
            &rest[at + 1..],
        ),
        None => (None, rest),
    };
    if rest.contains(['?', '#']) {
        return Err(format!(
            "`{shown}` has a query or fragment: give the base URL only"
        ));
    }
    let host = rest.split('/').next().unwrap_or("");
    if host.is_empty() || host.starts_with(':') || host.ends_with(':') {
        return Err(format!(
            "`{shown}` has no host, such as `http://alertmanager:9093`"
        ));
    }
    let base = format!("http://{}", rest.trim_end_matches('/'));
    Ok(Target {
        endpoint: format!("{base}/api/v2/alerts"),
        shown: crate::percent::redact_urls(&format!(
            "http://{}{}",
            if credentials.is_some() { "***@" } else { "" },
            rest.trim_end_matches('/')
        )),
        authorization: credentials.map(|c| format!("Basic {}", base64(c.as_bytes()))),
    })
}

/// Standard base64 with padding (RFC 4648), for the `Authorization` header.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | (u32::from(b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i)) as usize & 63]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::test_env;

    #[test]
    fn urls() {
        let t = parse_url("http://am:9093").unwrap();
        assert_eq!(t.endpoint, "http://am:9093/api/v2/alerts");
        assert_eq!(t.shown, "http://am:9093");
        assert!(t.authorization.is_none());
        let t = parse_url("http://ops:s%40cret@am:9093/prefix/").unwrap();
        assert_eq!(t.endpoint, "http://am:9093/prefix/api/v2/alerts");
        assert_eq!(t.shown, "http://***@am:9093/prefix");
        assert_eq!(t.authorization.as_deref(), Some("Basic b3BzOnNAY3JldA=="));
        assert!(!format!("{t:?}").contains("b3Bz"));
        for bad in [
            "https://am:9093",
            "am:9093",
            "http://:9093",
            "http://am:9093/?x=1",
        ] {
            assert!(parse_url(bad).is_err(), "{bad}");
        }
        let e = parse_url("https://u:hunter2@am").unwrap_err();
        assert!(!e.contains("hunter2"), "{e}");
    }

    #[test]
    fn base64_of_every_length() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foob"), "Zm9vYg==");
    }

    #[test]
    fn environment_and_code() {
        let env = test_env(&[
            (URL_ENV, "http://a:9093, http://b:9093"),
            (INTERVAL_ENV, "2s"),
        ]);
        let c = resolve(AlertSettings::default(), &env).unwrap().unwrap();
        assert_eq!(c.targets.len(), 2);
        assert_eq!(c.interval, Duration::from_secs(2));
        let code = AlertSettings {
            urls: vec!["http://c:9093".into()],
            ..AlertSettings::default()
        };
        let c = resolve(code, &env).unwrap().unwrap();
        assert_eq!(c.targets.len(), 1);
        let bad = test_env(&[(URL_ENV, "https://a:9093")]);
        let e = resolve(AlertSettings::default(), &bad)
            .unwrap_err()
            .to_string();
        assert!(e.contains(URL_ENV), "{e}");
        let off = AlertSettings {
            enabled: Some(false),
            ..AlertSettings::default()
        };
        assert!(resolve(off, &bad).unwrap().is_none());
        let zero = test_env(&[(INTERVAL_ENV, "0s")]);
        assert!(resolve(AlertSettings::default(), &zero).is_err());
    }
}
