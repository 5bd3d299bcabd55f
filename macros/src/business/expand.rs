//! Code generation for a declaration. Infallible: everything was validated before.
//!
//! ```text
//! /// Rows written by ETL pipelines.
//! #[business_metric(labels(pipeline, target))]
//! pub static ETL_ROWS_WRITTEN_TOTAL: Counter;
//! ```
//! becomes
//! ```text
//! /// Rows written by ETL pipelines.
//! pub static ETL_ROWS_WRITTEN_TOTAL: Counter<ETL_ROWS_WRITTEN_TOTAL<'static>> =
//!     <Counter<…>>::__declare(MetricMeta { name: "etl_rows_written_total", … });
//! inventory::submit! { BusinessEntry::new(&ETL_ROWS_WRITTEN_TOTAL) }
//!
//! /// Label values of ETL_ROWS_WRITTEN_TOTAL.        // same name, type namespace
//! pub struct ETL_ROWS_WRITTEN_TOTAL<'a> { pub pipeline: &'a str, pub target: &'a str }
//! impl ETL_ROWS_WRITTEN_TOTAL<'_> { fn inc(self); fn inc_by(self, n); fn series(self); }
//! ```
//! The label struct shares the static's name, so one `use` imports both, and a call site
//! reads like a Prometheus selector: `ETL_ROWS_WRITTEN_TOTAL { pipeline, target }.inc_by(n)`.

use std::fmt::Write as _;

use flext_observability_naming::MetricKind;
use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::{GenericArgument, PathArguments, Type, parse_quote};

use super::decl::{Buckets, Declaration, Metric};
use crate::attr::private;

pub(crate) fn declaration(decl: &Declaration, metric: &Metric) -> TokenStream {
    let krate = &metric.krate;
    let private = private(krate);
    let Declaration {
        attrs, vis, ident, ..
    } = decl;
    let span = ident.span();
    let has_labels = !metric.labels.is_empty();

    let labels_ty: Type = if has_labels {
        parse_quote!(#ident<'static>)
    } else {
        parse_quote!(#private::NoLabels)
    };
    let (bounds, nb) = match &metric.buckets {
        Some(Buckets::Given(bounds)) => {
            let nb = bounds.len() + 1;
            (quote!(&[#(#bounds),*]), quote!(#nb))
        }
        Some(Buckets::DefaultSeconds) => (
            quote!(#private::DEFAULT_BOUNDS),
            quote!({ #private::DEFAULT_NB }),
        ),
        None => (quote!(&[]), quote!(1)),
    };
    let mut ty = metric.type_path.clone();
    if let Some(last) = ty.path.segments.last_mut() {
        let mut args: Vec<GenericArgument> = Vec::new();
        if has_labels || matches!(metric.kind, MetricKind::Histogram | MetricKind::Info) {
            args.push(GenericArgument::Type(labels_ty.clone()));
        }
        if metric.kind == MetricKind::Histogram {
            args.push(GenericArgument::Const(parse_quote!(#nb)));
        }
        // Replaces what the user wrote (an error reported already): only the macro's
        // arguments fit the type's bounds.
        last.arguments = if args.is_empty() {
            PathArguments::None
        } else {
            PathArguments::AngleBracketed(parse_quote!(<#(#args),*>))
        };
    }

    let kind = match metric.kind {
        MetricKind::Counter => quote!(Counter),
        MetricKind::Gauge => quote!(Gauge),
        MetricKind::Histogram => quote!(Histogram),
        MetricKind::Info => quote!(Info),
    };
    let name = &metric.name;
    let help = &metric.help;
    let unit = metric.unit.as_ref().map_or_else(
        || quote!(::core::option::Option::None),
        |u| quote!(::core::option::Option::Some(#u)),
    );
    let label_names: Vec<&str> = metric.labels.iter().map(|(_, n)| n.as_str()).collect();
    let max_series = metric.max_series;
    let summary = summary(metric);
    let counter = metric.kind == MetricKind::Counter;
    let alerts = crate::alert::statics(
        &metric.alerts,
        &quote!(#private::AlertSubject::Metric { name: #name, counter: #counter }),
        &private,
    );

    let declaration = quote_spanned! {span=>
        #(#attrs)*
        #[doc = ""]
        #[doc = #summary]
        #vis static #ident: #ty = <#ty>::__declare(#private::MetricMeta {
            name: #name,
            help: #help,
            kind: #private::MetricKind::#kind,
            unit: #unit,
            labels: &[#(#label_names),*],
            bounds: #bounds,
            max_series: #max_series,
            file: ::core::file!(),
            line: ::core::line!(),
            module: ::core::module_path!(),
        });
        const _: () = {
            #private::inventory::submit! {
                #private::BusinessEntry::new(&#ident)
            }
            #alerts
        };
    };
    if !has_labels {
        return declaration;
    }
    let labels = label_struct(decl, metric, &private, &nb);
    quote! {
        #declaration
        #labels
    }
}

/// One line for the static's docs: name, kind, unit, labels.
fn summary(metric: &Metric) -> String {
    let mut s = format!(
        "Business metric `{}`: {}",
        metric.name,
        metric.kind.as_str()
    );
    if let Some(unit) = &metric.unit {
        let _ = write!(s, " in {unit}");
    }
    if metric.labels.is_empty() {
        s.push_str(", no labels.");
    } else {
        let names: Vec<String> = metric
            .labels
            .iter()
            .map(|(_, n)| format!("`{n}`"))
            .collect();
        let _ = write!(
            s,
            ", labels {}; record through the label struct of the same name.",
            names.join(", ")
        );
    }
    s
}

fn label_struct(
    decl: &Declaration,
    metric: &Metric,
    private: &TokenStream,
    nb: &TokenStream,
) -> TokenStream {
    let Declaration { vis, ident, .. } = decl;
    let span = ident.span();
    let fields: Vec<&syn::Ident> = metric.labels.iter().map(|(f, _)| f).collect();
    let field_docs: Vec<String> = metric
        .labels
        .iter()
        .map(|(_, n)| format!("Value of the `{n}` label."))
        .collect();
    let arity = fields.len();
    let doc = format!(
        "Label values of [`{ident}`](static@{ident}) (`{}`): `{ident} {{ {} }}.{}`.",
        metric.name,
        metric
            .labels
            .iter()
            .map(|(_, n)| format!("{n}: \"…\""))
            .collect::<Vec<_>>()
            .join(", "),
        match metric.kind {
            MetricKind::Counter => "inc()",
            MetricKind::Gauge | MetricKind::Info => "set(…)",
            MetricKind::Histogram => "observe(…)",
        }
    );
    let values = quote!(&[#(self.#fields),*]);
    let lifetime = syn::Lifetime::new("'flext", Span::mixed_site());
    let (methods, store) = methods(metric.kind, vis, ident, &values, private, nb);
    quote_spanned! {span=>
        #[doc = #doc]
        // Named after the static on purpose; label names are checked by the naming rules
        // (snake case included), and users call only some of the methods.
        #[allow(non_camel_case_types, non_snake_case, dead_code, clippy::upper_case_acronyms)]
        #[derive(::core::clone::Clone, ::core::marker::Copy, ::core::fmt::Debug)]
        #vis struct #ident<#lifetime> {
            #(
                #[doc = #field_docs]
                #vis #fields: &#lifetime ::core::primitive::str,
            )*
        }

        #[allow(dead_code)]
        impl<#lifetime> #ident<#lifetime> {
            #methods

            #[doc(hidden)]
            #vis const fn __flext_values(&self) -> [&#lifetime ::core::primitive::str; #arity] {
                [#(self.#fields),*]
            }
        }

        impl<#lifetime> #private::Labels for #ident<#lifetime> {
            type Store = #store;
        }
    }
}

/// The recording methods of a label struct, and the storage type of its call sites.
fn methods(
    kind: MetricKind,
    vis: &syn::Visibility,
    ident: &syn::Ident,
    values: &TokenStream,
    private: &TokenStream,
    nb: &TokenStream,
) -> (TokenStream, TokenStream) {
    match kind {
        MetricKind::Counter => (
            quote! {
                /// Adds one to this series.
                #[inline]
                #vis fn inc(self) {
                    #ident.__series(#values).inc();
                }
                /// Adds `n` to this series.
                #[inline]
                #vis fn inc_by(self, n: impl #private::Count) {
                    #ident.__series(#values).inc_by(n);
                }
                /// This series, to keep and record into without looking it up again.
                #[inline]
                #vis fn series(self) -> #private::CounterSeries {
                    #ident.__series(#values)
                }
            },
            quote!(#private::CounterShards),
        ),
        MetricKind::Gauge => (
            quote! {
                /// Sets this series.
                #[inline]
                #vis fn set(self, value: impl #private::Measure) {
                    #ident.__series(#values).set(value);
                }
                /// Adds `delta` to this series.
                #[inline]
                #vis fn add(self, delta: impl #private::Measure) {
                    #ident.__series(#values).add(delta);
                }
                /// Subtracts `delta` from this series.
                #[inline]
                #vis fn sub(self, delta: impl #private::Measure) {
                    #ident.__series(#values).sub(delta);
                }
                /// This series, to keep and record into without looking it up again.
                #[inline]
                #vis fn series(self) -> #private::GaugeSeries {
                    #ident.__series(#values)
                }
            },
            quote!(#private::GaugeStore),
        ),
        MetricKind::Histogram => (
            quote! {
                /// Records one observation in this series.
                #[inline]
                #vis fn observe(self, value: impl #private::Measure) {
                    #ident.__series(#values).observe(value);
                }
                /// This series, to keep and record into without looking it up again.
                #[inline]
                #vis fn series(self) -> #private::HistogramSeries {
                    #ident.__series(#values)
                }
            },
            quote!(#private::HistogramShards<#nb>),
        ),
        MetricKind::Info => (
            quote! {
                /// Sets this info series (value 1).
                #[inline]
                #vis fn set(self) {
                    #ident.__set(#values);
                }
            },
            quote!(#private::InfoStore),
        ),
    }
}
