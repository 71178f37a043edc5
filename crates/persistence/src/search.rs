//! The customer search statement: a query's probes against `customer_search_terms`.

use diesel::QueryableByName;
use diesel::RunQueryDsl;
use diesel::sql_types::{Integer, Text};
use loyalty_domain::StoreError;
use loyalty_domain::search::{CustomerQuery, Probe, SearchCursor};
use loyalty_domain::tenant::TenantId;

use crate::DbConnection;
use crate::statement::Statement;
use crate::transaction::store_error;

/// The least text after every text that begins with `prefix`: the prefix with its last byte one
/// higher. Prefix probes are ASCII (folded words, digits, folded emails), so that is text still.
fn prefix_end(prefix: &str) -> String {
    let mut end = prefix.to_owned();
    match end.pop() {
        Some(last) if last.is_ascii() && last != '\u{7f}' => {
            end.push(char::from(last as u8 + 1));
            end
        }
        // Not reached with folded probes: every text with the prefix still sorts below this.
        _ => format!("{prefix}\u{10FFFF}"),
    }
}

/// A customer a search matched, and how well.
#[derive(QueryableByName)]
pub(crate) struct Match {
    #[diesel(sql_type = Text)]
    pub(crate) customer_id: String,
    #[diesel(sql_type = Integer)]
    pub(crate) quality: i32,
}

/// The terms in `column` that `probe` matches, as a condition, and the test that a matching
/// term is an exact match, both over one row.
fn probe_condition(statement: &mut Statement, probe: &Probe, column: &str) -> (String, String) {
    let value = statement.text(probe.value.as_str());
    if probe.prefix {
        let end = statement.text(prefix_end(&probe.value));
        (
            format!("{column} >= {value} AND {column} < {end}"),
            format!("{column} = {value}"),
        )
    } else {
        (format!("{column} = {value}"), "1 = 1".to_owned())
    }
}

/// Up to `limit` customers matching `query`, best quality first, then by id, after `after`.
pub(crate) fn matches(
    conn: &mut DbConnection,
    tenant: &TenantId,
    query: &CustomerQuery,
    after: Option<&SearchCursor>,
    limit: i64,
) -> Result<Vec<Match>, StoreError> {
    let mut statement = Statement::new(conn);
    let tenant_param = statement.text(tenant.as_str());
    let mut groups = Vec::new();
    for group in &query.groups {
        let (exact, partial) = (group.exact.score(), group.partial.score());
        // The longest probe drives (the fewest terms begin with it); every other must match
        // another of the same customer's terms, looked up by customer. Each matching term is a
        // row with its quality; the outer query keeps a customer's best.
        let mut probes: Vec<&Probe> = group.probes.iter().collect();
        probes.sort_by_key(|probe| std::cmp::Reverse(probe.value.len()));
        let Some((driver, others)) = probes.split_first() else {
            continue;
        };
        let (condition, driver_exact) = probe_condition(&mut statement, driver, "d.term");
        let mut filters = String::new();
        let mut all_exact = driver_exact;
        for other in others {
            let (other_condition, _) = probe_condition(&mut statement, other, "o.term");
            let value = statement.text(other.value.as_str());
            filters.push_str(&format!(
                " AND EXISTS (SELECT 1 FROM customer_search_terms o
                              WHERE o.tenant_id = d.tenant_id AND o.customer_id = d.customer_id
                                AND {other_condition})"
            ));
            all_exact.push_str(&format!(
                " AND EXISTS (SELECT 1 FROM customer_search_terms o
                              WHERE o.tenant_id = d.tenant_id AND o.customer_id = d.customer_id
                                AND o.term = {value})"
            ));
        }
        groups.push(format!(
            "SELECT d.customer_id,
                    CASE WHEN {all_exact} THEN {exact} ELSE {partial} END AS quality
             FROM customer_search_terms d
             WHERE d.tenant_id = {tenant_param} AND {condition}{filters}"
        ));
    }
    let resume = match after {
        Some(cursor) => {
            let quality = cursor.quality;
            let id = statement.text(cursor.customer_id.as_str());
            format!("WHERE quality > {quality} OR (quality = {quality} AND customer_id > {id})")
        }
        None => String::new(),
    };
    let sql = format!(
        "SELECT customer_id, quality FROM (
             SELECT customer_id, MIN(quality) AS quality
             FROM ({groups}) groups
             GROUP BY customer_id
         ) hits
         {resume}
         ORDER BY quality, customer_id
         LIMIT {limit}",
        groups = groups.join(" UNION ALL "),
    );
    statement.query(sql).load(conn).map_err(store_error)
}
