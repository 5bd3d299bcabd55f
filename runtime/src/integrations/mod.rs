//! Optional capabilities, one folder each, behind their features. Each reaches the core
//! only through the internal API described in [`crate::integration`]; the core names
//! none of them. Adding one is a folder, a feature, a `mod` line here and a re-export.

#[cfg(feature = "alerts")]
pub mod alerts;
#[cfg(feature = "grpc")]
pub mod grpc;
#[cfg(feature = "http")]
pub mod http;
#[cfg(feature = "otlp")]
pub(crate) mod otlp;
#[cfg(feature = "push")]
pub mod push;
#[cfg(feature = "remote-write")]
pub mod remote_write;
#[cfg(feature = "sqlx")]
pub mod sqlx;
#[cfg(feature = "status")]
pub mod status;
#[cfg(feature = "tokio-metrics")]
mod tokio;
