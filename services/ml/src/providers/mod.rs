//! What the service cannot compute from the data itself — free text,
//! machine translation, object labels, embeddings — behind one trait per
//! capability, each chosen by configuration:
//!
//! - `local` (the default): no provider. Endpoints say so in their answer
//!   (a field marked unavailable with the reason, or text composed from the
//!   product's own fields through written templates and labelled so);
//!   nothing is invented.
//! - `vertex`: Gemini `generateContent`, Cloud Translation v3
//!   `translateText`, Cloud Vision `images:annotate` and Vertex text
//!   embeddings, with the service account's access token from the metadata
//!   server ([`vertex`]).
//! - `openai`: an OpenAI-compatible endpoint (chat completions,
//!   embeddings), for self-hosted models ([`openai`]).
//!
//! A provider that fails is a [`ProviderError`]: where the answer is the
//! provider's text, 503 with `Retry-After` (the provider's own after a
//! 429), or 422 when it refused the content; where it adds to a computed
//! answer (recognition, translations), that part is marked `failed` with
//! the reason. Never a silent fall-back to other text.

pub mod http;
pub mod openai;
pub mod vertex;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::config::{ProviderChoice, Providers as ProviderSettings};

/// Why a provider gave no answer.
#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    /// The provider's quota is spent (HTTP 429): try again after the wait.
    #[error("{provider} is over its quota; retry in {}s", .retry_after.as_secs())]
    Quota {
        provider: &'static str,
        retry_after: Duration,
    },
    /// The provider declined the content (a safety block).
    #[error("{provider} declined to answer: {reason}")]
    Refused {
        provider: &'static str,
        reason: String,
    },
    /// Unreachable, an error status, or an answer not in its documented shape.
    #[error("{provider} failed: {detail}")]
    Failed {
        provider: &'static str,
        detail: String,
    },
}

/// What a text model is asked.
#[derive(Debug, Clone, PartialEq)]
pub struct Prompt {
    /// How to answer (tone, grounding, format).
    pub system: String,
    /// The product's facts and the task.
    pub user: String,
    pub max_output_tokens: u32,
}

/// Free text from a model.
#[async_trait]
pub trait TextGenerator: Send + Sync + 'static {
    /// The model, as named in answers (`vertex:gemini-2.0-flash`).
    fn model(&self) -> String;
    async fn generate(&self, prompt: &Prompt) -> Result<String, ProviderError>;
}

/// Machine translation between ISO 639-1 languages.
#[async_trait]
pub trait Translator: Send + Sync + 'static {
    fn model(&self) -> String;
    async fn translate(&self, text: &str, from: &str, to: &str) -> Result<String, ProviderError>;
}

/// A label a vision model sees.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Label {
    pub name: String,
    /// 0–1.
    pub score: f64,
}

/// An object a vision model finds, with its box in 0–1 image coordinates
/// (`[left, top, right, bottom]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DetectedObject {
    pub name: String,
    pub score: f64,
    pub bounds: [f64; 4],
}

/// What a vision model says about a photo.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Annotation {
    pub labels: Vec<Label>,
    pub objects: Vec<DetectedObject>,
    /// Likelihoods per category (`adult`, `violence`, `racy`, …) as the
    /// provider names them (`VERY_UNLIKELY` … `VERY_LIKELY`).
    pub safe_search: std::collections::BTreeMap<String, String>,
}

/// The most bytes of a photo sent inline to a vision provider (Cloud
/// Vision takes JSON requests of at most 10 MB; base64 adds a third).
pub const MAX_INLINE_IMAGE_BYTES: usize = 7 * 1024 * 1024;

/// Labels, objects and safety of a photo.
#[async_trait]
pub trait Vision: Send + Sync + 'static {
    fn model(&self) -> String;
    async fn annotate(&self, image: &[u8]) -> Result<Annotation, ProviderError>;
}

/// What embeddings are for: texts to be found, or a search for them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EmbedTask {
    #[default]
    Document,
    Query,
}

/// Text embeddings, one vector per text, in order.
#[async_trait]
pub trait Embedder: Send + Sync + 'static {
    fn model(&self) -> String;
    async fn embed(
        &self,
        texts: &[String],
        task: EmbedTask,
    ) -> Result<Vec<Vec<f32>>, ProviderError>;
}

/// The providers configured; `None` is local (no provider).
#[derive(Clone, Default)]
pub struct Providers {
    pub text: Option<Arc<dyn TextGenerator>>,
    pub translator: Option<Arc<dyn Translator>>,
    pub vision: Option<Arc<dyn Vision>>,
    pub embedder: Option<Arc<dyn Embedder>>,
}

impl Providers {
    /// The providers `settings` choose; Google's APIs authenticate with
    /// access tokens from the metadata server at `metadata`.
    pub fn from_settings(settings: &ProviderSettings, metadata: &url::Url) -> anyhow::Result<Self> {
        let google = || -> anyhow::Result<vertex::Google> {
            vertex::Google::new(&settings.vertex, metadata, settings.timeout())
        };
        let openai = || openai::OpenAi::new(&settings.openai, settings.timeout());
        let text: Option<Arc<dyn TextGenerator>> = match settings.text {
            ProviderChoice::Local => None,
            ProviderChoice::Vertex => Some(Arc::new(vertex::Gemini(google()?))),
            ProviderChoice::Openai => Some(Arc::new(openai::Chat(openai()?))),
        };
        let translator: Option<Arc<dyn Translator>> = match settings.translation {
            ProviderChoice::Local => None,
            ProviderChoice::Vertex => Some(Arc::new(vertex::Translation(google()?))),
            ProviderChoice::Openai => Some(Arc::new(openai::ChatTranslator(openai()?))),
        };
        let vision: Option<Arc<dyn Vision>> = match settings.vision {
            ProviderChoice::Local => None,
            ProviderChoice::Vertex => Some(Arc::new(vertex::CloudVision(google()?))),
            ProviderChoice::Openai => {
                anyhow::bail!("vision: no OpenAI-compatible provider; use local or vertex")
            }
        };
        let embedder: Option<Arc<dyn Embedder>> = match settings.embeddings {
            ProviderChoice::Local => None,
            ProviderChoice::Vertex => Some(Arc::new(vertex::Embeddings(google()?))),
            ProviderChoice::Openai => Some(Arc::new(openai::Embeddings(openai()?))),
        };
        Ok(Self {
            text,
            translator,
            vision,
            embedder,
        })
    }
}

/// A capability's state in an answer: what produced it, or why nothing did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Source {
    /// From the provider's model.
    Model { model: String },
    /// Composed from the product's own fields through written templates
    /// (no text model configured).
    Template { reason: String },
    /// Nothing: the capability has no provider here.
    Unavailable { reason: String },
}

impl Source {
    /// No provider for `capability`.
    pub fn unavailable(capability: &str) -> Self {
        Source::Unavailable {
            reason: format!(
                "no {capability} provider is configured (local mode computes only what follows from the data)"
            ),
        }
    }

    /// Text from templates, because no text model is configured.
    pub fn template() -> Self {
        Source::Template {
            reason: "no text model is configured: composed from the product's own fields through written templates".to_owned(),
        }
    }
}
