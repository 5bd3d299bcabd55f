//! The merge: every family of every snapshot, once, in name order.

use std::collections::{BTreeMap, HashMap};
use std::ops::Deref;

use super::source::{Encoder, Snapshot, Source};
use crate::model::FamilyDesc;

/// Feeds every family of `sources` whose sample name (`x_total`, `y_seconds`) `keep`
/// accepts to `out`, merged by name, in name order; returns the names written.
///
/// Sources are read in the order given, and the first to claim a family name or a
/// sample name keeps it: a later family that would collide with it (`x` as a gauge
/// next to the counter `x_total`, a gauge `y_count` next to the histogram `y`) would
/// make the exposition invalid, so it is left out, once reported.
pub(crate) fn collect<'s, S: Deref<Target = dyn Source + 's>>(
    sources: &[S],
    keep: &dyn Fn(&str) -> bool,
    out: &mut dyn Encoder,
) -> Vec<String> {
    let snapshots: Vec<Box<dyn Snapshot + '_>> = sources.iter().map(|s| s.snapshot()).collect();

    // OpenMetrics family name -> (metadata of the first source, snapshots that
    // contribute).
    let mut families: BTreeMap<String, (FamilyDesc<'_>, Vec<usize>)> = BTreeMap::new();
    let mut taken: HashMap<String, String> = HashMap::new();
    for (index, snapshot) in snapshots.iter().enumerate() {
        for desc in snapshot.families() {
            let key = desc.family_name().to_owned();
            if let Some((first, contributors)) = families.get_mut(&key) {
                if first.kind == desc.kind && first.name == desc.name {
                    contributors.push(index);
                } else {
                    collision(&desc, &first.name);
                }
                continue;
            }
            let names = desc.sample_names();
            if let Some(owner) = std::iter::once(&key)
                .chain(&names)
                .find_map(|n| taken.get(n))
            {
                collision(&desc, owner);
                continue;
            }
            for n in names.into_iter().chain(std::iter::once(key.clone())) {
                taken.insert(n, desc.name.to_string());
            }
            families.insert(key, (desc, vec![index]));
        }
    }
    let mut written = Vec::new();
    for (desc, contributors) in families.values() {
        if !keep(&desc.name) {
            continue;
        }
        out.family(desc);
        for &index in contributors {
            snapshots[index].encode(&desc.name, out);
        }
        written.push(desc.name.to_string());
    }
    written
}

fn collision(desc: &FamilyDesc<'_>, owner: &str) {
    crate::diag::warn_once(
        &format!("collision:{}", desc.name),
        &format!(
            "metric `{}` ({}) collides with the metric `{owner}` in the exposition formats; \
             its series are not exported: rename one of them",
            desc.name,
            desc.kind.as_str()
        ),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::testing::{Fake, Recorder};
    use crate::model::MetricType;

    fn run(sources: &[&dyn Source], keep: &dyn Fn(&str) -> bool) -> (Vec<String>, Vec<String>) {
        let mut out = Recorder::default();
        let written = collect(sources, keep, &mut out);
        (out.0, written)
    }

    #[test]
    fn families_merge_by_name_in_name_order() {
        let a = Fake(vec![
            ("b_total", MetricType::Counter, vec![("a1", 1)]),
            ("a", MetricType::Gauge, vec![("a2", 2)]),
        ]);
        let b = Fake(vec![("b_total", MetricType::Counter, vec![("b1", 3)])]);
        let (lines, written) = run(&[&a, &b], &|_| true);
        assert_eq!(written, ["a", "b_total"]);
        assert_eq!(
            lines,
            [
                "family a gauge",
                r#"gauge [("l", "a2")] Int(2)"#,
                "family b_total counter",
                r#"counter [("l", "a1")] Int(1)"#,
                r#"counter [("l", "b1")] Int(3)"#,
            ]
        );
    }

    #[test]
    fn the_first_source_keeps_a_contested_name() {
        // `x` as a gauge clashes with the counter family `x` (`x_total`); `y_count`
        // clashes with the histogram `y`'s count sample.
        let first = Fake(vec![
            ("x_total", MetricType::Counter, vec![("first", 1)]),
            ("y", MetricType::Histogram, vec![("first", 2)]),
        ]);
        let later = Fake(vec![
            ("x", MetricType::Gauge, vec![("later", 5)]),
            ("y_count", MetricType::Gauge, vec![("later", 6)]),
            ("x_total", MetricType::Gauge, vec![("later", 7)]),
        ]);
        let (lines, written) = run(&[&first, &later], &|_| true);
        assert_eq!(written, ["x_total", "y"]);
        assert!(
            lines.iter().all(|l| !l.contains("later")),
            "a colliding family leaked: {lines:?}"
        );
        // The other order: the other source wins, and its gauge `x_total` now stands (the
        // counter that would have claimed the name `x_total` is out).
        let (_, written) = run(&[&later, &first], &|_| true);
        assert_eq!(written, ["x", "x_total", "y_count"]);
    }

    #[test]
    fn keep_filters_by_sample_name() {
        let a = Fake(vec![
            ("a_total", MetricType::Counter, vec![("1", 1)]),
            ("b", MetricType::Gauge, vec![("2", 2)]),
        ]);
        let (lines, written) = run(&[&a], &|name| name == "b");
        assert_eq!(written, ["b"]);
        assert_eq!(lines.len(), 2);
        let (lines, written) = run(&[], &|_| true);
        assert!(lines.is_empty() && written.is_empty());
    }
}
