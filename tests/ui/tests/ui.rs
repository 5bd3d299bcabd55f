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

/// trybuild passes a case that compiles with warnings (it only prints them): a pass
/// fixture without `#![deny(warnings)]` would let generated code that warns slip through.
#[test]
fn every_pass_fixture_denies_warnings() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("pass");
    let mut lax = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("ui/pass") {
        let path = entry.expect("an entry of ui/pass").path();
        if path.extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(&path).expect("a pass fixture");
            if !text.lines().any(|l| l.trim() == "#![deny(warnings)]") {
                lax.push(path.display().to_string());
            }
        }
    }
    assert!(
        lax.is_empty(),
        "add `#![deny(warnings)]` at the top of {lax:?}"
    );
}
