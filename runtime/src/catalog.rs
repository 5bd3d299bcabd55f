//! The catalogue of monitored functions: everything `#[monitor]` registered through
//! `inventory`, sorted, with duplicates reported.
//!
//! Registrations are complete before `main` runs, so the catalogue is built on first use
//! (by `install()` or the first render). Duplicate functions are reported with both
//! source locations; `install()` refuses to start with any issue.

use std::sync::OnceLock;

use crate::error::StartupIssue;
use crate::identity::BuildInfo;
use crate::monitor::site::{MonitorEntry, MonitorStorage};

/// A crate that registered something, with its version as Cargo knew it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct CrateInfo {
    pub(crate) name: &'static str,
    pub(crate) version: &'static str,
    pub(crate) commit: &'static str,
    pub(crate) branch: &'static str,
    pub(crate) repository: &'static str,
}

pub(crate) struct Catalog {
    /// Sorted by (function, module); duplicates removed.
    pub(crate) monitors: Vec<&'static dyn MonitorStorage>,
    /// Duplicate registrations.
    pub(crate) issues: Vec<StartupIssue>,
    /// The crates that hold monitored functions, by name.
    pub(crate) crates: Vec<CrateInfo>,
}

static CATALOG: OnceLock<Catalog> = OnceLock::new();

pub(crate) fn catalog() -> &'static Catalog {
    CATALOG.get_or_init(build)
}

fn build() -> Catalog {
    build_from(
        inventory::iter::<MonitorEntry>
            .into_iter()
            .map(|e| e.site)
            .collect(),
    )
}

/// The catalogue of `sites`, in any order.
fn build_from(mut sites: Vec<&'static dyn MonitorStorage>) -> Catalog {
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
                issues.push(StartupIssue::new(format!(
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
    let mut crates: Vec<CrateInfo> = monitors
        .iter()
        .map(|s| CrateInfo {
            name: s.meta().crate_name,
            version: s.meta().crate_version,
            commit: s.meta().commit,
            branch: s.meta().branch,
            repository: s.meta().repository,
        })
        .collect();
    crates.sort();
    crates.dedup_by(|a, b| a.name == b.name && a.version == b.version);
    issues.extend(objective_conflicts(&monitors));
    Catalog {
        monitors,
        issues,
        crates,
    }
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
        commit: chosen.commit.to_owned(),
        branch: chosen.branch.to_owned(),
        repository_url: chosen.repository.to_owned(),
        repository_provider: crate::identity::provider_of(chosen.repository).to_owned(),
        ..BuildInfo::default()
    })
}

/// Objectives that share a name but not their targets: their series would carry one
/// `objective_name` with different `objective_percentile`s, and every rule and
/// dashboard would mix them.
fn objective_conflicts(monitors: &[&'static dyn MonitorStorage]) -> Vec<StartupIssue> {
    let mut first: Vec<(&'static str, crate::objectives::Objective, String)> = Vec::new();
    let mut issues = Vec::new();
    for site in monitors {
        let meta = site.meta();
        let Some(objective) = meta.objective else {
            continue;
        };
        match first.iter().find(|(name, ..)| *name == objective.name()) {
            Some((_, seen, at)) if *seen != objective => issues.push(StartupIssue::new(format!(
                "objective `{}` has different targets at {at} and at {}: give one of them \
                 another name, or use one `const` for both",
                objective.name(),
                meta.location()
            ))),
            Some(_) => {}
            None => first.push((objective.name(), objective, meta.location())),
        }
    }
    issues
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::monitor::site::{MonitorMeta, MonitorSite, SiteCounters};
    use crate::objectives::{Objective, ObjectiveLatency, ObjectivePercentile};

    const fn meta(line: u32, objective: Option<Objective>) -> MonitorMeta {
        MonitorMeta {
            function: "f",
            module: "m",
            file: "src/lib.rs",
            line,
            bounds: &[0.25],
            bounds_ns: &[250_000_000],
            crate_name: "c",
            crate_version: "1.0.0",
            commit: "",
            branch: "",
            repository: "",
            objective,
        }
    }

    const API: Objective = Objective::new("api").success_rate(ObjectivePercentile::P99);
    const API_STRICTER: Objective = Objective::new("api").success_rate(ObjectivePercentile::P99_9);
    const API_LATENCY: Objective =
        Objective::new("api").latency(ObjectiveLatency::Ms250, ObjectivePercentile::P99);

    static M1: MonitorMeta = meta(1, Some(API));
    static M2: MonitorMeta = meta(2, Some(API));
    static M3: MonitorMeta = meta(3, Some(API_STRICTER));
    static M4: MonitorMeta = meta(4, Some(API_LATENCY));
    static M5: MonitorMeta = meta(5, None);
    static C: SiteCounters<2> = SiteCounters::new();
    static S1: MonitorSite<2> = MonitorSite::new(&M1, &C);
    static S2: MonitorSite<2> = MonitorSite::new(&M2, &C);
    static S3: MonitorSite<2> = MonitorSite::new(&M3, &C);
    static S4: MonitorSite<2> = MonitorSite::new(&M4, &C);
    static S5: MonitorSite<2> = MonitorSite::new(&M5, &C);

    #[test]
    fn one_name_one_definition() {
        assert!(objective_conflicts(&[&S1, &S2, &S5]).is_empty());
        let issues = objective_conflicts(&[&S1, &S2, &S3, &S4, &S5]);
        assert_eq!(issues.len(), 2, "{issues:?}");
        let text = format!("{issues:?}");
        assert!(
            text.contains(
                "objective `api` has different targets at src/lib.rs:1 and at src/lib.rs:3"
            ),
            "{text}"
        );
    }

    #[test]
    fn the_threshold_bucket_and_what_counts() {
        use crate::monitor::site::Outcome;
        assert_eq!(M4.threshold_bucket(), Some(0));
        assert_eq!(M1.threshold_bucket(), None);
        assert_eq!(Outcome::Ok.success_rate_event(), Some(true));
        assert_eq!(Outcome::Error.success_rate_event(), Some(false));
        assert_eq!(Outcome::Panic.success_rate_event(), Some(false));
        assert_eq!(Outcome::Cancelled.success_rate_event(), None);
    }

    const fn named(function: &'static str, module: &'static str, line: u32) -> MonitorMeta {
        MonitorMeta {
            function,
            module,
            file: "src/lib.rs",
            line,
            bounds: &[1.0],
            bounds_ns: &[1_000_000_000],
            crate_name: if line < 100 { "orders" } else { "billing" },
            crate_version: "1.0.0",
            commit: "",
            branch: "",
            repository: "",
            objective: None,
        }
    }

    static SITE_COUNTERS: [SiteCounters<2>; 4] = [const { SiteCounters::new() }; 4];
    static A: MonitorMeta = named("load", "orders::db", 10);
    static B: MonitorMeta = named("load", "orders::db", 20);
    static CACHE: MonitorMeta = named("load", "orders::cache", 30);
    static D: MonitorMeta = named("charge", "billing", 110);
    static SITES: [MonitorSite<2>; 4] = [
        MonitorSite::new(&A, &SITE_COUNTERS[0]),
        MonitorSite::new(&B, &SITE_COUNTERS[1]),
        MonitorSite::new(&CACHE, &SITE_COUNTERS[2]),
        MonitorSite::new(&D, &SITE_COUNTERS[3]),
    ];

    #[test]
    fn sorted_deduplicated_and_duplicates_name_both_locations() {
        let catalog = build_from(vec![&SITES[1], &SITES[3], &SITES[0], &SITES[2]]);
        let names: Vec<(&str, &str, u32)> = catalog
            .monitors
            .iter()
            .map(|s| (s.meta().function, s.meta().module, s.meta().line))
            .collect();
        assert_eq!(
            names,
            [
                ("charge", "billing", 110),
                ("load", "orders::cache", 30),
                ("load", "orders::db", 10),
            ]
        );
        assert_eq!(catalog.issues.len(), 1);
        let issue = catalog.issues[0].to_string();
        assert!(
            issue.contains("src/lib.rs:10") && issue.contains("src/lib.rs:20"),
            "{issue}"
        );
        let crates: Vec<(&str, &str)> =
            catalog.crates.iter().map(|c| (c.name, c.version)).collect();
        assert_eq!(crates, [("billing", "1.0.0"), ("orders", "1.0.0")]);
    }
}
