//! `craftchain`: run the platform on one machine.
//!
//! - `craftchain up`: every service in one process, on ports 8000–8008
//!   (`--emulators`: on Google's Firestore and Pub/Sub emulators, as in
//!   production).
//! - `craftchain serve NAME`: one service, configured from the environment
//!   (what its container runs).
//! - `craftchain openapi DIR`: write each service's OpenAPI document.

use std::net::IpAddr;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use common::config::{EventTransport, EventsConfig, StoreBackend, StoreConfig};
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
        /// Run every service on production's backends, on Google's
        /// emulators started here (from the Google Cloud SDK on PATH; they
        /// need Java): documents in the Firestore emulator, events through
        /// the Pub/Sub emulator. Their data is in memory and goes when
        /// they stop.
        #[arg(long)]
        emulators: bool,
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
            emulators,
        } => up(data_dir, host, internal_host, base_port, emulators).await,
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
    emulators: bool,
) -> anyhow::Result<()> {
    let shared = common::Config::<Empty>::from_env("up", 0)?.shared;
    let _telemetry = common::telemetry::init(&shared);
    let emulators = match emulators {
        true => Some((Emulator::firestore().await?, Emulator::pubsub().await?)),
        false => None,
    };
    let gcs = match &emulators {
        Some(_) => Emulator::fake_gcs().await.transpose()?,
        None => None,
    };
    let mut events = EventsConfig::default();
    let store = emulators.as_ref().map(|(firestore, pubsub)| {
        events.transport = EventTransport::Pubsub;
        events.pubsub_emulator_host = Some(pubsub.host.clone());
        events.push_token = Some(uuid::Uuid::new_v4().simple().to_string().into());
        StoreConfig {
            backend: StoreBackend::Firestore,
            emulator_host: Some(firestore.host.clone()),
            ..StoreConfig::default()
        }
    });
    let mut system = craftchain_cli::start(SystemConfig {
        data_dir: data_dir.clone(),
        host,
        internal_host,
        base_port: Some(base_port),
        events,
        store,
        // One project for the emulators' topics and every service.
        gcp_project: emulators.as_ref().map(|_| {
            shared
                .gcp_project
                .clone()
                .unwrap_or_else(|| common::config::LOCAL_PROJECT.to_owned())
        }),
        gcs_emulator: gcs
            .as_ref()
            .map(|g| url::Url::parse(&format!("http://{}/", g.host)))
            .transpose()?,
        ..SystemConfig::default()
    })
    .await?;
    println!("CraftChain X is up (data in {}):", data_dir.display());
    if let Some((firestore, pubsub)) = &emulators {
        println!(
            "  documents in the Firestore emulator at {}, events through the Pub/Sub emulator at {} (both in memory: their data goes when they stop)",
            firestore.host, pubsub.host
        );
        match &gcs {
            Some(gcs) => println!("  blobs in fake-gcs-server at {}", gcs.host),
            None => println!(
                "  blobs in local folders (fake-gcs-server, the Cloud Storage emulator, is installed by `./dev test`)"
            ),
        }
    }
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
        blobs: None,
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
            blobs: None,
        })
        .await?;
        let path = dir.join(format!("{}.json", spec.name()));
        std::fs::write(&path, serde_json::to_vec_pretty(service.openapi())?)?;
        println!("wrote {}", path.display());
    }
    let _ = std::fs::remove_dir_all(&scratch);
    Ok(())
}

/// One of Google's emulators (Java, from the Google Cloud SDK on `PATH`),
/// on a free port; stopped with the launcher.
struct Emulator {
    _child: tokio::process::Child,
    host: String,
}

impl Emulator {
    /// Google's Firestore emulator.
    async fn firestore() -> anyhow::Result<Self> {
        let jar = common::tools::gcloud_component(common::tools::FIRESTORE_EMULATOR_JAR)
            .context("--emulators needs the Google Cloud SDK's Firestore emulator (`gcloud components install cloud-firestore-emulator`) and `gcloud` on PATH")?;
        Self::start("the Firestore emulator", |port| {
            common::tools::firestore_emulator_args(&jar, port)
        })
        .await
    }

    /// Google's Pub/Sub emulator.
    async fn pubsub() -> anyhow::Result<Self> {
        let jar = common::tools::gcloud_component(common::tools::PUBSUB_EMULATOR_LIB)
            .and_then(|lib| common::tools::pubsub_emulator_jar(&lib))
            .context("--emulators needs the Google Cloud SDK's Pub/Sub emulator (`gcloud components install pubsub-emulator`) and `gcloud` on PATH")?;
        Self::start("the Pub/Sub emulator", |port| {
            common::tools::pubsub_emulator_args(&jar, port)
        })
        .await
    }

    /// fake-gcs-server, if `./dev test` installed it.
    async fn fake_gcs() -> Option<anyhow::Result<Self>> {
        let bin = common::tools::find_upwards(
            common::tools::FAKE_GCS_SERVER,
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")),
        )?;
        Some(
            Self::start_program(
                "fake-gcs-server",
                bin.as_os_str(),
                common::tools::fake_gcs_server_args,
            )
            .await,
        )
    }

    async fn start(
        what: &str,
        args: impl Fn(u16) -> Vec<std::ffi::OsString>,
    ) -> anyhow::Result<Self> {
        Self::start_program(what, "java".as_ref(), args).await
    }

    async fn start_program(
        what: &str,
        program: &std::ffi::OsStr,
        args: impl Fn(u16) -> Vec<std::ffi::OsString>,
    ) -> anyhow::Result<Self> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let host = format!("127.0.0.1:{port}");
        let child = tokio::process::Command::new(program)
            .args(args(port))
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {what}: is {} installed?", program.display()))?;
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(60);
        while tokio::net::TcpStream::connect(&host).await.is_err() {
            anyhow::ensure!(
                tokio::time::Instant::now() < deadline,
                "{what} did not start within a minute"
            );
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
        Ok(Self {
            _child: child,
            host,
        })
    }
}

#[derive(Debug, Default, serde::Deserialize)]
struct Empty {}

impl common::ServiceSettings for Empty {}
