//! A listed product's photo is analysed without anyone asking, and the
//! analysis published once, even when the media service was away.

use std::sync::atomic::Ordering;
use std::time::Duration;

use events::v1::{AnalysisCompleted, ProductCreated, ProductDeleted};
use testkit::eventually;

use crate::helpers::{TestApp, two_colours};

fn listed(id: &str, media: &[&str]) -> ProductCreated {
    ProductCreated {
        product_id: id.to_owned(),
        artisan_id: testkit::users::ARTISAN.to_owned(),
        category: "pottery".to_owned(),
        media_ids: media.iter().map(|m| (*m).to_owned()).collect(),
        ..Default::default()
    }
}

async fn published(app: &TestApp) -> Vec<AnalysisCompleted> {
    app.outbox()
        .await
        .into_iter()
        .filter(|e| e.event_type == "ml.analysis.completed")
        .map(|e| e.decode::<AnalysisCompleted>().unwrap())
        .collect()
}

#[tokio::test]
async fn a_listed_products_photo_is_analysed_and_published_once() {
    let app = TestApp::spawn().await;
    app.holds("m1", 2000, 1250, two_colours(1600, 1000));
    app.push("e1", "p1", &listed("p1", &["m1"]))
        .await
        .assert_status(http::StatusCode::OK);
    // Delivered twice: one job, one analysis.
    app.push("e1", "p1", &listed("p1", &["m1"]))
        .await
        .assert_status(http::StatusCode::OK);
    let done = eventually(Duration::from_secs(10), "the analysis", || async {
        let p = published(&app).await;
        (!p.is_empty()).then_some(p)
    })
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(published(&app).await.len(), 1);
    let a = &done[0];
    assert_eq!(a.product_id, "p1");
    assert_eq!(a.dominant_colors, ["#cc4e36", "#141e50"]);
    assert!(a.tags.contains(&"warm".to_owned()), "{:?}", a.tags);
    assert!(["A", "B", "C", "D"].contains(&a.quality_grade.as_str()));
    // No product without photos is analysed.
    app.push("e2", "p2", &listed("p2", &[]))
        .await
        .assert_status(http::StatusCode::OK);
}

#[tokio::test]
async fn a_photo_waits_while_the_media_service_is_away_and_a_deleted_product_is_dropped() {
    let app = TestApp::spawn().await;
    app.holds("m1", 1600, 1000, two_colours(1600, 1000));
    app.media.down.store(true, Ordering::SeqCst);
    app.push("e1", "p1", &listed("p1", &["m1"]))
        .await
        .assert_status(http::StatusCode::OK);
    app.push("e2", "p2", &listed("p2", &["m1"]))
        .await
        .assert_status(http::StatusCode::OK);
    let deleted = ProductDeleted {
        product_id: "p2".into(),
        artisan_id: testkit::users::ARTISAN.into(),
    };
    app.push("e3", "p2", &deleted)
        .await
        .assert_status(http::StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(published(&app).await.is_empty());
    app.media.down.store(false, Ordering::SeqCst);
    // The first retry comes two seconds after the failure.
    let done = eventually(
        Duration::from_secs(10),
        "the analysis after the outage",
        || async {
            let p = published(&app).await;
            (!p.is_empty()).then_some(p)
        },
    )
    .await
    .unwrap();
    assert_eq!(done.len(), 1);
    assert_eq!(done[0].product_id, "p1");
}
