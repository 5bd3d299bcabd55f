//! The gateway's URL: the variables that give it, its rules (plain `http://`, credentials
//! kept apart and out of every text shown), and the path of a group (the grouping key,
//! encoded as the Pushgateway API asks).

use std::fmt;

use flext_observability_naming::validate_label_name;

use crate::percent::URL_SAFE;

/// Environment variable with the Pushgateway URL.
pub const PUSHGATEWAY_URL_ENV: &str = "FLEXT_OBS_PUSHGATEWAY_URL";
/// The Python FLEXT name of the same setting, read when [`PUSHGATEWAY_URL_ENV`] is unset.
pub const PUSHGATEWAY_URL_ENV_COMPAT: &str = "PROMETHEUS_PUSH_GATEWAY";

/// `user:password` from the gateway URL, percent-decoded, sent as HTTP Basic
/// authentication. Shown as `***`.
#[derive(Clone)]
pub(super) struct Credentials(String);

impl Credentials {
    /// The `Authorization` header value.
    pub(super) fn authorization(&self) -> String {
        crate::percent::basic_authorization(&self.0)
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// `http://host[:port][/prefix]` without a trailing `/` and without credentials, and the
/// credentials (`user:password@`), percent-decoded; else what is wrong, the URL quoted
/// without its credentials.
pub(super) fn parse(url: &str) -> Result<(String, Option<Credentials>), String> {
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
    // Up to the last `@`, all is user information, whatever it holds: a password with
    // an unencoded `/`, `?` or `#` must neither pick the host nor be shown.
    let (credentials, rest) = match rest.rfind('@') {
        Some(at) if rest[..at].contains(['/', '?', '#']) => {
            return Err(format!(
                "`{}` has an `@` after a `/`, `?` or `#`: percent-encode those characters in \
                 the password (`/` as `%2F`, `?` as `%3F`, `#` as `%23`), or an `@` in the \
                 path as `%40`",
                redact(url)
            ));
        }
        Some(at) => (
            Some(Credentials(crate::percent::decode_lossy(&rest[..at]))),
            &rest[at + 1..],
        ),
        None => (None, rest),
    };
    if rest.contains(['?', '#']) {
        return Err(format!(
            "`{}` has a query or fragment; give the base URL only",
            redact(url)
        ));
    }
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

/// `text` with its URLs' credentials and query values hidden.
pub(super) fn redact(text: &str) -> String {
    crate::percent::redact_urls(text)
}

/// `<base>/metrics/job/<job>/<name>/<value>…`, the grouping labels in the order given;
/// else why a label is invalid (bad name, `job`, given twice).
pub(super) fn group(
    base: &str,
    job: &str,
    grouping: &[(String, String)],
) -> Result<String, String> {
    let mut seen: Vec<&str> = Vec::new();
    for (name, _) in grouping {
        if name == "job" {
            return Err(
                "`job` is the job name given to `Pushgateway::new`, not a grouping label".into(),
            );
        }
        validate_label_name(name).map_err(|e| e.to_string())?;
        if seen.contains(&name.as_str()) {
            return Err(format!("label `{name}` is given twice"));
        }
        seen.push(name);
    }
    let mut url = format!("{base}/metrics");
    push_segment(&mut url, "job", job);
    for (name, value) in grouping {
        push_segment(&mut url, name, value);
    }
    Ok(url)
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
            url.push_str(&crate::percent::base64(value.as_bytes(), URL_SAFE));
        }
    } else {
        url.push_str(name);
        url.push('/');
        crate::percent::encode_into(url, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn grouping_key_paths() {
        let (base, _) = parse("http://localhost:9091/").unwrap();
        let grouping = pairs(&[
            ("pipeline", "orders"),
            ("path", "/var/tmp"),
            ("empty", ""),
            ("instance", "host 1"),
        ]);
        assert_eq!(
            group(&base, "etl", &grouping).unwrap(),
            "http://localhost:9091/metrics/job/etl/pipeline/orders/path@base64/L3Zhci90bXA=/empty@base64/=/instance/host%201"
        );
        let (base, _) = parse("http://localhost:9091/prefix").unwrap();
        assert_eq!(
            group(&base, "nightly/etl", &[]).unwrap(),
            "http://localhost:9091/prefix/metrics/job@base64/bmlnaHRseS9ldGw="
        );
    }

    #[test]
    fn invalid_grouping_labels_say_why() {
        for (grouping, says) in [
            (pairs(&[("job", "x")]), "not a grouping label"),
            (pairs(&[("a", "1"), ("a", "2")]), "given twice"),
        ] {
            let err = group("http://gw:9091", "etl", &grouping).unwrap_err();
            assert!(err.contains(says), "{err}");
        }
        for bad in ["__x", "a-b", ""] {
            assert!(group("http://gw:9091", "etl", &pairs(&[(bad, "x")])).is_err());
        }
    }

    #[test]
    fn credentials_are_decoded_and_sent_as_basic_authentication() {
        let (base, credentials) = parse("http://user:s%40cret@gw:9091/prefix/").unwrap();
        assert_eq!(base, "http://gw:9091/prefix");
        let credentials = credentials.unwrap();
        assert_eq!(credentials.0, "user:s@cret");
        assert_eq!(credentials.authorization(), "Basic dXNlcjpzQGNyZXQ=");
        assert_eq!(format!("{credentials:?}"), "***");
        let err = parse("http://user:pw@gw:9091/x?y").unwrap_err();
        assert!(err.contains("query") && !err.contains("pw"), "{err}");
    }

    #[test]
    fn passwords_with_url_delimiters_never_pick_the_host_nor_show() {
        for url in [
            "http://zed:s3c/r3t@gw:9091",
            "http://zed:s3c?r3t@gw:9091",
            "http://zed:s3c#r3t@gw:9091",
            "http://gw:9091/x@y",
        ] {
            let err = parse(url).unwrap_err();
            assert!(
                err.contains("percent-encode") && !err.contains("s3c") && !err.contains("zed"),
                "{url}: {err}"
            );
        }
        let (base, credentials) = parse("http://user:pa%2Fss@gw:9091").unwrap();
        assert_eq!(base, "http://gw:9091");
        assert_eq!(credentials.unwrap().0, "user:pa/ss");
        // An `@` in the password itself: the last one ends the user information.
        let (base, credentials) = parse("http://user:p@ss@gw:9091").unwrap();
        assert_eq!(base, "http://gw:9091");
        assert_eq!(credentials.unwrap().0, "user:p@ss");
    }
}
