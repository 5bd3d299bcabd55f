use flext_observability::histogram;

fn main() {
    histogram!(description: "Payload sizes.", "etl_payload_bytes").record(512.0);
}
