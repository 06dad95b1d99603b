//! Weekly report subscriptions.

use axum::extract::State;
use axum::http::StatusCode;
use common::{ApiError, Caller, Id, Json, Path};
use serde::Deserialize;
use store::Query;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domain::may_see;
use crate::domain::schedules::{MAX_PER_OWNER, Schedule, ScheduleView};
use crate::error::AnalyticsError;
use crate::report::spec::{self, Format, ReportRequest};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(subscribe, list))
        .routes(routes!(unsubscribe))
}

/// `POST /analytics/report-schedules`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSchedule {
    /// The report, as `POST /analytics/report` takes it (`format` is
    /// always `pdf`).
    pub report: ReportRequest,
    /// Where to send it; default: the caller's email. At most 254
    /// characters.
    #[schema(max_length = 254)]
    pub email: Option<String>,
}

/// Subscribe to a weekly PDF report; the first runs now. Each week's PDF
/// is rendered, kept (listed under `reports`) and announced as
/// `report.ready`, which the notification service emails to `email` with
/// a link to it. Artisans (their own figures) and admins; at most ten each.
#[utoipa::path(post, path = "/analytics/report-schedules", tag = "reports",
    security(("bearer" = [])), request_body = NewSchedule,
    responses((status = 201, body = ScheduleView), (status = 403), (status = 409),
        (status = 422, description = "as `POST /analytics/report`, or no email")))]
async fn subscribe(
    State(state): State<AppState>,
    caller: Caller,
    Json(body): Json<NewSchedule>,
) -> Result<(StatusCode, Json<ScheduleView>), AnalyticsError> {
    let mut request = body.report;
    request.format = Format::Pdf;
    let spec = spec::check(request, &caller)?;
    let email = body
        .email
        .or_else(|| caller.email.clone())
        .ok_or_else(|| ApiError::invalid_field("email", "required", "no email to send it to"))?;
    if email.len() > 254 || !email.contains('@') || email.chars().any(char::is_whitespace) {
        return Err(ApiError::invalid_field("email", "invalid", "not an email address").into());
    }
    let (id, schedule) = state.analytics.subscribe(&caller.uid, email, spec).await?;
    state.analytics.jobs.notify_one();
    Ok((StatusCode::CREATED, Json(ScheduleView::new(&id, &schedule))))
}

/// The caller's weekly reports.
#[utoipa::path(get, path = "/analytics/report-schedules", tag = "reports",
    security(("bearer" = [])), responses((status = 200, body = Vec<ScheduleView>)))]
async fn list(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<ScheduleView>>, AnalyticsError> {
    let mine = state
        .analytics
        .store
        .collection::<Schedule>()
        .query_up_to(
            &Query::new().eq("owner", caller.uid.as_str()),
            MAX_PER_OWNER,
        )
        .await?;
    Ok(Json(
        mine.iter()
            .map(|s| ScheduleView::new(&s.id, &s.value))
            .collect(),
    ))
}

/// Stop a weekly report (its reports are kept). Its owner or an admin.
#[utoipa::path(delete, path = "/analytics/report-schedules/{id}", tag = "reports",
    security(("bearer" = [])), params(("id" = Id, Path)),
    responses((status = 204), (status = 403), (status = 404)))]
async fn unsubscribe(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Id>,
) -> Result<StatusCode, AnalyticsError> {
    state
        .analytics
        .store
        .transact(async |tx: &mut store::Txn| {
            let s = tx
                .get::<Schedule>(&id)
                .await?
                .ok_or_else(|| ApiError::not_found(format!("weekly report {id}")))?;
            may_see(&caller, &s.value.owner)?;
            tx.delete::<Schedule>(&id)?;
            Ok::<_, AnalyticsError>(())
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
