//! Rewrapping a function's body: the statements move into a closure (or an async block)
//! whose value the generated code observes, so `return` and `?` leave the closure and
//! not the function, and everything else about the function stays as written.

use proc_macro2::{Delimiter, Group, TokenStream};
use quote::{ToTokens, quote};
use syn::Type;

use super::FnParts;
use super::types::return_annotation;

/// The user's statements, ready to run inside the generated body.
pub(crate) struct Body {
    private: TokenStream,
    /// The statements in braces, inside `unsafe { … }` for an `unsafe fn`: statements
    /// that rely on the function's own unsafety keep compiling once moved.
    statements: TokenStream,
    /// The declared return type for the turbofish; `None` for `!`.
    annotation: Option<Type>,
}

impl Body {
    /// `call::<R, _>(move || { … })`, the statements run at once; `R` makes a mismatched
    /// `return` an error about the declared type. For `!`, `call(move || -> ! { … })`.
    pub(crate) fn call(&self) -> TokenStream {
        let (private, statements) = (&self.private, &self.statements);
        if let Some(ty) = &self.annotation {
            quote!(#private::call::<#ty, _>(move || #statements))
        } else {
            quote!(#private::call(move || -> ! #statements))
        }
    }

    /// Whether the function returns `!`.
    pub(crate) fn returns_never(&self) -> bool {
        self.annotation.is_none()
    }

    /// `future::<R, _>(async move { … })`, a future to await; `R` as for [`Body::call`].
    pub(crate) fn future(&self) -> TokenStream {
        let (private, statements) = (&self.private, &self.statements);
        let turbofish = self.annotation.as_ref().map(|ty| quote!(::<#ty, _>));
        quote!(#private::future #turbofish (async move #statements))
    }
}

impl FnParts {
    /// The function with its statements replaced by what `wrap` makes of them: attributes,
    /// visibility, signature and inner attributes stay as written. `private` is the path
    /// of the facade's `__private` module.
    pub(crate) fn rewrap(
        &self,
        private: &TokenStream,
        wrap: impl FnOnce(&Body) -> TokenStream,
    ) -> TokenStream {
        let body = &self.body;
        let statements = if matches!(self.sig.safety, syn::Safety::Unsafe(_)) {
            quote!({ unsafe #body })
        } else {
            body.to_token_stream()
        };
        let wrapped = wrap(&Body {
            private: private.clone(),
            statements,
            annotation: return_annotation(&self.sig.output),
        });
        let inner = &self.inner;
        let body = Group::new(Delimiter::Brace, quote!(#(#inner)* #wrapped));
        let mut tokens = TokenStream::new();
        self.to_tokens_with(&body, &mut tokens);
        tokens
    }
}

#[cfg(test)]
mod tests {
    use proc_macro2::TokenStream;
    use quote::quote;

    use crate::function::FnParts;

    /// The function rewrapped as `let r = <call or future>; r`.
    fn rewrapped(function: TokenStream, future: bool) -> String {
        let function: FnParts = syn::parse2(function).unwrap();
        function
            .rewrap(&quote!(p), |body| {
                let run = if future { body.future() } else { body.call() };
                quote!(let r = #run; r)
            })
            .to_string()
    }

    // Brace-delimited `quote!`s: rustfmt leaves their tokens as written.

    #[test]
    fn statements_run_in_a_closure_typed_by_the_declared_return() {
        let written = quote! { #[a] pub fn f(x: u8) -> impl Copy { #![b] x } };
        let expected = quote! {
            #[a] pub fn f(x: u8) -> impl Copy { #![b] let r = p::call::<_, _>(move || { x }); r }
        };
        assert_eq!(rewrapped(written, false), expected.to_string());
        let written = quote! { fn f() { g() } };
        let expected = quote! { fn f() { let r = p::call::<(), _>(move || { g() }); r } };
        assert_eq!(rewrapped(written, false), expected.to_string());
    }

    #[test]
    fn a_never_returning_body_says_so() {
        let written = quote! { fn f() -> ! { loop {} } };
        let expected = quote! { fn f() -> ! { let r = p::call(move || -> ! { loop {} }); r } };
        assert_eq!(rewrapped(written, false), expected.to_string());
    }

    #[test]
    fn an_unsafe_body_stays_an_unsafe_context() {
        let written = quote! { unsafe fn f() -> u8 { *P } };
        let expected = quote! {
            unsafe fn f() -> u8 { let r = p::call::<u8, _>(move || { unsafe { *P } }); r }
        };
        assert_eq!(rewrapped(written, false), expected.to_string());
    }

    #[test]
    fn async_statements_become_a_future() {
        let written = quote! { async fn f() -> u8 { 1 } };
        let expected =
            quote! { async fn f() -> u8 { let r = p::future::<u8, _>(async move { 1 }); r } };
        assert_eq!(rewrapped(written, true), expected.to_string());
    }
}
