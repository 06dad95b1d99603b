//! `POST /ml/predict-demand`: daily completed orders of a market slice
//! (kept from `order.completed`, each order once), forecast by additive
//! Holt–Winters with a weekly season — smoothing parameters chosen by
//! one-step-ahead error — with 80% and 95% intervals, the trend, the
//! weekday factors, and the model's error on a held-out tail beside the
//! seasonal naive forecast's (MASE). Too little history: the naive
//! estimate, and a reason.

use std::collections::BTreeMap;

use chrono::{DateTime, Days, NaiveDate, Utc};
use events::v1::OrderCompleted;
use events::{ConsumeError, Received};
use serde::{Deserialize, Serialize};
use store::{Entity, Txn};
use utoipa::ToSchema;

/// The weekly season, in days.
pub const PERIOD: usize = 7;
/// Days of history a model needs (three seasons).
pub const MIN_HISTORY: usize = 3 * PERIOD;
/// Days of history kept (three years).
pub const KEPT_DAYS: i64 = 1_096;
/// The longest horizon, in days.
pub const MAX_HORIZON: u32 = 90;

/// Completed orders per day of one slice (`category|subcategory|region`,
/// `*` for any).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DailyOrders {
    /// Days since 1970-01-01 → orders.
    pub days: BTreeMap<i64, u32>,
}

impl Entity for DailyOrders {
    const COLLECTION: &'static str = "daily_orders";
}

/// An order counted (its id is the order's).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Counted {}

impl Entity for Counted {
    const COLLECTION: &'static str = "counted_orders";
}

/// The slice id of `category`, `subcategory` and `region` (each may be
/// absent: any).
pub fn slice_id(category: &str, subcategory: Option<&str>, region: Option<&str>) -> String {
    let norm = |s: Option<&str>| {
        s.map(common::catalogue::region_key)
            .filter(|s| !s.is_empty())
            .map_or_else(|| "*".into(), |s| common::catalogue::key_part(&s))
    };
    let category = common::catalogue::key_part(category);
    format!("{category}|{}|{}", norm(subcategory), norm(region))
}

fn day_of(at: DateTime<Utc>) -> i64 {
    at.timestamp().div_euclid(86_400)
}

/// Count a completed order, once, into its four slices.
pub async fn count(event: &Received, tx: &mut Txn) -> Result<(), ConsumeError> {
    if !event.is::<OrderCompleted>() {
        return Ok(());
    }
    let o = event.decode::<OrderCompleted>()?;
    if o.category.is_empty() || tx.get::<Counted>(&o.order_id).await?.is_some() {
        return Ok(());
    }
    let at = DateTime::from_timestamp_micros(event.occurred_at_micros()).unwrap_or_else(Utc::now);
    if at > Utc::now() + chrono::Duration::days(1) {
        // A clock far ahead would push the real days out of the series.
        tracing::warn!(order = %o.order_id, %at, "an order dated in the future: not counted");
        return Ok(());
    }
    let day = day_of(at);
    let (sub, region) = (Some(o.subcategory.as_str()), Some(o.region.as_str()));
    for id in [
        slice_id(&o.category, None, None),
        slice_id(&o.category, sub, None),
        slice_id(&o.category, None, region),
        slice_id(&o.category, sub, region),
    ]
    .into_iter()
    .collect::<std::collections::BTreeSet<_>>()
    {
        let mut series = tx
            .get::<DailyOrders>(&id)
            .await?
            .map(|s| s.value)
            .unwrap_or_default();
        *series.days.entry(day).or_default() += 1;
        if let Some((&last, _)) = series.days.last_key_value() {
            series.days = series.days.split_off(&(last - KEPT_DAYS + 1));
        }
        tx.set(&id, &series)?;
    }
    tx.set(&o.order_id, &Counted {})?;
    Ok(())
}

/// The additive Holt–Winters model's state after a series.
#[derive(Debug, Clone, PartialEq)]
pub struct Fitted {
    pub alpha: f64,
    pub beta: f64,
    pub gamma: f64,
    level: f64,
    trend: f64,
    season: [f64; PERIOD],
    /// Where the next day falls in the season.
    next: usize,
    /// Standard deviation of the one-step errors.
    pub sigma: f64,
}

fn run(y: &[f64], alpha: f64, beta: f64, gamma: f64) -> (Fitted, f64) {
    // Start from the first two seasons: level the first season's mean,
    // trend the change of mean between them, season the first's deviations.
    let first: f64 = y[..PERIOD].iter().sum::<f64>() / PERIOD as f64;
    let second: f64 = y[PERIOD..2 * PERIOD].iter().sum::<f64>() / PERIOD as f64;
    let mut level = first;
    let mut trend = (second - first) / PERIOD as f64;
    let mut season = [0.0; PERIOD];
    for (i, s) in season.iter_mut().enumerate() {
        *s = y[i] - first;
    }
    let (mut sse, mut n) = (0.0, 0usize);
    for (t, &obs) in y.iter().enumerate().skip(PERIOD) {
        let s = season[t % PERIOD];
        let forecast = level + trend + s;
        let err = obs - forecast;
        sse += err * err;
        n += 1;
        let prev = level;
        level = alpha * (obs - s) + (1.0 - alpha) * (level + trend);
        trend = beta * (level - prev) + (1.0 - beta) * trend;
        season[t % PERIOD] = gamma * (obs - level) + (1.0 - gamma) * s;
    }
    let sigma = (sse / n.max(1) as f64).sqrt();
    (
        Fitted {
            alpha,
            beta,
            gamma,
            level,
            trend,
            season,
            next: y.len() % PERIOD,
            sigma,
        },
        sse,
    )
}

/// Fit to `y` (at least two seasons), choosing the smoothing parameters
/// from a grid by the one-step-ahead squared error.
pub fn fit(y: &[f64]) -> Fitted {
    let mut best: Option<(Fitted, f64)> = None;
    for alpha in [0.05, 0.1, 0.2, 0.3, 0.5, 0.7] {
        for beta in [0.0, 0.01, 0.05, 0.1] {
            for gamma in [0.01, 0.05, 0.1, 0.2, 0.4] {
                let (f, sse) = run(y, alpha, beta, gamma);
                if best.as_ref().is_none_or(|b| sse < b.1) {
                    best = Some((f, sse));
                }
            }
        }
    }
    best.map(|b| b.0).unwrap_or_else(|| run(y, 0.2, 0.0, 0.1).0)
}

impl Fitted {
    /// The forecast `h` days ahead (1-based).
    pub fn forecast(&self, h: usize) -> f64 {
        self.level + h as f64 * self.trend + self.season[(self.next + h - 1) % PERIOD]
    }

    /// The standard deviation of the `h`-day-ahead error (the additive
    /// model's approximation).
    pub fn sd(&self, h: usize) -> f64 {
        let extra: f64 = (1..h)
            .map(|j| {
                let c = self.alpha * (1.0 + j as f64 * self.beta)
                    + if j % PERIOD == 0 { self.gamma } else { 0.0 };
                c * c
            })
            .sum();
        self.sigma * (1.0 + extra).sqrt()
    }

    /// Each weekday's factor: (level + its season) ÷ level.
    pub fn weekday_factors(&self) -> [f64; PERIOD] {
        std::array::from_fn(|i| {
            if self.level.abs() < 1e-9 {
                1.0
            } else {
                (self.level + self.season[i]) / self.level
            }
        })
    }
}

/// Mean absolute scaled error of `forecast` against `actual`, scaled by the
/// in-sample one-step seasonal naive error of `history`.
fn mase(history: &[f64], actual: &[f64], forecast: &[f64]) -> Option<f64> {
    let scale: f64 = history
        .windows(PERIOD + 1)
        .map(|w| (w[PERIOD] - w[0]).abs())
        .sum::<f64>()
        / (history.len().saturating_sub(PERIOD)).max(1) as f64;
    if scale <= 0.0 {
        return None;
    }
    let mae = actual
        .iter()
        .zip(forecast)
        .map(|(a, f)| (a - f).abs())
        .sum::<f64>()
        / actual.len().max(1) as f64;
    Some(round3(mae / scale))
}

fn round3(x: f64) -> f64 {
    (x * 1_000.0).round() / 1_000.0
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ForecastStatus {
    Forecast,
    InsufficientHistory,
}

/// A forecast and its interval.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Interval {
    pub point: f64,
    pub low_80: f64,
    pub high_80: f64,
    pub low_95: f64,
    pub high_95: f64,
}

/// One day's forecast.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Day {
    pub date: NaiveDate,
    #[serde(flatten)]
    pub orders: Interval,
}

/// The held-out test of the model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Backtest {
    pub held_out_days: usize,
    /// The model's MASE on the held-out days (below 1 beats the in-sample
    /// one-step naive).
    pub model_mase: Option<f64>,
    /// The seasonal naive forecast's (last week repeated).
    pub naive_mase: Option<f64>,
}

/// The answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DemandForecast {
    pub status: ForecastStatus,
    pub horizon_days: u32,
    /// Days of history from the first order to yesterday.
    pub history_days: usize,
    /// Orders over the whole horizon.
    pub total: Interval,
    pub daily: Vec<Day>,
    /// `rising`, `falling` or `flat` (the trend is within ±1% of the
    /// level a week).
    pub trend: String,
    /// Orders a day added by the trend, per week.
    pub trend_per_week: f64,
    /// Monday to Sunday: each day against an average day.
    pub weekday_factors: Vec<f64>,
    /// The factor of the horizon's days against average ones.
    pub seasonal_factor: f64,
    pub backtest: Option<Backtest>,
    pub model: String,
    pub reason: Option<String>,
}

/// Forecast `horizon` days after `today` from `series`.
pub fn forecast(series: &DailyOrders, today: NaiveDate, horizon: u32) -> DemandForecast {
    let today_index = (today - NaiveDate::default()).num_days();
    let first = series.days.keys().next().copied().unwrap_or(today_index);
    let y: Vec<f64> = (first..today_index)
        .map(|d| f64::from(series.days.get(&d).copied().unwrap_or(0)))
        .collect();
    let h = horizon as usize;
    let date = |i: usize| today.checked_add_days(Days::new(i as u64)).unwrap_or(today);
    if y.len() < MIN_HISTORY {
        let mean = y.iter().sum::<f64>() / y.len().max(1) as f64;
        let point = round3(mean * h as f64);
        return DemandForecast {
            status: ForecastStatus::InsufficientHistory,
            horizon_days: horizon,
            history_days: y.len(),
            total: Interval {
                point,
                low_80: point,
                high_80: point,
                low_95: point,
                high_95: point,
            },
            daily: Vec::new(),
            trend: "unknown".into(),
            trend_per_week: 0.0,
            weekday_factors: Vec::new(),
            seasonal_factor: 1.0,
            backtest: None,
            model: "naive mean (no interval)".into(),
            reason: Some(format!(
                "{} days of history; {MIN_HISTORY} needed for a seasonal model: the naive \
                 estimate is the mean day times the horizon",
                y.len()
            )),
        };
    }
    // Backtest on the last days (up to four weeks, at most a quarter).
    let held = h.min(28).min(y.len() / 4).max(1);
    let backtest = (y.len() - held >= 2 * PERIOD).then(|| {
        let (train, test) = y.split_at(y.len() - held);
        let f = fit(train);
        let model: Vec<f64> = (1..=held).map(|i| f.forecast(i).max(0.0)).collect();
        let naive: Vec<f64> = (0..held)
            .map(|i| train[train.len() - PERIOD + i % PERIOD])
            .collect();
        Backtest {
            held_out_days: held,
            model_mase: mase(train, test, &model),
            naive_mase: mase(train, test, &naive),
        }
    });
    let f = fit(&y);
    let z80 = 1.281_551_6;
    let z95 = 1.959_964;
    let interval = |point: f64, sd: f64| Interval {
        point: round3(point.max(0.0)),
        low_80: round3((point - z80 * sd).max(0.0)),
        high_80: round3((point + z80 * sd).max(0.0)),
        low_95: round3((point - z95 * sd).max(0.0)),
        high_95: round3((point + z95 * sd).max(0.0)),
    };
    let daily: Vec<Day> = (1..=h)
        .map(|i| Day {
            date: date(i - 1),
            orders: interval(f.forecast(i), f.sd(i)),
        })
        .collect();
    // The total's variance: the days' errors taken as independent — a
    // lower bound when they are correlated, said in the model name.
    let total_point: f64 = (1..=h).map(|i| f.forecast(i).max(0.0)).sum();
    let total_sd = (1..=h).map(|i| f.sd(i).powi(2)).sum::<f64>().sqrt();
    let factors = f.weekday_factors();
    // Season index by weekday: day index 0 (1970-01-01) was a Thursday.
    let weekday = |day_index: i64| ((day_index + 3).rem_euclid(7)) as usize;
    let by_weekday: Vec<f64> = (0..PERIOD)
        .map(|wd| {
            let i = (0..PERIOD)
                .find(|i| weekday(first + (*i as i64)) == wd)
                .unwrap_or(0);
            round3(factors[i])
        })
        .collect();
    let seasonal_factor = if f.level.abs() < 1e-9 {
        1.0
    } else {
        round3(
            (1..=h)
                .map(|i| f.season[(f.next + i - 1) % PERIOD])
                .sum::<f64>()
                / h as f64
                / f.level
                + 1.0,
        )
    };
    let per_week = f.trend * 7.0;
    let trend = if per_week.abs() <= 0.01 * f.level.abs().max(1e-9) {
        "flat"
    } else if per_week > 0.0 {
        "rising"
    } else {
        "falling"
    };
    DemandForecast {
        status: ForecastStatus::Forecast,
        horizon_days: horizon,
        history_days: y.len(),
        total: interval(total_point, total_sd),
        daily,
        trend: trend.into(),
        trend_per_week: round3(per_week),
        weekday_factors: by_weekday,
        seasonal_factor,
        backtest,
        model: format!(
            "additive Holt-Winters, weekly season (alpha {}, beta {}, gamma {}); total interval \
             from independent daily errors",
            f.alpha, f.beta, f.gamma
        ),
        reason: None,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    /// A year of days: 10 a day, weekends (Saturday, Sunday) +6, one more
    /// every twenty days, and ±1 of deterministic noise.
    fn seasonal(days: i64) -> (DailyOrders, NaiveDate) {
        let start = NaiveDate::from_ymd_opt(2025, 1, 6).unwrap(); // a Monday
        let first = (start - NaiveDate::default()).num_days();
        let mut s = DailyOrders::default();
        for d in 0..days {
            let weekend = matches!(d % 7, 5 | 6);
            let noise = ((d * 7_919) % 3) - 1;
            let v = 10 + if weekend { 6 } else { 0 } + d / 20 + noise;
            s.days.insert(first + d, v as u32);
        }
        (s, start + chrono::Duration::days(days))
    }

    #[test]
    fn a_weekly_season_is_recovered_and_beats_the_naive_forecast() {
        let (series, today) = seasonal(364);
        let f = forecast(&series, today, 14);
        assert_eq!(f.status, ForecastStatus::Forecast);
        // Saturday and Sunday stand out; weekdays below an average day.
        let w = &f.weekday_factors;
        assert!(w[5] > 1.1 && w[6] > 1.1, "{w:?}");
        assert!(w[..5].iter().all(|x| *x < 1.0), "{w:?}");
        let b = f.backtest.clone().unwrap();
        assert!(b.model_mase.unwrap() < b.naive_mase.unwrap(), "{b:?}");
        assert_eq!(f.trend, "rising");
        // The next Saturday near its level (16 + 364/20, about 34).
        let saturday = f
            .daily
            .iter()
            .find(|d| d.date.format("%a").to_string() == "Sat")
            .unwrap();
        assert!((saturday.orders.point - 34.0).abs() < 3.0, "{saturday:?}");
        assert!(saturday.orders.low_95 <= saturday.orders.low_80);
        assert!(saturday.orders.low_80 <= saturday.orders.point);
        assert!(saturday.orders.point <= saturday.orders.high_80);
        assert_eq!(f.daily.len(), 14);
    }

    #[test]
    fn too_little_history_gives_the_naive_estimate_and_says_so() {
        let (series, today) = seasonal(10);
        let f = forecast(&series, today, 7);
        assert_eq!(f.status, ForecastStatus::InsufficientHistory);
        assert!(f.reason.unwrap().contains("10 days of history"));
        let mean = series.days.values().map(|v| f64::from(*v)).sum::<f64>() / 10.0;
        assert!((f.total.point - mean * 7.0).abs() < 0.01);
    }
}
