use flext_observability::counter;

fn main() {
    counter!("etl_rows_total").increment(1);
}
