//! Metric name conventions: kind suffixes, base units as suffixes, help text.

use crate::units::{BASE_UNITS, UnitWord, classify, unit_of};
use crate::{
    NameError, Rule, check_label_names, is_snake_case, to_snake_case, validate_metric_name,
};

/// The type of a metric.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MetricKind {
    /// Only goes up; the name ends in `_total`.
    Counter,
    /// Goes up and down.
    Gauge,
    /// Observations counted in buckets.
    Histogram,
    /// Facts as labels on a series of value 1; the name ends in `_info`.
    Info,
}

impl MetricKind {
    /// `counter`, `gauge`, `histogram` or `info`.
    pub fn as_str(self) -> &'static str {
        match self {
            MetricKind::Counter => "counter",
            MetricKind::Gauge => "gauge",
            MetricKind::Histogram => "histogram",
            MetricKind::Info => "info",
        }
    }
}

/// Suffixes of counter and histogram samples, `_created` included.
const SAMPLE_SUFFIXES: &[&str] = &["_total", "_count", "_sum", "_bucket", "_created"];

/// Words that name a metric type.
const TYPE_WORDS: &[&str] = &["counter", "gauge", "histogram", "summary"];

/// Which part of a declaration an [`Issue`] is about, so a macro can point at its token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    /// The metric name.
    Name,
    /// The declared unit.
    Unit,
    /// The help text.
    Help,
    /// The label at this index.
    Label(usize),
}

/// One broken rule of a [`MetricSpec`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Issue {
    /// What the error is about.
    pub part: Part,
    /// The rule, the message and the fix.
    pub error: NameError,
}

/// Everything the rules look at in one metric declaration.
#[derive(Clone, Copy, Debug)]
pub struct MetricSpec<'a> {
    name: &'a str,
    kind: MetricKind,
    unit: Option<&'a str>,
    help: Option<&'a str>,
    labels: &'a [&'a str],
}

impl<'a> MetricSpec<'a> {
    /// A metric with this full name (`…_total` for counters, `…_info` for info metrics),
    /// no declared unit, no labels, and no help check.
    pub fn new(name: &'a str, kind: MetricKind) -> Self {
        MetricSpec {
            name,
            kind,
            unit: None,
            help: None,
            labels: &[],
        }
    }

    /// A declared unit, which must be a base unit and the name's suffix.
    #[must_use]
    pub fn unit(mut self, unit: &'a str) -> Self {
        self.unit = Some(unit);
        self
    }

    /// The help text, which must not be empty.
    #[must_use]
    pub fn help(mut self, help: &'a str) -> Self {
        self.help = Some(help);
        self
    }

    /// The label names, in declaration order.
    #[must_use]
    pub fn labels(mut self, labels: &'a [&'a str]) -> Self {
        self.labels = labels;
        self
    }

    /// The unit of the metric: the declared one, else the base unit its name ends with;
    /// never one for an info metric, which `OpenMetrics` gives no unit.
    pub fn resolved_unit(&self) -> Option<&'a str> {
        if self.kind == MetricKind::Info {
            return None;
        }
        self.unit.or_else(|| unit_of(self.name))
    }

    /// Every rule the declaration breaks; empty when it is fine.
    pub fn check(&self) -> Vec<Issue> {
        let mut issues = Vec::new();
        let name_ok = match check_name(self.name, self.kind) {
            Ok(()) => true,
            Err(errors) => {
                issues.extend(errors.into_iter().map(|error| Issue {
                    part: Part::Name,
                    error,
                }));
                false
            }
        };
        if let Some(unit) = self.unit
            && let Err(error) = if self.kind == MetricKind::Info {
                Err(info_unit(unit))
            } else {
                check_unit(self.name, self.kind, unit, name_ok)
            }
        {
            issues.push(Issue {
                part: Part::Unit,
                error,
            });
        }
        if let Some(help) = self.help
            && let Err(error) = check_help(help)
        {
            issues.push(Issue {
                part: Part::Help,
                error,
            });
        }
        issues.extend(
            check_label_names(self.labels)
                .into_iter()
                .map(|(i, error)| Issue {
                    part: Part::Label(i),
                    error,
                }),
        );
        issues
    }
}

/// Checks help text: it must say something.
///
/// # Errors
/// [`Rule::HelpMissing`] when the text is empty or blank.
pub fn check_help(help: &str) -> Result<(), NameError> {
    if help.trim().is_empty() {
        return Err(NameError::new(
            Rule::HelpMissing,
            "help text is missing: describe what the metric measures in one sentence (for a declaration, its doc comment `/// …`)",
        ));
    }
    Ok(())
}

/// The `OpenMetrics` family name of a metric: its name without the suffix its kind adds
/// to samples (`etl_rows_total` → `etl_rows`, `build_info` → `build`). Two metrics with
/// the same family name cannot be exposed together.
///
/// ```
/// use flext_observability_naming::{MetricKind, family_name};
///
/// assert_eq!(family_name("etl_rows_total", MetricKind::Counter), "etl_rows");
/// assert_eq!(family_name("etl_pipeline_info", MetricKind::Info), "etl_pipeline");
/// assert_eq!(family_name("etl_run_duration_seconds", MetricKind::Histogram), "etl_run_duration_seconds");
/// ```
pub fn family_name(name: &str, kind: MetricKind) -> &str {
    match kind {
        MetricKind::Counter => name.strip_suffix("_total").unwrap_or(name),
        MetricKind::Info => name.strip_suffix("_info").unwrap_or(name),
        MetricKind::Gauge | MetricKind::Histogram => name,
    }
}

/// The part of the name before the kind's suffix.
fn stem(name: &str, kind: MetricKind) -> &str {
    family_name(name, kind)
}

/// A unit declared on an info metric.
fn info_unit(unit: &str) -> NameError {
    NameError::new(
        Rule::InfoUnit,
        format!(
            "an info metric has no unit (OpenMetrics allows none on it): remove `unit = \"{unit}\"`"
        ),
    )
}

/// `stem` + the kind's suffix.
fn with_suffix(stem: &str, kind: MetricKind) -> String {
    match kind {
        MetricKind::Counter => format!("{stem}_total"),
        MetricKind::Info => format!("{stem}_info"),
        MetricKind::Gauge | MetricKind::Histogram => stem.to_owned(),
    }
}

fn check_name(name: &str, kind: MetricKind) -> Result<(), Vec<NameError>> {
    // Syntax and case problems hide the others: their fix changes every word.
    validate_metric_name(name).map_err(|e| vec![e])?;
    if !is_snake_case(name) {
        let fixed = to_snake_case(name);
        return Err(vec![
            NameError::new(
                Rule::SnakeCase,
                format!("metric name `{name}` is not snake_case: use `{fixed}`"),
            )
            .with_fix(fixed),
        ]);
    }
    let mut errors = Vec::new();
    check_kind_suffix(name, kind, &mut errors);
    check_words(name, kind, &mut errors);
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

/// Rules about the words of the name: no type word, units spelled out, base, and last.
fn check_words(name: &str, kind: MetricKind, errors: &mut Vec<NameError>) {
    let stem = stem(name, kind);
    let words: Vec<&str> = stem.split('_').collect();
    let rebuild = |replace: usize, with: Option<&str>| -> String {
        let mut out: Vec<&str> = Vec::with_capacity(words.len());
        for (i, w) in words.iter().enumerate() {
            if i == replace {
                if let Some(with) = with {
                    out.push(with);
                }
            } else {
                out.push(w);
            }
        }
        with_suffix(&out.join("_"), kind)
    };
    for (i, word) in words.iter().enumerate() {
        if TYPE_WORDS.contains(word) && words.len() > 1 {
            let fixed = rebuild(i, None);
            errors.push(
                NameError::new(
                    Rule::TypeInName,
                    format!(
                        "metric name `{name}` contains its type `{word}`, which the exposition already states: use `{fixed}`"
                    ),
                )
                .with_fix(fixed),
            );
            continue;
        }
        errors.extend(unit_issue(name, kind, &words, i, &rebuild));
    }
}

/// The unit rule the word at `i` breaks, if any: not a base unit, abbreviated, singular
/// at the end, or a unit that is not the last word.
fn unit_issue(
    name: &str,
    kind: MetricKind,
    words: &[&str],
    i: usize,
    rebuild: &dyn Fn(usize, Option<&str>) -> String,
) -> Option<NameError> {
    let word = words[i];
    let error = match classify(word) {
        UnitWord::NonBase { base, convert } => {
            let fixed = rebuild(i, Some(base));
            NameError::new(
                        Rule::UnitNotBase,
                        format!(
                            "metric name `{name}` uses the unit `{word}`: use the base unit `{base}` instead (`{fixed}`) and record values in it ({convert})"
                        ),
                    )
                    .with_fix(fixed)
        }
        UnitWord::Abbreviation { base } => {
            let fixed = rebuild(i, Some(base));
            NameError::new(
                        Rule::UnitAbbreviation,
                        format!(
                            "metric name `{name}` abbreviates a unit as `{word}`: spell out the base unit (`{fixed}`) and record values in {base}"
                        ),
                    )
                    .with_fix(fixed)
        }
        UnitWord::Base
            if i + 1 < words.len() && words.last().is_some_and(|w| BASE_UNITS.contains(w)) =>
        {
            let fixed = rebuild(i, None);
            NameError::new(
                        Rule::UnitNotSuffix,
                        format!(
                            "metric name `{name}` has two units, `{word}` and `{}`: a name carries one unit, as its last word (`{fixed}`)",
                            words[words.len() - 1]
                        ),
                    )
                    .with_fix(fixed)
        }
        UnitWord::Base if i + 1 < words.len() => {
            let mut moved: Vec<&str> = words
                .iter()
                .enumerate()
                .filter(|&(j, _)| j != i)
                .map(|(_, w)| *w)
                .collect();
            moved.push(word);
            let fixed = with_suffix(&moved.join("_"), kind);
            NameError::new(
                        Rule::UnitNotSuffix,
                        format!(
                            "metric name `{name}` has its unit `{word}` in the middle: the unit is the last word{}, as in `{fixed}`",
                            if kind == MetricKind::Counter { " before `_total`" } else { "" }
                        ),
                    )
                    .with_fix(fixed)
        }
        UnitWord::Singular { base } if i + 1 == words.len() => {
            let fixed = rebuild(i, Some(base));
            NameError::new(
                        Rule::UnitNotBase,
                        format!(
                            "metric name `{name}` ends with the singular unit `{word}`: units are plural, use `{fixed}`"
                        ),
                    )
                    .with_fix(fixed)
        }
        // A singular unit word inside the name is usually not a unit (`second_attempt`).
        UnitWord::Base | UnitWord::Singular { .. } | UnitWord::NotAUnit => return None,
    };
    Some(error)
}

fn check_kind_suffix(name: &str, kind: MetricKind, errors: &mut Vec<NameError>) {
    match kind {
        MetricKind::Counter => {
            if !name.ends_with("_total") {
                let fixed = format!("{name}_total");
                errors.push(
                    NameError::new(
                        Rule::CounterSuffix,
                        format!("counter name `{name}` must end in `_total`: use `{fixed}`"),
                    )
                    .with_fix(fixed),
                );
            }
        }
        MetricKind::Gauge | MetricKind::Histogram | MetricKind::Info => {
            if let Some(suffix) = SAMPLE_SUFFIXES.iter().find(|s| name.ends_with(*s)) {
                let stripped = &name[..name.len() - suffix.len()];
                let hint = if *suffix == "_total" {
                    "declare it as a `Counter` if it only goes up, or rename it"
                } else {
                    "the exposition adds it to counter and histogram samples; rename it"
                };
                let fixed = if kind == MetricKind::Info {
                    format!("{stripped}_info")
                } else {
                    stripped.to_owned()
                };
                errors.push(
                    NameError::new(
                        Rule::ReservedSuffix,
                        format!(
                            "{} name `{name}` ends in `{suffix}`: {hint} (such as `{fixed}`)",
                            kind.as_str()
                        ),
                    )
                    .with_fix(fixed),
                );
                return;
            }
            let is_info = name.ends_with("_info");
            if kind == MetricKind::Info && !is_info {
                let fixed = format!("{name}_info");
                errors.push(
                    NameError::new(
                        Rule::InfoSuffix,
                        format!("info metric name `{name}` must end in `_info`: use `{fixed}`"),
                    )
                    .with_fix(fixed),
                );
            } else if kind != MetricKind::Info && is_info {
                let fixed = name.strip_suffix("_info").unwrap_or(name).to_owned();
                errors.push(
                    NameError::new(
                        Rule::InfoOnly,
                        format!(
                            "{} name `{name}` ends in `_info`, which marks info metrics: declare it as `Info`, or rename it to `{fixed}`",
                            kind.as_str()
                        ),
                    )
                    .with_fix(fixed),
                );
            }
        }
    }
}

fn check_unit(name: &str, kind: MetricKind, unit: &str, name_ok: bool) -> Result<(), NameError> {
    match classify(unit) {
        UnitWord::Base => {}
        UnitWord::NonBase { base, convert } => {
            return Err(NameError::new(
                Rule::UnitNotBase,
                format!(
                    "unit `{unit}` is not a base unit: use `{base}` and record values in it ({convert})"
                ),
            )
            .with_fix(base));
        }
        UnitWord::Abbreviation { base } | UnitWord::Singular { base } => {
            return Err(NameError::new(
                Rule::UnitNotBase,
                format!("unit `{unit}` is not a base unit: write `{base}`"),
            )
            .with_fix(base));
        }
        UnitWord::NotAUnit => {
            return Err(NameError::new(
                Rule::UnitUnknown,
                format!(
                    "`{unit}` is not a base unit: use one of {}; counts of things take no unit",
                    BASE_UNITS.join(", ")
                ),
            ));
        }
    }
    let stem = stem(name, kind);
    if name_ok
        && stem
            .strip_suffix(unit)
            .is_none_or(|rest| !rest.ends_with('_'))
    {
        let fixed = with_suffix(&format!("{stem}_{unit}"), kind);
        return Err(NameError::new(
            Rule::UnitNotSuffix,
            format!(
                "the name must end with its unit{}: rename `{name}` to `{fixed}`, or change the unit",
                if kind == MetricKind::Counter { " (before `_total`)" } else { "" }
            ),
        )
        .with_fix(fixed));
    }
    Ok(())
}
