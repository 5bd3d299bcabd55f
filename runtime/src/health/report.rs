//! What a check returns: [`Status`], [`HealthReport`], and the [`IntoHealth`] conversions
//! that let a check return `Result<(), E>`, a report or a bare status.

use std::fmt;

/// Health of one check, of a probe, or of the whole service.
///
/// The order is by severity: `Healthy < Degraded < Unhealthy < Unknown`. In
/// `application/health+json` they are `pass`, `warn`, `fail` and `fail`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Status {
    /// Works as expected (`pass`).
    Healthy,
    /// Works, with a problem worth a look (`warn`); probes still answer 200.
    Degraded,
    /// Does not work (`fail`); probes answer 503 when the check is critical.
    Unhealthy,
    /// No usable result: the check has not finished its first run, or its last result is
    /// older than three intervals. Counts as a failure.
    Unknown,
}

impl Status {
    /// `pass`, `warn` or `fail`, as `application/health+json` writes it.
    pub fn as_ietf(self) -> &'static str {
        match self {
            Status::Healthy => "pass",
            Status::Degraded => "warn",
            Status::Unhealthy | Status::Unknown => "fail",
        }
    }

    /// `healthy`, `degraded`, `unhealthy` or `unknown`, as the `status` label writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Healthy => "healthy",
            Status::Degraded => "degraded",
            Status::Unhealthy => "unhealthy",
            Status::Unknown => "unknown",
        }
    }

    /// Whether a probe with this status answers 200 (healthy or degraded).
    pub fn is_available(self) -> bool {
        matches!(self, Status::Healthy | Status::Degraded)
    }

    pub(crate) const ALL: [Status; 4] = [
        Status::Healthy,
        Status::Degraded,
        Status::Unhealthy,
        Status::Unknown,
    ];
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The result of one run of a check, with what it observed.
///
/// ```
/// use flext_observability::health::{HealthReport, Status};
///
/// let report = HealthReport::degraded("replication lag above 5 s")
///     .observed(7.2, "s")
///     .detail("replica", "db-2");
/// assert_eq!(report.status(), Status::Degraded);
/// assert_eq!(report.observed_value(), Some(7.2));
/// assert_eq!(report.details(), &[("replica".to_owned(), "db-2".to_owned())]);
/// ```
#[derive(Clone, Debug, PartialEq)]
#[must_use]
pub struct HealthReport {
    status: Status,
    output: Option<String>,
    observed: Option<(f64, String)>,
    details: Vec<(String, String)>,
}

impl HealthReport {
    /// A report with `status` and nothing else.
    pub fn new(status: Status) -> Self {
        HealthReport {
            status,
            output: None,
            observed: None,
            details: Vec::new(),
        }
    }

    /// A healthy report.
    pub fn healthy() -> Self {
        HealthReport::new(Status::Healthy)
    }

    /// A degraded report that says why.
    pub fn degraded(output: impl Into<String>) -> Self {
        HealthReport::new(Status::Degraded).output(output)
    }

    /// An unhealthy report that says why.
    pub fn unhealthy(output: impl Into<String>) -> Self {
        HealthReport::new(Status::Unhealthy).output(output)
    }

    /// Sets the text that explains the status (`output` in `application/health+json`).
    pub fn output(mut self, output: impl Into<String>) -> Self {
        self.output = Some(output.into());
        self
    }

    /// Sets the value the check measured and its unit (`observedValue`, `observedUnit`),
    /// for example `(42.0, "ms")` or `(81.5, "percent")`.
    pub fn observed(mut self, value: f64, unit: impl Into<String>) -> Self {
        self.observed = Some((value, unit.into()));
        self
    }

    /// Adds one key/value detail (shown with the details, in insertion order).
    pub fn detail(mut self, key: impl Into<String>, value: impl fmt::Display) -> Self {
        self.details.push((key.into(), value.to_string()));
        self
    }

    /// The status.
    pub fn status(&self) -> Status {
        self.status
    }

    /// The explanation, if any.
    pub fn output_text(&self) -> Option<&str> {
        self.output.as_deref()
    }

    /// The observed value, if any.
    pub fn observed_value(&self) -> Option<f64> {
        self.observed.as_ref().map(|(v, _)| *v)
    }

    /// The unit of the observed value, if any.
    pub fn observed_unit(&self) -> Option<&str> {
        self.observed.as_ref().map(|(_, u)| u.as_str())
    }

    /// The key/value details, in insertion order.
    pub fn details(&self) -> &[(String, String)] {
        &self.details
    }
}

/// What a health check may return.
///
/// | return type | status |
/// |---|---|
/// | `Result<(), E>` with `E: Display` | healthy on `Ok`, unhealthy on `Err` with the error as output |
/// | `Result<HealthReport, E>` / `Result<Status, E>` | the report or status on `Ok`, unhealthy on `Err` |
/// | [`HealthReport`] | as reported |
/// | [`Status`] | as returned |
/// | `bool` | healthy when `true`, unhealthy when `false` |
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a health check result",
    label = "a health check returns `Result<(), E: Display>`, `HealthReport`, `Status` or `bool`",
    note = "return `Result<(), E>` where `E: Display`, or `flext_observability::health::HealthReport` for details"
)]
pub trait IntoHealth {
    /// Converts the check's return value.
    fn into_health(self) -> HealthReport;
}

impl IntoHealth for HealthReport {
    fn into_health(self) -> HealthReport {
        self
    }
}

impl IntoHealth for Status {
    fn into_health(self) -> HealthReport {
        HealthReport::new(self)
    }
}

impl IntoHealth for bool {
    fn into_health(self) -> HealthReport {
        if self {
            HealthReport::healthy()
        } else {
            HealthReport::unhealthy("the check returned false")
        }
    }
}

impl<E: fmt::Display> IntoHealth for Result<(), E> {
    fn into_health(self) -> HealthReport {
        match self {
            Ok(()) => HealthReport::healthy(),
            Err(e) => HealthReport::unhealthy(e.to_string()),
        }
    }
}

impl<E: fmt::Display> IntoHealth for Result<HealthReport, E> {
    fn into_health(self) -> HealthReport {
        match self {
            Ok(report) => report,
            Err(e) => HealthReport::unhealthy(e.to_string()),
        }
    }
}

impl<E: fmt::Display> IntoHealth for Result<Status, E> {
    fn into_health(self) -> HealthReport {
        match self {
            Ok(status) => HealthReport::new(status),
            Err(e) => HealthReport::unhealthy(e.to_string()),
        }
    }
}

/// Whether a check runs in the liveness, readiness or startup probe.
///
/// Readiness (`/readyz`) also evaluates liveness and startup checks: a process that is not
/// alive, or not started, is not ready either.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// `/readyz`: can the process serve traffic now (dependencies included)?
    Readiness,
    /// `/livez`: is the process itself working? A failure gets it restarted, so keep
    /// dependencies out of liveness checks.
    Liveness,
    /// `/startupz`: has start-up finished? Once a startup check passes it is not run
    /// again.
    Startup,
}

impl Kind {
    /// `readiness`, `liveness` or `startup`.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Readiness => "readiness",
            Kind::Liveness => "liveness",
            Kind::Startup => "startup",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A set of checks evaluated together, as one endpoint serves it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Probe {
    /// `/livez`: liveness checks.
    Liveness,
    /// `/readyz`: readiness, liveness and startup checks, and the shutdown drain.
    Readiness,
    /// `/startupz`: startup checks.
    Startup,
    /// `/health`: every check, and the shutdown drain.
    All,
}

impl Probe {
    /// Whether checks of `kind` take part in this probe.
    pub fn includes(self, kind: Kind) -> bool {
        match self {
            Probe::Liveness => kind == Kind::Liveness,
            Probe::Startup => kind == Kind::Startup,
            Probe::Readiness | Probe::All => true,
        }
    }

    /// `livez`, `readyz`, `startupz` or `health`.
    pub fn as_str(self) -> &'static str {
        match self {
            Probe::Liveness => "livez",
            Probe::Readiness => "readyz",
            Probe::Startup => "startupz",
            Probe::All => "health",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Refused;
    impl fmt::Display for Refused {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("connection refused")
        }
    }

    #[test]
    fn conversions() {
        assert_eq!(Ok::<(), Refused>(()).into_health(), HealthReport::healthy());
        let failed = Err::<(), _>(Refused).into_health();
        assert_eq!(failed.status(), Status::Unhealthy);
        assert_eq!(failed.output_text(), Some("connection refused"));
        assert_eq!(Status::Degraded.into_health().status(), Status::Degraded);
        assert_eq!(false.into_health().status(), Status::Unhealthy);
        assert_eq!(
            Ok::<_, Refused>(Status::Degraded).into_health().status(),
            Status::Degraded
        );
    }

    #[test]
    fn severity_and_names() {
        assert!(Status::Healthy < Status::Degraded && Status::Unhealthy < Status::Unknown);
        assert_eq!(Status::Unknown.as_ietf(), "fail");
        assert!(Status::Degraded.is_available() && !Status::Unknown.is_available());
        assert!(Probe::Readiness.includes(Kind::Liveness));
        assert!(!Probe::Liveness.includes(Kind::Readiness));
    }
}
