//! Compiles the `grpc_service` example's proto in pure Rust: protox parses it,
//! tonic-prost-build writes the messages, the server trait and the client. No `protoc`.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto");
    let files = protox::compile(["orders/v1/orders.proto"], ["proto"])?;
    tonic_prost_build::configure()
        .build_server(true)
        .build_client(true)
        .compile_fds(files)?;
    Ok(())
}
