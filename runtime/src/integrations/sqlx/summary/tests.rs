//! The summary parser on the conventions' examples and on each kind of statement.

use super::*;

fn s(sql: &str) -> (String, Option<String>, Option<String>) {
    let s = summarize(sql, Dialect::POSTGRES);
    (s.text, s.operation, s.collection)
}

fn text(sql: &str) -> String {
    summarize(sql, Dialect::POSTGRES).text
}

#[test]
fn the_examples_of_the_conventions() {
    assert_eq!(
        s("SELECT *\nFROM   wuser_table\nWHERE  username = ?"),
        (
            "SELECT wuser_table".into(),
            Some("SELECT".into()),
            Some("wuser_table".into())
        )
    );
    assert_eq!(
        s(
            "INSERT INTO shipping_details (order_id, address) SELECT order_id, address FROM orders WHERE order_id = ?"
        ),
        (
            "INSERT shipping_details SELECT orders".into(),
            Some("INSERT".into()),
            None
        )
    );
    assert_eq!(
        text("SELECT * FROM songs, artists WHERE songs.artist_id == artists.id"),
        "SELECT songs artists"
    );
    assert_eq!(
        text(
            "SELECT order_date FROM (SELECT * FROM orders o JOIN customers c ON o.customer_id = c.customer_id)"
        ),
        "SELECT SELECT orders customers"
    );
    assert_eq!(
        text("SELECT * FROM \"song list\", 'artists'"),
        "SELECT \"song list\" 'artists'"
    );
}

#[test]
fn statements_of_each_kind() {
    let cases = [
        ("select id from Orders o where o.id = 1", "select Orders"),
        ("SELECT 1", "SELECT"),
        ("SELECT count(*) FROM public.orders", "SELECT public.orders"),
        ("UPDATE orders SET qty = 2 WHERE id = 3", "UPDATE orders"),
        (
            "UPDATE ONLY a SET x = b.x FROM b WHERE a.id = b.id",
            "UPDATE a b",
        ),
        ("DELETE FROM orders WHERE id IN (1, 2, 3)", "DELETE orders"),
        ("DELETE FROM a USING b WHERE a.id = b.id", "DELETE a b"),
        (
            "INSERT OR REPLACE INTO kv (k, v) VALUES (?, ?)",
            "INSERT kv",
        ),
        ("REPLACE INTO kv VALUES (1, 2)", "REPLACE kv"),
        (
            "INSERT INTO t (id) VALUES ($1) ON CONFLICT (id) DO UPDATE SET n = t.n + 1",
            "INSERT t",
        ),
        (
            "INSERT INTO t VALUES (1) ON DUPLICATE KEY UPDATE n = 2",
            "INSERT t",
        ),
        ("SELECT * FROM t FOR UPDATE", "SELECT t"),
        (
            "MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN UPDATE SET x = 1",
            "MERGE t s",
        ),
        (
            "WITH recent AS (SELECT * FROM orders WHERE at > now()) SELECT * FROM recent r JOIN customers c ON c.id = r.c",
            "SELECT orders SELECT recent customers",
        ),
        (
            "WITH moved AS (DELETE FROM a RETURNING *) INSERT INTO b SELECT * FROM moved",
            "DELETE a INSERT b SELECT moved",
        ),
        (
            "SELECT EXTRACT(YEAR FROM created), TRIM(BOTH ' ' FROM name) FROM users",
            "SELECT users",
        ),
        ("SELECT * FROM generate_series(1, 10) g", "SELECT"),
        ("SELECT a IS DISTINCT FROM b FROM t", "SELECT t"),
        (
            "SELECT * FROM a LEFT OUTER JOIN b USING (id) CROSS JOIN c",
            "SELECT a b c",
        ),
        (
            "(SELECT 1 FROM a) UNION (SELECT 2 FROM b)",
            "SELECT a SELECT b",
        ),
        (
            "CREATE TABLE IF NOT EXISTS orders (id INT REFERENCES c(id) ON DELETE CASCADE)",
            "CREATE TABLE orders",
        ),
        (
            "CREATE UNIQUE INDEX CONCURRENTLY idx_o ON orders (id)",
            "CREATE INDEX idx_o",
        ),
        (
            "create temporary table tmp as select * from orders",
            "create table tmp select orders",
        ),
        ("DROP TABLE IF EXISTS orders", "DROP TABLE orders"),
        (
            "ALTER TABLE ONLY orders ADD COLUMN x INT",
            "ALTER TABLE orders",
        ),
        ("TRUNCATE TABLE a, b", "TRUNCATE a b"),
        ("BEGIN", "BEGIN"),
        ("COMMIT; BEGIN", "COMMIT BEGIN"),
        ("PRAGMA foreign_keys = ON", "PRAGMA"),
        ("SET search_path TO app", "SET"),
        ("CALL refresh_totals(1)", "CALL refresh_totals"),
        ("EXPLAIN ANALYZE SELECT * FROM t", "EXPLAIN SELECT t"),
        ("TABLE orders", "TABLE orders"),
        ("/* app=x */ SELECT 1 -- note", "SELECT"),
    ];
    for (sql, want) in cases {
        assert_eq!(text(sql), want, "{sql}");
    }
}

#[test]
fn unknown_shapes_are_other() {
    for sql in [
        "",
        "  ;  ",
        "frobnicate the widgets",
        "42",
        "SELECT 1; bogus",
    ] {
        assert_eq!(s(sql), (OTHER.into(), None, None), "{sql:?}");
    }
}

#[test]
fn operation_and_collection_only_when_single() {
    assert_eq!(
        s("SELECT * FROM a JOIN b ON a.x = b.x"),
        ("SELECT a b".into(), Some("SELECT".into()), None)
    );
    assert_eq!(
        s("BEGIN; SELECT * FROM a"),
        ("BEGIN SELECT a".into(), None, None)
    );
    assert_eq!(
        s("CREATE TABLE t (x int)"),
        (
            "CREATE TABLE t".into(),
            Some("CREATE TABLE".into()),
            Some("t".into())
        )
    );
    assert_eq!(s("CALL p()"), ("CALL p".into(), Some("CALL".into()), None));
}

#[test]
fn literals_never_reach_the_summary_and_long_ones_are_cut_between_parts() {
    let a = text("SELECT * FROM t WHERE name = 'alice' AND id = 1");
    let b = text("SELECT * FROM t WHERE name = 'bob' AND id = 2");
    assert_eq!(a, b);
    let many: Vec<String> = (0..100).map(|i| format!("table_number_{i}")).collect();
    let sql = format!("SELECT * FROM {}", many.join(", "));
    let cut = text(&sql);
    assert!(cut.len() <= 255, "{}", cut.len());
    let names: Vec<&str> = cut.split(' ').skip(1).collect();
    assert!(names.len() > 10, "{cut}");
    assert!(
        names.iter().all(|n| many.iter().any(|m| m == n)),
        "cut inside a name: {cut}"
    );
}

#[test]
fn dialects() {
    assert_eq!(
        summarize("SELECT * FROM [my table]", Dialect::SQLITE).text,
        "SELECT [my table]"
    );
    assert_eq!(
        summarize("SELECT * FROM `t` WHERE a = \"x\"", Dialect::MYSQL).text,
        "SELECT `t`"
    );
    assert_eq!(
        summarize("SELECT $tag$ ; DROP $tag$ FROM t", Dialect::POSTGRES).text,
        "SELECT t"
    );
}
