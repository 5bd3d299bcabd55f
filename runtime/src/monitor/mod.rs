//! `#[monitor]`: the static storage each annotated function gets ([`site`]), and the
//! source that exports it as autometrics' `function_calls_*` families ([`source`]).

pub(crate) mod names;
pub(crate) mod site;
mod source;
