use flext_observability::histogram;

fn main() {
    histogram!(description: "Latency.", "etl_latency_ms").record(1.0);
}
