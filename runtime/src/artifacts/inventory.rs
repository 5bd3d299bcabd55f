//! What the artifacts are generated from: the binary's catalogue, read once into plain
//! data, so that the generators are pure functions tests can feed by hand.

use crate::objectives::{AlertEntry, Objective};

/// One objective and the functions that carry it.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct ObjectiveUse {
    pub(crate) objective: Objective,
    /// `(function, module)` of every function with this objective, sorted.
    pub(crate) functions: Vec<(String, String)>,
}

/// One health check as registered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Check {
    pub(crate) name: String,
    pub(crate) critical: bool,
}

/// One declared business metric.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct BusinessMetric {
    /// The sample name (`etl_runs_total`).
    pub(crate) name: String,
    pub(crate) help: String,
    pub(crate) kind: crate::business::MetricKind,
    pub(crate) labels: Vec<String>,
}

/// Everything the generators read.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Inventory {
    /// Monitored functions, `(function, module)`, sorted.
    pub(crate) functions: Vec<(String, String)>,
    /// Objectives by name.
    pub(crate) objectives: Vec<ObjectiveUse>,
    /// `#[health_check]` functions by name.
    pub(crate) checks: Vec<Check>,
    /// Whether the built-in CPU, memory and disk checks run (feature `system`).
    pub(crate) system_checks: bool,
    /// Declared business metrics, by name.
    pub(crate) business: Vec<BusinessMetric>,
    /// Whether HTTP server metrics (`http_server_request_duration_seconds`) are exported.
    pub(crate) http_server: bool,
    /// Whether gRPC server metrics (`rpc_server_call_duration_seconds`) are exported.
    pub(crate) grpc_server: bool,
    /// Declarations that carry `alert(..)`.
    pub(crate) alerts: Vec<&'static AlertEntry>,
}

/// The HTTP server family the `http` integration exports (OpenTelemetry semantic
/// conventions, translated to Prometheus names).
pub(crate) const HTTP_SERVER_DURATION: &str = "http_server_request_duration_seconds";
/// The gRPC server family the `grpc` integration exports.
pub(crate) const RPC_SERVER_DURATION: &str = "rpc_server_call_duration_seconds";

impl Inventory {
    /// The catalogue of this binary: monitored functions, health checks, business
    /// metrics, and the families registered sources export.
    pub(crate) fn of_this_binary() -> Inventory {
        let mut inventory = Inventory::default();
        for site in &crate::catalog::catalog().monitors {
            let meta = site.meta();
            let function = (meta.function.to_owned(), meta.module.to_owned());
            inventory.functions.push(function.clone());
            if let Some(objective) = meta.objective {
                inventory.add_objective(objective, function);
            }
        }
        inventory.functions.sort();
        for objective in &mut inventory.objectives {
            objective.functions.sort();
        }
        inventory
            .objectives
            .sort_by(|a, b| a.objective.name().cmp(b.objective.name()));
        let mut checks: Vec<Check> = crate::health::registry::registered()
            .iter()
            .map(|m| Check {
                name: m.name.to_owned(),
                critical: m.critical,
            })
            .collect();
        checks.dedup_by(|a, b| a.name == b.name);
        inventory.checks = checks;
        inventory.system_checks = cfg!(feature = "system");
        inventory.business = crate::business::registry::registry()
            .exported
            .iter()
            .map(|f| BusinessMetric {
                name: f.meta.name.to_owned(),
                help: f.meta.help.to_owned(),
                kind: f.meta.kind,
                labels: f.meta.labels.iter().map(|&l| l.to_owned()).collect(),
            })
            .collect();
        let families = exported_families();
        inventory.http_server = families.iter().any(|f| f == HTTP_SERVER_DURATION);
        inventory.grpc_server = families.iter().any(|f| f == RPC_SERVER_DURATION);
        inventory.alerts = crate::objectives::declared_alerts();
        inventory
    }

    /// Adds `function` to `objective`'s functions (objectives that share a name but not
    /// their targets are a catalogue issue `install()` reports; the first one is kept).
    pub(crate) fn add_objective(&mut self, objective: Objective, function: (String, String)) {
        match self
            .objectives
            .iter_mut()
            .find(|o| o.objective.name() == objective.name())
        {
            Some(existing) => existing.functions.push(function),
            None => self.objectives.push(ObjectiveUse {
                objective,
                functions: vec![function],
            }),
        }
    }
}

/// The names of the families registered sources export right now.
fn exported_families() -> Vec<String> {
    crate::collect::registered()
        .iter()
        .flat_map(|source| {
            let snapshot = source.snapshot();
            snapshot
                .families()
                .iter()
                .map(|f| f.name.to_string())
                .collect::<Vec<_>>()
        })
        .collect()
}
