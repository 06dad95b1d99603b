//! The auth service's own binary (its container runs this).

/// mimalloc: markedly less allocator contention than glibc's under load.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = auth::Config::from_env("auth", common::config::AUTH_PORT)?;
    config.validate()?;
    common::telemetry::init(&config.shared);
    let service = auth::build(&config).await?;
    common::serve(service, &config.shared).await
}
