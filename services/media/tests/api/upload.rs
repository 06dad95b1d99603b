//! `POST /media/upload`: refusals, variants, metadata stripping,
//! orientation, deduplication and the concurrency limit.

use std::time::{Duration, Instant};

use events::Event as _;
use events::v1::MediaUploaded;
use http::StatusCode;
use image::GenericImageView as _;
use testkit::images::png_declaring;
use testkit::memory::rss_bytes;
use testkit::users::{ARTISAN, OTHER_ARTISAN};

use crate::helpers::{
    Multipart, TestApp, another_photo, contains, has_gps, photo, rotated_photo_with_gps, sha256_hex,
};

// 1. Refusals.

#[tokio::test]
async fn upload_returns_415_for_text_named_and_typed_as_jpeg() {
    let app = TestApp::spawn().await;
    let form = Multipart::new().file("photo.jpg", "image/jpeg", b"just some text, not an image\n");
    app.upload(Some(&app.artisan()), form)
        .await
        .assert_problem(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type");
}

#[tokio::test]
async fn upload_returns_415_for_svg_and_html_named_png() {
    let app = TestApp::spawn().await;
    let svg = br#"<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><script>alert(1)</script></svg>"#;
    let html = b"<!doctype html><html><body><script>alert(1)</script></body></html>";
    for body in [svg.as_slice(), html.as_slice()] {
        let form = Multipart::new().file("image.png", "image/png", body);
        app.upload(Some(&app.artisan()), form)
            .await
            .assert_problem(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type");
    }
}

#[tokio::test]
async fn upload_returns_422_corrupt_image_for_a_truncated_jpeg() {
    let app = TestApp::spawn().await;
    let whole = photo();
    let truncated = &whole[..whole.len() / 2];
    let form = Multipart::new().file("photo.jpg", "image/jpeg", truncated);
    app.upload(Some(&app.artisan()), form)
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "corrupt_image");
}

#[tokio::test]
async fn upload_returns_422_image_too_large_for_a_png_declaring_100000_squared_without_allocating()
{
    let app = TestApp::spawn_alone(media::Settings::default()).await;
    let bomb = png_declaring(100_000, 100_000);
    assert!(bomb.len() < 100, "the bomb itself is tiny");
    let before = rss_bytes();
    let form = Multipart::new().file("bomb.png", "image/png", &bomb);
    app.upload(Some(&app.artisan()), form)
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "image_too_large");
    let grown = rss_bytes().saturating_sub(before);
    assert!(grown < 30 * 1024 * 1024, "RSS grew by {grown} bytes");
}

#[tokio::test]
async fn upload_returns_413_for_a_file_over_max_file_bytes() {
    let app = TestApp::spawn_with(media::Settings {
        max_file_bytes: 200 * 1024,
        ..media::Settings::default()
    })
    .await;
    let big = photo();
    assert!(big.len() > 200 * 1024, "the fixture is {} bytes", big.len());
    let form = Multipart::new().file("photo.jpg", "image/jpeg", big);
    app.upload(Some(&app.artisan()), form)
        .await
        .assert_problem(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");
}

#[tokio::test]
async fn upload_returns_422_without_a_file() {
    let app = TestApp::spawn().await;
    let form = Multipart::new().text("product_id", "prod-1");
    app.upload(Some(&app.artisan()), form)
        .await
        .assert_invalid_fields(&["file"]);
}

#[tokio::test]
async fn upload_returns_422_naming_product_id_when_it_is_not_an_id() {
    let app = TestApp::spawn().await;
    let form =
        Multipart::new()
            .text("product_id", "../prod 1")
            .file("photo.jpg", "image/jpeg", photo());
    app.upload(Some(&app.artisan()), form)
        .await
        .assert_invalid_fields(&["product_id"]);
}

#[tokio::test]
async fn upload_returns_403_for_a_buyer() {
    let app = TestApp::spawn().await;
    let form = Multipart::new().file("photo.jpg", "image/jpeg", photo());
    app.upload(Some(&app.buyer()), form)
        .await
        .assert_problem(StatusCode::FORBIDDEN, "forbidden");
}

#[tokio::test]
async fn upload_returns_401_without_a_token() {
    let app = TestApp::spawn().await;
    let form = Multipart::new().file("photo.jpg", "image/jpeg", photo());
    app.upload(None, form)
        .await
        .assert_problem(StatusCode::UNAUTHORIZED, "unauthenticated");
}

// 2. A good upload.

#[tokio::test]
async fn upload_returns_201_with_size_hash_six_unupscaled_variants_and_a_placeholder() {
    let app = TestApp::spawn().await;
    let item = app.upload_photo(&app.artisan(), photo()).await;
    assert_eq!((item.width, item.height), (1200, 900));
    assert_eq!(item.format, "jpg");
    assert_eq!(item.bytes, photo().len() as u64);
    assert_eq!(item.sha256, sha256_hex(photo()));
    assert_eq!(item.owner_id, ARTISAN);

    let mut got: Vec<(String, String, u32, u32)> = item
        .variants
        .iter()
        .map(|v| {
            let v = &v.variant;
            (v.name.clone(), v.content_type.clone(), v.width, v.height)
        })
        .collect();
    got.sort();
    let mut want = Vec::new();
    for (size, (w, h)) in [
        ("thumb", (300, 225)),
        ("medium", (800, 600)),
        ("large", (1200, 900)),
    ] {
        want.push((format!("{size}.webp"), "image/webp".to_owned(), w, h));
        want.push((format!("{size}.jpg"), "image/jpeg".to_owned(), w, h));
    }
    want.sort();
    assert_eq!(got, want);

    for v in &item.variants {
        assert_eq!(
            v.url,
            format!("/media/{}/content/{}", item.id, v.variant.name)
        );
        let bytes = app.variant_bytes(&item.id, &v.variant.name).await;
        assert_eq!(bytes.len() as u64, v.variant.bytes);
        assert_eq!(sha256_hex(&bytes), v.variant.sha256);
        let decoded = image::load_from_memory(&bytes).expect("a variant decodes");
        assert_eq!(
            decoded.dimensions(),
            (v.variant.width, v.variant.height),
            "{}",
            v.variant.name
        );
    }

    let placeholder = item.placeholder.expect("a placeholder");
    assert!(!placeholder.blurhash.is_empty());
    assert!(
        placeholder.dominant_color.len() == 7 && placeholder.dominant_color.starts_with('#'),
        "{}",
        placeholder.dominant_color
    );
}

#[tokio::test]
async fn variants_carry_no_exif_or_gps_and_the_rotated_source_comes_out_upright() {
    let app = TestApp::spawn().await;
    let source = rotated_photo_with_gps();
    assert!(has_gps(source), "the fixture carries GPS");
    let item = app.upload_photo(&app.artisan(), source).await;
    // Stored 400×300 with Orientation=6: upright it is 300×400.
    assert_eq!((item.width, item.height), (300, 400));
    assert_eq!(item.variants.len(), 6);

    for v in &item.variants {
        let name = &v.variant.name;
        let (w, h) = if name.starts_with("thumb") {
            (225, 300)
        } else {
            (300, 400)
        };
        assert_eq!((v.variant.width, v.variant.height), (w, h), "{name}");
        let bytes = app.variant_bytes(&item.id, name).await;
        assert!(!contains(&bytes, b"Exif"), "{name} carries an Exif marker");
        assert!(!has_gps(&bytes), "{name} carries GPS");
        let decoded = image::load_from_memory(&bytes)
            .expect("a variant decodes")
            .to_rgb8();
        assert_eq!(decoded.dimensions(), (w, h), "{name}");
        // Red (the stored left half) is on top once upright.
        let top = decoded.get_pixel(w / 2, h / 8).0;
        let bottom = decoded.get_pixel(w / 2, h * 7 / 8).0;
        assert!(top[0] > 150 && top[2] < 100, "{name}: top is {top:?}");
        assert!(
            bottom[2] > 150 && bottom[0] < 100,
            "{name}: bottom is {bottom:?}"
        );
    }
}

// 3. Deduplication.

#[tokio::test]
async fn the_same_owner_uploading_the_same_bytes_gets_the_same_media_and_one_event() {
    let app = TestApp::spawn().await;
    let first = app.upload_photo(&app.artisan(), another_photo()).await;
    let again = app.upload_photo(&app.artisan(), another_photo()).await;
    assert_eq!(first.id, again.id);

    let uploaded: Vec<_> = app
        .outbox()
        .await
        .into_iter()
        .filter(|e| e.event_type == MediaUploaded::TYPE)
        .collect();
    assert_eq!(uploaded.len(), 1, "{uploaded:?}");
    assert_eq!(uploaded[0].subject, first.id);

    let other = app
        .upload_photo(&app.other_artisan(), another_photo())
        .await;
    assert_ne!(other.id, first.id);
    assert_eq!(other.owner_id, OTHER_ARTISAN);
}

// 6. The concurrency limit, over a real socket.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn excess_concurrent_uploads_get_503_with_retry_after_while_health_stays_fast() {
    let app = TestApp::serve_alone(media::Settings {
        max_concurrent_jobs: 1,
        ..media::Settings::default()
    })
    .await;
    let big = crate::helpers::encode_jpeg(&crate::helpers::pixels(3000, 2000, 3));
    let (base, http) = (app.base_url(), reqwest::Client::new());
    let token = app.artisan();
    let before = rss_bytes();

    let uploads: Vec<_> = (0..10)
        .map(|_| {
            let request = http
                .post(format!("{base}/media/upload"))
                .bearer_auth(&token)
                .header("content-type", Multipart::content_type())
                .body(
                    Multipart::new()
                        .file("big.jpg", "image/jpeg", &big)
                        .finish(),
                );
            tokio::spawn(async move {
                let response = request.send().await.expect("the server answers");
                let retry_after = response
                    .headers()
                    .get("retry-after")
                    .map(|v| v.to_str().unwrap().to_owned());
                (response.status(), retry_after)
            })
        })
        .collect();

    // Meanwhile, health answers quickly.
    let mut slowest = Duration::ZERO;
    for _ in 0..10 {
        let started = Instant::now();
        let response = http
            .get(format!("{base}/health"))
            .send()
            .await
            .expect("health answers");
        slowest = slowest.max(started.elapsed());
        assert!(response.status().is_success(), "{}", response.status());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        slowest < Duration::from_millis(200),
        "health took {slowest:?}"
    );

    let mut created = 0;
    let mut unavailable = 0;
    for upload in uploads {
        let (status, retry_after) = upload.await.unwrap();
        match status {
            StatusCode::CREATED => created += 1,
            StatusCode::SERVICE_UNAVAILABLE => {
                unavailable += 1;
                let secs: u64 = retry_after
                    .expect("a 503 says when to retry")
                    .parse()
                    .expect("Retry-After in seconds");
                assert!(secs > 0);
            }
            other => panic!("unexpected status {other}"),
        }
    }
    assert!(created >= 1, "none created");
    assert!(unavailable >= 1, "none refused ({created} created)");
    let grown = rss_bytes().saturating_sub(before);
    assert!(grown < 300 * 1024 * 1024, "RSS grew by {grown} bytes");
}
