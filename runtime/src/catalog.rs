//! The catalogue: everything registered through `inventory`, validated once.
//!
//! Registrations are complete before `main` runs, so the catalogue is built on first use
//! (by `install()` or the first render). Duplicate monitored functions are reported with
//! both source locations; `install()` refuses to start with any issue.

use std::borrow::Cow;
use std::sync::{OnceLock, PoisonError, RwLock};

use crate::collect::{Encoder, FamilyDesc, HistogramValue, Kind, Snapshot, Source, Value};
use crate::monitor::{MonitorEntry, MonitorSnapshot, MonitorStorage, Outcome};

/// A problem found in what was registered, naming every source location involved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CatalogIssue {
    message: String,
}

impl CatalogIssue {
    pub(crate) fn new(message: String) -> Self {
        CatalogIssue { message }
    }
}

impl std::fmt::Display for CatalogIssue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// A crate that registered something, with its version as Cargo knew it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct CrateInfo {
    pub(crate) name: &'static str,
    pub(crate) version: &'static str,
}

pub(crate) struct Catalog {
    /// Sorted by (function, module); duplicates removed.
    pub(crate) monitors: Vec<&'static dyn MonitorStorage>,
    pub(crate) issues: Vec<CatalogIssue>,
    pub(crate) crates: Vec<CrateInfo>,
}

static CATALOG: OnceLock<Catalog> = OnceLock::new();

pub(crate) fn catalog() -> &'static Catalog {
    CATALOG.get_or_init(build)
}

fn build() -> Catalog {
    let mut sites: Vec<&'static dyn MonitorStorage> = inventory::iter::<MonitorEntry>
        .into_iter()
        .map(|e| e.site)
        .collect();
    sites.sort_by(|a, b| {
        let (a, b) = (a.meta(), b.meta());
        (a.function, a.module, a.file, a.line).cmp(&(b.function, b.module, b.file, b.line))
    });
    let mut issues = Vec::new();
    let mut monitors: Vec<&'static dyn MonitorStorage> = Vec::with_capacity(sites.len());
    for site in sites {
        if let Some(prev) = monitors.last() {
            let (p, m) = (prev.meta(), site.meta());
            if p.function == m.function && p.module == m.module {
                issues.push(CatalogIssue::new(format!(
                    "monitored function `{}` in module `{}` is registered twice, at {} and at {}: \
                     give one of them another name with `#[monitor(name = \"…\")]`, or put \
                     `#[monitor]` on the impl block so methods are named `Type::method`",
                    m.function,
                    m.module,
                    p.location(),
                    m.location()
                )));
                continue;
            }
        }
        monitors.push(site);
    }
    issues.extend(crate::health::registry::issues());
    let mut crates: Vec<CrateInfo> = monitors
        .iter()
        .map(|s| CrateInfo {
            name: s.meta().crate_name,
            version: s.meta().crate_version,
        })
        .collect();
    crates.sort();
    crates.dedup();
    issues.extend(crate::business::startup_issues(&monitors));
    Catalog {
        monitors,
        issues,
        crates,
    }
}

/// What `build_info` reports; set by `install()`.
#[derive(Clone, Debug, Default)]
pub(crate) struct BuildInfo {
    pub(crate) crate_name: String,
    pub(crate) version: String,
    pub(crate) service_name: String,
}

static BUILD_INFO: RwLock<Option<BuildInfo>> = RwLock::new(None);

pub(crate) fn set_build_info(info: BuildInfo) {
    *BUILD_INFO.write().unwrap_or_else(PoisonError::into_inner) = Some(info);
}

/// The crate that stands for the process: the one whose name is the executable's, else
/// the only one, else the first by name.
pub(crate) fn default_build_info() -> Option<BuildInfo> {
    let crates = &catalog().crates;
    let exe = std::env::current_exe()
        .ok()
        .and_then(|p| p.file_stem().map(|s| s.to_string_lossy().replace('-', "_")));
    let chosen = exe
        .and_then(|exe| crates.iter().find(|c| c.name.replace('-', "_") == exe))
        .or_else(|| crates.first())?;
    Some(BuildInfo {
        crate_name: chosen.name.to_owned(),
        version: chosen.version.to_owned(),
        service_name: String::new(),
    })
}

pub(crate) struct MonitorSource;

pub(crate) static MONITOR_SOURCE: MonitorSource = MonitorSource;

struct MonitorView {
    sites: Vec<(&'static dyn MonitorStorage, MonitorSnapshot)>,
    build_info: Option<BuildInfo>,
}

impl Source for MonitorSource {
    fn snapshot(&self) -> Box<dyn Snapshot + '_> {
        let sites = catalog()
            .monitors
            .iter()
            .map(|&site| (site, site.snapshot().0))
            .collect();
        let build_info = BUILD_INFO
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
            .or_else(default_build_info);
        Box::new(MonitorView { sites, build_info })
    }
}

pub(crate) const CALLS: &str = "function_calls_total";
pub(crate) const DURATION: &str = "function_calls_duration_seconds";
pub(crate) const CONCURRENT: &str = "function_calls_concurrent";
pub(crate) const BUILD_INFO_NAME: &str = "build_info";

impl Snapshot for MonitorView {
    fn families(&self) -> Vec<FamilyDesc<'_>> {
        let mut out = Vec::new();
        if !self.sites.is_empty() {
            out.push(FamilyDesc {
                name: Cow::Borrowed(CALLS),
                help: Cow::Borrowed("Calls of instrumented functions, by result."),
                kind: Kind::Counter,
                unit: None,
            });
            out.push(FamilyDesc {
                name: Cow::Borrowed(DURATION),
                help: Cow::Borrowed("Duration of calls of instrumented functions."),
                kind: Kind::Histogram,
                unit: Some(Cow::Borrowed("seconds")),
            });
            out.push(FamilyDesc {
                name: Cow::Borrowed(CONCURRENT),
                help: Cow::Borrowed("Calls of instrumented functions in progress."),
                kind: Kind::Gauge,
                unit: None,
            });
        }
        if self.build_info.is_some() {
            out.push(FamilyDesc {
                name: Cow::Borrowed(BUILD_INFO_NAME),
                help: Cow::Borrowed("Build of the instrumented service."),
                kind: Kind::Info,
                unit: None,
            });
        }
        out
    }

    fn encode(&self, family: &str, out: &mut dyn Encoder) {
        match family {
            CALLS => {
                for (site, snap) in &self.sites {
                    let m = site.meta();
                    for outcome in Outcome::ALL {
                        let (result, error) = outcome_labels(outcome);
                        out.counter_exemplar(
                            &[
                                ("function", m.function),
                                ("module", m.module),
                                ("result", result),
                                ("error", error),
                            ],
                            Value::Int(snap.outcomes[outcome as usize]),
                            snap.outcome_exemplars[outcome as usize].as_ref(),
                        );
                    }
                }
            }
            DURATION => {
                for (site, snap) in &self.sites {
                    let m = site.meta();
                    out.histogram_exemplars(
                        &[("function", m.function), ("module", m.module)],
                        &HistogramValue {
                            bounds: m.bounds,
                            counts: &snap.buckets,
                            sum: snap.sum_ns as f64 / 1e9,
                        },
                        &snap.bucket_exemplars,
                    );
                }
            }
            CONCURRENT => {
                for (site, snap) in &self.sites {
                    let m = site.meta();
                    out.gauge(
                        &[("function", m.function), ("module", m.module)],
                        Value::Int(snap.in_flight),
                    );
                }
            }
            BUILD_INFO_NAME => {
                if let Some(info) = &self.build_info {
                    out.info(&[
                        ("crate", &info.crate_name),
                        ("version", &info.version),
                        ("service_name", &info.service_name),
                    ]);
                }
            }
            _ => {}
        }
    }
}

/// `result` and `error` label values of an outcome. Panics count as errors (so error
/// ratios include them) and carry `error="panic"` to tell them apart.
pub(crate) fn outcome_labels(outcome: Outcome) -> (&'static str, &'static str) {
    match outcome {
        Outcome::Ok => ("ok", ""),
        Outcome::Error => ("error", ""),
        Outcome::Panic => ("error", "panic"),
        Outcome::Cancelled => ("cancelled", ""),
    }
}
