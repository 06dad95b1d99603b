//! Unit tests of `error`.

use super::*;
use http_body_util::BodyExt;

async fn body_of(response: Response) -> (StatusCode, http::HeaderMap, Problem) {
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, headers, serde_json::from_slice(&bytes).unwrap())
}

#[tokio::test]
async fn validation_errors_render_as_problem_json_with_fields() {
    let mut v = Validator::new();
    v.length("title", "", 1, 10)
        .check(false, "price.amount", "out_of_range", "too big");
    let err = v.finish().unwrap_err();
    let ctx = RequestContext::new_root();
    let id = ctx.request_id.to_string();
    let (status, headers, problem) = ctx
        .scope(async { body_of(err.into_response()).await })
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(headers[header::CONTENT_TYPE], PROBLEM_JSON);
    assert_eq!(problem.code, "validation_failed");
    assert_eq!(problem.type_uri, "urn:craftchain:problem:validation_failed");
    assert_eq!(problem.request_id.as_deref(), Some(id.as_str()));
    let fields: Vec<_> = problem.errors.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(fields, ["title", "price.amount"]);
}

#[tokio::test]
async fn internal_errors_never_leak_their_cause() {
    let err = ApiError::internal(anyhow::anyhow!("disk /secret/path is full"));
    let (status, _, problem) = body_of(err.into_response()).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(!problem.detail.unwrap().contains("secret"));
}

#[test]
fn codes_are_snake_case() {
    for good in ["a", "not_found", "http_404", "a_1b", "payment_in_progress"] {
        assert!(is_snake_case(good), "{good}");
    }
    for bad in [
        "",
        "A",
        "payment-in-progress",
        "_a",
        "a_",
        "a__b",
        "1a",
        "notFound",
        "a b",
    ] {
        assert!(!is_snake_case(bad), "{bad}");
    }
    for code in codes::ALL {
        assert!(is_snake_case(code.as_str()));
    }
}

#[tokio::test]
async fn unserialisable_extensions_are_server_errors_not_nulls() {
    struct Broken;
    impl Serialize for Broken {
        fn serialize<S: serde::Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
            Err(serde::ser::Error::custom("broken"))
        }
    }
    let err = ApiError::conflict(codes::CONFLICT, "taken").with_extension("thing", &Broken);
    assert_eq!(err.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let ok = ApiError::conflict(codes::CONFLICT, "taken").with_extension("thing", &[1, 2]);
    assert_eq!(
        ok.to_problem().extensions["thing"],
        serde_json::json!([1, 2])
    );
}

#[tokio::test]
async fn unauthorized_carries_www_authenticate_and_retry_after_is_set() {
    let (_, headers, _) = body_of(ApiError::unauthorized("no token").into_response()).await;
    assert_eq!(headers[header::WWW_AUTHENTICATE], "Bearer");
    let (status, headers, _) =
        body_of(ApiError::unavailable(Duration::from_secs(5), "down").into_response()).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(headers[header::RETRY_AFTER], "5");
}
