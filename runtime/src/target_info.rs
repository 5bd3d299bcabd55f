//! `target_info`: the resource on `/metrics`, as the OpenTelemetry Prometheus
//! compatibility specification asks (`specification/compatibility/
//! prometheus_and_openmetrics.md`, "Resource Attributes"): an info family `target`
//! whose labels are the resource attributes and nothing else, names made Prometheus
//! label names (`service.instance.id` → `service_instance_id`). It carries no `job` or
//! `instance`: on a scrape Prometheus adds its own, and no other series carries an
//! `instance` of ours either. Join it to any series on Prometheus' `instance`:
//!
//! ```promql
//! function_calls_total * on (job, instance) group_left (service_instance_id) target_info
//! ```
//!
//! Written only once `install()` has resolved the resource.

use std::sync::Arc;

use crate::collect::{Encoder, Snapshot, Source, SourceEntry};
use crate::identity::{self, Resource};
use crate::model::{FamilyDesc, MetricType};

struct TargetInfoSource;

static TARGET_INFO: TargetInfoSource = TargetInfoSource;

// Right after the monitored functions: the name is the specification's, no user
// metric may take it.
inventory::submit!(SourceEntry::new(1, &TARGET_INFO));

const NAME: &str = "target_info";

impl Source for TargetInfoSource {
    fn snapshot(&self) -> Box<dyn Snapshot + '_> {
        Box::new(TargetView(identity::resource()))
    }
}

struct TargetView(Option<Arc<Resource>>);

impl Snapshot for TargetView {
    fn families(&self) -> Vec<FamilyDesc<'_>> {
        match self.0 {
            Some(_) => vec![FamilyDesc::fixed(
                NAME,
                "Target metadata",
                MetricType::Info,
                None,
            )],
            None => Vec::new(),
        }
    }

    fn encode(&self, family: &str, out: &mut dyn Encoder) {
        let Some(resource) = &self.0 else {
            return;
        };
        if family != NAME {
            return;
        }
        let labels = labels(&resource.attributes);
        let pairs: Vec<(&str, &str)> = labels
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        out.info(&pairs);
    }
}

/// Resource attributes as label pairs: names sanitized; where two attributes make one
/// name, their values joined with `;` in the order of the original keys, as the
/// specification asks. In the order of the resource (`service_name` first).
fn labels(attributes: &[(String, String)]) -> Vec<(String, String)> {
    let mut out: Vec<(String, Vec<(&str, &str)>)> = Vec::new();
    for (key, value) in attributes {
        let name = label_name(key);
        match out.iter_mut().find(|(n, _)| *n == name) {
            Some((_, values)) => values.push((key, value)),
            None => out.push((name, vec![(key, value)])),
        }
    }
    out.into_iter()
        .map(|(name, mut values)| {
            values.sort_unstable();
            let joined: Vec<&str> = values.iter().map(|(_, v)| *v).collect();
            (name, joined.join(";"))
        })
        .collect()
}

/// A Prometheus label name: characters outside `[a-zA-Z0-9_]` become `_`, a leading
/// digit gets a `_` before it (OpenTelemetry's translation, as its exporters do).
fn label_name(key: &str) -> String {
    let mut name: String = key
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    if name.starts_with(|c: char| c.is_ascii_digit()) {
        name.insert(0, '_');
    }
    name
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::testing::Recorder;

    fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
        p.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn attributes_become_labels() {
        let attrs = pairs(&[
            ("service.name", "orders"),
            ("service.instance.id", "i-1"),
            ("k8s.pod-name", "b"),
            ("k8s.pod.name", "a"),
            ("2fa", "on"),
        ]);
        assert_eq!(
            labels(&attrs),
            pairs(&[
                ("service_name", "orders"),
                ("service_instance_id", "i-1"),
                // `k8s.pod-name` < `k8s.pod.name`: values in the order of the keys.
                ("k8s_pod_name", "b;a"),
                ("_2fa", "on"),
            ])
        );
    }

    #[test]
    fn written_only_once_resolved() {
        let mut out = Recorder::default();
        let view = TargetView(None);
        assert!(view.families().is_empty());
        view.encode(NAME, &mut out);
        assert!(out.0.is_empty());
        let view = TargetView(Some(Arc::new(Resource {
            attributes: pairs(&[("service.name", "orders")]),
        })));
        assert_eq!(view.families()[0].kind, MetricType::Info);
        view.encode(NAME, &mut out);
        assert_eq!(out.0, [r#"info [("service_name", "orders")]"#]);
    }
}
