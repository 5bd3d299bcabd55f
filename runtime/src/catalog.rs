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
        })
        .collect();
    crates.sort();
    crates.dedup();
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
        service_name: String::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::monitor::site::{MonitorMeta, MonitorSite, SiteCounters};

    const fn meta(function: &'static str, module: &'static str, line: u32) -> MonitorMeta {
        MonitorMeta {
            function,
            module,
            file: "src/lib.rs",
            line,
            bounds: &[1.0],
            bounds_ns: &[1_000_000_000],
            crate_name: if line < 100 { "orders" } else { "billing" },
            crate_version: "1.0.0",
        }
    }

    static COUNTERS: [SiteCounters<2>; 4] = [const { SiteCounters::new() }; 4];
    static A: MonitorMeta = meta("load", "orders::db", 10);
    static B: MonitorMeta = meta("load", "orders::db", 20);
    static C: MonitorMeta = meta("load", "orders::cache", 30);
    static D: MonitorMeta = meta("charge", "billing", 110);
    static SITES: [MonitorSite<2>; 4] = [
        MonitorSite::new(&A, &COUNTERS[0]),
        MonitorSite::new(&B, &COUNTERS[1]),
        MonitorSite::new(&C, &COUNTERS[2]),
        MonitorSite::new(&D, &COUNTERS[3]),
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
        assert_eq!(
            catalog.crates,
            [
                CrateInfo {
                    name: "billing",
                    version: "1.0.0"
                },
                CrateInfo {
                    name: "orders",
                    version: "1.0.0"
                },
            ]
        );
    }
}
