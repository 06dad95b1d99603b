//! Many relay instances on one store: each event is pushed once, and the
//! events of one subject in order. On SQLite, and on Google's Firestore
//! emulator (the production store of a service with several instances).
//! And the relay on Pub/Sub (Google's emulator), which pushes to a
//! consumer's `/events/push`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use common::SharedConfig;
use common::config::EventTransport;
use events::v1::UserRegistered;
use events::{OutboxEntry, OutboxStatus, Publisher, Relay};
use google_cloud_pubsub::client::{SubscriptionAdmin, TopicAdmin};
use google_cloud_pubsub::model::PushConfig;
use store::{Query, Store, Txn};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

const SUBJECTS: usize = 6;
const PER_SUBJECT: usize = 8;

async fn emit_all(store: &Store) -> usize {
    let publisher = Publisher::new("auth");
    for n in 0..PER_SUBJECT {
        for s in 0..SUBJECTS {
            let subject = format!("u{s}");
            store
                .transact(async |tx: &mut Txn| {
                    publisher.emit(
                        tx,
                        &subject,
                        &UserRegistered {
                            user_id: format!("{subject}-{n}"),
                            ..Default::default()
                        },
                    )
                })
                .await
                .unwrap();
        }
    }
    SUBJECTS * PER_SUBJECT
}

/// Whether the outbox holds nothing pending.
async fn nothing_pending(store: &Store) -> bool {
    let pending = Query::new().eq("status", "pending").limit(1);
    let (found, _) = store
        .collection::<OutboxEntry>()
        .query(&pending)
        .await
        .unwrap();
    found.is_empty()
}

/// Two relays, each with its own connection to one database (as two
/// instances of a service), pass at once until nothing is pending; the
/// subscriber answers slowly, so their passes overlap.
async fn two_relays_push_each_event_once(store: Store, other: Store) {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(204).set_delay(Duration::from_millis(5)))
        .mount(&server)
        .await;
    let events = emit_all(&store).await;
    let mut shared = SharedConfig::local("auth", 0);
    shared.events.subscriptions.insert(
        "user.registered".into(),
        vec![format!("{}/events/push", server.uri()).parse().unwrap()],
    );
    let relays = [Relay::new(&store, &shared), Relay::new(&other, &shared)];

    let outbox = store.collection::<OutboxEntry>();
    for round in 0.. {
        assert!(round < 500, "the relays did not finish");
        let (a, b) = tokio::join!(relays[0].pass(), relays[1].pass());
        let settled = a.unwrap() + b.unwrap();
        if nothing_pending(&store).await {
            break;
        }
        if settled == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    let requests = server.received_requests().await.unwrap();
    let mut pushes: HashMap<String, usize> = HashMap::new();
    let mut by_subject: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for request in &requests {
        let body: serde_json::Value = serde_json::from_slice(&request.body).unwrap();
        let id = body["message"]["messageId"].as_str().unwrap().to_owned();
        let subject = body["message"]["orderingKey"].as_str().unwrap().to_owned();
        *pushes.entry(id.clone()).or_default() += 1;
        by_subject.entry(subject).or_default().push(id);
    }
    assert_eq!(pushes.len(), events, "every event pushed");
    let repeated: Vec<_> = pushes.iter().filter(|(_, n)| **n > 1).collect();
    assert!(repeated.is_empty(), "pushed more than once: {repeated:?}");
    for (subject, ids) in by_subject {
        // Event ids are UUIDv7: in the order they were emitted.
        let mut sorted = ids.clone();
        sorted.sort();
        assert_eq!(ids, sorted, "the events of {subject} in order");
    }
    let (all, _) = outbox.query(&Query::new().limit(1000)).await.unwrap();
    assert!(
        all.iter()
            .all(|e| e.value.status == OutboxStatus::Sent && e.value.lease.is_none())
    );
}

#[tokio::test]
async fn two_relays_on_one_sqlite_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.sqlite");
    let (store, other) = (Store::open_sqlite(&path), Store::open_sqlite(&path));
    two_relays_push_each_event_once(store.unwrap(), other.unwrap()).await;
}

#[tokio::test]
async fn two_relays_on_one_firestore_database() {
    let Some(emulator) = testkit::FirestoreEmulator::start().await else {
        return;
    };
    // Two connections to one database, as two instances have.
    let settings = emulator.settings();
    let (store, other) = (emulator.connect(&settings), emulator.connect(&settings));
    two_relays_push_each_event_once(store.await, other.await).await;
}

/// The production path: the relay publishes to the event type's topic, and
/// the Pub/Sub emulator pushes to a consumer through an ordered push
/// subscription. Every event is applied once, although the consumer
/// answers 503 to its first two pushes (after applying them) and Pub/Sub
/// pushes those again; each subject's events are applied in order.
#[tokio::test]
async fn the_relay_publishes_to_pubsub_which_pushes_to_the_consumer() {
    let Some(emulator) = testkit::PubSubEmulator::start().await else {
        return;
    };
    let project = "craftchain-test";
    let endpoint = format!("http://{}", emulator.host());
    let anonymous = || google_cloud_auth::credentials::anonymous::Builder::new().build();
    let topics = TopicAdmin::builder()
        .with_endpoint(&endpoint)
        .with_credentials(anonymous())
        .build()
        .await
        .unwrap();
    let subscriptions = SubscriptionAdmin::builder()
        .with_endpoint(&endpoint)
        .with_credentials(anonymous())
        .build()
        .await
        .unwrap();
    let topic = format!("projects/{project}/topics/user.registered");
    topics.create_topic().set_name(&topic).send().await.unwrap();

    // The consumer, which takes the subscription's token in place of
    // Pub/Sub's OIDC token (the emulator cannot sign one).
    let token = "push-verification-token";
    let mut probe = testkit::Probe::reserve().unwrap();
    let no_auth_service = url::Url::parse("http://127.0.0.1:9/").unwrap();
    probe
        .start(
            &no_auth_service,
            testkit::ProbeOptions {
                drop_first_acks: 2,
                push_token: Some(token.to_owned()),
            },
        )
        .await
        .unwrap();
    let mut push_endpoint = probe.url();
    push_endpoint.set_query(Some(&format!("token={token}")));
    subscriptions
        .create_subscription()
        .set_name(format!(
            "projects/{project}/subscriptions/probe-user-registered"
        ))
        .set_topic(&topic)
        .set_push_config(PushConfig::new().set_push_endpoint(push_endpoint.to_string()))
        .set_enable_message_ordering(true)
        .set_ack_deadline_seconds(10)
        .send()
        .await
        .unwrap();

    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_sqlite(dir.path().join("s.sqlite")).unwrap();
    let events = emit_all(&store).await;
    let mut shared = SharedConfig::local("auth", 0);
    shared.gcp_project = Some(project.to_owned());
    shared.events.transport = EventTransport::Pubsub;
    shared.events.pubsub_emulator_host = Some(emulator.host().to_owned());
    let relay = Relay::new(&store, &shared);
    for round in 0.. {
        assert!(round < 200, "the relay did not publish everything");
        relay.pass().await.unwrap();
        if nothing_pending(&store).await {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let applied = testkit::eventually(Duration::from_secs(60), "every event applied", || async {
        let applied = probe.applied().await.ok()?;
        (applied.len() == events).then_some(applied)
    })
    .await
    .unwrap();
    assert!(
        probe.received() >= events + 2,
        "the two unacknowledged pushes came again: {} pushes",
        probe.received()
    );
    let mut by_subject: BTreeMap<String, Vec<(u64, String)>> = BTreeMap::new();
    for seen in applied {
        by_subject
            .entry(seen.subject)
            .or_default()
            .push((seen.seq, seen.event_id));
    }
    assert_eq!(by_subject.len(), SUBJECTS);
    for (subject, mut seen) in by_subject {
        seen.sort();
        let ids: Vec<&String> = seen.iter().map(|(_, id)| id).collect();
        let mut sorted = ids.clone();
        sorted.sort();
        assert_eq!(ids, sorted, "the events of {subject} applied in order");
    }
}
