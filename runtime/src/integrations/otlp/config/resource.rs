//! The resource attributes sent with every export.
//!
//! Unlike the OpenTelemetry SDK this follows the specification: `service.name` from
//! `OTEL_SERVICE_NAME` wins over `OTEL_RESOURCE_ATTRIBUTES`, and values there are
//! percent-decoded.

use crate::error::Error;
use crate::settings::{self, EnvLookup};

/// `service.name` (resolved with its own precedence) first, then `service.version`
/// (when known in code it wins over the other sources), `OTEL_RESOURCE_ATTRIBUTES`, the
/// builder's (`code`), the SDK's own.
pub(super) fn attributes(
    code: &[(String, String)],
    env: EnvLookup<'_>,
    service_name: &str,
    service_version: Option<&str>,
) -> Result<Vec<(String, String)>, Error> {
    let mut resource = vec![("service.name".to_owned(), service_name.to_owned())];
    if let Some(v) = service_version {
        resource.push(("service.version".to_owned(), v.to_owned()));
    }
    let from_env = match env("OTEL_RESOURCE_ATTRIBUTES") {
        Some(v) => settings::pairs("OTEL_RESOURCE_ATTRIBUTES", &v)?,
        None => Vec::new(),
    };
    for (k, v) in from_env.into_iter().chain(code.iter().cloned()) {
        // `service.name` was resolved with its own precedence, and the version known in
        // code (the one `build_info` reports) wins too, so both agree; otherwise later
        // entries win.
        if k == "service.name" || (k == "service.version" && service_version.is_some()) {
            continue;
        }
        resource.retain(|(key, _)| *key != k);
        resource.push((k, v));
    }
    for (k, v) in [
        ("telemetry.sdk.name", "flext-observability"),
        ("telemetry.sdk.language", "rust"),
        ("telemetry.sdk.version", env!("CARGO_PKG_VERSION")),
    ] {
        if !resource.iter().any(|(key, _)| key == k) {
            resource.push((k.to_owned(), v.to_owned()));
        }
    }
    Ok(resource)
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::settings::test_env as env;

    #[test]
    fn resource_rules() {
        let resource = attributes(
            &[],
            &env(&[(
                "OTEL_RESOURCE_ATTRIBUTES",
                "service.name=ignored,deployment.environment=prod%2Deu,team=a%2Cb",
            )]),
            "svc",
            None,
        )
        .unwrap();
        assert_eq!(resource[0], ("service.name".into(), "svc".into()));
        assert!(resource.contains(&("deployment.environment".into(), "prod-eu".into())));
        assert!(resource.contains(&("team".into(), "a,b".into())));
        assert!(resource.contains(&("telemetry.sdk.language".into(), "rust".into())));
    }

    #[test]
    fn the_builders_attributes_win_over_the_environments() {
        let code = [
            ("team".to_owned(), "code".to_owned()),
            ("telemetry.sdk.name".to_owned(), "mine".to_owned()),
        ];
        let resource = attributes(
            &code,
            &env(&[("OTEL_RESOURCE_ATTRIBUTES", "team=env,zone=eu")]),
            "svc",
            None,
        )
        .unwrap();
        let team: Vec<_> = resource.iter().filter(|(k, _)| k == "team").collect();
        assert_eq!(team, [&("team".to_owned(), "code".to_owned())]);
        assert!(resource.contains(&("zone".into(), "eu".into())));
        assert!(resource.contains(&("telemetry.sdk.name".into(), "mine".into())));
    }

    #[test]
    fn the_version_known_in_code_wins() {
        let e = env(&[("OTEL_RESOURCE_ATTRIBUTES", "service.version=9.9,team=a")]);
        let resource = attributes(&[], &e, "svc", Some("2.0")).unwrap();
        let versions: Vec<_> = resource
            .iter()
            .filter(|(k, _)| k == "service.version")
            .collect();
        assert_eq!(
            versions,
            [&("service.version".to_owned(), "2.0".to_owned())]
        );
        let resource = attributes(&[], &e, "svc", None).unwrap();
        assert!(resource.contains(&("service.version".to_owned(), "9.9".to_owned())));
    }

    #[test]
    fn a_bad_escape_names_the_variable() {
        let err = attributes(
            &[],
            &env(&[("OTEL_RESOURCE_ATTRIBUTES", "a=%zz")]),
            "s",
            None,
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("OTEL_RESOURCE_ATTRIBUTES"), "{err}");
    }
}
