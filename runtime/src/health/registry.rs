//! What `#[health_check]` registers, the resources checks take as parameters, and the
//! start-up validation of both.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use super::report::{HealthReport, IntoHealth, Kind};
use crate::error::StartupIssue;

/// Compile-time facts about one `#[health_check]` function.
#[derive(Debug)]
pub struct HealthCheckMeta {
    /// The check's name (`name = "…"`, else the function's name).
    pub name: &'static str,
    /// `module_path!()` of the function.
    pub module: &'static str,
    /// Source file of the function, for error messages.
    pub file: &'static str,
    /// Source line of the function, for error messages.
    pub line: u32,
    /// Which probe it belongs to.
    pub kind: Kind,
    /// Whether a failure makes the service unhealthy (else degraded).
    pub critical: bool,
    /// `groups = [..]`.
    pub groups: &'static [&'static str],
    /// `interval = "…"`, else the runtime default.
    pub interval: Option<Duration>,
    /// `timeout = "…"`, else the runtime default.
    pub timeout: Option<Duration>,
    /// `failure_threshold = n`; 0 means the runtime default.
    pub failure_threshold: u32,
    /// `success_threshold = n`; 0 means the runtime default.
    pub success_threshold: u32,
    /// Resolves the parameters from the registered resources.
    pub bind: fn(&Resources, &mut Missing) -> Option<BoundCheck>,
}

impl HealthCheckMeta {
    pub(crate) fn location(&self) -> String {
        format!("{}:{}", self.file, self.line)
    }
}

/// What `inventory` collects for each health check.
#[derive(Clone, Copy, Debug)]
pub struct HealthCheckEntry {
    meta: &'static HealthCheckMeta,
}

impl HealthCheckEntry {
    /// Wraps a check for registration.
    pub const fn new(meta: &'static HealthCheckMeta) -> Self {
        HealthCheckEntry { meta }
    }
}

inventory::collect!(HealthCheckEntry);

/// Every registered check, sorted by name, duplicates included (they are catalogue
/// issues).
pub(crate) fn registered() -> &'static [&'static HealthCheckMeta] {
    static ALL: OnceLock<Vec<&'static HealthCheckMeta>> = OnceLock::new();
    ALL.get_or_init(|| {
        let mut all: Vec<_> = inventory::iter::<HealthCheckEntry>
            .into_iter()
            .map(|e| e.meta)
            .collect();
        all.sort_by_key(|m| (m.name, m.file, m.line));
        all
    })
}

/// Duplicate names, and groups named like a check (`/health/<name>` would be ambiguous).
pub(crate) fn issues() -> Vec<StartupIssue> {
    let all = registered();
    let mut issues = Vec::new();
    for pair in all.windows(2) {
        if pair[0].name == pair[1].name {
            issues.push(StartupIssue::new(format!(
                "health check `{}` is registered twice, at {} and at {}: give one of them \
                 another name with `#[health_check(name = \"…\")]`",
                pair[0].name,
                pair[0].location(),
                pair[1].location()
            )));
        }
    }
    for meta in all {
        for group in meta.groups {
            if let Some(check) = all.iter().find(|c| c.name == *group) {
                issues.push(StartupIssue::new(format!(
                    "health check group `{group}` (at {}) has the name of the health check at \
                     {}: `/health/{group}` would be ambiguous; rename the group or the check",
                    meta.location(),
                    check.location()
                )));
            }
        }
    }
    issues
}

/// Values registered with [`resource`](crate::ObservabilityBuilder::resource), by type.
#[derive(Default)]
pub struct Resources {
    values: HashMap<TypeId, Arc<dyn Any + Send + Sync>>,
    /// Types registered more than once (an error at start-up).
    pub(crate) duplicates: Vec<&'static str>,
}

impl Resources {
    pub(crate) fn insert<T: Send + Sync + 'static>(&mut self, value: T) {
        if self
            .values
            .insert(TypeId::of::<T>(), Arc::new(value))
            .is_some()
        {
            self.duplicates.push(std::any::type_name::<T>());
        }
    }

    /// The value registered for `T`; records `T` in `missing` when there is none.
    pub fn get<T: Resource>(&self, missing: &mut Missing) -> Option<Arc<T>> {
        let found = self
            .values
            .get(&TypeId::of::<T>())
            .cloned()
            .and_then(|any| any.downcast::<T>().ok());
        if found.is_none() {
            missing.types.push(std::any::type_name::<T>());
        }
        found
    }
}

impl std::fmt::Debug for Resources {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Values are the application's (pools, clients): their number only.
        f.debug_struct("Resources")
            .field("registered", &self.values.len())
            .finish_non_exhaustive()
    }
}

/// What a health check parameter may be: a value shared with the runner's threads.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a health check parameter: it is not `Send + Sync + 'static`",
    label = "checks run on the runner's threads, which share this value",
    note = "wrap it in a `Mutex`, or register a thread-safe handle with `.resource(..)`"
)]
pub trait Resource: Send + Sync + 'static {}

impl<T: Send + Sync + 'static> Resource for T {}

/// Parameter types a check needs and nobody registered.
#[derive(Debug, Default)]
pub struct Missing {
    pub(crate) types: Vec<&'static str>,
}

/// The future of one run of an async check.
pub type CheckFuture = Pin<Box<dyn Future<Output = HealthReport> + Send>>;

/// A check with its parameters resolved, ready to run any number of times.
#[derive(Clone)]
pub struct BoundCheck {
    pub(crate) work: Work,
}

#[derive(Clone)]
pub(crate) enum Work {
    /// Runs on a blocking thread.
    Blocking(Arc<dyn Fn() -> HealthReport + Send + Sync>),
    /// Makes the future of one run.
    Async(Arc<dyn Fn() -> CheckFuture + Send + Sync>),
}

impl BoundCheck {
    /// A sync check: `run` is called on a blocking thread.
    pub fn blocking(run: impl Fn() -> HealthReport + Send + Sync + 'static) -> Self {
        BoundCheck {
            work: Work::Blocking(Arc::new(run)),
        }
    }

    /// An async check: `run` makes the future of one run.
    pub fn asynchronous(run: impl Fn() -> CheckFuture + Send + Sync + 'static) -> Self {
        BoundCheck {
            work: Work::Async(Arc::new(run)),
        }
    }

    pub(crate) fn is_blocking(&self) -> bool {
        matches!(self.work, Work::Blocking(_))
    }
}

impl std::fmt::Debug for BoundCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.is_blocking() {
            "BoundCheck::Blocking"
        } else {
            "BoundCheck::Async"
        })
    }
}

/// Boxes the future of an async check (and requires it to be `Send`).
pub fn check_future<F: Future<Output = HealthReport> + Send + 'static>(future: F) -> CheckFuture {
    Box::pin(future)
}

/// A by-value parameter: a clone of the registered value.
pub fn cloned<T: Clone>(value: &Arc<T>) -> T {
    T::clone(value)
}

/// Converts what a check returned.
pub fn into_health<R: IntoHealth>(value: R) -> HealthReport {
    value.into_health()
}
