//! Two health checks with one name, or a group named like a check, make `install()` fail
//! with an error naming both source locations.

use flext_observability::{Error, Observability, health_check};

mod primary {
    #[flext_observability::health_check(name = "db")]
    pub(crate) fn primary_db() -> bool {
        true
    }
}

#[health_check(name = "db")]
fn replica_db() -> bool {
    true
}

#[health_check(groups = ["cache"])]
fn redis() -> bool {
    true
}

#[health_check]
fn cache() -> bool {
    true
}

#[test]
fn duplicate_names_fail_install_with_both_locations() {
    let err = Observability::builder()
        .without_server()
        .install()
        .unwrap_err();
    let Error::Catalog(issues) = &err else {
        panic!("expected a catalog error, got {err}");
    };
    assert_eq!(issues.len(), 2, "{err}");
    let message = err.to_string();
    let file = "tests/health_duplicates.rs";
    assert!(
        message.contains("health check `db` is registered twice"),
        "{message}"
    );
    assert!(message.contains(&format!("{file}:8")), "{message}");
    assert!(message.contains(&format!("{file}:14")), "{message}");
    assert!(
        message.contains("#[health_check(name"),
        "the fix is named: {message}"
    );
    assert!(message.contains("group `cache`"), "{message}");
    assert!(
        message.contains(&format!("{file}:19")) && message.contains(&format!("{file}:24")),
        "{message}"
    );
    // The functions stay ordinary functions.
    assert!(primary::primary_db() && replica_db() && redis() && cache());
}
