//! `POST /notifications/send` and `/bulk`: stored before 202, delivered
//! by the workers. `GET /notifications/{id}`: its status and attempts.
//! `GET /notifications?user_id=`: the delivery log, and with
//! `channel=in_app` the inbox; `POST /notifications/{id}/read`;
//! `POST /notifications/{id}/retry` replays a failed message (same id,
//! so the same `webhook-id`).

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use common::{ApiError, Caller, Id, Json, Page, PageParams, Path, Query, Role, Validator};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use store::{Cursor, Direction, Txn};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domain::campaigns::{self, Outcome};
use crate::domain::queue::{Queued, Request, fingerprint, idempotency_key, keyed_ids, new_id};
use crate::domain::templates::{self, MAX_DATA_KEYS};
use crate::domain::{ChannelKind, Notification, NotificationView, Priority, may_see};
use crate::error::NotificationError;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(send))
        .routes(routes!(bulk))
        .routes(routes!(list))
        .routes(routes!(get_one))
        .routes(routes!(mark_read))
        .routes(routes!(retry))
}

/// The hard ceiling of a bulk request (the configured maximum is lower).
const MAX_BULK: usize = 5_000;

/// `POST /notifications/send`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SendRequest {
    pub user_id: Id,
    pub channel: ChannelKind,
    /// A template's name (built in or stored).
    #[schema(pattern = "^[a-z][a-z0-9_]{0,63}$", max_length = 64)]
    pub template: String,
    /// The template's variables: at most 50 entries, 16 KiB as JSON.
    #[serde(
        default,
        deserialize_with = "common::bounded::map::<_, _, _, MAX_DATA_KEYS>"
    )]
    #[schema(value_type = Object)]
    pub data: BTreeMap<String, Value>,
    #[serde(default)]
    pub priority: Priority,
}

/// A stored message.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Accepted {
    pub id: String,
    /// `queued`, or `skipped` when the user opted out of it.
    pub status: String,
    pub reason: Option<String>,
    /// When it is first tried (later than now in the user's quiet hours).
    pub next_attempt_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl Accepted {
    fn new(id: &str, n: &Notification) -> Self {
        let view = NotificationView::new(id, n);
        Self {
            id: id.to_owned(),
            status: view.status,
            reason: view.reason,
            next_attempt_at: view.next_attempt_at,
        }
    }
}

/// Check one request's own fields; `prefix` names it in a bulk request.
fn check(v: &mut Validator, prefix: &str, r: &SendRequest) {
    templates::check_request(v, prefix, &r.template, &r.data);
}

fn to_request(caller: &Caller, r: &SendRequest) -> Request {
    Request {
        user_id: r.user_id.to_string(),
        channel: r.channel,
        template: r.template.clone(),
        data: r.data.clone().into_iter().collect::<Map<_, _>>(),
        priority: r.priority,
        source: format!("api:{}", caller.uid),
        email_to: None,
    }
}

/// Store the requests (ids from the key when one was given).
async fn queue_all(
    state: &AppState,
    caller: &Caller,
    headers: &HeaderMap,
    requests: &[SendRequest],
    field_of: impl Fn(usize) -> String + Send + Sync,
) -> Result<(StatusCode, Vec<(String, Notification)>), NotificationError> {
    let key = idempotency_key(headers)?;
    let ids = match &key {
        Some(k) => keyed_ids(&caller.uid, k, requests.len()),
        None => requests.iter().map(|_| new_id()).collect(),
    };
    let hash = key.as_ref().map(|_| fingerprint(&requests)).transpose()?;
    let domain: Vec<Request> = requests.iter().map(|r| to_request(caller, r)).collect();
    match state
        .notifier
        .queue(&domain, &ids, hash.as_deref(), field_of)
        .await?
    {
        Queued::New(stored) => Ok((StatusCode::ACCEPTED, stored)),
        Queued::Repeat(stored) => Ok((StatusCode::OK, stored)),
    }
}

/// Send a message to a user (services and admins). It is stored before
/// the answer, so nothing acknowledged is lost; the template is rendered
/// now, in the user's language, so a variable missing from `data` is a
/// 422 naming it. An `Idempotency-Key` makes a repeat answer the first
/// message again (200).
#[utoipa::path(post, path = "/notifications/send", tag = "notifications", security(("bearer" = [])),
    request_body = SendRequest,
    params(("Idempotency-Key" = Option<String>, Header, min_length = 1, max_length = 200,
        description = "Names this message: the same key and body answer it again")),
    responses((status = 202, body = Accepted, headers(("Location" = String))),
        (status = 200, body = Accepted, description = "a repeat of an earlier request with this Idempotency-Key"),
        (status = 422, description = "bad fields, an unknown template, a variable the data lacks, or a reused key")))]
async fn send(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Json(body): Json<SendRequest>,
) -> Result<(StatusCode, HeaderMap, Json<Accepted>), NotificationError> {
    caller.require(&[Role::Service, Role::Admin])?;
    let mut v = Validator::new();
    check(&mut v, "", &body);
    v.finish()?;
    let (status, stored) = queue_all(
        &state,
        &caller,
        &headers,
        std::slice::from_ref(&body),
        |_| String::new(),
    )
    .await?;
    let (id, n) = stored
        .into_iter()
        .next()
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("nothing stored")))?;
    let mut out = HeaderMap::new();
    if let Ok(location) = HeaderValue::from_str(&format!("/notifications/{id}")) {
        out.insert(header::LOCATION, location);
    }
    Ok((status, out, Json(Accepted::new(&id, &n))))
}

/// `POST /notifications/bulk`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkRequest {
    /// At most the service's `bulk_max` (500 by default).
    #[serde(deserialize_with = "common::bounded::vec::<_, _, MAX_BULK>")]
    #[schema(min_items = 1, max_items = 5000)]
    pub items: Vec<SendRequest>,
}

/// The messages of a bulk request, in its order.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct BulkAccepted {
    pub items: Vec<Accepted>,
}

/// Send many messages at once (services and admins): validated as a
/// whole (a bad item refuses them all, named `items[i]`), stored in one
/// transaction, an id each.
#[utoipa::path(post, path = "/notifications/bulk", tag = "notifications", security(("bearer" = [])),
    request_body = BulkRequest,
    params(("Idempotency-Key" = Option<String>, Header, min_length = 1, max_length = 200)),
    responses((status = 202, body = BulkAccepted),
        (status = 200, body = BulkAccepted, description = "a repeat of an earlier request with this Idempotency-Key"),
        (status = 422, description = "too many items, or an item is bad (named items[i])")))]
async fn bulk(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Json(body): Json<BulkRequest>,
) -> Result<(StatusCode, Json<BulkAccepted>), NotificationError> {
    caller.require(&[Role::Service, Role::Admin])?;
    let mut v = Validator::new();
    v.check(
        !body.items.is_empty(),
        "items",
        "required",
        "at least one item",
    );
    if v.items("items", body.items.len(), state.notifier.settings.bulk_max) {
        for (i, item) in body.items.iter().enumerate() {
            check(&mut v, &format!("items[{i}]."), item);
        }
    }
    v.finish()?;
    let (status, stored) = queue_all(&state, &caller, &headers, &body.items, |i| {
        format!("items[{i}].")
    })
    .await?;
    let items = stored.iter().map(|(id, n)| Accepted::new(id, n)).collect();
    Ok((status, Json(BulkAccepted { items })))
}

/// `GET /notifications`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// Whose messages (default: the caller's). Only the user or an admin.
    pub user_id: Option<Id>,
    /// One channel only: `in_app` is the inbox.
    #[param(inline)]
    pub channel: Option<ChannelKind>,
    /// 1–100, default 20.
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page (opaque).
    #[param(max_length = 2048)]
    pub cursor: Option<String>,
}

/// A user's messages, newest first: the delivery log, and with
/// `channel=in_app` their inbox (each with `read`).
#[utoipa::path(get, path = "/notifications", tag = "notifications", security(("bearer" = [])),
    params(ListParams), responses((status = 200, body = Page<NotificationView>), (status = 403)))]
async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Query(params): Query<ListParams>,
) -> Result<Json<Page<NotificationView>>, NotificationError> {
    let limit = PageParams {
        limit: params.limit,
        cursor: None,
    }
    .limit()?;
    let user = params
        .user_id
        .map(Id::into_string)
        .unwrap_or_else(|| caller.uid.clone());
    if !may_see(&caller, &user) {
        return Err(
            ApiError::forbidden("only the user or an admin may read their messages").into(),
        );
    }
    let cursor = params
        .cursor
        .as_deref()
        .map(Cursor::parse)
        .transpose()
        .map_err(|_| common::pagination::invalid_cursor())?;
    let mut q = store::Query::new().eq("user_id", user.as_str());
    if let Some(channel) = params.channel {
        q = q.eq("channel", channel.as_str());
    }
    let q = q
        .order_by("created_at", Direction::Desc)
        .limit(limit)
        .after(cursor);
    let (items, next) = state
        .notifier
        .store
        .collection::<Notification>()
        .query(&q)
        .await
        .map_err(|e| {
            if e.is_invalid_input() {
                common::pagination::invalid_cursor().into()
            } else {
                NotificationError::Store(e)
            }
        })?;
    let views = items
        .iter()
        .map(|n| NotificationView::new(&n.id, &n.value))
        .collect();
    Ok(Json(Page::new(views, next.map(|c| c.to_string()))))
}

/// The message `id` if `caller` may see it (404 otherwise, the same as
/// for a message that does not exist).
async fn visible(
    state: &AppState,
    caller: &Caller,
    id: &str,
) -> Result<Notification, NotificationError> {
    match state
        .notifier
        .store
        .collection::<Notification>()
        .get(id)
        .await?
    {
        Some(n) if may_see(caller, &n.value.user_id) => Ok(n.value),
        _ => Err(ApiError::not_found(format!("notification {id}")).into()),
    }
}

/// One message: its status, the text sent and every attempt.
#[utoipa::path(get, path = "/notifications/{id}", tag = "notifications", security(("bearer" = [])),
    params(("id" = Id, Path)), responses((status = 200, body = NotificationView), (status = 404)))]
async fn get_one(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Id>,
) -> Result<Json<NotificationView>, NotificationError> {
    let n = visible(&state, &caller, &id).await?;
    Ok(Json(NotificationView::new(&id, &n)))
}

/// Message `id` read in `tx` for a change: its user's or an admin's to
/// change (a message the caller cannot see is 404; one a service may see
/// but not change, 403).
async fn for_change(
    tx: &mut Txn,
    caller: &Caller,
    id: &str,
) -> Result<store::Versioned<Notification>, NotificationError> {
    let n = tx
        .get::<Notification>(id)
        .await?
        .filter(|n| may_see(caller, &n.value.user_id))
        .ok_or_else(|| ApiError::not_found(format!("notification {id}")))?;
    caller.require_owner_or_admin(&n.value.user_id)?;
    Ok(n)
}

/// Mark a message read (its user, or an admin).
#[utoipa::path(post, path = "/notifications/{id}/read", tag = "notifications", security(("bearer" = [])),
    params(("id" = Id, Path)), responses((status = 200, body = NotificationView), (status = 403), (status = 404)))]
async fn mark_read(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Id>,
) -> Result<Json<NotificationView>, NotificationError> {
    let now = common::time::now();
    let n = state
        .notifier
        .store
        .transact(async |tx: &mut Txn| {
            let mut n = for_change(tx, &caller, &id).await?;
            if n.value.read_at.is_none() {
                n.value.read_at = Some(now);
                tx.update(&n)?;
            }
            Ok::<_, NotificationError>(n.value)
        })
        .await?;
    Ok(Json(NotificationView::new(&id, &n)))
}

/// Send a failed message again (its user or an admin): the same id, so a
/// webhook receiver sees the same `webhook-id`.
#[utoipa::path(post, path = "/notifications/{id}/retry", tag = "notifications", security(("bearer" = [])),
    params(("id" = Id, Path)),
    responses((status = 202, body = NotificationView), (status = 403), (status = 404),
        (status = 409, description = "only a failed message can be sent again (`not_replayable`)")))]
async fn retry(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Id>,
) -> Result<(StatusCode, Json<NotificationView>), NotificationError> {
    let now = common::time::now();
    let n = state
        .notifier
        .store
        .transact(async |tx: &mut Txn| {
            let mut n = for_change(tx, &caller, &id).await?;
            let m = &mut n.value;
            if m.status != "failed" {
                return Err(NotificationError::NotReplayable(
                    id.to_string(),
                    m.status.clone(),
                ));
            }
            // Its claims so far stay (a late settle of one of them must not
            // match a new claim) but no longer count as attempts.
            m.claims_before = m.claims;
            m.state = "pending".into();
            m.status = "queued".into();
            m.due = now.timestamp_micros();
            m.reason = Some("replayed".into());
            if let Some(campaign) = &m.campaign_id {
                campaigns::tally(tx, campaign, &id, Outcome::Failed, -1).await?;
            }
            tx.update(&n)?;
            Ok::<_, NotificationError>(n.value)
        })
        .await?;
    state.notifier.wake.notify_one();
    Ok((StatusCode::ACCEPTED, Json(NotificationView::new(&id, &n))))
}
