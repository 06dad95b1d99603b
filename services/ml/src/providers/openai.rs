//! An OpenAI-compatible endpoint (vLLM, llama.cpp's server, Ollama, …):
//! `POST {base}/chat/completions` and `POST {base}/embeddings`, with an
//! optional bearer key. Translation is a chat completion told to answer
//! with the translation only.

use std::time::Duration;

use async_trait::async_trait;
use secrecy::ExposeSecret as _;
use serde::Deserialize;
use serde_json::json;
use url::Url;

use super::{EmbedTask, Embedder, Prompt, ProviderError, TextGenerator, Translator, http};
use crate::config::OpenAiSettings;

/// The endpoint, its key and models.
#[derive(Clone)]
pub struct OpenAi {
    settings: OpenAiSettings,
    http: reqwest::Client,
}

impl OpenAi {
    pub fn new(settings: &OpenAiSettings, timeout: Duration) -> anyhow::Result<Self> {
        if settings.base_url.is_none() {
            anyhow::bail!("openai providers need CRAFTCHAIN_ML_PROVIDERS__OPENAI__BASE_URL");
        }
        Ok(Self {
            settings: settings.clone(),
            http: http::client(timeout)?,
        })
    }

    fn url(&self, provider: &'static str, path: &str) -> Result<Url, ProviderError> {
        let base = self
            .settings
            .base_url
            .as_ref()
            .ok_or(ProviderError::Failed {
                provider,
                detail: "no base URL".into(),
            })?;
        // `http://host/v1` and `http://host/v1/` both mean the same base.
        let mut base = base.clone();
        if !base.path().ends_with('/') {
            base.set_path(&format!("{}/", base.path()));
        }
        base.join(path).map_err(|e| ProviderError::Failed {
            provider,
            detail: e.to_string(),
        })
    }

    async fn post<T: serde::de::DeserializeOwned>(
        &self,
        provider: &'static str,
        path: &str,
        body: &serde_json::Value,
    ) -> Result<T, ProviderError> {
        let key = self.settings.api_key.as_ref().map(|k| k.expose_secret());
        http::post_json(provider, &self.http, self.url(provider, path)?, key, body).await
    }

    async fn chat(&self, prompt: &Prompt) -> Result<String, ProviderError> {
        const P: &str = "openai chat";
        let body = json!({
            "model": self.settings.chat_model,
            "messages": [
                {"role": "system", "content": prompt.system},
                {"role": "user", "content": prompt.user},
            ],
            "max_tokens": prompt.max_output_tokens,
            "temperature": 0.4,
        });
        let answer: ChatResponse = self.post(P, "chat/completions", &body).await?;
        let choice = answer
            .choices
            .into_iter()
            .next()
            .ok_or_else(|| ProviderError::Failed {
                provider: P,
                detail: "no choices in the answer".into(),
            })?;
        if choice.finish_reason.as_deref() == Some("content_filter") {
            return Err(ProviderError::Refused {
                provider: P,
                reason: "finish reason content_filter".into(),
            });
        }
        if choice.finish_reason.as_deref() == Some("length") {
            return Err(ProviderError::Failed {
                provider: P,
                detail: "the answer was cut off at the token limit".into(),
            });
        }
        let text = choice.message.content.unwrap_or_default();
        if text.trim().is_empty() {
            return Err(ProviderError::Failed {
                provider: P,
                detail: "the answer has no text".into(),
            });
        }
        Ok(text.trim().to_owned())
    }
}

#[derive(Deserialize)]
struct ChatResponse {
    choices: Vec<Choice>,
}

#[derive(Deserialize)]
struct Choice {
    message: Message,
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct Message {
    content: Option<String>,
}

/// Chat completions as the text generator.
pub struct Chat(pub OpenAi);

#[async_trait]
impl TextGenerator for Chat {
    fn model(&self) -> String {
        format!("openai:{}", self.0.settings.chat_model)
    }

    async fn generate(&self, prompt: &Prompt) -> Result<String, ProviderError> {
        self.0.chat(prompt).await
    }
}

/// Chat completions as the translator.
pub struct ChatTranslator(pub OpenAi);

#[async_trait]
impl Translator for ChatTranslator {
    fn model(&self) -> String {
        format!("openai:{}", self.0.settings.chat_model)
    }

    async fn translate(&self, text: &str, from: &str, to: &str) -> Result<String, ProviderError> {
        let prompt = Prompt {
            system: format!(
                "Translate the user's text from the language with ISO 639-1 code '{from}' into the language with code '{to}'. Answer with the translation only, keeping names, numbers and measurements as they are."
            ),
            user: text.to_owned(),
            max_output_tokens: 2_048,
        };
        self.0.chat(&prompt).await
    }
}

/// `/embeddings`.
pub struct Embeddings(pub OpenAi);

#[derive(Deserialize)]
struct EmbeddingResponse {
    data: Vec<EmbeddingItem>,
}

#[derive(Deserialize)]
struct EmbeddingItem {
    index: usize,
    embedding: Vec<f32>,
}

#[async_trait]
impl Embedder for Embeddings {
    fn model(&self) -> String {
        format!("openai:{}", self.0.settings.embedding_model)
    }

    /// The endpoint has no task parameter: both tasks embed alike.
    async fn embed(
        &self,
        texts: &[String],
        _task: EmbedTask,
    ) -> Result<Vec<Vec<f32>>, ProviderError> {
        const P: &str = "openai embeddings";
        let body = json!({"model": self.0.settings.embedding_model, "input": texts});
        let mut answer: EmbeddingResponse = self.0.post(P, "embeddings", &body).await?;
        answer.data.sort_by_key(|d| d.index);
        let in_order = answer.data.iter().enumerate().all(|(i, d)| d.index == i);
        if answer.data.len() != texts.len() || !in_order {
            return Err(ProviderError::Failed {
                provider: P,
                detail: format!("{} embeddings for {} texts", answer.data.len(), texts.len()),
            });
        }
        Ok(answer.data.into_iter().map(|d| d.embedding).collect())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use secrecy::SecretString;
    use serde_json::json;
    use wiremock::matchers::{body_json, header, method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    use super::*;

    async fn endpoint() -> (MockServer, OpenAi) {
        let server = MockServer::start().await;
        let settings = OpenAiSettings {
            base_url: Some(Url::parse(&format!("{}/v1", server.uri())).unwrap()),
            api_key: Some(SecretString::from("sk-local")),
            chat_model: "qwen2.5-7b-instruct".into(),
            embedding_model: "bge-m3".into(),
        };
        let client = OpenAi::new(&settings, Duration::from_secs(5)).unwrap();
        (server, client)
    }

    fn chat_answer(content: &str, finish: &str) -> ResponseTemplate {
        ResponseTemplate::new(200).set_body_json(json!({
            "id": "chatcmpl-1", "object": "chat.completion", "created": 1_733_450_000,
            "model": "qwen2.5-7b-instruct",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": finish}],
            "usage": {"prompt_tokens": 20, "completion_tokens": 8, "total_tokens": 28},
        }))
    }

    #[tokio::test]
    async fn chat_sends_the_documented_request() {
        let (server, client) = endpoint().await;
        Mock::given(method("POST"))
            .and(path("/v1/chat/completions"))
            .and(header("authorization", "Bearer sk-local"))
            .and(body_json(json!({
                "model": "qwen2.5-7b-instruct",
                "messages": [
                    {"role": "system", "content": "Be factual."},
                    {"role": "user", "content": "Describe a kantha quilt."},
                ],
                "max_tokens": 300,
                "temperature": 0.4,
            })))
            .respond_with(chat_answer(" A quilt of layered saris. ", "stop"))
            .expect(1)
            .mount(&server)
            .await;
        let text = Chat(client)
            .generate(&Prompt {
                system: "Be factual.".into(),
                user: "Describe a kantha quilt.".into(),
                max_output_tokens: 300,
            })
            .await
            .unwrap();
        assert_eq!(text, "A quilt of layered saris.");
    }

    #[tokio::test]
    async fn translation_is_a_chat_asking_for_the_translation_only() {
        let (server, client) = endpoint().await;
        Mock::given(method("POST"))
            .and(path("/v1/chat/completions"))
            .respond_with(chat_answer("কাঁথা", "stop"))
            .expect(1)
            .mount(&server)
            .await;
        let text = ChatTranslator(client)
            .translate("Kantha", "en", "bn")
            .await
            .unwrap();
        assert_eq!(text, "কাঁথা");
        let sent: serde_json::Value = server.received_requests().await.unwrap()[0]
            .body_json()
            .unwrap();
        let system = sent["messages"][0]["content"].as_str().unwrap();
        assert!(
            system.contains("'en'") && system.contains("'bn'"),
            "{system}"
        );
        assert_eq!(sent["messages"][1]["content"], "Kantha");
    }

    #[tokio::test]
    async fn quota_errors_and_filtered_answers_are_errors() {
        let (server, client) = endpoint().await;
        Mock::given(method("POST"))
            .and(path("/v1/chat/completions"))
            .respond_with(ResponseTemplate::new(429).set_body_json(
                json!({"error": {"message": "Rate limit reached", "type": "requests"}}),
            ))
            .up_to_n_times(1)
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path("/v1/chat/completions"))
            .respond_with(chat_answer("", "content_filter"))
            .up_to_n_times(1)
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path("/v1/chat/completions"))
            .respond_with(
                ResponseTemplate::new(500)
                    .set_body_json(json!({"error": {"message": "model not loaded"}})),
            )
            .mount(&server)
            .await;
        let chat = Chat(client);
        let prompt = Prompt {
            system: "s".into(),
            user: "u".into(),
            max_output_tokens: 10,
        };
        let quota = chat.generate(&prompt).await.unwrap_err();
        assert!(
            matches!(quota, ProviderError::Quota { retry_after, .. } if retry_after == http::DEFAULT_QUOTA_WAIT),
            "{quota:?}"
        );
        let filtered = chat.generate(&prompt).await.unwrap_err();
        assert!(
            matches!(filtered, ProviderError::Refused { .. }),
            "{filtered:?}"
        );
        let failed = chat.generate(&prompt).await.unwrap_err();
        assert!(
            matches!(&failed, ProviderError::Failed { detail, .. } if detail.contains("model not loaded")),
            "{failed:?}"
        );
    }

    #[tokio::test]
    async fn embeddings_are_put_back_in_input_order() {
        let (server, client) = endpoint().await;
        Mock::given(method("POST"))
            .and(path("/v1/embeddings"))
            .and(body_json(
                json!({"model": "bge-m3", "input": ["one", "two"]}),
            ))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "object": "list",
                "data": [
                    {"object": "embedding", "index": 1, "embedding": [0.2]},
                    {"object": "embedding", "index": 0, "embedding": [0.1]},
                ],
                "model": "bge-m3",
            })))
            .expect(1)
            .mount(&server)
            .await;
        let vectors = Embeddings(client)
            .embed(&["one".into(), "two".into()], EmbedTask::Query)
            .await
            .unwrap();
        assert_eq!(vectors, vec![vec![0.1], vec![0.2]]);
    }
}
