//! The standard `process_*` metrics (feature `system`, Linux), with the names, units and
//! sources of the Prometheus Go and Python clients, so existing dashboards work.
//!
//! They are read from `/proc/self` at scrape time rather than through `sysinfo`: these are
//! the files those clients read, four small reads per scrape, with no process table to
//! refresh and no CPU percentages to derive (Prometheus wants cumulative seconds).
//! `/proc` reports times in `USER_HZ` ticks, which Linux fixes at 100 for user space on
//! every architecture Rust targets in practice (the Go client assumes the same).

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::collect::{Encoder, Snapshot, Source, SourceEntry};
use crate::model::{FamilyDesc, MetricType, Value};

const USER_HZ: f64 = 100.0;

/// Whether the process metrics are exported (set per installation).
static ENABLED: AtomicBool = AtomicBool::new(false);

/// Turns the `process_*` metrics on or off.
pub(crate) fn set_enabled(on: bool) {
    ENABLED.store(on, Ordering::Release);
}

/// Whether the `process_*` metrics are on.
#[cfg(test)]
pub(crate) fn enabled() -> bool {
    ENABLED.load(Ordering::Acquire)
}

/// Reads `/proc/self` at every scrape while process metrics are on.
struct ProcessSource;

static PROCESS_SOURCE: ProcessSource = ProcessSource;

inventory::submit!(SourceEntry::new(40, &PROCESS_SOURCE));

impl Source for ProcessSource {
    fn snapshot(&self) -> Box<dyn Snapshot + '_> {
        let stats = if ENABLED.load(Ordering::Acquire) {
            ProcessStats::read(Path::new("/proc/self"), Path::new("/proc/stat"))
        } else {
            None
        };
        Box::new(View(stats))
    }
}

/// One reading.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct ProcessStats {
    pub(crate) cpu_seconds: f64,
    pub(crate) resident_bytes: u64,
    pub(crate) virtual_bytes: u64,
    pub(crate) threads: u64,
    pub(crate) start_time_seconds: f64,
    pub(crate) open_fds: Option<u64>,
    pub(crate) max_fds: Option<u64>,
}

impl ProcessStats {
    /// Reads `dir` (a `/proc/<pid>` directory) and the boot time from `proc_stat`.
    pub(crate) fn read(dir: &Path, proc_stat: &Path) -> Option<ProcessStats> {
        let stat = std::fs::read_to_string(dir.join("stat")).ok()?;
        // The command name may hold spaces and parentheses: fields start after the last `)`.
        let fields: Vec<&str> = stat
            .get(stat.rfind(')')? + 1..)?
            .split_whitespace()
            .collect();
        // `fields[0]` is field 3 of proc(5): utime is field 14, stime 15, num_threads 20,
        // starttime 22, vsize 23.
        let field = |n: usize| -> Option<u64> { fields.get(n - 3)?.parse().ok() };
        let ticks = field(14)? + field(15)?;
        let boot = std::fs::read_to_string(proc_stat).ok().and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("btime ")?.trim().parse::<u64>().ok())
        })?;
        let status = std::fs::read_to_string(dir.join("status")).unwrap_or_default();
        let resident_kib = status.lines().find_map(|l| {
            l.strip_prefix("VmRSS:")?
                .trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<u64>()
                .ok()
        });
        let open_fds = std::fs::read_dir(dir.join("fd"))
            .ok()
            .map(|entries| entries.count() as u64);
        let max_fds = std::fs::read_to_string(dir.join("limits"))
            .ok()
            .and_then(|limits| {
                limits.lines().find_map(|l| {
                    l.strip_prefix("Max open files")?
                        .split_whitespace()
                        .next()?
                        .parse::<u64>()
                        .ok()
                })
            });
        Some(ProcessStats {
            cpu_seconds: ticks as f64 / USER_HZ,
            resident_bytes: resident_kib.unwrap_or(0) * 1024,
            virtual_bytes: field(23)?,
            threads: field(20)?,
            start_time_seconds: boot as f64 + field(22)? as f64 / USER_HZ,
            open_fds,
            max_fds,
        })
    }
}

struct View(Option<ProcessStats>);

const CPU: &str = "process_cpu_seconds_total";
const OPEN_FDS: &str = "process_open_fds";
const MAX_FDS: &str = "process_max_fds";
const RESIDENT: &str = "process_resident_memory_bytes";
const VIRTUAL: &str = "process_virtual_memory_bytes";
const START: &str = "process_start_time_seconds";
const THREADS: &str = "process_threads";

impl Snapshot for View {
    fn families(&self) -> Vec<FamilyDesc<'_>> {
        let Some(stats) = &self.0 else {
            return Vec::new();
        };
        let mut out = vec![
            FamilyDesc::fixed(
                CPU,
                "Total user and system CPU time spent in seconds.",
                MetricType::Counter,
                Some("seconds"),
            ),
            FamilyDesc::fixed(
                RESIDENT,
                "Resident memory size in bytes.",
                MetricType::Gauge,
                Some("bytes"),
            ),
            FamilyDesc::fixed(
                VIRTUAL,
                "Virtual memory size in bytes.",
                MetricType::Gauge,
                Some("bytes"),
            ),
            FamilyDesc::fixed(
                START,
                "Start time of the process since unix epoch in seconds.",
                MetricType::Gauge,
                Some("seconds"),
            ),
            FamilyDesc::fixed(
                THREADS,
                "Number of OS threads in the process.",
                MetricType::Gauge,
                None,
            ),
        ];
        if stats.open_fds.is_some() {
            out.push(FamilyDesc::fixed(
                OPEN_FDS,
                "Number of open file descriptors.",
                MetricType::Gauge,
                None,
            ));
        }
        if stats.max_fds.is_some() {
            out.push(FamilyDesc::fixed(
                MAX_FDS,
                "Maximum number of open file descriptors.",
                MetricType::Gauge,
                None,
            ));
        }
        out
    }

    fn encode(&self, family: &str, out: &mut dyn Encoder) {
        let Some(stats) = &self.0 else { return };
        let value = match family {
            CPU => {
                out.counter(&[], Value::Float(stats.cpu_seconds));
                return;
            }
            RESIDENT => Value::Int(stats.resident_bytes),
            VIRTUAL => Value::Int(stats.virtual_bytes),
            START => Value::Float(stats.start_time_seconds),
            THREADS => Value::Int(stats.threads),
            OPEN_FDS => match stats.open_fds {
                Some(n) => Value::Int(n),
                None => return,
            },
            MAX_FDS => match stats.max_fds {
                Some(n) => Value::Int(n),
                None => return,
            },
            _ => return,
        };
        out.gauge(&[], value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_this_process() {
        let stats = ProcessStats::read(Path::new("/proc/self"), Path::new("/proc/stat")).unwrap();
        assert!(stats.threads >= 1);
        assert!(stats.resident_bytes > 0 && stats.virtual_bytes >= stats.resident_bytes);
        assert!(stats.open_fds.unwrap() >= 3);
        assert!(stats.max_fds.unwrap() >= stats.open_fds.unwrap());
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs_f64();
        assert!(
            stats.start_time_seconds <= now + 1.0
                && stats.start_time_seconds > now - 86_400.0 * 365.0
        );
    }

    #[test]
    #[allow(clippy::float_cmp)] // exact values: whole ticks over 100
    fn command_names_with_parentheses() {
        let dir = std::env::temp_dir().join(format!("flext-obs-proc-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut stat = String::from("42 (my (odd) name) S 1 42 42 0 -1 4194560 100 0 0 0 250 150");
        stat.push_str(" 0 0 20 0 7 0 1000 104857600 2560 18446744073709551615\n");
        std::fs::write(dir.join("stat"), stat).unwrap();
        std::fs::write(dir.join("status"), "Name:\tx\nVmRSS:\t   10240 kB\n").unwrap();
        std::fs::write(dir.join("procstat"), "cpu 1 2 3\nbtime 1700000000\n").unwrap();
        let stats = ProcessStats::read(&dir, &dir.join("procstat")).unwrap();
        assert_eq!(stats.cpu_seconds, 4.0);
        assert_eq!(stats.threads, 7);
        assert_eq!(stats.virtual_bytes, 104_857_600);
        assert_eq!(stats.resident_bytes, 10_485_760);
        assert_eq!(stats.start_time_seconds, 1_700_000_010.0);
        assert_eq!(stats.open_fds, None);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
