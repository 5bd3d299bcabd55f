//! `series!(METRIC { label: "value", … })`: the series of a call site whose label values
//! are literals, resolved to `static` storage at compile time.
//!
//! ```text
//! {
//!     const VALUES: &[&str] = &METRIC { pipeline: "orders" }.__flext_values(); // names checked here
//!     static SITE: Site<<METRIC<'static> as Labels>::Store> = Site::new(&METRIC, VALUES);
//!     inventory::submit! { SiteEntry::new(&SITE) }
//!     SITE.series()
//! }
//! ```

use proc_macro2::{Span, TokenStream};
use quote::quote;
use syn::parse::{Parse, ParseStream};
use syn::{Expr, ExprStruct, Ident, Path, PathArguments, Token, parse_quote};

use crate::attr::{crate_or_default, private};
use crate::errors::Errors;

struct Input {
    krate: Option<Path>,
    labels: ExprStruct,
}

impl Parse for Input {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let krate = if input.peek(Token![crate]) && input.peek2(Token![=]) {
            input.parse::<Token![crate]>()?;
            input.parse::<Token![=]>()?;
            let path = crate::attr::crate_path(input)?;
            input.parse::<Token![,]>()?;
            Some(path)
        } else {
            None
        };
        let labels: ExprStruct = input.parse().map_err(|e| {
            syn::Error::new(
                e.span(),
                "expected a metric with literal label values: `series!(ETL_ROWS_TOTAL { pipeline: \"orders\" })`",
            )
        })?;
        input.parse::<Option<Token![,]>>()?;
        Ok(Input { krate, labels })
    }
}

/// Whether `expr` is a string literal.
pub(crate) fn is_str_literal(expr: &Expr) -> bool {
    match expr {
        Expr::Lit(lit) => matches!(lit.lit, syn::Lit::Str(_)),
        Expr::Group(g) => is_str_literal(&g.expr),
        Expr::Paren(p) => is_str_literal(&p.expr),
        _ => false,
    }
}

/// The metric path of a label struct literal with `<'static>` on its last segment.
pub(crate) fn static_labels_type(path: &Path) -> Path {
    let mut path = path.clone();
    if let Some(last) = path.segments.last_mut() {
        last.arguments = PathArguments::AngleBracketed(parse_quote!(<'static>));
    }
    path
}

/// The block that declares a call site's static storage and returns its series handle.
pub(crate) fn site(krate: &Path, labels: &ExprStruct) -> TokenStream {
    let private = private(krate);
    let path = &labels.path;
    let ty = static_labels_type(path);
    let values = Ident::new("FLEXT_OBSERVABILITY_VALUES", Span::mixed_site());
    let site = Ident::new("FLEXT_OBSERVABILITY_SITE", Span::mixed_site());
    quote! {
        {
            const #values: &[&::core::primitive::str] = &#labels.__flext_values();
            static #site: #private::Site<<#ty as #private::Labels>::Store> =
                #private::Site::new(&#path, #values);
            #private::inventory::submit! { #private::SiteEntry::new(&#site) }
            #site.series()
        }
    }
}

pub(crate) fn expand(input: TokenStream) -> TokenStream {
    let input = match syn::parse2::<Input>(input) {
        Ok(input) => input,
        Err(e) => return e.to_compile_error(),
    };
    let mut errors = Errors::default();
    let labels = &input.labels;
    if let Some(rest) = &labels.rest {
        errors.error_at(rest, "`..` is not allowed here: give every label its value");
    }
    if let Some(last) = labels.path.segments.last()
        && !last.arguments.is_none()
    {
        errors.error_at(
            &last.arguments,
            "remove the generic arguments: write the metric's name only",
        );
    }
    for field in &labels.fields {
        if !is_str_literal(&field.expr) {
            errors.error_at(
                &field.expr,
                "`series!` takes literal label values, which select static storage at compile time: for values known only at run time, call `.series()` on the label struct (`METRIC { label: value }.series()`)",
            );
        }
    }
    if !errors.is_empty() {
        return errors.into_compile_errors();
    }
    site(&crate_or_default(input.krate), labels)
}
