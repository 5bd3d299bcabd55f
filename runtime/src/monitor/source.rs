//! The `function_calls_*` families and `build_info`, read from every monitored
//! function's storage.

use std::borrow::Cow;

use super::names::{BUILD_INFO, CALLS, CONCURRENT, DURATION};
use super::site::{MonitorSnapshot, MonitorStorage, Outcome};
use crate::catalog;
use crate::collect::{Encoder, Snapshot, Source, SourceEntry};
use crate::identity::{self, BuildInfo};
use crate::model::{FamilyDesc, HistogramValue, MetricType, Value};
use crate::prometheus::format::go_float;

struct MonitorSource;

static MONITOR_SOURCE: MonitorSource = MonitorSource;

// First of all sources: the autometrics families keep their names whatever else is
// registered.
inventory::submit!(SourceEntry::new(0, &MONITOR_SOURCE));

struct MonitorView {
    sites: Vec<(
        &'static dyn MonitorStorage,
        MonitorSnapshot,
        ObjectiveLabels,
    )>,
    build_info: Option<BuildInfo>,
    service_name: String,
}

/// The objective label values of one function, written once per scrape; empty when
/// the function has no objective of that kind (encoders omit empty labels).
#[derive(Default)]
struct ObjectiveLabels {
    name: &'static str,
    /// `objective_percentile` on `function_calls_total`: the success-rate target.
    success_percentile: String,
    /// The latency target and threshold, on `function_calls_duration_seconds`.
    latency_name: &'static str,
    latency_percentile: String,
    threshold: String,
}

impl ObjectiveLabels {
    fn of(site: &dyn MonitorStorage) -> ObjectiveLabels {
        let Some(objective) = site.meta().objective else {
            return ObjectiveLabels::default();
        };
        let mut labels = ObjectiveLabels::default();
        if let Some(target) = objective.success_rate_target() {
            labels.name = objective.name();
            labels.success_percentile = go_float(target.percent());
        }
        if let Some((threshold, target)) = objective.latency_target() {
            labels.latency_name = objective.name();
            labels.latency_percentile = go_float(target.percent());
            // The same function writes `le`, from the same double: the threshold names
            // its bucket exactly.
            labels.threshold = go_float(threshold.as_secs_f64());
        }
        labels
    }
}

impl Source for MonitorSource {
    fn snapshot(&self) -> Box<dyn Snapshot + '_> {
        let sites = catalog::catalog()
            .monitors
            .iter()
            .map(|&site| (site, site.snapshot().0, ObjectiveLabels::of(site)))
            .collect();
        let build_info = identity::build_info().or_else(catalog::default_build_info);
        Box::new(MonitorView {
            sites,
            build_info,
            service_name: identity::service_name(),
        })
    }
}

impl Snapshot for MonitorView {
    fn families(&self) -> Vec<FamilyDesc<'_>> {
        let mut out = Vec::new();
        if !self.sites.is_empty() {
            out.push(FamilyDesc {
                name: Cow::Borrowed(CALLS),
                help: Cow::Borrowed("Calls of instrumented functions, by result."),
                kind: MetricType::Counter,
                unit: None,
            });
            out.push(FamilyDesc {
                name: Cow::Borrowed(DURATION),
                help: Cow::Borrowed("Duration of calls of instrumented functions."),
                kind: MetricType::Histogram,
                unit: Some(Cow::Borrowed("seconds")),
            });
            out.push(FamilyDesc {
                name: Cow::Borrowed(CONCURRENT),
                help: Cow::Borrowed("Calls of instrumented functions in progress."),
                kind: MetricType::Gauge,
                unit: None,
            });
        }
        if self.build_info.is_some() {
            out.push(FamilyDesc {
                name: Cow::Borrowed(BUILD_INFO),
                help: Cow::Borrowed("Build of the instrumented service."),
                kind: MetricType::Info,
                unit: None,
            });
        }
        out
    }

    fn encode(&self, family: &str, out: &mut dyn Encoder) {
        match family {
            CALLS => {
                for (site, snap, objective) in &self.sites {
                    let m = site.meta();
                    for outcome in Outcome::ALL {
                        let (result, error) = outcome_labels(outcome);
                        // Outcomes a success rate leaves out carry no objective labels,
                        // so no objective query counts them.
                        let (name, percentile) = match outcome.success_rate_event() {
                            Some(_) => (objective.name, objective.success_percentile.as_str()),
                            None => ("", ""),
                        };
                        out.counter_exemplar(
                            &[
                                ("function", m.function),
                                ("module", m.module),
                                ("service_name", &self.service_name),
                                ("objective_name", name),
                                ("objective_percentile", percentile),
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
                for (site, snap, objective) in &self.sites {
                    let m = site.meta();
                    out.histogram_exemplars(
                        &[
                            ("function", m.function),
                            ("module", m.module),
                            ("service_name", &self.service_name),
                            ("objective_name", objective.latency_name),
                            ("objective_percentile", &objective.latency_percentile),
                            ("objective_latency_threshold", &objective.threshold),
                        ],
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
                for (site, snap, _) in &self.sites {
                    let m = site.meta();
                    out.gauge(
                        &[
                            ("function", m.function),
                            ("module", m.module),
                            ("service_name", &self.service_name),
                        ],
                        Value::Int(snap.in_flight),
                    );
                }
            }
            BUILD_INFO => {
                if let Some(info) = &self.build_info {
                    out.info(&info.labels());
                }
            }
            _ => {}
        }
    }
}

/// `result` and `error` label values of an outcome. Panics count as errors (so error
/// ratios include them) and carry `error="panic"` to tell them apart.
fn outcome_labels(outcome: Outcome) -> (&'static str, &'static str) {
    match outcome {
        Outcome::Ok => ("ok", ""),
        Outcome::Error => ("error", ""),
        Outcome::Panic => ("error", "panic"),
        Outcome::Cancelled => ("cancelled", ""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::testing::Recorder;
    use crate::monitor::site::{MonitorMeta, MonitorSite, SiteCounters};

    static META: MonitorMeta = MonitorMeta {
        function: "Cart::add",
        module: "shop",
        file: "src/cart.rs",
        line: 7,
        bounds: &[0.5],
        bounds_ns: &[500_000_000],
        crate_name: "shop",
        crate_version: "2.0.0",
        commit: "",
        branch: "",
        repository: "",
        objective: None,
    };
    static COUNTERS: SiteCounters<2> = SiteCounters::new();
    static SITE: MonitorSite<2> = MonitorSite::new(&META, &COUNTERS);

    #[test]
    fn families_and_series_of_a_site() {
        SITE.start().finish(Outcome::Ok);
        SITE.start().finish(Outcome::Ok);
        drop(SITE.start());
        let view = MonitorView {
            sites: vec![(&SITE, SITE.snapshot().0, ObjectiveLabels::of(&SITE))],
            build_info: Some(BuildInfo {
                crate_name: "shop".into(),
                version: "2.0.0".into(),
                service_name: "checkout".into(),
                ..BuildInfo::default()
            }),
            service_name: "checkout".into(),
        };
        let names: Vec<String> = view.families().iter().map(|f| f.name.to_string()).collect();
        assert_eq!(names, [CALLS, DURATION, CONCURRENT, BUILD_INFO]);
        let mut out = Recorder::default();
        for name in &names {
            view.encode(name, &mut out);
        }
        let lines = out.0;
        let calls = |result: &str, error: &str| {
            format!(
                r#"counter [("function", "Cart::add"), ("module", "shop"), ("service_name", "checkout"), ("objective_name", ""), ("objective_percentile", ""), ("result", "{result}"), ("error", "{error}")]"#
            )
        };
        assert!(
            lines.contains(&format!("{} Int(2)", calls("ok", ""))),
            "{lines:#?}"
        );
        assert!(lines.contains(&format!("{} Int(0)", calls("error", ""))));
        assert!(lines.contains(&format!("{} Int(0)", calls("error", "panic"))));
        assert!(lines.contains(&format!("{} Int(1)", calls("cancelled", ""))));
        assert!(
            lines.iter().any(|l| l.starts_with(
                r#"histogram [("function", "Cart::add"), ("module", "shop"), ("service_name", "checkout")"#
            ) && l.ends_with("] 3")),
            "{lines:#?}"
        );
        assert!(lines.contains(
            &r#"gauge [("function", "Cart::add"), ("module", "shop"), ("service_name", "checkout")] Int(0)"#
                .to_owned()
        ));
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("info ") && l.contains(r#"("service_name", "checkout")"#)),
            "{lines:#?}"
        );
    }

    #[test]
    fn no_site_no_function_families() {
        let view = MonitorView {
            sites: Vec::new(),
            build_info: None,
            service_name: String::new(),
        };
        assert!(view.families().is_empty());
    }
}
