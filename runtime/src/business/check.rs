//! Start-up validation of business metric declarations, across every linked crate.
//!
//! Each declaration was checked against the naming rules when it was compiled; what only
//! the whole program shows is checked here: the same name declared twice (in one crate or
//! in two), two names that are one `OpenMetrics` family (`x_total` and `x`), and names that
//! belong to the runtime (`#[monitor]`'s families, `build_info`, its self-metrics).

use std::fmt::Write as _;

use flext_observability_naming::MetricKind;

use crate::catalog::{BUILD_INFO_NAME, CALLS, CONCURRENT, CatalogIssue, DURATION};
use crate::monitor::MonitorStorage;

use super::{MetricMeta, registry};

/// The `OpenMetrics` family name: the name without the suffix its type adds.
fn family_key(name: &str, kind: MetricKind) -> &str {
    match kind {
        MetricKind::Counter => name.strip_suffix("_total").unwrap_or(name),
        MetricKind::Info => name.strip_suffix("_info").unwrap_or(name),
        MetricKind::Gauge | MetricKind::Histogram => name,
    }
}

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
pub(crate) fn startup_issues(monitors: &[&'static dyn MonitorStorage]) -> Vec<CatalogIssue> {
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
        issues.push(CatalogIssue::new(format!(
            "business metric `{}` is declared twice, at {} and at {}{conflict}: declare it once \
             (a `pub static` other crates use), or give one of them another name",
            a.name,
            a.location(),
            b.location()
        )));
    }

    let mut by_family: Vec<(&str, &MetricMeta)> = declared
        .iter()
        .map(|f| (family_key(f.meta.name, f.meta.kind), &f.meta))
        .collect();
    by_family.sort_by(|x, y| x.0.cmp(y.0));
    for pair in by_family.windows(2) {
        let ((ka, a), (kb, b)) = (pair[0], pair[1]);
        if ka == kb && a.name != b.name {
            issues.push(CatalogIssue::new(format!(
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
        let meta = &family.meta;
        let key = family_key(meta.name, meta.kind);
        let monitor_family = [
            (CALLS, MetricKind::Counter),
            (DURATION, MetricKind::Histogram),
            (CONCURRENT, MetricKind::Gauge),
        ]
        .into_iter()
        .find(|&(name, kind)| family_key(name, kind) == key);
        if let (Some((name, _)), Some(monitored)) = (monitor_family, &monitored) {
            issues.push(CatalogIssue::new(format!(
                "business metric `{}` declared at {} clashes with the `#[monitor]` family `{name}` \
                 (monitored functions such as {monitored}): rename the business metric",
                meta.name,
                meta.location()
            )));
        } else if key == family_key(BUILD_INFO_NAME, MetricKind::Info) {
            issues.push(CatalogIssue::new(format!(
                "business metric `{}` declared at {} clashes with the runtime's `{BUILD_INFO_NAME}`: \
                 rename the business metric",
                meta.name,
                meta.location()
            )));
        } else if meta.name.starts_with("flext_observability_") {
            issues.push(CatalogIssue::new(format!(
                "business metric `{}` declared at {} uses the prefix `flext_observability_`, \
                 which the runtime's own metrics use: rename it",
                meta.name,
                meta.location()
            )));
        }
    }
    issues
}
