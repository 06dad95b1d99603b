//! Bounded work per request, per create/update endpoint: the largest legal
//! body is served, the smallest illegal one and a huge one (near the 1 MB
//! body limit) are refused before any per-element work, within a constant
//! factor of the largest legal one's time (`testkit::bounds`). Sign-up
//! hashes a password (argon2, the costliest legal work), so a refusal must
//! never reach the hasher.

use std::sync::atomic::{AtomicUsize, Ordering};

use common::identity::Role;
use http::Method;
use serde_json::{Value, json};
use testkit::bounds::{Prepared, Probes, timed};

use crate::helpers::{TestApp, signup_body};

const ALL_LANGUAGES: [&str; 13] = [
    "en", "hi", "bn", "ta", "te", "mr", "gu", "kn", "ml", "pa", "or", "as", "ur",
];

#[tokio::test]
async fn signup_and_profile_edits_refuse_past_every_bound_before_per_element_work() {
    let app = TestApp::spawn().await;
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    // A sign-up body per run (each needs its own address), all prepared
    // before the timing starts.
    let signup = |change: fn(&mut Value)| {
        let prepared: Vec<Prepared> = (0..5)
            .map(|_| {
                let email = format!("bounds{}@example.in", NEXT.fetch_add(1, Ordering::Relaxed));
                let mut body = signup_body(&email, "artisan");
                body["display_name"] = json!("d".repeat(80));
                body["region"] = json!("r".repeat(80));
                body["languages"] = json!(ALL_LANGUAGES);
                change(&mut body);
                Prepared::json(Method::POST, "/auth/signup", None, &body)
            })
            .collect();
        let app = &app;
        let mut run = 0;
        move || {
            let request = prepared[run % prepared.len()].request(&[]);
            run += 1;
            async move { app.send(request).await }
        }
    };
    Probes {
        endpoint: "POST /auth/signup languages",
        largest_legal: timed(signup(|_| {})).await,
        smallest_illegal: timed(signup(|b| {
            b["languages"].as_array_mut().unwrap().push(json!("en"));
        }))
        .await,
        huge_illegal: timed(signup(|b| b["languages"] = json!(vec!["en"; 150_000]))).await,
        field: "languages",
    }
    .check();
    Probes {
        endpoint: "POST /auth/signup display_name",
        largest_legal: timed(signup(|_| {})).await,
        smallest_illegal: timed(signup(|b| b["display_name"] = json!("d".repeat(81)))).await,
        huge_illegal: timed(signup(|b| b["display_name"] = json!("d".repeat(900_000)))).await,
        field: "display_name",
    }
    .check();

    let account = app.signup(Role::Artisan).await;
    let patch = |body: Value| {
        let prepared = Prepared::json(Method::PATCH, "/auth/me", Some(&account.id_token), &body);
        let app = &app;
        move || {
            let request = prepared.request(&[]);
            async move { app.send(request).await }
        }
    };
    let largest = json!({
        "display_name": "d".repeat(80), "region": "r".repeat(80), "craft": "c".repeat(80),
        "languages": ALL_LANGUAGES, "skill_level": 5,
    });
    let mut over = largest.clone();
    over["craft"] = json!("c".repeat(81));
    let mut huge = largest.clone();
    huge["languages"] = json!(vec!["hi"; 150_000]);
    Probes {
        endpoint: "PATCH /auth/me",
        largest_legal: timed(patch(largest)).await,
        smallest_illegal: timed(patch(over)).await,
        huge_illegal: timed(patch(huge)).await,
        field: "craft",
    }
    .check();
}
