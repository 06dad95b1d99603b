//! `GET /notifications/templates`, `GET/PUT /notifications/templates/{name}`:
//! templates per language, versioned (a PUT adds a version; sends use
//! the latest). Built-in templates are version 0 until an admin stores
//! one of the same name.

use std::collections::BTreeMap;

use axum::extract::State;
use common::{ApiError, Caller, Json, Path, Role, Validator};
use serde::{Deserialize, Serialize};
use store::{Query, Txn};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domain::Category;
use crate::domain::templates::{
    self, BUILTIN, FALLBACK, LANGUAGES, Localized, MAX_BODY, MAX_SHORT, MAX_SUBJECT, MAX_VERSIONS,
    Template, TemplateVersion,
};
use crate::error::NotificationError;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(get_one, put))
}

/// A template's latest version, and the versions kept.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TemplateView {
    pub name: String,
    /// Built into the platform (version 0) and not yet replaced.
    pub builtin: bool,
    pub latest: TemplateVersion,
    /// Every version kept, oldest first.
    pub versions: Vec<u32>,
}

/// Every template.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TemplateList {
    pub items: Vec<TemplateView>,
}

fn view(name: &str, stored: Option<Template>) -> Option<TemplateView> {
    let versions = stored
        .as_ref()
        .map(|t| t.versions.iter().map(|v| v.version).collect())
        .unwrap_or_else(|| vec![0]);
    let builtin = stored.is_none();
    let latest = templates::resolve(stored, name)?;
    Some(TemplateView {
        name: name.to_owned(),
        builtin,
        latest,
        versions,
    })
}

/// The most stored templates listed.
const MAX_LISTED: usize = 500;

/// Every template (admins and services).
#[utoipa::path(get, path = "/notifications/templates", tag = "templates", security(("bearer" = [])),
    responses((status = 200, body = TemplateList), (status = 403)))]
async fn list(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<TemplateList>, NotificationError> {
    caller.require(&[Role::Admin, Role::Service])?;
    let stored = state
        .notifier
        .store
        .collection::<Template>()
        .query_up_to(&Query::new(), MAX_LISTED)
        .await?;
    let mut by_name: BTreeMap<String, Option<Template>> =
        BUILTIN.iter().map(|n| ((*n).to_owned(), None)).collect();
    for t in stored {
        by_name.insert(t.id, Some(t.value));
    }
    let items = by_name
        .into_iter()
        .filter_map(|(name, t)| view(&name, t))
        .collect();
    Ok(Json(TemplateList { items }))
}

/// One template (admins and services).
#[utoipa::path(get, path = "/notifications/templates/{name}", tag = "templates", security(("bearer" = [])),
    params(("name" = String, Path, pattern = "^[a-z][a-z0-9_]{0,63}$")),
    responses((status = 200, body = TemplateView), (status = 403), (status = 404)))]
async fn get_one(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<Json<TemplateView>, NotificationError> {
    caller.require(&[Role::Admin, Role::Service])?;
    if !templates::valid_name(&name) {
        return Err(ApiError::not_found(format!("template {name}")).into());
    }
    let stored = state
        .notifier
        .store
        .collection::<Template>()
        .get(&name)
        .await?
        .map(|t| t.value);
    view(&name, stored)
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("template {name}")).into())
}

/// `PUT /notifications/templates/{name}`: a new version.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TemplateBody {
    pub category: Category,
    /// The DLT entity id SMS of this template are sent under (India).
    #[schema(max_length = 64)]
    pub dlt_entity_id: Option<String>,
    /// Text per language (`en` required; `hi`, `bn`, `ta`, `te`, `mr`).
    #[serde(deserialize_with = "common::bounded::map::<_, _, _, 6>")]
    pub languages: BTreeMap<String, Localized>,
}

/// Store a new version of a template (admins). Every text must parse;
/// a marketing template's messages get the unsubscribe link (as the
/// variable `unsubscribe_url`, and appended when the text lacks it).
#[utoipa::path(put, path = "/notifications/templates/{name}", tag = "templates", security(("bearer" = [])),
    params(("name" = String, Path, pattern = "^[a-z][a-z0-9_]{0,63}$")), request_body = TemplateBody,
    responses((status = 200, body = TemplateView), (status = 403),
        (status = 422, description = "a bad name, language or text (named languages.<code>.<field>)")))]
async fn put(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    Json(body): Json<TemplateBody>,
) -> Result<Json<TemplateView>, NotificationError> {
    caller.require(&[Role::Admin])?;
    let mut v = Validator::new();
    v.check(
        templates::valid_name(&name),
        "name",
        "invalid",
        "a-z, 0-9 and _, starting with a letter, at most 64",
    );
    v.check(
        body.languages.contains_key(FALLBACK),
        "languages.en",
        "required",
        "every template has English text",
    );
    if let Some(id) = &body.dlt_entity_id {
        v.length("dlt_entity_id", id, 1, 64);
    }
    for (lang, text) in &body.languages {
        let at = format!("languages.{lang}");
        if !LANGUAGES.contains(&lang.as_str()) {
            v.check(false, &at, "unsupported", "one of en, hi, bn, ta, te, mr");
            continue;
        }
        v.length(&format!("{at}.body"), &text.body, 1, MAX_BODY);
        if let Some(s) = &text.subject {
            v.length(&format!("{at}.subject"), s, 1, MAX_SUBJECT);
        }
        if let Some(s) = &text.short {
            v.length(&format!("{at}.short"), s, 1, MAX_SHORT);
        }
        if let Some(id) = &text.dlt_template_id {
            v.length(&format!("{at}.dlt_template_id"), id, 1, 64);
        }
        if let Some(sid) = &text.whatsapp_content_sid {
            let ok = sid.len() == 34
                && sid.starts_with("HX")
                && sid[2..].chars().all(|c| c.is_ascii_hexdigit());
            v.check(
                ok,
                &format!("{at}.whatsapp_content_sid"),
                "invalid",
                "HX and 32 hex digits",
            );
        }
        for (i, name) in text.whatsapp_variables.iter().enumerate() {
            v.check(
                templates::valid_name(name),
                &format!("{at}.whatsapp_variables[{i}]"),
                "invalid",
                "a variable's name",
            );
        }
        for (field, source) in [
            ("body", Some(&text.body)),
            ("subject", text.subject.as_ref()),
            ("short", text.short.as_ref()),
        ] {
            if let Some(error) = source
                .filter(|s| s.len() <= MAX_BODY * 4)
                .and_then(|s| templates::syntax_error(s))
            {
                v.check(false, &format!("{at}.{field}"), "syntax", error);
            }
        }
    }
    v.finish()?;
    let saved = state
        .notifier
        .store
        .transact(async |tx: &mut Txn| {
            let mut t = tx
                .get::<Template>(&name)
                .await?
                .map(|t| t.value)
                .unwrap_or(Template {
                    versions: Vec::new(),
                });
            let version = t.latest().map_or(1, |l| l.version + 1);
            t.versions.push(TemplateVersion {
                version,
                category: body.category,
                dlt_entity_id: body.dlt_entity_id.clone(),
                languages: body.languages.clone(),
                created_at: common::time::now(),
                created_by: caller.uid.clone(),
            });
            if t.versions.len() > MAX_VERSIONS {
                t.versions.remove(0);
            }
            tx.set(&name, &t)?;
            Ok::<_, NotificationError>(t)
        })
        .await?;
    view(&name, Some(saved)).map(Json).ok_or_else(|| {
        ApiError::internal(anyhow::anyhow!("a template just stored has no version")).into()
    })
}
