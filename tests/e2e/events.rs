//! A sign-up travels from the auth service's outbox through the relay to a
//! subscriber, and arrives exactly once even when the subscriber is down or
//! loses its acknowledgement.

use std::sync::Arc;
use std::time::Duration;

use common::identity::{JwksUrl, Role, Verifier, VerifierConfig};
use testkit::{AuthApi, Probe, ProbeOptions, eventually};

use crate::system::TestSystem;

const WAIT: Duration = Duration::from_secs(15);

async fn system_with(probe: &Probe) -> TestSystem {
    TestSystem::builder()
        .services(&["auth"])
        .subscribe("user.registered", probe.url())
        .start()
        .await
        .unwrap()
}

#[tokio::test]
async fn signup_token_verifies_and_user_registered_reaches_a_subscriber() {
    let mut probe = Probe::reserve().unwrap();
    let system = system_with(&probe).await;
    probe
        .start(&system.url("auth"), system.probe_options())
        .await
        .unwrap();

    let user = system.user("artisan").await.unwrap();

    let verifier = Verifier::new(
        VerifierConfig::new(
            "https://securetoken.google.com/craftchain-local",
            "craftchain-local",
        ),
        Arc::new(
            JwksUrl::new(
                system
                    .url("auth")
                    .join("auth/.well-known/jwks.json")
                    .unwrap(),
            )
            .unwrap(),
        ),
    );
    let claims = verifier.verify(&user.id_token).await.unwrap();
    assert_eq!(claims.sub, user.uid);
    assert_eq!(claims.user_id.as_deref(), Some(user.uid.as_str()));
    assert_eq!(claims.email.as_deref(), Some(user.email.as_str()));
    assert_eq!(claims.role, Some(Role::Artisan));
    assert_eq!(claims.firebase.unwrap().sign_in_provider, "password");
    assert_eq!(claims.exp - claims.iat, 3600);

    let seen = eventually(WAIT, "user.registered at the probe", || async {
        let applied = probe.applied().await.unwrap();
        applied.into_iter().find(|s| s.subject == user.uid)
    })
    .await
    .unwrap();
    assert_eq!(seen.event_type, "user.registered");
    system.stop().await.unwrap();
}

#[tokio::test]
async fn a_subscriber_that_was_down_applies_the_event_exactly_once() {
    let mut probe = Probe::reserve().unwrap();
    let system = system_with(&probe).await;

    // The subscriber is down: the relay's pushes are refused and retried.
    let user = system.user("buyer").await.unwrap();
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(probe.received(), 0);

    // It comes back, applies the event, and "crashes" before acknowledging
    // it; the relay delivers it again and the repeat changes nothing.
    probe
        .start(
            &system.url("auth"),
            ProbeOptions {
                drop_first_acks: 1,
                ..system.probe_options()
            },
        )
        .await
        .unwrap();
    eventually(
        WAIT,
        "the redelivery after the lost acknowledgement",
        || async { (probe.received() >= 2).then_some(()) },
    )
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;

    let applied = probe.applied().await.unwrap();
    let mine: Vec<_> = applied.iter().filter(|s| s.subject == user.uid).collect();
    assert_eq!(mine.len(), 1, "applied {mine:?}");
    assert_eq!(
        probe.received(),
        2,
        "the relay kept pushing after the acknowledgement"
    );
    // The relay numbers its pushes; the Pub/Sub emulator's pushes carry no
    // `deliveryAttempt` (Pub/Sub's own do, with a dead-letter topic).
    if !system.events_through_pubsub() {
        let attempts = probe.delivery_attempts();
        assert!(
            attempts[0] >= 2,
            "the first push that reached the probe should be a retry, got attempts {attempts:?}"
        );
        assert_eq!(attempts[1], attempts[0] + 1);
    }

    // The sign-up is still usable end to end.
    let again = system
        .auth()
        .login(&user.email, &user.password)
        .await
        .unwrap();
    assert!(!again.id_token.is_empty());
    system.stop().await.unwrap();
}
