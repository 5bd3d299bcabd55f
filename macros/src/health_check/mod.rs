//! `#[health_check]`: parse the function and the options, validate, expand.

mod expand;
mod options;
mod validate;

use proc_macro2::TokenStream;
use quote::quote;
use syn::Item;
use syn::ext::IdentExt;

use crate::errors::{Errors, finish, item_keyword};
use crate::function::FnParts;

pub(crate) fn expand(args: TokenStream, input: TokenStream) -> TokenStream {
    let mut errors = Errors::default();
    let options = options::parse(args, &mut errors);
    validate::options(&options, &mut errors);

    let Ok(function) = syn::parse2::<FnParts>(input.clone()) else {
        match syn::parse2::<Item>(input.clone()) {
            Ok(item) => errors.error_at(
                item_keyword(&item),
                "`#[health_check]` applies to free functions (sync or `async fn`)",
            ),
            // Not an item syn understands: hand it back untouched and let rustc report it.
            Err(_) => return finish(errors, TokenStream::new(), input),
        }
        return finish(errors, TokenStream::new(), input);
    };
    validate::signature(&function.sig, &mut errors);
    if !errors.is_empty() {
        return finish(errors, TokenStream::new(), input);
    }
    let name = match &options.name {
        Some(name) => name.value(),
        None => function.sig.ident.unraw().to_string(),
    };
    let registration = expand::registration(&function.sig, &options, &name);
    // A function compiled out takes its registration with it.
    let cfgs = function.attrs.iter().filter(|a| a.path().is_ident("cfg"));
    quote! {
        #function
        #(#cfgs)*
        #registration
    }
}
