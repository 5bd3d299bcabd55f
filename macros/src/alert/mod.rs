//! `alert(..)`, shared by `#[monitor]` and `#[business_metric]`: parsed here into a form
//! that keeps every token's span, checked in [`validate`] against what it watches,
//! emitted by [`expand`] as the constant data the runtime registers.
//!
//! ```text
//! #[monitor(alert(name = "ChargeCardErrorRate", error_rate > 0.05, over = "10s", severity = "page"))]
//! #[business_metric(alert(below = 0.95, for = "5m", severity = "ticket", labels(team = "data")))]
//! ```

mod expand;
mod validate;
mod values;

use proc_macro2::{Span, TokenStream};
use syn::ext::IdentExt;
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{Expr, Ident, Token};

pub(crate) use expand::statics;
pub(crate) use validate::{Subject, check};

/// A comparison as written.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    Above,
    Below,
    AtLeast,
    AtMost,
    Equal,
    NotEqual,
}

impl Op {
    fn as_str(self) -> &'static str {
        match self {
            Op::Above => ">",
            Op::Below => "<",
            Op::AtLeast => ">=",
            Op::AtMost => "<=",
            Op::Equal => "==",
            Op::NotEqual => "!=",
        }
    }
}

/// One entry of `alert(..)`.
#[derive(Clone)]
pub(crate) enum Item {
    /// `key = value`.
    Pair { key: Ident, value: Expr },
    /// `labels(team = "payments", …)`.
    Labels {
        key: Ident,
        pairs: Vec<(Ident, Expr)>,
    },
    /// `measure > value`.
    Condition {
        measure: Ident,
        op: Op,
        op_tokens: TokenStream,
        value: Expr,
    },
    /// A bare word (`alert(page)`): reported by the checks.
    Bare(Ident),
}

/// One `alert(..)` as written.
#[derive(Clone)]
pub(crate) struct Spec {
    /// The `alert` keyword, where errors about the whole alert point.
    pub(crate) span: Span,
    pub(crate) items: Vec<Item>,
}

/// Parses the parenthesised part of `alert(..)` after the key of `meta`.
pub(crate) fn parse(meta: &syn::meta::ParseNestedMeta<'_>) -> syn::Result<Spec> {
    let span = meta.path.segments[0].ident.span();
    if !meta.input.peek(syn::token::Paren) {
        return Err(syn::Error::new(
            span,
            "`alert` takes its settings in parentheses: `alert(error_rate > 0.05, over = \"5m\")`",
        ));
    }
    let content;
    syn::parenthesized!(content in meta.input);
    let items = Punctuated::<Item, Token![,]>::parse_terminated(&content)?;
    Ok(Spec {
        span,
        items: items.into_iter().collect(),
    })
}

fn parse_op(input: ParseStream<'_>) -> syn::Result<Option<(Op, TokenStream)>> {
    // Two-character operators first: `>` also peeks at the start of `>=`.
    let two = [
        (input.peek(Token![>=]), Op::AtLeast),
        (input.peek(Token![<=]), Op::AtMost),
        (input.peek(Token![==]), Op::Equal),
        (input.peek(Token![!=]), Op::NotEqual),
    ];
    for (here, op) in two {
        if here {
            let tokens: TokenStream = match op {
                Op::AtLeast => quote::ToTokens::into_token_stream(input.parse::<Token![>=]>()?),
                Op::AtMost => quote::ToTokens::into_token_stream(input.parse::<Token![<=]>()?),
                Op::Equal => quote::ToTokens::into_token_stream(input.parse::<Token![==]>()?),
                _ => quote::ToTokens::into_token_stream(input.parse::<Token![!=]>()?),
            };
            return Ok(Some((op, tokens)));
        }
    }
    if input.peek(Token![>]) {
        let t = input.parse::<Token![>]>()?;
        return Ok(Some((Op::Above, quote::ToTokens::into_token_stream(t))));
    }
    if input.peek(Token![<]) {
        let t = input.parse::<Token![<]>()?;
        return Ok(Some((Op::Below, quote::ToTokens::into_token_stream(t))));
    }
    Ok(None)
}

impl Parse for Item {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        // `Ident::parse_any`: `for = "1m"` uses a keyword as its key.
        let key = input.call(Ident::parse_any)?;
        if let Some((op, op_tokens)) = parse_op(input)? {
            let value: Expr = input.parse()?;
            return Ok(Item::Condition {
                measure: key,
                op,
                op_tokens,
                value,
            });
        }
        if input.peek(Token![=]) {
            input.parse::<Token![=]>()?;
            let value: Expr = input.parse()?;
            return Ok(Item::Pair { key, value });
        }
        if input.peek(syn::token::Paren) {
            let content;
            syn::parenthesized!(content in input);
            let pairs = Punctuated::<LabelPair, Token![,]>::parse_terminated(&content)?;
            return Ok(Item::Labels {
                key,
                pairs: pairs.into_iter().map(|p| (p.name, p.value)).collect(),
            });
        }
        Ok(Item::Bare(key))
    }
}

struct LabelPair {
    name: Ident,
    value: Expr,
}

impl Parse for LabelPair {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let name = input.call(Ident::parse_any)?;
        input.parse::<Token![=]>()?;
        let value = input.parse()?;
        Ok(LabelPair { name, value })
    }
}

/// What the runtime's `AlertCondition` gets, checked.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Condition {
    ErrorRateAbove(f64),
    ErrorsAbove(u64),
    LatencyAbove { quantile: f64, seconds: f64 },
    Below(f64),
    Above(f64),
}

/// One alert, checked: what [`expand::statics`] emits.
#[derive(Clone, Debug)]
pub(crate) struct Alert {
    pub(crate) name: String,
    pub(crate) condition: Condition,
    /// Seconds; zero for a gauge.
    pub(crate) over: f64,
    /// Seconds (`for`).
    pub(crate) hold: f64,
    /// `Page`, `Ticket` or `Info`: the runtime's `Severity` variant.
    pub(crate) severity: &'static str,
    pub(crate) summary: String,
    pub(crate) description: String,
    pub(crate) runbook_url: String,
    pub(crate) labels: Vec<(String, String)>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(tokens: TokenStream) -> Vec<Item> {
        let parser = Punctuated::<Item, Token![,]>::parse_terminated;
        syn::parse::Parser::parse2(parser, tokens)
            .unwrap()
            .into_iter()
            .collect()
    }

    #[test]
    fn entries() {
        let parsed = items(quote::quote!(
            name = "X", error_rate > 0.05, for = "1m", labels(team = "a"), latency_p99 >= "1s", page
        ));
        assert!(matches!(&parsed[0], Item::Pair { key, .. } if key == "name"));
        assert!(
            matches!(&parsed[1], Item::Condition { measure, op: Op::Above, .. } if measure == "error_rate")
        );
        assert!(matches!(&parsed[2], Item::Pair { key, .. } if key == "for"));
        assert!(matches!(&parsed[3], Item::Labels { pairs, .. } if pairs.len() == 1));
        assert!(matches!(
            &parsed[4],
            Item::Condition {
                op: Op::AtLeast,
                ..
            }
        ));
        assert!(matches!(&parsed[5], Item::Bare(word) if word == "page"));
        assert_eq!(Op::NotEqual.as_str(), "!=");
    }
}
