use super::*;

use MetricKind::{Counter, Gauge, Histogram, Info};

fn name_issues(name: &str, kind: MetricKind) -> Vec<(Rule, Option<String>)> {
    MetricSpec::new(name, kind)
        .check()
        .into_iter()
        .map(|i| (i.error.rule(), i.error.fix().map(str::to_owned)))
        .collect()
}

#[test]
fn good_names_pass_every_rule() {
    let good = [
        ("etl_rows_written_total", Counter),
        ("etl_runs_total", Counter),
        ("etl_run_duration_seconds", Histogram),
        ("etl_data_quality_ratio", Gauge),
        ("etl_batch_bytes", Histogram),
        ("etl_last_success_timestamp_seconds", Gauge),
        ("etl_pipeline_info", Info),
        ("etl_sent_bytes_total", Counter),
        ("queue_depth", Gauge),
        ("a2_b3_total", Counter),
    ];
    for (name, kind) in good {
        let spec = MetricSpec::new(name, kind)
            .help("Something.")
            .labels(&["pipeline", "target"]);
        assert_eq!(spec.check(), vec![], "{name} as {kind:?}");
    }
}

/// (name, kind, the rule it breaks, the fix)
const METRIC_RULES: &[(&str, MetricKind, Rule, Option<&str>)] = &[
    ("", Counter, Rule::Syntax, None),
    (
        "etl-rows_total",
        Counter,
        Rule::Syntax,
        Some("etl_rows_total"),
    ),
    ("9rows_total", Counter, Rule::Syntax, Some("_9rows_total")),
    (
        "etl_rows_é_total",
        Counter,
        Rule::Syntax,
        Some("etl_rows___total"),
    ),
    (
        "etl:rows_total",
        Counter,
        Rule::Colon,
        Some("etl_rows_total"),
    ),
    (
        "__rows_total",
        Counter,
        Rule::ReservedPrefix,
        Some("rows_total"),
    ),
    (
        "EtlRows_total",
        Counter,
        Rule::SnakeCase,
        Some("etl_rows_total"),
    ),
    (
        "etl__rows_total",
        Counter,
        Rule::SnakeCase,
        Some("etl_rows_total"),
    ),
    (
        "etl_rows_total_",
        Counter,
        Rule::SnakeCase,
        Some("etl_rows_total"),
    ),
    ("_rows_total", Counter, Rule::SnakeCase, Some("rows_total")),
    (
        "etl_rows",
        Counter,
        Rule::CounterSuffix,
        Some("etl_rows_total"),
    ),
    (
        "etl_rows_total",
        Gauge,
        Rule::ReservedSuffix,
        Some("etl_rows"),
    ),
    ("queue_count", Gauge, Rule::ReservedSuffix, Some("queue")),
    (
        "latency_sum",
        Histogram,
        Rule::ReservedSuffix,
        Some("latency"),
    ),
    (
        "latency_bucket",
        Histogram,
        Rule::ReservedSuffix,
        Some("latency"),
    ),
    ("job_created", Gauge, Rule::ReservedSuffix, Some("job")),
    (
        "build_count",
        Info,
        Rule::ReservedSuffix,
        Some("build_info"),
    ),
    ("build", Info, Rule::InfoSuffix, Some("build_info")),
    ("build_info", Gauge, Rule::InfoOnly, Some("build")),
    (
        "etl_rows_counter_total",
        Counter,
        Rule::TypeInName,
        Some("etl_rows_total"),
    ),
    ("queue_gauge", Gauge, Rule::TypeInName, Some("queue")),
    (
        "etl_duration_milliseconds",
        Histogram,
        Rule::UnitNotBase,
        Some("etl_duration_seconds"),
    ),
    (
        "etl_quality_percent",
        Gauge,
        Rule::UnitNotBase,
        Some("etl_quality_ratio"),
    ),
    (
        "etl_batch_kilobytes",
        Gauge,
        Rule::UnitNotBase,
        Some("etl_batch_bytes"),
    ),
    (
        "etl_wait_minutes_total",
        Counter,
        Rule::UnitNotBase,
        Some("etl_wait_seconds_total"),
    ),
    (
        "etl_transfer_megabits_total",
        Counter,
        Rule::UnitNotBase,
        Some("etl_transfer_bytes_total"),
    ),
    (
        "etl_burned_kilocalories_total",
        Counter,
        Rule::UnitNotBase,
        Some("etl_burned_joules_total"),
    ),
    (
        "etl_load_kilogram",
        Gauge,
        Rule::UnitNotBase,
        Some("etl_load_grams"),
    ),
    (
        "etl_last_success_timestamp_second",
        Gauge,
        Rule::UnitNotBase,
        Some("etl_last_success_timestamp_seconds"),
    ),
    (
        "etl_sent_byte_total",
        Counter,
        Rule::UnitNotBase,
        Some("etl_sent_bytes_total"),
    ),
    (
        "etl_run_duration_second",
        Histogram,
        Rule::UnitNotBase,
        Some("etl_run_duration_seconds"),
    ),
    (
        "etl_duration_ms",
        Histogram,
        Rule::UnitAbbreviation,
        Some("etl_duration_seconds"),
    ),
    (
        "etl_size_kb",
        Gauge,
        Rule::UnitAbbreviation,
        Some("etl_size_bytes"),
    ),
    (
        "etl_bytes_written_total",
        Counter,
        Rule::UnitNotSuffix,
        Some("etl_written_bytes_total"),
    ),
];

#[test]
fn each_metric_rule_with_its_fix() {
    // (name, kind, rule, fix)
    for &(name, kind, rule, fix) in METRIC_RULES {
        let issues = name_issues(name, kind);
        assert_eq!(
            issues,
            vec![(rule, fix.map(str::to_owned))],
            "`{name}` as {kind:?}"
        );
        let message = MetricSpec::new(name, kind).check()[0].error.to_string();
        assert!(
            message.starts_with(|c: char| !c.is_ascii_uppercase()),
            "messages are lowercase: {message}"
        );
    }
}

#[test]
fn declared_units() {
    let check = |name: &str, kind, unit| -> Vec<(Rule, Option<String>)> {
        MetricSpec::new(name, kind)
            .unit(unit)
            .check()
            .into_iter()
            .map(|i| {
                assert_eq!(i.part, Part::Unit);
                (i.error.rule(), i.error.fix().map(str::to_owned))
            })
            .collect()
    };
    assert_eq!(
        check("etl_run_duration_seconds", Histogram, "seconds"),
        vec![]
    );
    assert_eq!(check("etl_written_bytes_total", Counter, "bytes"), vec![]);
    assert_eq!(
        check("etl_run_duration", Histogram, "milliseconds"),
        vec![(Rule::UnitNotBase, Some("seconds".into()))]
    );
    assert_eq!(
        check("etl_quality", Gauge, "percent"),
        vec![(Rule::UnitNotBase, Some("ratio".into()))]
    );
    assert_eq!(
        check("etl_run_duration", Histogram, "second"),
        vec![(Rule::UnitNotBase, Some("seconds".into()))]
    );
    assert_eq!(
        check("etl_run_duration", Histogram, "ms"),
        vec![(Rule::UnitNotBase, Some("seconds".into()))]
    );
    assert_eq!(
        check("etl_rows_total", Counter, "rows"),
        vec![(Rule::UnitUnknown, None)]
    );
    assert_eq!(
        check("etl_run_duration", Histogram, "seconds"),
        vec![(Rule::UnitNotSuffix, Some("etl_run_duration_seconds".into()))]
    );
    assert_eq!(
        check("etl_written_total", Counter, "bytes"),
        vec![(Rule::UnitNotSuffix, Some("etl_written_bytes_total".into()))]
    );
    assert_eq!(
        MetricSpec::new("etl_run_duration_seconds", Histogram).resolved_unit(),
        Some("seconds")
    );
    assert_eq!(
        MetricSpec::new("etl_rows_total", Counter).resolved_unit(),
        None
    );
    assert_eq!(unit_of("etl_written_bytes_total"), Some("bytes"));
}

#[test]
fn prefixed_non_base_units_name_the_base_unit_and_both_conversions() {
    let issues = MetricSpec::new("etl_transfer_megabits_total", Counter).check();
    let message = issues[0].error.to_string();
    assert!(
        message.contains("use the base unit `bytes`")
            && message.contains("multiply by 1e6, then divide by 8"),
        "{message}"
    );
    assert_eq!(
        MetricSpec::new("etl_payload", Gauge)
            .unit("megabits")
            .check()
            .into_iter()
            .map(|i| (i.error.rule(), i.error.fix().map(str::to_owned)))
            .collect::<Vec<_>>(),
        vec![(Rule::UnitNotBase, Some("bytes".to_owned()))]
    );
}

#[test]
fn singular_units_inside_a_name_are_ordinary_words() {
    for name in ["etl_second_attempts_total", "etl_byte_order_checks_total"] {
        assert_eq!(name_issues(name, Counter), vec![], "{name}");
    }
}

#[test]
fn info_metrics_have_no_unit() {
    // A unit word in an info metric's name is not its unit: the encoder writes no `# UNIT`.
    assert_eq!(unit_of("etl_timeout_seconds_info"), None);
    assert_eq!(
        MetricSpec::new("etl_timeout_seconds_info", Info).resolved_unit(),
        None
    );
    assert_eq!(
        MetricSpec::new("etl_timeout_seconds_info", Info).check(),
        vec![]
    );
    let issues = MetricSpec::new("etl_timeout_seconds_info", Info)
        .unit("seconds")
        .check();
    assert_eq!(issues.len(), 1, "{issues:?}");
    assert_eq!(issues[0].part, Part::Unit);
    assert_eq!(issues[0].error.rule(), Rule::InfoUnit);
    assert!(
        issues[0]
            .error
            .to_string()
            .contains("remove `unit = \"seconds\"`"),
        "{}",
        issues[0].error
    );
    assert_eq!(
        MetricSpec::new("etl_timeout_seconds_info", Info)
            .unit("seconds")
            .resolved_unit(),
        None
    );
}

#[test]
fn family_names() {
    assert_eq!(family_name("etl_rows_total", Counter), "etl_rows");
    assert_eq!(family_name("etl_rows", Counter), "etl_rows");
    assert_eq!(family_name("build_info", Info), "build");
    assert_eq!(family_name("queue_depth", Gauge), "queue_depth");
    assert_eq!(family_name("x_total", Histogram), "x_total");
}

#[test]
fn help_text() {
    for blank in ["", "   ", "\n"] {
        let issues = MetricSpec::new("etl_rows_total", Counter)
            .help(blank)
            .check();
        assert_eq!(issues.len(), 1);
        assert_eq!(issues[0].part, Part::Help);
        assert_eq!(issues[0].error.rule(), Rule::HelpMissing);
    }
}

#[test]
fn each_label_rule() {
    let table: &[(&[&str], usize, Rule, Option<&str>)] = &[
        (&["pipé"], 0, Rule::Syntax, Some("pip_")),
        (&["1a"], 0, Rule::Syntax, Some("_1a")),
        (&["a-b"], 0, Rule::Syntax, Some("a_b")),
        (&["__name"], 0, Rule::ReservedPrefix, Some("name")),
        (&["le"], 0, Rule::LabelReserved, Some("le_value")),
        (
            &["quantile"],
            0,
            Rule::LabelReserved,
            Some("quantile_value"),
        ),
        (&["Pipeline"], 0, Rule::SnakeCase, Some("pipeline")),
        (&["pipelineId"], 0, Rule::SnakeCase, Some("pipeline_id")),
        (&["otel_metric_overflow"], 0, Rule::LabelRuntime, None),
        (&["job"], 0, Rule::LabelTarget, Some("source_job")),
        (&["instance"], 0, Rule::LabelTarget, Some("source_instance")),
        (
            &["pipeline", "target", "pipeline"],
            2,
            Rule::LabelDuplicate,
            None,
        ),
    ];
    for &(labels, index, rule, fix) in table {
        let issues = check_label_names(labels);
        assert_eq!(issues.len(), 1, "{labels:?}: {issues:?}");
        assert_eq!(issues[0].0, index, "{labels:?}");
        assert_eq!(issues[0].1.rule(), rule, "{labels:?}");
        assert_eq!(issues[0].1.fix(), fix, "{labels:?}");
    }
    assert!(check_label_names(&["pipeline", "target", "status", "a1"]).is_empty());
}

#[test]
fn syntax_only_functions_keep_their_contract() {
    for ok in ["a", "_a", "abc_def_total", "A9"] {
        assert!(validate_metric_name(ok).is_ok(), "{ok}");
    }
    for bad in ["", "9a", "a-b", "a:b", "__a", "a b", "é"] {
        assert!(validate_metric_name(bad).is_err(), "{bad}");
    }
    for ok in ["a", "_a", "pipeline", "target_1"] {
        assert!(validate_label_name(ok).is_ok(), "{ok}");
    }
    for bad in ["", "1a", "a-b", "__a", "le", "quantile", "a:b"] {
        assert!(validate_label_name(bad).is_err(), "{bad}");
    }
}

#[test]
fn sanitizing_gives_valid_names() {
    for raw in [
        "",
        "9lives",
        "http.requests-total",
        "a:b",
        "ünï",
        "ok_name",
        "::x",
        "__",
        "_",
    ] {
        let m = sanitize_metric_name(raw);
        assert!(validate_metric_name(&m).is_ok(), "{raw} -> {m}");
        let l = sanitize_label_name(raw);
        assert!(validate_label_name(&l).is_ok(), "{raw} -> {l}");
    }
    assert_eq!(
        sanitize_metric_name("http.requests-total"),
        "http_requests_total"
    );
    assert_eq!(sanitize_label_name("le"), "exported_le");
    assert_eq!(sanitize_metric_name("::x"), "exported_x");
    assert_eq!(sanitize_metric_name("__"), "exported_");
    assert_eq!(sanitize_metric_name("_x"), "_x");
}

/// A small deterministic generator, so the property tests need no extra crate.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        #[allow(clippy::cast_possible_truncation)] // index below `items.len()`
        let i = (self.next() % items.len() as u64) as usize;
        &items[i]
    }
}

/// Pieces that exercise every rule: unit words, suffixes, type words, bad characters.
const PIECES: &[&str] = &[
    "etl",
    "rows",
    "run",
    "duration",
    "total",
    "count",
    "sum",
    "bucket",
    "created",
    "info",
    "seconds",
    "milliseconds",
    "ms",
    "bytes",
    "kilobytes",
    "kb",
    "percent",
    "ratio",
    "minutes",
    "counter",
    "gauge",
    "Rows",
    "Etl",
    "x9",
    "9",
    "_",
    "__",
    "-",
    ":",
    ".",
    "é",
    " ",
    "le",
    "job",
    "second",
];

fn random_name(rng: &mut Rng) -> String {
    let parts = 1 + rng.next() % 5;
    let mut s = String::new();
    for _ in 0..parts {
        let piece: &&str = rng.pick(PIECES);
        s.push_str(piece);
        if !rng.next().is_multiple_of(3) {
            s.push('_');
        }
    }
    s
}

/// Independent statement of the syntax rule, to test the implementation against.
fn matches_syntax(name: &str) -> bool {
    let mut chars = name.chars();
    let Some(first) = chars.next() else {
        return false;
    };
    (first == '_' || first.is_ascii_alphabetic())
        && chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
        && !name.starts_with("__")
}

#[test]
fn property_syntax_agrees_with_the_pattern_and_sanitizing_always_validates() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for _ in 0..20_000 {
        let name = random_name(&mut rng);
        assert_eq!(
            validate_metric_name(&name).is_ok(),
            matches_syntax(&name),
            "{name:?}"
        );
        let sanitized = sanitize_metric_name(&name);
        assert!(
            validate_metric_name(&sanitized).is_ok(),
            "{name:?} -> {sanitized:?}"
        );
        let label = sanitize_label_name(&name);
        assert!(validate_label_name(&label).is_ok(), "{name:?} -> {label:?}");
    }
}

#[test]
fn property_following_the_fixes_reaches_a_valid_name() {
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let kinds = [Counter, Gauge, Histogram, Info];
    for _ in 0..20_000 {
        let original = random_name(&mut rng);
        let kind = *rng.pick(&kinds);
        let mut name = original.clone();
        let mut steps = 0;
        loop {
            let issues = MetricSpec::new(&name, kind).check();
            let Some(first) = issues.first() else { break };
            if name.is_empty() {
                // The only rule without a mechanical fix: there is nothing to fix.
                assert_eq!(first.error.rule(), Rule::Syntax);
                break;
            }
            let fix = first
                .error
                .fix()
                .unwrap_or_else(|| panic!("{:?} on {name:?} has no fix", first.error.rule()));
            assert_ne!(fix, name, "a fix must change the name ({original:?})");
            name = fix.to_owned();
            steps += 1;
            assert!(
                steps <= 12,
                "{original:?} as {kind:?}: fixes do not converge, at {name:?}"
            );
        }
    }
}

#[test]
fn property_following_label_fixes_reaches_a_valid_label() {
    let mut rng = Rng(0x1234_5678_9abc_def1);
    for _ in 0..20_000 {
        let mut label = random_name(&mut rng);
        for _ in 0..6 {
            let issues = check_label_names(&[label.as_str()]);
            let Some((_, error)) = issues.first() else {
                break;
            };
            match error.fix() {
                Some(fix) => label = fix.to_owned(),
                None => break,
            }
        }
        let issues = check_label_names(&[label.as_str()]);
        assert!(
            issues.is_empty() || issues[0].1.rule() == Rule::LabelRuntime || label.is_empty(),
            "{label:?}: {issues:?}"
        );
    }
}
