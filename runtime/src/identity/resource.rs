//! The resource: who is speaking, the same on every export — the OTLP resource,
//! `target_info` on `/metrics`, the `job`/`instance` of remote write.
//!
//! Unlike the OpenTelemetry SDK this follows the specification: `service.name` from
//! `OTEL_SERVICE_NAME` wins over `OTEL_RESOURCE_ATTRIBUTES`, and values there are
//! percent-decoded.

use super::instance::{INSTANCE_ID_FROM_ENV, InstanceId};
use crate::error::Error;
use crate::settings::{self, EnvLookup, Policy};

/// What the builder set in code.
#[derive(Clone, Debug, Default)]
pub(crate) struct ResourceSettings {
    /// `resource_attribute(..)`, in the order given.
    pub(crate) attributes: Vec<(String, String)>,
    /// `service_namespace(..)`.
    pub(crate) namespace: Option<String>,
    /// `service_instance_id(..)`.
    pub(crate) instance: Option<InstanceId>,
}

/// The resolved resource attributes: `service.name` first, `service.instance.id` always
/// present, keys unique.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Resource {
    pub(crate) attributes: Vec<(String, String)>,
}

pub(crate) const SERVICE_NAME: &str = "service.name";
pub(crate) const SERVICE_NAMESPACE: &str = "service.namespace";
pub(crate) const SERVICE_INSTANCE_ID: &str = "service.instance.id";
const SERVICE_VERSION: &str = "service.version";

impl Resource {
    /// The value of attribute `key`.
    pub(crate) fn get(&self, key: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    pub(crate) fn instance_id(&self) -> &str {
        self.get(SERVICE_INSTANCE_ID).unwrap_or_default()
    }

    /// The Prometheus `job` the OpenTelemetry compatibility specification derives from
    /// the resource: `<service.namespace>/<service.name>`, or `<service.name>`.
    #[cfg_attr(not(feature = "remote-write"), allow(dead_code))]
    pub(crate) fn job(&self) -> String {
        let name = self.get(SERVICE_NAME).unwrap_or_default();
        match self.get(SERVICE_NAMESPACE) {
            Some(ns) if !ns.is_empty() => format!("{ns}/{name}"),
            _ => name.to_owned(),
        }
    }

    fn set(&mut self, key: &str, value: String) {
        match self.attributes.iter_mut().find(|(k, _)| k == key) {
            Some(entry) => entry.1 = value,
            None => self.attributes.push((key.to_owned(), value)),
        }
    }
}

/// Resolves the resource. `service_name` is already resolved with its own precedence;
/// `service_version` is the version known in code (the one `build_info` reports), which
/// wins over the other sources. Then: the builder's attributes over
/// `OTEL_RESOURCE_ATTRIBUTES`, `service_namespace(..)` over both, the instance id (see
/// [`InstanceId`]), the SDK's own attributes where not given.
pub(crate) fn resolve(
    code: &ResourceSettings,
    env: EnvLookup<'_>,
    service_name: &str,
    service_version: Option<&str>,
) -> Result<Resource, Error> {
    let mut resource = Resource {
        attributes: vec![(SERVICE_NAME.to_owned(), service_name.to_owned())],
    };
    if let Some(v) = service_version {
        resource.set(SERVICE_VERSION, v.to_owned());
    }
    let from_env = match env("OTEL_RESOURCE_ATTRIBUTES") {
        Some(v) => settings::pairs("OTEL_RESOURCE_ATTRIBUTES", &v)?,
        None => Vec::new(),
    };
    let instance_in_code = code
        .attributes
        .iter()
        .any(|(k, _)| k == SERVICE_INSTANCE_ID);
    for (k, v) in from_env.into_iter().chain(code.attributes.iter().cloned()) {
        // `service.name` was resolved with its own precedence, and the version known in
        // code wins too, so both agree with `build_info`; otherwise later entries win.
        if k == SERVICE_NAME || (k == SERVICE_VERSION && service_version.is_some()) {
            continue;
        }
        resource.attributes.retain(|(key, _)| *key != k);
        resource.attributes.push((k, v));
    }
    if let Some(ns) = &code.namespace {
        let ns = ns.trim();
        if ns.is_empty() {
            return Err(Error::config("service_namespace", "the namespace is empty"));
        }
        resource.set(SERVICE_NAMESPACE, ns.to_owned());
    }
    let instance = match &code.instance {
        Some(source) => Some(source.resolve("service_instance_id")?),
        None if instance_in_code => None,
        None => match resource.get(SERVICE_INSTANCE_ID) {
            Some(id) if !id.trim().is_empty() => None,
            _ => {
                let from = settings::read(env, INSTANCE_ID_FROM_ENV, Policy::Strict, |text| {
                    InstanceId::parse(text)
                })?
                .unwrap_or_default();
                Some(from.resolve(INSTANCE_ID_FROM_ENV)?)
            }
        },
    };
    if let Some(id) = instance {
        resource.set(SERVICE_INSTANCE_ID, id);
    }
    if resource.instance_id().trim().is_empty() {
        return Err(Error::config(
            "resource_attribute",
            "service.instance.id is empty",
        ));
    }
    for (k, v) in [
        ("telemetry.sdk.name", "flext-observability"),
        ("telemetry.sdk.language", "rust"),
        ("telemetry.sdk.version", env!("CARGO_PKG_VERSION")),
    ] {
        if resource.get(k).is_none() {
            resource.attributes.push((k.to_owned(), v.to_owned()));
        }
    }
    Ok(resource)
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::settings::test_env as env;

    fn attrs(code: &[(&str, &str)]) -> ResourceSettings {
        ResourceSettings {
            attributes: code
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            ..ResourceSettings::default()
        }
    }

    #[test]
    fn resource_rules() {
        let resource = resolve(
            &ResourceSettings::default(),
            &env(&[(
                "OTEL_RESOURCE_ATTRIBUTES",
                "service.name=ignored,deployment.environment=prod%2Deu,team=a%2Cb",
            )]),
            "svc",
            None,
        )
        .unwrap();
        assert_eq!(
            resource.attributes[0],
            ("service.name".into(), "svc".into())
        );
        assert_eq!(resource.get("deployment.environment"), Some("prod-eu"));
        assert_eq!(resource.get("team"), Some("a,b"));
        assert_eq!(resource.get("telemetry.sdk.language"), Some("rust"));
        assert_eq!(
            resource.instance_id(),
            super::super::instance::process_random()
        );
        assert_eq!(resource.job(), "svc");
    }

    #[test]
    fn the_builders_attributes_win_over_the_environments() {
        let code = attrs(&[("team", "code"), ("telemetry.sdk.name", "mine")]);
        let resource = resolve(
            &code,
            &env(&[("OTEL_RESOURCE_ATTRIBUTES", "team=env,zone=eu")]),
            "svc",
            None,
        )
        .unwrap();
        let team: Vec<_> = resource
            .attributes
            .iter()
            .filter(|(k, _)| k == "team")
            .collect();
        assert_eq!(team, [&("team".to_owned(), "code".to_owned())]);
        assert_eq!(resource.get("zone"), Some("eu"));
        assert_eq!(resource.get("telemetry.sdk.name"), Some("mine"));
    }

    #[test]
    fn the_version_known_in_code_wins() {
        let e = env(&[("OTEL_RESOURCE_ATTRIBUTES", "service.version=9.9,team=a")]);
        let resource = resolve(&ResourceSettings::default(), &e, "svc", Some("2.0")).unwrap();
        let versions: Vec<_> = resource
            .attributes
            .iter()
            .filter(|(k, _)| k == "service.version")
            .collect();
        assert_eq!(
            versions,
            [&("service.version".to_owned(), "2.0".to_owned())]
        );
        let resource = resolve(&ResourceSettings::default(), &e, "svc", None).unwrap();
        assert_eq!(resource.get("service.version"), Some("9.9"));
    }

    #[test]
    fn instance_id_precedence() {
        let none = ResourceSettings::default();
        let e = env(&[
            ("OTEL_RESOURCE_ATTRIBUTES", "service.instance.id=from-env"),
            (INSTANCE_ID_FROM_ENV, "stable:pod"),
        ]);
        assert_eq!(
            resolve(&none, &e, "s", None).unwrap().instance_id(),
            "from-env"
        );
        let e = env(&[(INSTANCE_ID_FROM_ENV, "stable:pod")]);
        let stable = InstanceId::Stable("pod".into()).resolve("x").unwrap();
        assert_eq!(resolve(&none, &e, "s", None).unwrap().instance_id(), stable);
        let code = ResourceSettings {
            instance: Some(InstanceId::Fixed("in-code".into())),
            ..ResourceSettings::default()
        };
        let e = env(&[("OTEL_RESOURCE_ATTRIBUTES", "service.instance.id=from-env")]);
        assert_eq!(
            resolve(&code, &e, "s", None).unwrap().instance_id(),
            "in-code"
        );
        let code = attrs(&[("service.instance.id", "attr")]);
        assert_eq!(resolve(&code, &e, "s", None).unwrap().instance_id(), "attr");
        let err = resolve(&none, &env(&[(INSTANCE_ID_FROM_ENV, "pod-7")]), "s", None)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(INSTANCE_ID_FROM_ENV) && !err.contains("pod-7"),
            "{err}"
        );
    }

    #[test]
    fn namespace_and_job() {
        let code = ResourceSettings {
            namespace: Some("shop".into()),
            ..ResourceSettings::default()
        };
        let e = env(&[("OTEL_RESOURCE_ATTRIBUTES", "service.namespace=other")]);
        let resource = resolve(&code, &e, "orders", None).unwrap();
        assert_eq!(resource.get("service.namespace"), Some("shop"));
        assert_eq!(resource.job(), "shop/orders");
        let resource = resolve(&ResourceSettings::default(), &e, "orders", None).unwrap();
        assert_eq!(resource.job(), "other/orders");
        let blank = ResourceSettings {
            namespace: Some(" ".into()),
            ..ResourceSettings::default()
        };
        let err = resolve(&blank, &env(&[]), "orders", None).unwrap_err();
        assert!(err.to_string().contains("service_namespace"), "{err}");
    }

    #[test]
    fn a_bad_escape_names_the_variable() {
        let err = resolve(
            &ResourceSettings::default(),
            &env(&[("OTEL_RESOURCE_ATTRIBUTES", "a=%zz")]),
            "s",
            None,
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("OTEL_RESOURCE_ATTRIBUTES"), "{err}");
    }
}
