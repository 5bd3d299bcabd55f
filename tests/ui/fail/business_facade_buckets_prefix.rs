use flext_observability::histogram;

fn main() {
    histogram!(description: "Payload sizes.", buckets: "etl_batch_", "etl_payload_bytes")
        .record(512.0);
}
