//! Container limits from cgroup files (v2, and v1 for older hosts), so CPU and memory
//! checks judge usage against what the container may use, not against the host.
//!
//! The process's own cgroup (from `/proc/self/cgroup`) is read when it is visible, else
//! the root of the hierarchy (what a container with its own cgroup namespace sees).

use std::path::{Path, PathBuf};

/// v1 memory limits this large mean "no limit" (`PAGE_COUNTER_MAX`, rounded to pages).
const V1_UNLIMITED: u64 = 1 << 62;

/// Where the limits of this process live.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Cgroup {
    /// The unified (v2) directory, when the hierarchy is v2.
    v2: Option<PathBuf>,
    v1_memory: Option<PathBuf>,
    v1_cpu: Option<PathBuf>,
    v1_cpuacct: Option<PathBuf>,
}

/// Memory use against a limit, in bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct MemoryUse {
    /// Usage minus reclaimable page cache (`inactive_file`): what the OOM killer and the
    /// kubelet look at.
    pub(crate) working_set: u64,
    pub(crate) limit: u64,
}

impl Cgroup {
    /// The cgroup of this process on this machine.
    pub(crate) fn detect() -> Cgroup {
        let membership = std::fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
        Cgroup::detect_in(Path::new("/sys/fs/cgroup"), &membership)
    }

    /// The cgroup described by `membership` (the text of `/proc/self/cgroup`) under `root`.
    pub(crate) fn detect_in(root: &Path, membership: &str) -> Cgroup {
        let own = |controller: &str| -> Option<&str> {
            membership.lines().find_map(|line| {
                let mut parts = line.splitn(3, ':');
                let (_, controllers, path) = (parts.next()?, parts.next()?, parts.next()?);
                controllers
                    .split(',')
                    .any(|c| c == controller)
                    .then_some(path)
            })
        };
        // The process's own directory when mounted here, else the hierarchy's root.
        let pick = |base: PathBuf, path: Option<&str>| -> Option<PathBuf> {
            if !base.is_dir() {
                return None;
            }
            let own = path
                .map(|p| base.join(p.trim_start_matches('/')))
                .filter(|p| p.is_dir());
            Some(own.unwrap_or(base))
        };
        if root.join("cgroup.controllers").is_file() {
            return Cgroup {
                v2: pick(root.to_path_buf(), own("")),
                ..Cgroup::default()
            };
        }
        let v1 = |names: &[&str], controller: &str| {
            names
                .iter()
                .find_map(|name| pick(root.join(name), own(controller)))
        };
        Cgroup {
            v2: None,
            v1_memory: v1(&["memory"], "memory"),
            v1_cpu: v1(&["cpu", "cpu,cpuacct"], "cpu"),
            v1_cpuacct: v1(&["cpuacct", "cpu,cpuacct"], "cpuacct"),
        }
    }

    /// Memory use against the limit, when a limit is set.
    pub(crate) fn memory(&self) -> Option<MemoryUse> {
        let (usage, limit, inactive_key) = if let Some(dir) = &self.v2 {
            let limit = read_trimmed(&dir.join("memory.max"))?;
            if limit == "max" {
                return None;
            }
            (
                read_u64(&dir.join("memory.current"))?,
                limit.parse().ok()?,
                "inactive_file",
            )
        } else {
            let dir = self.v1_memory.as_ref()?;
            let limit = read_u64(&dir.join("memory.limit_in_bytes"))?;
            if limit >= V1_UNLIMITED {
                return None;
            }
            (
                read_u64(&dir.join("memory.usage_in_bytes"))?,
                limit,
                "total_inactive_file",
            )
        };
        let dir = self.v2.as_ref().or(self.v1_memory.as_ref())?;
        let inactive = stat_value(&dir.join("memory.stat"), inactive_key).unwrap_or(0);
        Some(MemoryUse {
            working_set: usage.saturating_sub(inactive),
            limit,
        })
    }

    /// CPUs the quota allows (`2.5` for 250 ms per 100 ms), when a quota is set.
    pub(crate) fn cpu_limit(&self) -> Option<f64> {
        let (quota, period) = if let Some(dir) = &self.v2 {
            let text = read_trimmed(&dir.join("cpu.max"))?;
            let mut parts = text.split_whitespace();
            let quota = parts.next()?;
            if quota == "max" {
                return None;
            }
            (
                quota.parse::<f64>().ok()?,
                parts.next()?.parse::<f64>().ok()?,
            )
        } else {
            let dir = self.v1_cpu.as_ref()?;
            let quota: f64 = read_trimmed(&dir.join("cpu.cfs_quota_us"))?.parse().ok()?;
            if quota <= 0.0 {
                return None;
            }
            (
                quota,
                read_trimmed(&dir.join("cpu.cfs_period_us"))?.parse().ok()?,
            )
        };
        (period > 0.0).then(|| quota / period)
    }

    /// CPU time the cgroup used so far, in seconds.
    pub(crate) fn cpu_usage_seconds(&self) -> Option<f64> {
        if let Some(dir) = &self.v2 {
            let micros = stat_value(&dir.join("cpu.stat"), "usage_usec")?;
            return Some(micros as f64 / 1e6);
        }
        let nanos = read_u64(&self.v1_cpuacct.as_ref()?.join("cpuacct.usage"))?;
        Some(nanos as f64 / 1e9)
    }
}

fn read_trimmed(path: &Path) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()
        .map(|s| s.trim().to_owned())
}

fn read_u64(path: &Path) -> Option<u64> {
    read_trimmed(path)?.parse().ok()
}

/// The value of `key` in a `key value` per line file (`memory.stat`, `cpu.stat`).
fn stat_value(path: &Path, key: &str) -> Option<u64> {
    let text = std::fs::read_to_string(path).ok()?;
    text.lines().find_map(|line| {
        let (k, v) = line.split_once(' ')?;
        (k == key).then(|| v.trim().parse().ok()).flatten()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(root: &Path, file: &str, text: &str) {
        let path = root.join(file);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    fn temp_dir(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("flext-obs-cgroup-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn v2_with_limits() {
        let root = temp_dir("v2");
        write(&root, "cgroup.controllers", "cpu memory\n");
        write(&root, "kubepods/pod1/memory.max", "1073741824\n");
        write(&root, "kubepods/pod1/memory.current", "600000000\n");
        write(
            &root,
            "kubepods/pod1/memory.stat",
            "anon 1\ninactive_file 100000000\n",
        );
        write(&root, "kubepods/pod1/cpu.max", "150000 100000\n");
        write(
            &root,
            "kubepods/pod1/cpu.stat",
            "usage_usec 2500000\nuser_usec 1\n",
        );
        let cg = Cgroup::detect_in(&root, "0::/kubepods/pod1\n");
        assert_eq!(
            cg.memory(),
            Some(MemoryUse {
                working_set: 500_000_000,
                limit: 1_073_741_824
            })
        );
        assert_eq!(cg.cpu_limit(), Some(1.5));
        assert_eq!(cg.cpu_usage_seconds(), Some(2.5));

        // No limits: nothing to judge against.
        write(&root, "kubepods/pod1/memory.max", "max\n");
        write(&root, "kubepods/pod1/cpu.max", "max 100000\n");
        assert_eq!(cg.memory(), None);
        assert_eq!(cg.cpu_limit(), None);
        let _ = std::fs::remove_dir_all(&root);
    }

    #[test]
    fn v1_with_and_without_limits() {
        let root = temp_dir("v1");
        write(&root, "memory/memory.limit_in_bytes", "2000\n");
        write(&root, "memory/memory.usage_in_bytes", "1500\n");
        write(
            &root,
            "memory/memory.stat",
            "inactive_file 7\ntotal_inactive_file 500\n",
        );
        write(&root, "cpu,cpuacct/cpu.cfs_quota_us", "-1\n");
        write(&root, "cpu,cpuacct/cpu.cfs_period_us", "100000\n");
        write(&root, "cpu,cpuacct/cpuacct.usage", "3000000000\n");
        // The process's own cgroup is not mounted here: the root is read.
        let cg = Cgroup::detect_in(&root, "4:memory:/docker/abc\n3:cpu,cpuacct:/docker/abc\n");
        assert_eq!(
            cg.memory(),
            Some(MemoryUse {
                working_set: 1000,
                limit: 2000
            })
        );
        assert_eq!(cg.cpu_limit(), None);
        assert_eq!(cg.cpu_usage_seconds(), Some(3.0));
        write(
            &root,
            "memory/memory.limit_in_bytes",
            "9223372036854771712\n",
        );
        assert_eq!(cg.memory(), None);
        let _ = std::fs::remove_dir_all(&root);
    }

    #[test]
    fn nothing_mounted() {
        let root = temp_dir("none");
        assert_eq!(
            Cgroup::detect_in(&root.join("absent"), ""),
            Cgroup::default()
        );
        assert_eq!(Cgroup::default().memory(), None);
        let _ = std::fs::remove_dir_all(&root);
    }
}
