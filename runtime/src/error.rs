use std::fmt;
use std::net::SocketAddr;

/// A problem found in what was registered (a function monitored twice, a business
/// metric that clashes with another, a health check without its resource), naming
/// every source location involved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StartupIssue {
    message: String,
}

impl StartupIssue {
    pub(crate) fn new(message: String) -> Self {
        StartupIssue { message }
    }
}

impl fmt::Display for StartupIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// Why [`install`](crate::ObservabilityBuilder::install) refused to start.
///
/// `Debug` prints what `Display` says, hint included, as `anyhow` does: `main` returning
/// `Result<(), Box<dyn Error>>` prints the error with `Debug`, and that is the line users
/// read. The alternate form (`{:#?}`) shows the fields.
#[non_exhaustive]
pub enum Error {
    /// A setting is invalid. `source` names the environment variable or builder method.
    Config {
        /// The environment variable (`FLEXT_OBS_LISTEN`) or builder method (`listen`).
        source: String,
        /// What is wrong and what is accepted.
        reason: String,
    },
    /// What was registered is inconsistent (for example the same metric twice); every
    /// issue names the source locations involved.
    Catalog(Vec<StartupIssue>),
    /// The embedded server could not listen.
    Bind {
        /// The address it tried.
        addr: SocketAddr,
        /// The operating system's answer.
        error: std::io::Error,
    },
    /// Another [`ObservabilityGuard`](crate::ObservabilityGuard) is alive in this process.
    AlreadyInstalled,
    /// Another `metrics` recorder is installed; disable ours with
    /// [`metrics_recorder(false)`](crate::ObservabilityBuilder::metrics_recorder) to keep it.
    RecorderTaken,
    /// A background thread could not be started.
    Spawn(std::io::Error),
}

impl Error {
    pub(crate) fn config(source: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::Config {
            source: source.into(),
            reason: reason.into(),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Config { source, reason } => write!(f, "invalid `{source}`: {reason}"),
            Error::Catalog(issues) => {
                write!(f, "{} registration problem(s):", issues.len())?;
                for issue in issues {
                    write!(f, "\n  - {issue}")?;
                }
                Ok(())
            }
            Error::Bind { addr, error } => {
                write!(f, "cannot listen on {addr}: {error} (set FLEXT_OBS_LISTEN or `listen(..)`; `off` disables the server)")
            }
            Error::AlreadyInstalled => f.write_str(
                "flext-observability is already installed in this process; drop the first guard before installing again",
            ),
            Error::RecorderTaken => f.write_str(
                "another `metrics` recorder is already installed; call `.metrics_recorder(false)` to keep it",
            ),
            Error::Spawn(error) => write!(f, "cannot start a background thread: {error}"),
        }
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !f.alternate() {
            return fmt::Display::fmt(self, f);
        }
        match self {
            Error::Config { source, reason } => f
                .debug_struct("Config")
                .field("source", source)
                .field("reason", reason)
                .finish(),
            Error::Catalog(issues) => f.debug_tuple("Catalog").field(issues).finish(),
            Error::Bind { addr, error } => f
                .debug_struct("Bind")
                .field("addr", addr)
                .field("error", error)
                .finish(),
            Error::AlreadyInstalled => f.write_str("AlreadyInstalled"),
            Error::RecorderTaken => f.write_str("RecorderTaken"),
            Error::Spawn(error) => f.debug_tuple("Spawn").field(error).finish(),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Bind { error, .. } | Error::Spawn(error) => Some(error),
            _ => None,
        }
    }
}
