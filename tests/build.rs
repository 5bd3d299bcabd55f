//! Compiles the gRPC tests' protos in pure Rust (protox + tonic-prost-build, no
//! `protoc`): a probe service and the `grpc.health.v1` client.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto");
    let files = protox::compile(
        ["flext/test/v1/probe.proto", "grpc/health/v1/health.proto"],
        ["proto"],
    )?;
    tonic_prost_build::configure()
        .build_server(true)
        .build_client(true)
        .compile_fds(files)?;
    Ok(())
}
