//! `Observability::builder()…install()`: settings, start-up validation, the start of
//! the core and of every integration, and the guard that stops them.

mod builder;
mod config;
mod guard;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

pub use builder::ObservabilityBuilder;
pub use config::DEFAULT_LISTEN;
pub use guard::ObservabilityGuard;

use crate::catalog;
use crate::error::{Error, StartupIssue};
use crate::facade::store::{BucketConfig, FACADE, FacadeRecorder};
use crate::identity;
use crate::identity::BuildInfo;
use crate::integration::{self, Prepared, Running, Service, Setup, Start};
use crate::model::DEFAULT_BUCKETS;
use crate::server::{Bound, Server};
use crate::settings::{self, EnvLookup};

static INSTALLED: AtomicBool = AtomicBool::new(false);
static RECORDER_IS_OURS: AtomicBool = AtomicBool::new(false);

/// Entry point: `Observability::builder()`.
#[derive(Debug)]
pub struct Observability;

impl Observability {
    /// A builder with every setting at its default (or its environment variable).
    pub fn builder() -> ObservabilityBuilder {
        ObservabilityBuilder::default()
    }
}

/// Every problem in what was registered: duplicate monitored functions, business
/// metrics that clash, health checks that cannot run.
fn startup_issues() -> Vec<StartupIssue> {
    let catalog = catalog::catalog();
    let mut issues = catalog.issues.clone();
    issues.extend(crate::health::registry::issues());
    issues.extend(crate::business::startup_issues(&catalog.monitors));
    issues
}

impl ObservabilityBuilder {
    /// Validates everything and starts the runtime.
    ///
    /// # Errors
    /// An invalid setting ([`Error::Config`] naming the variable or method), an
    /// inconsistent registration ([`Error::Catalog`] naming both source locations), a
    /// port already in use ([`Error::Bind`]), or a second live installation.
    pub fn install(self) -> Result<ObservabilityGuard, Error> {
        self.install_with_env(&settings::process_env)
    }

    pub(crate) fn install_with_env(
        mut self,
        env: EnvLookup<'_>,
    ) -> Result<ObservabilityGuard, Error> {
        let resolved = self.resolve(env)?;
        if INSTALLED
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            return Err(Error::AlreadyInstalled);
        }
        // From here on, failures must undo the flag; what can fail comes before what
        // starts threads, so a failed install leaves nothing running.
        let result = resolved.start(self.metrics_recorder);
        if result.is_err() {
            INSTALLED.store(false, Ordering::Release);
        }
        result
    }

    /// Checks every setting and registration; starts nothing.
    fn resolve(&mut self, env: EnvLookup<'_>) -> Result<Resolved, Error> {
        let service_name = config::resolve_service_name(self.service_name.as_deref(), env)?;
        let listen = config::resolve_listen(self.listen.as_ref(), env)?;
        let correlation_header = config::resolve_correlation_header(env)?;
        let default = self
            .default_buckets
            .take()
            .unwrap_or_else(|| DEFAULT_BUCKETS.to_vec());
        settings::check_bounds("default_histogram_buckets", &default)?;
        let mut by_prefix = Vec::new();
        for (prefix, bounds) in std::mem::take(&mut self.buckets_by_prefix) {
            settings::check_bounds("histogram_buckets", &bounds)?;
            by_prefix.push((prefix, Arc::from(bounds)));
        }
        let series_limit = self
            .series_limit
            .unwrap_or(crate::dynamic::DEFAULT_SERIES_LIMIT);
        if series_limit == 0 {
            return Err(Error::config("series_limit", "must be at least 1"));
        }
        let mut build_info: BuildInfo = catalog::default_build_info().unwrap_or_default();
        if let Some(version) = self.service_version.take() {
            build_info.version = version;
        }
        build_info.service_name.clone_from(&service_name);
        build_info.apply_env(env);
        let version = Some(build_info.version.as_str()).filter(|v| !v.is_empty());
        let resource = Arc::new(identity::resolve_resource(
            &self.resource,
            env,
            &service_name,
            version,
        )?);
        #[cfg(feature = "logs")]
        let logs = crate::logs::resolve(std::mem::take(&mut self.logs), env)?;
        let mut prepared: Vec<Box<dyn Prepared>> = Vec::new();
        for entry in integration::registered() {
            let mut setup = Setup {
                env,
                service: Service {
                    name: &service_name,
                    version,
                    resource: &resource,
                },
                extensions: &mut self.extensions,
            };
            prepared.extend((entry.prepare)(&mut setup)?);
        }
        let issues = startup_issues();
        if !issues.is_empty() {
            return Err(Error::Catalog(issues));
        }
        let health = crate::health::prepare(std::mem::take(&mut self.health), env)?;
        Ok(Resolved {
            service_name,
            listen,
            correlation_header,
            buckets: BucketConfig {
                default: Arc::from(default),
                by_prefix,
                series_limit,
            },
            build_info,
            resource,
            #[cfg(feature = "logs")]
            logs,
            prepared,
            health,
        })
    }
}

/// Everything checked, nothing started.
struct Resolved {
    service_name: String,
    listen: Option<std::net::SocketAddr>,
    correlation_header: String,
    buckets: BucketConfig,
    build_info: BuildInfo,
    resource: Arc<identity::Resource>,
    #[cfg(feature = "logs")]
    logs: crate::logs::LogConfig,
    prepared: Vec<Box<dyn Prepared>>,
    health: crate::health::Prepared,
}

impl Resolved {
    fn start(self, metrics_recorder: bool) -> Result<ObservabilityGuard, Error> {
        let bound = self.listen.map(Server::bind).transpose()?;
        crate::business::set_default_series_limit(self.buckets.series_limit);
        crate::clock::init();
        crate::span_ids::set_correlation_header(&self.correlation_header);
        FACADE.configure(self.buckets);
        if metrics_recorder && !RECORDER_IS_OURS.load(Ordering::Acquire) {
            metrics::set_global_recorder(FacadeRecorder).map_err(|_| Error::RecorderTaken)?;
            RECORDER_IS_OURS.store(true, Ordering::Release);
        }
        identity::set_build_info(self.build_info);
        identity::set_resource(self.resource.clone());
        // Read now: where it cannot come from the system, the start time is this moment.
        identity::process_start_unix_nanos();

        // Integrations start before the subscriber is set (they may add a layer to it)
        // and before the server serves.
        // Which other fields `Start` has depends on the features.
        #[allow(clippy::needless_update)]
        let mut start = Start {
            server_addr: bound.as_ref().map(Bound::local_addr),
            ..Start::default()
        };
        let mut running: Vec<Box<dyn Running>> = Vec::with_capacity(self.prepared.len());
        for p in self.prepared {
            running.push(p.start(&mut start)?);
        }
        #[cfg(feature = "logs")]
        {
            let (layers, hooks): (Vec<_>, Vec<_>) = start
                .layers
                .into_iter()
                .map(|l| (l.member, (l.installed, l.not_installed)))
                .unzip();
            let installed =
                crate::logs::install_subscriber(self.logs, layers.into_iter().flatten().collect());
            for (on_installed, on_missing) in hooks {
                if installed {
                    on_installed();
                } else {
                    on_missing();
                }
            }
        }
        #[cfg(not(feature = "logs"))]
        let _ = start;
        // Before the server serves, so its first probe finds a snapshot.
        let health = crate::health::Health::start(self.health)?;
        let server = bound.map(Bound::serve).transpose()?;
        Ok(ObservabilityGuard::new(
            running,
            server,
            health,
            self.service_name,
            self.resource,
            &INSTALLED,
        ))
    }
}
