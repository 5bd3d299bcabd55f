//! Runnable examples: `cargo run --example quickstart`, `cargo run --example etl_pipeline`.
//!
//! [`etl`] holds the pipeline of `etl_pipeline`, shared with the end-to-end tests;
//! [`http_service`] the axum service of `http_service`, shared with its tests and
//! benchmarks; [`etl_sql`] the ETL job's database tap and target; [`grpc_service`] the
//! tonic service of `grpc_service`, shared with its tests; [`start`] what the service
//! examples share at start-up.

pub mod etl;
pub mod etl_sql;
pub mod grpc_service;
pub mod http_service;
pub mod start;
