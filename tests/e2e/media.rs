//! An artisan uploads a photo through the gateway, then lists a product
//! with it: the product service checks the media id with the media service.

use reqwest::StatusCode;
use serde_json::{Value, json};
use testkit::AuthApi;

pub(crate) fn photo() -> Vec<u8> {
    let img = image::RgbImage::from_fn(640, 480, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, 128])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    image::DynamicImage::ImageRgb8(img)
        .write_to(&mut out, image::ImageFormat::Jpeg)
        .unwrap();
    out.into_inner()
}

pub(crate) fn multipart(file: &[u8]) -> (String, Vec<u8>) {
    let boundary = "craftchain-e2e-boundary";
    let mut body = Vec::new();
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"shawl.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(file);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

#[tokio::test]
async fn an_uploaded_photo_becomes_a_product_image() {
    let (system, gw, auth) = crate::through_gateway(&["gateway", "auth", "product", "media"]).await;
    let artisan = auth.new_user("artisan").await.unwrap();
    let other = auth.new_user("artisan").await.unwrap();
    let http = reqwest::Client::new();

    let (content_type, body) = multipart(&photo());
    let uploaded = http
        .post(format!("{gw}/media/upload"))
        .bearer_auth(&artisan.id_token)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(uploaded.status(), StatusCode::CREATED);
    let uploaded: Value = uploaded.json().await.unwrap();
    let media = &uploaded["items"][0];
    let media_id = media["id"].as_str().unwrap().to_owned();
    assert_eq!(media["width"], 640);

    // Until a product uses it, only its owner sees it, and no cache keeps it.
    let thumb_url = format!("{gw}/media/{media_id}/content/thumb.webp");
    let anonymous = || {
        let (http, url) = (http.clone(), thumb_url.clone());
        async move { http.get(url).send().await.unwrap() }
    };
    assert_eq!(anonymous().await.status(), StatusCode::NOT_FOUND);
    let own = http
        .get(&thumb_url)
        .bearer_auth(&artisan.id_token)
        .send()
        .await
        .unwrap();
    assert_eq!(own.status(), StatusCode::OK);
    assert_eq!(own.headers()["content-type"], "image/webp");
    assert_eq!(own.headers()["cache-control"], "private, no-store");

    let product = |token: String| {
        http.post(format!("{gw}/products"))
            .bearer_auth(token)
            .json(&json!({
                "title": "Pashmina shawl", "description": {"en": "Hand-woven pashmina."},
                "category": "textiles", "subcategory": "shawl",
                "price": {"amount": 1_250_000, "currency": "INR"}, "media_ids": [media_id]
            }))
    };
    let created = product(artisan.id_token.clone()).send().await.unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let created: Value = created.json().await.unwrap();
    assert_eq!(created["media_ids"][0], media_id.as_str());

    // Someone else's photo cannot be attached.
    let refused = product(other.id_token.clone()).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let problem: Value = refused.json().await.unwrap();
    assert_eq!(problem["errors"][0]["field"], "media_ids[0]");

    // Once the active product uses it (product.created reaches the media
    // service), the photo is public and cacheable for good…
    let wait = std::time::Duration::from_secs(15);
    let public = testkit::eventually(wait, "the photo public", || async {
        let r = anonymous().await;
        (r.status() == StatusCode::OK).then_some(r)
    })
    .await
    .unwrap();
    assert_eq!(
        public.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    // …and private again once the product is gone.
    let id = created["id"].as_str().unwrap();
    let deleted = http
        .delete(format!("{gw}/products/{id}"))
        .bearer_auth(&artisan.id_token)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    testkit::eventually(wait, "the photo private again", || async {
        (anonymous().await.status() == StatusCode::NOT_FOUND).then_some(())
    })
    .await
    .unwrap();
    // On the emulators, the photo and its variants are in media's bucket.
    if let Some(objects) = system.blob_names("media").await {
        assert!(objects.len() >= 2, "media's bucket holds {objects:?}");
    }
    system.stop().await.unwrap();
}
