//! Compile-time behaviour of the macros: every supported shape compiles (`ui/pass`),
//! every misuse fails with one reviewed error on the offending token (`ui/fail`).
//! Regenerate reviewed `.stderr` files with `TRYBUILD=overwrite` and read the diff.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.pass("ui/pass/*.rs");
    t.compile_fail("ui/fail/*.rs");
}
