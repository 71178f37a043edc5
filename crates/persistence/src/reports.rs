//! The owner's reports on diesel: aggregates over the ledger, the vouchers and the customers of
//! one tenant within a range, on the `(tenant_id, created_at)` indexes, grouped by local day in
//! SQL both backends run.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text};
use loyalty_domain::StoreError;
use loyalty_domain::ids::CustomerId;
use loyalty_domain::ledger::EntryKind;
use loyalty_domain::reports::{Activity, ISSUING_KINDS, LocalDays, TopBy, TopCustomer};
use loyalty_domain::store::ReportRecords;
use loyalty_domain::tenant::TenantId;
use loyalty_domain::voucher::VoucherStatus;

use crate::rows::naive;
use crate::schema::customers;
use crate::statement::Statement;
use crate::transaction::{Tx, store_error};

const SECONDS_PER_DAY: i64 = 86_400;

/// One group's ledger figures.
#[derive(QueryableByName)]
struct LedgerFigures {
    #[diesel(sql_type = BigInt)]
    day: i64,
    #[diesel(sql_type = BigInt)]
    active_customers: i64,
    #[diesel(sql_type = BigInt)]
    visits: i64,
    #[diesel(sql_type = BigInt)]
    purchases: i64,
    #[diesel(sql_type = BigInt)]
    purchase_amount_minor: i64,
    #[diesel(sql_type = BigInt)]
    points_issued: i64,
    #[diesel(sql_type = BigInt)]
    points_redeemed: i64,
    #[diesel(sql_type = BigInt)]
    points_expired: i64,
    #[diesel(sql_type = BigInt)]
    net_points: i64,
}

/// How many of something a group holds.
#[derive(QueryableByName)]
struct Tally {
    #[diesel(sql_type = BigInt)]
    day: i64,
    #[diesel(sql_type = Text)]
    what: String,
    #[diesel(sql_type = BigInt)]
    count: i64,
}

#[derive(QueryableByName)]
struct Total {
    #[diesel(sql_type = Nullable<BigInt>)]
    total: Option<i64>,
}

#[derive(QueryableByName)]
struct Ranked {
    #[diesel(sql_type = Text)]
    customer_id: String,
    #[diesel(sql_type = BigInt)]
    visits: i64,
    #[diesel(sql_type = BigInt)]
    purchases: i64,
    #[diesel(sql_type = BigInt)]
    purchase_amount_minor: i64,
    #[diesel(sql_type = BigInt)]
    points_issued: i64,
}

fn quoted(kind: EntryKind) -> String {
    format!("'{}'", kind.as_str())
}

/// The SQL sums of one range's entries, shared by the totals and the top list.
fn entry_sums() -> String {
    let issuing = ISSUING_KINDS.map(quoted).join(", ");
    let (visit, purchase) = (quoted(EntryKind::Visit), quoted(EntryKind::Purchase));
    let adjustment = quoted(EntryKind::Adjustment);
    format!(
        "CAST(COALESCE(SUM(CASE WHEN kind = {visit} THEN 1 ELSE 0 END), 0) AS BIGINT) AS visits,
         CAST(COALESCE(SUM(CASE WHEN kind = {purchase} THEN 1 ELSE 0 END), 0) AS BIGINT)
             AS purchases,
         CAST(COALESCE(SUM(CASE WHEN kind = {purchase} THEN amount_minor ELSE 0 END), 0) AS BIGINT)
             AS purchase_amount_minor,
         CAST(COALESCE(SUM(CASE WHEN kind IN ({issuing})
                                  OR (kind = {adjustment} AND points > 0)
                                THEN points ELSE 0 END), 0) AS BIGINT) AS points_issued"
    )
}

/// The index of the local day `column` falls on, counted from `days.first`: its local time is
/// the UTC time plus the zone's offset then, which changes only at the spans' ends.
fn day_index(statement: &mut Statement, column: &str, days: Option<&LocalDays>) -> String {
    let Some(days) = days else {
        return "CAST(0 AS BIGINT)".to_owned();
    };
    let (last, earlier) = days
        .offsets
        .split_last()
        .map_or((0, &[][..]), |(last, earlier)| {
            (last.offset_seconds, earlier)
        });
    let offset = if earlier.is_empty() {
        last.to_string()
    } else {
        let mut offset = String::from("CASE");
        for span in earlier {
            let until = statement.timestamp(span.until);
            offset.push_str(&format!(
                " WHEN {column} < {until} THEN {}",
                span.offset_seconds
            ));
        }
        offset.push_str(&format!(" ELSE {last} END"));
        offset
    };
    let first = days
        .first
        .and_time(chrono::NaiveTime::MIN)
        .and_utc()
        .timestamp();
    format!(
        "CAST(({epoch} + {offset} - {first}) / {SECONDS_PER_DAY} AS BIGINT)",
        epoch = statement.epoch_seconds(column),
    )
}

impl Tx<'_> {
    fn ledger_figures(
        &mut self,
        tenant: &TenantId,
        (from, until): (DateTime<Utc>, DateTime<Utc>),
        days: Option<&LocalDays>,
    ) -> Result<Vec<LedgerFigures>, StoreError> {
        let mut statement = Statement::new(self.conn);
        let day = day_index(&mut statement, "created_at", days);
        let (tenant, from, until) = (
            statement.text(tenant.as_str()),
            statement.timestamp(from),
            statement.timestamp(until),
        );
        let active = [EntryKind::Visit, EntryKind::Purchase]
            .map(quoted)
            .join(", ");
        let redemption = quoted(EntryKind::Redemption);
        let expiry = quoted(EntryKind::Expiry);
        let sql = format!(
            "SELECT {day} AS day,
                    COUNT(DISTINCT CASE WHEN kind IN ({active}) THEN customer_id END)
                        AS active_customers,
                    {sums},
                    CAST(COALESCE(-SUM(CASE WHEN kind = {redemption} THEN points ELSE 0 END), 0)
                        AS BIGINT) AS points_redeemed,
                    CAST(COALESCE(-SUM(CASE WHEN kind = {expiry} THEN points ELSE 0 END), 0)
                        AS BIGINT) AS points_expired,
                    CAST(COALESCE(SUM(points), 0) AS BIGINT) AS net_points
             FROM ledger_entries
             WHERE tenant_id = {tenant} AND created_at >= {from} AND created_at < {until}
             GROUP BY 1",
            sums = entry_sums(),
        );
        statement.query(sql).load(self.conn).map_err(store_error)
    }

    /// Vouchers issued, fulfilled and expired in the range, and customers enrolled.
    fn tallies(
        &mut self,
        tenant: &TenantId,
        (from, until): (DateTime<Utc>, DateTime<Utc>),
        days: Option<&LocalDays>,
        now: DateTime<Utc>,
    ) -> Result<Vec<Tally>, StoreError> {
        let mut statement = Statement::new(self.conn);
        let issued_day = day_index(&mut statement, "created_at", days);
        let closed_day = day_index(&mut statement, "closed_at", days);
        let expiry_day = day_index(&mut statement, "expires_at", days);
        let enrolled_day = day_index(&mut statement, "created_at", days);
        let (tenant, from, until, expired_until) = (
            statement.text(tenant.as_str()),
            statement.timestamp(from),
            statement.timestamp(until),
            statement.timestamp(until.min(now)),
        );
        let status = |s: VoucherStatus| format!("'{}'", s.as_str());
        let (fulfilled, issued, expired) = (
            status(VoucherStatus::Fulfilled),
            status(VoucherStatus::Issued),
            status(VoucherStatus::Expired),
        );
        let sql = format!(
            "SELECT {issued_day} AS day, 'vouchers_issued' AS what, COUNT(*) AS count
             FROM redemptions
             WHERE tenant_id = {tenant} AND created_at >= {from} AND created_at < {until}
             GROUP BY 1
             UNION ALL
             SELECT {closed_day}, 'vouchers_fulfilled', COUNT(*)
             FROM redemptions
             WHERE tenant_id = {tenant} AND status = {fulfilled}
               AND closed_at >= {from} AND closed_at < {until}
             GROUP BY 1
             UNION ALL
             SELECT {expiry_day}, 'vouchers_expired', COUNT(*)
             FROM redemptions
             WHERE tenant_id = {tenant} AND status IN ({issued}, {expired})
               AND expires_at >= {from} AND expires_at < {expired_until}
             GROUP BY 1
             UNION ALL
             SELECT {enrolled_day}, 'new_customers', COUNT(*)
             FROM customers
             WHERE tenant_id = {tenant} AND created_at >= {from} AND created_at < {until}
             GROUP BY 1"
        );
        statement.query(sql).load(self.conn).map_err(store_error)
    }

    fn total(&mut self, sql: String, statement: Statement) -> Result<i64, StoreError> {
        let totals: Vec<Total> = statement.query(sql).load(self.conn).map_err(store_error)?;
        Ok(totals.first().and_then(|t| t.total).unwrap_or(0))
    }
}

impl ReportRecords for Tx<'_> {
    fn activity(
        &mut self,
        tenant: &TenantId,
        made: (DateTime<Utc>, DateTime<Utc>),
        days: Option<&LocalDays>,
        now: DateTime<Utc>,
    ) -> Result<Vec<(i64, Activity)>, StoreError> {
        let mut by_day: BTreeMap<i64, Activity> = BTreeMap::new();
        for row in self.ledger_figures(tenant, made, days)? {
            let activity = by_day.entry(row.day).or_default();
            activity.active_customers = row.active_customers;
            activity.visits = row.visits;
            activity.purchases = row.purchases;
            activity.purchase_amount_minor = row.purchase_amount_minor;
            activity.points_issued = row.points_issued;
            activity.points_redeemed = row.points_redeemed;
            activity.points_expired = row.points_expired;
            activity.net_points = row.net_points;
        }
        for tally in self.tallies(tenant, made, days, now)? {
            let activity = by_day.entry(tally.day).or_default();
            let field = match tally.what.as_str() {
                "vouchers_issued" => &mut activity.vouchers_issued,
                "vouchers_fulfilled" => &mut activity.vouchers_fulfilled,
                "vouchers_expired" => &mut activity.vouchers_expired,
                _ => &mut activity.new_customers,
            };
            *field = tally.count;
        }
        Ok(by_day.into_iter().collect())
    }

    fn customers_enrolled_before(
        &mut self,
        tenant: &TenantId,
        before: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        customers::table
            .filter(customers::tenant_id.eq(tenant.as_str()))
            .filter(customers::created_at.lt(naive(before)))
            .count()
            .get_result(self.conn)
            .map_err(store_error)
    }

    fn points_outstanding(&mut self, tenant: &TenantId) -> Result<i64, StoreError> {
        let mut statement = Statement::new(self.conn);
        let tenant = statement.text(tenant.as_str());
        self.total(
            format!(
                "SELECT CAST(SUM(balance) AS BIGINT) AS total FROM customers
                 WHERE tenant_id = {tenant}"
            ),
            statement,
        )
    }

    fn net_points_since(
        &mut self,
        tenant: &TenantId,
        since: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        let mut statement = Statement::new(self.conn);
        let (tenant, since) = (statement.text(tenant.as_str()), statement.timestamp(since));
        self.total(
            format!(
                "SELECT CAST(SUM(points) AS BIGINT) AS total FROM ledger_entries
                 WHERE tenant_id = {tenant} AND created_at >= {since}"
            ),
            statement,
        )
    }

    fn top_customers(
        &mut self,
        tenant: &TenantId,
        (from, until): (DateTime<Utc>, DateTime<Utc>),
        by: TopBy,
        limit: i64,
    ) -> Result<Vec<TopCustomer>, StoreError> {
        let mut statement = Statement::new(self.conn);
        let (tenant_param, from, until) = (
            statement.text(tenant.as_str()),
            statement.timestamp(from),
            statement.timestamp(until),
        );
        let ranked_by = match by {
            TopBy::Visits => "visits",
            TopBy::Spend => "purchase_amount_minor",
            TopBy::Points => "points_issued",
        };
        let sql = format!(
            "SELECT customer_id, visits, purchases, purchase_amount_minor, points_issued FROM (
                 SELECT customer_id, {sums}
                 FROM ledger_entries
                 WHERE tenant_id = {tenant_param} AND created_at >= {from} AND created_at < {until}
                 GROUP BY customer_id
             ) sums
             WHERE {ranked_by} > 0
             ORDER BY {ranked_by} DESC, customer_id
             LIMIT {limit}",
            sums = entry_sums(),
        );
        let ranked: Vec<Ranked> = statement.query(sql).load(self.conn).map_err(store_error)?;
        let ids: Vec<&str> = ranked.iter().map(|r| r.customer_id.as_str()).collect();
        let names: BTreeMap<String, Option<String>> = customers::table
            .filter(customers::tenant_id.eq(tenant.as_str()))
            .filter(customers::id.eq_any(&ids))
            .select((customers::id, customers::name))
            .load(self.conn)
            .map_err(store_error)?
            .into_iter()
            .collect();
        Ok(ranked
            .into_iter()
            .map(|r| TopCustomer {
                name: names.get(&r.customer_id).cloned().flatten(),
                customer_id: CustomerId::from_stored(r.customer_id),
                visits: r.visits,
                purchases: r.purchases,
                purchase_amount_minor: r.purchase_amount_minor,
                points_issued: r.points_issued,
            })
            .collect())
    }
}
