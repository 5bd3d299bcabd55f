//! Built-in checks (feature `system`): CPU, memory and disk usage against warn and fail
//! levels, judged against the container's cgroup limits when there are any, else against
//! the host (through `sysinfo`). Non-critical readiness checks: a busy or full machine
//! degrades the service, it never fails liveness (a restart would not help).
//!
//! | check | observed | limit |
//! |---|---|---|
//! | `cpu:utilization` | CPU time used over the last interval, percent | cgroup CPU quota, else every host CPU |
//! | `memory:utilization` | working set (cgroup) or used memory (host), percent | cgroup memory limit, else host memory |
//! | `disk:utilization` | used space of the filesystem holding `/`, percent | its size |

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use sysinfo::{DiskRefreshKind, Disks, MemoryRefreshKind, System};

use super::cgroup::Cgroup;
use super::model::{CheckDef, CheckInfo};
use super::registry::Work;
use super::report::{HealthReport, Kind, Status};
use crate::error::Error;
use crate::settings::EnvLookup;

/// Default warn levels, in percent: `CPU_THRESHOLD_PERCENT`, `MEMORY_THRESHOLD_PERCENT`,
/// `DISK_THRESHOLD_PERCENT`.
const CPU_DEFAULT: f64 = 80.0;
const MEMORY_DEFAULT: f64 = 85.0;
const DISK_DEFAULT: f64 = 90.0;

/// Built-in checks never time out faster than this: the first CPU reading needs two
/// samples a little apart.
const MIN_TIMEOUT: Duration = Duration::from_secs(1);

/// Levels set in code.
#[derive(Debug, Default)]
pub(crate) struct SystemSettings {
    pub(crate) cpu: Option<(f64, f64)>,
    pub(crate) memory: Option<(f64, f64)>,
    pub(crate) disk: Option<(f64, f64)>,
    pub(crate) disk_path: Option<PathBuf>,
}

/// Warn and fail levels, in percent.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Levels {
    warn: f64,
    fail: f64,
}

impl Levels {
    fn judge(self, percent: f64) -> Status {
        if percent >= self.fail {
            Status::Unhealthy
        } else if percent >= self.warn {
            Status::Degraded
        } else {
            Status::Healthy
        }
    }
}

fn levels(
    code: Option<(f64, f64)>,
    method: &str,
    variable: &str,
    default: f64,
    env: EnvLookup<'_>,
) -> Result<Levels, Error> {
    let (levels, source) = if let Some((warn, fail)) = code {
        (Levels { warn, fail }, method)
    } else {
        let warn = match env(variable) {
            Some(text) => text.trim().parse::<f64>().map_err(|_| {
                Error::config(variable, format!("`{text}` is not a percentage (0-100)"))
            })?,
            None => default,
        };
        let fail = warn + (100.0 - warn) / 2.0;
        (Levels { warn, fail }, variable)
    };
    let valid = |p: f64| p.is_finite() && p > 0.0 && p <= 100.0;
    if !valid(levels.warn) || !valid(levels.fail) {
        return Err(Error::config(
            source,
            format!(
                "levels must be percentages above 0 and at most 100, not {} and {}",
                levels.warn, levels.fail
            ),
        ));
    }
    if levels.warn > levels.fail {
        return Err(Error::config(
            source,
            format!(
                "the warn level ({}) is above the fail level ({})",
                levels.warn, levels.fail
            ),
        ));
    }
    Ok(levels)
}

/// Adds the three checks, unless this platform has no system information.
pub(crate) fn add_checks(
    settings: &SystemSettings,
    env: EnvLookup<'_>,
    interval: Duration,
    timeout: Duration,
    checks: &mut Vec<CheckDef>,
) -> Result<(), Error> {
    let cpu = levels(
        settings.cpu,
        "cpu_threshold_percent",
        "CPU_THRESHOLD_PERCENT",
        CPU_DEFAULT,
        env,
    )?;
    let memory = levels(
        settings.memory,
        "memory_threshold_percent",
        "MEMORY_THRESHOLD_PERCENT",
        MEMORY_DEFAULT,
        env,
    )?;
    let disk = levels(
        settings.disk,
        "disk_threshold_percent",
        "DISK_THRESHOLD_PERCENT",
        DISK_DEFAULT,
        env,
    )?;
    for name in ["cpu:utilization", "memory:utilization", "disk:utilization"] {
        if let Some(existing) = checks.iter().find(|c| c.info.name == name) {
            return Err(Error::config(
                "system_checks",
                format!(
                    "the health check at {} is named `{name}` like a built-in check: rename \
                     it, or turn the built-in checks off with `.system_checks(false)`",
                    existing.info.location.as_deref().unwrap_or("?")
                ),
            ));
        }
    }
    let Ok(system) = System::new() else {
        crate::diag::warn_once(
            "system-unsupported",
            "system information is not available on this platform: no CPU, memory or disk checks",
        );
        return Ok(());
    };
    let cgroup = Arc::new(Cgroup::detect());
    let info = |name: &str| CheckInfo {
        name: name.to_owned(),
        kind: Kind::Readiness,
        critical: false,
        groups: vec!["system".to_owned()],
        interval,
        timeout: timeout.max(MIN_TIMEOUT).min(interval),
        failure_threshold: 1,
        success_threshold: 1,
        blocking: true,
        location: None,
    };

    let sampler = Mutex::new(CpuSampler::new(system, Arc::clone(&cgroup)));
    checks.push(CheckDef {
        info: Arc::new(info("cpu:utilization")),
        work: Work::Blocking(Arc::new(move || {
            sampler
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .check(cpu)
        })),
    });
    let host = Mutex::new(System::new().ok());
    checks.push(CheckDef {
        info: Arc::new(info("memory:utilization")),
        work: Work::Blocking(Arc::new(move || {
            let mut host = host.lock().unwrap_or_else(PoisonError::into_inner);
            memory_check(&cgroup, host.as_mut(), memory)
        })),
    });
    let path = settings
        .disk_path
        .clone()
        .unwrap_or_else(|| PathBuf::from("/"));
    checks.push(CheckDef {
        info: Arc::new(info("disk:utilization")),
        work: Work::Blocking(Arc::new(move || disk_check(&path, disk))),
    });
    Ok(())
}

fn report(what: &str, percent: f64, levels: Levels) -> HealthReport {
    let status = levels.judge(percent);
    let mut report = HealthReport::new(status).observed((percent * 10.0).round() / 10.0, "percent");
    if status != Status::Healthy {
        report = report.output(format!(
            "{what} at {percent:.1} % (warn at {} %, fail at {} %)",
            levels.warn, levels.fail
        ));
    }
    report
}

/// CPU use between two runs: against the cgroup quota when there is one, else the host's.
struct CpuSampler {
    system: System,
    cgroup: Arc<Cgroup>,
    /// Cgroup CPU seconds and when they were read.
    last: Option<(f64, Instant)>,
    primed: Option<Instant>,
}

impl CpuSampler {
    fn new(mut system: System, cgroup: Arc<Cgroup>) -> Self {
        // The first reading of each source starts here, so the first run has an interval.
        system.refresh_cpu_usage();
        let last = cgroup
            .cpu_usage_seconds()
            .map(|seconds| (seconds, Instant::now()));
        CpuSampler {
            system,
            cgroup,
            last,
            primed: Some(Instant::now()),
        }
    }

    fn check(&mut self, levels: Levels) -> HealthReport {
        // Readings closer together than this are noise (sysinfo needs 200 ms on Linux).
        if let Some(primed) = self.primed.take() {
            let wait = sysinfo::MINIMUM_CPU_UPDATE_INTERVAL.saturating_sub(primed.elapsed());
            std::thread::sleep(wait);
        }
        if let Some(cores) = self.cgroup.cpu_limit()
            && let Some(seconds) = self.cgroup.cpu_usage_seconds()
        {
            let now = Instant::now();
            let previous = self.last.replace((seconds, now));
            if let Some((before, at)) = previous {
                let wall = now.duration_since(at).as_secs_f64();
                if wall > 0.0 {
                    let percent = (seconds - before) / (wall * cores) * 100.0;
                    return report("CPU", percent.max(0.0), levels)
                        .detail("limit_cores", cores)
                        .detail("source", "cgroup");
                }
            }
        }
        self.system.refresh_cpu_usage();
        let percent = f64::from(self.system.global_cpu_usage());
        report("CPU", percent, levels)
            .detail("cores", self.system.cpus().len())
            .detail("source", "host")
    }
}

fn memory_check(cgroup: &Cgroup, host: Option<&mut System>, levels: Levels) -> HealthReport {
    if let Some(usage) = cgroup.memory()
        && usage.limit > 0
    {
        let percent = usage.working_set as f64 / usage.limit as f64 * 100.0;
        return report("memory", percent, levels)
            .detail("used_bytes", usage.working_set)
            .detail("limit_bytes", usage.limit)
            .detail("source", "cgroup");
    }
    let Some(system) = host else {
        return HealthReport::new(Status::Unknown).output("cannot read memory usage");
    };
    system.refresh_memory_specifics(MemoryRefreshKind::nothing().with_ram());
    let total = system.total_memory();
    if total == 0 {
        return HealthReport::new(Status::Unknown).output("cannot read memory usage");
    }
    let used = total.saturating_sub(system.available_memory());
    report("memory", used as f64 / total as f64 * 100.0, levels)
        .detail("used_bytes", used)
        .detail("limit_bytes", total)
        .detail("source", "host")
}

fn disk_check(path: &Path, levels: Levels) -> HealthReport {
    let target = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    let Ok(disks) =
        Disks::new_with_refreshed_list_specifics(DiskRefreshKind::nothing().with_storage())
    else {
        return HealthReport::new(Status::Unknown).output("cannot list filesystems");
    };
    // The filesystem mounted deepest above the path holds it.
    let Some(disk) = disks
        .iter()
        .filter(|d| target.starts_with(d.mount_point()) && d.total_space() > 0)
        .max_by_key(|d| d.mount_point().components().count())
    else {
        return HealthReport::new(Status::Unknown)
            .output(format!("no filesystem found for {}", path.display()));
    };
    let total = disk.total_space();
    let available = disk.available_space();
    let used = total.saturating_sub(available);
    report("disk", used as f64 / total as f64 * 100.0, levels)
        .detail("path", path.display())
        .detail("mount_point", disk.mount_point().display())
        .detail("total_bytes", total)
        .detail("available_bytes", available)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_from_code_environment_and_defaults() {
        let none = |_: &str| None;
        let l = levels(None, "m", "CPU_THRESHOLD_PERCENT", 80.0, &none).unwrap();
        assert_eq!(
            l,
            Levels {
                warn: 80.0,
                fail: 90.0
            }
        );
        let env = |k: &str| (k == "CPU_THRESHOLD_PERCENT").then(|| "60".to_owned());
        let l = levels(None, "m", "CPU_THRESHOLD_PERCENT", 80.0, &env).unwrap();
        assert_eq!(
            l,
            Levels {
                warn: 60.0,
                fail: 80.0
            }
        );
        let l = levels(Some((50.0, 70.0)), "m", "CPU_THRESHOLD_PERCENT", 80.0, &env).unwrap();
        assert_eq!(
            l,
            Levels {
                warn: 50.0,
                fail: 70.0
            }
        );
        let bad = |_: &str| Some("lots".to_owned());
        let err = levels(None, "m", "CPU_THRESHOLD_PERCENT", 80.0, &bad).unwrap_err();
        assert!(err.to_string().contains("CPU_THRESHOLD_PERCENT"), "{err}");
        let err = levels(
            Some((90.0, 70.0)),
            "cpu_threshold_percent",
            "X",
            80.0,
            &none,
        )
        .unwrap_err();
        assert!(err.to_string().contains("cpu_threshold_percent"), "{err}");
        let high = |_: &str| Some("120".to_owned());
        assert!(levels(None, "m", "X", 80.0, &high).is_err());
    }

    #[test]
    fn judging() {
        let l = Levels {
            warn: 80.0,
            fail: 90.0,
        };
        assert_eq!(l.judge(10.0), Status::Healthy);
        assert_eq!(l.judge(80.0), Status::Degraded);
        assert_eq!(l.judge(95.0), Status::Unhealthy);
        let r = report("disk", 95.04, l);
        assert_eq!(r.observed_value(), Some(95.0));
        assert!(r.output_text().unwrap().contains("fail at 90 %"));
    }

    #[test]
    fn real_readings() {
        // Whatever this machine is, the readings are percentages.
        let l = Levels {
            warn: 100.0,
            fail: 100.0,
        };
        let memory = memory_check(&Cgroup::detect(), System::new().ok().as_mut(), l);
        let value = memory.observed_value().unwrap();
        assert!((0.0..=100.0).contains(&value), "{memory:?}");
        let disk = disk_check(Path::new("/"), l);
        let value = disk.observed_value().unwrap();
        assert!((0.0..=100.0).contains(&value), "{disk:?}");
    }
}
