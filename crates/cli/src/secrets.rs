//! Per-service secrets for `service`-role tokens on one machine: generated
//! on first start into `<data dir>/secrets.json` (readable by the owner
//! only) and reused after. Production sets them from Secret Manager, or
//! uses Google OIDC tokens instead.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context as _;
use rand::RngCore;
use secrecy::SecretString;

/// The secret of each service.
#[derive(Clone, Default)]
pub struct Secrets(BTreeMap<String, SecretString>);

impl Secrets {
    pub fn get(&self, service: &str) -> Option<SecretString> {
        self.0.get(service).cloned()
    }

    pub fn all(&self) -> BTreeMap<String, SecretString> {
        self.0.clone()
    }
}

pub(crate) fn load_or_create<'a>(
    dir: &Path,
    services: impl Iterator<Item = &'a str>,
) -> anyhow::Result<Secrets> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let path = dir.join("secrets.json");
    let mut map: BTreeMap<String, String> = match std::fs::read(&path) {
        Ok(bytes) => {
            serde_json::from_slice(&bytes).with_context(|| format!("reading {}", path.display()))?
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    let mut changed = false;
    for service in services {
        map.entry(service.to_owned()).or_insert_with(|| {
            changed = true;
            let mut bytes = [0u8; 32];
            rand::rng().fill_bytes(&mut bytes);
            bytes.iter().map(|b| format!("{b:02x}")).collect()
        });
    }
    if changed {
        write_private(&path, &serde_json::to_vec_pretty(&map)?)?;
    }
    Ok(Secrets(
        map.into_iter()
            .map(|(k, v)| (k, SecretString::from(v)))
            .collect(),
    ))
}

fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, bytes)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600))?;
    }
    std::fs::rename(&tmp, path)?;
    Ok(())
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.0.keys()).finish()
    }
}
