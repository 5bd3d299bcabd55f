//! The constant data of checked alerts, registered with `inventory`. Infallible.
//!
//! ```text
//! static FLEXT_OBSERVABILITY_ALERTS: [DeclaredAlert; 1] = [DeclaredAlert { name: "…", … }];
//! inventory::submit! { AlertEntry { subject, alerts: &FLEXT_OBSERVABILITY_ALERTS, file, line } }
//! ```
//!
//! Nothing here is on a monitored call's path: the runtime reads the counters that exist
//! anyway, on its own schedule.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote};

use super::{Alert, Condition};

/// The statics of `alerts` about `subject` (an `AlertSubject` expression), or nothing
/// when there are none.
pub(crate) fn statics(
    alerts: &[Alert],
    subject: &TokenStream,
    private: &TokenStream,
) -> TokenStream {
    if alerts.is_empty() {
        return TokenStream::new();
    }
    let items = alerts.iter().map(|a| alert(a, private));
    let n = alerts.len();
    let table = format_ident!("FLEXT_OBSERVABILITY_ALERTS", span = Span::mixed_site());
    quote! {
        static #table: [#private::DeclaredAlert; #n] = [#(#items),*];
        #private::inventory::submit! {
            #private::AlertEntry {
                subject: #subject,
                alerts: &#table,
                file: ::core::file!(),
                line: ::core::line!(),
            }
        }
    }
}

#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)] // checked: 0 to 30 days
fn nanos(seconds: f64) -> u64 {
    (seconds * 1e9).round() as u64
}

fn alert(a: &Alert, private: &TokenStream) -> TokenStream {
    let condition = match a.condition {
        Condition::ErrorRateAbove(r) => quote!(#private::AlertCondition::ErrorRateAbove(#r)),
        Condition::ErrorsAbove(n) => quote!(#private::AlertCondition::ErrorsAbove(#n)),
        Condition::LatencyAbove { quantile, seconds } => quote!(
            #private::AlertCondition::LatencyAbove { quantile: #quantile, seconds: #seconds }
        ),
        Condition::Below(level) => quote!(#private::AlertCondition::Below(#level)),
        Condition::Above(level) => quote!(#private::AlertCondition::Above(#level)),
    };
    let (name, summary, description, runbook) =
        (&a.name, &a.summary, &a.description, &a.runbook_url);
    let (over, hold) = (nanos(a.over), nanos(a.hold));
    let severity = format_ident!("{}", a.severity);
    let labels = a.labels.iter().map(|(k, v)| quote!((#k, #v)));
    quote! {
        #private::DeclaredAlert {
            name: #name,
            condition: #condition,
            over: ::core::time::Duration::from_nanos(#over),
            hold: ::core::time::Duration::from_nanos(#hold),
            severity: #private::Severity::#severity,
            summary: #summary,
            description: #description,
            runbook_url: #runbook,
            labels: &[#(#labels),*],
        }
    }
}
