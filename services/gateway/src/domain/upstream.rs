//! The services behind the gateway: one pool of connections and one
//! circuit breaker each, over plain HTTP or TLS (the system's roots and
//! an optional private CA).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use axum::extract::Request;
use http::Uri;
use tokio_rustls::rustls::pki_types::CertificateDer;
use tokio_rustls::rustls::pki_types::pem::PemObject as _;
use tokio_rustls::rustls::{ClientConfig, RootCertStore};
use url::Url;

use crate::config::Settings;
use crate::domain::breaker::Breaker;
use crate::domain::pool::{Bounds, Pool, PoolError, PooledBody};

/// One service behind the gateway.
pub struct Upstream {
    pub name: &'static str,
    /// Its origin: the audience of the ID token it is called with on
    /// Cloud Run.
    pub audience: String,
    pool: Pool,
    pub breaker: Breaker,
}

impl Upstream {
    /// `tls` is the client configuration for an `https://` base.
    pub fn new(
        name: &'static str,
        base: &Url,
        tls: Option<Arc<ClientConfig>>,
        settings: &Settings,
    ) -> anyhow::Result<Self> {
        let uri: Uri = base.as_str().parse()?;
        let tls = match uri.scheme_str() {
            Some("http") => None,
            Some("https") => Some(tls.ok_or_else(|| {
                anyhow::anyhow!("upstream {name}: no TLS configuration for {base}")
            })?),
            _ => anyhow::bail!("upstream {name}: expected an http:// or https:// URL, got {base}"),
        };
        let authority = uri
            .authority()
            .ok_or_else(|| anyhow::anyhow!("upstream {name} has no host"))?;
        Ok(Self {
            name,
            audience: base.origin().ascii_serialization(),
            pool: Pool::new(
                authority,
                tls,
                Duration::from_millis(settings.connect_timeout_ms),
                Bounds {
                    max_busy: settings.upstream_max_connections,
                    wait: Duration::from_millis(settings.upstream_wait_ms),
                },
            )?,
            breaker: Breaker::new(
                settings.breaker_failures,
                Duration::from_millis(settings.breaker_open_ms),
                Duration::from_millis(settings.breaker_max_open_ms),
            ),
        })
    }

    /// Send `request` (origin form) on one of its connections.
    pub async fn send(&self, request: Request) -> Result<http::Response<PooledBody>, PoolError> {
        self.pool.send(request).await
    }
}

/// The TLS client configuration for `https://` upstreams: the system's
/// root certificates and those of `extra_roots` (a PEM file), HTTP/1.1.
pub fn tls_config(extra_roots: Option<&Path>) -> anyhow::Result<Arc<ClientConfig>> {
    let mut roots = RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    for error in &native.errors {
        tracing::warn!(%error, "a system root certificate could not be loaded");
    }
    roots.add_parsable_certificates(native.certs);
    if let Some(path) = extra_roots {
        let mut added = 0;
        for cert in CertificateDer::pem_file_iter(path)
            .with_context(|| format!("reading {}", path.display()))?
        {
            roots.add(cert.with_context(|| format!("a certificate in {}", path.display()))?)?;
            added += 1;
        }
        anyhow::ensure!(added > 0, "no certificate in {}", path.display());
    }
    anyhow::ensure!(
        !roots.is_empty(),
        "no root certificates to check https upstreams with"
    );
    let mut config = ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// Upstreams by service name.
pub type Upstreams = BTreeMap<&'static str, Upstream>;
