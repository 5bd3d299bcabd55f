//! What the fault cases share: the one installation, the serial lock, memory readings.

use std::net::SocketAddr;
use std::sync::{Mutex, MutexGuard, OnceLock, PoisonError};

use flext_observability::{Observability, ObservabilityGuard};

static SERIAL: Mutex<()> = Mutex::new(());

/// Held by each case while it runs: cases measure time and memory.
pub(crate) fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The address of the runtime installed for this process (once).
pub(crate) fn runtime() -> SocketAddr {
    static GUARD: OnceLock<ObservabilityGuard> = OnceLock::new();
    GUARD
        .get_or_init(|| {
            Observability::builder()
                .listen("127.0.0.1:0")
                .series_limit(1000)
                // The host's CPU, busy with the cases themselves, is not what is tested.
                .system_checks(false)
                .install()
                .expect("install")
        })
        .local_addr()
        .expect("the server listens")
}

/// Resident memory of this process, in bytes.
pub(crate) fn rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("read /proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().strip_suffix("kB"))
        .and_then(|v| v.trim().parse::<u64>().ok())
        .expect("VmRSS in /proc/self/status")
        * 1024
}

/// Threads of this process.
#[allow(dead_code)] // used by some cases only
pub(crate) fn threads() -> usize {
    std::fs::read_dir("/proc/self/task")
        .map(Iterator::count)
        .unwrap_or(0)
}

/// Megabytes, for messages.
pub(crate) fn mb(bytes: u64) -> f64 {
    bytes as f64 / 1_048_576.0
}
