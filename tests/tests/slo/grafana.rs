//! What Grafana would do with a dashboard, against a real Prometheus: resolve each
//! template variable (`label_values`, `query_result`, textboxes, the data source, an
//! optional `regex`), substitute them and Grafana's globals into every panel's queries,
//! and run the queries. Only the variable shapes these dashboards use are understood;
//! anything else fails the test rather than being guessed.

use serde_json::Value;

use flext_observability_tests::servers::{Prometheus, encode};

/// Grafana's `$__rate_interval` for a 1 s scrape interval (four scrape intervals) and a
/// short range.
pub(crate) const RATE_INTERVAL: &str = "5s";
/// The default dashboard range (`now-6h`).
pub(crate) const RANGE: &str = "6h";

/// One panel and whether its queries returned anything.
#[derive(Debug)]
pub(crate) struct PanelResult {
    pub(crate) title: String,
    pub(crate) queries: Vec<(String, usize)>,
    /// Variables the queries use that have no value: a query may still return series
    /// (`objective_name=""` matches every function without an objective, `or vector(0)`
    /// answers anything), but not for what the panel is about.
    pub(crate) unset: Vec<String>,
}

impl PanelResult {
    /// Series returned, with every variable the panel uses set.
    pub(crate) fn has_data(&self) -> bool {
        self.unset.is_empty() && self.queries.iter().any(|(_, n)| *n > 0)
    }
}

/// The selected values of one variable; several are substituted as `(a|b)`, "All" as
/// the variable's `allValue` when it has one.
struct Variable {
    name: String,
    values: Vec<String>,
    all: bool,
    all_value: Option<String>,
}

/// What Grafana selects on load: "All" when the variable offers it and nothing else is
/// chosen, the saved choice when it is among the options, else the first option (none
/// when there are no options).
fn select(v: &Value, options: Vec<String>) -> (Vec<String>, bool) {
    let current: Vec<String> = match &v["current"]["value"] {
        Value::String(s) => vec![s.clone()],
        Value::Array(a) => a
            .iter()
            .filter_map(|x| x.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    };
    let include_all = v["includeAll"].as_bool().unwrap_or(false);
    if include_all && (current.is_empty() || current == ["$__all"]) {
        return (options, true);
    }
    if !current.is_empty() && current.iter().all(|c| options.contains(c)) {
        return (current, false);
    }
    (options.into_iter().take(1).collect(), false)
}

fn label_values(prom: &Prometheus, selector: &str, label: &str) -> Vec<String> {
    let url = format!(
        "{}/api/v1/label/{label}/values?match[]={}",
        prom.base_url(),
        encode(selector)
    );
    let body = flext_observability_tests::http::get(&url)
        .expect("label values")
        .body;
    let json: Value = serde_json::from_str(&body).expect("label values JSON");
    assert_eq!(
        json["status"], "success",
        "label_values({selector}, {label}): {json}"
    );
    json["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect()
}

/// Grafana's `query_result` text of each series: `name{k="v", …} value timestamp`.
fn query_result(prom: &Prometheus, expr: &str) -> Vec<String> {
    prom.query(expr)
        .iter()
        .map(|r| {
            let metric = r["metric"].as_object().unwrap();
            let name = metric.get("__name__").and_then(Value::as_str).unwrap_or("");
            let labels: Vec<String> = metric
                .iter()
                .filter(|(k, _)| *k != "__name__")
                .map(|(k, v)| format!("{k}=\"{}\"", v.as_str().unwrap()))
                .collect();
            format!(
                "{name}{{{}}} {} {}",
                labels.join(", "),
                r["value"][1],
                r["value"][0]
            )
        })
        .collect()
}

/// A Grafana variable regex, `/label="(\w+)"/` the only shape understood: the capture
/// of each text that matches.
fn apply_regex(regex: &str, texts: Vec<String>) -> Vec<String> {
    if regex.is_empty() {
        return texts;
    }
    let inner = regex
        .strip_prefix('/')
        .and_then(|r| r.strip_suffix('/'))
        .unwrap_or_else(|| panic!("unsupported variable regex {regex}"));
    let (prefix, rest) = inner
        .split_once(r"(\w+)")
        .unwrap_or_else(|| panic!("unsupported variable regex {regex}"));
    assert!(
        prefix
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '=' || c == '"')
            && rest == "\"",
        "unsupported variable regex {regex}"
    );
    let mut out = Vec::new();
    for text in texts {
        let mut at = 0;
        while let Some(i) = text[at..].find(prefix) {
            let start = at + i + prefix.len();
            let word: String = text[start..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !word.is_empty() && text[start + word.len()..].starts_with('"') {
                if !out.contains(&word) {
                    out.push(word);
                }
                break;
            }
            at = start;
        }
    }
    out
}

/// Replaces `$name`, `${name}` and Grafana's globals in `text`.
fn substitute(text: &str, vars: &[Variable]) -> String {
    let mut out = text
        .replace("$__rate_interval", RATE_INTERVAL)
        .replace("$__range", RANGE)
        .replace("$__interval", RATE_INTERVAL);
    // Longest names first: `$latency_objective_percentile` before `$latency_objective`.
    let mut sorted: Vec<&Variable> = vars.iter().collect();
    sorted.sort_by_key(|v| std::cmp::Reverse(v.name.len()));
    for v in sorted {
        let value = match (&v.all_value, v.all, v.values.as_slice()) {
            (Some(all), true, _) => all.clone(),
            (_, _, [one]) => one.clone(),
            (_, _, []) => String::new(),
            (_, _, many) => format!("({})", many.join("|")),
        };
        out = out
            .replace(&format!("${{{}}}", v.name), &value)
            .replace(&format!("${}", v.name), &value);
    }
    out
}

fn variable_query(v: &Value) -> String {
    match &v["query"] {
        Value::String(s) => s.clone(),
        Value::Object(o) => o["query"].as_str().unwrap_or_default().to_owned(),
        _ => String::new(),
    }
}

/// `label_values(selector, label)`'s two arguments.
fn split_label_values(q: &str) -> (String, String) {
    let inner = q
        .trim()
        .strip_prefix("label_values(")
        .and_then(|r| r.strip_suffix(')'))
        .unwrap_or_else(|| panic!("not label_values: {q}"));
    let (selector, label) = inner
        .rsplit_once(',')
        .expect("label_values(selector, label)");
    (selector.trim().to_owned(), label.trim().to_owned())
}

/// Resolves every variable of `dashboard`, each after the variables its query names
/// (Grafana's order, whatever the list's), replacing a variable's query when `fixes`
/// names it.
fn variables(prom: &Prometheus, dashboard: &Value, fixes: &[(&str, &str)]) -> Vec<Variable> {
    let list: Vec<&Value> = dashboard["templating"]["list"]
        .as_array()
        .into_iter()
        .flatten()
        .collect();
    let names: Vec<String> = list
        .iter()
        .map(|v| v["name"].as_str().unwrap().to_owned())
        .collect();
    let query_of = |v: &Value, name: &str| {
        fixes
            .iter()
            .find(|(n, _)| *n == name)
            .map_or_else(|| variable_query(v), |(_, q)| (*q).to_owned())
    };
    let mut vars: Vec<Variable> = Vec::new();
    while vars.len() < list.len() {
        let before = vars.len();
        for (v, name) in list.iter().zip(&names) {
            let q = query_of(v, name);
            let resolved = |n: &String| vars.iter().any(|r| &r.name == n);
            let waits = names.iter().any(|n| {
                n != name
                    && !resolved(n)
                    && (q.contains(&format!("${n}")) || q.contains(&format!("${{{n}}}")))
            });
            if resolved(name) || waits {
                continue;
            }
            let options = resolve(prom, v, name, &q, &vars);
            let (values, all) = select(v, options);
            vars.push(Variable {
                name: name.clone(),
                values,
                all,
                all_value: v["allValue"]
                    .as_str()
                    .filter(|a| !a.is_empty())
                    .map(str::to_owned),
            });
        }
        assert!(
            vars.len() > before,
            "variables depend on each other in a cycle: {names:?}"
        );
    }
    vars
}

/// The options of one variable.
fn resolve(
    prom: &Prometheus,
    v: &Value,
    name: &str,
    query: &str,
    vars: &[Variable],
) -> Vec<String> {
    match v["type"].as_str().unwrap_or("query") {
        "datasource" => vec!["prometheus".to_owned()],
        "textbox" | "constant" | "custom" => vec![query.to_owned()],
        "query" => {
            let q = substitute(query, vars);
            let texts = if q.trim().starts_with("label_values(") {
                let (selector, label) = split_label_values(&q);
                label_values(prom, &selector, &label)
            } else if let Some(expr) = q.trim().strip_prefix("query_result(") {
                query_result(prom, expr.strip_suffix(')').unwrap())
            } else {
                panic!("variable {name}: unsupported query {q}");
            };
            apply_regex(v["regex"].as_str().unwrap_or(""), texts)
        }
        other => panic!("variable {name}: unsupported type {other}"),
    }
}

/// Every panel with queries (rows included when they hold some), and how many series
/// each query returned.
pub(crate) fn run(
    prom: &Prometheus,
    dashboard: &Value,
    fixes: &[(&str, &str)],
) -> Vec<PanelResult> {
    let vars = variables(prom, dashboard, fixes);
    let mut panels: Vec<&Value> = Vec::new();
    for p in dashboard["panels"].as_array().unwrap() {
        panels.push(p);
        panels.extend(p["panels"].as_array().into_iter().flatten());
    }
    let exprs = |p: &Value| -> Vec<String> {
        p["targets"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|t| t["expr"].as_str())
            .filter(|e| !e.trim().is_empty())
            .map(str::to_owned)
            .collect()
    };
    panels
        .into_iter()
        .filter(|p| !exprs(p).is_empty())
        .map(|p| {
            let range = p["timeFrom"].as_str().unwrap_or(RANGE);
            let queries = exprs(p)
                .iter()
                .map(|expr| {
                    let expr = substitute(&expr.replace("$__range", range), &vars);
                    let n = prom.query(&expr).len();
                    (expr, n)
                })
                .collect();
            let used = exprs(p).join("\n");
            let unset = vars
                .iter()
                .filter(|v| v.values.is_empty())
                .filter(|v| {
                    used.contains(&format!("${}", v.name))
                        || used.contains(&format!("${{{}}}", v.name))
                })
                .map(|v| v.name.clone())
                .collect();
            PanelResult {
                title: p["title"].as_str().unwrap_or("").to_owned(),
                queries,
                unset,
            }
        })
        .collect()
}

#[test]
fn regex_shape() {
    let texts = vec![
        r#"{function="charge_card", module="m"} 3 1"#.to_owned(),
        r#"{function="Checkout::place", module="m"} 3 1"#.to_owned(),
    ];
    assert_eq!(apply_regex(r#"/function="(\w+)"/"#, texts), ["charge_card"]);
}
