//! `craftchain`: run the platform on one machine.
//!
//! - `craftchain up`: every service in one process, on ports 8000–8008.
//! - `craftchain serve NAME`: one service, configured from the environment
//!   (what its container runs).
//! - `craftchain openapi DIR`: write each service's OpenAPI document.

use std::net::IpAddr;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use craftchain_cli::{SERVICES, SystemConfig};

#[derive(Parser)]
#[command(
    name = "craftchain",
    version,
    about = "Run CraftChain X on one machine"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start every service in this process.
    Up {
        /// Where local data lives.
        #[arg(long, env = "CRAFTCHAIN_DATA_DIR", default_value = ".craftchain")]
        data_dir: PathBuf,
        /// Address the gateway listens on (0.0.0.0 to reach it from other
        /// machines).
        #[arg(long, default_value = "127.0.0.1")]
        host: IpAddr,
        /// Address every other service listens on: loopback, so only the
        /// gateway is reachable from outside (as on Cloud Run, where the
        /// other services take internal ingress only).
        #[arg(long, default_value = "127.0.0.1")]
        internal_host: IpAddr,
        /// First port; each service adds its offset (auth = +8).
        #[arg(long, default_value_t = common::platform::BASE_PORT)]
        base_port: u16,
    },
    /// Start one service, configured from the environment.
    Serve {
        /// The service's name.
        name: String,
    },
    /// Write every service's OpenAPI document into DIR.
    Openapi { dir: PathBuf },
    /// Write the generated deployment files (Pub/Sub topics and
    /// subscriptions) below DIR (the repository's `deploy/`).
    DeployFiles { dir: PathBuf },
}

/// mimalloc: markedly less allocator contention than glibc's under load.
#[global_allocator]
static ALLOCATOR: common::serve::MiMalloc = common::serve::MiMalloc;

fn main() -> anyhow::Result<()> {
    // Idle workers give freed memory back (common::serve::runtime).
    common::serve::runtime()?.block_on(run(Cli::parse()))
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Up {
            data_dir,
            host,
            internal_host,
            base_port,
        } => up(data_dir, host, internal_host, base_port).await,
        Command::Serve { name } => serve(&name).await,
        Command::Openapi { dir } => openapi(&dir).await,
        Command::DeployFiles { dir } => {
            for path in craftchain_cli::deploy::write_files(&dir)? {
                println!("wrote {}", path.display());
            }
            Ok(())
        }
    }
}

async fn up(
    data_dir: PathBuf,
    host: IpAddr,
    internal_host: IpAddr,
    base_port: u16,
) -> anyhow::Result<()> {
    let shared = common::Config::<Empty>::from_env("up", 0)?.shared;
    let _telemetry = common::telemetry::init(&shared);
    let mut system = craftchain_cli::start(SystemConfig {
        data_dir: data_dir.clone(),
        host,
        internal_host,
        base_port: Some(base_port),
        ..SystemConfig::default()
    })
    .await?;
    println!("CraftChain X is up (data in {}):", data_dir.display());
    for (name, url) in system.urls() {
        println!("  {name:<13} {url}   docs: {url}docs");
    }
    println!("Ctrl-C stops every service.");
    tokio::select! {
        () = common::serve::shutdown_signal() => {}
        result = system.wait() => result?,
    }
    system.stop().await
}

async fn serve(name: &str) -> anyhow::Result<()> {
    let spec = SERVICES
        .iter()
        .find(|s| s.name() == name)
        .with_context(|| format!("no service named {name}"))?;
    let config = common::Config::<Empty>::load(spec.id)?;
    let _telemetry = common::telemetry::init(&config.shared);
    let service = (spec.build)(craftchain_cli::BuildContext {
        shared: config.shared.clone(),
        secrets: Default::default(),
        read_env: true,
        urls: Default::default(),
    })
    .await?;
    common::serve(service, &config.shared).await
}

async fn openapi(dir: &std::path::Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)?;
    let scratch = std::env::temp_dir().join(format!("craftchain-openapi-{}", std::process::id()));
    for spec in SERVICES {
        let mut shared = common::SharedConfig::local(spec.name(), 0);
        shared.data_dir = scratch.clone();
        let service = (spec.build)(craftchain_cli::BuildContext {
            shared,
            secrets: Default::default(),
            read_env: false,
            urls: Default::default(),
        })
        .await?;
        let path = dir.join(format!("{}.json", spec.name()));
        std::fs::write(&path, serde_json::to_vec_pretty(service.openapi())?)?;
        println!("wrote {}", path.display());
    }
    let _ = std::fs::remove_dir_all(&scratch);
    Ok(())
}

#[derive(Debug, Default, serde::Deserialize)]
struct Empty {}

impl common::ServiceSettings for Empty {}
