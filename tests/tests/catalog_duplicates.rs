//! Two monitored functions that would export the same series make `install()` fail with
//! an error naming both source locations.

use flext_observability::{Error, Observability, monitor};

#[monitor(name = "load")]
fn load_from_cache() {}

#[monitor(name = "load")]
fn load_from_db() {}

#[test]
fn duplicate_names_fail_install_with_both_locations() {
    load_from_cache();
    load_from_db();
    let err = Observability::builder()
        .without_server()
        .install()
        .unwrap_err();
    let Error::Catalog(issues) = &err else {
        panic!("expected a catalog error, got {err}");
    };
    assert_eq!(issues.len(), 1, "{err}");
    let message = err.to_string();
    // Locations are those of the function names.
    let file = "tests/catalog_duplicates.rs";
    assert!(message.contains(&format!("{file}:7")), "{message}");
    assert!(message.contains(&format!("{file}:10")), "{message}");
    assert!(message.contains("`load`"), "{message}");
    assert!(
        message.contains("#[monitor(name"),
        "the fix is named: {message}"
    );
}
