//! Label name conventions on top of the syntax.

use crate::{NameError, Rule, is_snake_case, to_snake_case, validate_label_name};

/// Labels the runtime adds to series itself: declaring them would clash.
pub const RUNTIME_LABELS: &[&str] = &["otel_metric_overflow"];

/// Labels Prometheus attaches from the scrape target and the Pushgateway from the
/// grouping key: a metric's own label of that name is renamed to `exported_…` or
/// overwritten.
pub const TARGET_LABELS: &[&str] = &["job", "instance"];

/// Checks the label names of one metric, in declaration order. Returns each problem with
/// the index of the label it concerns; an empty list means the names are fine.
pub fn check_label_names(names: &[&str]) -> Vec<(usize, NameError)> {
    let mut issues = Vec::new();
    for (i, &name) in names.iter().enumerate() {
        if let Err(e) = check_one(name) {
            issues.push((i, e));
            continue;
        }
        if names[..i].contains(&name) {
            issues.push((
                i,
                NameError::new(
                    Rule::LabelDuplicate,
                    format!("label `{name}` is listed twice: remove one of them"),
                ),
            ));
        }
    }
    issues
}

fn check_one(name: &str) -> Result<(), NameError> {
    validate_label_name(name)?;
    if !is_snake_case(name) {
        let fixed = to_snake_case(name);
        return Err(NameError::new(
            Rule::SnakeCase,
            format!("label name `{name}` is not snake_case: use `{fixed}`"),
        )
        .with_fix(fixed));
    }
    if RUNTIME_LABELS.contains(&name) {
        return Err(NameError::new(
            Rule::LabelRuntime,
            format!(
                "label `{name}` is added by the runtime to the series that collects values beyond the series limit: choose another name"
            ),
        ));
    }
    if TARGET_LABELS.contains(&name) {
        let fixed = format!("source_{name}");
        return Err(NameError::new(
            Rule::LabelTarget,
            format!(
                "label `{name}` is set by Prometheus from the scrape target (and by the Pushgateway from the grouping key), which would rename or overwrite it: use a more specific name such as `{fixed}`"
            ),
        )
        .with_fix(fixed));
    }
    Ok(())
}
