//! The auth service's own binary (its container runs this).

/// mimalloc: markedly less allocator contention than glibc's under load.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = auth::Config::load(auth::SERVICE)?;
    let _telemetry = common::telemetry::init(&config.shared);
    let service = auth::build(&config).await?;
    common::serve(service, &config.shared).await
}
