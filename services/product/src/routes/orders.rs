//! Orders (routed at `/orders`): placing one (idempotent), reading one,
//! listing mine, and moving one through its status machine.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use common::client::IDEMPOTENCY_KEY;
use common::identity::Role;
use common::{Caller, Id, Json, Page, PageParams, Path, Query, schema};
use serde::{Deserialize, Serialize};
use store::{Cursor, Direction};
use utoipa::openapi::schema::ObjectBuilder;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domain::orders::{self, NewOrder, Order, OrderStatus, Placed};
use crate::error::ProductError;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(place, list))
        .routes(routes!(get_one))
        .routes(routes!(change_status))
}

/// An order as clients see it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct OrderView {
    pub id: String,
    #[serde(flatten)]
    pub order: Order,
}

/// The longest `Idempotency-Key` accepted.
const MAX_KEY_LEN: usize = 200;

/// Place an order (buyer). `Idempotency-Key` is required: the same key and
/// body answer the first order again; the same key with another body is 422.
#[utoipa::path(post, path = "/orders", tag = "orders", security(("bearer" = [])), request_body = NewOrder,
    params(("Idempotency-Key" = String, Header, min_length = 1, max_length = 200, pattern = "^[!-~]([ -~]*[!-~])?$",
        description = "Names this order: the same key and body answer the first order again (400 without it).")),
    responses((status = 201, body = OrderView), (status = 200, body = OrderView, description = "a repeat of the first request"),
              (status = 400, description = "Idempotency-Key is missing or blank"),
              (status = 403, description = "not a buyer, or the buyer's own product"),
              (status = 409, description = "product not orderable"),
              (status = 422, description = "invalid fields, no such product, or the key was used for another order")))]
async fn place(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Json(body): Json<NewOrder>,
) -> Result<Response, ProductError> {
    caller.require(&[Role::Buyer])?;
    let key = headers
        .get(&IDEMPOTENCY_KEY)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|k| !k.is_empty() && k.len() <= MAX_KEY_LEN)
        .ok_or(ProductError::IdempotencyKeyRequired)?;
    let (id, status) = match orders::place(&state, &caller, key, &body).await? {
        Placed::New(id) => (id, StatusCode::CREATED),
        Placed::Repeat(id) => (id, StatusCode::OK),
    };
    let order = state
        .orders
        .get(&id)
        .await?
        .ok_or_else(|| ProductError::NotFound("order".to_owned()))?;
    let view = OrderView {
        id,
        order: order.value.seen_by(&caller),
    };
    Ok((status, Json(view)).into_response())
}

/// Which side of my orders to list.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    Buyer,
    Artisan,
}

/// `GET /orders`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListOrders {
    /// Orders I placed (`buyer`, default) or received (`artisan`).
    #[param(inline)]
    pub role: Option<Side>,
    pub status: Option<OrderStatus>,
    /// 1–100, default 20.
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page (opaque).
    #[param(pattern = "^[A-Za-z0-9_-]+$", max_length = 2048)]
    pub cursor: Option<String>,
}

/// My orders, newest first.
#[utoipa::path(get, path = "/orders", tag = "orders", security(("bearer" = [])), params(ListOrders),
    responses((status = 200, body = Page<OrderView>),
        (status = 422, description = "invalid parameters, or a cursor that is not one of this list's")))]
async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Query(params): Query<ListOrders>,
) -> Result<Json<Page<OrderView>>, ProductError> {
    let limit = PageParams {
        limit: params.limit,
        cursor: None,
    }
    .limit()?;
    let field = match params.role.unwrap_or(Side::Buyer) {
        Side::Buyer => "buyer_id",
        Side::Artisan => "artisan_id",
    };
    let mut q = store::Query::new().eq(field, caller.uid.as_str());
    if let Some(status) = params.status {
        q = q.eq("status", status.as_str());
    }
    let cursor = params.cursor.as_deref().map(Cursor::parse).transpose()?;
    let q = q
        .order_by("created_at", Direction::Desc)
        .limit(limit)
        .after(cursor);
    let (items, next) = state.orders.query(&q).await?;
    let views = items
        .into_iter()
        .map(|o| OrderView {
            id: o.id,
            order: o.value.seen_by(&caller),
        })
        .collect();
    Ok(Json(Page::new(views, next.map(|c| c.to_string()))))
}

/// One order: its buyer, its artisan or an admin.
#[utoipa::path(get, path = "/orders/{id}", tag = "orders", security(("bearer" = [])),
    params(("id" = Id, Path)), responses((status = 200, body = OrderView), (status = 404)))]
async fn get_one(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Id>,
) -> Result<Json<OrderView>, ProductError> {
    match state.orders.get(&id).await? {
        Some(o) if o.value.visible_to(&caller) => Ok(Json(OrderView {
            id: id.into_string(),
            order: o.value.seen_by(&caller),
        })),
        _ => Err(ProductError::NotFound(format!("order {id}"))),
    }
}

/// `POST /orders/{id}/status`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusBody {
    #[schema(schema_with = target_status_schema)]
    pub status: OrderStatus,
    /// Why (an admin moving an order to `paid` says how the money was
    /// received; required then).
    #[schema(max_length = 500, pattern = "\\S")]
    pub reason: Option<String>,
}

/// Where an order can be moved: every status but `placed`, where orders
/// only start.
fn target_status_schema() -> ObjectBuilder {
    schema::string_enum(
        [
            OrderStatus::Paid,
            OrderStatus::Shipped,
            OrderStatus::Delivered,
            OrderStatus::Completed,
            OrderStatus::Cancelled,
        ]
        .map(OrderStatus::as_str),
    )
    .description(Some(
        "The status to move to (orders only start `placed`). Whether the move is allowed \
         depends on the current status (409) and on who asks (403).",
    ))
}

/// Move an order: placed → paid → shipped → delivered → completed, or
/// cancelled before shipping. An order becomes paid when its payment
/// provider confirms the money (see checkout); only an admin moves one to
/// `paid` by hand, with a `reason`. Cancelling a paid order refunds it.
/// 403 when the caller may not make the move, 409 when the move is not
/// allowed from the current status.
#[utoipa::path(post, path = "/orders/{id}/status", tag = "orders", security(("bearer" = [])),
    params(("id" = Id, Path)), request_body = StatusBody,
    responses((status = 200, body = OrderView), (status = 403, description = "the caller may not make this move"),
        (status = 404), (status = 409, description = "the move is not allowed from the current status")))]
async fn change_status(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Id>,
    Json(body): Json<StatusBody>,
) -> Result<Json<OrderView>, ProductError> {
    let order =
        orders::change_status(&state, &caller, &id, body.status, body.reason.as_deref()).await?;
    Ok(Json(OrderView {
        id: id.into_string(),
        order: order.seen_by(&caller),
    }))
}
