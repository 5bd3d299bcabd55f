use flext_observability::gauge;

fn main() {
    gauge!(description: "Depth.", "etl_queue_depth", "le" => "1").set(1.0);
}
