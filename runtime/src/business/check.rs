//! Start-up validation of business metric declarations, across every linked crate.
//!
//! Each declaration was checked against the naming rules when it was compiled; what only
//! the whole program shows is checked here: the same name declared twice (in one crate or
//! in two), two names that are one `OpenMetrics` family (`x_total` and `x`), names in the
//! runtime's own namespaces ([`RESERVED_PREFIXES`], `build_info`), the label that marks
//! overflow series (`otel_metric_overflow`), and names the validated
//! `counter!`/`gauge!`/`histogram!` macros use for another metric.

use std::fmt::Write as _;

use flext_observability_naming::{MetricKind, family_name};

use crate::dynamic::OVERFLOW_LABEL;
use crate::error::StartupIssue;
use crate::monitor::names::{BUILD_INFO, CALLS, CONCURRENT, DURATION};
use crate::monitor::site::MonitorStorage;

use super::erased::FacadeEntry;
use super::meta::MetricMeta;
use super::registry::registry;

/// Name prefixes of the runtime's own families, whether or not the feature that exports
/// them is enabled: `#[monitor]`'s, `#[health_check]`'s, the system metrics (feature
/// `system`), the OTLP exporter's (feature `otlp`) and the runtime's self-metrics.
pub(crate) const RESERVED_PREFIXES: &[(&str, &str)] = &[
    ("function_calls_", "`#[monitor]`"),
    ("health_check_", "`#[health_check]`"),
    ("process_", "the system metrics"),
    ("flext_otlp_", "the OTLP exporter"),
    ("flext_observability_", "the runtime's self-metrics"),
];

fn describe(meta: &MetricMeta) -> String {
    let mut s = meta.kind.as_str().to_owned();
    if let Some(unit) = meta.unit {
        let _ = write!(s, " in {unit}");
    }
    if meta.labels.is_empty() {
        s.push_str(" without labels");
    } else {
        let _ = write!(s, " with labels ({})", meta.labels.join(", "));
    }
    s
}

/// Every problem with the declared business metrics, given the monitored functions.
pub(crate) fn startup_issues(monitors: &[&'static dyn MonitorStorage]) -> Vec<StartupIssue> {
    let declared = &registry().declared;
    let mut issues = Vec::new();

    // `declared` is sorted by name: equal names are neighbours.
    for pair in declared.windows(2) {
        let (a, b) = (&pair[0].meta, &pair[1].meta);
        if a.name != b.name {
            continue;
        }
        let (da, db) = (describe(a), describe(b));
        let conflict = if da == db {
            String::new()
        } else {
            format!(
                " with conflicting definitions ({da} at {}, {db} at {})",
                a.location(),
                b.location()
            )
        };
        issues.push(StartupIssue::new(format!(
            "business metric `{}` is declared twice, at {} and at {}{conflict}: declare it once \
             (a `pub static` other crates use), or give one of them another name",
            a.name,
            a.location(),
            b.location()
        )));
    }

    let mut by_family: Vec<(&str, &MetricMeta)> = declared
        .iter()
        .map(|f| (family_name(f.meta.name, f.meta.kind), &f.meta))
        .collect();
    by_family.sort_by(|x, y| x.0.cmp(y.0));
    for pair in by_family.windows(2) {
        let ((ka, a), (kb, b)) = (pair[0], pair[1]);
        if ka == kb && a.name != b.name {
            issues.push(StartupIssue::new(format!(
                "business metrics `{}` ({}, at {}) and `{}` ({}, at {}) are one OpenMetrics \
                 family `{ka}`: rename one of them",
                a.name,
                a.kind.as_str(),
                a.location(),
                b.name,
                b.kind.as_str(),
                b.location()
            )));
        }
    }

    let monitored = monitors.first().map(|site| {
        let m = site.meta();
        format!("`{}` at {}", m.function, m.location())
    });
    for family in declared {
        issues.extend(reserved_issue(&family.meta, monitored.as_deref()));
        if family.meta.labels.contains(&OVERFLOW_LABEL) {
            issues.push(StartupIssue::new(format!(
                "business metric `{}` declared at {} has a label `{OVERFLOW_LABEL}`, which marks \
                 the series that collects values beyond a metric's series limit: rename the label",
                family.meta.name,
                family.meta.location()
            )));
        }
    }
    issues.extend(facade_issues(declared.iter().map(|f| &f.meta)));
    issues
}

/// The issue of a business metric named in the runtime's namespace, if it is.
fn reserved_issue(meta: &MetricMeta, monitored: Option<&str>) -> Option<StartupIssue> {
    let key = family_name(meta.name, meta.kind);
    let monitor_family = [
        (CALLS, MetricKind::Counter),
        (DURATION, MetricKind::Histogram),
        (CONCURRENT, MetricKind::Gauge),
    ]
    .into_iter()
    .find(|&(name, kind)| family_name(name, kind) == key);
    if let (Some((name, _)), Some(monitored)) = (monitor_family, monitored) {
        return Some(StartupIssue::new(format!(
            "business metric `{}` declared at {} clashes with the `#[monitor]` family `{name}` \
             (monitored functions such as {monitored}): rename the business metric",
            meta.name,
            meta.location()
        )));
    }
    if key == family_name(BUILD_INFO, MetricKind::Info) {
        return Some(StartupIssue::new(format!(
            "business metric `{}` declared at {} clashes with the runtime's `{BUILD_INFO}`: \
             rename the business metric",
            meta.name,
            meta.location()
        )));
    }
    let (prefix, owner) = RESERVED_PREFIXES
        .iter()
        .find(|(prefix, _)| meta.name.starts_with(prefix))?;
    Some(StartupIssue::new(format!(
        "business metric `{}` declared at {} uses the prefix `{prefix}`, which belongs to \
         {owner}: rename it",
        meta.name,
        meta.location()
    )))
}

/// Names the validated facade macros use that clash with a business metric's family, or
/// that two facade call sites use with different kinds.
fn facade_issues<'a>(declared: impl Iterator<Item = &'a MetricMeta>) -> Vec<StartupIssue> {
    let mut sites: Vec<&FacadeEntry> = inventory::iter::<FacadeEntry>.into_iter().collect();
    sites.sort_by(|a, b| {
        (family_name(a.name, a.kind), a.kind.as_str(), a.file, a.line).cmp(&(
            family_name(b.name, b.kind),
            b.kind.as_str(),
            b.file,
            b.line,
        ))
    });
    let mut issues = Vec::new();
    // Sorted by family, then kind: the first site of a family and the first of another
    // kind in it are enough to find the conflict.
    for (i, a) in sites.iter().enumerate() {
        let key = family_name(a.name, a.kind);
        if i > 0 && family_name(sites[i - 1].name, sites[i - 1].kind) == key {
            continue;
        }
        if let Some(b) = sites[i + 1..]
            .iter()
            .take_while(|b| family_name(b.name, b.kind) == key)
            .find(|b| b.kind != a.kind)
        {
            issues.push(StartupIssue::new(format!(
                "`{}!(\"{}\")` at {} and `{}!(\"{}\")` at {} record one metric as two kinds: \
                 use one kind, or give one of them another name",
                a.kind.as_str(),
                a.name,
                a.location(),
                b.kind.as_str(),
                b.name,
                b.location()
            )));
        }
    }
    for meta in declared {
        let key = family_name(meta.name, meta.kind);
        // One issue per business metric: the first facade call site is enough to find it.
        if let Some(site) = sites.iter().find(|s| family_name(s.name, s.kind) == key) {
            issues.push(StartupIssue::new(format!(
                "business metric `{}` declared at {} and `{}!(\"{}\")` at {} are one metric \
                 family `{key}`: record through the business metric, or rename one of them",
                meta.name,
                meta.location(),
                site.kind.as_str(),
                site.name,
                site.location()
            )));
        }
    }
    issues
}
