//! The gateway's state: its upstreams, the verified-token cache, the rate
//! limits and its settings, shared by the proxy and its own routes.

use std::sync::Arc;
use std::time::Duration;

use common::identity::Authenticator;
use common::tokens::TokenProvider;

use crate::config::Settings;
use crate::domain::auth::Verified;
use crate::domain::limits::Limits;
use crate::domain::pool::PoolError;
use crate::domain::upstream::Upstreams;

/// Everything the proxy needs.
pub struct Gateway {
    pub upstreams: Upstreams,
    /// Where ID tokens for the upstreams come from (Cloud Run), if anywhere.
    pub id_tokens: Option<Arc<dyn TokenProvider>>,
    pub auth: Arc<Authenticator>,
    pub tokens: quick_cache::sync::Cache<String, Arc<Verified>>,
    pub limits: Limits,
    pub settings: Settings,
    /// Every service's API merged (`/docs/all`), made at most once a minute.
    pub(crate) docs: common::serve::Cached<Arc<crate::routes::docs::MergedDocs>>,
}

impl Gateway {
    pub async fn upstream_ready(&self, name: &str) -> Result<(), String> {
        let answer =
            tokio::time::timeout(Duration::from_secs(2), self.upstream_get(name, "/ready"));
        match answer.await {
            Ok(Ok(r)) if r.status().is_success() => Ok(()),
            Ok(Ok(r)) => Err(format!("answered {}", r.status())),
            Ok(Err(why)) => Err(why),
            Err(_) => Err("timed out".to_owned()),
        }
    }

    /// `GET path` of an upstream, for the gateway's own use (readiness, docs),
    /// through the proxy's connections and with its ID token.
    pub async fn upstream_get(
        &self,
        name: &str,
        path: &'static str,
    ) -> Result<http::Response<crate::domain::pool::PooledBody>, String> {
        let upstream = self
            .upstreams
            .get(name)
            .ok_or_else(|| format!("no upstream {name}"))?;
        let mut request = http::Request::get(path)
            .body(axum::body::Body::empty())
            .map_err(|e| e.to_string())?;
        if let Some(tokens) = &self.id_tokens {
            let token = crate::domain::auth::upstream_token(tokens.as_ref(), upstream).await?;
            request.headers_mut().insert(
                crate::domain::headers::SERVERLESS_AUTHORIZATION.clone(),
                token,
            );
        }
        // The reason goes to the log, not into `/ready`'s public answer.
        upstream.send(request).await.map_err(|e| {
            tracing::warn!(upstream = name, error = ?e, "upstream check failed");
            match e {
                PoolError::Connect(_) => "unreachable".to_owned(),
                PoolError::Http(_) => "failed to answer".to_owned(),
                PoolError::Busy => "busy".to_owned(),
            }
        })
    }
}
