//! Runnable examples: `cargo run --example quickstart`, `cargo run --example etl_pipeline`.
//!
//! [`etl`] holds the pipeline of `etl_pipeline`, shared with the end-to-end tests;
//! [`etl_sql`] its database tap and target.

pub mod etl;
pub mod etl_sql;
