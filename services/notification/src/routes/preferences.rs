//! `GET/PUT /notifications/preferences/{user_id}`, and the unsubscribe
//! link of marketing messages (`/notifications/unsubscribe?token=`), which
//! works without logging in: `GET` shows what it will do, `POST` does it
//! (RFC 8058's one-click POST from mail clients too), so a link scanner
//! fetching the link unsubscribes nobody.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{Html, IntoResponse, Response};
use common::{ApiError, Caller, Id, Json, Path, Query, Validator};
use serde::{Deserialize, Serialize};
use store::Txn;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domain::preferences::{
    ChannelChoice, MAX_PUSH_TOKENS, Preferences, QuietHours, parse_time,
};
use crate::domain::templates::LANGUAGES;
use crate::domain::{ChannelKind, links, may_see};
use crate::error::NotificationError;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_preferences, put_preferences))
        .routes(routes!(unsubscribe_page, unsubscribe))
}

/// A user's preferences, every channel's choice filled in.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PreferencesView {
    pub user_id: String,
    pub language: Option<String>,
    pub time_zone: String,
    pub quiet_hours: Option<QuietHours>,
    pub channels: BTreeMap<ChannelKind, ChannelChoice>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub push_tokens: Vec<String>,
    pub updated_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl PreferencesView {
    fn new(user_id: &str, p: &Preferences) -> Self {
        Self {
            user_id: user_id.to_owned(),
            language: p.language.clone(),
            time_zone: p.time_zone.clone(),
            quiet_hours: p.quiet_hours.clone(),
            channels: p.effective(),
            email: p.email.clone(),
            phone: p.phone.clone(),
            push_tokens: p.push_tokens.clone(),
            updated_at: p.updated_at,
        }
    }
}

/// The view with its version as the `ETag` (`"0"`: none stored yet).
fn with_etag(user_id: &str, prefs: &Preferences, version: i64) -> Response {
    let mut response = Json(PreferencesView::new(user_id, prefs)).into_response();
    response
        .headers_mut()
        .insert(header::ETAG, common::preconditions::etag(version));
    response
}

/// A user's preferences (the user, an admin or a service), with an `ETag`.
#[utoipa::path(get, path = "/notifications/preferences/{user_id}", tag = "preferences",
    security(("bearer" = [])), params(("user_id" = Id, Path)),
    responses((status = 200, body = PreferencesView, headers(("ETag" = String))), (status = 403)))]
async fn get_preferences(
    State(state): State<AppState>,
    caller: Caller,
    Path(user_id): Path<Id>,
) -> Result<Response, NotificationError> {
    if !may_see(&caller, &user_id) {
        return Err(
            ApiError::forbidden("only the user or an admin may read their preferences").into(),
        );
    }
    let stored = state
        .notifier
        .store
        .collection::<Preferences>()
        .get(&user_id)
        .await?;
    let version = stored.as_ref().map_or(0, |p| p.version.0);
    let prefs = stored.map(|p| p.value).unwrap_or_default();
    Ok(with_etag(&user_id, &prefs, version))
}

/// `PUT /notifications/preferences/{user_id}`: the whole of them.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreferencesBody {
    /// `en`, `hi`, `bn`, `ta`, `te` or `mr`; absent: the profile's.
    #[schema(pattern = "^(en|hi|bn|ta|te|mr)$")]
    pub language: Option<String>,
    /// An IANA zone; `Asia/Kolkata` when absent.
    #[schema(max_length = 64, example = "Asia/Kolkata")]
    pub time_zone: Option<String>,
    pub quiet_hours: Option<QuietHours>,
    /// Per channel (the others keep their defaults).
    #[serde(default)]
    pub channels: BTreeMap<ChannelKind, ChannelChoice>,
    #[schema(max_length = 254)]
    pub email: Option<String>,
    /// E.164.
    #[schema(pattern = "^\\+[1-9][0-9]{7,14}$")]
    pub phone: Option<String>,
    /// FCM registration tokens, at most 5.
    #[serde(
        default,
        deserialize_with = "common::bounded::vec::<_, _, MAX_PUSH_TOKENS>"
    )]
    #[schema(max_items = 5)]
    pub push_tokens: Vec<String>,
}

fn is_e164(s: &str) -> bool {
    let digits = s.strip_prefix('+').unwrap_or("");
    (8..=15).contains(&digits.len())
        && digits.chars().all(|c| c.is_ascii_digit())
        && !digits.starts_with('0')
}

/// Set a user's preferences (the user or an admin). `If-Match` (the
/// `ETag` of a read) is honoured: two devices cannot overwrite each
/// other's change unseen.
#[utoipa::path(put, path = "/notifications/preferences/{user_id}", tag = "preferences",
    security(("bearer" = [])), request_body = PreferencesBody,
    params(("user_id" = Id, Path),
        ("If-Match" = Option<String>, Header, nullable = false, pattern = "^(W/)?\"[0-9]{1,18}\"$",
            description = "The `ETag` of a read: the change applies only to that version.")),
    responses((status = 200, body = PreferencesView, headers(("ETag" = String))), (status = 403),
        (status = 412, description = "If-Match names another version")))]
async fn put_preferences(
    State(state): State<AppState>,
    caller: Caller,
    Path(user_id): Path<Id>,
    headers: HeaderMap,
    Json(body): Json<PreferencesBody>,
) -> Result<Response, NotificationError> {
    caller.require_owner_or_admin(&user_id)?;
    let expected = common::preconditions::if_match(&headers)?;
    let mut v = Validator::new();
    if let Some(l) = &body.language {
        v.check(
            LANGUAGES.contains(&l.as_str()),
            "language",
            "unsupported",
            "one of en, hi, bn, ta, te, mr",
        );
    }
    if let Some(z) = &body.time_zone {
        v.check(
            z.len() <= 64 && z.parse::<chrono_tz::Tz>().is_ok(),
            "time_zone",
            "unknown",
            "an IANA time zone, e.g. Asia/Kolkata",
        );
    }
    if let Some(q) = &body.quiet_hours {
        v.check(
            parse_time(&q.start).is_some(),
            "quiet_hours.start",
            "invalid",
            "HH:MM",
        );
        v.check(
            parse_time(&q.end).is_some(),
            "quiet_hours.end",
            "invalid",
            "HH:MM",
        );
    }
    if let Some(e) = &body.email {
        v.length("email", e, 3, 254);
        v.check(
            e.contains('@') && e.parse::<lettre::Address>().is_ok(),
            "email",
            "invalid",
            "an email address",
        );
    }
    if let Some(p) = &body.phone {
        v.check(is_e164(p), "phone", "invalid", "E.164, e.g. +919876543210");
    }
    for (i, t) in body.push_tokens.iter().enumerate() {
        v.length(&format!("push_tokens[{i}]"), t, 1, 4096);
    }
    v.finish()?;
    let prefs = Preferences {
        language: body.language,
        time_zone: body
            .time_zone
            .unwrap_or_else(|| crate::domain::preferences::DEFAULT_TIME_ZONE.to_owned()),
        quiet_hours: body.quiet_hours,
        channels: body.channels,
        email: body.email,
        phone: body.phone,
        push_tokens: body.push_tokens,
        updated_at: Some(common::time::now()),
    };
    let preferences = state.notifier.store.collection::<Preferences>();
    let saved = match (expected, preferences.get(&user_id).await?) {
        (Some(e), Some(current)) if e != current.version.0 => None,
        (Some(e), None) if e != 0 => None,
        (_, Some(current)) => Some(preferences.update(&user_id, &prefs, current.version).await),
        (_, None) => Some(preferences.create(&user_id, &prefs).await),
    };
    match saved {
        Some(Ok(saved)) => Ok(with_etag(&user_id, &saved.value, saved.version.0)),
        // Changed (or made) since it was read.
        None
        | Some(Err(store::StoreError::Conflict { .. } | store::StoreError::AlreadyExists { .. })) => {
            Err(
                ApiError::precondition_failed("the preferences changed since they were read")
                    .into(),
            )
        }
        Some(Err(e)) => Err(e.into()),
    }
}

/// `?token=` of an unsubscribe link.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LinkParams {
    #[param(max_length = 400)]
    pub token: String,
}

fn link_user(state: &AppState, token: &str) -> Result<String, ApiError> {
    links::verify(&state.notifier.settings.link_key(), token).ok_or_else(|| {
        ApiError::invalid_field("token", "invalid", "this unsubscribe link is not valid")
    })
}

/// The page an unsubscribe link opens: a button that unsubscribes (no
/// login; the link's token is the proof).
#[utoipa::path(get, path = "/notifications/unsubscribe", tag = "preferences", params(LinkParams),
    responses((status = 200, content_type = "text/html", body = String),
        (status = 422, description = "the link is not one this service wrote")))]
async fn unsubscribe_page(
    State(state): State<AppState>,
    Query(params): Query<LinkParams>,
) -> Result<Html<String>, NotificationError> {
    link_user(&state, &params.token)?;
    let token: String = url::form_urlencoded::byte_serialize(params.token.as_bytes()).collect();
    Ok(Html(format!(
        "<!doctype html><html lang=\"en\"><meta charset=\"utf-8\"><title>Unsubscribe</title>\
         <body><h1>Stop marketing messages from CraftChain?</h1>\
         <p>Messages about your orders, payments and account still come.</p>\
         <form method=\"post\" action=\"/notifications/unsubscribe?token={token}\">\
         <button type=\"submit\" name=\"List-Unsubscribe\" value=\"One-Click\">Unsubscribe</button>\
         </form></body></html>"
    )))
}

/// What an unsubscribe did.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Unsubscribed {
    pub unsubscribed: bool,
    /// The categories stopped.
    pub categories: Vec<String>,
}

/// Unsubscribe from every marketing message (RFC 8058 one-click POST; no
/// login). Transactional messages still come.
#[utoipa::path(post, path = "/notifications/unsubscribe", tag = "preferences", params(LinkParams),
    responses((status = 200, body = Unsubscribed),
        (status = 422, description = "the link is not one this service wrote")))]
async fn unsubscribe(
    State(state): State<AppState>,
    Query(params): Query<LinkParams>,
) -> Result<Response, NotificationError> {
    let user = link_user(&state, &params.token)?;
    state
        .notifier
        .store
        .transact(async |tx: &mut Txn| {
            let mut prefs = tx
                .get::<Preferences>(&user)
                .await?
                .map(|p| p.value)
                .unwrap_or_default();
            prefs.unsubscribe_marketing();
            prefs.updated_at = Some(common::time::now());
            tx.set(&user, &prefs)?;
            Ok::<_, NotificationError>(())
        })
        .await?;
    let body = Unsubscribed {
        unsubscribed: true,
        categories: vec!["marketing".into()],
    };
    Ok(([(header::CACHE_CONTROL, "no-store")], Json(body)).into_response())
}
