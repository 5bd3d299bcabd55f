//! The function-shape toolkit every attribute on functions shares: the function as
//! written ([`FnParts`]), the signatures an attribute refuses ([`refuse`]), the types
//! generated code may name ([`types`]) and the rewrapping of the body ([`FnParts::rewrap`]).

mod types;
mod wrap;

use proc_macro2::{Delimiter, Group, TokenStream};
use quote::{ToTokens, quote};
use syn::parse::{Parse, ParseStream};
use syn::{Attribute, FnArg, Ident, ImplItemFn, Pat, Signature, Token, Visibility};

use crate::errors::Errors;

pub(crate) use types::erase_lifetimes;

/// A function as written: signature parsed, body kept as tokens so that bodies syn
/// cannot parse still get instrumented (and rust-analyzer keeps working on them).
pub(crate) struct FnParts {
    pub(crate) attrs: Vec<Attribute>,
    pub(crate) vis: Visibility,
    pub(crate) defaultness: Option<Token![default]>,
    pub(crate) sig: Signature,
    /// `#![…]` at the top of the body: they must stay at the top of the function's body,
    /// not move into the closure or async block that wraps the statements.
    pub(crate) inner: Vec<Attribute>,
    /// The statements, without the inner attributes.
    pub(crate) body: Group,
}

/// Splits `{ #![…] statements }` into its inner attributes and a group of the rest.
fn split_inner(body: &Group) -> (Vec<Attribute>, Group) {
    let parser = |input: ParseStream<'_>| {
        let inner = input.call(Attribute::parse_inner)?;
        let rest: TokenStream = input.parse()?;
        Ok((inner, rest))
    };
    match syn::parse::Parser::parse2(parser, body.stream()) {
        Ok((inner, rest)) if !inner.is_empty() => {
            let mut group = Group::new(Delimiter::Brace, rest);
            group.set_span(body.span());
            (inner, group)
        }
        _ => (Vec::new(), body.clone()),
    }
}

impl Parse for FnParts {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let attrs = input.call(Attribute::parse_outer)?;
        let vis: Visibility = input.parse()?;
        let defaultness = input.parse()?;
        let sig: Signature = input.parse()?;
        let body: Group = input.parse()?;
        if body.delimiter() != Delimiter::Brace {
            return Err(syn::Error::new(body.span(), "expected a function body"));
        }
        if !input.is_empty() {
            return Err(input.error("unexpected tokens after the function body"));
        }
        let (inner, body) = split_inner(&body);
        Ok(FnParts {
            attrs,
            vis,
            defaultness,
            sig,
            inner,
            body,
        })
    }
}

/// A method of an impl block, which syn has already parsed.
impl From<ImplItemFn> for FnParts {
    fn from(method: ImplItemFn) -> Self {
        // syn keeps a method's inner attributes among its attributes.
        let (inner, attrs): (Vec<Attribute>, Vec<Attribute>) = method
            .attrs
            .into_iter()
            .partition(|a| matches!(a.style, syn::AttrStyle::Inner(_)));
        FnParts {
            attrs,
            inner,
            vis: method.vis,
            defaultness: method.modifiers.defaultness,
            sig: method.sig,
            body: Group::new(
                Delimiter::Brace,
                method
                    .block
                    .stmts
                    .iter()
                    .map(ToTokens::to_token_stream)
                    .collect(),
            ),
        }
    }
}

impl FnParts {
    /// Everything before the body, then `body`.
    fn to_tokens_with(&self, body: &Group, tokens: &mut TokenStream) {
        for attr in &self.attrs {
            attr.to_tokens(tokens);
        }
        self.vis.to_tokens(tokens);
        self.defaultness.to_tokens(tokens);
        self.sig.to_tokens(tokens);
        body.to_tokens(tokens);
    }
}

/// The function exactly as written.
impl ToTokens for FnParts {
    fn to_tokens(&self, tokens: &mut TokenStream) {
        let inner = &self.inner;
        let stmts = self.body.stream();
        let mut body = Group::new(Delimiter::Brace, quote!(#(#inner)* #stmts));
        body.set_span(self.body.span());
        self.to_tokens_with(&body, tokens);
    }
}

/// What an attribute says about a signature it cannot wrap; `None` accepts that shape.
pub(crate) struct Refusals {
    pub(crate) const_fn: Option<&'static str>,
    pub(crate) unsafe_fn: Option<&'static str>,
    pub(crate) variadic: &'static str,
}

/// Reports each refused part of `sig` on its own token.
pub(crate) fn refuse(sig: &Signature, refusals: &Refusals, errors: &mut Errors) {
    if let (Some(constness), Some(message)) = (&sig.constness, refusals.const_fn) {
        errors.error_at(constness, message);
    }
    if let (syn::Safety::Unsafe(unsafety), Some(message)) = (&sig.safety, refusals.unsafe_fn) {
        errors.error_at(unsafety, message);
    }
    if let Some(variadic) = &sig.variadic {
        errors.error_at(variadic, refusals.variadic);
    }
}

/// Names of the arguments bound to a plain identifier (`x`, `mut x`), `self` excluded.
pub(crate) fn arg_names(sig: &Signature) -> Vec<Ident> {
    sig.inputs
        .iter()
        .filter_map(|input| match input {
            FnArg::Typed(pat) => match &*pat.pat {
                Pat::Ident(p) if p.subpat.is_none() => Some(p.ident.clone()),
                _ => None,
            },
            FnArg::Receiver(_) => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use quote::{ToTokens, quote};

    use super::{FnParts, Refusals, arg_names, refuse};
    use crate::errors::Errors;

    fn parse(tokens: proc_macro2::TokenStream) -> FnParts {
        syn::parse2(tokens).unwrap()
    }

    #[test]
    fn prints_the_function_as_written() {
        let written = quote! {
            /// Doc.
            #[inline]
            pub(crate) async unsafe fn f<T: Copy>(x: T) -> T where T: Send {
                #![allow(unused)]
                let y = x;
                y
            }
        };
        let parts = parse(written.clone());
        assert_eq!(parts.inner.len(), 1);
        assert!(!parts.body.stream().to_string().contains("allow"));
        assert_eq!(parts.to_token_stream().to_string(), written.to_string());
    }

    #[test]
    fn keeps_a_body_syn_cannot_parse() {
        let parts = parse(quote!(fn f() { let = ; }));
        assert_eq!(parts.body.stream().to_string(), "let = ;");
    }

    #[test]
    fn rejects_what_is_not_one_function() {
        for tokens in [
            quote! { fn f(); },
            quote! { fn f() {} fn g() {} },
            quote! { struct S; },
        ] {
            assert!(syn::parse2::<FnParts>(tokens).is_err());
        }
    }

    #[test]
    fn a_method_keeps_its_inner_attributes_at_the_top() {
        let method: syn::ImplItemFn = syn::parse2(quote! {
            #[cold]
            default fn m(&self) { #![allow(unused)] 1 }
        })
        .unwrap();
        let parts = FnParts::from(method);
        assert_eq!(parts.attrs.len(), 1);
        assert_eq!(parts.inner.len(), 1);
        assert!(parts.defaultness.is_some());
        assert_eq!(
            parts.to_token_stream().to_string(),
            quote!(#[cold] default fn m(&self) { #![allow(unused)] 1 }).to_string()
        );
    }

    #[test]
    fn refusals_point_at_their_token_in_order() {
        let sig: syn::Signature =
            syn::parse2(quote!(const unsafe extern "C" fn f(x: i32, ...))).unwrap();
        let refusals = Refusals {
            const_fn: Some("no const"),
            unsafe_fn: None,
            variadic: "no variadic",
        };
        let mut errors = Errors::default();
        refuse(&sig, &refusals, &mut errors);
        let shown = errors.into_compile_errors().to_string();
        let (c, v) = (
            shown.find("no const").unwrap(),
            shown.find("no variadic").unwrap(),
        );
        assert!(c < v, "{shown}");
        assert!(!shown.contains("unsafe"));
    }

    #[test]
    fn plain_argument_names() {
        let sig: syn::Signature =
            syn::parse2(quote!(fn f(&self, a: u8, mut b: u8, (c, d): (u8, u8), e @ _: u8)))
                .unwrap();
        let names: Vec<String> = arg_names(&sig).iter().map(ToString::to_string).collect();
        assert_eq!(names, ["a", "b"]);
    }
}
