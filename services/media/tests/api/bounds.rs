//! Bounded work per request, as a whole: an optimise request makes at most
//! 6 distinct widths × 2 distinct formats, an upload takes at most 10
//! files. The largest legal request is served; the smallest illegal one and
//! a huge one are refused before any image work, within a constant factor
//! of the largest legal one's time (`testkit::bounds`).

use http::Method;
use serde_json::{Value, json};
use testkit::bounds::{Prepared, Probes, timed};

use crate::helpers::{Multipart, TestApp, encode_jpeg, pixels};

#[tokio::test]
async fn optimise_is_bounded_as_a_whole_with_duplicates_removed() {
    let app = TestApp::spawn().await;
    let item = app
        .upload_photo(&app.artisan(), &encode_jpeg(&pixels(640, 480, 7)))
        .await;
    let path = format!("/media/{}/optimize", item.id);
    let token = app.artisan();
    let optimise = |body: Value| {
        let prepared = Prepared::json(Method::POST, &path, Some(&token), &body);
        let app = &app;
        move || {
            let request = prepared.request(&[]);
            async move { app.send(request).await }
        }
    };
    let largest =
        json!({"widths": [64, 96, 128, 160, 192, 224], "formats": ["webp", "jpeg"], "quality": 60});
    Probes {
        endpoint: "POST /media/{id}/optimize",
        largest_legal: timed(optimise(largest)).await,
        smallest_illegal: timed(optimise(
            json!({"widths": [64, 96, 128, 160, 192, 224, 256], "formats": ["webp", "jpeg"]}),
        ))
        .await,
        huge_illegal: timed(optimise(json!({"widths": vec![64; 150_000]}))).await,
        field: "widths",
    }
    .check();

    // Repeats cost nothing more: `jpg` is `jpeg`, a width named twice is
    // made once.
    let repeated = app
        .post_json(
            &path,
            &json!({"widths": [300, 300, 300], "formats": ["jpg", "jpeg", "webp"], "quality": 70}),
            Some(&token),
        )
        .await;
    repeated.assert_status(http::StatusCode::OK);
    let names: Vec<String> = repeated.body["variants"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v["name"].as_str())
        .filter(|n| n.starts_with("w300q70"))
        .map(str::to_owned)
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
}

#[tokio::test]
async fn an_upload_stops_reading_at_its_eleventh_file() {
    let app = TestApp::spawn().await;
    let token = app.artisan();
    let small: Vec<Vec<u8>> = (0..11)
        .map(|i| encode_jpeg(&pixels(96, 64, 100 + i)))
        .collect();
    let upload = |files: usize, big_last: bool| {
        let (app, token, small) = (&app, &token, &small);
        move || async move {
            let mut form = Multipart::new();
            for file in &small[..files.min(10)] {
                form = form.file("p.jpg", "image/jpeg", file);
            }
            if files > 10 {
                // The eleventh: never read, however large it says it is.
                let last = if big_last {
                    vec![0xff; 900_000]
                } else {
                    small[10].clone()
                };
                form = form.file("p.jpg", "image/jpeg", &last);
            }
            app.upload(Some(token), form).await
        }
    };
    Probes {
        endpoint: "POST /media/upload",
        largest_legal: timed(upload(10, false)).await,
        smallest_illegal: timed(upload(11, false)).await,
        huge_illegal: timed(upload(11, true)).await,
        field: "file",
    }
    .check();
}
