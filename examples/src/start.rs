//! What the service examples share at start-up: where they listen, and how long a
//! bounded run lasts.

use flext_observability::{Error, ObservabilityBuilder, ObservabilityGuard};

/// Installs with `builder`; when the default metrics address is taken (another example
/// already runs) and no address was asked for, serves `/metrics` on a free port instead.
/// An address given by `FLEXT_OBS_LISTEN` that is taken is an error, as asked.
///
/// # Errors
///
/// What `install()` fails with.
pub fn install(builder: impl Fn() -> ObservabilityBuilder) -> Result<ObservabilityGuard, Error> {
    let asked = std::env::var("FLEXT_OBS_LISTEN").is_ok_and(|v| !v.trim().is_empty());
    match builder().install() {
        Err(Error::Bind { addr, error })
            if !asked && error.kind() == std::io::ErrorKind::AddrInUse =>
        {
            eprintln!("{addr} is in use; serving /metrics on a free port instead");
            builder().listen("127.0.0.1:0").install()
        }
        other => other,
    }
}

/// The application's listener: the address in `variable`, else `default`, or a free
/// port when `default` is taken (an address given in `variable` that is taken is an
/// error naming the variable).
///
/// # Errors
///
/// The address that could not be bound, and why.
pub async fn bind_app(variable: &str, default: &str) -> Result<tokio::net::TcpListener, String> {
    match std::env::var(variable) {
        Ok(addr) if !addr.trim().is_empty() => tokio::net::TcpListener::bind(addr.trim())
            .await
            .map_err(|e| format!("{variable}={addr}: {e}")),
        _ => match tokio::net::TcpListener::bind(default).await {
            Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => {
                eprintln!("{default} is in use; serving on a free port instead");
                tokio::net::TcpListener::bind("127.0.0.1:0")
                    .await
                    .map_err(|e| e.to_string())
            }
            other => other.map_err(|e| format!("{default}: {e}")),
        },
    }
}

/// Seconds of a bounded run: `variable`, else 3.
///
/// # Errors
///
/// A value that is no whole number, naming the variable.
pub fn seconds(variable: &str) -> Result<u64, String> {
    match std::env::var(variable) {
        Ok(s) if !s.trim().is_empty() => s
            .trim()
            .parse()
            .map_err(|_| format!("{variable}: `{s}` is not a number")),
        _ => Ok(3),
    }
}

/// The value of one series of the exposition (0 when absent).
pub fn value(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or(0.0)
}
