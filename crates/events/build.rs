//! Compile the event schemas in proto/ without a system protoc.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = "../../proto";
    let files = [
        "craftchain/events/v1/envelope.proto",
        "craftchain/events/v1/auth.proto",
        "craftchain/events/v1/product.proto",
        "craftchain/events/v1/services.proto",
    ];
    println!("cargo:rerun-if-changed={root}");
    let descriptors = protox::compile(files, [root])?;
    prost_build::Config::new()
        .btree_map(["."])
        .compile_fds(descriptors)?;
    Ok(())
}
