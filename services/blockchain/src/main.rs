//! The blockchain service's own binary (its container runs this).

/// mimalloc: markedly less allocator contention than glibc's under load.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = blockchain::Config::load(blockchain::SERVICE)?;
    let _telemetry = common::telemetry::init(&config.shared);
    let service = blockchain::build(&config).await?;
    common::serve(service, &config.shared).await
}
