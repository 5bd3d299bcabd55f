//! The merge: every family of every snapshot, once, in name order, each written by one
//! source.

use std::collections::{BTreeMap, HashMap};
use std::ops::Deref;

use super::source::{Encoder, Snapshot, Source};
use crate::model::FamilyDesc;

/// The family name of `target_info`.
const TARGET: &str = "target";

/// Feeds every family of `sources` whose sample name (`x_total`, `y_seconds`) `keep`
/// accepts to `out`, in name order; returns the names written.
///
/// Sources are read in the order given, and the first to claim a family name or a
/// sample name keeps it. A later source's family that would share it — the same family
/// again (the `metrics` facade's counter `function_calls` next to `#[monitor]`'s), or
/// one that collides in the exposition formats (`x` as a gauge next to the counter
/// `x_total`, a gauge `y_count` next to the histogram `y`) — would duplicate series or
/// make the exposition invalid, so it is left out, and reported once naming both.
pub(crate) fn collect<'s, S: Deref<Target = dyn Source + 's>>(
    sources: &[S],
    keep: &dyn Fn(&str) -> bool,
    out: &mut dyn Encoder,
) -> Vec<String> {
    let snapshots: Vec<Box<dyn Snapshot + '_>> = sources.iter().map(|s| s.snapshot()).collect();

    // OpenMetrics family name -> (its metadata, the snapshot that writes it).
    let mut families: BTreeMap<String, (FamilyDesc<'_>, usize)> = BTreeMap::new();
    // Sample and family names taken -> (the family that took it, its source).
    let mut taken: HashMap<String, (String, &'static str, &'static str)> = HashMap::new();
    for (index, snapshot) in snapshots.iter().enumerate() {
        let origin = sources[index].origin();
        for desc in snapshot.families() {
            let key = desc.family_name().to_owned();
            let names = desc.sample_names();
            if let Some(owner) = std::iter::once(&key)
                .chain(&names)
                .find_map(|n| taken.get(n))
            {
                collision(&desc, origin, owner);
                continue;
            }
            let claim = (desc.name.to_string(), desc.kind.as_str(), origin);
            for n in names.into_iter().chain(std::iter::once(key.clone())) {
                taken.insert(n, claim.clone());
            }
            families.insert(key, (desc, index));
        }
    }
    let mut written = Vec::new();
    // OpenMetrics: an info family `target` (the resource) SHOULD come first.
    let target = families.get(TARGET);
    let rest = families
        .iter()
        .filter(|(k, _)| *k != TARGET)
        .map(|(_, f)| f);
    for (desc, index) in target.into_iter().chain(rest) {
        if !keep(&desc.name) {
            continue;
        }
        out.family(desc);
        snapshots[*index].encode(&desc.name, out);
        written.push(desc.name.to_string());
    }
    written
}

fn collision(desc: &FamilyDesc<'_>, origin: &str, owner: &(String, &str, &str)) {
    let (owner_name, owner_kind, owner_origin) = owner;
    crate::diag::warn_once(
        &format!("collision:{origin}:{}", desc.name),
        &format!(
            "the {} `{}` of {origin} collides with the {owner_kind} `{owner_name}` of \
             {owner_origin} in the exposition formats; its series are not exported: rename it",
            desc.kind.as_str(),
            desc.name,
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
    fn families_come_in_name_order_each_from_its_first_source() {
        let a = Fake(vec![
            ("b_total", MetricType::Counter, vec![("a1", 1)]),
            ("a", MetricType::Gauge, vec![("a2", 2)]),
        ]);
        // The same family again from another source, same type and labels: its series
        // would be duplicates (a facade counter reusing `function_calls`).
        let b = Fake(vec![
            ("b_total", MetricType::Counter, vec![("a1", 3)]),
            ("c", MetricType::Gauge, vec![("b2", 4)]),
        ]);
        let (lines, written) = run(&[&a, &b], &|_| true);
        assert_eq!(written, ["a", "b_total", "c"]);
        assert_eq!(
            lines,
            [
                "family a gauge",
                r#"gauge [("l", "a2")] Int(2)"#,
                "family b_total counter",
                r#"counter [("l", "a1")] Int(1)"#,
                "family c gauge",
                r#"gauge [("l", "b2")] Int(4)"#,
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
    fn the_target_family_comes_first() {
        let a = Fake(vec![
            ("a_total", MetricType::Counter, vec![("1", 1)]),
            ("target_info", MetricType::Info, vec![("2", 1)]),
            ("z", MetricType::Gauge, vec![("3", 1)]),
        ]);
        let (_, written) = run(&[&a], &|_| true);
        assert_eq!(written, ["target_info", "a_total", "z"]);
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
