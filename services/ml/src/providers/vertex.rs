//! Google's APIs, over their documented REST shapes, with the service
//! account's OAuth access token from the metadata server:
//!
//! - Gemini: `POST {aiplatform}/v1/projects/{p}/locations/{l}/publishers/google/models/{m}:generateContent`
//! - text embeddings: `… /models/{m}:predict` with `instances[].content`
//! - Cloud Translation v3: `POST {translation}/v3/projects/{p}/locations/global:translateText`
//! - Cloud Vision: `POST {vision}/v1/images:annotate` (labels, objects,
//!   image properties, safe search)

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use base64::Engine as _;
use common::tokens::GoogleAccessTokens;
use serde::Deserialize;
use serde_json::json;
use url::Url;

use super::{
    Annotation, DetectedObject, EmbedTask, Embedder, Label, Prompt, ProviderError, TextGenerator,
    Translator, Vision, http,
};
use crate::config::VertexSettings;

/// A Google API caller: the settings, an HTTP client and the token source.
#[derive(Clone)]
pub struct Google {
    settings: VertexSettings,
    http: reqwest::Client,
    tokens: Arc<GoogleAccessTokens>,
}

impl Google {
    pub fn new(
        settings: &VertexSettings,
        metadata: &Url,
        timeout: Duration,
    ) -> anyhow::Result<Self> {
        if settings.project.trim().is_empty() {
            anyhow::bail!("vertex providers need CRAFTCHAIN_ML_PROVIDERS__VERTEX__PROJECT");
        }
        Ok(Self {
            settings: settings.clone(),
            http: http::client(timeout)?,
            tokens: Arc::new(GoogleAccessTokens::new(metadata)?),
        })
    }

    async fn post<T: serde::de::DeserializeOwned>(
        &self,
        provider: &'static str,
        url: Url,
        body: &serde_json::Value,
    ) -> Result<T, ProviderError> {
        let token = self
            .tokens
            .access_token()
            .await
            .map_err(|e| ProviderError::Failed {
                provider,
                detail: format!("no access token: {e}"),
            })?;
        http::post_json(provider, &self.http, url, Some(&token), body).await
    }

    /// `{aiplatform}/v1/projects/{p}/locations/{l}/publishers/google/models/{model}:{verb}`.
    fn model_url(&self, model: &str, verb: &str) -> Result<Url, ProviderError> {
        let s = &self.settings;
        let base = match &s.aiplatform_url {
            Some(url) => url.clone(),
            None => Url::parse(&format!(
                "https://{}-aiplatform.googleapis.com/",
                s.location
            ))
            .map_err(|e| failed("vertex", e))?,
        };
        base.join(&format!(
            "v1/projects/{}/locations/{}/publishers/google/models/{model}:{verb}",
            s.project, s.location
        ))
        .map_err(|e| failed("vertex", e))
    }
}

fn failed(provider: &'static str, e: impl std::fmt::Display) -> ProviderError {
    ProviderError::Failed {
        provider,
        detail: e.to_string(),
    }
}

/// Gemini through Vertex AI.
pub struct Gemini(pub Google);

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GenerateResponse {
    #[serde(default)]
    candidates: Vec<Candidate>,
    prompt_feedback: Option<PromptFeedback>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Candidate {
    content: Option<Content>,
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct Content {
    #[serde(default)]
    parts: Vec<Part>,
}

#[derive(Deserialize)]
struct Part {
    text: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PromptFeedback {
    block_reason: Option<String>,
}

/// Finish reasons after which the text is not the model's answer.
const BLOCKED: &[&str] = &[
    "SAFETY",
    "RECITATION",
    "BLOCKLIST",
    "PROHIBITED_CONTENT",
    "SPII",
];

#[async_trait]
impl TextGenerator for Gemini {
    fn model(&self) -> String {
        format!("vertex:{}", self.0.settings.text_model)
    }

    async fn generate(&self, prompt: &Prompt) -> Result<String, ProviderError> {
        const P: &str = "gemini";
        let url = self
            .0
            .model_url(&self.0.settings.text_model, "generateContent")?;
        let body = json!({
            "contents": [{"role": "user", "parts": [{"text": prompt.user}]}],
            "systemInstruction": {"parts": [{"text": prompt.system}]},
            "generationConfig": {
                "temperature": 0.4,
                "maxOutputTokens": prompt.max_output_tokens,
            },
        });
        let answer: GenerateResponse = self.0.post(P, url, &body).await?;
        if let Some(reason) = answer.prompt_feedback.and_then(|f| f.block_reason) {
            return Err(ProviderError::Refused {
                provider: P,
                reason: format!("prompt blocked: {reason}"),
            });
        }
        let candidate = answer
            .candidates
            .into_iter()
            .next()
            .ok_or_else(|| failed(P, "no candidates in the answer"))?;
        if let Some(reason) = candidate
            .finish_reason
            .as_ref()
            .filter(|r| BLOCKED.contains(&r.as_str()))
        {
            return Err(ProviderError::Refused {
                provider: P,
                reason: format!("finish reason {reason}"),
            });
        }
        if candidate.finish_reason.as_deref() == Some("MAX_TOKENS") {
            return Err(failed(
                P,
                "the answer was cut off at the output token limit",
            ));
        }
        let text: String = candidate
            .content
            .map(|c| c.parts.into_iter().filter_map(|p| p.text).collect())
            .unwrap_or_default();
        if text.trim().is_empty() {
            return Err(failed(P, "the answer has no text"));
        }
        Ok(text.trim().to_owned())
    }
}

/// Vertex AI text embeddings.
pub struct Embeddings(pub Google);

#[derive(Deserialize)]
struct PredictResponse {
    predictions: Vec<Prediction>,
}

#[derive(Deserialize)]
struct Prediction {
    embeddings: EmbeddingValues,
}

#[derive(Deserialize)]
struct EmbeddingValues {
    values: Vec<f32>,
}

#[async_trait]
impl Embedder for Embeddings {
    fn model(&self) -> String {
        format!("vertex:{}", self.0.settings.embedding_model)
    }

    async fn embed(
        &self,
        texts: &[String],
        task: EmbedTask,
    ) -> Result<Vec<Vec<f32>>, ProviderError> {
        const P: &str = "vertex embeddings";
        let url = self
            .0
            .model_url(&self.0.settings.embedding_model, "predict")?;
        let task_type = match task {
            EmbedTask::Document => "RETRIEVAL_DOCUMENT",
            EmbedTask::Query => "RETRIEVAL_QUERY",
        };
        let instances: Vec<_> = texts
            .iter()
            .map(|t| json!({"content": t, "task_type": task_type}))
            .collect();
        let answer: PredictResponse = self
            .0
            .post(P, url, &json!({"instances": instances}))
            .await?;
        if answer.predictions.len() != texts.len() {
            return Err(failed(
                P,
                format!(
                    "{} embeddings for {} texts",
                    answer.predictions.len(),
                    texts.len()
                ),
            ));
        }
        Ok(answer
            .predictions
            .into_iter()
            .map(|p| p.embeddings.values)
            .collect())
    }
}

/// Cloud Translation v3.
pub struct Translation(pub Google);

#[derive(Deserialize)]
struct TranslateResponse {
    translations: Vec<Translated>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Translated {
    translated_text: String,
}

#[async_trait]
impl Translator for Translation {
    fn model(&self) -> String {
        "vertex:cloud-translation-v3".to_owned()
    }

    async fn translate(&self, text: &str, from: &str, to: &str) -> Result<String, ProviderError> {
        const P: &str = "cloud translation";
        let url = self
            .0
            .settings
            .translation_url
            .join(&format!(
                "v3/projects/{}/locations/global:translateText",
                self.0.settings.project
            ))
            .map_err(|e| failed(P, e))?;
        let body = json!({
            "contents": [text],
            "mimeType": "text/plain",
            "sourceLanguageCode": from,
            "targetLanguageCode": to,
        });
        let answer: TranslateResponse = self.0.post(P, url, &body).await?;
        answer
            .translations
            .into_iter()
            .next()
            .map(|t| t.translated_text)
            .filter(|t| !t.trim().is_empty())
            .ok_or_else(|| failed(P, "no translation in the answer"))
    }
}

/// Cloud Vision.
pub struct CloudVision(pub Google);

#[derive(Deserialize)]
struct AnnotateResponse {
    responses: Vec<ImageResponse>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ImageResponse {
    #[serde(default)]
    label_annotations: Vec<EntityAnnotation>,
    #[serde(default)]
    localized_object_annotations: Vec<ObjectAnnotation>,
    safe_search_annotation: Option<BTreeMap<String, serde_json::Value>>,
    error: Option<Status>,
}

#[derive(Deserialize)]
struct EntityAnnotation {
    description: String,
    #[serde(default)]
    score: f64,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ObjectAnnotation {
    name: String,
    #[serde(default)]
    score: f64,
    bounding_poly: Option<BoundingPoly>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BoundingPoly {
    #[serde(default)]
    normalized_vertices: Vec<Vertex>,
}

/// A vertex; Vision leaves out coordinates that are 0.
#[derive(Deserialize)]
struct Vertex {
    #[serde(default)]
    x: f64,
    #[serde(default)]
    y: f64,
}

#[derive(Deserialize)]
struct Status {
    #[serde(default)]
    message: String,
}

#[async_trait]
impl Vision for CloudVision {
    fn model(&self) -> String {
        "vertex:cloud-vision-v1".to_owned()
    }

    async fn annotate(&self, image: &[u8]) -> Result<Annotation, ProviderError> {
        const P: &str = "cloud vision";
        let url = self
            .0
            .settings
            .vision_url
            .join("v1/images:annotate")
            .map_err(|e| failed(P, e))?;
        let body = json!({
            "requests": [{
                "image": {"content": base64::engine::general_purpose::STANDARD.encode(image)},
                "features": [
                    {"type": "LABEL_DETECTION", "maxResults": 10},
                    {"type": "OBJECT_LOCALIZATION", "maxResults": 10},
                    {"type": "IMAGE_PROPERTIES"},
                    {"type": "SAFE_SEARCH_DETECTION"},
                ],
            }],
        });
        let answer: AnnotateResponse = self.0.post(P, url, &body).await?;
        let response = answer
            .responses
            .into_iter()
            .next()
            .ok_or_else(|| failed(P, "no response for the image"))?;
        if let Some(error) = response.error {
            return Err(failed(P, error.message));
        }
        let bounds = |poly: Option<BoundingPoly>| {
            let vertices = poly.map(|p| p.normalized_vertices).unwrap_or_default();
            let fold = |f: fn(f64, f64) -> f64, start: f64, pick: fn(&Vertex) -> f64| {
                vertices.iter().map(pick).fold(start, f)
            };
            if vertices.is_empty() {
                [0.0, 0.0, 1.0, 1.0]
            } else {
                [
                    fold(f64::min, 1.0, |v| v.x),
                    fold(f64::min, 1.0, |v| v.y),
                    fold(f64::max, 0.0, |v| v.x),
                    fold(f64::max, 0.0, |v| v.y),
                ]
            }
        };
        Ok(Annotation {
            labels: response
                .label_annotations
                .into_iter()
                .map(|l| Label {
                    name: l.description,
                    score: l.score,
                })
                .collect(),
            objects: response
                .localized_object_annotations
                .into_iter()
                .map(|o| DetectedObject {
                    bounds: bounds(o.bounding_poly),
                    name: o.name,
                    score: o.score,
                })
                .collect(),
            safe_search: response
                .safe_search_annotation
                .unwrap_or_default()
                .into_iter()
                .filter_map(|(k, v)| v.as_str().map(|v| (k, v.to_owned())))
                .collect(),
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde_json::json;
    use wiremock::matchers::{body_json, header, method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    use super::*;

    struct Fixture {
        api: MockServer,
        _metadata: MockServer,
        google: Google,
    }

    /// An API server and a metadata server handing out `ya29.test`.
    async fn fixture() -> Fixture {
        let metadata = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path(format!(
                "/{}",
                common::tokens::METADATA_ACCESS_TOKEN_PATH
            )))
            .and(header("Metadata-Flavor", "Google"))
            .respond_with(ResponseTemplate::new(200).set_body_json(
                json!({"access_token": "ya29.test", "expires_in": 3599, "token_type": "Bearer"}),
            ))
            .mount(&metadata)
            .await;
        let api = MockServer::start().await;
        let base = Url::parse(&format!("{}/", api.uri())).unwrap();
        let settings = VertexSettings {
            project: "craftchain-prod".into(),
            location: "asia-south1".into(),
            aiplatform_url: Some(base.clone()),
            vision_url: base.clone(),
            translation_url: base,
            ..VertexSettings::default()
        };
        let google = Google::new(
            &settings,
            &Url::parse(&metadata.uri()).unwrap(),
            Duration::from_secs(5),
        )
        .unwrap();
        Fixture {
            api,
            _metadata: metadata,
            google,
        }
    }

    fn prompt() -> Prompt {
        Prompt {
            system: "Write only from the facts given.".into(),
            user: "Title: Blue pottery vase".into(),
            max_output_tokens: 256,
        }
    }

    const GEMINI_PATH: &str = "/v1/projects/craftchain-prod/locations/asia-south1/publishers/google/models/gemini-2.0-flash-001:generateContent";

    #[tokio::test]
    async fn gemini_sends_the_documented_request_and_reads_the_candidate() {
        let f = fixture().await;
        Mock::given(method("POST"))
            .and(path(GEMINI_PATH))
            .and(header("authorization", "Bearer ya29.test"))
            .and(body_json(json!({
                "contents": [{"role": "user", "parts": [{"text": "Title: Blue pottery vase"}]}],
                "systemInstruction": {"parts": [{"text": "Write only from the facts given."}]},
                "generationConfig": {"temperature": 0.4, "maxOutputTokens": 256},
            })))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "candidates": [{
                    "content": {"role": "model", "parts": [{"text": "A vase "}, {"text": "in Jaipur blue."}]},
                    "finishReason": "STOP",
                }],
                "usageMetadata": {"promptTokenCount": 9, "candidatesTokenCount": 6, "totalTokenCount": 15},
                "modelVersion": "gemini-2.0-flash-001",
            })))
            .expect(1)
            .mount(&f.api)
            .await;
        let text = Gemini(f.google).generate(&prompt()).await.unwrap();
        assert_eq!(text, "A vase in Jaipur blue.");
    }

    #[tokio::test]
    async fn gemini_quota_is_a_quota_error_with_the_providers_wait() {
        let f = fixture().await;
        Mock::given(method("POST"))
            .and(path(GEMINI_PATH))
            .respond_with(
                ResponseTemplate::new(429)
                    .insert_header("retry-after", "17")
                    .set_body_json(json!({"error": {"code": 429, "message": "Resource has been exhausted (e.g. check quota).", "status": "RESOURCE_EXHAUSTED"}})),
            )
            .mount(&f.api)
            .await;
        let err = Gemini(f.google).generate(&prompt()).await.unwrap_err();
        assert!(
            matches!(err, ProviderError::Quota { retry_after, .. } if retry_after == Duration::from_secs(17)),
            "{err:?}"
        );
    }

    #[tokio::test]
    async fn gemini_errors_and_safety_blocks_are_errors_never_text() {
        let f = fixture().await;
        Mock::given(method("POST"))
            .and(path(GEMINI_PATH))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "candidates": [{"content": {"parts": [{"text": "partial"}]}, "finishReason": "SAFETY"}],
            })))
            .up_to_n_times(1)
            .mount(&f.api)
            .await;
        Mock::given(method("POST"))
            .and(path(GEMINI_PATH))
            .respond_with(ResponseTemplate::new(400).set_body_json(json!({
                "error": {"code": 400, "message": "Request contains an invalid argument.", "status": "INVALID_ARGUMENT"},
            })))
            .mount(&f.api)
            .await;
        let gemini = Gemini(f.google);
        let blocked = gemini.generate(&prompt()).await.unwrap_err();
        assert!(
            matches!(&blocked, ProviderError::Refused { reason, .. } if reason.contains("SAFETY")),
            "{blocked:?}"
        );
        let bad = gemini.generate(&prompt()).await.unwrap_err();
        assert!(
            matches!(&bad, ProviderError::Failed { detail, .. } if detail.contains("invalid argument")),
            "{bad:?}"
        );
    }

    #[tokio::test]
    async fn translation_v3_sends_the_documented_request() {
        let f = fixture().await;
        Mock::given(method("POST"))
            .and(path(
                "/v3/projects/craftchain-prod/locations/global:translateText",
            ))
            .and(header("authorization", "Bearer ya29.test"))
            .and(body_json(json!({
                "contents": ["A blue vase."],
                "mimeType": "text/plain",
                "sourceLanguageCode": "en",
                "targetLanguageCode": "hi",
            })))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "translations": [{"translatedText": "एक नीला फूलदान।"}],
            })))
            .expect(1)
            .mount(&f.api)
            .await;
        let text = Translation(f.google)
            .translate("A blue vase.", "en", "hi")
            .await
            .unwrap();
        assert_eq!(text, "एक नीला फूलदान।");
    }

    #[tokio::test]
    async fn vision_sends_the_four_features_and_reads_labels_objects_and_safety() {
        let f = fixture().await;
        Mock::given(method("POST"))
            .and(path("/v1/images:annotate"))
            .and(header("authorization", "Bearer ya29.test"))
            .and(body_json(json!({
                "requests": [{
                    "image": {"content": "AQID"},
                    "features": [
                        {"type": "LABEL_DETECTION", "maxResults": 10},
                        {"type": "OBJECT_LOCALIZATION", "maxResults": 10},
                        {"type": "IMAGE_PROPERTIES"},
                        {"type": "SAFE_SEARCH_DETECTION"},
                    ],
                }],
            })))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "responses": [{
                    "labelAnnotations": [{"mid": "/m/02wbm", "description": "Pottery", "score": 0.97, "topicality": 0.97}],
                    "localizedObjectAnnotations": [{
                        "mid": "/m/02s195", "name": "Vase", "score": 0.88,
                        "boundingPoly": {"normalizedVertices": [{"x": 0.2, "y": 0.1}, {"x": 0.8, "y": 0.1}, {"x": 0.8, "y": 0.9}, {"y": 0.9}]},
                    }],
                    "imagePropertiesAnnotation": {"dominantColors": {"colors": [{"color": {"red": 30, "green": 60, "blue": 160}, "score": 0.6, "pixelFraction": 0.4}]}},
                    "safeSearchAnnotation": {"adult": "VERY_UNLIKELY", "spoof": "UNLIKELY", "medical": "VERY_UNLIKELY", "violence": "VERY_UNLIKELY", "racy": "VERY_UNLIKELY"},
                }],
            })))
            .expect(1)
            .mount(&f.api)
            .await;
        let a = CloudVision(f.google).annotate(&[1, 2, 3]).await.unwrap();
        assert_eq!(
            a.labels,
            vec![Label {
                name: "Pottery".into(),
                score: 0.97
            }]
        );
        assert_eq!(a.objects[0].name, "Vase");
        assert_eq!(a.objects[0].bounds, [0.0, 0.1, 0.8, 0.9]);
        assert_eq!(a.safe_search["adult"], "VERY_UNLIKELY");
    }

    #[tokio::test]
    async fn a_vision_error_for_the_image_is_an_error() {
        let f = fixture().await;
        Mock::given(method("POST"))
            .and(path("/v1/images:annotate"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "responses": [{"error": {"code": 3, "message": "Bad image data."}}],
            })))
            .mount(&f.api)
            .await;
        let err = CloudVision(f.google).annotate(&[0]).await.unwrap_err();
        assert!(
            matches!(&err, ProviderError::Failed { detail, .. } if detail == "Bad image data."),
            "{err:?}"
        );
    }

    #[tokio::test]
    async fn embeddings_send_instances_and_keep_their_order() {
        let f = fixture().await;
        Mock::given(method("POST"))
            .and(path("/v1/projects/craftchain-prod/locations/asia-south1/publishers/google/models/text-multilingual-embedding-002:predict"))
            .and(header("authorization", "Bearer ya29.test"))
            .and(body_json(json!({
                "instances": [
                    {"content": "blue vase", "task_type": "RETRIEVAL_DOCUMENT"},
                    {"content": "kantha quilt", "task_type": "RETRIEVAL_DOCUMENT"},
                ],
            })))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "predictions": [
                    {"embeddings": {"values": [0.1, 0.2], "statistics": {"truncated": false, "token_count": 2}}},
                    {"embeddings": {"values": [0.3, 0.4], "statistics": {"truncated": false, "token_count": 3}}},
                ],
            })))
            .expect(1)
            .mount(&f.api)
            .await;
        let vectors = Embeddings(f.google)
            .embed(
                &["blue vase".into(), "kantha quilt".into()],
                EmbedTask::Document,
            )
            .await
            .unwrap();
        assert_eq!(vectors, vec![vec![0.1, 0.2], vec![0.3, 0.4]]);
    }

    #[tokio::test]
    async fn no_access_token_is_a_failure_not_an_anonymous_call() {
        let api = MockServer::start().await;
        let metadata = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(503))
            .mount(&metadata)
            .await;
        let base = Url::parse(&format!("{}/", api.uri())).unwrap();
        let settings = VertexSettings {
            project: "p".into(),
            aiplatform_url: Some(base),
            ..VertexSettings::default()
        };
        let google = Google::new(
            &settings,
            &Url::parse(&metadata.uri()).unwrap(),
            Duration::from_secs(5),
        )
        .unwrap();
        let err = Gemini(google).generate(&prompt()).await.unwrap_err();
        assert!(
            matches!(&err, ProviderError::Failed { detail, .. } if detail.contains("no access token")),
            "{err:?}"
        );
        assert!(api.received_requests().await.unwrap_or_default().is_empty());
    }
}
