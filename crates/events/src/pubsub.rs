//! The relay's production transport: each outbox entry published to the
//! Pub/Sub topic named by its event type, with its subject as ordering key,
//! the protobuf envelope as data and the event's type and id as
//! attributes. Pub/Sub then pushes it to every subscription (created by
//! `deploy/pubsub/apply.sh`) in the same push format the local relay uses.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use google_cloud_pubsub::client::{BasePublisher, Publisher};
use google_cloud_pubsub::model::Message;

use crate::outbox::OutboxEntry;

/// A service's publishers, one per topic, over one connection.
pub(crate) struct PubSubTopics {
    base: BasePublisher,
    publishers: Mutex<HashMap<String, Publisher>>,
}

impl PubSubTopics {
    /// Connects to Pub/Sub: to the emulator at `emulator_host` without
    /// credentials, else with the Application Default Credentials.
    pub(crate) async fn connect(emulator_host: Option<&str>) -> anyhow::Result<Self> {
        let mut builder = BasePublisher::builder();
        if let Some(host) = emulator_host {
            builder = builder
                .with_endpoint(format!("http://{host}"))
                .with_credentials(
                    google_cloud_auth::credentials::anonymous::Builder::new().build(),
                );
        }
        Ok(Self {
            base: builder.build().await?,
            publishers: Mutex::new(HashMap::new()),
        })
    }

    fn publisher(&self, topic: &str) -> Publisher {
        let mut publishers = self
            .publishers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        publishers
            .entry(topic.to_owned())
            .or_insert_with(|| {
                // The relay sends one entry at a time and waits for it:
                // nothing to gain from waiting to batch.
                self.base
                    .publisher(topic.to_owned())
                    .set_delay_threshold(Duration::from_millis(1))
                    .build()
            })
            .clone()
    }

    /// Publishes one entry to `topic` (`projects/<p>/topics/<event type>`);
    /// Pub/Sub's message id, or why it failed.
    pub(crate) async fn publish(
        &self,
        topic: &str,
        entry: &OutboxEntry,
        within: Duration,
    ) -> Result<String, String> {
        let data = STANDARD
            .decode(entry.data.as_bytes())
            .map_err(|e| format!("the stored envelope is not base64: {e}"))?;
        let publisher = self.publisher(topic);
        let message = Message::new()
            .set_data(data)
            .set_ordering_key(entry.subject.clone())
            .set_attributes([
                ("event_type", entry.event_type.as_str()),
                ("event_id", entry.event_id.as_str()),
            ]);
        let outcome = match tokio::time::timeout(within, publisher.publish(message)).await {
            Ok(Ok(id)) => return Ok(id),
            Ok(Err(e)) => e.to_string(),
            Err(_) => format!("Pub/Sub did not answer within {within:?}"),
        };
        // A failure pauses the ordering key; the relay retries the entry
        // (and holds its subject's later ones) itself.
        publisher.resume_publish(entry.subject.clone());
        Err(outcome)
    }
}
