//! The local chain: a real anvil node started by the service (or a test),
//! its state in the data directory and dumped every second, so a restart,
//! even after SIGKILL, finds the chain it left.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context as _, bail};
use tokio::io::{AsyncBufReadExt as _, BufReader};
use tokio::process::{Child, Command};
use url::Url;

use crate::config::ChainSettings;

/// How long anvil may take to start listening.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// Finds anvil: the configured path, else `node_modules/.bin/anvil` in the
/// working directory or one of its parents (where `npm ci` puts it), else
/// the workspace this crate was built in.
pub fn find_anvil(configured: Option<&Path>) -> anyhow::Result<PathBuf> {
    if let Some(path) = configured {
        return Ok(path.to_owned());
    }
    common::tools::find_upwards(
        "node_modules/.bin/anvil",
        Path::new(env!("CARGO_MANIFEST_DIR")),
    )
    .context("anvil not found: run `npm ci` at the repository root, or set chain.anvil_bin")
}

/// A running anvil process, stopped (state dumped) on [`LocalNode::stop`]
/// and killed if dropped.
#[derive(Debug)]
pub struct LocalNode {
    child: Child,
    url: Url,
    pid_file: Option<PathBuf>,
}

impl LocalNode {
    /// Starts anvil on a free loopback port with `state_file` loaded (if it
    /// exists) and dumped every second. A node left running by a previous
    /// process that was killed is stopped first, so two nodes never write
    /// the same state file.
    pub async fn start(bin: &Path, state_file: &Path, chain_id: u64) -> anyhow::Result<Self> {
        Self::start_on(bin, state_file, chain_id, 0).await
    }

    /// [`LocalNode::start`] on a given port (0: any free one).
    pub async fn start_on(
        bin: &Path,
        state_file: &Path,
        chain_id: u64,
        port: u16,
    ) -> anyhow::Result<Self> {
        let pid_file = state_file.with_extension("pid");
        stop_orphan(&pid_file).await;
        if let Some(dir) = state_file.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let mut child = Command::new(bin)
            .args(["--host", "127.0.0.1", "--port"])
            .arg(port.to_string())
            .arg("--chain-id")
            .arg(chain_id.to_string())
            .arg("--state")
            .arg(state_file)
            .args(["--state-interval", "1", "--hardfork", "cancun"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {}", bin.display()))?;
        let stdout = child.stdout.take().context("anvil stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let url = tokio::time::timeout(START_TIMEOUT, async {
            while let Some(line) = lines.next_line().await? {
                if let Some(addr) = line.trim().strip_prefix("Listening on ") {
                    return Ok(Url::parse(&format!("http://{}", addr.trim()))?);
                }
            }
            bail!("anvil exited before listening")
        })
        .await
        .context("anvil did not start listening in time")??;
        // Keep draining its output so that it never blocks on a full pipe.
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                tracing::trace!(target: "anvil", "{line}");
            }
        });
        if let Some(pid) = child.id() {
            std::fs::write(&pid_file, pid.to_string())?;
        }
        tracing::info!(%url, state = %state_file.display(), "local anvil node started");
        Ok(Self {
            child,
            url,
            pid_file: Some(pid_file),
        })
    }

    pub fn url(&self) -> &Url {
        &self.url
    }

    /// Asks anvil to exit (it dumps its state on the way), then waits.
    pub async fn stop(mut self) {
        if let Some(pid) = self.child.id() {
            terminate(pid).await;
        }
        if tokio::time::timeout(Duration::from_secs(5), self.child.wait())
            .await
            .is_err()
        {
            let _ = self.child.kill().await;
        }
        if let Some(pid_file) = self.pid_file.take() {
            let _ = std::fs::remove_file(pid_file);
        }
    }
}

/// SIGTERM through kill(1): the workspace forbids `unsafe`, so no libc.
async fn terminate(pid: u32) {
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(pid.to_string())
        .status()
        .await;
}

/// Stops an anvil left behind by a killed process (its pid in `pid_file`,
/// checked to still be anvil).
async fn stop_orphan(pid_file: &Path) {
    let Ok(text) = std::fs::read_to_string(pid_file) else {
        return;
    };
    let Ok(pid) = text.trim().parse::<u32>() else {
        return;
    };
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    if String::from_utf8_lossy(&cmdline).contains("anvil") {
        tracing::warn!(
            pid,
            "stopping an anvil node left running by a previous process"
        );
        terminate(pid).await;
        for _ in 0..50 {
            if !Path::new(&format!("/proc/{pid}")).exists() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    let _ = std::fs::remove_file(pid_file);
}

/// The node the service talks to: the configured one, or a local anvil
/// with its state in `dir` (returned, for the service to stop it on the way out).
pub async fn connect(
    dir: &Path,
    settings: &ChainSettings,
) -> anyhow::Result<(Url, Option<LocalNode>)> {
    match &settings.rpc_url {
        Some(url) => Ok((url.clone(), None)),
        None => {
            let bin = find_anvil(settings.anvil_bin.as_deref())?;
            let node =
                LocalNode::start(&bin, &dir.join("anvil-state.json"), settings.chain_id).await?;
            Ok((node.url().clone(), Some(node)))
        }
    }
}
