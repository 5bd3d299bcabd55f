//! The `etl_pipeline` example's job with its database ends: orders read from a `SQLite`
//! file, written to a real `PostgreSQL`, and the query metrics of both pushed to a real
//! Pushgateway together with the pipeline's, from a process of its own.

use flext_observability::push::Pushgateway;
use flext_observability_examples::etl::{EtlConfig, JOB, run_batch_job};
use flext_observability_examples::etl_sql::{PostgresTarget, SqliteTap};
use flext_observability_tests::child::{self, Child};
use flext_observability_tests::postgres::Postgres;
use flext_observability_tests::servers::Pushgateway as Gateway;
use flext_observability_tests::{http, require};

use super::support::runtime;

const SQLITE_PATH: &str = "FLEXT_OBS_TEST_ETL_SQLITE";

#[test]
#[ignore = "child process of `etl::job_pushes_query_metrics_with_the_pipeline_metrics`, which runs it"]
fn child_etl_run() {
    child::enter("etl::child_etl_run");
    let rt = runtime();
    let path = std::env::var(SQLITE_PATH).expect("the parent sets the SQLite path");
    let url = std::env::var("DATABASE_URL").expect("the parent sets DATABASE_URL");
    let gateway = Pushgateway::from_env(JOB)
        .expect("gateway URL")
        .expect("the parent sets FLEXT_OBS_PUSHGATEWAY_URL");
    let mut tap = SqliteTap::open(&rt, path.as_ref(), 1000, None).expect("the SQLite tap");
    let mut target = PostgresTarget::open(&rt, &url).expect("the PostgreSQL target");
    let report = run_batch_job(
        &EtlConfig::new("orders"),
        &mut tap,
        &mut target,
        Some(&gateway),
    )
    .expect("the run and its push succeed");
    assert_eq!(report.rows_written, 955);
}

/// The value of `metric` on the gateway for the series with all of `labels`.
fn pushed(gateway: &Gateway, metric: &str, labels: &[&str]) -> Option<f64> {
    let text = http::get(&format!("{}/metrics", gateway.base_url()))
        .expect("read the gateway")
        .body;
    text.lines()
        .filter(|l| l.starts_with(&format!("{metric}{{")))
        .find(|l| labels.iter().all(|label| l.contains(label)))
        .and_then(|l| l.rsplit(' ').next())
        .map(|v| v.parse().expect("a number"))
}

#[test]
fn job_pushes_query_metrics_with_the_pipeline_metrics() {
    let pg = require!(Postgres::start(), "PostgreSQL", Postgres::INSTALL);
    let gateway = require!(
        Gateway::start(),
        "Pushgateway",
        "apt-get install prometheus-pushgateway"
    );
    pg.create_database("warehouse");
    let dir = tempfile::tempdir().expect("temp dir");
    let sqlite = dir.path().join("orders.db");
    Child::new("etl::child_etl_run")
        .env(SQLITE_PATH, sqlite.to_str().expect("a UTF-8 path"))
        .env("DATABASE_URL", &pg.url("warehouse"))
        .env("FLEXT_OBS_PUSHGATEWAY_URL", &gateway.base_url())
        .run();

    let group = [r#"job="etl_pipeline""#, r#"pipeline="orders""#];
    let with = |extra: &[&'static str]| -> Vec<&str> {
        group.iter().copied().chain(extra.iter().copied()).collect()
    };
    let count = "db_client_operation_duration_seconds_count";
    assert_eq!(
        pushed(
            &gateway,
            count,
            &with(&[
                r#"db_system_name="sqlite""#,
                r#"db_query_summary="INSERT orders""#
            ])
        ),
        Some(1000.0),
        "the tap seeded its file"
    );
    assert_eq!(
        pushed(
            &gateway,
            count,
            &with(&[
                r#"db_system_name="sqlite""#,
                r#"db_query_summary="SELECT orders""#
            ])
        ),
        Some(2.0),
        "the tap counted and read its rows"
    );
    assert_eq!(
        pushed(
            &gateway,
            count,
            &with(&[
                r#"db_system_name="postgresql""#,
                r#"db_namespace="warehouse""#,
                r#"db_query_summary="INSERT etl_orders""#
            ])
        ),
        Some(955.0),
        "one upsert per accepted row"
    );
    assert_eq!(
        pushed(
            &gateway,
            count,
            &with(&[
                r#"db_system_name="postgresql""#,
                r#"db_query_summary="COMMIT""#
            ])
        ),
        Some(1.0)
    );
    assert_eq!(
        pushed(
            &gateway,
            "etl_rows_written_total",
            &with(&[r#"target="target-postgres""#])
        ),
        Some(955.0)
    );
    assert_eq!(
        pushed(
            &gateway,
            "db_client_connection_wait_time_seconds_count",
            &with(&[r#"db_client_connection_pool_name="warehouse""#])
        ),
        Some(2.0),
        "the CREATE TABLE and the transaction each waited once"
    );
    // And the rows are there.
    let rows: i64 = runtime().block_on(async {
        let pool = sqlx::PgPool::connect(&pg.url("warehouse"))
            .await
            .expect("connect");
        sqlx::query_scalar("SELECT count(*) FROM etl_orders")
            .fetch_one(&pool)
            .await
            .expect("count")
    });
    assert_eq!(rows, 955);
}
