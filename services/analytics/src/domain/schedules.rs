//! Weekly reports: an artisan subscribes to a PDF report; every week the
//! scheduler queues it as a report job (in the same transaction as moving
//! the subscription on a week, so a week is never queued twice or lost).
//! Each run's PDF is kept and listed with the subscription; the job that
//! finishes it announces `report.ready`, and the notification service
//! emails the subscription's address a link to it.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use common::Id;
use serde::{Deserialize, Serialize};
use store::{Direction, Entity, IndexSpec, Query, Txn};
use tokio_util::sync::CancellationToken;
use utoipa::ToSchema;

use super::Analytics;
use super::jobs::ReportJob;
use crate::error::AnalyticsError;
use crate::report::spec::ReportSpec;

const WEEK_MICROS: i64 = 7 * 86_400 * 1_000_000;

/// A weekly report subscription.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Schedule {
    pub owner: String,
    pub email: String,
    pub spec: ReportSpec,
    /// When it runs next (µs).
    pub next_run: i64,
    pub created_at: DateTime<Utc>,
    /// The reports it has queued, newest first (at most ten kept).
    pub reports: Vec<String>,
}

impl Entity for Schedule {
    const COLLECTION: &'static str = "report_schedules";
}

pub fn indexes() -> Vec<IndexSpec> {
    vec![
        IndexSpec::new(Schedule::COLLECTION, &[("next_run", Direction::Asc)]),
        IndexSpec::new(Schedule::COLLECTION, &[("owner", Direction::Asc)]),
    ]
}

/// A subscription as its owner sees it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ScheduleView {
    pub id: String,
    pub title: String,
    pub email: String,
    pub next_run: DateTime<Utc>,
    /// `email`: each week's PDF is rendered, kept under `reports` and
    /// announced (`report.ready`); the notification service emails it.
    pub delivery: String,
    /// Report ids, newest first.
    pub reports: Vec<String>,
    pub created_at: DateTime<Utc>,
}

impl ScheduleView {
    pub fn new(id: &str, s: &Schedule) -> Self {
        Self {
            id: id.to_owned(),
            title: s.spec.title.clone(),
            email: s.email.clone(),
            next_run: DateTime::from_timestamp_micros(s.next_run).unwrap_or_default(),
            delivery: "email".into(),
            reports: s.reports.clone(),
            created_at: s.created_at,
        }
    }
}

/// The most subscriptions one user may keep.
pub const MAX_PER_OWNER: usize = 10;

impl Analytics {
    /// Subscribe `owner` to `spec` weekly, the first run now.
    pub async fn subscribe(
        &self,
        owner: &str,
        email: String,
        spec: ReportSpec,
    ) -> Result<(String, Schedule), AnalyticsError> {
        let existing = self
            .store
            .collection::<Schedule>()
            .query_up_to(&Query::new().eq("owner", owner), MAX_PER_OWNER + 1)
            .await?;
        if existing.len() >= MAX_PER_OWNER {
            return Err(common::ApiError::conflict(
                common::error::codes::CONFLICT,
                format!("at most {MAX_PER_OWNER} weekly reports each: delete one first"),
            )
            .into());
        }
        let id = Id::generate().into_string();
        let schedule = Schedule {
            owner: owner.to_owned(),
            email,
            spec,
            next_run: common::time::now().timestamp_micros(),
            created_at: common::time::now(),
            reports: Vec::new(),
        };
        self.store
            .transact(async |tx: &mut Txn| {
                tx.create(&id, &schedule)?;
                Ok::<_, AnalyticsError>(())
            })
            .await?;
        Ok((id, schedule))
    }
}

/// Queues the weekly reports that are due.
pub struct Scheduler {
    pub analytics: Arc<Analytics>,
    pub interval: Duration,
}

impl Scheduler {
    pub async fn run(self, cancel: CancellationToken) {
        loop {
            if let Err(e) = self.round().await {
                tracing::warn!(error = %e, "report schedules: a round failed");
            }
            tokio::select! {
                () = cancel.cancelled() => return,
                () = tokio::time::sleep(self.interval) => {}
            }
        }
    }

    /// Queue every due subscription's report; how many.
    pub async fn round(&self) -> Result<usize, AnalyticsError> {
        let now = common::time::now().timestamp_micros();
        let query = Query::new()
            .filter("next_run", store::Op::Le, now)
            .order_by("next_run", Direction::Asc)
            .limit(20);
        let (due, _) = self
            .analytics
            .store
            .collection::<Schedule>()
            .query(&query)
            .await?;
        let mut queued = 0;
        for s in due {
            let report_id = Id::generate().into_string();
            let done = self
                .analytics
                .store
                .transact(async |tx: &mut Txn| {
                    let Some(mut s) = tx.get::<Schedule>(&s.id).await? else {
                        return Ok::<_, AnalyticsError>(false);
                    };
                    if s.value.next_run > now {
                        return Ok(false);
                    }
                    let job = ReportJob::queued(
                        s.value.owner.clone(),
                        s.value.spec.clone(),
                        Some(s.id.clone()),
                    );
                    tx.create(&report_id, &job)?;
                    // The next week still ahead (a service down for weeks
                    // runs once on return, not once per missed week).
                    while s.value.next_run <= now {
                        s.value.next_run += WEEK_MICROS;
                    }
                    s.value.reports.insert(0, report_id.clone());
                    s.value.reports.truncate(10);
                    tx.update(&s)?;
                    Ok(true)
                })
                .await?;
            if done {
                queued += 1;
                tracing::info!(schedule = %s.id, report = %report_id, "weekly report queued");
            }
        }
        if queued > 0 {
            self.analytics.jobs.notify_one();
        }
        Ok(queued)
    }
}
