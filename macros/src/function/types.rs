//! The function's types as generated code may name them: outside the function, where
//! its lifetimes do not exist, and in a `let` or turbofish, where `impl Trait` may not
//! be written.

use syn::{GenericArgument, Lifetime, PathArguments, ReturnType, Type, parse_quote};

/// The declared return type with every `impl Trait` replaced by `_`, for the annotation
/// that fixes the type of the wrapped body; `None` for `!`, which cannot annotate a
/// binding on stable Rust.
pub(crate) fn return_annotation(output: &ReturnType) -> Option<Type> {
    match output {
        ReturnType::Default => Some(parse_quote!(())),
        ReturnType::Type(_, ty) if matches!(**ty, Type::Never(_)) => None,
        ReturnType::Type(_, ty) => {
            let mut ty = (**ty).clone();
            walk(&mut ty, &mut |ty| erase_impl_trait(ty), &mut |_| {});
            Some(ty)
        }
    }
}

/// `impl Trait` becomes `_`, spanned where `impl Trait` was written so that an error
/// about the inferred type points at the user's return type.
fn erase_impl_trait(ty: &mut Type) -> bool {
    if let Type::ImplTrait(it) = ty {
        let span = syn::spanned::Spanned::span(&*it);
        *ty = syn::parse_quote_spanned!(span=> _);
        false
    } else {
        true
    }
}

/// The type with every named lifetime replaced by `'_`: the generated code names
/// parameter and return types outside the function, where its lifetimes do not exist.
pub(crate) fn erase_lifetimes(ty: &Type) -> Type {
    let mut ty = ty.clone();
    walk(&mut ty, &mut |_| true, &mut |lifetime| {
        if lifetime.ident != "static" {
            *lifetime = Lifetime::new("'_", lifetime.span());
        }
    });
    ty
}

/// Visits `ty` and the types and lifetimes written inside it: through references,
/// pointers, arrays, slices, tuples, parentheses, a qualified self and angle-bracketed
/// arguments. `at_type` sees a type before what it contains and returns whether to go
/// inside it.
fn walk(
    ty: &mut Type,
    at_type: &mut impl FnMut(&mut Type) -> bool,
    at_lifetime: &mut impl FnMut(&mut Lifetime),
) {
    if !at_type(ty) {
        return;
    }
    match ty {
        Type::Reference(r) => {
            if let Some(lifetime) = &mut r.lifetime {
                at_lifetime(lifetime);
            }
            walk(&mut r.elem, at_type, at_lifetime);
        }
        Type::Array(a) => walk(&mut a.elem, at_type, at_lifetime),
        Type::Group(g) => walk(&mut g.elem, at_type, at_lifetime),
        Type::Paren(p) => walk(&mut p.elem, at_type, at_lifetime),
        Type::Ptr(p) => walk(&mut p.elem, at_type, at_lifetime),
        Type::Slice(s) => walk(&mut s.elem, at_type, at_lifetime),
        Type::Tuple(t) => {
            for elem in &mut t.elems {
                walk(elem, at_type, at_lifetime);
            }
        }
        Type::Path(p) => {
            if let Some(q) = &mut p.qself {
                walk(&mut q.ty, at_type, at_lifetime);
            }
            for segment in &mut p.path.segments {
                if let PathArguments::AngleBracketed(args) = &mut segment.arguments {
                    for arg in &mut args.args {
                        match arg {
                            GenericArgument::Type(t) => walk(t, at_type, at_lifetime),
                            GenericArgument::Lifetime(l) => at_lifetime(l),
                            _ => {}
                        }
                    }
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use quote::{ToTokens, quote};
    use syn::{ReturnType, Type};

    use super::{erase_lifetimes, return_annotation};

    fn annotation(output: proc_macro2::TokenStream) -> Option<String> {
        let output: ReturnType = syn::parse2(output).unwrap();
        return_annotation(&output).map(|t| t.to_token_stream().to_string())
    }

    #[test]
    fn return_annotations() {
        let cases = [
            (quote!(), Some("()")),
            (quote!(-> !), None),
            (quote!(-> u8), Some("u8")),
            (quote!(-> impl Iterator<Item = u8>), Some("_")),
            (
                quote!(-> Result<impl Display, Box<dyn Error>>),
                Some("Result < _ , Box < dyn Error > >"),
            ),
            (
                quote!(-> (impl A, [impl B; 2], &'a [impl C])),
                Some("(_ , [_ ; 2] , & 'a [_])"),
            ),
            (quote!(-> *const (impl A)), Some("* const (_)")),
            (quote!(-> <impl A as B>::C), Some("< _ as B > :: C")),
            (quote!(-> Option<!>), Some("Option < ! >")),
        ];
        for (output, expected) in cases {
            let shown = output.to_string();
            assert_eq!(annotation(output).as_deref(), expected, "{shown}");
        }
    }

    #[test]
    fn an_erased_impl_trait_keeps_its_span() {
        let output: ReturnType = syn::parse_str("-> Vec<impl Clone>").unwrap();
        let Some(Type::Path(erased)) = return_annotation(&output) else {
            panic!("expected a path")
        };
        let erased = erased.path.segments[0].arguments.to_token_stream();
        let underscore = erased.into_iter().nth(1).unwrap();
        assert_eq!(underscore.to_string(), "_");
        // Written at column 7: `-> Vec<` precedes it.
        assert_eq!(underscore.span().start().column, 7);
    }

    #[test]
    fn lifetimes_are_erased_except_static() {
        let cases = [
            (quote!(&'a str), "& '_ str"),
            (quote!(&'static str), "& 'static str"),
            (quote!(Cow<'a, [&'b u8]>), "Cow < '_ , [& '_ u8] >"),
            (quote!(<T<'a> as Tr>::X), "< T < '_ > as Tr > :: X"),
            (
                quote!((&'a u8, *const &'b u8)),
                "(& '_ u8 , * const & '_ u8)",
            ),
        ];
        for (ty, expected) in cases {
            let ty: Type = syn::parse2(ty).unwrap();
            assert_eq!(erase_lifetimes(&ty).to_token_stream().to_string(), expected);
        }
    }
}
