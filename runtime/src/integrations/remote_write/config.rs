//! Remote write settings: the builder's over the `FLEXT_OBS_REMOTE_WRITE_*` variables
//! over defaults. The project's own variables, read strictly: an unusable value makes
//! `install()` fail naming it. Secrets (passwords, tokens, credentials in the URL) never
//! appear in an error, a log line or `Debug` output.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use crate::error::Error;
use crate::identity::Resource;
use crate::settings::{self, EnvLookup, Policy};

/// The receiver's URL (`http://host:port/path`, such as Prometheus'
/// `http://prometheus:9090/api/v1/write`); credentials in it are sent as HTTP Basic
/// authentication.
pub const URL_ENV: &str = "FLEXT_OBS_REMOTE_WRITE_URL";
/// How often everything is sent (`15s`, `500ms`, `1m`, or plain seconds; default 15 s).
pub const INTERVAL_ENV: &str = "FLEXT_OBS_REMOTE_WRITE_INTERVAL";
/// Time limit of one request (default 10 s).
pub const TIMEOUT_ENV: &str = "FLEXT_OBS_REMOTE_WRITE_TIMEOUT";
/// Pushes kept while the receiver is unreachable (default 20); older ones are dropped.
pub const QUEUE_ENV: &str = "FLEXT_OBS_REMOTE_WRITE_QUEUE";
/// HTTP Basic authentication: the user name.
pub const USERNAME_ENV: &str = "FLEXT_OBS_REMOTE_WRITE_USERNAME";
/// HTTP Basic authentication: the password.
pub const PASSWORD_ENV: &str = "FLEXT_OBS_REMOTE_WRITE_PASSWORD";
/// HTTP Basic authentication: a file holding the password, read for every request.
pub const PASSWORD_FILE_ENV: &str = "FLEXT_OBS_REMOTE_WRITE_PASSWORD_FILE";
/// A bearer token (`Authorization: Bearer …`).
pub const BEARER_TOKEN_ENV: &str = "FLEXT_OBS_REMOTE_WRITE_BEARER_TOKEN";
/// A file holding the bearer token, read for every request (rotated tokens).
pub const BEARER_TOKEN_FILE_ENV: &str = "FLEXT_OBS_REMOTE_WRITE_BEARER_TOKEN_FILE";

const DEFAULT_INTERVAL: Duration = Duration::from_secs(15);
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
const DEFAULT_QUEUE: usize = 20;
const MAX_DURATION: Duration = Duration::from_hours(24);

/// A secret: its value, or the file that holds it.
#[derive(Clone, PartialEq, Eq)]
pub(crate) enum Secret {
    Value(String),
    File(PathBuf),
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Secret::Value(_) => f.write_str("<redacted>"),
            Secret::File(path) => write!(f, "<from {}>", path.display()),
        }
    }
}

impl Secret {
    /// The secret, read from its file when it has one (trailing new line removed).
    fn read(&self) -> Result<String, String> {
        match self {
            Secret::Value(v) => Ok(v.clone()),
            Secret::File(path) => std::fs::read_to_string(path)
                .map(|text| text.trim_end_matches(['\n', '\r']).to_owned())
                .map_err(|e| format!("cannot read {}: {e}", path.display())),
        }
    }
}

/// How requests authenticate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Auth {
    Basic { user: String, password: Secret },
    Bearer(Secret),
}

impl Auth {
    /// The `Authorization` header value.
    pub(super) fn header(&self) -> Result<String, String> {
        match self {
            Auth::Basic { user, password } => Ok(crate::percent::basic_authorization(&format!(
                "{user}:{}",
                password.read()?
            ))),
            Auth::Bearer(token) => Ok(format!("Bearer {}", token.read()?)),
        }
    }
}

/// What the builder set in code; `None` means "environment, then default".
#[derive(Clone, Debug, Default)]
pub(crate) struct RemoteWriteSettings {
    pub(crate) url: Option<Redacted>,
    pub(crate) interval: Option<Duration>,
    pub(crate) timeout: Option<Duration>,
    pub(crate) queue: Option<usize>,
    pub(crate) auth: Option<Auth>,
}

/// A URL given in code, shown without its credentials.
#[derive(Clone)]
pub(crate) struct Redacted(pub(crate) String);

impl fmt::Debug for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&crate::percent::redact_urls(&self.0))
    }
}

/// Everything resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Config {
    /// Where requests go, without credentials.
    pub(super) url: String,
    /// The URL as shown in messages: no credentials, no query values.
    pub(super) shown: String,
    pub(super) auth: Option<Auth>,
    pub(super) interval: Duration,
    pub(super) timeout: Duration,
    pub(super) queue: usize,
    /// `instance` and `job`, sorted by name.
    pub(super) external: [(String, String); 2],
}

/// The resolved settings, or `None` when no URL is given (remote write is off).
pub(crate) fn resolve(
    settings: RemoteWriteSettings,
    env: EnvLookup<'_>,
    resource: &Resource,
) -> Result<Option<Config>, Error> {
    let (url, source) = match settings.url {
        Some(Redacted(url)) => (url, "remote_write_url"),
        None => match env(URL_ENV) {
            Some(url) => (url, URL_ENV),
            None => return Ok(None),
        },
    };
    let (url, in_url) = parse_url(url.trim()).map_err(|reason| Error::config(source, reason))?;
    let duration = |code: Option<Duration>, method: &str, var: &str, default: Duration| {
        match settings::code_or_read(code, env, var, Policy::Strict, settings::duration)? {
            None => Ok(default),
            Some(d) if d.is_zero() => Err(Error::config(
                if code.is_some() { method } else { var },
                "must be positive",
            )),
            Some(d) => Ok(d.min(MAX_DURATION)),
        }
    };
    let interval = duration(
        settings.interval,
        "remote_write_interval",
        INTERVAL_ENV,
        DEFAULT_INTERVAL,
    )?;
    let timeout = duration(
        settings.timeout,
        "remote_write_timeout",
        TIMEOUT_ENV,
        DEFAULT_TIMEOUT,
    )?;
    let queue = match settings.queue {
        Some(0) => return Err(Error::config("remote_write_queue", "must be at least 1")),
        Some(n) => n,
        None => settings::read(env, QUEUE_ENV, Policy::Strict, settings::positive)?
            .unwrap_or(DEFAULT_QUEUE),
    };
    let auth = match settings.auth {
        Some(auth) => Some(auth),
        None => auth_from_env(env)?,
    };
    let auth = match (in_url, auth) {
        (Some(_), Some(_)) => {
            return Err(Error::config(
                source,
                "has credentials, and others are configured too: keep one",
            ));
        }
        (Some((user, password)), None) => Some(Auth::Basic {
            user,
            password: Secret::Value(password),
        }),
        (None, auth) => auth,
    };
    if let Some(auth) = &auth {
        // A file that cannot be read fails now, not at the first push.
        auth.header().map_err(|reason| {
            Error::config(
                match auth {
                    Auth::Basic { .. } => PASSWORD_FILE_ENV,
                    Auth::Bearer(_) => BEARER_TOKEN_FILE_ENV,
                },
                reason,
            )
        })?;
    }
    let shown = crate::percent::redact_urls(&url);
    Ok(Some(Config {
        url,
        shown,
        auth,
        interval,
        timeout,
        queue,
        external: [
            ("instance".to_owned(), resource.instance_id().to_owned()),
            ("job".to_owned(), resource.job()),
        ],
    }))
}

/// Basic or bearer authentication from the environment; errors name the variables and
/// never quote their values.
fn auth_from_env(env: EnvLookup<'_>) -> Result<Option<Auth>, Error> {
    let user = env(USERNAME_ENV);
    let password = one_of(env, PASSWORD_ENV, PASSWORD_FILE_ENV)?;
    let token = one_of(env, BEARER_TOKEN_ENV, BEARER_TOKEN_FILE_ENV)?;
    if token.is_some() && (user.is_some() || password.is_some()) {
        return Err(Error::config(
            BEARER_TOKEN_ENV,
            format!("and basic authentication ({USERNAME_ENV}) are both set: keep one"),
        ));
    }
    match (user, password, token) {
        (Some(user), Some(password), None) => Ok(Some(Auth::Basic {
            user: user.trim().to_owned(),
            password,
        })),
        (Some(_), None, _) => Err(Error::config(
            USERNAME_ENV,
            format!("is set without {PASSWORD_ENV} or {PASSWORD_FILE_ENV}"),
        )),
        (None, Some(_), _) => Err(Error::config(
            PASSWORD_ENV,
            format!("is set without {USERNAME_ENV}"),
        )),
        (_, _, token) => Ok(token.map(Auth::Bearer)),
    }
}

/// The secret in `value_var`, or the file named in `file_var`; both is an error.
fn one_of(env: EnvLookup<'_>, value_var: &str, file_var: &str) -> Result<Option<Secret>, Error> {
    match (env(value_var), env(file_var)) {
        (Some(_), Some(_)) => Err(Error::config(
            value_var,
            format!("and {file_var} are both set: keep one"),
        )),
        (Some(v), None) => Ok(Some(Secret::Value(v))),
        (None, Some(path)) => Ok(Some(Secret::File(PathBuf::from(path.trim())))),
        (None, None) => Ok(None),
    }
}

/// `http://host[:port]/path[?query]` without its user information, and that user
/// information (`user`, `password`, percent-decoded); else what is wrong, the URL quoted
/// without its secrets.
fn parse_url(url: &str) -> Result<(String, Option<(String, String)>), String> {
    let shown = crate::percent::redact_urls(url);
    let Some(rest) = url.strip_prefix("http://") else {
        return Err(if url.starts_with("https://") {
            format!(
                "`{shown}` uses https, and this build has no TLS: use http:// on a trusted \
                 network, a local TLS proxy, or an OpenTelemetry Collector or Prometheus \
                 agent next to the process"
            )
        } else {
            format!(
                "`{shown}` is not an http:// URL, such as `http://prometheus:9090/api/v1/write`"
            )
        });
    };
    // Up to the last `@`, all is user information, whatever it holds: a password with
    // an unencoded `/`, `?` or `#` must neither pick the host nor be shown.
    let (userinfo, host_and_rest) = match rest.rfind('@') {
        Some(at) if rest[..at].contains(['/', '?', '#']) => {
            return Err(format!(
                "`{shown}` has an `@` after a `/`, `?` or `#`: percent-encode those \
                 characters in the password (`/` as `%2F`, `?` as `%3F`, `#` as `%23`), or \
                 an `@` in the path as `%40`"
            ));
        }
        Some(at) => (Some(&rest[..at]), &rest[at + 1..]),
        None => (None, rest),
    };
    if host_and_rest.contains('#') {
        return Err(format!("`{shown}` has a fragment"));
    }
    let host = host_and_rest.split(['/', '?']).next().unwrap_or_default();
    if host.is_empty() || host.starts_with(':') || host.ends_with(':') {
        return Err(format!(
            "`{shown}` has no host, such as `http://prometheus:9090/api/v1/write`"
        ));
    }
    let credentials = userinfo.map(|info| {
        let (user, password) = info.split_once(':').unwrap_or((info, ""));
        (
            crate::percent::decode_lossy(user),
            crate::percent::decode_lossy(password),
        )
    });
    Ok((format!("http://{host_and_rest}"), credentials))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::{ResourceSettings, resolve_resource};
    use crate::settings::test_env as env;

    fn resource() -> Resource {
        let code = ResourceSettings {
            namespace: Some("shop".into()),
            instance: Some(crate::InstanceId::Fixed("i-1".into())),
            ..ResourceSettings::default()
        };
        resolve_resource(&code, &env(&[]), "orders", None).unwrap()
    }

    fn from_env(pairs: &[(&str, &str)]) -> Result<Option<Config>, Error> {
        resolve(RemoteWriteSettings::default(), &env(pairs), &resource())
    }

    fn source(err: Error) -> String {
        match err {
            Error::Config { source, .. } => source,
            other => panic!("{other}"),
        }
    }

    #[test]
    fn off_without_a_url_and_defaults_with_one() {
        assert!(from_env(&[]).unwrap().is_none());
        let c = from_env(&[(URL_ENV, "http://prom:9090/api/v1/write")])
            .unwrap()
            .unwrap();
        assert_eq!(c.url, "http://prom:9090/api/v1/write");
        assert_eq!(c.interval, DEFAULT_INTERVAL);
        assert_eq!(c.timeout, DEFAULT_TIMEOUT);
        assert_eq!(c.queue, DEFAULT_QUEUE);
        assert_eq!(c.auth, None);
        assert_eq!(
            c.external,
            [
                ("instance".to_owned(), "i-1".to_owned()),
                ("job".to_owned(), "shop/orders".to_owned())
            ]
        );
        let c = from_env(&[
            (URL_ENV, "http://prom:9090/api/v1/write"),
            (INTERVAL_ENV, "250ms"),
            (TIMEOUT_ENV, "3"),
            (QUEUE_ENV, "5"),
        ])
        .unwrap()
        .unwrap();
        assert_eq!(
            (c.interval, c.timeout, c.queue),
            (Duration::from_millis(250), Duration::from_secs(3), 5)
        );
    }

    #[test]
    fn code_wins() {
        let settings = RemoteWriteSettings {
            url: Some(Redacted("http://code:1/w".into())),
            interval: Some(Duration::from_secs(1)),
            auth: Some(Auth::Bearer(Secret::Value("t".into()))),
            ..RemoteWriteSettings::default()
        };
        let c = resolve(
            settings,
            &env(&[(URL_ENV, "http://env:2/w"), (INTERVAL_ENV, "nonsense")]),
            &resource(),
        )
        .unwrap()
        .unwrap();
        assert_eq!(c.url, "http://code:1/w");
        assert_eq!(c.interval, Duration::from_secs(1));
        assert_eq!(c.auth.unwrap().header().unwrap(), "Bearer t");
    }

    #[test]
    fn credentials_are_sent_never_shown() {
        let c = from_env(&[(
            URL_ENV,
            "http://us%40er:pa%2Fss@prom:9090/api/v1/write?tenant=a",
        )])
        .unwrap()
        .unwrap();
        assert_eq!(c.url, "http://prom:9090/api/v1/write?tenant=a");
        assert_eq!(c.shown, "http://prom:9090/api/v1/write?tenant=***");
        let header = c.auth.as_ref().unwrap().header().unwrap();
        assert_eq!(header, crate::percent::basic_authorization("us@er:pa/ss"));
        let debug = format!("{c:?}");
        assert!(
            !debug.contains("pa/ss") && !debug.contains("pa%2Fss"),
            "{debug}"
        );
        let c = from_env(&[
            (URL_ENV, "http://prom:9090/api/v1/write"),
            (USERNAME_ENV, "u"),
            (PASSWORD_ENV, "hunter2"),
        ])
        .unwrap()
        .unwrap();
        assert_eq!(
            c.auth.as_ref().unwrap().header().unwrap(),
            crate::percent::basic_authorization("u:hunter2")
        );
        assert!(!format!("{c:?}").contains("hunter2"));
        let settings = RemoteWriteSettings {
            url: Some(Redacted("http://u:hunter2@prom/w".into())),
            auth: Some(Auth::Bearer(Secret::Value("hunter3".into()))),
            ..RemoteWriteSettings::default()
        };
        let debug = format!("{settings:?}");
        assert!(!debug.contains("hunter"), "{debug}");
    }

    #[test]
    fn secrets_from_files_are_read_for_every_request() {
        let dir = std::env::temp_dir().join(format!("rw-token-{}", std::process::id()));
        std::fs::write(&dir, "tok-1\n").unwrap();
        let path = dir.to_str().unwrap();
        let c = from_env(&[(URL_ENV, "http://p/w"), (BEARER_TOKEN_FILE_ENV, path)])
            .unwrap()
            .unwrap();
        let auth = c.auth.unwrap();
        assert_eq!(auth.header().unwrap(), "Bearer tok-1");
        std::fs::write(&dir, "tok-2").unwrap();
        assert_eq!(auth.header().unwrap(), "Bearer tok-2");
        assert!(!format!("{auth:?}").contains("tok-"));
        std::fs::remove_file(&dir).unwrap();
        let err = from_env(&[(URL_ENV, "http://p/w"), (BEARER_TOKEN_FILE_ENV, path)]);
        assert_eq!(source(err.unwrap_err()), BEARER_TOKEN_FILE_ENV);
    }

    #[test]
    fn invalid_values_name_their_variable_and_quote_no_secret() {
        for (pairs, var) in [
            (vec![(URL_ENV, "prom:9090")], URL_ENV),
            (vec![(URL_ENV, "https://u:secret@prom/w")], URL_ENV),
            (vec![(URL_ENV, "http://u:sec/ret@prom/w")], URL_ENV),
            (vec![(URL_ENV, "http://:9090/w")], URL_ENV),
            (
                vec![(URL_ENV, "http://p/w"), (INTERVAL_ENV, "0")],
                INTERVAL_ENV,
            ),
            (
                vec![(URL_ENV, "http://p/w"), (TIMEOUT_ENV, "soon")],
                TIMEOUT_ENV,
            ),
            (vec![(URL_ENV, "http://p/w"), (QUEUE_ENV, "0")], QUEUE_ENV),
            (
                vec![(URL_ENV, "http://p/w"), (USERNAME_ENV, "u")],
                USERNAME_ENV,
            ),
            (
                vec![(URL_ENV, "http://p/w"), (PASSWORD_ENV, "secret")],
                PASSWORD_ENV,
            ),
            (
                vec![
                    (URL_ENV, "http://p/w"),
                    (BEARER_TOKEN_ENV, "secret"),
                    (USERNAME_ENV, "u"),
                    (PASSWORD_ENV, "secret"),
                ],
                BEARER_TOKEN_ENV,
            ),
            (
                vec![
                    (URL_ENV, "http://p/w"),
                    (BEARER_TOKEN_ENV, "secret"),
                    (BEARER_TOKEN_FILE_ENV, "/x"),
                ],
                BEARER_TOKEN_ENV,
            ),
            (
                vec![
                    (URL_ENV, "http://u:secret@p/w"),
                    (BEARER_TOKEN_ENV, "secret"),
                ],
                URL_ENV,
            ),
        ] {
            let err = from_env(&pairs).expect_err(var);
            let text = err.to_string();
            assert!(
                !text.contains("secret") && !text.contains("sec/ret"),
                "{text}"
            );
            assert_eq!(source(err), var, "{pairs:?}");
        }
    }
}
