use flext_observability::counter;

fn main() {
    let name = "etl_rows_total";
    counter!(description: "Rows.", name).increment(1);
}
