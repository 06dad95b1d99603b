//! Orders (routed at `/orders`): placing one (idempotent), reading one,
//! listing mine, and moving one through its status machine.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use common::identity::Role;
use common::pagination::invalid_cursor;
use common::{ApiError, Caller, Json, Page, Path, Query};
use events::v1::{OrderCompleted, OrderPlaced};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use store::{Cursor, Direction, Txn};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domain::orders::{IdempotencyRecord, Order, OrderStatus, ShippingAddress, StatusChange};
use crate::domain::products::{Product, ProductStatus};
use crate::error::{self, Failure};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(place, list))
        .routes(routes!(get_one))
        .routes(routes!(change_status))
}

/// `POST /orders`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewOrder {
    pub product_id: String,
    /// 1–100.
    pub quantity: u32,
    pub shipping_address: ShippingAddress,
}

/// An order as clients see it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct OrderView {
    pub id: String,
    #[serde(flatten)]
    pub order: Order,
}

fn money(m: &common::Money) -> events::v1::Money {
    events::v1::Money {
        amount: m.amount,
        currency: m.currency.to_string(),
    }
}

enum Placed {
    New(String),
    Repeat(String),
}

/// Place an order (buyer). `Idempotency-Key` is required: the same key and
/// body answer the first order again; the same key with another body is 422.
#[utoipa::path(post, path = "/orders", tag = "orders", security(("bearer" = [])), request_body = NewOrder,
    params(("Idempotency-Key" = String, Header)),
    responses((status = 201, body = OrderView), (status = 200, body = OrderView, description = "a repeat of the first request"),
              (status = 403), (status = 409, description = "product not orderable"), (status = 422)))]
async fn place(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Json(body): Json<NewOrder>,
) -> Result<Response, ApiError> {
    caller.require(&[Role::Buyer])?;
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|k| !k.is_empty() && k.len() <= 200)
        .ok_or_else(|| {
            ApiError::bad_request(
                "idempotency_key_required",
                "POST /orders needs an Idempotency-Key header (1–200 characters)",
            )
        })?;
    let mut v = common::Validator::new();
    v.check(
        (1..=100).contains(&body.quantity),
        "quantity",
        "out_of_range",
        "must be between 1 and 100",
    );
    v.length("product_id", &body.product_id, 1, 100);
    body.shipping_address.validate(&mut v);
    v.finish()?;
    let request_hash = hex::encode(Sha256::digest(
        serde_json::to_vec(&body).map_err(ApiError::internal)?,
    ));
    let record_id = hex::encode(Sha256::digest(format!("{}\n{key}", caller.uid)));
    let order_id = uuid::Uuid::now_v7().simple().to_string();
    let outcome = state
        .store
        .transact(async |tx: &mut Txn| {
            if let Some(record) = tx.get::<IdempotencyRecord>(&record_id).await? {
                if record.value.request_hash != request_hash {
                    return Err(ApiError::invalid_field(
                        "Idempotency-Key",
                        "reused",
                        "this key was used for a different order",
                    )
                    .into());
                }
                return Ok(Placed::Repeat(record.value.order_id.clone()));
            }
            let product = tx
                .get::<Product>(&body.product_id)
                .await?
                .filter(|p| p.value.status != ProductStatus::Deleted)
                .ok_or_else(|| {
                    ApiError::invalid_field("product_id", "not_found", "no such product")
                })?;
            if product.value.status != ProductStatus::Active {
                return Err(ApiError::conflict(
                    "not_orderable",
                    "this product is not available to order",
                )
                .into());
            }
            if product.value.artisan_id == caller.uid {
                return Err(ApiError::forbidden("you cannot order your own product").into());
            }
            let unit = product.value.price;
            let total = unit.checked_mul(i64::from(body.quantity)).ok_or_else(|| {
                ApiError::invalid_field("quantity", "out_of_range", "the total is too large")
            })?;
            let now = common::time::now();
            let order = Order {
                product_id: body.product_id.clone(),
                product_title: product.value.title.clone(),
                buyer_id: caller.uid.clone(),
                artisan_id: product.value.artisan_id.clone(),
                quantity: body.quantity,
                unit_price: unit,
                total,
                shipping_address: body.shipping_address.clone(),
                status: OrderStatus::Placed,
                history: vec![StatusChange {
                    status: OrderStatus::Placed,
                    at: now,
                    by: caller.uid.clone(),
                }],
                payout: None,
                created_at: now,
                updated_at: now,
            };
            tx.create(&order_id, &order)?;
            tx.create(
                &record_id,
                &IdempotencyRecord {
                    order_id: order_id.clone(),
                    request_hash: request_hash.clone(),
                },
            )?;
            state.publisher.emit(
                tx,
                &order_id,
                &OrderPlaced {
                    order_id: order_id.clone(),
                    product_id: order.product_id.clone(),
                    buyer_id: order.buyer_id.clone(),
                    artisan_id: order.artisan_id.clone(),
                    quantity: order.quantity,
                    total: Some(money(&order.total)),
                },
            )?;
            Ok::<_, Failure>(Placed::New(order_id.clone()))
        })
        .await?;
    let (id, status) = match outcome {
        Placed::New(id) => (id, StatusCode::CREATED),
        Placed::Repeat(id) => (id, StatusCode::OK),
    };
    let order = state
        .orders
        .get(&id)
        .await
        .map_err(error::store)?
        .ok_or_else(|| ApiError::not_found("order"))?;
    Ok((
        status,
        Json(OrderView {
            id,
            order: order.value,
        }),
    )
        .into_response())
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
    pub role: Option<Side>,
    pub status: Option<OrderStatus>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// My orders, newest first.
#[utoipa::path(get, path = "/orders", tag = "orders", security(("bearer" = [])), params(ListOrders),
    responses((status = 200, body = Page<OrderView>)))]
async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Query(params): Query<ListOrders>,
) -> Result<Json<Page<OrderView>>, ApiError> {
    let limit = common::PageParams {
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
        q = q.eq(
            "status",
            serde_json::to_value(status).map_err(ApiError::internal)?,
        );
    }
    let cursor = params
        .cursor
        .as_deref()
        .map(Cursor::parse)
        .transpose()
        .map_err(|_| invalid_cursor())?;
    let q = q
        .order_by("created_at", Direction::Desc)
        .limit(limit)
        .after(cursor);
    let (items, next) = state.orders.query(&q).await.map_err(error::store)?;
    Ok(Json(Page::new(
        items
            .into_iter()
            .map(|o| OrderView {
                id: o.id,
                order: o.value,
            })
            .collect(),
        next.map(|c| c.to_string()),
    )))
}

/// One order: its buyer, its artisan or an admin.
#[utoipa::path(get, path = "/orders/{id}", tag = "orders", security(("bearer" = [])),
    params(("id" = String, Path)), responses((status = 200, body = OrderView), (status = 404)))]
async fn get_one(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<OrderView>, ApiError> {
    let order = state.orders.get(&id).await.map_err(error::store)?;
    match order {
        Some(o) if o.value.visible_to(&caller) => Ok(Json(OrderView { id, order: o.value })),
        _ => Err(ApiError::not_found(format!("order {id}"))),
    }
}

/// `POST /orders/{id}/status`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusBody {
    pub status: OrderStatus,
}

/// Move an order: placed → paid → shipped → delivered → completed, or
/// cancelled before shipping. 403 when the caller may not make the move,
/// 409 when the move is not allowed from the current status.
#[utoipa::path(post, path = "/orders/{id}/status", tag = "orders", security(("bearer" = [])),
    params(("id" = String, Path)), request_body = StatusBody,
    responses((status = 200, body = OrderView), (status = 403), (status = 404), (status = 409)))]
async fn change_status(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(body): Json<StatusBody>,
) -> Result<Json<OrderView>, ApiError> {
    let order = state
        .store
        .transact(async |tx: &mut Txn| {
            let mut order = tx
                .get::<Order>(&id)
                .await?
                .filter(|o| o.value.visible_to(&caller))
                .ok_or_else(|| ApiError::not_found(format!("order {id}")))?;
            order.value.transition(body.status, &caller)?;
            tx.update(&order)?;
            if body.status == OrderStatus::Completed {
                let o = &order.value;
                state.publisher.emit(
                    tx,
                    &id,
                    &OrderCompleted {
                        order_id: id.clone(),
                        product_id: o.product_id.clone(),
                        buyer_id: o.buyer_id.clone(),
                        artisan_id: o.artisan_id.clone(),
                        total: Some(money(&o.total)),
                    },
                )?;
            }
            Ok::<_, Failure>(order.value)
        })
        .await?;
    Ok(Json(OrderView { id, order }))
}
