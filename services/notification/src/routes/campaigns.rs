//! `POST /notifications/campaigns` and `GET /notifications/campaigns/{id}`
//! (admins): a marketing template to an audience, resolved and sent in
//! the background, with its counts.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use chrono::{DateTime, Utc};
use common::{ApiError, Caller, Id, Json, Path, Role, Validator};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domain::campaigns::{Campaign, CampaignView, Counts, Tally, Targeting, tallied};
use crate::domain::preferences::parse_time;
use crate::domain::queue::{self, keyed_ids, new_id};
use crate::domain::templates::{self, LANGUAGES, MAX_DATA_KEYS, Template};
use crate::domain::{Category, ChannelKind};
use crate::error::NotificationError;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create))
        .routes(routes!(get_one))
}

/// `POST /notifications/campaigns`.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCampaign {
    #[schema(min_length = 1, max_length = 120)]
    pub name: String,
    /// A marketing template.
    #[schema(pattern = "^[a-z][a-z0-9_]{0,63}$", max_length = 64)]
    pub template: String,
    /// `email`, `sms`, `whatsapp`, `push` or `in_app`.
    pub channel: ChannelKind,
    /// Variables shared by every message (`name` is each user's own).
    #[serde(
        default,
        deserialize_with = "common::bounded::map::<_, _, _, MAX_DATA_KEYS>"
    )]
    #[schema(value_type = Object)]
    pub data: BTreeMap<String, Value>,
    #[serde(default)]
    pub targeting: Targeting,
    /// When to start (default now; at most the configured days ahead).
    pub send_at: Option<DateTime<Utc>>,
    /// `HH:MM`: each user at this time of day in their own zone.
    #[schema(pattern = "^([01][0-9]|2[0-3]):[0-5][0-9]$")]
    pub local_time: Option<String>,
}

/// Start a campaign (admins): checked now (the template must be a
/// marketing one and render with `data`), then resolved and sent in the
/// background.
#[utoipa::path(post, path = "/notifications/campaigns", tag = "campaigns", security(("bearer" = [])),
    request_body = NewCampaign,
    params(("Idempotency-Key" = Option<String>, Header, min_length = 1, max_length = 200,
        description = "Names this campaign: the same key and body answer it again (200)")),
    responses((status = 202, body = CampaignView),
        (status = 200, body = CampaignView, description = "a repeat of an earlier request with this Idempotency-Key"),
        (status = 403),
        (status = 422, description = "bad fields, a template that is not marketing, or a variable the data lacks")))]
async fn create(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Json(body): Json<NewCampaign>,
) -> Result<(StatusCode, Json<CampaignView>), NotificationError> {
    caller.require(&[Role::Admin])?;
    let key = queue::idempotency_key(&headers)?;
    let settings = &state.notifier.settings;
    let now = common::time::now();
    let send_at = body.send_at.unwrap_or(now).max(now);
    let mut v = Validator::new();
    v.length("name", &body.name, 1, 120);
    v.check(
        !matches!(body.channel, ChannelKind::Webhook),
        "channel",
        "unsupported",
        "campaigns go by email, sms, whatsapp, push or in_app",
    );
    templates::check_request(&mut v, "", &body.template, &body.data);
    v.check_with(
        send_at <= now + chrono::Duration::days(i64::from(settings.campaign_max_days_ahead)),
        "send_at",
        "too_far",
        || format!("at most {} days ahead", settings.campaign_max_days_ahead),
    );
    if let Some(t) = &body.local_time {
        v.check(parse_time(t).is_some(), "local_time", "invalid", "HH:MM");
    }
    let t = &body.targeting;
    for (i, role) in t.roles.iter().enumerate() {
        v.check(
            matches!(role.as_str(), "artisan" | "buyer"),
            &format!("targeting.roles[{i}]"),
            "unsupported",
            "artisan or buyer",
        );
    }
    for (i, lang) in t.languages.iter().enumerate() {
        v.check(
            LANGUAGES.contains(&lang.as_str()),
            &format!("targeting.languages[{i}]"),
            "unsupported",
            "en, hi, bn, ta, te or mr",
        );
    }
    // The directory's query is at most 30 alternatives (Firestore's limit
    // on the disjunctions of one query).
    let alternatives = [t.roles.len(), t.regions.len(), t.crafts.len()]
        .iter()
        .map(|n| (*n).max(1))
        .product::<usize>();
    v.check_with(alternatives <= 30, "targeting", "too_broad", || {
        format!("roles × regions × crafts must be at most 30 combinations, not {alternatives}")
    });
    for (field, values) in [("regions", &t.regions), ("crafts", &t.crafts)] {
        for (i, value) in values.iter().enumerate() {
            v.length(&format!("targeting.{field}[{i}]"), value, 1, 80);
            v.check(
                !value.contains(','),
                &format!("targeting.{field}[{i}]"),
                "invalid",
                "no commas",
            );
        }
    }
    v.finish()?;
    let stored = state
        .notifier
        .store
        .collection::<Template>()
        .get(&body.template)
        .await?
        .map(|t| t.value);
    let template = templates::resolve(stored, &body.template).ok_or_else(|| {
        NotificationError::UnknownTemplate {
            field: String::new(),
            name: body.template.clone(),
        }
    })?;
    if template.category != Category::Marketing {
        return Err(ApiError::invalid_field(
            "template",
            "not_marketing",
            "campaigns send marketing templates",
        )
        .into());
    }
    // Every variable but the user's own must be in the data now.
    let mut sample: Map<String, Value> = body.data.clone().into_iter().collect();
    sample.entry("name").or_insert(Value::String("name".into()));
    sample.insert(
        "unsubscribe_url".into(),
        Value::String("https://example.invalid/".into()),
    );
    for language in template.languages.keys() {
        let rendered = template
            .render(language, body.channel, &sample)
            .map_err(|source| NotificationError::Render {
                field: String::new(),
                source,
            })?;
        if settings.require_dlt && body.channel == ChannelKind::Sms && rendered.dlt.is_none() {
            return Err(ApiError::invalid_field(
                "template",
                "dlt_missing",
                format!("its {language} SMS text has no DLT entity and template ids"),
            )
            .into());
        }
    }
    let hash = key
        .as_ref()
        .map(|_| queue::fingerprint(&body_for_hash(&body)))
        .transpose()?;
    let id = match &key {
        Some(k) => keyed_ids(&caller.uid, &format!("campaign\n{k}"), 1).remove(0),
        None => new_id(),
    };
    let campaign = Campaign {
        name: body.name,
        template: body.template,
        channel: body.channel,
        data: body.data.into_iter().collect(),
        targeting: body.targeting,
        send_at,
        local_time: body.local_time,
        created_by: caller.uid.clone(),
        created_at: now,
        state: "pending".into(),
        due: send_at.timestamp_micros(),
        claims: 0,
        cursor: None,
        counts: Counts::default(),
        resolved_at: None,
        request_hash: hash.clone(),
        error: None,
    };
    let campaigns = state.notifier.store.collection::<Campaign>();
    match campaigns.create(&id, &campaign).await {
        Ok(_) => {}
        Err(e) if e.is_already_exists() => {
            // An `Idempotency-Key` repeat: the first campaign, if the same.
            let first = campaigns
                .get(&id)
                .await?
                .ok_or_else(|| ApiError::not_found(format!("campaign {id}")))?;
            if first.value.request_hash != hash {
                return Err(ApiError::invalid_field(
                    "Idempotency-Key",
                    "reused",
                    "this key was used for another campaign",
                )
                .into());
            }
            let tally = tallied(&state.notifier.store, &id).await?;
            return Ok((
                StatusCode::OK,
                Json(CampaignView::new(&id, &first.value, &tally)),
            ));
        }
        Err(e) => return Err(e.into()),
    }
    Ok((
        StatusCode::ACCEPTED,
        Json(CampaignView::new(&id, &campaign, &Tally::default())),
    ))
}

/// A campaign's status and counts (admins).
#[utoipa::path(get, path = "/notifications/campaigns/{id}", tag = "campaigns", security(("bearer" = [])),
    params(("id" = Id, Path)), responses((status = 200, body = CampaignView), (status = 403), (status = 404)))]
async fn get_one(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Id>,
) -> Result<Json<CampaignView>, NotificationError> {
    caller.require(&[Role::Admin])?;
    match state
        .notifier
        .store
        .collection::<Campaign>()
        .get(&id)
        .await?
    {
        Some(c) => {
            let tally = tallied(&state.notifier.store, &id).await?;
            Ok(Json(CampaignView::new(&id, &c.value, &tally)))
        }
        None => Err(ApiError::not_found(format!("campaign {id}")).into()),
    }
}

/// What a repeat must match: the request as sent (a send time left out
/// means "now", whenever that is).
fn body_for_hash(body: &NewCampaign) -> serde_json::Value {
    serde_json::json!({
        "name": body.name, "template": body.template, "channel": body.channel,
        "data": body.data, "targeting": body.targeting, "send_at": body.send_at,
        "local_time": body.local_time,
    })
}
