//! `POST /pricing/calculate` and `GET /pricing/suggestions/{product_id}`.

use axum::extract::State;
use common::{Caller, Currency, Id, Json, Money, Path, Role, Validator, schema};
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa::openapi::schema::Object;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domain::Suggestion;
use crate::domain::quote::{Costs, Quote, Urgency};
use crate::error::PricingError;
use crate::state::AppState;

/// The most materials one calculation lists.
pub const MAX_MATERIALS: usize = 50;
/// The most one amount may be: ₹1 crore, in paise.
pub const MAX_AMOUNT: i64 = 1_000_000_000;
/// The most hours of work one piece may take (about five years of days).
pub const MAX_HOURS: f64 = 10_000.0;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(calculate))
        .routes(routes!(suggestion))
}

fn amount_schema() -> Object {
    schema::inr(
        0,
        MAX_AMOUNT,
        "In INR minor units (paise): 0 to 1,000,000,000 (₹1 crore).",
    )
}

/// One material and what it cost.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MaterialCost {
    /// 1–80 characters, not blank.
    #[schema(min_length = 1, max_length = 80, pattern = "\\S")]
    pub name: String,
    #[schema(schema_with = amount_schema)]
    pub amount: Money,
}

/// `POST /pricing/calculate`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CalculateRequest {
    pub product_id: Id,
    /// Costs besides materials: tools, overheads, packaging.
    #[schema(schema_with = amount_schema)]
    pub base_cost: Money,
    /// Hours of work on one piece: 0 to 10,000.
    #[schema(minimum = 0, maximum = 10000)]
    pub labor_hours: f64,
    /// At most 50.
    #[serde(deserialize_with = "common::bounded::vec::<_, _, MAX_MATERIALS>")]
    #[schema(max_items = 50)]
    pub material_costs: Vec<MaterialCost>,
    /// 1 (learning) to 5 (master).
    #[schema(minimum = 1, maximum = 5)]
    pub artisan_skill_level: u8,
    pub urgency: Urgency,
}

impl CalculateRequest {
    fn costs(&self) -> Result<Costs, PricingError> {
        let mut v = Validator::new();
        let amount = |v: &mut Validator, field: &str, m: &Money| {
            v.check_with(
                m.currency == Currency::INR && (0..=MAX_AMOUNT).contains(&m.amount),
                field,
                "out_of_range",
                || format!("INR paise, 0 to {MAX_AMOUNT}"),
            );
        };
        amount(&mut v, "base_cost", &self.base_cost);
        for (i, m) in self.material_costs.iter().enumerate() {
            v.length(&format!("material_costs[{i}].name"), &m.name, 1, 80);
            amount(&mut v, &format!("material_costs[{i}].amount"), &m.amount);
        }
        v.check(
            self.labor_hours.is_finite() && (0.0..=MAX_HOURS).contains(&self.labor_hours),
            "labor_hours",
            "out_of_range",
            "0 to 10,000 hours",
        )
        .check(
            (1..=5).contains(&self.artisan_skill_level),
            "artisan_skill_level",
            "out_of_range",
            "1 to 5",
        )
        .finish()?;
        Ok(Costs {
            base: self.base_cost.amount,
            materials: self
                .material_costs
                .iter()
                .map(|m| m.amount.amount)
                .collect(),
            labour_minutes: (self.labor_hours * 60.0).round() as i64,
            skill: self.artisan_skill_level,
            urgency: self.urgency,
        })
    }
}

/// Price a product from its costs: never below its costs and the fair wage
/// for its hours, moved by comparable sales and the ML prediction, each
/// step shown. Stores the suggestion and publishes `pricing.suggested`.
/// The product's artisan or an admin.
#[utoipa::path(post, path = "/pricing/calculate", tag = "pricing", security(("bearer" = [])),
    request_body = CalculateRequest,
    responses((status = 200, body = Quote), (status = 404, description = "unknown_product")))]
async fn calculate(
    State(state): State<AppState>,
    caller: Caller,
    Json(body): Json<CalculateRequest>,
) -> Result<Json<Quote>, PricingError> {
    caller.require(&[Role::Artisan, Role::Admin])?;
    let costs = body.costs()?;
    let quote = state
        .pricing
        .calculate(&caller, body.product_id.as_str(), &costs)
        .await?;
    Ok(Json(quote))
}

/// The last price suggested for a product (at listing, or by a
/// calculation). The product's artisan or an admin.
#[utoipa::path(get, path = "/pricing/suggestions/{product_id}", tag = "pricing",
    security(("bearer" = [])), params(("product_id" = Id, Path)),
    responses((status = 200, body = Suggestion),
        (status = 404, description = "unknown_product or no_suggestion")))]
async fn suggestion(
    State(state): State<AppState>,
    caller: Caller,
    Path(product_id): Path<Id>,
) -> Result<Json<Suggestion>, PricingError> {
    caller.require(&[Role::Artisan, Role::Admin])?;
    Ok(Json(
        state
            .pricing
            .suggestion(&caller, product_id.as_str())
            .await?,
    ))
}
