//! `/status`: one HTML page, readable at a glance, that loads nothing and runs nothing
//! (its Content-Security-Policy is in [`csp`](super::csp)): what needs attention first,
//! then health, alerts, recent failures, metrics, build and process.

use std::fmt::Write as _;
use std::time::SystemTime;

use super::alerts::Alerts;
use super::csp::STYLE;
use super::json::unix_time;
use super::page::{Attention, FunctionView, HealthView, Page};
use super::reading::{Family, SeriesValue};
use super::text::{bytes, esc, percent, rate, seconds, sig3, sparkline, time, uptime};
use super::trace_link;
use super::windows::{QUANTILES, WINDOWS};
use crate::health::Status;
use crate::monitor::site::Outcome;
use crate::recent::Call;
use crate::span_ids::hex;

/// Series shown per family; `/status.json` has them all.
const SERIES_SHOWN: usize = 20;

fn badge(out: &mut String, class: &str, text: &str) {
    let _ = write!(out, "<span class=\"badge {class}\">");
    esc(out, text);
    out.push_str("</span>");
}

fn status_class(status: Status) -> &'static str {
    match status {
        Status::Healthy => "ok",
        Status::Degraded => "warn",
        Status::Unhealthy | Status::Unknown => "bad",
    }
}

fn attention_class(attention: Attention) -> &'static str {
    match attention {
        Attention::BudgetSpent => "bad",
        Attention::Failing => "warn",
        Attention::Active => "ok",
        Attention::Idle => "idle",
    }
}

fn service_name(page: &Page) -> &str {
    page.build_info
        .iter()
        .find(|(k, _)| k == "service_name")
        .map_or("service", |(_, v)| v.as_str())
}

/// The whole page; with `refresh`, the browser reloads it every that many seconds.
pub(super) fn render(page: &Page, refresh: Option<u32>) -> String {
    let mut out = String::with_capacity(16 * 1024 + page.functions.len() * 1500);
    let name = service_name(page);
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    if let Some(seconds) = refresh {
        let _ = writeln!(out, "<meta http-equiv=\"refresh\" content=\"{seconds}\">");
    }
    out.push_str("<title>");
    esc(&mut out, name);
    out.push_str(" status</title>\n<link rel=\"icon\" href=\"data:,\">\n<style>");
    out.push_str(STYLE);
    out.push_str("</style>\n</head>\n<body>\n<header>\n<h1>");
    esc(&mut out, name);
    out.push_str(" <span class=\"sub\">status</span></h1>\n");
    header_line(&mut out, page);
    out.push_str(
        "<nav aria-label=\"Sections\"><ul>\
         <li><a href=\"#functions\">Functions</a></li>\
         <li><a href=\"#health\">Health</a></li>\
         <li><a href=\"#alerts\">Alerts</a></li>\
         <li><a href=\"#failures\">Recent failures</a></li>\
         <li><a href=\"#metrics\">Metrics</a></li>\
         <li><a href=\"#process\">Build and process</a></li>\
         <li><a href=\"/status.json\">JSON</a></li></ul></nav>\n</header>\n<main>\n",
    );
    functions(&mut out, page);
    health(&mut out, page);
    alerts(&mut out, &page.alerts);
    failures(&mut out, page);
    metrics(&mut out, &page.families);
    process(&mut out, page);
    out.push_str("</main>\n</body>\n</html>\n");
    out
}

fn header_line(out: &mut String, page: &Page) {
    out.push_str("<p class=\"meta\">");
    if let Some(health) = &page.health {
        out.push_str("Health ");
        badge(out, status_class(health.status), health.status.as_str());
        out.push_str(" · ");
    }
    let failing = page
        .functions
        .iter()
        .filter(|f| f.attention < Attention::Active)
        .count();
    let _ = write!(
        out,
        "{} monitored functions, {failing} need attention · up ",
        page.functions.len()
    );
    uptime(out, page.uptime.0);
    if page.uptime.1 == "install" {
        out.push_str(" (since install)");
    }
    out.push_str(" · generated ");
    out.push_str(&crate::json::rfc3339(page.generated));
    out.push_str("</p>\n");
}

fn functions(out: &mut String, page: &Page) {
    out.push_str("<section id=\"functions\" aria-labelledby=\"functions-h\">\n<h2 id=\"functions-h\">Functions</h2>\n<p class=\"note\">What needs attention first. Rates over the last ");
    for (i, ((name, _), covered)) in WINDOWS.iter().zip(page.window_seconds).enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        let _ = write!(out, "{name} (");
        uptime(out, covered);
        out.push(')');
    }
    out.push_str("; quantiles over 5m, estimated from the buckets as <code>histogram_quantile</code> does; budgets left since the process started.</p>\n");
    if page.functions.is_empty() {
        out.push_str(
            "<p>No function is monitored: add <code>#[monitor]</code> to one.</p>\n</section>\n",
        );
        return;
    }
    out.push_str("<div class=\"scroll\"><table>\n<caption>Monitored functions</caption>\n<thead><tr><th scope=\"col\">Function</th><th scope=\"col\">State</th><th scope=\"col\">Calls/s 1m · 5m · 15m</th><th scope=\"col\">Errors 5m</th><th scope=\"col\">p50 · p95 · p99 5m</th><th scope=\"col\">In flight</th><th scope=\"col\">Calls since start</th><th scope=\"col\">Objective</th><th scope=\"col\">Last 15m</th></tr></thead>\n<tbody>\n");
    for f in &page.functions {
        function_row(out, f);
    }
    out.push_str("</tbody>\n</table></div>\n</section>\n");
}

fn function_row(out: &mut String, f: &FunctionView) {
    out.push_str("<tr><th scope=\"row\"><span class=\"fn\">");
    esc(out, f.function);
    out.push_str("</span><br><span class=\"sub\">");
    esc(out, f.module);
    out.push_str(" · ");
    esc(out, &f.location);
    out.push_str("</span></th><td>");
    badge(out, attention_class(f.attention), f.attention.as_str());
    out.push_str("</td><td class=\"num\">");
    for (i, w) in f.windows.iter().enumerate() {
        if i > 0 {
            out.push_str(" · ");
        }
        match w.rate {
            Some(r) => rate(out, r),
            None => out.push('—'),
        }
    }
    out.push_str("</td><td class=\"num\">");
    match f.windows[1].error_ratio {
        Some(r) => percent(out, r),
        None => out.push('—'),
    }
    out.push_str("</td><td class=\"num\">");
    for (i, q) in f.windows[1].quantiles.iter().enumerate() {
        if i > 0 {
            out.push_str(" · ");
        }
        match q {
            Some(s) => seconds(out, *s),
            None => out.push('—'),
        }
    }
    let _ = write!(
        out,
        "</td><td class=\"num\">{}</td><td class=\"num\">",
        f.counts.in_flight
    );
    let outcomes = &f.counts.outcomes;
    let _ = write!(out, "{} ok", outcomes[Outcome::Ok as usize]);
    for (outcome, word) in [
        (Outcome::Error, "error"),
        (Outcome::Panic, "panic"),
        (Outcome::Cancelled, "cancelled"),
    ] {
        let n = outcomes[outcome as usize];
        if n > 0 {
            let _ = write!(out, ", {n} {word}");
        }
    }
    out.push_str("</td><td>");
    match &f.objective {
        None => out.push('—'),
        Some(o) => {
            esc(out, o.name);
            if let (Some(target), left) = (o.success_percent, o.success_budget_left) {
                out.push_str("<br>");
                sig3(out, target);
                out.push_str(" % ok, ");
                budget(out, left);
            }
            if let (Some((threshold, target)), left) = (o.latency, o.latency_budget_left) {
                out.push_str("<br>");
                sig3(out, target);
                out.push_str(" % &lt; ");
                seconds(out, threshold);
                out.push_str(", ");
                budget(out, left);
            }
        }
    }
    out.push_str("</td><td>");
    let mut label = String::from("calls per second of ");
    label.push_str(f.function);
    label.push_str(", last 15 minutes");
    sparkline(out, &f.sparkline, &label);
    out.push_str("</td></tr>\n");
}

fn budget(out: &mut String, left: Option<f64>) {
    match left {
        Some(left) if left <= 0.0 => badge(out, "bad", "budget spent"),
        Some(left) => {
            percent(out, left);
            out.push_str(" of budget left");
        }
        None => out.push_str("no calls yet"),
    }
}

fn health(out: &mut String, page: &Page) {
    out.push_str("<section id=\"health\" aria-labelledby=\"health-h\">\n<h2 id=\"health-h\">Health checks</h2>\n");
    let Some(HealthView { status, checks }) = &page.health else {
        out.push_str("<p>Health checks are not running.</p>\n</section>\n");
        return;
    };
    out.push_str("<p>Overall ");
    badge(out, status_class(*status), status.as_str());
    if !page.details {
        out.push_str(" <span class=\"note\">Messages are withheld: <code>health_details(true)</code> shows them to this machine, the health token to others.</span>");
    }
    out.push_str("</p>\n");
    if checks.is_empty() {
        out.push_str("<p>No health check is registered.</p>\n</section>\n");
        return;
    }
    out.push_str("<table>\n<caption>Health checks</caption>\n<thead><tr><th scope=\"col\">Check</th><th scope=\"col\">Status</th><th scope=\"col\">Probe</th><th scope=\"col\">Groups</th><th scope=\"col\">Last run</th><th scope=\"col\">Took</th><th scope=\"col\">Message</th></tr></thead>\n<tbody>\n");
    for c in checks {
        out.push_str("<tr><th scope=\"row\">");
        esc(out, &c.name);
        out.push_str("</th><td>");
        badge(out, status_class(c.status), c.status.as_str());
        out.push_str("</td><td>");
        out.push_str(c.kind.as_str());
        if c.critical {
            out.push_str(", critical");
        }
        out.push_str("</td><td>");
        esc(out, &c.groups.join(", "));
        out.push_str("</td><td>");
        match c.last_run {
            Some(at) => time(out, at, page.generated),
            None => out.push_str("pending"),
        }
        out.push_str("</td><td class=\"num\">");
        match c.duration {
            Some(d) => seconds(out, d.as_secs_f64()),
            None => out.push('—'),
        }
        out.push_str("</td><td>");
        match (&c.message, page.details) {
            (Some(m), _) => esc(out, m),
            (None, true) => out.push('—'),
            (None, false) => out.push_str("<span class=\"note\">withheld</span>"),
        }
        out.push_str("</td></tr>\n");
    }
    out.push_str("</tbody>\n</table>\n</section>\n");
}

fn alerts(out: &mut String, alerts: &Alerts) {
    out.push_str(
        "<section id=\"alerts\" aria-labelledby=\"alerts-h\">\n<h2 id=\"alerts-h\">Alerts</h2>\n",
    );
    match alerts {
        Alerts::NotEnabled => out.push_str("<p>alerts: feature not enabled</p>\n"),
        Alerts::Firing(firing) if firing.is_empty() => out.push_str("<p>No alert is firing.</p>\n"),
        Alerts::Firing(firing) => {
            out.push_str("<table>\n<caption>Firing alerts</caption>\n<thead><tr><th scope=\"col\">Alert</th><th scope=\"col\">Severity</th><th scope=\"col\">Since</th><th scope=\"col\">Summary</th></tr></thead>\n<tbody>\n");
            for a in firing {
                out.push_str("<tr><th scope=\"row\">");
                esc(out, &a.name);
                out.push_str("</th><td>");
                badge(
                    out,
                    if a.severity == "page" { "bad" } else { "warn" },
                    a.severity,
                );
                out.push_str("</td><td>");
                if let Some(since) = a.since {
                    time(out, since, SystemTime::now());
                }
                out.push_str("</td><td>");
                esc(out, &a.summary);
                out.push_str("</td></tr>\n");
            }
            out.push_str("</tbody>\n</table>\n");
        }
    }
    out.push_str("</section>\n");
}

fn failures(out: &mut String, page: &Page) {
    out.push_str("<section id=\"failures\" aria-labelledby=\"failures-h\">\n<h2 id=\"failures-h\">Recent failures</h2>\n");
    calls(
        out,
        page,
        &page.failures,
        "Failed calls, newest first",
        "No monitored call has failed since the status page started.",
    );
    calls(
        out,
        page,
        &page.slowest,
        "Slowest calls of the last 15 minutes",
        "No slow call kept yet.",
    );
    if let Some(queries) = &page.queries {
        if queries.is_empty() {
            out.push_str("<p>No slow or failed query.</p>\n");
        } else {
            out.push_str("<table>\n<caption>Slow and failed queries, newest first</caption>\n<thead><tr><th scope=\"col\">Query</th><th scope=\"col\">When</th><th scope=\"col\">Took</th><th scope=\"col\">Error</th><th scope=\"col\">Trace</th></tr></thead>\n<tbody>\n");
            for q in queries {
                out.push_str("<tr><th scope=\"row\">");
                esc(out, q.system);
                out.push(' ');
                esc(out, q.summary);
                if let Some(text) = &q.text {
                    out.push_str("<br><code>");
                    esc(out, text);
                    out.push_str("</code>");
                }
                out.push_str("</th><td>");
                time(out, q.at, page.generated);
                out.push_str("</td><td class=\"num\">");
                seconds(out, q.duration.as_secs_f64());
                out.push_str("</td><td>");
                esc(out, q.error_type.as_deref().unwrap_or("slow"));
                out.push_str("</td><td>");
                trace(out, page.trace_url.as_deref(), q.trace_id.as_deref(), None);
                out.push_str("</td></tr>\n");
            }
            out.push_str("</tbody>\n</table>\n");
        }
    }
    out.push_str("</section>\n");
}

fn calls(out: &mut String, page: &Page, calls: &[Call], caption: &str, empty: &str) {
    if calls.is_empty() {
        let _ = writeln!(out, "<p>{empty}</p>");
        return;
    }
    let _ = write!(
        out,
        "<table>\n<caption>{caption}</caption>\n<thead><tr><th scope=\"col\">Function</th><th scope=\"col\">What</th><th scope=\"col\">When</th><th scope=\"col\">Took</th><th scope=\"col\">Error</th><th scope=\"col\">Trace</th></tr></thead>\n<tbody>\n"
    );
    for c in calls {
        out.push_str("<tr><th scope=\"row\">");
        match (c.function, c.module) {
            (Some(f), Some(m)) => {
                esc(out, f);
                out.push_str("<br><span class=\"sub\">");
                esc(out, m);
                out.push_str("</span>");
            }
            _ => out.push_str("(no monitored function)"),
        }
        out.push_str("</th><td>");
        let (class, word) = match (c.kind, c.cancelled) {
            (crate::recent::Kind::Slow, true) => ("warn", "slow, cancelled"),
            (crate::recent::Kind::Slow, false) => ("warn", "slow"),
            (kind, _) => ("bad", kind.as_str()),
        };
        badge(out, class, word);
        if let Some(thread) = &c.thread {
            out.push_str("<br><span class=\"sub\">thread ");
            esc(out, thread);
            out.push_str("</span>");
        }
        out.push_str("</td><td>");
        time(out, unix_time(c.unix_nanos), page.generated);
        out.push_str("</td><td class=\"num\">");
        match c.duration_ns {
            Some(n) => seconds(out, n as f64 / 1e9),
            None => out.push('—'),
        }
        out.push_str("</td><td>");
        if let Some(ty) = &c.error_type {
            out.push_str("<code>");
            esc(out, ty);
            out.push_str("</code>");
        }
        if let Some(location) = &c.location {
            out.push_str(" at <code>");
            esc(out, location);
            out.push_str("</code>");
        }
        match &c.message {
            Some(m) => {
                out.push_str("<br>");
                esc(out, m);
            }
            None if !page.details && c.kind != crate::recent::Kind::Slow => {
                out.push_str("<br><span class=\"note\">message withheld</span>");
            }
            None => {}
        }
        out.push_str("</td><td>");
        let trace_id = c.trace_id.map(|t| hex(&t));
        let span_id = c.span_id.map(|s| hex(&s));
        trace(
            out,
            page.trace_url.as_deref(),
            trace_id.as_deref(),
            span_id.as_deref(),
        );
        out.push_str("</td></tr>\n");
    }
    out.push_str("</tbody>\n</table>\n");
}

fn trace(out: &mut String, template: Option<&str>, trace_id: Option<&str>, span_id: Option<&str>) {
    let Some(id) = trace_id else {
        out.push('—');
        return;
    };
    if let Some(url) = trace_link(template, Some(id), span_id) {
        out.push_str("<a href=\"");
        esc(out, &url);
        out.push_str("\"><code>");
        esc(out, id);
        out.push_str("</code></a>");
    } else {
        out.push_str("<code>");
        esc(out, id);
        out.push_str("</code>");
    }
}

fn metrics(out: &mut String, families: &[Family]) {
    out.push_str("<section id=\"metrics\" aria-labelledby=\"metrics-h\">\n<h2 id=\"metrics-h\">Metrics</h2>\n<p class=\"note\">Business metrics and every other family of <a href=\"/metrics\">/metrics</a> (besides functions, health and process), at this moment.</p>\n");
    if families.is_empty() {
        out.push_str("<p>No other metric is registered.</p>\n</section>\n");
        return;
    }
    for f in families {
        out.push_str("<details><summary><code>");
        esc(out, &f.name);
        let _ = write!(
            out,
            "</code> <span class=\"sub\">{}, {} series</span> ",
            f.kind.as_str(),
            f.series.len()
        );
        esc(out, &f.help);
        out.push_str("</summary>\n<table>\n<thead><tr><th scope=\"col\">Labels</th><th scope=\"col\">Value</th></tr></thead>\n<tbody>\n");
        for s in f.series.iter().take(SERIES_SHOWN) {
            out.push_str("<tr><td><code>");
            let labels: Vec<String> = s
                .labels
                .iter()
                .map(|(k, v)| format!("{k}=\"{v}\""))
                .collect();
            esc(out, &labels.join(", "));
            out.push_str("</code></td><td class=\"num\">");
            match &s.value {
                SeriesValue::Number(v) => sig3(out, *v),
                SeriesValue::Info => out.push('1'),
                SeriesValue::Histogram {
                    bounds,
                    counts,
                    sum,
                } => {
                    let count: u64 = counts.iter().sum();
                    let _ = write!(out, "{count} observations, sum ");
                    sig3(out, *sum);
                    for (q, value) in QUANTILES {
                        if let Some(v) = super::windows::quantile(value, bounds, counts) {
                            let _ = write!(out, ", {q} ");
                            sig3(out, v);
                        }
                    }
                }
            }
            out.push_str("</td></tr>\n");
        }
        if f.series.len() > SERIES_SHOWN {
            let _ = writeln!(
                out,
                "<tr><td colspan=\"2\">and {} more in /status.json</td></tr>",
                f.series.len() - SERIES_SHOWN
            );
        }
        out.push_str("</tbody>\n</table>\n</details>\n");
    }
    out.push_str("</section>\n");
}

fn process(out: &mut String, page: &Page) {
    out.push_str("<section id=\"process\" aria-labelledby=\"process-h\">\n<h2 id=\"process-h\">Build and process</h2>\n<dl>\n");
    for (k, v) in &page.build_info {
        out.push_str("<dt>");
        esc(out, k);
        out.push_str("</dt><dd>");
        esc(out, v);
        out.push_str("</dd>\n");
    }
    out.push_str("<dt>uptime</dt><dd>");
    uptime(out, page.uptime.0);
    out.push_str("</dd>\n");
    let value = |name: &str| page.process.iter().find(|(n, _)| n == name).map(|p| p.1);
    if page.process.is_empty() {
        out.push_str("<dt>process</dt><dd>the <code>process_*</code> metrics are off (feature <code>system</code>, Linux)</dd>\n");
    }
    for ((name, _), share) in WINDOWS.iter().zip(page.cpu) {
        if let Some(share) = share {
            let _ = write!(out, "<dt>CPU, last {name}</dt><dd>");
            percent(out, share);
            out.push_str(" of one core</dd>\n");
        }
    }
    if let Some(cpu) = value("process_cpu_seconds_total") {
        out.push_str("<dt>CPU time</dt><dd>");
        seconds(out, cpu);
        out.push_str("</dd>\n");
    }
    for (name, label) in [
        ("process_resident_memory_bytes", "resident memory"),
        ("process_virtual_memory_bytes", "virtual memory"),
    ] {
        if let Some(v) = value(name) {
            let _ = write!(out, "<dt>{label}</dt><dd>");
            bytes(out, v);
            out.push_str("</dd>\n");
        }
    }
    for (name, label) in [
        ("process_threads", "threads"),
        ("process_open_fds", "open file descriptors"),
        ("process_max_fds", "file descriptor limit"),
    ] {
        if let Some(v) = value(name) {
            let _ = writeln!(out, "<dt>{label}</dt><dd>{v}</dd>");
        }
    }
    out.push_str("</dl>\n</section>\n");
}
