//! Who the process is: what `build_info` reports, the `service_name` every
//! `function_calls_*` series carries, the resource every export speaks for (`resource`:
//! `service.name`, `service.namespace`, `service.instance.id` from `instance`) and when
//! the process started (the start time of every cumulative series). `install()` sets
//! them; before that the exporters fall back to what the catalogue knows, without a
//! service name, and `target_info` is not written.
//!
//! `build_info` follows the autometrics specification v1.0.0: `version`, `commit`,
//! `branch`, `service_name`, `repository_url`, `repository_provider` and
//! `autometrics_version="1.0.0"` (the version of the specification), one series per
//! process. Commit and branch come from the build of the crate that stands for the
//! process (`AUTOMETRICS_COMMIT` / `AUTOMETRICS_BRANCH`, else vergen's
//! `VERGEN_GIT_SHA` / `VERGEN_GIT_BRANCH`, read when `#[monitor]` expands); the same
//! variables at run time override them, as the specification requires.

mod instance;
mod resource;

use std::sync::{Arc, OnceLock, PoisonError, RwLock};

pub use self::instance::InstanceId;
pub(crate) use self::resource::{Resource, ResourceSettings, resolve as resolve_resource};
use crate::settings::EnvLookup;

/// The autometrics specification version `build_info` declares.
pub(crate) const AUTOMETRICS_VERSION: &str = "1.0.0";

/// What `build_info` reports.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct BuildInfo {
    pub(crate) crate_name: String,
    pub(crate) version: String,
    pub(crate) commit: String,
    pub(crate) branch: String,
    pub(crate) service_name: String,
    pub(crate) repository_url: String,
    pub(crate) repository_provider: String,
}

impl BuildInfo {
    /// The label pairs of the `build_info` series (empty values are omitted by the
    /// encoders).
    pub(crate) fn labels(&self) -> [(&'static str, &str); 8] {
        [
            ("crate", &self.crate_name),
            ("version", &self.version),
            ("commit", &self.commit),
            ("branch", &self.branch),
            ("service_name", &self.service_name),
            ("repository_url", &self.repository_url),
            ("repository_provider", &self.repository_provider),
            ("autometrics_version", AUTOMETRICS_VERSION),
        ]
    }

    /// Applies the run-time overrides of the autometrics specification:
    /// `AUTOMETRICS_COMMIT`, `AUTOMETRICS_BRANCH`, `AUTOMETRICS_REPOSITORY_URL`,
    /// `AUTOMETRICS_REPOSITORY_PROVIDER` (blank values are ignored). Without a
    /// provider, one is derived from a GitHub, GitLab or Bitbucket repository URL.
    pub(crate) fn apply_env(&mut self, env: EnvLookup<'_>) {
        let set = |field: &mut String, name: &str| {
            if let Some(value) = env(name).map(|v| v.trim().to_owned())
                && !value.is_empty()
            {
                *field = value;
            }
        };
        set(&mut self.commit, "AUTOMETRICS_COMMIT");
        set(&mut self.branch, "AUTOMETRICS_BRANCH");
        set(&mut self.repository_url, "AUTOMETRICS_REPOSITORY_URL");
        set(
            &mut self.repository_provider,
            "AUTOMETRICS_REPOSITORY_PROVIDER",
        );
        if self.repository_provider.is_empty() {
            self.repository_provider = provider_of(&self.repository_url).to_owned();
        }
    }
}

/// `github`, `gitlab` or `bitbucket` for a URL on those hosts, else `""`.
pub(crate) fn provider_of(url: &str) -> &'static str {
    let host = url
        .split_once("://")
        .map_or(url, |(_, rest)| rest)
        .split(['/', ':'])
        .next()
        .unwrap_or_default()
        .rsplit('@')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    for provider in ["github", "gitlab", "bitbucket"] {
        if host == format!("{provider}.com")
            || host == format!("{provider}.org")
            || host.ends_with(&format!(".{provider}.com"))
        {
            return provider;
        }
    }
    ""
}

static BUILD_INFO: RwLock<Option<BuildInfo>> = RwLock::new(None);

pub(crate) fn set_build_info(info: BuildInfo) {
    *BUILD_INFO.write().unwrap_or_else(PoisonError::into_inner) = Some(info);
}

/// The build info `install()` set, if it ran.
pub(crate) fn build_info() -> Option<BuildInfo> {
    BUILD_INFO
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .clone()
}

/// The service name `install()` resolved, or `""` before it ran.
pub(crate) fn service_name() -> String {
    BUILD_INFO
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .as_ref()
        .map(|info| info.service_name.clone())
        .unwrap_or_default()
}

static RESOURCE: RwLock<Option<Arc<Resource>>> = RwLock::new(None);

pub(crate) fn set_resource(resource: Arc<Resource>) {
    *RESOURCE.write().unwrap_or_else(PoisonError::into_inner) = Some(resource);
}

/// The resource `install()` resolved, if it ran.
pub(crate) fn resource() -> Option<Arc<Resource>> {
    RESOURCE
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .clone()
}

/// The `service.instance.id` of this process: the one `install()` resolved, else the
/// one the environment gives, else the process's random one (a batch job that pushes
/// without installing).
#[cfg_attr(not(feature = "push"), allow(dead_code))]
pub(crate) fn instance_id() -> String {
    if let Some(resource) = resource() {
        return resource.instance_id().to_owned();
    }
    // Not installed: what `install()` would resolve from the environment.
    let defaults = ResourceSettings::default();
    resource::resolve(&defaults, &crate::settings::process_env, "", None).map_or_else(
        |_| instance::process_random().to_owned(),
        |r| r.instance_id().to_owned(),
    )
}

/// When this process started, in nanoseconds since the Unix epoch: the start time of
/// every cumulative series (static storage counts from the process's start, and a
/// series created later was zero until then). Linux reads it from `/proc`; elsewhere,
/// or when unreadable, it is the first time this is asked (`install()` asks).
pub(crate) fn process_start_unix_nanos() -> u64 {
    static START: OnceLock<u64> = OnceLock::new();
    *START.get_or_init(|| proc_start_unix_nanos().unwrap_or_else(crate::clock::unix_nanos))
}

/// The process's start from `/proc/self/stat` and the boot time.
fn proc_start_unix_nanos() -> Option<u64> {
    // `/proc` counts in `USER_HZ` ticks, 100 per second on every Linux user space.
    const TICK_NANOS: u64 = 10_000_000;
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The command name may hold spaces and parentheses: fields start after the last `)`,
    // with field 3 of proc(5) first; starttime is field 22.
    let ticks: u64 = stat
        .get(stat.rfind(')')? + 1..)?
        .split_whitespace()
        .nth(22 - 3)?
        .parse()
        .ok()?;
    let boot: u64 = std::fs::read_to_string("/proc/stat")
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("btime ")?.trim().parse().ok())?;
    boot.checked_mul(1_000_000_000)?
        .checked_add(ticks.checked_mul(TICK_NANOS)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    #[test]
    fn run_time_values_win() {
        let mut info = BuildInfo {
            commit: "abc".into(),
            branch: "main".into(),
            ..BuildInfo::default()
        };
        let e = env(&[
            ("AUTOMETRICS_COMMIT", "def1234"),
            ("AUTOMETRICS_BRANCH", " "),
            (
                "AUTOMETRICS_REPOSITORY_URL",
                "https://github.com/acme/orders",
            ),
        ]);
        info.apply_env(&e);
        assert_eq!(info.commit, "def1234");
        assert_eq!(info.branch, "main", "a blank value is ignored");
        assert_eq!(info.repository_url, "https://github.com/acme/orders");
        assert_eq!(info.repository_provider, "github");
    }

    #[test]
    fn providers() {
        assert_eq!(provider_of("git@gitlab.com:acme/orders.git"), "gitlab");
        assert_eq!(
            provider_of("https://bitbucket.org/acme/orders"),
            "bitbucket"
        );
        assert_eq!(provider_of("https://git.example.com/orders"), "");
        assert_eq!(provider_of(""), "");
        let mut info = BuildInfo::default();
        info.apply_env(&env(&[("AUTOMETRICS_REPOSITORY_PROVIDER", "gitea")]));
        assert_eq!(info.repository_provider, "gitea");
    }

    #[test]
    fn process_start_is_in_the_past() {
        let now = crate::clock::unix_nanos();
        let start = process_start_unix_nanos();
        // Boot time has a one-second resolution.
        assert!(start <= now + 1_000_000_000, "{start} > {now}");
        assert!(start > now - 86_400 * 365 * 1_000_000_000);
        assert_eq!(start, process_start_unix_nanos(), "read once");
    }

    #[test]
    fn labels_carry_the_spec_version() {
        let info = BuildInfo {
            service_name: "orders".into(),
            ..BuildInfo::default()
        };
        let labels = info.labels();
        assert!(labels.contains(&("autometrics_version", "1.0.0")));
        assert!(labels.contains(&("service_name", "orders")));
    }
}
