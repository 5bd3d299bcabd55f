//! Compile-time behaviour of the macros: every supported shape compiles without a warning
//! (`pass/`, each file `#![deny(warnings)]`), every misuse fails with one reviewed error on
//! the offending token (`fail/`). Regenerate reviewed `.stderr` files with
//! `TRYBUILD=overwrite` and read the diff.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.pass("pass/*.rs");
    t.compile_fail("fail/*.rs");
}
