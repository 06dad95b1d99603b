//! `GET /media/{id}/content/{variant}`: headers, conditional and range
//! requests, and what is never served.

use http::StatusCode;

use crate::helpers::{TestApp, photo};

#[tokio::test]
async fn content_is_served_with_type_etag_and_immutable_caching_and_304_on_a_match() {
    let app = TestApp::spawn().await;
    let item = app.upload_public_photo(photo()).await;
    for (name, mime) in [("thumb.webp", "image/webp"), ("large.jpg", "image/jpeg")] {
        let variant = &item
            .variants
            .iter()
            .find(|v| v.variant.name == name)
            .unwrap()
            .variant;
        let response = app.content(&item.id, name).await;
        response.assert_status(StatusCode::OK);
        assert_eq!(response.header("content-type"), Some(mime));
        assert_eq!(
            response.header("cache-control"),
            Some("public, max-age=31536000, immutable")
        );
        let etag = response.header("etag").expect("an ETag").to_owned();
        assert_eq!(etag, format!("\"{}\"", variant.sha256));

        let path = format!("/media/{}/content/{name}", item.id);
        let cached = app.get_with(&path, &[("if-none-match", &etag)]).await;
        cached.assert_status(StatusCode::NOT_MODIFIED);
        assert!(cached.bytes.is_empty());
        assert_eq!(cached.header("etag"), Some(etag.as_str()));

        let stale = app.get_with(&path, &[("if-none-match", "\"other\"")]).await;
        stale.assert_status(StatusCode::OK);
    }
}

#[tokio::test]
async fn a_range_gets_206_with_exactly_those_bytes_and_an_unsatisfiable_one_416() {
    let app = TestApp::spawn().await;
    let item = app.upload_public_photo(photo()).await;
    let whole = app.variant_bytes(&item.id, "thumb.webp").await;
    assert!(whole.len() > 100);
    let path = format!("/media/{}/content/thumb.webp", item.id);

    let partial = app.get_with(&path, &[("range", "bytes=0-99")]).await;
    partial.assert_status(StatusCode::PARTIAL_CONTENT);
    assert_eq!(partial.bytes.as_ref(), &whole[..100]);
    assert_eq!(
        partial.header("content-range"),
        Some(format!("bytes 0-99/{}", whole.len()).as_str())
    );
    assert_eq!(partial.header("content-length"), Some("100"));

    let past_the_end = format!("bytes={}-", whole.len());
    let refused = app.get_with(&path, &[("range", &past_the_end)]).await;
    refused.assert_status(StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(
        refused.header("content-range"),
        Some(format!("bytes */{}", whole.len()).as_str())
    );
}

#[tokio::test]
async fn unknown_variants_unknown_media_and_the_original_are_404() {
    let app = TestApp::spawn().await;
    let item = app.upload_public_photo(photo()).await;
    for name in ["huge.webp", "original", "thumb.png"] {
        app.content(&item.id, name)
            .await
            .assert_problem(StatusCode::NOT_FOUND, "not_found");
    }
    app.content("no-such-media", "thumb.webp")
        .await
        .assert_problem(StatusCode::NOT_FOUND, "not_found");
}
