//! `service.instance.id`: which instance of the service this process is.
//!
//! OpenTelemetry semantic conventions v1.44.0 (`service.instance.id`, registry
//! `model/service/registry.yaml`): the `(service.namespace, service.name,
//! service.instance.id)` triplet MUST be globally unique; SDKs are recommended to
//! generate a random UUID v4, or, where stability is wanted, a UUID v5 of an inherent
//! unique ID in the namespace `4d63009a-8d0f-11ee-aad7-4c796ed8e320`. The source data (a
//! pod or host name) is treated as confidential: only its hash is exported.

use std::sync::OnceLock;

use uuid::Uuid;

use crate::error::Error;

/// The namespace semantic conventions give for a `service.instance.id` derived from a
/// stable identity.
const NAMESPACE: Uuid = Uuid::from_u128(0x4d63_009a_8d0f_11ee_aad7_4c79_6ed8_e320);

/// The environment variable that says where `service.instance.id` comes from when
/// neither the code nor `OTEL_RESOURCE_ATTRIBUTES` sets it.
pub(crate) const INSTANCE_ID_FROM_ENV: &str = "FLEXT_OBS_INSTANCE_ID_FROM";

/// Where the `service.instance.id` resource attribute (the `service_instance_id` label of
/// `target_info`, the `instance` of remote write) comes from.
///
/// Precedence: [`ObservabilityBuilder::service_instance_id`](crate::ObservabilityBuilder::service_instance_id)
/// (or `resource_attribute("service.instance.id", …)`), then `service.instance.id` in
/// `OTEL_RESOURCE_ATTRIBUTES`, then `FLEXT_OBS_INSTANCE_ID_FROM` (`random`, `host`, or
/// `stable:<identity>`), then [`InstanceId::Random`].
///
/// ```
/// use flext_observability::{InstanceId, Observability};
///
/// // A StatefulSet pod keeps its identity across restarts: so does its series.
/// let builder = Observability::builder()
///     .service_instance_id(InstanceId::Stable("orders-0.shop".into()));
/// # drop(builder);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum InstanceId {
    /// A random UUID v4, the same for the whole process (the default): every process is
    /// an instance of its own, and a restarted one is a new instance.
    #[default]
    Random,
    /// A UUID v5 of the host's identity (`/etc/machine-id`, else the host name): stable
    /// across restarts. Only for one process of the service per host (or container):
    /// two would share the id and overwrite each other's series.
    Host,
    /// A UUID v5 of this stable identity (a pod name, a container id): stable across
    /// restarts, the identity itself never exported.
    Stable(String),
    /// This value as it is.
    Fixed(String),
}

impl InstanceId {
    /// Parses `FLEXT_OBS_INSTANCE_ID_FROM`.
    pub(crate) fn parse(text: &str) -> Result<InstanceId, String> {
        match text {
            "random" => Ok(InstanceId::Random),
            "host" => Ok(InstanceId::Host),
            _ => match text.strip_prefix("stable:").map(str::trim) {
                Some(identity) if !identity.is_empty() => {
                    Ok(InstanceId::Stable(identity.to_owned()))
                }
                Some(_) => Err("`stable:` needs an identity after it".to_owned()),
                // The value may be an identity meant to stay confidential: not quoted.
                None => Err("not `random`, `host` or `stable:<identity>`".to_owned()),
            },
        }
    }

    /// The `service.instance.id` this source gives; `source` names the setting for errors.
    pub(crate) fn resolve(&self, source: &str) -> Result<String, Error> {
        match self {
            InstanceId::Random => Ok(process_random().to_owned()),
            InstanceId::Host => host_identity().map(|id| v5(&id)).ok_or_else(|| {
                Error::config(
                    source,
                    "the host has no identity to derive the instance id from (no /etc/machine-id, \
                     no host name): use `stable:<identity>` or set service.instance.id",
                )
            }),
            InstanceId::Stable(identity) => Ok(v5(identity)),
            InstanceId::Fixed(id) if id.trim().is_empty() => {
                Err(Error::config(source, "the instance id is empty"))
            }
            InstanceId::Fixed(id) => Ok(id.trim().to_owned()),
        }
    }
}

/// The UUID v5 of `identity` in the semantic conventions' namespace.
fn v5(identity: &str) -> String {
    Uuid::new_v5(&NAMESPACE, identity.as_bytes()).to_string()
}

/// This process's random UUID v4, made once: installing again keeps the instance.
pub(crate) fn process_random() -> &'static str {
    static ID: OnceLock<String> = OnceLock::new();
    ID.get_or_init(|| Uuid::new_v4().to_string())
}

/// `/etc/machine-id` (or D-Bus's copy), else the kernel's host name.
fn host_identity() -> Option<String> {
    [
        "/etc/machine-id",
        "/var/lib/dbus/machine-id",
        "/proc/sys/kernel/hostname",
        "/etc/hostname",
    ]
    .iter()
    .filter_map(|path| std::fs::read_to_string(path).ok())
    .map(|text| text.trim().to_owned())
    .find(|text| !text.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources() {
        assert_eq!(InstanceId::parse("random"), Ok(InstanceId::Random));
        assert_eq!(InstanceId::parse("host"), Ok(InstanceId::Host));
        assert_eq!(
            InstanceId::parse("stable: pod-1"),
            Ok(InstanceId::Stable("pod-1".into()))
        );
        for bad in ["stable:", "stable: ", "pod-1", "Random"] {
            let err = InstanceId::parse(bad).unwrap_err();
            assert!(
                !err.contains("pod-1"),
                "the value stays confidential: {err}"
            );
        }
    }

    #[test]
    fn random_is_once_per_process_and_v5_is_stable() {
        let a = InstanceId::Random.resolve("x").unwrap();
        assert_eq!(a, InstanceId::Random.resolve("x").unwrap());
        assert_eq!(Uuid::parse_str(&a).unwrap().get_version_num(), 4);
        let s = InstanceId::Stable("orders-0".into()).resolve("x").unwrap();
        assert_eq!(
            s,
            InstanceId::Stable("orders-0".into()).resolve("x").unwrap()
        );
        assert_ne!(
            s,
            InstanceId::Stable("orders-1".into()).resolve("x").unwrap()
        );
        let uuid = Uuid::parse_str(&s).unwrap();
        assert_eq!(uuid.get_version_num(), 5);
        // Python: uuid.uuid5(uuid.UUID("4d63009a-8d0f-11ee-aad7-4c796ed8e320"), "orders-0")
        assert_eq!(s, "c1e9c280-572c-5841-83b3-596ec3648028");
        assert!(!s.contains("orders"));
        assert_eq!(
            InstanceId::Fixed(" pod-7 ".into()).resolve("x").unwrap(),
            "pod-7"
        );
        let err = InstanceId::Fixed(" ".into()).resolve("service_instance_id");
        assert!(err.unwrap_err().to_string().contains("service_instance_id"));
        if host_identity().is_some() {
            let host = InstanceId::Host.resolve("x").unwrap();
            assert_eq!(Uuid::parse_str(&host).unwrap().get_version_num(), 5);
        }
    }
}
