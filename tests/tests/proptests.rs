//! Property tests of every parser that takes outside input: the `Accept` negotiation,
//! percent decoding (health names, settings, URL credentials), URL redaction, the
//! duration, number, boolean and `key=value` settings readers, bucket bounds, context
//! propagation headers (W3C `traceparent`/`tracestate`/`baggage`, B3 single and multi)
//! and the SQL statement summary and sanitiser. None may panic, whatever the input, and
//! each round trip holds.
//!
//! 256 cases per property by default; `PROPTEST_CASES=1000000` is the long run
//! (`benches/fuzz.sh`, numbers in `BENCHMARKS.md`).

use std::time::Duration;

use flext_observability::__fuzz as fuzz;
use flext_observability::Propagation;
use flext_observability::prometheus::{Format, OPENMETRICS_CONTENT_TYPE, TEXT_CONTENT_TYPE};
use flext_observability::propagation::Propagator;
use flext_observability_naming::duration::{BareNumber, parse_duration};
use proptest::prelude::*;

/// Any text, weighted towards the characters the parsers care about.
fn hostile() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[a-z0-9 ,;=%/.:@?#&*\"'+\\-\t]{0,64}",
        "(%[0-9a-fA-F]{0,2}|[a-z ]|\u{e9}|\u{1f680}){0,32}",
    ]
}

/// A quality value as a client writes it, and its number.
fn quality() -> impl Strategy<Value = (String, f32)> {
    (0u32..=1000).prop_map(|m| {
        let q = m as f32 / 1000.0;
        (format!("{q:.3}"), q)
    })
}

proptest! {
    #[test]
    fn negotiation_never_panics(accept in hostile()) {
        let _ = Format::negotiate(Some(&accept));
    }

    #[test]
    fn negotiation_follows_the_qualities(
        (om_text, om_q) in quality(),
        (text_text, text_q) in quality(),
        om_first in any::<bool>(),
        spaces in " {0,2}",
        upper in any::<bool>(),
    ) {
        let om = format!("application/openmetrics-text;{spaces}version=1.0.0;{spaces}q={om_text}");
        let text = format!("text/plain;{spaces}version=0.0.4;{spaces}q={text_text}");
        let mut accept = if om_first { format!("{om},{spaces}{text}") } else { format!("{text},{spaces}{om}") };
        if upper {
            accept = accept.to_ascii_uppercase();
        }
        let want = if om_q > 0.0 && om_q >= text_q { Format::OpenMetrics } else { Format::Text };
        prop_assert_eq!(Format::negotiate(Some(&accept)), want, "{}", accept);
    }

    #[test]
    fn each_format_is_chosen_by_its_own_content_type(format in prop_oneof![Just(Format::Text), Just(Format::OpenMetrics)]) {
        prop_assert_eq!(Format::negotiate(Some(format.content_type())), format);
        let _ = (TEXT_CONTENT_TYPE, OPENMETRICS_CONTENT_TYPE);
    }

    #[test]
    fn percent_encoding_round_trips(value in any::<String>()) {
        let encoded = fuzz::percent_encode(&value);
        prop_assert!(
            encoded.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~%".contains(&b)),
            "{}", encoded
        );
        prop_assert_eq!(fuzz::percent_decode(&encoded), Ok(value.clone()));
        prop_assert_eq!(fuzz::percent_decode_lossy(&encoded), value);
    }

    #[test]
    fn percent_decoding_never_panics(value in hostile()) {
        let strict = fuzz::percent_decode(&value);
        let lossy = fuzz::percent_decode_lossy(&value);
        if let Ok(decoded) = strict {
            prop_assert_eq!(decoded, lossy, "lenient agrees where strict succeeds");
        }
        if !value.contains('%') {
            prop_assert_eq!(fuzz::percent_decode_lossy(&value), value);
        }
    }

    #[test]
    fn redaction_hides_credentials_and_query_values(
        user in "[A-Za-z0-9._-]{1,12}",
        password in "[A-Za-z0-9/?#@!$&'()*+,;=._~-]{1,16}",
        host in "[a-z]{1,8}(\\.[a-z]{1,8}){0,2}(:[0-9]{1,5})?",
        path in "(/[a-z0-9]{0,8}){0,3}",
        token in "[A-Za-z0-9]{6,16}",
        around in "[a-z ]{0,8}",
    ) {
        let secret_user = format!("U{user}");
        let secret = format!("P{password}");
        let url = format!("http://{secret_user}:{secret}@{host}{path}?token=T{token}&x=1");
        let text = format!("{around}`{url}`{around}");
        let shown = fuzz::redact_urls(&text);
        prop_assert!(!shown.contains(&format!("T{token}")), "{}", shown);
        prop_assert!(!shown.contains(&secret_user) || host.contains(&secret_user), "{}", shown);
        prop_assert!(shown.contains(&host), "{}", shown);
        prop_assert_eq!(fuzz::redact_urls(&shown), shown.clone(), "idempotent");
        if !password.contains(['`']) {
            prop_assert!(!shown.contains(&secret), "{}", shown);
        }
    }

    #[test]
    fn redaction_never_panics(text in hostile()) {
        let shown = fuzz::redact_urls(&text);
        if !text.contains("://") {
            prop_assert_eq!(shown, text);
        }
    }

    #[test]
    fn durations_round_trip(n in 1u64..1_000_000_000, unit in 0usize..4) {
        let (text, want) = match unit {
            0 => (format!("{n}ms"), Duration::from_millis(n)),
            1 => (format!("{n}s"), Duration::from_secs(n)),
            2 => (format!("{n}us"), Duration::from_micros(n)),
            _ => (format!("{}m{}s", n / 60, n % 60), Duration::from_secs(n)),
        };
        prop_assert_eq!(fuzz::setting_duration(&text), Ok(want));
        prop_assert_eq!(fuzz::setting_millis(&n.to_string()), Ok(Duration::from_millis(n)));
    }

    #[test]
    fn settings_readers_never_panic(text in hostile()) {
        let _ = fuzz::setting_duration(&text);
        let _ = parse_duration(&text, BareNumber::Rejected);
        let _ = fuzz::setting_millis(&text);
        let _ = fuzz::setting_positive(&text);
        let _ = fuzz::setting_pairs(&text);
        let boolean = fuzz::setting_boolean(&text);
        let lower = text.to_ascii_lowercase();
        prop_assert_eq!(boolean.is_ok(), lower == "true" || lower == "false");
    }

    #[test]
    fn positive_numbers_round_trip(n in 1usize..usize::MAX) {
        prop_assert_eq!(fuzz::setting_positive(&n.to_string()), Ok(n));
    }

    #[test]
    fn pairs_round_trip(pairs in proptest::collection::vec(("\\PC{1,8}", "\\PC{0,8}"), 0..6)) {
        let text: Vec<String> = pairs
            .iter()
            .map(|(k, v)| format!("{}={}", fuzz::percent_encode(k), fuzz::percent_encode(v)))
            .collect();
        prop_assert_eq!(fuzz::setting_pairs(&text.join(",")), Ok(pairs));
    }

    #[test]
    fn bucket_bounds_are_accepted_exactly_when_valid(bounds in proptest::collection::vec(
        prop_oneof![any::<f64>(), -1e3f64..1e3, Just(f64::NAN), Just(f64::INFINITY)], 0..8)
    ) {
        let valid = !bounds.is_empty()
            && bounds.iter().all(|b| b.is_finite())
            && bounds.windows(2).all(|w| w[0] < w[1]);
        prop_assert_eq!(fuzz::bucket_bounds(&bounds).is_ok(), valid, "{:?}", bounds);
    }

    #[test]
    fn propagation_headers_never_panic(
        traceparent in hostile(),
        tracestate in hostile(),
        baggage in hostile(),
        b3 in hostile(),
        b3_trace in hostile(),
        b3_span in hostile(),
        b3_sampled in hostile(),
    ) {
        let mut headers = http::HeaderMap::new();
        for (name, value) in [
            ("traceparent", &traceparent),
            ("tracestate", &tracestate),
            ("baggage", &baggage),
            ("b3", &b3),
            ("x-b3-traceid", &b3_trace),
            ("x-b3-spanid", &b3_span),
            ("x-b3-sampled", &b3_sampled),
        ] {
            if let Ok(value) = http::HeaderValue::from_str(value) {
                headers.append(name, value);
            }
        }
        for formats in [
            &[Propagation::TraceContext, Propagation::Baggage][..],
            &[Propagation::B3Single, Propagation::TraceContext],
            &[Propagation::B3Multi],
        ] {
            let propagator = Propagator::new(formats);
            let context = propagator.extract(&headers);
            // Whatever was read, it writes back something that reads the same.
            let mut out = http::HeaderMap::new();
            propagator.inject_context(&context, &mut out);
            let again = propagator.extract(&out);
            prop_assert_eq!(again.trace_id(), context.trace_id());
        }
    }

    #[test]
    fn traceparent_round_trips(trace in "[0-9a-f]{32}", span in "[0-9a-f]{16}", sampled in any::<bool>()) {
        prop_assume!(trace != "0".repeat(32) && span != "0".repeat(16));
        let value = format!("00-{trace}-{span}-0{}", u8::from(sampled));
        let mut headers = http::HeaderMap::new();
        headers.insert("traceparent", value.parse().unwrap());
        let w3c = Propagator::new(&[Propagation::TraceContext]);
        let context = w3c.extract(&headers);
        prop_assert_eq!(context.trace_id(), Some(trace.clone()));
        prop_assert_eq!(context.is_sampled(), sampled);
        let mut b3 = http::HeaderMap::new();
        Propagator::new(&[Propagation::B3Single]).inject_context(&context, &mut b3);
        let back = Propagator::new(&[Propagation::B3Single]).extract(&b3);
        prop_assert_eq!(back.trace_id(), Some(trace));
    }

    #[test]
    fn sql_summaries_never_panic_and_never_hold_literals(
        sql in prop_oneof![
            hostile(),
            "(SELECT|select|INSERT INTO|UPDATE|DELETE FROM|WITH x AS \\(SELECT) [a-z_\\.\" ]{1,20}( WHERE [a-z]+ (=|IN \\() ?('[^']{0,8}'|[0-9]{1,6}|\\$1|\\?)\\)?){0,2}",
        ],
        system in prop_oneof![Just("postgresql"), Just("sqlite"), Just("mysql")],
        secret in "[A-Z]{6}[0-9]{4}",
    ) {
        let (summary, operation, collection) = fuzz::sql_summary(&sql, system);
        prop_assert!(summary.len() <= 255, "{}", summary);
        // Operation and table come from the same parse: the summary holds them.
        if let Some(operation) = &operation {
            prop_assert!(summary.contains(operation.as_str()), "{} / {}", summary, operation);
        }
        if let Some(collection) = &collection {
            prop_assert!(summary.contains(collection.as_str()), "{} / {}", summary, collection);
        }
        // A literal never reaches the summary or the sanitised text.
        let with_literal = format!("SELECT a FROM t WHERE b = '{secret}' AND c = 4{}", secret.len());
        let (summary, ..) = fuzz::sql_summary(&with_literal, system);
        prop_assert!(!summary.contains(&secret), "{}", summary);
        let sanitized = fuzz::sql_sanitize(&with_literal, system);
        prop_assert!(!sanitized.contains(&secret), "{}", sanitized);
        // Sanitising is idempotent.
        let once = fuzz::sql_sanitize(&sql, system);
        prop_assert_eq!(fuzz::sql_sanitize(&once, system), once.clone());
    }
}
