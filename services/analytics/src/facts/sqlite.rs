//! The embedded fact store: one SQLite file (WAL), written by one
//! connection, read by a few.
//!
//! Every event lands in `events` first, keyed by its id; only a new id goes
//! on into the fact tables, so a repeated delivery counts once. An order is
//! one row whose steps (placed, paid, completed, cancelled) arrive as
//! separate events in any order and each fill their own columns; a sale is
//! an order paid and not cancelled, dated when it was placed. Rows carry
//! the product's artisan, category and region where the product is known,
//! so that every question is one range scan of an index `(owner, at)`:
//! sized for ten million facts, a dashboard reads only its artisan's rows.
//!
//! A search's results are kept as impressions per artisan, day and query
//! (the one question asked of them).
//!
//! A market's sales (a category, and a region) are also kept day by day in
//! `sales_daily`, moved with each order event that makes or unmakes a sale
//! (the row before and after are compared): a year of a category is 365
//! rows per region, not every order of it.
//!
//! Only fixed SQL is run: the report's dimensions choose among fixed
//! expressions, and every value is a bound parameter.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use rusqlite::{Connection, OptionalExtension as _, ToSql, params};

use super::{
    Bucket, Count, Dimension, Engagement, Fact, FactError, FactStore, Grain, Ingest, OrderStep,
    ProductFigures, QueryFigures, ReportQuery, ReportRow, Sales, Scope, StoredProduct,
    StoredSuggestion, Window,
};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS events (
    event_id TEXT PRIMARY KEY,
    type TEXT NOT NULL,
    subject TEXT NOT NULL,
    at INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS products (
    product_id TEXT PRIMARY KEY,
    artisan_id TEXT NOT NULL,
    title TEXT NOT NULL DEFAULT '',
    category TEXT NOT NULL DEFAULT '',
    subcategory TEXT NOT NULL DEFAULT '',
    region TEXT NOT NULL DEFAULT '',
    price INTEGER,
    status TEXT NOT NULL DEFAULT 'active',
    as_of INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS products_artisan ON products(artisan_id);
CREATE INDEX IF NOT EXISTS products_category ON products(category);

CREATE TABLE IF NOT EXISTS product_tags (
    product_id TEXT NOT NULL,
    tag TEXT NOT NULL,
    PRIMARY KEY (product_id, tag)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS engagement (
    product_id TEXT NOT NULL,
    artisan_id TEXT NOT NULL,
    category TEXT,
    region TEXT,
    kind TEXT NOT NULL,
    count INTEGER NOT NULL,
    user_id TEXT NOT NULL,
    search_id TEXT NOT NULL,
    at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS engagement_artisan_at ON engagement(artisan_id, at);
CREATE INDEX IF NOT EXISTS engagement_product_at ON engagement(product_id, at);
CREATE INDEX IF NOT EXISTS engagement_category_at ON engagement(category, at);
CREATE INDEX IF NOT EXISTS engagement_user ON engagement(user_id, at) WHERE user_id <> '';
CREATE INDEX IF NOT EXISTS engagement_search ON engagement(search_id) WHERE search_id <> '';

CREATE TABLE IF NOT EXISTS orders (
    order_id TEXT PRIMARY KEY,
    product_id TEXT,
    artisan_id TEXT,
    buyer_id TEXT,
    quantity INTEGER,
    total INTEGER,
    unit_price INTEGER,
    category TEXT,
    subcategory TEXT,
    region TEXT,
    buyer_region TEXT,
    search_id TEXT,
    placed_at INTEGER,
    paid_at INTEGER,
    completed_at INTEGER,
    cancelled_at INTEGER,
    at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS orders_artisan_at ON orders(artisan_id, at);
CREATE INDEX IF NOT EXISTS orders_buyer_at ON orders(buyer_id, at);
CREATE INDEX IF NOT EXISTS orders_product_at ON orders(product_id, at);
CREATE INDEX IF NOT EXISTS orders_category_at ON orders(category, at);
CREATE INDEX IF NOT EXISTS orders_search ON orders(search_id) WHERE search_id IS NOT NULL;

CREATE TABLE IF NOT EXISTS searches (
    search_id TEXT PRIMARY KEY,
    query TEXT NOT NULL,
    total INTEGER NOT NULL,
    at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS impressions (
    artisan_id TEXT NOT NULL,
    day INTEGER NOT NULL,
    query TEXT NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (artisan_id, day, query)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS sales_daily (
    category TEXT NOT NULL,
    region TEXT NOT NULL,
    day INTEGER NOT NULL,
    orders INTEGER NOT NULL,
    units INTEGER NOT NULL,
    revenue INTEGER NOT NULL,
    PRIMARY KEY (category, region, day)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS suggestions (
    product_id TEXT PRIMARY KEY,
    suggested INTEGER NOT NULL,
    low INTEGER NOT NULL,
    high INTEGER NOT NULL,
    method TEXT NOT NULL,
    at INTEGER NOT NULL
);
";

/// An order that counts as a sale: paid, not cancelled since, and in
/// rupees (an order in another currency has no total here).
const SALE: &str = "paid_at IS NOT NULL AND cancelled_at IS NULL AND total IS NOT NULL";

/// Read connections kept open beside the writer.
const READERS: usize = 4;
/// The writer's page cache, KiB.
const WRITER_CACHE_KIB: i64 = 256 * 1024;

/// Facts in one SQLite file.
pub struct SqliteFacts {
    writer: Mutex<Connection>,
    readers: Vec<Mutex<Connection>>,
    next_reader: AtomicUsize,
}

fn open(path: &Path) -> Result<Connection, FactError> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    Ok(conn)
}

impl SqliteFacts {
    /// Open (creating) the fact file at `path`.
    pub fn open(path: &Path) -> Result<Self, FactError> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let writer = open(path)?;
        writer.execute_batch(SCHEMA)?;
        // The writer's cache holds the hot pages of every index it adds to;
        // readers share the OS cache through the memory map.
        writer.pragma_update(None, "cache_size", -WRITER_CACHE_KIB)?;
        writer.pragma_update(None, "wal_autocheckpoint", 10_000)?;
        let readers = (0..READERS)
            .map(|_| {
                let c = open(path)?;
                c.pragma_update(None, "cache_size", -16_000)?;
                c.pragma_update(None, "mmap_size", 1_i64 << 30)?;
                Ok(Mutex::new(c))
            })
            .collect::<Result<_, FactError>>()?;
        Ok(Self {
            writer: Mutex::new(writer),
            readers,
            next_reader: AtomicUsize::new(0),
        })
    }

    fn read<T>(&self, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> Result<T, FactError> {
        let n = self.readers.len();
        let start = self.next_reader.fetch_add(1, Ordering::Relaxed) % n;
        // A free reader if there is one (a long report holds its own);
        // else wait for the next in turn.
        for i in (0..n).map(|k| (start + k) % n) {
            if let Ok(conn) = self.readers[i].try_lock() {
                return Ok(f(&conn)?);
            }
        }
        let conn = self.readers[start]
            .lock()
            .map_err(|_| FactError::Poisoned)?;
        Ok(f(&conn)?)
    }
}

/// The condition selecting a scope's rows of `orders` or `engagement`
/// (both carry the same owner columns) under the table alias `t` ("" for
/// none), and its parameters.
fn scope_sql(scope: &Scope, engagement: bool, t: &str) -> (String, Vec<String>) {
    let t = if t.is_empty() {
        String::new()
    } else {
        format!("{t}.")
    };
    match scope {
        Scope::Artisan(id) => (format!("{t}artisan_id = ?"), vec![id.clone()]),
        Scope::Buyer(id) if engagement => (format!("{t}user_id = ?"), vec![id.clone()]),
        Scope::Buyer(id) => (format!("{t}buyer_id = ?"), vec![id.clone()]),
        Scope::Product(id) => (format!("{t}product_id = ?"), vec![id.clone()]),
        Scope::Market {
            category,
            region: None,
        } => (format!("{t}category = ?"), vec![category.clone()]),
        Scope::Market {
            category,
            region: Some(region),
        } => (
            // As the rollup keys regions: trimmed, in any case.
            format!("{t}category = ? AND lower(trim({t}region)) = lower(trim(?))"),
            vec![category.clone(), region.clone()],
        ),
        Scope::RestOfMarket { category, region } => (
            format!(
                "{t}category = ? AND ({t}region IS NULL OR lower(trim({t}region)) <> lower(trim(?)))"
            ),
            vec![category.clone(), region.clone()],
        ),
    }
}

/// An order that counts as a sale, under the table alias `t`.
fn sale(t: &str) -> String {
    format!("{t}.paid_at IS NOT NULL AND {t}.cancelled_at IS NULL AND {t}.total IS NOT NULL")
}

/// `scope`'s parameters followed by the window's.
fn with_window(mut p: Vec<String>, w: Window) -> Vec<Box<dyn ToSql>> {
    let mut out: Vec<Box<dyn ToSql>> = p.drain(..).map(|s| Box::new(s) as Box<dyn ToSql>).collect();
    out.push(Box::new(w.from));
    out.push(Box::new(w.to));
    out
}

fn refs(p: &[Box<dyn ToSql>]) -> Vec<&dyn ToSql> {
    p.iter().map(AsRef::as_ref).collect()
}

/// Engagement columns as sums: views, net likes, shares, clicks.
const ENGAGEMENT_SUMS: &str = "
    COALESCE(SUM(CASE WHEN kind = 'view' THEN count ELSE 0 END), 0),
    COALESCE(SUM(CASE kind WHEN 'like' THEN count WHEN 'unlike' THEN -count ELSE 0 END), 0),
    COALESCE(SUM(CASE WHEN kind = 'share' THEN count ELSE 0 END), 0),
    COALESCE(SUM(CASE WHEN kind = 'click' THEN count ELSE 0 END), 0)";

/// Sales columns as sums: orders, units, revenue.
const SALES_SUMS: &str = "COUNT(*), COALESCE(SUM(quantity), 0), COALESCE(SUM(total), 0)";

fn sales_at(row: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<Sales> {
    Ok(Sales {
        orders: row.get(i)?,
        units: row.get(i + 1)?,
        revenue: row.get(i + 2)?,
    })
}

fn engagement_at(row: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<Engagement> {
    Ok(Engagement {
        views: row.get(i)?,
        likes: row.get::<_, i64>(i + 1)?.max(0),
        shares: row.get(i + 2)?,
        clicks: row.get(i + 3)?,
    })
}

fn apply(tx: &rusqlite::Transaction<'_>, e: &Ingest) -> rusqlite::Result<bool> {
    let new = tx
        .prepare_cached(
            "INSERT OR IGNORE INTO events(event_id, type, subject, at) VALUES (?1, ?2, ?3, ?4)",
        )?
        .execute(params![e.event_id, e.event_type, e.subject, e.at])?;
    if new == 0 {
        return Ok(false);
    }
    match &e.fact {
        Fact::Product(p) => {
            tx.prepare_cached(
                "INSERT INTO products(product_id, artisan_id, title, category, subcategory, region,
                    price, status, as_of)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, COALESCE(NULLIF(?8, ''), 'active'), ?9)
                 ON CONFLICT(product_id) DO UPDATE SET
                    artisan_id = excluded.artisan_id,
                    title = COALESCE(NULLIF(excluded.title, ''), products.title),
                    category = COALESCE(NULLIF(excluded.category, ''), products.category),
                    subcategory = CASE WHEN excluded.category <> '' THEN excluded.subcategory
                        ELSE products.subcategory END,
                    region = CASE WHEN excluded.category <> '' THEN excluded.region
                        ELSE products.region END,
                    price = COALESCE(excluded.price, products.price),
                    status = COALESCE(NULLIF(?8, ''), products.status),
                    as_of = excluded.as_of
                 WHERE excluded.as_of >= products.as_of",
            )?
            .execute(params![
                p.product_id,
                p.artisan_id,
                p.title,
                p.category,
                p.subcategory,
                p.region,
                p.price,
                p.status,
                e.at
            ])?;
            // Facts that arrived before the product learn its classification
            // (and such orders, now of a market, join its rollup).
            if !p.category.is_empty() {
                tx.prepare_cached(&format!(
                    "INSERT INTO sales_daily(category, region, day, orders, units, revenue)
                     SELECT ?2, lower(trim(?3)), at / 86400, COUNT(*), COALESCE(SUM(quantity), 0),
                        COALESCE(SUM(total), 0)
                     FROM orders WHERE product_id = ?1 AND category IS NULL AND {SALE}
                     GROUP BY at / 86400
                     ON CONFLICT(category, region, day) DO UPDATE SET
                        orders = orders + excluded.orders, units = units + excluded.units,
                        revenue = revenue + excluded.revenue"
                ))?
                .execute(params![p.product_id, p.category, p.region])?;
                for sql in [
                    "UPDATE orders SET category = ?2, region = NULLIF(?3, '')
                     WHERE product_id = ?1 AND category IS NULL",
                    "UPDATE engagement SET category = ?2, region = NULLIF(?3, '')
                     WHERE product_id = ?1 AND category IS NULL",
                ] {
                    tx.prepare_cached(sql)?
                        .execute(params![p.product_id, p.category, p.region])?;
                }
            }
        }
        Fact::ProductDeleted { product_id } => {
            tx.prepare_cached(
                "UPDATE products SET status = 'deleted', as_of = MAX(as_of, ?2) WHERE product_id = ?1",
            )?
            .execute(params![product_id, e.at])?;
        }
        Fact::Tags { product_id, tags } => {
            tx.prepare_cached("DELETE FROM product_tags WHERE product_id = ?1")?
                .execute(params![product_id])?;
            let mut insert = tx.prepare_cached(
                "INSERT OR IGNORE INTO product_tags(product_id, tag) VALUES (?1, ?2)",
            )?;
            for tag in tags {
                insert.execute(params![product_id, tag])?;
            }
        }
        Fact::Engagement(g) => {
            tx.prepare_cached(
                "INSERT INTO engagement(product_id, artisan_id, category, region, kind, count,
                    user_id, search_id, at)
                 SELECT ?1, ?2, p.category, NULLIF(p.region, ''), ?3, ?4, ?5, ?6, ?7
                 FROM (SELECT 1) LEFT JOIN products p ON p.product_id = ?1",
            )?
            .execute(params![
                g.product_id,
                g.artisan_id,
                g.kind,
                g.count,
                g.user_id,
                g.search_id,
                e.at
            ])?;
        }
        Fact::Order(o) => {
            let before = sale_of(tx, &o.order_id)?;
            let at_step = |step| (o.step == Some(step)).then_some(e.at);
            let (placed, paid, completed, cancelled) = (
                at_step(OrderStep::Placed),
                at_step(OrderStep::Paid),
                at_step(OrderStep::Completed),
                at_step(OrderStep::Cancelled),
            );
            let inserted = tx
                .prepare_cached(
                    "INSERT OR IGNORE INTO orders(order_id, product_id, artisan_id, buyer_id,
                        quantity, total, unit_price, category, subcategory, region, buyer_region,
                        search_id, placed_at, paid_at, completed_at, cancelled_at, at)
                     SELECT ?1, NULLIF(?2, ''), NULLIF(?3, ''), NULLIF(?4, ''), NULLIF(?5, 0), ?6,
                        ?7, COALESCE(NULLIF(?8, ''), p.category), NULLIF(?9, ''),
                        COALESCE(NULLIF(?10, ''), NULLIF(p.region, '')),
                        NULLIF(?11, ''), NULLIF(?12, ''), ?13, ?14, ?15, ?16, ?17
                     FROM (SELECT 1) LEFT JOIN products p ON p.product_id = ?2",
                )?
                .execute(params![
                    o.order_id,
                    o.product_id,
                    o.artisan_id,
                    o.buyer_id,
                    o.quantity,
                    o.total,
                    o.unit_price,
                    o.category,
                    o.subcategory,
                    o.region,
                    o.buyer_region,
                    o.search_id,
                    placed,
                    paid,
                    completed,
                    cancelled,
                    e.at
                ])?;
            if inserted == 0 {
                merge_order(tx, o, e.at, [placed, paid, completed, cancelled])?;
            }
            let after = sale_of(tx, &o.order_id)?;
            if before != after {
                if let Some(b) = before {
                    roll(tx, &b, -1)?;
                }
                if let Some(a) = after {
                    roll(tx, &a, 1)?;
                }
            }
        }
        Fact::Search(s) => {
            tx.prepare_cached(
                "INSERT OR IGNORE INTO searches(search_id, query, total, at) VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![s.search_id, s.query, s.total, e.at])?;
            // Each result of a known product is an impression for its
            // artisan, counted by day and query.
            let mut insert = tx.prepare_cached(
                "INSERT INTO impressions(artisan_id, day, query, n)
                 SELECT p.artisan_id, ?2, ?3, 1 FROM products p WHERE p.product_id = ?1
                 ON CONFLICT(artisan_id, day, query) DO UPDATE SET n = n + 1",
            )?;
            for id in &s.result_ids {
                insert.execute(params![id, e.at.div_euclid(86_400), s.query])?;
            }
        }
        Fact::Suggestion(s) => {
            tx.prepare_cached(
                "INSERT INTO suggestions(product_id, suggested, low, high, method, at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT(product_id) DO UPDATE SET suggested = excluded.suggested,
                    low = excluded.low, high = excluded.high, method = excluded.method,
                    at = excluded.at
                 WHERE excluded.at >= suggestions.at",
            )?
            .execute(params![
                s.product_id,
                s.suggested,
                s.low,
                s.high,
                s.method,
                e.at
            ])?;
        }
        Fact::Other => {}
    }
    Ok(true)
}

/// Fill in a stored order with a later event's step. An indexed column is
/// written only where it is still missing (rewriting it would rewrite its
/// index entry for nothing); the rest take what they lack in one update.
fn merge_order(
    tx: &rusqlite::Transaction<'_>,
    o: &super::OrderFact,
    at: i64,
    [placed, paid, completed, cancelled]: [Option<i64>; 4],
) -> rusqlite::Result<()> {
    // Dated when placed; until then, by the earliest step known.
    tx.prepare_cached(
        "UPDATE orders SET at = COALESCE(?2, MIN(at, ?3))
         WHERE order_id = ?1 AND placed_at IS NULL AND (?2 IS NOT NULL OR at > ?3)",
    )?
    .execute(params![o.order_id, placed, at])?;
    for (sql, value) in [
        (
            "UPDATE orders SET product_id = ?2 WHERE order_id = ?1 AND product_id IS NULL",
            &o.product_id,
        ),
        (
            "UPDATE orders SET artisan_id = ?2 WHERE order_id = ?1 AND artisan_id IS NULL",
            &o.artisan_id,
        ),
        (
            "UPDATE orders SET buyer_id = ?2 WHERE order_id = ?1 AND buyer_id IS NULL",
            &o.buyer_id,
        ),
        (
            "UPDATE orders SET search_id = ?2 WHERE order_id = ?1 AND search_id IS NULL",
            &o.search_id,
        ),
    ] {
        if !value.is_empty() {
            tx.prepare_cached(sql)?
                .execute(params![o.order_id, value])?;
        }
    }
    if !o.category.is_empty() || !o.product_id.is_empty() {
        tx.prepare_cached(
            "UPDATE orders SET category = COALESCE(NULLIF(?2, ''),
                (SELECT p.category FROM products p WHERE p.product_id = orders.product_id))
             WHERE order_id = ?1 AND category IS NULL",
        )?
        .execute(params![o.order_id, o.category])?;
    }
    tx.prepare_cached(
        "UPDATE orders SET
            quantity = COALESCE(quantity, NULLIF(?2, 0)),
            total = COALESCE(total, ?3),
            unit_price = COALESCE(?4, unit_price),
            subcategory = COALESCE(subcategory, NULLIF(?5, '')),
            region = COALESCE(region, NULLIF(?6, ''),
                (SELECT NULLIF(p.region, '') FROM products p WHERE p.product_id = orders.product_id)),
            buyer_region = COALESCE(buyer_region, NULLIF(?7, '')),
            placed_at = COALESCE(placed_at, ?8),
            paid_at = COALESCE(paid_at, ?9),
            completed_at = COALESCE(completed_at, ?10),
            cancelled_at = COALESCE(cancelled_at, ?11)
         WHERE order_id = ?1",
    )?
    .execute(params![
        o.order_id,
        o.quantity,
        o.total,
        o.unit_price,
        o.subcategory,
        o.region,
        o.buyer_region,
        placed,
        paid,
        completed,
        cancelled
    ])?;
    Ok(())
}

/// What an order adds to its market's day, if it is a sale of a known
/// category: (category, region key, day, units, total).
type Contribution = (String, String, i64, i64, i64);

fn sale_of(
    tx: &rusqlite::Transaction<'_>,
    order_id: &str,
) -> rusqlite::Result<Option<Contribution>> {
    tx.prepare_cached(&format!(
        "SELECT category, lower(trim(COALESCE(region, ''))), at / 86400, COALESCE(quantity, 0),
            COALESCE(total, 0)
         FROM orders WHERE order_id = ?1 AND category IS NOT NULL AND {SALE}"
    ))?
    .query_row(params![order_id], |r| {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
    })
    .optional()
}

/// Add (`sign` 1) or take away (-1) a sale from its market's day.
fn roll(tx: &rusqlite::Transaction<'_>, c: &Contribution, sign: i64) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "INSERT INTO sales_daily(category, region, day, orders, units, revenue)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT(category, region, day) DO UPDATE SET
            orders = orders + excluded.orders, units = units + excluded.units,
            revenue = revenue + excluded.revenue",
    )?
    .execute(params![c.0, c.1, c.2, sign, sign * c.3, sign * c.4])?;
    Ok(())
}

/// A market's rows of the daily rollup, and their parameters.
fn market_sql(category: &str, region: Option<&str>) -> (String, Vec<String>) {
    match region {
        None => ("category = ?".into(), vec![category.to_owned()]),
        Some(r) => (
            "category = ? AND region = lower(trim(?))".into(),
            vec![category.to_owned(), r.to_owned()],
        ),
    }
}

/// How market sales are grouped: an expression of the rollup's `day`, and
/// the same of an order's `at`.
#[derive(Clone, Copy)]
struct Key {
    day: &'static str,
    at: &'static str,
}

const TOTAL: Key = Key { day: "0", at: "0" };

fn key(grain: Grain) -> Key {
    match grain {
        Grain::Day => Key {
            day: "day * 86400",
            at: "(at - at % 86400)",
        },
        Grain::Week => Key {
            day: "(day * 86400 - (day * 86400 + 259200) % 604800)",
            at: WEEK_START,
        },
        Grain::Month => Key {
            day: "CAST(strftime('%s', day * 86400, 'unixepoch', 'start of month') AS INTEGER)",
            at: "CAST(strftime('%s', at, 'unixepoch', 'start of month') AS INTEGER)",
        },
    }
}

const MONTH_OF_YEAR: Key = Key {
    day: "CAST(strftime('%m', day * 86400, 'unixepoch') AS INTEGER)",
    at: "CAST(strftime('%m', at, 'unixepoch') AS INTEGER)",
};

/// Sales of a market by `key` over `w`, exactly: the whole days inside it
/// from the rollup, the part-days at its ends from the orders.
fn rolled(
    conn: &Connection,
    key: Key,
    category: &str,
    region: Option<&str>,
    w: Window,
) -> rusqlite::Result<Vec<Bucket>> {
    let first = (w.from + 86_399).div_euclid(86_400);
    let last = w.to.div_euclid(86_400);
    let mut sums: BTreeMap<i64, Sales> = BTreeMap::new();
    let mut add = |buckets: Vec<Bucket>| {
        for b in buckets {
            let s = sums.entry(b.key).or_default();
            s.orders += b.sales.orders;
            s.units += b.sales.units;
            s.revenue += b.sales.revenue;
        }
    };
    let scope = Scope::Market {
        category: category.to_owned(),
        region: region.map(str::to_owned),
    };
    if first >= last {
        add(buckets(conn, key.at, &scope, w)?);
    } else {
        let (cond, p) = market_sql(category, region);
        let sql = format!(
            "SELECT {} AS k, SUM(orders), SUM(units), SUM(revenue) FROM sales_daily
             WHERE {cond} AND day >= ? AND day < ? GROUP BY k ORDER BY k",
            key.day
        );
        let mut p: Vec<Box<dyn ToSql>> = p
            .into_iter()
            .map(|s| Box::new(s) as Box<dyn ToSql>)
            .collect();
        p.push(Box::new(first));
        p.push(Box::new(last));
        let mut stmt = conn.prepare_cached(&sql)?;
        let rows = stmt.query_map(refs(&p).as_slice(), |row| {
            Ok(Bucket {
                key: row.get(0)?,
                sales: sales_at(row, 1)?,
            })
        })?;
        add(rows.collect::<rusqlite::Result<_>>()?);
        for part in [
            Window {
                from: w.from,
                to: first * 86_400,
            },
            Window {
                from: last * 86_400,
                to: w.to,
            },
        ] {
            if part.from < part.to {
                add(buckets(conn, key.at, &scope, part)?);
            }
        }
    }
    Ok(sums
        .into_iter()
        .map(|(key, sales)| Bucket { key, sales })
        .collect())
}

fn stored_product(row: &rusqlite::Row<'_>) -> rusqlite::Result<StoredProduct> {
    let tags: Option<String> = row.get(7)?;
    Ok(StoredProduct {
        product_id: row.get(0)?,
        artisan_id: row.get(1)?,
        title: row.get(2)?,
        category: row.get(3)?,
        region: row.get(4)?,
        price: row.get(5)?,
        status: row.get(6)?,
        tags: tags
            .map(|t| t.split('\u{1f}').map(str::to_owned).collect())
            .unwrap_or_default(),
    })
}

const PRODUCT_COLUMNS: &str = "p.product_id, p.artisan_id, p.title, p.category, p.region, p.price,
    p.status, (SELECT group_concat(tag, char(31)) FROM product_tags t WHERE t.product_id = p.product_id)";

/// Products of `owner` (`artisan_id = ?` or `category = ?`) with their
/// figures in a window, ordered by `order`.
fn product_figures(
    conn: &Connection,
    owner: &str,
    value: &str,
    w: Window,
    order: &str,
    n: usize,
) -> rusqlite::Result<Vec<ProductFigures>> {
    let sql = format!(
        "WITH s(product_id, orders, units, revenue) AS (
                SELECT product_id, {SALES_SUMS} FROM orders
                WHERE {owner} = ?1 AND at >= ?2 AND at < ?3 AND {SALE} GROUP BY product_id),
              e(product_id, views, likes, shares, clicks) AS (
                SELECT product_id, {ENGAGEMENT_SUMS} FROM engagement
                WHERE {owner} = ?1 AND at >= ?2 AND at < ?3 GROUP BY product_id)
         SELECT p.product_id, p.title, p.category,
            COALESCE(s.orders, 0), COALESCE(s.units, 0), COALESCE(s.revenue, 0),
            COALESCE(e.views, 0), COALESCE(e.likes, 0), COALESCE(e.shares, 0), COALESCE(e.clicks, 0)
         FROM products p
         LEFT JOIN s ON s.product_id = p.product_id
         LEFT JOIN e ON e.product_id = p.product_id
         WHERE p.{owner} = ?1 AND (s.orders IS NOT NULL OR e.views IS NOT NULL)
         ORDER BY {order}
         LIMIT ?4"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(params![value, w.from, w.to, n as i64], |row| {
        Ok(ProductFigures {
            product_id: row.get(0)?,
            title: row.get(1)?,
            category: row.get(2)?,
            sales: sales_at(row, 3)?,
            engagement: engagement_at(row, 6)?,
        })
    })?;
    rows.collect()
}

fn buckets(
    conn: &Connection,
    key: &str,
    scope: &Scope,
    w: Window,
) -> rusqlite::Result<Vec<Bucket>> {
    let (cond, p) = scope_sql(scope, false, "");
    let sql = format!(
        "SELECT {key} AS k, {SALES_SUMS} FROM orders
         WHERE {cond} AND at >= ? AND at < ? AND {SALE} GROUP BY k ORDER BY k"
    );
    let p = with_window(p, w);
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(refs(&p).as_slice(), |row| {
        Ok(Bucket {
            key: row.get(0)?,
            sales: sales_at(row, 1)?,
        })
    })?;
    rows.collect()
}

/// The start of `at`'s week (Monday, UTC): 1970-01-05 was a Monday.
const WEEK_START: &str = "(at - (at + 259200) % 604800)";

/// A dimension's text in rows of `orders` (`o`) and of `engagement` (`e`);
/// `None` where the table has no such value.
fn dimension_sql(d: Dimension, engagement: bool) -> Option<&'static str> {
    Some(match (d, engagement) {
        (Dimension::Day, _) => "strftime('%Y-%m-%d', x.at, 'unixepoch')",
        (Dimension::Week, _) => {
            "strftime('%Y-%m-%d', (x.at - (x.at + 259200) % 604800), 'unixepoch')"
        }
        (Dimension::Month, _) => "strftime('%Y-%m', x.at, 'unixepoch')",
        (Dimension::Category, _) => "COALESCE(x.category, 'unknown')",
        (Dimension::Region, _) => "COALESCE(NULLIF(x.region, ''), 'unknown')",
        // The title, and the id's last eight digits (a UUIDv7's first are
        // its time); an order whose product is not known yet: "unknown".
        (Dimension::Product, _) => {
            "COALESCE(NULLIF(p.title, ''), 'untitled') || ' · ' || substr(COALESCE(x.product_id, 'unknown'), -8)"
        }
        (Dimension::BuyerRegion, false) => "COALESCE(x.buyer_region, 'unknown')",
        (Dimension::BuyerRegion, true) => return None,
    })
}

fn report_part(
    conn: &Connection,
    q: &ReportQuery,
    engagement: bool,
) -> rusqlite::Result<Vec<(Vec<String>, [i64; 4])>> {
    let keys: Vec<&str> = q
        .dimensions
        .iter()
        .filter_map(|d| dimension_sql(*d, engagement))
        .collect();
    if keys.len() != q.dimensions.len() {
        return Ok(Vec::new());
    }
    let mut cond = vec!["x.at >= ?".to_owned(), "x.at < ?".to_owned()];
    let mut p: Vec<Box<dyn ToSql>> = vec![Box::new(q.window.from), Box::new(q.window.to)];
    for (column, value) in [
        ("x.category = ?", &q.category),
        ("lower(trim(x.region)) = lower(trim(?))", &q.region),
        ("x.artisan_id = ?", &q.artisan_id),
        ("x.product_id = ?", &q.product_id),
    ] {
        if let Some(v) = value {
            cond.push(column.to_owned());
            p.push(Box::new(v.clone()));
        }
    }
    let (table, sums) = if engagement {
        // `kind` and `count` are engagement's alone: unambiguous beside `p`.
        ("engagement", ENGAGEMENT_SUMS.to_owned())
    } else {
        cond.push(sale("x"));
        (
            "orders",
            "COUNT(*), COALESCE(SUM(x.quantity), 0), COALESCE(SUM(x.total), 0), 0".to_owned(),
        )
    };
    let select_keys = if keys.is_empty() {
        "''".to_owned()
    } else {
        keys.iter()
            .enumerate()
            .map(|(i, k)| format!("{k} AS k{i}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let group = if keys.is_empty() {
        String::new()
    } else {
        format!(
            "GROUP BY {}",
            (0..keys.len())
                .map(|i| format!("k{i}"))
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    // At most `limit` groups are read: a series in time order, anything
    // else the biggest first (revenue; views for engagement).
    let width = keys.len().max(1);
    let order = if q.dimensions.iter().any(|d| d.is_time()) || keys.is_empty() {
        (1..=width)
            .map(|i| i.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    } else if engagement {
        format!("{} DESC", width + 1)
    } else {
        format!("{} DESC", width + 3)
    };
    let sql = format!(
        "SELECT {select_keys}, {sums} FROM {table} x
         LEFT JOIN products p ON p.product_id = x.product_id
         WHERE {} {group} ORDER BY {order} LIMIT {}",
        cond.join(" AND "),
        q.limit
    );
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map(refs(&p).as_slice(), |row| {
        let keys = (0..keys.len())
            .map(|i| row.get::<_, String>(i))
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok((
            keys,
            [
                row.get(width)?,
                row.get(width + 1)?,
                row.get(width + 2)?,
                row.get(width + 3)?,
            ],
        ))
    })?;
    rows.collect()
}

impl FactStore for SqliteFacts {
    fn ingest(&self, batch: &[Ingest]) -> Result<usize, FactError> {
        let mut conn = self.writer.lock().map_err(|_| FactError::Poisoned)?;
        let tx = conn.transaction()?;
        let mut new = 0;
        for e in batch {
            if apply(&tx, e)? {
                new += 1;
            }
        }
        tx.commit()?;
        Ok(new)
    }

    fn product(&self, product_id: &str) -> Result<Option<StoredProduct>, FactError> {
        self.read(|c| {
            c.prepare_cached(&format!(
                "SELECT {PRODUCT_COLUMNS} FROM products p WHERE p.product_id = ?1"
            ))?
            .query_row(params![product_id], stored_product)
            .optional()
        })
    }

    fn sales(&self, scope: &Scope, w: Window) -> Result<Sales, FactError> {
        if let Scope::Market { category, region } = scope {
            let all = self.read(|c| rolled(c, TOTAL, category, region.as_deref(), w))?;
            return Ok(all.first().map(|b| b.sales).unwrap_or_default());
        }
        let (cond, p) = scope_sql(scope, false, "");
        let sql = format!(
            "SELECT {SALES_SUMS} FROM orders WHERE {cond} AND at >= ? AND at < ? AND {SALE}"
        );
        let p = with_window(p, w);
        self.read(|c| {
            c.prepare_cached(&sql)?
                .query_row(refs(&p).as_slice(), |row| sales_at(row, 0))
        })
    }

    fn engagement(&self, scope: &Scope, w: Window) -> Result<Engagement, FactError> {
        let (cond, p) = scope_sql(scope, true, "");
        let sql =
            format!("SELECT {ENGAGEMENT_SUMS} FROM engagement WHERE {cond} AND at >= ? AND at < ?");
        let p = with_window(p, w);
        self.read(|c| {
            c.prepare_cached(&sql)?
                .query_row(refs(&p).as_slice(), |row| engagement_at(row, 0))
        })
    }

    fn top_products(
        &self,
        artisan_id: &str,
        w: Window,
        n: usize,
    ) -> Result<Vec<ProductFigures>, FactError> {
        self.read(|c| {
            product_figures(
                c,
                "artisan_id",
                artisan_id,
                w,
                "COALESCE(s.revenue, 0) DESC, COALESCE(e.views, 0) DESC, p.product_id",
                n,
            )
        })
    }

    fn category_products(
        &self,
        category: &str,
        w: Window,
        n: usize,
    ) -> Result<Vec<ProductFigures>, FactError> {
        self.read(|c| {
            product_figures(
                c,
                "category",
                category,
                w,
                "COALESCE(e.views, 0) DESC, p.product_id",
                n,
            )
        })
    }

    fn search_queries(
        &self,
        artisan_id: &str,
        w: Window,
        n: usize,
    ) -> Result<Vec<QueryFigures>, FactError> {
        let sql = format!(
            "WITH imp(q, n) AS (
                SELECT query, SUM(n) FROM impressions
                WHERE artisan_id = ?1 AND day >= ?2 / 86400 AND day < (?3 + 86399) / 86400
                GROUP BY query),
             clk(q, n) AS (
                SELECT s.query, SUM(e.count) FROM engagement e JOIN searches s USING (search_id)
                WHERE e.artisan_id = ?1 AND e.kind = 'click' AND e.at >= ?2 AND e.at < ?3
                GROUP BY s.query),
             ord(q, n) AS (
                SELECT s.query, COUNT(*) FROM orders o JOIN searches s USING (search_id)
                WHERE o.artisan_id = ?1 AND o.at >= ?2 AND o.at < ?3 AND {} GROUP BY s.query),
             qs(q) AS (SELECT q FROM imp UNION SELECT q FROM clk UNION SELECT q FROM ord)
             SELECT qs.q, COALESCE(imp.n, 0), COALESCE(clk.n, 0), COALESCE(ord.n, 0) FROM qs
             LEFT JOIN imp ON imp.q = qs.q LEFT JOIN clk ON clk.q = qs.q LEFT JOIN ord ON ord.q = qs.q
             ORDER BY 4 DESC, 3 DESC, 2 DESC, 1 LIMIT ?4",
            sale("o")
        );
        self.read(|c| {
            let mut stmt = c.prepare_cached(&sql)?;
            let rows = stmt.query_map(params![artisan_id, w.from, w.to, n as i64], |row| {
                Ok(QueryFigures {
                    query: row.get(0)?,
                    impressions: row.get(1)?,
                    clicks: row.get(2)?,
                    orders: row.get(3)?,
                })
            })?;
            rows.collect()
        })
    }

    fn sales_over_time(
        &self,
        scope: &Scope,
        w: Window,
        grain: Grain,
    ) -> Result<Vec<Bucket>, FactError> {
        if let Scope::Market { category, region } = scope {
            return self.read(|c| rolled(c, key(grain), category, region.as_deref(), w));
        }
        self.read(|c| buckets(c, key(grain).at, scope, w))
    }

    fn sales_by_month_of_year(&self, scope: &Scope, w: Window) -> Result<Vec<Bucket>, FactError> {
        if let Scope::Market { category, region } = scope {
            return self.read(|c| rolled(c, MONTH_OF_YEAR, category, region.as_deref(), w));
        }
        self.read(|c| buckets(c, MONTH_OF_YEAR.at, scope, w))
    }

    fn sellers(&self, scope: &Scope, w: Window, up_to: u32) -> Result<u32, FactError> {
        let (cond, p) = scope_sql(scope, false, "");
        let sql = format!(
            "SELECT COUNT(*) FROM (SELECT DISTINCT artisan_id FROM orders
             WHERE {cond} AND at >= ? AND at < ? AND {SALE} AND artisan_id IS NOT NULL LIMIT ?)"
        );
        let mut p = with_window(p, w);
        p.push(Box::new(up_to));
        self.read(|c| {
            c.prepare_cached(&sql)?
                .query_row(refs(&p).as_slice(), |row| row.get(0))
        })
    }

    fn median_unit_price(&self, scope: &Scope, w: Window) -> Result<Option<i64>, FactError> {
        let (cond, p) = scope_sql(scope, false, "");
        let filter = format!(
            "FROM orders WHERE {cond} AND at >= ? AND at < ? AND {SALE}
             AND COALESCE(unit_price, total / quantity) IS NOT NULL"
        );
        let p = with_window(p, w);
        self.read(|c| {
            let n: i64 = c
                .prepare_cached(&format!("SELECT COUNT(*) {filter}"))?
                .query_row(refs(&p).as_slice(), |r| r.get(0))?;
            if n == 0 {
                return Ok(None);
            }
            // The lower and upper middle, averaged for an even count.
            let sql = format!(
                "SELECT COALESCE(unit_price, total / quantity) AS up {filter}
                 ORDER BY up LIMIT ? OFFSET ?"
            );
            let take = if n % 2 == 0 { 2 } else { 1 };
            let mut params = with_window(scope_sql(scope, false, "").1, w);
            params.push(Box::new(take));
            params.push(Box::new((n - 1) / 2));
            let mut stmt = c.prepare_cached(&sql)?;
            let middle = stmt
                .query_map(refs(&params).as_slice(), |r| r.get::<_, i64>(0))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(Some(
                middle.iter().sum::<i64>() / middle.len().max(1) as i64,
            ))
        })
    }

    fn units_by_tag(&self, scope: &Scope, w: Window, n: usize) -> Result<Vec<Count>, FactError> {
        let (cond, p) = scope_sql(scope, false, "o");
        let sql = format!(
            "SELECT t.tag, SUM(o.quantity) AS u FROM orders o
             JOIN product_tags t ON t.product_id = o.product_id
             WHERE {cond} AND o.at >= ? AND o.at < ? AND {}
             GROUP BY t.tag ORDER BY u DESC, t.tag LIMIT ?",
            sale("o")
        );
        let mut p = with_window(p, w);
        p.push(Box::new(n as i64));
        self.read(|c| counts(c, &sql, &p))
    }

    fn units_by_buyer_region(&self, scope: &Scope, w: Window) -> Result<Vec<Count>, FactError> {
        let (cond, p) = scope_sql(scope, false, "");
        let sql = format!(
            "SELECT COALESCE(buyer_region, 'unknown') AS r, SUM(quantity) AS u FROM orders
             WHERE {cond} AND at >= ? AND at < ? AND {SALE}
             GROUP BY r ORDER BY u DESC, r LIMIT 50"
        );
        let p = with_window(p, w);
        self.read(|c| counts(c, &sql, &p))
    }

    fn buyer_categories(&self, buyer_id: &str, w: Window) -> Result<Vec<Count>, FactError> {
        let sql = format!(
            "SELECT COALESCE(category, 'unknown') AS c, COUNT(*) AS n FROM orders
             WHERE buyer_id = ? AND at >= ? AND at < ? AND {SALE}
             GROUP BY c ORDER BY n DESC, c LIMIT 10"
        );
        let p = with_window(vec![buyer_id.to_owned()], w);
        self.read(|c| counts(c, &sql, &p))
    }

    fn liked_products(&self, user_id: &str, n: usize) -> Result<Vec<StoredProduct>, FactError> {
        let sql = format!(
            "WITH l(product_id, n, last) AS (
                SELECT product_id, SUM(CASE kind WHEN 'like' THEN count ELSE -count END), MAX(at)
                FROM engagement WHERE user_id = ?1 AND kind IN ('like', 'unlike')
                GROUP BY product_id)
             SELECT {PRODUCT_COLUMNS} FROM l JOIN products p ON p.product_id = l.product_id
             WHERE l.n > 0 AND p.status <> 'deleted' ORDER BY l.last DESC LIMIT ?2"
        );
        self.read(|c| {
            let mut stmt = c.prepare_cached(&sql)?;
            let rows = stmt.query_map(params![user_id, n as i64], stored_product)?;
            rows.collect()
        })
    }

    fn artisan_categories(&self, artisan_id: &str) -> Result<Vec<String>, FactError> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT DISTINCT category FROM products
                 WHERE artisan_id = ?1 AND category <> '' AND status <> 'deleted'
                 ORDER BY category LIMIT 20",
            )?;
            let rows = stmt.query_map(params![artisan_id], |r| r.get(0))?;
            rows.collect()
        })
    }

    fn suggestions(&self, artisan_id: &str, n: usize) -> Result<Vec<StoredSuggestion>, FactError> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT s.product_id, p.title, p.price, s.suggested, s.low, s.high, s.method, s.at
                 FROM products p JOIN suggestions s ON s.product_id = p.product_id
                 WHERE p.artisan_id = ?1 AND p.status = 'active'
                 ORDER BY s.at DESC LIMIT ?2",
            )?;
            let rows = stmt.query_map(params![artisan_id, n as i64], |r| {
                Ok(StoredSuggestion {
                    product_id: r.get(0)?,
                    title: r.get(1)?,
                    price: r.get(2)?,
                    suggested: r.get(3)?,
                    low: r.get(4)?,
                    high: r.get(5)?,
                    method: r.get(6)?,
                    at: r.get(7)?,
                })
            })?;
            rows.collect()
        })
    }

    fn report(&self, q: &ReportQuery) -> Result<Vec<ReportRow>, FactError> {
        let (sales, engagement) =
            self.read(|c| Ok((report_part(c, q, false)?, report_part(c, q, true)?)))?;
        let mut rows: BTreeMap<Vec<String>, ReportRow> = BTreeMap::new();
        let blank = |keys: &Vec<String>| ReportRow {
            keys: keys.clone(),
            sales: Sales::default(),
            engagement: Engagement::default(),
        };
        for (keys, [orders, units, revenue, _]) in sales {
            rows.entry(keys.clone())
                .or_insert_with(|| blank(&keys))
                .sales = Sales {
                orders,
                units,
                revenue,
            };
        }
        for (keys, [views, likes, shares, clicks]) in engagement {
            rows.entry(keys.clone())
                .or_insert_with(|| blank(&keys))
                .engagement = Engagement {
                views,
                likes: likes.max(0),
                shares,
                clicks,
            };
        }
        let mut rows: Vec<ReportRow> = rows.into_values().collect();
        if !q.dimensions.iter().any(|d| d.is_time()) {
            // Not a series: the biggest first.
            rows.sort_by(|a, b| {
                (b.sales.revenue, b.engagement.views, &a.keys).cmp(&(
                    a.sales.revenue,
                    a.engagement.views,
                    &b.keys,
                ))
            });
        }
        rows.truncate(q.limit);
        Ok(rows)
    }

    fn event_count(&self) -> Result<i64, FactError> {
        self.read(|c| c.query_row("SELECT COUNT(*) FROM events", [], |r| r.get(0)))
    }
}

fn counts(c: &Connection, sql: &str, p: &[Box<dyn ToSql>]) -> rusqlite::Result<Vec<Count>> {
    let mut stmt = c.prepare_cached(sql)?;
    let rows = stmt.query_map(refs(p).as_slice(), |r| {
        Ok(Count {
            name: r.get(0)?,
            count: r.get(1)?,
        })
    })?;
    rows.collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::facts::{EngagementFact, OrderFact};

    fn view(id: &str, at: i64) -> Ingest {
        Ingest {
            event_id: id.into(),
            event_type: "product.engagement".into(),
            subject: "p1".into(),
            at,
            fact: Fact::Engagement(EngagementFact {
                product_id: "p1".into(),
                artisan_id: "a1".into(),
                kind: "view".into(),
                count: 3,
                user_id: String::new(),
                search_id: String::new(),
            }),
        }
    }

    fn order(id: &str, step: OrderStep, at: i64) -> Ingest {
        Ingest {
            event_id: format!("{id}-{step:?}"),
            event_type: "order".into(),
            subject: id.into(),
            at,
            fact: Fact::Order(OrderFact {
                order_id: id.into(),
                step: Some(step),
                product_id: "p1".into(),
                artisan_id: "a1".into(),
                buyer_id: "b1".into(),
                quantity: 2,
                total: Some(5_000),
                ..OrderFact::default()
            }),
        }
    }

    #[test]
    fn a_batch_ingested_twice_counts_once() {
        let dir = tempfile::tempdir().unwrap();
        let facts = SqliteFacts::open(&dir.path().join("facts.sqlite")).unwrap();
        let batch = [
            view("v1", 100),
            view("v2", 200),
            order("o1", OrderStep::Placed, 150),
            order("o1", OrderStep::Paid, 160),
        ];
        assert_eq!(facts.ingest(&batch).unwrap(), 4);
        assert_eq!(facts.ingest(&batch).unwrap(), 0);
        assert_eq!(facts.ingest(&batch[..1]).unwrap(), 0);

        let w = Window { from: 0, to: 1_000 };
        let scope = Scope::Artisan("a1".into());
        assert_eq!(facts.engagement(&scope, w).unwrap().views, 6);
        assert_eq!(
            facts.sales(&scope, w).unwrap(),
            Sales {
                orders: 1,
                units: 2,
                revenue: 5_000
            }
        );
        assert_eq!(facts.event_count().unwrap(), 4);
    }

    fn product(at: i64) -> Ingest {
        Ingest {
            event_id: format!("product-{at}"),
            event_type: "product.created".into(),
            subject: "p1".into(),
            at,
            fact: Fact::Product(crate::facts::ProductFact {
                product_id: "p1".into(),
                artisan_id: "a1".into(),
                title: "Vase".into(),
                category: "pottery".into(),
                subcategory: String::new(),
                region: "Goa".into(),
                price: Some(5_000),
                status: "active".into(),
            }),
        }
    }

    const DAY: i64 = 86_400;

    fn market(facts: &SqliteFacts, region: Option<&str>) -> Sales {
        let scope = Scope::Market {
            category: "pottery".into(),
            region: region.map(str::to_owned),
        };
        facts
            .sales(
                &scope,
                Window {
                    from: 0,
                    to: 10 * DAY,
                },
            )
            .unwrap()
    }

    #[test]
    fn a_cancelled_order_is_no_sale_whatever_the_order_of_its_steps() {
        let dir = tempfile::tempdir().unwrap();
        let facts = SqliteFacts::open(&dir.path().join("facts.sqlite")).unwrap();
        facts.ingest(&[product(0)]).unwrap();
        facts
            .ingest(&[
                order("o1", OrderStep::Paid, 2 * DAY),
                order("o1", OrderStep::Placed, DAY),
            ])
            .unwrap();
        let sale = Sales {
            orders: 1,
            units: 2,
            revenue: 5_000,
        };
        assert_eq!(market(&facts, None), sale);
        assert_eq!(market(&facts, Some(" GOA")), sale);
        assert_eq!(market(&facts, Some("Kerala")), Sales::default());
        let pottery = Scope::Market {
            category: "pottery".into(),
            region: None,
        };
        let all = Window {
            from: 0,
            to: 10 * DAY,
        };
        assert_eq!(facts.sellers(&pottery, all, 3).unwrap(), 1);

        facts
            .ingest(&[order("o1", OrderStep::Cancelled, 3 * DAY)])
            .unwrap();
        assert_eq!(facts.sellers(&pottery, all, 3).unwrap(), 0, "no sale");

        let w = Window {
            from: 0,
            to: 10 * DAY,
        };
        assert_eq!(
            facts.sales(&Scope::Buyer("b1".into()), w).unwrap(),
            Sales::default()
        );
        assert_eq!(
            market(&facts, None),
            Sales::default(),
            "taken out of the rollup"
        );
    }

    #[test]
    fn sales_made_before_their_product_was_known_join_its_market_when_it_is() {
        let dir = tempfile::tempdir().unwrap();
        let facts = SqliteFacts::open(&dir.path().join("facts.sqlite")).unwrap();
        facts
            .ingest(&[
                order("o1", OrderStep::Placed, DAY),
                order("o1", OrderStep::Paid, DAY),
            ])
            .unwrap();
        assert_eq!(market(&facts, None), Sales::default());

        facts.ingest(&[product(0)]).unwrap();

        assert_eq!(market(&facts, None).orders, 1);
        assert_eq!(
            facts
                .sales_over_time(
                    &Scope::Market {
                        category: "pottery".into(),
                        region: None
                    },
                    Window {
                        from: 0,
                        to: 10 * DAY
                    },
                    Grain::Day
                )
                .unwrap()[0]
                .key,
            DAY
        );
    }

    /// The plan SQLite chooses for `sql`.
    fn plan(facts: &SqliteFacts, sql: &str) -> String {
        facts
            .read(|c| {
                let mut stmt = c.prepare(&format!("EXPLAIN QUERY PLAN {sql}"))?;
                let rows = stmt.query_map([], |r| r.get::<_, String>(3))?;
                rows.collect::<rusqlite::Result<Vec<_>>>()
            })
            .unwrap()
            .join("\n")
    }

    #[test]
    fn a_scopes_figures_are_read_through_its_owner_and_time_index() {
        let dir = tempfile::tempdir().unwrap();
        let facts = SqliteFacts::open(&dir.path().join("facts.sqlite")).unwrap();
        for (sql, index) in [
            (
                format!(
                    "SELECT {SALES_SUMS} FROM orders WHERE artisan_id = 'a' AND at >= 0 AND at < 9 AND {SALE}"
                ),
                "orders_artisan_at",
            ),
            (
                format!(
                    "SELECT {SALES_SUMS} FROM orders WHERE category = 'c' AND at >= 0 AND at < 9 AND {SALE}"
                ),
                "orders_category_at",
            ),
            (
                format!(
                    "SELECT {ENGAGEMENT_SUMS} FROM engagement WHERE product_id = 'p' AND at >= 0 AND at < 9"
                ),
                "engagement_product_at",
            ),
            (
                "SELECT SUM(n) FROM impressions WHERE artisan_id = 'a' AND day >= 0 AND day < 9"
                    .to_owned(),
                "PRIMARY KEY",
            ),
        ] {
            let plan = plan(&facts, &sql);
            assert!(plan.contains(index), "{sql}\n{plan}");
            assert!(!plan.contains("SCAN"), "{sql}\n{plan}");
        }
    }
}
