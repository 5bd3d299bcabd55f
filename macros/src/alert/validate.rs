//! Every rule of `alert(..)`, each error on the token that breaks it.

use syn::{Expr, Ident, Lit, LitStr};

use super::values::{alert_name, default_name, duration, number, quantile, string, template};
use super::{Alert, Condition, Item, Op, Spec};
use crate::errors::{Errors, did_you_mean};

/// What the alerts of one declaration watch.
pub(crate) enum Subject<'a> {
    /// A monitored function and its `function` label; the largest bound of its
    /// histogram when known (a latency above it could never be measured).
    Function {
        label: &'a str,
        largest_bound: Option<f64>,
    },
    /// A declared gauge or counter: its sample name and labels.
    Metric {
        name: &'a str,
        counter: bool,
        labels: &'a [String],
    },
    /// A declared histogram or info metric: no alert applies.
    Other { kind: &'a str },
}

const FUNCTION_KEYS: &[&str] = &[
    "name",
    "over",
    "for",
    "severity",
    "summary",
    "description",
    "runbook",
    "labels",
];
const METRIC_KEYS: &[&str] = &[
    "name",
    "below",
    "above",
    "over",
    "for",
    "severity",
    "summary",
    "description",
    "runbook",
    "labels",
];
const MEASURES: &str = "`error_rate > 0.05`, `errors > 0` or `latency_p99 > \"500ms\"`";
/// The longest window and `for`: the error-budget period of the objectives.
pub(super) const MAX_SECONDS: f64 = 30.0 * 86_400.0;
/// The window when `over` is not given (5 minutes).
const DEFAULT_OVER: f64 = 300.0;
/// `for` when not given (1 minute).
const DEFAULT_FOR: f64 = 60.0;
/// Labels every alert gets from the runtime.
const RESERVED: &[&str] = &["alertname", "severity", "service_name", "instance", "job"];

/// Checks every `alert(..)` of one declaration; the alerts that passed, in order.
pub(crate) fn check(specs: &[Spec], subject: &Subject<'_>, errors: &mut Errors) -> Vec<Alert> {
    let mut out: Vec<Alert> = Vec::new();
    let mut names: Vec<String> = Vec::new();
    for spec in specs {
        if let Subject::Other { kind } = subject {
            errors.error_span(
                spec.span,
                format!(
                    "`alert(..)` applies to counters and gauges, and this is a {kind}: for durations, put `#[monitor(alert(latency_p99 > \"500ms\"))]` on the function"
                ),
            );
            continue;
        }
        let before = errors.len();
        let mut one = One::new(spec, subject);
        for item in &spec.items {
            one.item(item, errors);
        }
        // Once an entry is wrong, "no condition" would only repeat it.
        let clean = errors.len() == before;
        if let Some(alert) = one.finish(clean, errors)
            && errors.len() == before
        {
            if names.contains(&alert.name) {
                let at = one.name.as_ref().map_or(spec.span, LitStr::span);
                errors.error_span(
                    at,
                    format!(
                        "two alerts here are named `{}`: give each its own `name = \"…\"`",
                        alert.name
                    ),
                );
                continue;
            }
            names.push(alert.name.clone());
            out.push(alert);
        }
    }
    out
}

/// One alert being checked: what each entry set, with its token.
struct One<'a> {
    spec: &'a Spec,
    subject: &'a Subject<'a>,
    seen: Vec<String>,
    name: Option<LitStr>,
    condition: Option<Condition>,
    over: Option<f64>,
    hold: Option<f64>,
    severity: Option<&'static str>,
    summary: String,
    description: String,
    runbook_url: String,
    labels: Vec<(String, String)>,
}

impl<'a> One<'a> {
    fn new(spec: &'a Spec, subject: &'a Subject<'a>) -> Self {
        One {
            spec,
            subject,
            seen: Vec::new(),
            name: None,
            condition: None,
            over: None,
            hold: None,
            severity: None,
            summary: String::new(),
            description: String::new(),
            runbook_url: String::new(),
            labels: Vec::new(),
        }
    }

    fn is_function(&self) -> bool {
        matches!(self.subject, Subject::Function { .. })
    }

    /// Records `key` as given; an error (on `key`) when it was given already.
    fn first(&mut self, key: &Ident, errors: &mut Errors) -> bool {
        let k = key.to_string();
        // `below` and `above` are one setting: the condition of a metric's alert.
        let slot = if k == "above" {
            "below".to_owned()
        } else {
            k.clone()
        };
        if self.seen.contains(&slot) {
            let message = if slot == "below" {
                "one condition per alert: keep `below` or `above`, and add another `alert(..)` for the other".to_owned()
            } else {
                format!("duplicate `{k}` in this alert")
            };
            errors.error_at(key, message);
            return false;
        }
        self.seen.push(slot);
        true
    }

    fn item(&mut self, item: &Item, errors: &mut Errors) {
        match item {
            Item::Pair { key, value } => self.pair(key, value, errors),
            Item::Labels { key, pairs } => {
                if key != "labels" {
                    errors.error_at(
                        key,
                        format!("unknown `alert` setting `{key}(..)`: labels of the alert's own go in `labels(team = \"…\")`"),
                    );
                } else if self.first(key, errors) {
                    self.labels(pairs, errors);
                }
            }
            Item::Condition {
                measure,
                op,
                op_tokens,
                value,
            } => self.condition(measure, *op, op_tokens, value, errors),
            Item::Bare(word) => {
                let hint = if ["page", "ticket", "info"].contains(&word.to_string().as_str()) {
                    format!("write `severity = \"{word}\"`")
                } else if self.is_function() {
                    format!("an alert needs a condition such as {MEASURES}")
                } else {
                    "write `below = 0.95` or `above = …`".to_owned()
                };
                errors.error_at(word, format!("`{word}` alone means nothing here: {hint}"));
            }
        }
    }

    fn pair(&mut self, key: &Ident, value: &Expr, errors: &mut Errors) {
        let k = key.to_string();
        let keys = if self.is_function() {
            FUNCTION_KEYS
        } else {
            METRIC_KEYS
        };
        if !keys.contains(&k.as_str()) {
            let message = if self.is_function() && (k == "below" || k == "above") {
                format!(
                    "`{k}` applies to `#[business_metric]` gauges and counters; on a monitored function the condition is {MEASURES}"
                )
            } else {
                let hint = did_you_mean(&k, keys)
                    .map(|s| format!("did you mean `{s}`? "))
                    .unwrap_or_default();
                format!(
                    "unknown `alert` setting `{k}`: {hint}expected {}",
                    keys.iter()
                        .map(|k| format!("`{k}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            };
            errors.error_at(key, message);
            return;
        }
        if !self.first(key, errors) {
            return;
        }
        match k.as_str() {
            "name" => {
                if let Some(lit) = string(value, "`name`", errors) {
                    if let Err(message) = alert_name(&lit.value()) {
                        errors.error_at(&lit, message);
                    } else {
                        self.name = Some(lit);
                    }
                }
            }
            "below" | "above" => self.level(key, value, errors),
            "over" => {
                if let Subject::Metric { counter: false, .. } = self.subject {
                    errors.error_at(
                        key,
                        "a gauge is compared as it is: `over` applies to counters (their increase over the window); use `for` to require the level to last",
                    );
                } else if let Some(secs) = duration(value, "`over`", 1.0, errors) {
                    self.over = Some(secs);
                }
            }
            "for" => self.hold = duration(value, "`for`", 0.0, errors),
            "severity" => {
                if let Some(lit) = string(value, "`severity`", errors) {
                    match lit.value().as_str() {
                        "page" => self.severity = Some("Page"),
                        "ticket" => self.severity = Some("Ticket"),
                        "info" => self.severity = Some("Info"),
                        other => errors.error_at(
                            &lit,
                            format!("unknown severity `{other}`: use \"page\" (act now), \"ticket\" (act within working hours) or \"info\""),
                        ),
                    }
                }
            }
            "summary" | "description" => {
                if let Some(lit) = string(value, &format!("`{k}`"), errors) {
                    let text = lit.value();
                    if let Err(message) = template(&text) {
                        errors.error_at(&lit, message);
                    } else if k == "summary" {
                        self.summary = text;
                    } else {
                        self.description = text;
                    }
                }
            }
            _ => {
                if let Some(lit) = string(value, "`runbook`", errors) {
                    let url = lit.value();
                    let ok = (url.starts_with("https://") || url.starts_with("http://"))
                        && url.len() > "https://".len()
                        && !url.contains(char::is_whitespace);
                    if ok {
                        self.runbook_url = url;
                    } else {
                        errors.error_at(
                            &lit,
                            "`runbook` is the URL of the runbook, such as \"https://wiki.example.com/runbooks/payments\"",
                        );
                    }
                }
            }
        }
    }

    fn level(&mut self, key: &Ident, value: &Expr, errors: &mut Errors) {
        let Some(level) = number(value) else {
            errors.error_at(
                value,
                format!("`{key}` takes a number, such as `{key} = 0.95`"),
            );
            return;
        };
        if let Subject::Metric { counter: true, .. } = self.subject
            && (level < 0.0 || (key == "below" && level == 0.0))
        {
            errors.error_at(
                value,
                "a counter's increase is never negative, so this alert could never fire: give a positive level",
            );
            return;
        }
        self.condition = Some(if key == "below" {
            Condition::Below(level)
        } else {
            Condition::Above(level)
        });
    }

    fn condition(
        &mut self,
        measure: &Ident,
        op: Op,
        op_tokens: &proc_macro2::TokenStream,
        value: &Expr,
        errors: &mut Errors,
    ) {
        let name = measure.to_string();
        if !self.is_function() {
            errors.error_at(
                measure,
                format!(
                    "on a business metric the condition is `below = …` or `above = …` (`{name} {} …` is for `#[monitor]`)",
                    op.as_str()
                ),
            );
            return;
        }
        if self.seen.iter().any(|s| s == "condition") {
            errors.error_at(
                measure,
                "one condition per alert: add another `alert(..)` for this one",
            );
            return;
        }
        self.seen.push("condition".to_owned());
        let quantile = name.strip_prefix("latency_").map(quantile);
        if name != "error_rate" && name != "errors" && quantile.is_none() {
            let hint = did_you_mean(&name, &["error_rate", "errors", "latency_p99"])
                .map(|s| format!("did you mean `{s}`? "))
                .unwrap_or_default();
            errors.error_at(
                measure,
                format!("unknown measure `{name}`: {hint}use {MEASURES}"),
            );
            return;
        }
        if op != Op::Above {
            errors.error_at(
                op_tokens,
                format!(
                    "`{name}` alerts fire above a level, compared strictly as in the generated rules: write `{name} > …`"
                ),
            );
            return;
        }
        match (name.as_str(), quantile) {
            ("error_rate", _) => match number(value) {
                Some(r) if (0.0..1.0).contains(&r) => {
                    self.condition = Some(Condition::ErrorRateAbove(r));
                }
                Some(_) => errors.error_at(
                    value,
                    "`error_rate` is a share of calls, from 0 to 1 (`0.05` for 5 %), and fires strictly above it: give a level from 0 to below 1",
                ),
                None => errors.error_at(
                    value,
                    "`error_rate` compares with a number from 0 to 1, such as `error_rate > 0.05` (5 %)",
                ),
            },
            ("errors", _) => match value {
                Expr::Lit(syn::ExprLit {
                    lit: Lit::Int(int), ..
                }) => match int.base10_parse::<u64>() {
                    Ok(n) => self.condition = Some(Condition::ErrorsAbove(n)),
                    Err(e) => errors.error_at(int, format!("invalid count: {e}")),
                },
                other => errors.error_at(
                    other,
                    "`errors` compares with a whole number of failed calls in the window, such as `errors > 0`",
                ),
            },
            (_, Some(Err(message))) => errors.error_at(measure, message),
            (_, Some(Ok(q))) => {
                if let Some(secs) = duration(value, "a latency threshold", 0.0, errors) {
                    let largest = match self.subject {
                        Subject::Function { largest_bound, .. } => *largest_bound,
                        _ => None,
                    };
                    if secs <= 0.0 {
                        errors.error_at(value, "a latency threshold must be above zero");
                    } else if let Some(largest) = largest.filter(|&l| secs >= l) {
                        errors.error_at(
                            value,
                            format!("the duration histogram ends at {largest} s, so a quantile above it is never measured and this alert could never fire: lower the threshold, or add larger `buckets = [..]`"),
                        );
                    } else {
                        self.condition = Some(Condition::LatencyAbove {
                            quantile: q,
                            seconds: secs,
                        });
                    }
                }
            }
            _ => {}
        }
    }

    fn labels(&mut self, pairs: &[(Ident, Expr)], errors: &mut Errors) {
        let own: &[String] = match self.subject {
            Subject::Metric { labels, .. } => labels,
            _ => &[],
        };
        for (name, value) in pairs {
            let n = syn::ext::IdentExt::unraw(name).to_string();
            if let Err(e) = flext_observability_naming::validate_label_name(&n) {
                errors.error_at(name, e);
                continue;
            }
            let taken = RESERVED.contains(&n.as_str())
                || (self.is_function() && (n == "function" || n == "module"));
            if taken {
                errors.error_at(
                    name,
                    format!(
                        "label `{n}` is set on every alert by the runtime: choose another name"
                    ),
                );
                continue;
            }
            if own.contains(&n) {
                errors.error_at(
                    name,
                    format!("label `{n}` comes from the metric's series: choose another name"),
                );
                continue;
            }
            if self.labels.iter().any(|(k, _)| *k == n) {
                errors.error_at(name, format!("duplicate label `{n}`"));
                continue;
            }
            if let Some(lit) = string(value, &format!("label `{n}`"), errors) {
                if lit.value().is_empty() {
                    errors.error_at(
                        &lit,
                        "an empty value is no label: remove it or give a value",
                    );
                } else {
                    self.labels.push((n, lit.value()));
                }
            }
        }
    }

    fn finish(&self, clean: bool, errors: &mut Errors) -> Option<Alert> {
        let Some(condition) = self.condition else {
            if clean {
                let what = if self.is_function() {
                    format!("a condition, such as {MEASURES}")
                } else {
                    "`below = …` or `above = …`".to_owned()
                };
                errors.error_span(
                    self.spec.span,
                    format!("this alert has no condition: add {what}"),
                );
            }
            return None;
        };
        let over = match self.subject {
            Subject::Metric { counter: false, .. } => 0.0,
            _ => self.over.unwrap_or(DEFAULT_OVER),
        };
        let name = match &self.name {
            Some(lit) => lit.value(),
            None => default_name(self.subject, condition),
        };
        Some(Alert {
            name,
            condition,
            over,
            hold: self.hold.unwrap_or(DEFAULT_FOR),
            severity: self.severity.unwrap_or("Ticket"),
            summary: self.summary.clone(),
            description: self.description.clone(),
            runbook_url: self.runbook_url.clone(),
            labels: self.labels.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::values::upper_camel;
    use super::*;

    #[test]
    fn quantiles() {
        assert_eq!(quantile("p99"), Ok(0.99));
        assert_eq!(quantile("p50"), Ok(0.5));
        assert_eq!(quantile("p999"), Ok(0.999));
        assert_eq!(quantile("p9999"), Ok(0.9999));
        assert!(quantile("p9").is_err());
        assert!(quantile("p00").is_err());
        assert!(quantile("p123").is_err());
        assert!(quantile("max").is_err());
    }

    #[test]
    fn names() {
        assert_eq!(upper_camel("charge_card"), "ChargeCard");
        assert_eq!(upper_camel("<Repo as Store>::load"), "RepoStoreLoad");
        assert_eq!(upper_camel("GET /orders"), "GETOrders");
        assert_eq!(upper_camel("9lives"), "Alert9lives");
        assert!(alert_name("LowDataQuality").is_ok());
        assert!(
            alert_name("low-quality")
                .unwrap_err()
                .contains("`LowQuality`")
        );
        assert!(alert_name("__x").is_err());
        let latency = Condition::LatencyAbove {
            quantile: 0.999,
            seconds: 1.0,
        };
        assert_eq!(
            default_name(
                &Subject::Function {
                    label: "slow_api",
                    largest_bound: None
                },
                latency
            ),
            "SlowApiLatencyP999"
        );
        let counter = Subject::Metric {
            name: "etl_rows_written_total",
            counter: true,
            labels: &[],
        };
        assert_eq!(
            default_name(&counter, Condition::Below(1.0)),
            "EtlRowsWrittenLow"
        );
    }

    #[test]
    fn templates() {
        assert!(template("p99 is {{ $value }} on {{$labels.instance}}").is_ok());
        assert!(template("{{ $value | humanize }}").is_err());
        assert!(template("{{ $value").is_err());
        assert!(template("no templates").is_ok());
    }
}
