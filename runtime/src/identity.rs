//! Who the process is: what `build_info` reports. `install()` sets it; before that the
//! exporters fall back to what the catalogue knows.

use std::sync::{PoisonError, RwLock};

/// What `build_info` reports.
#[derive(Clone, Debug, Default)]
pub(crate) struct BuildInfo {
    pub(crate) crate_name: String,
    pub(crate) version: String,
    pub(crate) service_name: String,
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
