use flext_observability::gauge;

fn main() {
    let key = "pipeline";
    gauge!(description: "Depth.", "etl_queue_depth", key => "orders").set(1.0);
}
