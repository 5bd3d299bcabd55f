//! `#[business_metric]` on a declaration or a function, the validated facade macros
//! (`counter!`, `gauge!`, `histogram!`) and `series!`.

mod decl;
mod expand;
mod facade;
mod func;
mod options;
mod series;

use proc_macro2::TokenStream;

use crate::errors::{Errors, finish};
use crate::function::FnParts;

pub(crate) use facade::expand as facade;
pub(crate) use series::expand as series;

pub(crate) fn expand(args: TokenStream, input: TokenStream) -> TokenStream {
    let mut errors = Errors::default();
    if let Ok(declaration) = syn::parse2::<decl::Declaration>(input.clone()) {
        let Some(metric) = decl::validate(args, &declaration, &mut errors) else {
            // A bodyless `static` of an unknown type is not valid Rust: re-emitting it
            // would only add a second error on the same line.
            return errors.into_compile_errors();
        };
        // The expansion does not depend on the name being valid, so it is emitted even
        // with errors: code that uses the metric keeps compiling, and only the naming
        // errors are reported.
        let mut out = errors.into_compile_errors();
        out.extend(expand::declaration(&declaration, &metric));
        return out;
    }
    if let Ok(function) = syn::parse2::<FnParts>(input.clone()) {
        return func::expand(args, &function, input);
    }
    let span = item_keyword_span(&input);
    errors.error_span(
        span,
        "`#[business_metric]` applies to a declaration (`static ETL_ROWS_TOTAL: Counter;`) or to a function",
    );
    finish(errors, TokenStream::new(), input)
}

/// The span of an item's keyword (`struct`, `enum`, …) for "does not apply here" errors:
/// the first token after the attributes and the visibility.
fn item_keyword_span(input: &TokenStream) -> proc_macro2::Span {
    use proc_macro2::TokenTree;
    let mut tokens = input.clone().into_iter().peekable();
    while let Some(token) = tokens.next() {
        match &token {
            // `#[…]`: skip the bracket group too.
            TokenTree::Punct(p) if p.as_char() == '#' => {
                tokens.next();
            }
            TokenTree::Ident(i) if i == "pub" => {
                if let Some(TokenTree::Group(g)) = tokens.peek()
                    && g.delimiter() == proc_macro2::Delimiter::Parenthesis
                {
                    tokens.next();
                }
            }
            other => return other.span(),
        }
    }
    proc_macro2::Span::call_site()
}
