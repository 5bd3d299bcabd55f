//! `/status.json`: the page's data for scripts (the fields are described in the
//! [`status`](crate::status) module's documentation).

use std::time::SystemTime;

use super::alerts::Alerts;
use super::page::{CheckView, FunctionView, HealthView, ObjectiveView, Page, QueryView};
use super::reading::{Family, SeriesValue};
use super::trace_link;
use super::windows::{QUANTILES, WINDOWS};
use crate::json;
use crate::monitor::site::Outcome;
use crate::recent::Call;
use crate::span_ids::hex;

/// A JSON object being written: `"key":` pairs separated by commas.
struct Object<'a> {
    out: &'a mut String,
    first: bool,
}

impl<'a> Object<'a> {
    fn open(out: &'a mut String) -> Object<'a> {
        out.push('{');
        Object { out, first: true }
    }

    /// The writer for the value of `name`.
    fn key(&mut self, name: &str) -> &mut String {
        json::key(self.out, &mut self.first, name);
        self.out
    }

    fn str(&mut self, name: &str, value: &str) {
        json::string(self.key(name), value);
    }

    fn opt_str(&mut self, name: &str, value: Option<&str>) {
        match value {
            Some(v) => self.str(name, v),
            None => self.key(name).push_str("null"),
        }
    }

    fn num(&mut self, name: &str, value: f64) {
        json::number(self.key(name), value);
    }

    fn opt_num(&mut self, name: &str, value: Option<f64>) {
        match value {
            Some(v) => self.num(name, v),
            None => self.key(name).push_str("null"),
        }
    }

    fn int(&mut self, name: &str, value: u64) {
        let mut buffer = itoa::Buffer::new();
        self.key(name).push_str(buffer.format(value));
    }

    fn bool(&mut self, name: &str, value: bool) {
        self.key(name)
            .push_str(if value { "true" } else { "false" });
    }

    fn time(&mut self, name: &str, value: Option<SystemTime>) {
        self.opt_str(name, value.map(json::rfc3339).as_deref());
    }

    fn close(self) {
        self.out.push('}');
    }
}

/// A JSON array of `items`, each written by `write`.
fn array<T>(
    out: &mut String,
    items: impl IntoIterator<Item = T>,
    mut write: impl FnMut(&mut String, T),
) {
    out.push('[');
    for (i, item) in items.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write(out, item);
    }
    out.push(']');
}

fn labels(out: &mut String, pairs: &[(String, String)]) {
    let mut o = Object::open(out);
    for (k, v) in pairs {
        o.str(k, v);
    }
    o.close();
}

/// The whole document.
pub(super) fn render(page: &Page) -> String {
    let mut out = String::with_capacity(4096 + page.functions.len() * 1024);
    let mut o = Object::open(&mut out);
    o.time("generated", Some(page.generated));
    labels(o.key("service"), &page.build_info);
    o.num("uptime_seconds", page.uptime.0);
    o.str("uptime_since", page.uptime.1);
    o.bool("details", page.details);
    o.num("sample_interval_seconds", page.interval_seconds);
    array(
        o.key("windows"),
        WINDOWS.iter().zip(page.window_seconds),
        |out, ((name, _), seconds)| {
            let mut w = Object::open(out);
            w.str("name", name);
            w.num("seconds", seconds);
            w.close();
        },
    );
    let mut p = Object::open(o.key("process"));
    for (name, value) in &page.process {
        p.num(name, *value);
    }
    p.close();
    let mut c = Object::open(o.key("cpu_share"));
    for ((name, _), share) in WINDOWS.iter().zip(page.cpu) {
        c.opt_num(name, share);
    }
    c.close();
    array(o.key("functions"), &page.functions, function);
    match &page.health {
        Some(h) => health(o.key("health"), h),
        None => o.key("health").push_str("null"),
    }
    alerts(o.key("alerts"), &page.alerts);
    array(o.key("metrics"), &page.families, family);
    let link = page.trace_url.as_deref();
    array(o.key("recent_failures"), &page.failures, |out, c| {
        call(out, c, link);
    });
    array(o.key("slowest_calls"), &page.slowest, |out, c| {
        call(out, c, link);
    });
    match &page.queries {
        Some(q) => array(o.key("slow_queries"), q, |out, q| query(out, q, link)),
        None => o.key("slow_queries").push_str("null"),
    }
    o.close();
    out.push('\n');
    out
}

fn function(out: &mut String, f: &FunctionView) {
    let mut o = Object::open(out);
    o.str("function", f.function);
    o.str("module", f.module);
    o.str("location", &f.location);
    o.str("attention", f.attention.as_str());
    let mut calls = Object::open(o.key("calls"));
    for outcome in Outcome::ALL {
        let name = match outcome {
            Outcome::Ok => "ok",
            Outcome::Error => "error",
            Outcome::Panic => "panic",
            Outcome::Cancelled => "cancelled",
        };
        calls.int(name, f.counts.outcomes[outcome as usize]);
    }
    calls.close();
    o.int("in_flight", f.counts.in_flight);
    o.num("duration_seconds_sum", f.counts.sum_seconds);
    let mut ws = Object::open(o.key("windows"));
    for ((name, _), w) in WINDOWS.iter().zip(&f.windows) {
        let mut o = Object::open(ws.key(name));
        o.int("calls", w.calls);
        o.opt_num("rate", w.rate);
        o.opt_num("error_ratio", w.error_ratio);
        for ((q, _), v) in QUANTILES.iter().zip(w.quantiles) {
            o.opt_num(q, v);
        }
        o.close();
    }
    ws.close();
    match &f.objective {
        Some(objective) => self::objective(o.key("objective"), objective),
        None => o.key("objective").push_str("null"),
    }
    array(o.key("sparkline"), &f.sparkline, |out, v| {
        json::number(out, *v);
    });
    o.close();
}

fn objective(out: &mut String, objective: &ObjectiveView) {
    let mut o = Object::open(out);
    o.str("name", objective.name);
    o.opt_num("success_rate_percent", objective.success_percent);
    o.opt_num("success_budget_left", objective.success_budget_left);
    o.opt_num("latency_threshold_seconds", objective.latency.map(|l| l.0));
    o.opt_num("latency_percent", objective.latency.map(|l| l.1));
    o.opt_num("latency_budget_left", objective.latency_budget_left);
    o.close();
}

fn health(out: &mut String, h: &HealthView) {
    let mut o = Object::open(out);
    o.str("status", h.status.as_str());
    array(o.key("checks"), &h.checks, check);
    o.close();
}

fn check(out: &mut String, c: &CheckView) {
    let mut o = Object::open(out);
    o.str("name", &c.name);
    o.str("kind", c.kind.as_str());
    o.bool("critical", c.critical);
    array(o.key("groups"), &c.groups, |out, g| json::string(out, g));
    o.str("status", c.status.as_str());
    o.time("last_run", c.last_run);
    o.opt_num("duration_seconds", c.duration.map(|d| d.as_secs_f64()));
    o.opt_str("message", c.message.as_deref());
    o.close();
}

fn alerts(out: &mut String, alerts: &Alerts) {
    let mut o = Object::open(out);
    match alerts {
        Alerts::NotEnabled => {
            o.bool("enabled", false);
            o.key("firing").push_str("[]");
        }
        Alerts::Firing(firing) => {
            o.bool("enabled", true);
            array(o.key("firing"), firing, |out, a| {
                let mut o = Object::open(out);
                o.str("name", &a.name);
                o.str("severity", a.severity);
                o.time("since", a.since);
                o.str("summary", &a.summary);
                labels(o.key("labels"), &a.labels);
                o.close();
            });
        }
    }
    o.close();
}

fn family(out: &mut String, f: &Family) {
    let mut o = Object::open(out);
    o.str("name", &f.name);
    o.str("type", f.kind.as_str());
    o.str("help", &f.help);
    array(o.key("series"), &f.series, |out, s| {
        let mut o = Object::open(out);
        labels(o.key("labels"), &s.labels);
        match &s.value {
            SeriesValue::Number(v) => o.num("value", *v),
            SeriesValue::Histogram {
                bounds,
                counts,
                sum,
            } => {
                o.int("count", counts.iter().sum());
                o.num("sum", *sum);
                let mut cumulative = 0u64;
                array(
                    o.key("buckets"),
                    bounds.iter().zip(counts),
                    |out, (le, n)| {
                        cumulative += n;
                        out.push('[');
                        json::number(out, *le);
                        out.push(',');
                        out.push_str(itoa::Buffer::new().format(cumulative));
                        out.push(']');
                    },
                );
            }
            SeriesValue::Info => o.num("value", 1.0),
        }
        o.close();
    });
    o.close();
}

fn call(out: &mut String, c: &Call, link: Option<&str>) {
    let mut o = Object::open(out);
    o.str("kind", c.kind.as_str());
    o.time("at", Some(unix_time(c.unix_nanos)));
    o.opt_str("function", c.function);
    o.opt_str("module", c.module);
    o.opt_num("duration_seconds", c.duration_ns.map(|n| n as f64 / 1e9));
    o.opt_str("error_type", c.error_type.as_deref());
    o.opt_str("message", c.message.as_deref());
    o.opt_str("location", c.location.as_deref());
    o.opt_str("thread", c.thread.as_deref());
    let trace = c.trace_id.map(|t| hex(&t));
    let span = c.span_id.map(|s| hex(&s));
    o.opt_str("trace_id", trace.as_deref());
    o.opt_str("span_id", span.as_deref());
    let url = trace_link(link, trace.as_deref(), span.as_deref());
    o.opt_str("trace_url", url.as_deref());
    o.bool("cancelled", c.cancelled);
    o.close();
}

fn query(out: &mut String, q: &QueryView, link: Option<&str>) {
    let mut o = Object::open(out);
    o.time("at", Some(q.at));
    o.str("system", q.system);
    o.str("summary", q.summary);
    o.num("duration_seconds", q.duration.as_secs_f64());
    o.opt_str("error_type", q.error_type.as_deref());
    o.opt_str("text", q.text.as_deref());
    o.opt_str("trace_id", q.trace_id.as_deref());
    let url = trace_link(link, q.trace_id.as_deref(), None);
    o.opt_str("trace_url", url.as_deref());
    o.close();
}

/// A time from nanoseconds since the Unix epoch.
pub(super) fn unix_time(nanos: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + std::time::Duration::from_nanos(nanos)
}
