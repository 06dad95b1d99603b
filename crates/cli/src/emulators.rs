//! A system on Google's emulators: a Cloud Storage bucket per service that
//! keeps blobs, and the Pub/Sub topology production gets
//! from `deploy/pubsub/apply.sh` (a topic per event type, an ordered push
//! subscription per consumer and topic), created in the Pub/Sub emulator.
//! The subscriptions are production's: ordered, with a dead-letter topic
//! (so that each push carries its delivery attempt). The emulator cannot
//! attach an OIDC token to its pushes, so each push
//! endpoint carries the system's push token instead (`events.push_token`).

use std::collections::BTreeMap;

use anyhow::Context as _;
use common::config::EventsConfig;
use google_cloud_pubsub::client::{SubscriptionAdmin, TopicAdmin};
use google_cloud_pubsub::model::{DeadLetterPolicy, PushConfig};
use secrecy::ExposeSecret as _;
use url::Url;

/// Creates `bucket` in a Cloud Storage emulator (fake-gcs-server's JSON API).
pub(crate) async fn create_bucket(emulator: &Url, bucket: &str) -> anyhow::Result<()> {
    let url = emulator.join("storage/v1/b")?;
    let response = common::client::http_client()
        .post(url)
        .query(&[("project", "craftchain")])
        .json(&serde_json::json!({ "name": bucket }))
        .send()
        .await
        .with_context(|| format!("creating the bucket {bucket}"))?;
    anyhow::ensure!(
        response.status().is_success(),
        "creating the bucket {bucket}: {}",
        response.status()
    );
    Ok(())
}

/// Creates every event type's topic in `project` and, for each subscriber
/// in `routes` (topic → push endpoints), an ordered push subscription.
pub(crate) async fn create_pubsub_routes(
    events: &EventsConfig,
    project: &str,
    routes: &BTreeMap<String, Vec<Url>>,
) -> anyhow::Result<()> {
    let host = events
        .pubsub_emulator_host
        .clone()
        .or_else(|| std::env::var("PUBSUB_EMULATOR_HOST").ok())
        .context("events.transport pubsub in a launched system needs the Pub/Sub emulator (events.pubsub_emulator_host)")?;
    let token = events
        .push_token
        .as_ref()
        .context("the emulator's push subscriptions need events.push_token")?;
    let endpoint = format!("http://{host}");
    let anonymous = || google_cloud_auth::credentials::anonymous::Builder::new().build();
    let topics = TopicAdmin::builder()
        .with_endpoint(&endpoint)
        .with_credentials(anonymous())
        .build()
        .await?;
    let subscriptions = SubscriptionAdmin::builder()
        .with_endpoint(&endpoint)
        .with_credentials(anonymous())
        .build()
        .await?;
    for topic in events::ALL_TYPES {
        for name in [topic.to_string(), format!("{topic}.dead")] {
            topics
                .create_topic()
                .set_name(format!("projects/{project}/topics/{name}"))
                .send()
                .await
                .with_context(|| format!("creating the topic {name}"))?;
        }
    }
    for (topic, endpoints) in routes {
        for (n, url) in endpoints.iter().enumerate() {
            let mut push = url.clone();
            push.query_pairs_mut()
                .append_pair("token", token.expose_secret());
            subscriptions
                .create_subscription()
                .set_name(format!(
                    "projects/{project}/subscriptions/{}-{n}",
                    topic.replace('.', "-")
                ))
                .set_topic(format!("projects/{project}/topics/{topic}"))
                .set_push_config(PushConfig::new().set_push_endpoint(push.to_string()))
                .set_enable_message_ordering(true)
                .set_ack_deadline_seconds(10)
                // As in production: pushes carry their delivery attempt.
                .set_dead_letter_policy(
                    DeadLetterPolicy::new()
                        .set_dead_letter_topic(format!("projects/{project}/topics/{topic}.dead"))
                        .set_max_delivery_attempts(crate::deploy::MAX_DELIVERY_ATTEMPTS),
                )
                .send()
                .await
                .with_context(|| format!("subscribing {url} to {topic}"))?;
        }
    }
    Ok(())
}
