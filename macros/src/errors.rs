use proc_macro2::TokenStream;
use quote::{ToTokens, quote};

/// Collects every error so users see all of them at once, each on its own token.
#[derive(Default)]
pub(crate) struct Errors {
    errors: Vec<syn::Error>,
}

impl Errors {
    pub(crate) fn push(&mut self, error: syn::Error) {
        self.errors.push(error);
    }

    pub(crate) fn error_at<T: ToTokens>(&mut self, tokens: T, message: impl std::fmt::Display) {
        self.errors.push(syn::Error::new_spanned(tokens, message));
    }

    pub(crate) fn error_span(&mut self, span: proc_macro2::Span, message: impl std::fmt::Display) {
        self.errors.push(syn::Error::new(span, message));
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    /// How many errors so far: a check compares it before and after.
    pub(crate) fn len(&self) -> usize {
        self.errors.len()
    }

    /// `compile_error!` invocations for every error.
    pub(crate) fn into_compile_errors(self) -> TokenStream {
        self.errors
            .into_iter()
            .map(|e| e.to_compile_error())
            .collect()
    }
}

/// On errors: the errors plus the item exactly as written (no cascade of follow-up
/// errors, and the item stays usable). Otherwise the expansion.
pub(crate) fn finish(errors: Errors, output: TokenStream, input: TokenStream) -> TokenStream {
    if errors.is_empty() {
        output
    } else {
        let mut tokens = errors.into_compile_errors();
        tokens.extend(input);
        tokens
    }
}

/// The keyword of an item an attribute does not apply to, to point the error at.
pub(crate) fn item_keyword(item: &syn::Item) -> TokenStream {
    match item {
        syn::Item::Struct(i) => i.struct_token.to_token_stream(),
        syn::Item::Enum(i) => i.enum_token.to_token_stream(),
        syn::Item::Union(i) => i.union_token.to_token_stream(),
        syn::Item::Trait(i) => i.trait_token.to_token_stream(),
        syn::Item::Impl(i) => i.impl_token.to_token_stream(),
        syn::Item::Mod(i) => i.mod_token.to_token_stream(),
        syn::Item::Const(i) => i.const_token.to_token_stream(),
        syn::Item::Static(i) => i.static_token.to_token_stream(),
        syn::Item::Type(i) => i.type_token.to_token_stream(),
        syn::Item::Use(i) => i.use_token.to_token_stream(),
        other => quote!(#other).into_iter().next().into_iter().collect(),
    }
}

/// The known key closest to `typo`, if it is a plausible misspelling.
pub(crate) fn did_you_mean<'a>(typo: &str, known: &[&'a str]) -> Option<&'a str> {
    known
        .iter()
        .map(|k| (levenshtein(typo, k), *k))
        .filter(|&(d, k)| d > 0 && d <= 2.max(k.len() / 3))
        .min_by_key(|&(d, _)| d)
        .map(|(_, k)| k)
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = if ca == cb {
                prev
            } else {
                1 + prev.min(row[j]).min(row[j + 1])
            };
            prev = cur;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::did_you_mean;

    #[test]
    fn suggestions() {
        let keys = ["name", "buckets", "ok_if", "error_if"];
        assert_eq!(did_you_mean("nmae", &keys), Some("name"));
        assert_eq!(did_you_mean("bukets", &keys), Some("buckets"));
        assert_eq!(did_you_mean("completely_else", &keys), None);
    }
}
