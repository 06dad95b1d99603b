//! `POST /analytics/report`, `GET /analytics/reports/{id}` and its files.

use axum::body::Body;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use common::{ApiError, Caller, Id, Json, Path};
use futures::StreamExt as _;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domain::jobs::{ReportJob, ReportStatus, blob_key, content_type};
use crate::domain::may_see;
use crate::domain::period::now;
use crate::error::AnalyticsError;
use crate::report::spec::{self, Format, ReportRequest};
use crate::report::{self as report, ReportData};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create))
        .routes(routes!(status))
        .routes(routes!(file))
}

/// A report of metrics by dimensions within filters. `json` and `csv`
/// answer the rows at once; `pdf` queues a job (202) that renders a chart
/// of each metric (SVG and PNG) and a PDF — a title page with the filters,
/// the charts, and the table with its header on every page — whose
/// progress `GET /analytics/reports/{id}` shows. Artisans report on their
/// own figures (the default), admins on anyone's.
#[utoipa::path(post, path = "/analytics/report", tag = "reports", security(("bearer" = [])),
    request_body = ReportRequest,
    responses((status = 200, body = ReportData, description = "json"),
        (status = 200, content_type = "text/csv", body = String, description = "csv"),
        (status = 202, body = ReportStatus, description = "pdf: queued",
            headers(("Location" = String))),
        (status = 403, description = "a buyer, or an artisan asking for another's figures"),
        (status = 422, description = "an unknown or repeated metric or dimension (named), or a bad filter")))]
async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Json(body): Json<ReportRequest>,
) -> Result<Response, AnalyticsError> {
    let spec = spec::check(body, &caller)?;
    let analytics = &state.analytics;
    if spec.format == Format::Pdf {
        let id = Id::generate().into_string();
        let owner = spec
            .filters
            .artisan_id
            .clone()
            .filter(|a| *a == caller.uid)
            .unwrap_or_else(|| caller.uid.clone());
        let job = ReportJob::queued(owner, spec, None);
        analytics
            .store
            .transact(async |tx: &mut store::Txn| {
                tx.create(&id, &job)?;
                Ok::<_, AnalyticsError>(())
            })
            .await?;
        analytics.jobs.notify_one();
        let location = format!("/analytics/reports/{id}");
        return Ok((
            StatusCode::ACCEPTED,
            [(header::LOCATION, location)],
            Json(ReportStatus::new(&id, &job)),
        )
            .into_response());
    }
    let limit = analytics.settings.max_report_rows;
    let query = spec.query(spec.period.window(now()), limit + 1);
    let mut rows = analytics.facts(move |f| f.report(&query)).await?;
    let truncated = rows.len() > limit;
    rows.truncate(limit);
    Ok(match spec.format {
        Format::Csv => (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
                (
                    header::CONTENT_DISPOSITION,
                    "attachment; filename=\"report.csv\"",
                ),
            ],
            report::csv::write(&spec, &rows),
        )
            .into_response(),
        _ => Json(report::data(&spec, &rows, truncated)).into_response(),
    })
}

/// The report `id` if `caller` may see it (its owner or an admin).
async fn job_for(state: &AppState, caller: &Caller, id: &str) -> Result<ReportJob, AnalyticsError> {
    let job = state
        .analytics
        .store
        .collection::<ReportJob>()
        .get(id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("report {id}")))?;
    may_see(caller, &job.value.owner)?;
    Ok(job.value)
}

/// A report's status, progress and files. Its owner or an admin.
#[utoipa::path(get, path = "/analytics/reports/{id}", tag = "reports", security(("bearer" = [])),
    params(("id" = Id, Path)),
    responses((status = 200, body = ReportStatus), (status = 403), (status = 404)))]
async fn status(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Id>,
) -> Result<Json<ReportStatus>, AnalyticsError> {
    let job = job_for(&state, &caller, &id).await?;
    Ok(Json(ReportStatus::new(&id, &job)))
}

/// One file of a rendered report: `report.pdf`, `<metric>.svg` or
/// `<metric>.png`. Its owner or an admin.
#[utoipa::path(get, path = "/analytics/reports/{id}/files/{name}", tag = "reports",
    security(("bearer" = [])),
    params(("id" = Id, Path), ("name" = String, Path)),
    responses((status = 200, content_type = "application/pdf", body = Vec<u8>),
        (status = 403), (status = 404, description = "no such report, or no such file of it"),
        (status = 409, description = "the report is not rendered yet, or failed")))]
async fn file(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, name)): Path<(Id, String)>,
) -> Result<Response, AnalyticsError> {
    let job = job_for(&state, &caller, &id).await?;
    match job.status() {
        "done" => {}
        "failed" => {
            return Err(AnalyticsError::Failed(
                id.into_string(),
                job.error.unwrap_or_default(),
            ));
        }
        _ => return Err(AnalyticsError::NotReady(id.into_string())),
    }
    if !job.files.contains(&name) {
        return Err(ApiError::not_found(format!("file {name:?} of report {id}")).into());
    }
    let blob = state
        .analytics
        .blobs
        .get(&blob_key(&id, &name), None)
        .await?;
    let stream = blob
        .stream
        .map(|chunk| chunk.map_err(std::io::Error::other));
    Ok((
        [
            (header::CONTENT_TYPE, content_type(&name).to_owned()),
            (header::CONTENT_LENGTH, blob.size.to_string()),
            (header::CACHE_CONTROL, "private, max-age=3600".to_owned()),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
        ],
        Body::from_stream(stream),
    )
        .into_response())
}
