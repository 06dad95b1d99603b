//! `GET /docs/all` and `GET /openapi/all.json`: every service's API on one
//! page and in one document, merged from their `/openapi.json` and cut to
//! exactly what the gateway routes, as the gateway answers it (its token
//! check on every route that is not public, its rate limits on all).

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::response::{Html, IntoResponse, Response};
use http::Method;
use utoipa::openapi::path::Operation;
use utoipa::openapi::security::SecurityRequirement;
use utoipa::openapi::{ContentBuilder, OpenApi, Ref, RefOr, ResponseBuilder, Schema};
use utoipa::{OpenApi as _, openapi::PathItem};

use crate::domain::routing;
use crate::state::Gateway;

/// The gateway's own description (its routes are operational).
#[derive(utoipa::OpenApi)]
#[openapi(
    info(description = "The gateway in front of every CraftChain service. \
    Its own routes are operational; every service's API is at /docs/all \
    (and as one document at /openapi/all.json).")
)]
pub(crate) struct ApiDoc;

/// The merged API, as a page and as a document.
pub(crate) struct MergedDocs {
    html: String,
    json: bytes::Bytes,
}

/// How long the merged API is reused: each request would otherwise call
/// every service.
pub(crate) const DOCS_TTL: Duration = Duration::from_secs(60);

/// The merged API, made at most once per [`DOCS_TTL`]; each request counts
/// against its client address's read quota first (429 past it).
async fn cached(gw: &Gateway, ip: std::net::IpAddr) -> Result<Arc<MergedDocs>, Response> {
    let verdict = gw
        .limits
        .for_class(routing::Class::Read)
        .check(&Arc::from(format!("ip:{ip}")));
    if !verdict.allowed {
        return Err(common::ApiError::too_many_requests(
            verdict.retry_after,
            "too many requests for the API description; slow down",
        )
        .into_response());
    }
    Ok(gw
        .docs
        .get_or_make(DOCS_TTL, || async {
            let openapi = merged(gw).await;
            let json = serde_json::to_vec(&openapi).unwrap_or_default();
            Arc::new(MergedDocs {
                html: utoipa_scalar::Scalar::new(openapi).to_html(),
                json: json.into(),
            })
        })
        .await)
}

/// The page.
pub(super) async fn all_docs(State(gw): State<Arc<Gateway>>, request: Request) -> Response {
    let ip = crate::domain::headers::client_ip(&request, gw.settings.trust_forwarded_for);
    match cached(&gw, ip).await {
        Ok(docs) => Html(docs.html.clone()).into_response(),
        Err(refused) => refused,
    }
}

/// The document.
pub(super) async fn all_json(State(gw): State<Arc<Gateway>>, request: Request) -> Response {
    let ip = crate::domain::headers::client_ip(&request, gw.settings.trust_forwarded_for);
    match cached(&gw, ip).await {
        Ok(docs) => (
            [(http::header::CONTENT_TYPE, "application/json")],
            docs.json.clone(),
        )
            .into_response(),
        Err(refused) => refused,
    }
}

/// Every upstream's document merged, keeping only the operations the
/// gateway routes to that upstream.
async fn merged(gw: &Gateway) -> OpenApi {
    let mut merged = ApiDoc::openapi();
    merged.info.title = "CraftChain X API".to_owned();
    for name in gw.upstreams.keys().copied() {
        let fetched = async {
            let response = gw
                .upstream_get(name, "/openapi.json")
                .await
                .map_err(|why| anyhow::anyhow!(why))?;
            let bytes = http_body_util::BodyExt::collect(response.into_body())
                .await?
                .to_bytes();
            Ok::<_, anyhow::Error>(serde_json::from_slice::<OpenApi>(&bytes)?)
        };
        match tokio::time::timeout(Duration::from_secs(3), fetched).await {
            Ok(Ok(spec)) => {
                let spec = distinct_schemas(routed_only(spec, name), &merged, name);
                merged.merge(spec);
            }
            Ok(Err(e)) => tracing::warn!(service = name, error = %e, "no API document to merge"),
            Err(_) => tracing::warn!(service = name, "its API document did not come in time"),
        }
    }
    common::serve::add_rate_limits(&mut merged);
    add_upstream_failures(&mut merged);
    merged
}

/// What the gateway answers for any operation when the service behind it
/// fails: 502 (unreachable, or a broken answer) and 504 (no answer in
/// time), each a problem.
fn add_upstream_failures(openapi: &mut OpenApi) {
    const FAILURES: [(&str, &str, &str); 2] = [
        (
            "502",
            "BadGateway",
            "The service behind the gateway cannot be reached or answered brokenly \
             (`upstream_unreachable`, `upstream_failed`).",
        ),
        (
            "504",
            "GatewayTimeout",
            "The service behind the gateway did not answer in time (`upstream_timeout`).",
        ),
    ];
    let responses = &mut openapi
        .components
        .get_or_insert_with(Default::default)
        .responses;
    for (_, name, why) in FAILURES {
        let problem = ContentBuilder::new()
            .schema(Some(RefOr::<Schema>::Ref(Ref::from_schema_name("Problem"))))
            .build();
        responses.insert(
            name.to_owned(),
            RefOr::T(
                ResponseBuilder::new()
                    .description(why)
                    .content(common::error::PROBLEM_JSON, problem)
                    .build(),
            ),
        );
    }
    for item in openapi.paths.paths.values_mut() {
        let operations = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.head,
            &mut item.patch,
            &mut item.options,
        ];
        for op in operations.into_iter().flatten() {
            for (status, name, _) in FAILURES {
                op.responses
                    .responses
                    .entry(status.to_owned())
                    .or_insert_with(|| RefOr::Ref(Ref::from_response_name(name)));
            }
        }
    }
}

/// `spec` with only the operations the gateway routes to `service`, each
/// requiring a token unless the gateway lets it through without one.
fn routed_only(mut spec: OpenApi, service: &str) -> OpenApi {
    spec.paths.paths.retain(|path, item| {
        keep_routed(path, item, service);
        has_operations(item)
    });
    spec
}

/// `spec` with each schema whose name another service already uses for a
/// different schema renamed `<Service><Name>` (`MlAnalysis`; numbered if
/// that name is taken too), and every
/// reference to it with it: the merged document would otherwise keep one
/// of the two under the name, and describe the other service's answers
/// wrongly.
fn distinct_schemas(spec: OpenApi, merged: &OpenApi, service: &str) -> OpenApi {
    let taken = merged.components.as_ref().map(|c| &c.schemas);
    let clashes: Vec<String> = spec
        .components
        .as_ref()
        .map(|c| {
            c.schemas
                .iter()
                .filter(|(name, schema)| {
                    taken
                        .and_then(|t| t.get(*name))
                        .is_some_and(|existing| existing != *schema)
                })
                .map(|(name, _)| name.clone())
                .collect()
        })
        .unwrap_or_default();
    if clashes.is_empty() {
        return spec;
    }
    let mut prefix = service.to_owned();
    if let Some(first) = prefix.get_mut(..1) {
        first.make_ascii_uppercase();
    }
    // A new name is taken by nothing already merged nor by this service's
    // own schemas (`PricingRecommendation` may be another service's name
    // already): `<Service><Name>`, else with a number.
    let own = spec.components.as_ref().map(|c| &c.schemas);
    let mut renames: std::collections::BTreeMap<String, String> = Default::default();
    for name in &clashes {
        let base = format!("{prefix}{name}");
        let mut candidate = base.clone();
        let mut n = 2;
        while taken.is_some_and(|t| t.contains_key(&candidate))
            || own.is_some_and(|o| o.contains_key(&candidate))
            || renames.values().any(|v| *v == candidate)
        {
            candidate = format!("{base}{n}");
            n += 1;
        }
        renames.insert(name.clone(), candidate);
    }
    let Ok(mut v) = serde_json::to_value(&spec) else {
        return spec;
    };
    let renamed = |name: &str| {
        renames
            .get(name)
            .cloned()
            .unwrap_or_else(|| name.to_owned())
    };
    if let Some(schemas) = v
        .pointer_mut("/components/schemas")
        .and_then(|s| s.as_object_mut())
    {
        for name in &clashes {
            if let Some(schema) = schemas.remove(name) {
                schemas.insert(renamed(name), schema);
            }
        }
    }
    rewrite_refs(&mut v, &clashes, &renamed);
    serde_json::from_value(v).unwrap_or(spec)
}

/// Point every `#/components/schemas/<name>` of `names` at its new name.
fn rewrite_refs(v: &mut serde_json::Value, names: &[String], renamed: &dyn Fn(&str) -> String) {
    match v {
        serde_json::Value::Object(map) => {
            for (key, value) in map.iter_mut() {
                if key == "$ref"
                    && let Some(name) = value
                        .as_str()
                        .and_then(|r| r.strip_prefix("#/components/schemas/"))
                    && names.iter().any(|n| n == name)
                {
                    *value = format!("#/components/schemas/{}", renamed(name)).into();
                } else {
                    rewrite_refs(value, names, renamed);
                }
            }
        }
        serde_json::Value::Array(items) => {
            for item in items {
                rewrite_refs(item, names, renamed);
            }
        }
        _ => {}
    }
}

fn keep_routed(path: &str, item: &mut PathItem, service: &str) {
    let slots: [(Method, &mut Option<Operation>); 7] = [
        (Method::GET, &mut item.get),
        (Method::PUT, &mut item.put),
        (Method::POST, &mut item.post),
        (Method::DELETE, &mut item.delete),
        (Method::HEAD, &mut item.head),
        (Method::PATCH, &mut item.patch),
        (Method::OPTIONS, &mut item.options),
    ];
    for (method, slot) in slots {
        let route = routing::route(&method, path).filter(|r| r.service == service);
        match (route, slot.as_mut()) {
            (None, _) => *slot = None,
            (Some(route), Some(op)) if !route.public => require_token(op),
            _ => {}
        }
    }
    item.trace = None;
}

/// The gateway answers 401 to a request without a token on this route.
fn require_token(op: &mut Operation) {
    op.security = Some(vec![SecurityRequirement::new(
        "bearer",
        Vec::<String>::new(),
    )]);
    op.responses
        .responses
        .entry("401".to_owned())
        .or_insert_with(|| RefOr::Ref(Ref::from_response_name("Unauthorized")));
}

fn has_operations(item: &PathItem) -> bool {
    [
        &item.get,
        &item.put,
        &item.post,
        &item.delete,
        &item.head,
        &item.patch,
        &item.options,
    ]
    .iter()
    .any(|op| op.is_some())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use utoipa::openapi::path::{HttpMethod, OperationBuilder};
    use utoipa::openapi::{OpenApiBuilder, PathsBuilder, ResponsesBuilder};

    use super::*;

    fn doc_with(schema_name: &str, description: &str) -> OpenApi {
        use utoipa::openapi::schema::{ComponentsBuilder, ObjectBuilder};
        let op = OperationBuilder::new()
            .responses(
                ResponsesBuilder::new().response(
                    "200",
                    ResponseBuilder::new().description("ok").content(
                        "application/json",
                        ContentBuilder::new()
                            .schema(Some(RefOr::<Schema>::Ref(Ref::from_schema_name(
                                schema_name,
                            ))))
                            .build(),
                    ),
                ),
            )
            .build();
        OpenApiBuilder::new()
            .paths(PathsBuilder::new().path(
                format!("/{description}"),
                PathItem::new(HttpMethod::Get, op),
            ))
            .components(Some(
                ComponentsBuilder::new()
                    .schema(
                        schema_name,
                        ObjectBuilder::new().description(Some(description)),
                    )
                    .build(),
            ))
            .build()
    }

    #[test]
    fn a_schema_name_two_services_use_differently_is_kept_apart() {
        let mut merged = doc_with("Analysis", "pricing");
        let same = distinct_schemas(doc_with("Analysis", "pricing"), &merged, "product");
        assert!(
            same == doc_with("Analysis", "pricing"),
            "equal schemas are shared"
        );
        merged.merge(distinct_schemas(doc_with("Analysis", "ml"), &merged, "ml"));
        let v = serde_json::to_value(&merged).unwrap();
        assert_eq!(
            v["components"]["schemas"]["Analysis"]["description"],
            "pricing"
        );
        assert_eq!(
            v["components"]["schemas"]["MlAnalysis"]["description"],
            "ml"
        );
        let schema_of = |path: &str| {
            v["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
                ["$ref"]
                .clone()
        };
        assert_eq!(schema_of("/pricing"), "#/components/schemas/Analysis");
        assert_eq!(schema_of("/ml"), "#/components/schemas/MlAnalysis");
    }

    #[test]
    fn a_new_name_taken_by_another_service_is_numbered() {
        let mut merged = doc_with("Recommendation", "analytics");
        merged.merge(doc_with("PricingRecommendation", "dashboard"));
        let pricing = distinct_schemas(doc_with("Recommendation", "pricing"), &merged, "pricing");
        merged.merge(pricing);
        let v = serde_json::to_value(&merged).unwrap();
        let schemas = &v["components"]["schemas"];
        assert_eq!(schemas["PricingRecommendation"]["description"], "dashboard");
        assert_eq!(schemas["PricingRecommendation2"]["description"], "pricing");
        assert_eq!(
            v["paths"]["/pricing"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
                ["$ref"],
            "#/components/schemas/PricingRecommendation2"
        );
    }

    #[test]
    fn every_operation_may_get_the_gateways_own_502_and_504() {
        let op = OperationBuilder::new()
            .responses(
                ResponsesBuilder::new().response("200", ResponseBuilder::new().description("ok")),
            )
            .build();
        let mut doc = OpenApiBuilder::new()
            .paths(PathsBuilder::new().path("/x", PathItem::new(HttpMethod::Get, op)))
            .build();
        add_upstream_failures(&mut doc);
        let v = serde_json::to_value(&doc).unwrap();
        let responses = &v["paths"]["/x"]["get"]["responses"];
        assert_eq!(
            responses["502"]["$ref"],
            "#/components/responses/BadGateway"
        );
        assert_eq!(
            responses["504"]["$ref"],
            "#/components/responses/GatewayTimeout"
        );
        assert_eq!(
            v["components"]["responses"]["GatewayTimeout"]["content"][common::error::PROBLEM_JSON]
                ["schema"]["$ref"],
            "#/components/schemas/Problem"
        );
    }
}
