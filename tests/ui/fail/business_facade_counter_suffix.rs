use flext_observability::counter;

fn main() {
    counter!(description: "Rows.", "etl_rows").increment(1);
}
