//! The ML service's own settings (`CRAFTCHAIN_ML_*`).

use common::SharedConfig;
use common::platform;
use serde::Deserialize;
use url::Url;

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// The media service, asked for a product's photos.
    pub media_url: Url,
    /// The largest image file accepted, in bytes.
    pub max_image_bytes: usize,
    /// The most pixels (width × height) an image may declare.
    pub max_image_pixels: u64,
    /// Images analysed at once (each takes one core for tens of
    /// milliseconds); more wait up to `busy_wait_ms`, then get 503.
    pub max_concurrent_analyses: usize,
    pub busy_wait_ms: u64,
    /// How often the analysis worker looks for listed products to analyse.
    pub worker_interval_ms: u64,
    /// Who writes text, translates, labels photos and embeds text.
    pub providers: Providers,
}

/// Which provider serves a capability.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProviderChoice {
    /// None: only what follows from the data, and says so.
    #[default]
    Local,
    /// Google's APIs (Vertex AI, Cloud Vision, Cloud Translation).
    Vertex,
    /// An OpenAI-compatible endpoint.
    Openai,
}

/// The providers per capability (`CRAFTCHAIN_ML_PROVIDERS__TEXT=vertex`, …).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Providers {
    pub text: ProviderChoice,
    pub translation: ProviderChoice,
    /// `local` or `vertex` (no OpenAI-compatible vision).
    pub vision: ProviderChoice,
    pub embeddings: ProviderChoice,
    /// The longest a provider call may take.
    pub timeout_ms: u64,
    pub vertex: VertexSettings,
    pub openai: OpenAiSettings,
}

impl Default for Providers {
    fn default() -> Self {
        Self {
            text: ProviderChoice::Local,
            translation: ProviderChoice::Local,
            vision: ProviderChoice::Local,
            embeddings: ProviderChoice::Local,
            timeout_ms: 30_000,
            vertex: VertexSettings::default(),
            openai: OpenAiSettings::default(),
        }
    }
}

impl Providers {
    pub fn timeout(&self) -> std::time::Duration {
        std::time::Duration::from_millis(self.timeout_ms)
    }
}

/// Google Cloud: the project and region, the models, and the API
/// endpoints (Google's by default; the tests point them elsewhere).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct VertexSettings {
    pub project: String,
    /// Vertex AI region (Mumbai by default).
    pub location: String,
    pub text_model: String,
    /// Multilingual, for the Indian languages of the catalogue.
    pub embedding_model: String,
    /// Default `https://{location}-aiplatform.googleapis.com/`.
    pub aiplatform_url: Option<Url>,
    pub vision_url: Url,
    pub translation_url: Url,
}

impl Default for VertexSettings {
    fn default() -> Self {
        let url = |s: &str| Url::parse(s).unwrap_or_else(|_| platform::ML.local_url());
        Self {
            project: String::new(),
            location: "asia-south1".to_owned(),
            text_model: "gemini-2.0-flash-001".to_owned(),
            embedding_model: "text-multilingual-embedding-002".to_owned(),
            aiplatform_url: None,
            vision_url: url("https://vision.googleapis.com/"),
            translation_url: url("https://translation.googleapis.com/"),
        }
    }
}

/// An OpenAI-compatible endpoint (`…/v1`), its key and models.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OpenAiSettings {
    pub base_url: Option<Url>,
    pub api_key: Option<secrecy::SecretString>,
    pub chat_model: String,
    pub embedding_model: String,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            media_url: platform::MEDIA.local_url(),
            max_image_bytes: 25 * 1024 * 1024,
            max_image_pixels: 50_000_000,
            max_concurrent_analyses: 2,
            busy_wait_ms: 2_000,
            worker_interval_ms: 500,
            providers: Providers::default(),
        }
    }
}

impl Settings {
    /// The image limits, as the decoder checks them.
    pub fn limits(&self) -> imaging::Limits {
        imaging::Limits {
            max_bytes: self.max_image_bytes,
            max_pixels: self.max_image_pixels,
            ..imaging::Limits::default()
        }
    }
}

impl common::ServiceSettings for Settings {
    fn problems(&self, _shared: &SharedConfig) -> Vec<String> {
        let mut p = Vec::new();
        if self.max_concurrent_analyses == 0 {
            p.push("max_concurrent_analyses must be at least 1".to_owned());
        }
        if self.max_image_bytes == 0 || self.max_image_pixels == 0 {
            p.push("image limits must be positive".to_owned());
        }
        let chosen = |c: ProviderChoice| {
            [
                self.providers.text,
                self.providers.translation,
                self.providers.vision,
                self.providers.embeddings,
            ]
            .contains(&c)
        };
        if chosen(ProviderChoice::Vertex) && self.providers.vertex.project.trim().is_empty() {
            p.push("a vertex provider needs providers.vertex.project".to_owned());
        }
        if chosen(ProviderChoice::Openai) && self.providers.openai.base_url.is_none() {
            p.push("an openai provider needs providers.openai.base_url".to_owned());
        }
        let openai = &self.providers.openai;
        let openai_chat =
            [self.providers.text, self.providers.translation].contains(&ProviderChoice::Openai);
        if openai_chat && openai.chat_model.trim().is_empty() {
            p.push(
                "an openai text or translation provider needs providers.openai.chat_model"
                    .to_owned(),
            );
        }
        if self.providers.embeddings == ProviderChoice::Openai
            && openai.embedding_model.trim().is_empty()
        {
            p.push("openai embeddings need providers.openai.embedding_model".to_owned());
        }
        if self.providers.vision == ProviderChoice::Openai {
            p.push("vision: no OpenAI-compatible provider; use local or vertex".to_owned());
        }
        if self.providers.timeout_ms == 0 {
            p.push("providers.timeout_ms must be positive".to_owned());
        }
        p
    }
}
