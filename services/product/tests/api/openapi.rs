//! `/openapi.json`: every reference in the description resolves.

use http::StatusCode;
use serde_json::Value;

use crate::helpers::TestApp;

/// Every `$ref` below `value`.
fn refs<'a>(value: &'a Value, out: &mut Vec<&'a str>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(r)) = map.get("$ref") {
                out.push(r);
            }
            map.values().for_each(|v| refs(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
        _ => {}
    }
}

#[tokio::test]
async fn every_reference_in_the_description_resolves() {
    let app = TestApp::spawn().await;

    let response = app.get("/openapi.json", None).await;

    response.assert_status(StatusCode::OK);
    let doc = &response.body;
    let mut found = Vec::new();
    refs(doc, &mut found);
    assert!(found.contains(&"#/components/schemas/Id"), "{found:?}");
    for r in found {
        let target = r
            .trim_start_matches("#/")
            .split('/')
            .fold(doc, |at, step| &at[step]);
        assert!(target.is_object(), "{r} is missing");
    }
}
