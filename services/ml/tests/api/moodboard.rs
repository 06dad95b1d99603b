//! `POST /ml/generate-moodboard`: the photo, its palette and the nearest
//! active listings' thumbnails in one stored PNG.

use std::time::Duration;

use events::v1::{ProductCreated, ProductDeleted};
use http::StatusCode;
use serde_json::{Value, json};
use testkit::eventually;

use crate::helpers::{TestApp, two_colours};

fn solid(rgb: [u8; 3]) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    image::RgbImage::from_pixel(320, 240, image::Rgb(rgb))
        .write_to(&mut out, image::ImageFormat::Png)
        .unwrap();
    out.into_inner()
}

fn listed(id: &str, media: &str) -> ProductCreated {
    ProductCreated {
        product_id: id.to_owned(),
        artisan_id: testkit::users::ARTISAN.to_owned(),
        title: format!("Piece {id}"),
        category: "pottery".to_owned(),
        media_ids: vec![media.to_owned()],
        status: "active".to_owned(),
        ..Default::default()
    }
}

#[tokio::test]
async fn a_moodboard_shows_the_nearest_active_listings_and_is_stored_as_a_png() {
    let app = TestApp::spawn().await;
    // Three analysed listings: one in the photo's colours, one green, one
    // in its colours but then deleted (never shown).
    app.holds("m-near", 1600, 1000, two_colours(320, 200));
    app.holds("m-far", 320, 240, solid([40, 200, 90]));
    app.holds("m-gone", 1600, 1000, two_colours(320, 200));
    for (i, (p, m)) in [("near", "m-near"), ("far", "m-far"), ("gone", "m-gone")]
        .into_iter()
        .enumerate()
    {
        app.push(&format!("c{i}"), p, &listed(p, m))
            .await
            .assert_status(StatusCode::OK);
    }
    eventually(Duration::from_secs(10), "three analyses", || async {
        let r = app
            .post_json(
                "/ml/generate-moodboard",
                &json!({"media_id": "m-near"}),
                Some(&app.artisan()),
            )
            .await;
        let v: Value = r.json();
        (v["market_alignment"]["listings_compared"] == 3).then_some(())
    })
    .await
    .unwrap();

    app.push(
        "d1",
        "gone",
        &ProductDeleted {
            product_id: "gone".into(),
            artisan_id: testkit::users::ARTISAN.into(),
        },
    )
    .await
    .assert_status(StatusCode::OK);

    let r = app
        .upload_to(
            "/ml/generate-moodboard",
            &two_colours(800, 500),
            &app.artisan(),
        )
        .await;
    let m: Value = r.assert_status(StatusCode::OK).json();

    let similar: Vec<&str> = m["similar_products"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["product_id"].as_str().unwrap())
        .collect();
    assert_eq!(similar, ["near", "far"]);
    assert!(
        m["similar_products"][0]["colour_distance"]
            .as_f64()
            .unwrap()
            < 1.0
    );
    assert_eq!(m["color_palette"][0]["hex"], "#cc4e36");
    let alignment = &m["market_alignment"];
    // The deleted listing is neither shown nor compared.
    assert_eq!(alignment["listings_compared"], 2);
    assert_eq!(alignment["parts"][0]["name"], "colour_popularity");
    assert!(alignment["score"].as_f64().unwrap() > 0.0);
    let url = m["moodboard"]["url"].as_str().unwrap();
    assert!(
        url.starts_with("/media/board") && url.ends_with("/content/large.jpg"),
        "{url}"
    );
    let stored = app.media.stored.lock().unwrap().last().cloned().unwrap();
    let board = image::load_from_memory(&stored).unwrap().to_rgb8();
    assert_eq!(board.dimensions(), (1200, 900));

    app.post_json(
        "/ml/generate-moodboard",
        &json!({"media_id": "m-near"}),
        Some(&app.buyer()),
    )
    .await
    .assert_problem(StatusCode::FORBIDDEN, "forbidden");
}
