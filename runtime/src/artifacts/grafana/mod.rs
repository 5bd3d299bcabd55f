//! Grafana dashboards (JSON model, `schemaVersion` 39: every Grafana 11 release loads it
//! and migrates it forward), built from the catalogue.
//!
//! Every dashboard has three variables: `datasource` (a Prometheus data source, so the
//! file works when provisioned from disk as well as when imported), `service` and
//! `instance` (both multi-valued, "All" by default, read from `build_info`). Panels sum
//! over the selected instances of the selected services; every `rate()` uses
//! `$__rate_interval`.

mod business;
mod health;
mod http;
mod overview;
mod slo;

pub(crate) use business::business;
pub(crate) use health::health;
pub(crate) use http::{grpc, http};
pub(crate) use overview::overview;
pub(crate) use slo::slo;

use super::text::Json;

/// The matchers every raw-series panel adds.
pub(crate) const SCOPE: &str = r#",service_name=~"$service",instance=~"$instance""#;
/// The same for series without `service_name` (joined from `build_info`).
pub(crate) const INSTANCE: &str = r#"instance=~"$instance""#;

/// A generated dashboard: where it goes and what it holds.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Board {
    pub(crate) file_name: String,
    pub(crate) uid: String,
    pub(crate) title: String,
    description: String,
    tags: Vec<String>,
    service: Option<String>,
    panels: Vec<Json>,
    next_id: u32,
    x: u32,
    y: u32,
    line_height: u32,
}

impl Board {
    pub(crate) fn new(file_name: &str, uid: String, title: String, description: &str) -> Board {
        Board {
            file_name: file_name.to_owned(),
            uid,
            title,
            description: description.to_owned(),
            tags: vec!["flext-observability".to_owned()],
            service: None,
            panels: Vec::new(),
            next_id: 1,
            x: 0,
            y: 0,
            line_height: 0,
        }
    }

    /// Preselects `service` in the `service` variable.
    pub(crate) fn service(mut self, service: Option<&str>) -> Board {
        self.service = service.map(str::to_owned);
        self
    }

    pub(crate) fn tag(mut self, tag: &str) -> Board {
        self.tags.push(tag.to_owned());
        self
    }

    /// A full-width row header.
    pub(crate) fn row(&mut self, title: &str) {
        self.newline();
        let id = self.id();
        self.panels.push(Json::obj([
            ("id", Json::from(id)),
            ("type", Json::from("row")),
            ("title", Json::from(title)),
            ("collapsed", Json::from(false)),
            ("gridPos", grid(24, 1, 0, self.y)),
            ("panels", Json::Arr(Vec::new())),
        ]));
        self.y += 1;
    }

    /// Places `panel` after the previous one, on a new line when it does not fit.
    pub(crate) fn add(&mut self, panel: Panel) {
        if self.x + panel.width > 24 {
            self.newline();
        }
        let id = self.id();
        let (width, height) = (panel.width, panel.height);
        let json = panel.into_json(id, grid(width, height, self.x, self.y));
        self.x += width;
        self.line_height = self.line_height.max(height);
        self.panels.push(json);
    }

    fn newline(&mut self) {
        self.y += self.line_height;
        self.x = 0;
        self.line_height = 0;
    }

    fn id(&mut self) -> u32 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    pub(crate) fn to_json(&self) -> Json {
        Json::obj([
            ("uid", Json::from(self.uid.as_str())),
            ("title", Json::from(self.title.as_str())),
            ("description", Json::from(self.description.as_str())),
            (
                "tags",
                Json::Arr(self.tags.iter().map(|t| Json::from(t.as_str())).collect()),
            ),
            ("timezone", Json::from("browser")),
            ("editable", Json::from(true)),
            ("graphTooltip", Json::from(1)),
            (
                "time",
                Json::obj([("from", Json::from("now-6h")), ("to", Json::from("now"))]),
            ),
            ("refresh", Json::from("1m")),
            ("schemaVersion", Json::from(39)),
            ("version", Json::from(1)),
            ("links", Json::Arr(Vec::new())),
            ("annotations", Json::obj([("list", Json::Arr(Vec::new()))])),
            (
                "templating",
                Json::obj([("list", Json::Arr(self.variables()))]),
            ),
            ("panels", Json::Arr(self.panels.clone())),
        ])
    }

    fn variables(&self) -> Vec<Json> {
        let all = Json::obj([
            ("selected", Json::from(true)),
            ("text", Json::Arr(vec![Json::from("All")])),
            ("value", Json::Arr(vec![Json::from("$__all")])),
        ]);
        let service_current = match &self.service {
            Some(s) => Json::obj([
                ("selected", Json::from(true)),
                ("text", Json::Arr(vec![Json::from(s.as_str())])),
                ("value", Json::Arr(vec![Json::from(s.as_str())])),
            ]),
            None => all.clone(),
        };
        vec![
            Json::obj([
                ("type", Json::from("datasource")),
                ("name", Json::from("datasource")),
                ("label", Json::from("Data source")),
                ("query", Json::from("prometheus")),
                ("current", Json::Obj(Vec::new())),
                ("hide", Json::from(0)),
                ("refresh", Json::from(1)),
                ("regex", Json::from("")),
                ("options", Json::Arr(Vec::new())),
            ]),
            query_variable(
                "service",
                "Service",
                "label_values(build_info, service_name)",
                service_current,
            ),
            query_variable(
                "instance",
                "Instance",
                r#"label_values(build_info{service_name=~"$service"}, instance)"#,
                all,
            ),
        ]
    }
}

fn query_variable(name: &str, label: &str, query: &str, current: Json) -> Json {
    Json::obj([
        ("type", Json::from("query")),
        ("name", Json::from(name)),
        ("label", Json::from(label)),
        ("datasource", datasource()),
        (
            "query",
            Json::obj([
                ("qryType", Json::from(1)),
                ("query", Json::from(query)),
                (
                    "refId",
                    Json::from("PrometheusVariableQueryEditor-VariableQuery"),
                ),
            ]),
        ),
        ("definition", Json::from(query)),
        ("refresh", Json::from(2)),
        ("multi", Json::from(true)),
        ("includeAll", Json::from(true)),
        ("allValue", Json::from(".*")),
        ("sort", Json::from(1)),
        ("regex", Json::from("")),
        ("hide", Json::from(0)),
        ("current", current),
        ("options", Json::Arr(Vec::new())),
    ])
}

fn datasource() -> Json {
    Json::obj([
        ("type", Json::from("prometheus")),
        ("uid", Json::from("${datasource}")),
    ])
}

fn grid(w: u32, h: u32, x: u32, y: u32) -> Json {
    Json::obj([
        ("h", Json::from(h)),
        ("w", Json::from(w)),
        ("x", Json::from(x)),
        ("y", Json::from(y)),
    ])
}

/// One query of a panel.
#[derive(Clone, Debug, PartialEq)]
struct Query {
    expr: String,
    legend: String,
}

/// One panel: a time series, a stat or a table.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Panel {
    kind: &'static str,
    title: String,
    description: String,
    unit: &'static str,
    width: u32,
    height: u32,
    queries: Vec<Query>,
    range: (Option<f64>, Option<f64>),
    /// A line (time series) or color change (stat) at this value, e.g. an objective.
    threshold: Option<f64>,
}

impl Panel {
    fn new(kind: &'static str, title: &str, unit: &'static str) -> Panel {
        Panel {
            kind,
            title: title.to_owned(),
            description: String::new(),
            unit,
            width: 12,
            height: 8,
            queries: Vec::new(),
            range: (None, None),
            threshold: None,
        }
    }

    pub(crate) fn timeseries(title: &str, unit: &'static str) -> Panel {
        Panel::new("timeseries", title, unit)
    }

    pub(crate) fn stat(title: &str, unit: &'static str) -> Panel {
        let mut p = Panel::new("stat", title, unit);
        p.width = 6;
        p.height = 5;
        p
    }

    /// Current values as a table (instant queries).
    pub(crate) fn table(title: &str, unit: &'static str) -> Panel {
        let mut p = Panel::new("table", title, unit);
        p.width = 24;
        p
    }

    pub(crate) fn query(mut self, expr: impl Into<String>, legend: &str) -> Panel {
        self.queries.push(Query {
            expr: expr.into(),
            legend: legend.to_owned(),
        });
        self
    }

    pub(crate) fn describe(mut self, text: &str) -> Panel {
        text.clone_into(&mut self.description);
        self
    }

    pub(crate) fn width(mut self, width: u32) -> Panel {
        self.width = width;
        self
    }

    pub(crate) fn range(mut self, min: Option<f64>, max: Option<f64>) -> Panel {
        self.range = (min, max);
        self
    }

    pub(crate) fn threshold(mut self, value: f64) -> Panel {
        self.threshold = Some(value);
        self
    }

    fn into_json(self, id: u32, grid_pos: Json) -> Json {
        let table = self.kind == "table";
        let mut panel = Json::obj([
            ("id", Json::from(id)),
            ("type", Json::from(self.kind)),
            ("title", Json::from(self.title.as_str())),
            ("description", Json::from(self.description.as_str())),
            ("datasource", datasource()),
            ("gridPos", grid_pos),
            (
                "fieldConfig",
                Json::obj([
                    ("defaults", self.field_defaults()),
                    ("overrides", Json::Arr(Vec::new())),
                ]),
            ),
            ("options", self.options()),
            ("targets", Json::Arr(self.targets())),
        ]);
        if table {
            panel.set(
                "transformations",
                Json::Arr(vec![Json::obj([
                    ("id", Json::from("merge")),
                    ("options", Json::Obj(Vec::new())),
                ])]),
            );
        }
        panel
    }

    /// Range queries, or instant ones in table format for a table.
    fn targets(&self) -> Vec<Json> {
        let table = self.kind == "table";
        self.queries
            .iter()
            .zip('A'..='Z')
            .map(|(q, ref_id)| {
                let mut t = Json::obj([
                    ("refId", Json::from(ref_id.to_string())),
                    ("datasource", datasource()),
                    ("editorMode", Json::from("code")),
                    ("expr", Json::from(q.expr.as_str())),
                    ("legendFormat", Json::from(q.legend.as_str())),
                ]);
                if table {
                    t.set("instant", Json::from(true));
                    t.set("range", Json::from(false));
                    t.set("format", Json::from("table"));
                } else {
                    t.set("range", Json::from(true));
                }
                t
            })
            .collect()
    }

    /// Unit, range, and the threshold as a color step (and a dashed line on a time
    /// series).
    fn field_defaults(&self) -> Json {
        let mut defaults = Json::obj([("unit", Json::from(self.unit))]);
        if let Some(min) = self.range.0 {
            defaults.set("min", Json::from(min));
        }
        if let Some(max) = self.range.1 {
            defaults.set("max", Json::from(max));
        }
        let mut steps = vec![Json::obj([
            ("color", Json::from("green")),
            ("value", Json::Null),
        ])];
        if let Some(t) = self.threshold {
            steps.push(Json::obj([
                ("color", Json::from("red")),
                ("value", Json::from(t)),
            ]));
        }
        defaults.set(
            "thresholds",
            Json::obj([
                ("mode", Json::from("absolute")),
                ("steps", Json::Arr(steps)),
            ]),
        );
        if self.kind == "timeseries" && self.threshold.is_some() {
            defaults.set(
                "custom",
                Json::obj([(
                    "thresholdsStyle",
                    Json::obj([("mode", Json::from("dashed"))]),
                )]),
            );
        }
        defaults
    }

    fn options(&self) -> Json {
        match self.kind {
            "stat" => Json::obj([
                (
                    "reduceOptions",
                    Json::obj([
                        ("calcs", Json::Arr(vec![Json::from("lastNotNull")])),
                        ("fields", Json::from("")),
                        ("values", Json::from(false)),
                    ]),
                ),
                ("colorMode", Json::from("value")),
                ("graphMode", Json::from("area")),
                ("textMode", Json::from("auto")),
            ]),
            "table" => Json::obj([("showHeader", Json::from(true))]),
            _ => Json::obj([
                (
                    "legend",
                    Json::obj([
                        ("displayMode", Json::from("list")),
                        ("placement", Json::from("bottom")),
                        ("showLegend", Json::from(true)),
                    ]),
                ),
                (
                    "tooltip",
                    Json::obj([("mode", Json::from("multi")), ("sort", Json::from("desc"))]),
                ),
            ]),
        }
    }
}

/// A dashboard uid (at most 40 characters): `prefix-slug`, the slug cut and suffixed with
/// a hash of the whole when too long.
pub(crate) fn uid(prefix: &str, parts: &[&str]) -> String {
    let slug = slug(&parts.join("-"));
    let full = if slug.is_empty() {
        prefix.to_owned()
    } else {
        format!("{prefix}-{slug}")
    };
    if full.len() <= 40 {
        return full;
    }
    // FNV-1a: stable across runs and platforms.
    let hash = full.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("{}-{:08x}", &full[..31], hash & 0xffff_ffff)
}

/// Lower-case letters, digits and single dashes.
pub(crate) fn slug(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_end_matches('-').to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_wraps() {
        let mut b = Board::new("x.json", "x".into(), "X".into(), "");
        b.row("r");
        b.add(Panel::timeseries("a", "s"));
        b.add(Panel::timeseries("b", "s"));
        b.add(Panel::stat("c", "s"));
        let j = b.to_json();
        let Some(Json::Arr(panels)) = j.get("panels") else {
            panic!()
        };
        let pos = |i: usize| panels[i].get("gridPos").cloned().unwrap();
        assert_eq!(pos(1), grid(12, 8, 0, 1));
        assert_eq!(pos(2), grid(12, 8, 12, 1));
        assert_eq!(pos(3), grid(6, 5, 0, 9));
    }

    #[test]
    fn uids_fit() {
        assert_eq!(uid("flext-slo", &["orders", "api"]), "flext-slo-orders-api");
        let long = uid(
            "flext-slo",
            &["a-very-long-service-name-indeed", "objective"],
        );
        assert_eq!(long.len(), 40);
        assert_eq!(slug("Checkout API / v2"), "checkout-api-v2");
    }
}
