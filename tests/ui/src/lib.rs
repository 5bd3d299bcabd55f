//! Compile-time tests of the macros, kept out of `flext-observability-tests` so that
//! trybuild builds only what the fixtures use. The test is `tests/ui.rs`.
