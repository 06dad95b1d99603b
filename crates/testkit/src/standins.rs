//! Local stand-ins for cloud services the tests start: found where
//! `./dev test` installs them. Missing on a developer's machine, a test
//! says so loudly and skips; with `CRAFTCHAIN_REQUIRE_STANDINS=1` (set by
//! `./dev test`, hence CI) a missing stand-in fails the test.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use url::Url;

/// Finds `relative` below the working directory or one of its parents, or
/// below the workspace; `None` (after saying so) when a test may skip.
pub fn locate(what: &str, env_var: &str, relative: &str) -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(env_var) {
        return Some(PathBuf::from(path));
    }
    if let Some(found) =
        common::tools::find_upwards(relative, Path::new(env!("CARGO_MANIFEST_DIR")))
    {
        return Some(found);
    }
    missing(&format!(
        "{what} is not installed (looked for {relative}, or set {env_var}); `./dev test` installs it"
    ));
    None
}

/// fake-gcs-server, the Cloud Storage emulator (in-memory backend). It
/// stops when this handle is dropped or the process ends.
pub struct FakeGcs {
    _process: HeldProcess,
    url: Url,
    http: reqwest::Client,
}

impl FakeGcs {
    /// Starts one on a free port; `None` if it is not installed (and may be skipped).
    pub async fn start() -> Option<FakeGcs> {
        let bin = locate(
            "fake-gcs-server",
            "FAKE_GCS_SERVER_BIN",
            common::tools::FAKE_GCS_SERVER,
        )?;
        let port = free_port();
        let args = common::tools::fake_gcs_server_args(port);
        let host = format!("127.0.0.1:{port}");
        let process = HeldProcess::start("fake-gcs-server", bin.as_os_str(), &args, &host).await;
        let url = Url::parse(&format!("http://{host}")).unwrap_or_else(|e| panic!("{e}"));
        let gcs = FakeGcs {
            _process: process,
            url,
            http: reqwest::Client::new(),
        };
        crate::eventually(
            Duration::from_secs(20),
            "fake-gcs-server listening",
            || async {
                let r = gcs.http.get(gcs.api("/storage/v1/b")).send().await.ok()?;
                r.status().is_success().then_some(())
            },
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
        Some(gcs)
    }

    /// One emulator for the whole test process, started by the first test
    /// that asks; tests keep apart by using buckets of their own.
    pub async fn shared() -> Option<&'static FakeGcs> {
        static SHARED: tokio::sync::OnceCell<Option<FakeGcs>> = tokio::sync::OnceCell::const_new();
        SHARED.get_or_init(Self::start).await.as_ref()
    }

    /// The emulator's base URL (what a client's endpoint setting takes).
    pub fn url(&self) -> &Url {
        &self.url
    }

    fn api(&self, path: &str) -> String {
        format!("{}{}", self.url.as_str().trim_end_matches('/'), path)
    }

    pub async fn create_bucket(&self, name: &str) {
        let r = self
            .http
            .post(self.api("/storage/v1/b?project=craftchain-local"))
            .json(&serde_json::json!({ "name": name }))
            .send()
            .await
            .unwrap_or_else(|e| panic!("creating bucket {name}: {e}"));
        assert!(
            r.status().is_success(),
            "creating bucket {name}: {}",
            r.status()
        );
    }

    /// The names of the objects in `bucket` (JSON API list).
    pub async fn objects(&self, bucket: &str) -> Vec<String> {
        let list: serde_json::Value = self
            .http
            .get(self.api(&format!("/storage/v1/b/{bucket}/o")))
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .unwrap_or_else(|e| panic!("listing {bucket}: {e}"))
            .json()
            .await
            .unwrap_or_else(|e| panic!("listing {bucket}: {e}"));
        list["items"]
            .as_array()
            .map(|items| {
                items
                    .iter()
                    .filter_map(|o| o["name"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// A component of the Google Cloud SDK (`platform/...`): `env_var` if set,
/// else under the root of the `gcloud` on `PATH`; `None` (after saying so)
/// when a test may skip.
pub fn gcloud_component(what: &str, env_var: &str, relative: &str) -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(env_var) {
        return Some(PathBuf::from(path));
    }
    let found = common::tools::gcloud_component(relative);
    if found.is_none() {
        missing(&format!(
            "{what} is not installed (looked for {relative} in the Google Cloud SDK of the `gcloud` on PATH, or set {env_var}); it comes with the Google Cloud SDK"
        ));
    }
    found
}

/// Says that a stand-in is missing: a panic where stand-ins are required.
fn missing(message: &str) {
    if std::env::var("CRAFTCHAIN_REQUIRE_STANDINS").is_ok_and(|v| v == "1") {
        panic!("{message}");
    }
    eprintln!("\n!!! SKIPPED: {message}\n");
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("no free port: {e}"))
}

/// A stand-in's process, held by a shell that stops it when the pipe from
/// this process closes: when the handle is dropped, or when the test
/// process ends however it ends (so none outlives the tests).
struct HeldProcess {
    _child: std::process::Child,
    _pipe: std::process::ChildStdin,
}

impl HeldProcess {
    /// `program <args>`, then waits (up to a minute) for `host:port` to listen.
    async fn start(
        what: &str,
        program: &std::ffi::OsStr,
        args: &[std::ffi::OsString],
        host: &str,
    ) -> Self {
        Self::start_in(what, program, args, host, None).await
    }

    /// As [`HeldProcess::start`], in the directory `cwd` (where the
    /// process may leave files of its own).
    async fn start_in(
        what: &str,
        program: &std::ffi::OsStr,
        args: &[std::ffi::OsString],
        host: &str,
        cwd: Option<&Path>,
    ) -> Self {
        let mut command = std::process::Command::new("sh");
        if let Some(cwd) = cwd {
            command.current_dir(cwd);
        }
        let mut child = command
            .arg("-c")
            .arg("\"$0\" \"$@\" >/dev/null 2>&1 & pid=$!; read _; kill $pid")
            .arg(program)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {what}: {e}"));
        let pipe = child
            .stdin
            .take()
            .unwrap_or_else(|| panic!("the pipe to {what}"));
        let held = HeldProcess {
            _child: child,
            _pipe: pipe,
        };
        crate::eventually(
            Duration::from_secs(60),
            &format!("{what} listening"),
            || async { tokio::net::TcpStream::connect(host).await.ok().map(drop) },
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
        held
    }
}

/// Google's Firestore emulator (Java, from the Google Cloud SDK), on a
/// free port. It stops when this handle is dropped or the process ends.
pub struct FirestoreEmulator {
    _java: HeldProcess,
    host: String,
}

impl FirestoreEmulator {
    /// Starts one; `None` if it is not installed (and may be skipped).
    pub async fn start() -> Option<FirestoreEmulator> {
        let jar = gcloud_component(
            "the Firestore emulator",
            "FIRESTORE_EMULATOR_JAR",
            common::tools::FIRESTORE_EMULATOR_JAR,
        )?;
        let port = free_port();
        let host = format!("127.0.0.1:{port}");
        let args = common::tools::firestore_emulator_args(&jar, port);
        let java =
            HeldProcess::start("the Firestore emulator", "java".as_ref(), &args, &host).await;
        Some(FirestoreEmulator { _java: java, host })
    }

    /// One emulator for the whole test process, started by the first test
    /// that asks; tests keep apart by using roots of their own.
    pub async fn shared() -> Option<&'static FirestoreEmulator> {
        static SHARED: tokio::sync::OnceCell<Option<FirestoreEmulator>> =
            tokio::sync::OnceCell::const_new();
        SHARED.get_or_init(Self::start).await.as_ref()
    }

    /// `host:port`, what `FIRESTORE_EMULATOR_HOST` takes.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// Settings of a store in this emulator, under a root no other test uses.
    pub fn settings(&self) -> store::FirestoreSettings {
        store::FirestoreSettings {
            project: "craftchain-test".to_owned(),
            database: "(default)".to_owned(),
            root: format!("tests/{}", uuid::Uuid::new_v4()),
            emulator_host: Some(self.host.clone()),
            timeout: Duration::from_secs(30),
            required_indexes: None,
        }
    }

    /// A store under a root no other test uses.
    pub async fn store(&self) -> store::Store {
        self.connect(&self.settings()).await
    }

    /// A connection to the store of `settings` (one per instance sharing it).
    pub async fn connect(&self, settings: &store::FirestoreSettings) -> store::Store {
        let backend = store::FirestoreStore::connect(settings)
            .await
            .unwrap_or_else(|e| panic!("connecting to the Firestore emulator: {e}"));
        store::Store::new(std::sync::Arc::new(backend))
    }
}

/// Google's Pub/Sub emulator (Java, from the Google Cloud SDK), on a free
/// port. It cannot be reset: tests use topics of their own. It stops when
/// this handle is dropped or the process ends.
pub struct PubSubEmulator {
    _java: HeldProcess,
    host: String,
}

impl PubSubEmulator {
    /// Starts one; `None` if it is not installed (and may be skipped).
    pub async fn start() -> Option<PubSubEmulator> {
        let lib = gcloud_component(
            "the Pub/Sub emulator",
            "PUBSUB_EMULATOR_LIB",
            common::tools::PUBSUB_EMULATOR_LIB,
        )?;
        let jar = common::tools::pubsub_emulator_jar(&lib)
            .unwrap_or_else(|| panic!("no cloud-pubsub-emulator-*-all.jar in {}", lib.display()));
        let port = free_port();
        let host = format!("127.0.0.1:{port}");
        let args = common::tools::pubsub_emulator_args(&jar, port);
        let java = HeldProcess::start("the Pub/Sub emulator", "java".as_ref(), &args, &host).await;
        Some(PubSubEmulator { _java: java, host })
    }

    /// One emulator for the whole test process, started by the first test
    /// that asks; tests keep apart by using projects of their own.
    pub async fn shared() -> Option<&'static PubSubEmulator> {
        static SHARED: tokio::sync::OnceCell<Option<PubSubEmulator>> =
            tokio::sync::OnceCell::const_new();
        SHARED.get_or_init(Self::start).await.as_ref()
    }

    /// `host:port`, what `PUBSUB_EMULATOR_HOST` takes.
    pub fn host(&self) -> &str {
        &self.host
    }
}

/// Google's Firebase Auth emulator (Node, from firebase-tools), on a free
/// port, for the demo project [`FirebaseAuthEmulator::PROJECT`]. Its ID
/// tokens are unsigned (`alg: none`): a verifier refuses them, so tests
/// read their claims without verifying. It stops when this handle is
/// dropped or the process ends.
pub struct FirebaseAuthEmulator {
    _process: HeldProcess,
    host: String,
    /// Its configuration, and the folder it runs in (its debug log).
    _dir: tempfile::TempDir,
}

impl FirebaseAuthEmulator {
    /// A demo project: the emulator never reaches Google for it.
    pub const PROJECT: &'static str = "demo-craftchain";

    /// Starts one; `None` if firebase-tools is not installed (and may be
    /// skipped).
    pub async fn start() -> Option<FirebaseAuthEmulator> {
        let cli = locate(
            "firebase-tools",
            "FIREBASE_TOOLS_JS",
            common::tools::FIREBASE_TOOLS,
        )?;
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("a folder: {e}"));
        let port = free_port();
        let config = dir.path().join("firebase.json");
        let settings = common::tools::firebase_auth_emulator_config(port, free_port(), free_port());
        std::fs::write(&config, settings.to_string())
            .unwrap_or_else(|e| panic!("writing {}: {e}", config.display()));
        let args = common::tools::firebase_auth_emulator_args(&cli, &config, Self::PROJECT);
        let host = format!("127.0.0.1:{port}");
        let process = HeldProcess::start_in(
            "the Firebase Auth emulator",
            "node".as_ref(),
            &args,
            &host,
            Some(dir.path()),
        )
        .await;
        Some(FirebaseAuthEmulator {
            _process: process,
            host,
            _dir: dir,
        })
    }

    /// One emulator for the whole test process, started by the first test
    /// that asks; tests keep apart by using addresses of their own.
    pub async fn shared() -> Option<&'static FirebaseAuthEmulator> {
        static SHARED: tokio::sync::OnceCell<Option<FirebaseAuthEmulator>> =
            tokio::sync::OnceCell::const_new();
        SHARED.get_or_init(Self::start).await.as_ref()
    }

    /// `host:port`, what `FIREBASE_AUTH_EMULATOR_HOST` would hold.
    pub fn host(&self) -> &str {
        &self.host
    }
}
