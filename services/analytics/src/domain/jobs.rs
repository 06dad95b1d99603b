//! Report jobs: a PDF report is stored as a job before 202 is answered,
//! and a worker renders it (charts as SVG and PNG, the PDF), keeping its
//! progress on the job and its files in the blob store. A job is claimed
//! with a lease: if its renderer dies, it is claimed again once the lease
//! runs out, up to [`MAX_ATTEMPTS`] times.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use store::{Direction, Entity, IndexSpec, Query, Txn};
use tokio_util::sync::CancellationToken;
use utoipa::ToSchema;

use super::Analytics;
use super::schedules::Schedule;
use crate::error::AnalyticsError;
use crate::facts::Window;
use crate::report::render::{self, Context};
use crate::report::spec::ReportSpec;
use events::v1::ReportReady;

/// How long a claimed job is its renderer's.
const LEASE: Duration = Duration::from_secs(600);
/// Renderings tried before a job is failed.
pub const MAX_ATTEMPTS: u32 = 3;

/// A report being (or done being) rendered; its id is the report's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportJob {
    /// Whose report it is: the artisan it covers, or the admin who asked.
    pub owner: String,
    pub spec: ReportSpec,
    /// The period as it was when the report was asked for (a retry covers
    /// the same days).
    pub window: Window,
    /// `pending`, `done` or `failed`.
    pub state: String,
    /// A pending job may be claimed from then (µs): when queued, or when
    /// the lease of its last claim runs out.
    pub due: i64,
    pub attempts: u32,
    /// 0–1.
    pub progress: f64,
    pub pages: Option<usize>,
    /// The files rendered: `report.pdf`, then `<metric>.svg` and `.png`.
    pub files: Vec<String>,
    pub error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    /// The weekly subscription that queued it, if one did.
    pub schedule_id: Option<String>,
}

impl Entity for ReportJob {
    const COLLECTION: &'static str = "report_jobs";
}

/// The indexes the worker's query needs.
pub fn indexes() -> Vec<IndexSpec> {
    vec![IndexSpec::new(
        ReportJob::COLLECTION,
        &[("state", Direction::Asc), ("due", Direction::Asc)],
    )]
}

fn micros(t: DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

impl ReportJob {
    /// A job queued now, of the period ending now.
    pub fn queued(owner: String, spec: ReportSpec, schedule_id: Option<String>) -> Self {
        let now = common::time::now();
        Self {
            owner,
            window: spec.period.window(now.timestamp()),
            spec,
            state: "pending".into(),
            due: micros(now),
            attempts: 0,
            progress: 0.0,
            pages: None,
            files: Vec::new(),
            error: None,
            created_at: now,
            started_at: None,
            finished_at: None,
            schedule_id,
        }
    }

    /// `queued`, `running`, `done` or `failed`.
    pub fn status(&self) -> &str {
        match (self.state.as_str(), self.started_at) {
            ("pending", None) => "queued",
            ("pending", Some(_)) => "running",
            (s, _) => s,
        }
    }
}

/// A file of a report.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ReportFile {
    pub name: String,
    /// Where to get it (the caller's token is needed).
    pub url: String,
    pub content_type: String,
}

/// `GET /analytics/reports/{id}`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ReportStatus {
    pub id: String,
    pub title: String,
    /// `queued`, `running`, `done` or `failed`.
    pub status: String,
    /// 0–1.
    pub progress: f64,
    pub pages: Option<usize>,
    pub files: Vec<ReportFile>,
    pub error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// The content type of a report file by its name.
pub fn content_type(name: &str) -> &'static str {
    match name.rsplit('.').next() {
        Some("pdf") => "application/pdf",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        _ => "application/octet-stream",
    }
}

impl ReportStatus {
    pub fn new(id: &str, job: &ReportJob) -> Self {
        Self {
            id: id.to_owned(),
            title: job.spec.title.clone(),
            status: job.status().to_owned(),
            progress: job.progress,
            pages: job.pages,
            files: job
                .files
                .iter()
                .map(|name| ReportFile {
                    url: format!("/analytics/reports/{id}/files/{name}"),
                    content_type: content_type(name).to_owned(),
                    name: name.clone(),
                })
                .collect(),
            error: job.error.clone(),
            created_at: job.created_at,
            finished_at: job.finished_at,
        }
    }
}

/// Where a report's file is kept.
pub fn blob_key(id: &str, name: &str) -> String {
    format!("reports/{id}/{name}")
}

/// One claim of a job: its id and the attempt it is.
struct Claim<'a> {
    id: &'a str,
    attempt: u32,
}

/// The worker rendering queued reports.
pub struct Worker {
    pub analytics: Arc<Analytics>,
    pub interval: Duration,
}

impl Worker {
    pub async fn run(self, cancel: CancellationToken) {
        loop {
            match self.round(&cancel).await {
                Ok(true) => continue,
                Ok(false) => {}
                Err(e) => tracing::warn!(error = %e, "report jobs: a round failed"),
            }
            tokio::select! {
                () = cancel.cancelled() => return,
                () = self.analytics.jobs.notified() => {}
                () = tokio::time::sleep(self.interval) => {}
            }
        }
    }

    /// Claim and render one due job; whether there was one.
    async fn round(&self, cancel: &CancellationToken) -> Result<bool, AnalyticsError> {
        let now = micros(common::time::now());
        let query = Query::new()
            .eq("state", "pending")
            .filter("due", store::Op::Le, now)
            .order_by("due", Direction::Asc)
            .limit(1);
        let jobs = self.analytics.store.collection::<ReportJob>();
        let (due, _) = jobs.query(&query).await?;
        let Some(job) = due.into_iter().next() else {
            return Ok(false);
        };
        let id = job.id.clone();
        let claimed = self
            .analytics
            .store
            .transact(async |tx: &mut Txn| {
                let Some(mut job) = tx.get::<ReportJob>(&id).await? else {
                    return Ok::<_, AnalyticsError>(None);
                };
                if job.value.state != "pending" || job.value.due > now {
                    return Ok(None);
                }
                if job.value.attempts >= MAX_ATTEMPTS {
                    job.value.state = "failed".into();
                    job.value
                        .error
                        .get_or_insert_with(|| "rendering did not finish".into());
                    job.value.finished_at = Some(common::time::now());
                    tx.update(&job)?;
                    return Ok(None);
                }
                job.value.attempts += 1;
                job.value.due = now + LEASE.as_micros() as i64;
                job.value.started_at = Some(common::time::now());
                tx.update(&job)?;
                Ok(Some(job.value))
            })
            .await?;
        let Some(job) = claimed else {
            return Ok(true);
        };
        let claim = Claim {
            id: &id,
            attempt: job.attempts,
        };
        tokio::select! {
            () = cancel.cancelled() => {
                // Shutting down: the job goes back as it was, at once.
                self.settle(&claim, |j| {
                    j.attempts -= 1;
                    j.due = micros(common::time::now());
                    j.started_at = None;
                })
                .await?;
            }
            result = self.render(&claim, &job) => {
                if let Err(e) = result {
                    tracing::warn!(report = %id, error = %e, "a report failed");
                    self.settle(&claim, |j| {
                        if j.attempts >= MAX_ATTEMPTS {
                            j.state = "failed".into();
                            j.finished_at = Some(common::time::now());
                        } else {
                            j.due = micros(common::time::now()) + 5_000_000;
                            j.started_at = None;
                        }
                        j.error = Some(e.to_string());
                    })
                    .await?;
                }
            }
        }
        Ok(true)
    }

    /// Change the job with `f`, in a transaction, if it is still this
    /// claim's: pending, and not claimed again since (a renderer that
    /// outlived its lease changes nothing).
    async fn settle(
        &self,
        claim: &Claim<'_>,
        f: impl Fn(&mut ReportJob) + Send + Sync,
    ) -> Result<(), AnalyticsError> {
        self.analytics
            .store
            .transact(async |tx: &mut Txn| {
                if let Some(mut job) = tx.get::<ReportJob>(claim.id).await?
                    && job.value.state == "pending"
                    && job.value.attempts == claim.attempt
                {
                    f(&mut job.value);
                    tx.update(&job)?;
                }
                Ok::<_, AnalyticsError>(())
            })
            .await
    }

    async fn render(&self, claim: &Claim<'_>, job: &ReportJob) -> Result<(), AnalyticsError> {
        let id = claim.id;
        let analytics = &self.analytics;
        let window = job.window;
        let limit = analytics.settings.max_report_rows;
        let query = job.spec.query(window, limit + 1);
        let mut rows = analytics.facts(move |f| f.report(&query)).await?;
        let truncated = rows.len() > limit;
        rows.truncate(limit);
        self.settle(claim, |j| j.progress = 0.1).await?;
        let day = |s: i64| {
            chrono::DateTime::from_timestamp(s, 0)
                .map(|t| t.date_naive().to_string())
                .unwrap_or_default()
        };
        let context = Context {
            // The last day included is the one before the window's end.
            period: format!(
                "{}: {} to {}",
                job.spec.period.as_str(),
                day(window.from),
                day(window.to - 1)
            ),
            generated_at: common::time::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            truncated,
        };
        let period = context.period.clone();
        let spec = job.spec.clone();
        let (tx, mut rx) = tokio::sync::watch::channel(0.1_f64);
        let rendering = tokio::task::spawn_blocking(move || {
            render::report(&spec, &rows, &context, &mut |p| {
                let _ = tx.send(0.1 + 0.8 * p);
            })
        });
        tokio::pin!(rendering);
        let rendered = loop {
            tokio::select! {
                done = &mut rendering => break done?,
                changed = rx.changed() => {
                    if changed.is_ok() {
                        let p = *rx.borrow_and_update();
                        // Progress renews the lease.
                        let due = micros(common::time::now()) + LEASE.as_micros() as i64;
                        self.settle(claim, |j| {
                            j.progress = (p * 100.0).round() / 100.0;
                            j.due = due;
                        })
                        .await?;
                    }
                }
            }
        }
        .map_err(|e| AnalyticsError::Internal(e.to_string()))?;
        let mut files = vec!["report.pdf".to_owned()];
        analytics
            .blobs
            .put(&blob_key(id, "report.pdf"), rendered.pdf)
            .await?;
        for chart in rendered.charts {
            let svg = format!("{}.svg", chart.name);
            let png = format!("{}.png", chart.name);
            analytics
                .blobs
                .put(&blob_key(id, &svg), chart.svg.into_bytes())
                .await?;
            analytics.blobs.put(&blob_key(id, &png), chart.png).await?;
            files.extend([svg, png]);
        }
        let pages = rendered.pages;
        let publisher = analytics.publisher;
        analytics
            .store
            .transact(async |tx: &mut Txn| {
                let Some(mut job) = tx.get::<ReportJob>(claim.id).await? else {
                    return Ok(());
                };
                if job.value.state != "pending" || job.value.attempts != claim.attempt {
                    return Ok(());
                }
                let j = &mut job.value;
                j.state = "done".into();
                j.progress = 1.0;
                j.pages = Some(pages);
                j.files = files.clone();
                j.error = None;
                j.finished_at = Some(common::time::now());
                // A subscribed report is announced with it, for its email.
                if let Some(schedule_id) = &j.schedule_id
                    && let Some(schedule) = tx.get::<Schedule>(schedule_id).await?
                {
                    let ready = ReportReady {
                        report_id: id.to_owned(),
                        owner_id: j.owner.clone(),
                        email: schedule.value.email.clone(),
                        title: j.spec.title.clone(),
                        period: period.clone(),
                        schedule_id: schedule_id.clone(),
                        pages: u32::try_from(pages).unwrap_or(u32::MAX),
                    };
                    publisher.emit(tx, id, &ready)?;
                }
                tx.update(&job)?;
                Ok::<_, AnalyticsError>(())
            })
            .await?;
        tracing::info!(report = %id, pages, "report rendered");
        Ok(())
    }
}
