//! Listed products' photos analysed in the background: the consumer of the
//! product events records a job in the event's transaction (so an
//! acknowledged event is never lost), and the worker analyses the first
//! photo, stores the analysis and publishes `ml.analysis.completed` in one
//! transaction, retrying with backoff while the media service is away.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use events::v1::{AnalysisCompleted, ProductCreated, ProductDeleted, ProductUpdated};
use events::{ConsumeError, Publisher, Received};
use serde::{Deserialize, Serialize};
use store::{Direction, Entity, IndexSpec, Query, Store, Txn};
use tokio_util::sync::CancellationToken;

use super::Analyser;
use super::image::Analysis;
use super::listing::Listing;
use super::media::MediaApi;
use super::text::templates::LANGUAGES;
use crate::error::MlError;
use crate::providers::{ProviderError, Providers};

/// A product whose photo waits to be analysed; its id is the product's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Job {
    pub media_id: String,
    /// `pending` (the only status so far; the field leaves room for more).
    pub status: String,
    pub attempts: u32,
    /// Not before (µs).
    pub due: i64,
    pub last_error: Option<String>,
}

impl Entity for Job {
    const COLLECTION: &'static str = "analysis_jobs";
}

/// A product's analysis; its id is the product's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ProductAnalysis {
    pub media_id: String,
    pub analysis: Analysis,
    pub at: DateTime<Utc>,
}

impl Entity for ProductAnalysis {
    const COLLECTION: &'static str = "product_analyses";
}

/// The indexes the worker's query needs.
pub fn indexes() -> Vec<IndexSpec> {
    vec![IndexSpec::new(
        Job::COLLECTION,
        &[("status", Direction::Asc), ("due", Direction::Asc)],
    )]
}

fn queue(tx: &mut Txn, product_id: &str, media_id: &str) -> Result<(), ConsumeError> {
    let job = Job {
        media_id: media_id.to_owned(),
        status: "pending".into(),
        attempts: 0,
        due: 0,
        last_error: None,
    };
    tx.set(product_id, &job)?;
    Ok(())
}

/// Record the job a product event asks for: a listed product's first
/// photo, or a new first photo.
pub async fn apply(event: &Received, tx: &mut Txn) -> Result<(), ConsumeError> {
    {
        if event.is::<ProductCreated>() {
            let p = event.decode::<ProductCreated>()?;
            if let Some(first) = p.media_ids.first() {
                queue(tx, &p.product_id, first)?;
            }
        } else if event.is::<ProductUpdated>() {
            let p = event.decode::<ProductUpdated>()?;
            if !p.changed_fields.iter().any(|f| f == "media_ids") {
                return Ok(());
            }
            let analysed = tx
                .get::<ProductAnalysis>(&p.product_id)
                .await?
                .map(|a| a.value.media_id);
            match p.media_ids.first() {
                Some(first) if analysed.as_deref() != Some(first) => {
                    queue(tx, &p.product_id, first)?;
                }
                _ => {}
            }
        } else if event.is::<ProductDeleted>() {
            let p = event.decode::<ProductDeleted>()?;
            tx.delete::<Job>(&p.product_id)?;
        }
        Ok(())
    }
}

/// The background worker.
pub struct Worker {
    pub store: Store,
    pub publisher: Publisher,
    pub media: Arc<dyn MediaApi>,
    pub analyser: Analyser,
    pub interval: Duration,
    /// Vision labels join the tags; the translator fills the languages the
    /// artisan left out. Local: neither.
    pub providers: Providers,
}

/// Vision labels at least this sure become tags.
pub const LABEL_MIN_SCORE: f64 = 0.7;
/// Tries while a provider fails (about four minutes with the backoff);
/// after them the analysis is published without the providers' part.
pub const MAX_PROVIDER_ATTEMPTS: u32 = 8;

/// What the providers add to a product's analysis.
#[derive(Debug, Default)]
struct Enrichment {
    labels: Vec<String>,
    translations: BTreeMap<String, String>,
}

/// How long after `attempts` failures the next try comes: 2, 4, 8 … s, at
/// most ten minutes.
fn backoff(attempts: u32) -> Duration {
    Duration::from_secs(2u64.saturating_pow(attempts.min(10)).min(600))
}

impl Worker {
    /// Run until `cancel`.
    pub async fn run(self, cancel: CancellationToken) {
        loop {
            match self.round().await {
                Ok(0) | Err(_) => {
                    tokio::select! {
                        () = cancel.cancelled() => return,
                        () = tokio::time::sleep(self.interval) => {}
                    }
                }
                Ok(_) => {
                    if cancel.is_cancelled() {
                        return;
                    }
                }
            }
        }
    }

    /// Work through the due jobs (a few at a time); how many were tried.
    pub async fn round(&self) -> Result<usize, MlError> {
        let now = Utc::now().timestamp_micros();
        let query = Query::new()
            .eq("status", "pending")
            .filter("due", store::Op::Le, now)
            .order_by("due", Direction::Asc)
            .limit(4);
        let (due, _) = self.store.collection::<Job>().query(&query).await?;
        for job in &due {
            let id = job.id.clone();
            match self.one(&id, &job.value).await {
                Ok(()) => {}
                // Every slot is busy with requests: not the job's fault;
                // it stays due for the next round.
                Err(MlError::Busy) => break,
                Err(e) => {
                    tracing::warn!(product = %id, error = %e, "photo analysis failed; retrying later");
                    self.failed(&id, &job.value, &e.to_string()).await?;
                }
            }
        }
        Ok(due.len())
    }

    async fn one(&self, product_id: &str, job: &Job) -> Result<(), MlError> {
        let Some(photo) = self.media.photo(&job.media_id).await? else {
            // The photo is gone: nothing to analyse.
            self.finish(product_id, job, None).await?;
            return Ok(());
        };
        let analysis = match self
            .analyser
            .analyse(photo.bytes.clone(), Some((photo.width, photo.height)))
            .await
        {
            Ok(a) => a,
            Err(MlError::Image(e)) => {
                tracing::warn!(product = %product_id, error = %e, "a product photo cannot be analysed");
                self.finish(product_id, job, None).await?;
                return Ok(());
            }
            Err(e) => return Err(e),
        };
        let extra = match self.enrich(product_id, &photo.bytes).await {
            Ok(extra) => extra,
            Err(MlError::Provider(e)) if job.attempts + 1 >= MAX_PROVIDER_ATTEMPTS => {
                tracing::warn!(product = %product_id, error = %e,
                    "providers kept failing; the analysis is published without their labels and translations");
                Enrichment::default()
            }
            Err(e) => return Err(e),
        };
        self.finish(product_id, job, Some((analysis, extra))).await
    }

    /// Labels from the vision provider and translations of the artisan's
    /// description (English if they wrote it, else their first language)
    /// into each language they left out. A provider that refuses the
    /// content adds nothing; one that fails or is over its quota fails the
    /// round, and the job is tried again later — at most
    /// [`MAX_PROVIDER_ATTEMPTS`] times, then published without them.
    async fn enrich(&self, product_id: &str, photo: &[u8]) -> Result<Enrichment, MlError> {
        let mut extra = Enrichment::default();
        let refused = |e: ProviderError| match e {
            ProviderError::Refused { .. } => {
                tracing::info!(product = %product_id, error = %e, "a provider declined; nothing added");
                Ok(())
            }
            e => Err(MlError::Provider(e)),
        };
        if let Some(vision) = &self.providers.vision
            && photo.len() <= crate::providers::MAX_INLINE_IMAGE_BYTES
        {
            match vision.annotate(photo).await {
                Ok(a) => {
                    extra.labels = a
                        .labels
                        .into_iter()
                        .filter(|l| l.score >= LABEL_MIN_SCORE)
                        .map(|l| l.name.to_lowercase())
                        .collect();
                }
                Err(e) => refused(e)?,
            }
        }
        let Some(translator) = &self.providers.translator else {
            return Ok(extra);
        };
        let Some(listing) = self.store.collection::<Listing>().get(product_id).await? else {
            return Ok(extra);
        };
        let own = &listing.value.description;
        let source = own
            .get_key_value("en")
            .or_else(|| own.iter().next())
            .filter(|(_, text)| !text.trim().is_empty());
        let Some((from, text)) = source else {
            return Ok(extra);
        };
        for to in LANGUAGES.iter().filter(|l| !own.contains_key(**l)) {
            match translator.translate(text, from, to).await {
                Ok(t) => {
                    extra.translations.insert((*to).to_owned(), t);
                }
                Err(e) => refused(e)?,
            }
        }
        Ok(extra)
    }

    /// Store the analysis and publish it, and close the job — unless the
    /// job changed meanwhile (a newer photo): then it stays for the next
    /// round.
    async fn finish(
        &self,
        product_id: &str,
        job: &Job,
        analysis: Option<(Analysis, Enrichment)>,
    ) -> Result<(), MlError> {
        self.store
            .transact(async |tx: &mut Txn| {
                let Some(current) = tx.get::<Job>(product_id).await? else {
                    return Ok::<_, MlError>(());
                };
                if current.value.media_id != job.media_id {
                    return Ok(());
                }
                tx.delete::<Job>(product_id)?;
                let Some((analysis, extra)) = &analysis else {
                    return Ok(());
                };
                let mut tags = analysis.style_tags.clone();
                let labels: Vec<String> = extra
                    .labels
                    .iter()
                    .filter(|l| !tags.contains(l))
                    .cloned()
                    .collect();
                tags.extend(labels);
                let event = AnalysisCompleted {
                    product_id: product_id.to_owned(),
                    tags,
                    quality_grade: analysis.quality.grade.clone(),
                    translated_description: extra.translations.clone(),
                    dominant_colors: analysis.palette.iter().map(|s| s.hex.clone()).collect(),
                };
                tx.set(
                    product_id,
                    &ProductAnalysis {
                        media_id: job.media_id.clone(),
                        analysis: analysis.clone(),
                        at: Utc::now(),
                    },
                )?;
                self.publisher.emit(tx, product_id, &event)?;
                Ok(())
            })
            .await
    }

    async fn failed(&self, product_id: &str, job: &Job, error: &str) -> Result<(), MlError> {
        let attempts = job.attempts + 1;
        self.store
            .transact(async |tx: &mut Txn| {
                let Some(mut current) = tx.get::<Job>(product_id).await? else {
                    return Ok::<_, MlError>(());
                };
                if current.value.media_id != job.media_id {
                    return Ok(());
                }
                // What fails here is the media service or the store, which
                // come back: the job is tried again, at most ten minutes
                // apart, for as long as it takes (a failing provider only
                // so often: see `one`).
                current.value.attempts = attempts;
                current.value.last_error = Some(error.chars().take(500).collect());
                let wait = backoff(attempts).as_micros() as i64;
                current.value.due = Utc::now().timestamp_micros() + wait;
                tx.update(&current)?;
                Ok(())
            })
            .await
    }
}
