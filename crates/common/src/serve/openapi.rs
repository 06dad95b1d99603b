//! The API description every service publishes, completed in one place:
//! the problem answers any operation can get from the shared request
//! pipeline (malformed JSON, a missing token, a body too large, a deadline)
//! are declared once, as shared responses, and added to each operation as
//! they apply to it; every error answer is described as
//! `application/problem+json` with the [`Problem`] schema.

use http::StatusCode;
use utoipa::PartialSchema as _;
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::{
    Components, ContentBuilder, OpenApi, Ref, RefOr, Response, ResponseBuilder, Schema,
};

use crate::error::{FieldError, PROBLEM_JSON, Problem};

/// A shared problem answer: its status and why it is given.
struct Shared {
    status: StatusCode,
    name: &'static str,
    why: &'static str,
}

const BAD_REQUEST: Shared = Shared {
    status: StatusCode::BAD_REQUEST,
    name: "BadRequest",
    why: "The request cannot be read: malformed JSON, an unreadable body or a bad path.",
};
const UNAUTHORIZED: Shared = Shared {
    status: StatusCode::UNAUTHORIZED,
    name: "Unauthorized",
    why: "The bearer token is missing, malformed, expired or revoked.",
};
const FORBIDDEN: Shared = Shared {
    status: StatusCode::FORBIDDEN,
    name: "Forbidden",
    why: "The caller may not do this.",
};
const NOT_FOUND: Shared = Shared {
    status: StatusCode::NOT_FOUND,
    name: "NotFound",
    why: "No such resource (or none the caller may see).",
};
const PAYLOAD_TOO_LARGE: Shared = Shared {
    status: StatusCode::PAYLOAD_TOO_LARGE,
    name: "PayloadTooLarge",
    why: "The request body is larger than this service accepts.",
};
const UNSUPPORTED_MEDIA_TYPE: Shared = Shared {
    status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
    name: "UnsupportedMediaType",
    why: "The body is missing or not of the media type this operation takes.",
};
const UNPROCESSABLE: Shared = Shared {
    status: StatusCode::UNPROCESSABLE_ENTITY,
    name: "ValidationFailed",
    why: "The request is well formed but invalid; `errors` names each offending field.",
};
const TOO_MANY_REQUESTS: Shared = Shared {
    status: StatusCode::TOO_MANY_REQUESTS,
    name: "TooManyRequests",
    why: "Too many requests; `Retry-After` says when to try again.",
};
const UNAVAILABLE: Shared = Shared {
    status: StatusCode::SERVICE_UNAVAILABLE,
    name: "Unavailable",
    why: "A dependency is down or the deadline passed; nothing was changed. `Retry-After` says when to try again.",
};

const ALL: [Shared; 9] = [
    BAD_REQUEST,
    UNAUTHORIZED,
    FORBIDDEN,
    NOT_FOUND,
    PAYLOAD_TOO_LARGE,
    UNSUPPORTED_MEDIA_TYPE,
    UNPROCESSABLE,
    TOO_MANY_REQUESTS,
    UNAVAILABLE,
];

/// Declare the shared problem answers in `openapi`'s components and add
/// them to every operation they apply to (see [`applicable`]).
pub(crate) fn complete(openapi: &mut OpenApi) {
    let components = openapi.components.get_or_insert_with(Components::default);
    components
        .schemas
        .entry("Problem".to_owned())
        .or_insert_with(Problem::schema);
    components
        .schemas
        .entry("FieldError".to_owned())
        .or_insert_with(FieldError::schema);
    // Path parameters declared `Id` refer to its schema by name.
    components
        .schemas
        .entry("Id".to_owned())
        .or_insert_with(crate::Id::schema);
    for shared in ALL {
        components.responses.insert(
            shared.name.to_owned(),
            RefOr::T(problem_response(shared.why)),
        );
    }
    for item in openapi.paths.paths.values_mut() {
        for op in operations(item) {
            for shared in applicable(op) {
                op.responses
                    .responses
                    .entry(shared.status.as_str().to_owned())
                    .or_insert_with(|| response_ref(shared.name));
            }
            describe_errors_as_problems(op);
        }
    }
}

/// Add `429 Too Many Requests` to every operation (what the gateway adds
/// in front of each service).
pub fn add_rate_limits(openapi: &mut OpenApi) {
    openapi
        .components
        .get_or_insert_with(Components::default)
        .responses
        .insert(
            TOO_MANY_REQUESTS.name.to_owned(),
            RefOr::T(problem_response(TOO_MANY_REQUESTS.why)),
        );
    for item in openapi.paths.paths.values_mut() {
        for op in operations(item) {
            op.responses
                .responses
                .entry(TOO_MANY_REQUESTS.status.as_str().to_owned())
                .or_insert_with(|| response_ref(TOO_MANY_REQUESTS.name));
        }
    }
}

fn operations(item: &mut utoipa::openapi::PathItem) -> impl Iterator<Item = &mut Operation> {
    [
        item.get.as_mut(),
        item.put.as_mut(),
        item.post.as_mut(),
        item.delete.as_mut(),
        item.options.as_mut(),
        item.head.as_mut(),
        item.patch.as_mut(),
        item.trace.as_mut(),
    ]
    .into_iter()
    .flatten()
}

/// The shared answers `op` can get from the request pipeline:
/// - any operation: 503 (the deadline, a dependency down);
/// - with path parameters: 400 (a bad path) and 404;
/// - with query parameters: 422 (out of range, unknown);
/// - with a body: 400, 413, 415 and 422;
/// - reading a token (required or optional): 401; requiring one: 403.
fn applicable(op: &Operation) -> Vec<Shared> {
    let params = op.parameters.as_deref().unwrap_or_default();
    let located = |place: ParameterIn| {
        params
            .iter()
            .any(|p| matches!(p, RefOr::T(p) if p.parameter_in == place))
    };
    let mut out = vec![UNAVAILABLE];
    if located(ParameterIn::Path) {
        out.extend([BAD_REQUEST, NOT_FOUND]);
    }
    if located(ParameterIn::Query) {
        out.push(UNPROCESSABLE);
    }
    if op.request_body.is_some() {
        out.extend([
            BAD_REQUEST,
            PAYLOAD_TOO_LARGE,
            UNSUPPORTED_MEDIA_TYPE,
            UNPROCESSABLE,
        ]);
    }
    if let Some(security) = &op.security {
        let optional = security.iter().any(is_empty_requirement);
        if !security.is_empty() {
            out.push(UNAUTHORIZED);
        }
        if !optional && !security.is_empty() {
            out.push(FORBIDDEN);
        }
    }
    out
}

fn is_empty_requirement(requirement: &utoipa::openapi::security::SecurityRequirement) -> bool {
    serde_json::to_value(requirement).is_ok_and(|v| v.as_object().is_some_and(|o| o.is_empty()))
}

/// Every error answer an operation declares itself is a problem: give one
/// without content the problem body it really has.
fn describe_errors_as_problems(op: &mut Operation) {
    for (status, response) in &mut op.responses.responses {
        let is_error = status.starts_with('4') || status.starts_with('5');
        if let (true, RefOr::T(response)) = (is_error, response) {
            if response.content.is_empty() || response.content.contains_key("application/json") {
                response.content.shift_remove("application/json");
                response
                    .content
                    .insert(PROBLEM_JSON.to_owned(), RefOr::T(problem_content()));
            }
            if response.description.is_empty() {
                response.description = StatusCode::from_bytes(status.as_bytes())
                    .ok()
                    .and_then(|s| s.canonical_reason())
                    .unwrap_or("Error")
                    .to_owned();
            }
        }
    }
}

fn problem_content() -> utoipa::openapi::Content {
    ContentBuilder::new()
        .schema(Some(RefOr::<Schema>::Ref(Ref::from_schema_name("Problem"))))
        .build()
}

fn problem_response(why: &str) -> Response {
    ResponseBuilder::new()
        .description(why)
        .content(PROBLEM_JSON, problem_content())
        .build()
}

fn response_ref(name: &str) -> RefOr<Response> {
    RefOr::Ref(Ref::from_response_name(name))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use utoipa::OpenApi as _;

    #[derive(utoipa::ToSchema, serde::Deserialize)]
    #[allow(dead_code)]
    struct Body {
        name: String,
    }

    #[utoipa::path(get, path = "/things", params(("limit" = Option<u32>, Query)),
        responses((status = 200)))]
    #[allow(dead_code)]
    async fn list() {}

    #[utoipa::path(post, path = "/things/{id}", security(("bearer" = [])), request_body = Body,
        params(("id" = String, Path)), responses((status = 201), (status = 409)))]
    #[allow(dead_code)]
    async fn create() {}

    #[utoipa::path(get, path = "/things/{id}", security((), ("bearer" = [])),
        params(("id" = String, Path)), responses((status = 200)))]
    #[allow(dead_code)]
    async fn get_one() {}

    #[derive(utoipa::OpenApi)]
    #[openapi(paths(list, create, get_one))]
    struct Doc;

    fn codes(doc: &OpenApi, path: &str, method: &str) -> Vec<String> {
        let v = serde_json::to_value(doc).unwrap();
        let mut codes: Vec<String> = v["paths"][path][method]["responses"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        codes.sort();
        codes
    }

    #[test]
    fn each_operation_gets_the_problems_that_apply_to_it() {
        let mut doc = Doc::openapi();
        complete(&mut doc);
        assert_eq!(codes(&doc, "/things", "get"), ["200", "422", "503"]);
        assert_eq!(
            codes(&doc, "/things/{id}", "post"),
            [
                "201", "400", "401", "403", "404", "409", "413", "415", "422", "503"
            ]
        );
        assert_eq!(
            codes(&doc, "/things/{id}", "get"),
            ["200", "400", "401", "404", "503"]
        );
        let v = serde_json::to_value(&doc).unwrap();
        let conflict = &v["paths"]["/things/{id}"]["post"]["responses"]["409"];
        assert_eq!(
            conflict["content"][PROBLEM_JSON]["schema"]["$ref"],
            "#/components/schemas/Problem"
        );
        assert_eq!(
            v["paths"]["/things/{id}"]["post"]["responses"]["401"]["$ref"],
            "#/components/responses/Unauthorized"
        );
        assert!(v["components"]["schemas"]["Problem"].is_object());

        add_rate_limits(&mut doc);
        assert!(codes(&doc, "/things", "get").contains(&"429".to_owned()));
    }
}
