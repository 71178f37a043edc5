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

/// The terms `probe` matches, as a condition, and whether a term is an exact match, as a column.
fn probe_condition(statement: &mut Statement, probe: &Probe) -> (String, String) {
    let value = statement.text(probe.value.as_str());
    if probe.prefix {
        let end = statement.text(prefix_end(&probe.value));
        (
            format!("term >= {value} AND term < {end}"),
            format!("MIN(CASE WHEN term = {value} THEN 0 ELSE 1 END)"),
        )
    } else {
        (format!("term = {value}"), "0".to_owned())
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
        // Each probe gives a row per customer with a term it matches; a customer matches the
        // group when every probe gave one.
        let mut probes = Vec::new();
        for (index, probe) in group.probes.iter().enumerate() {
            let (condition, inexact) = probe_condition(&mut statement, probe);
            probes.push(format!(
                "SELECT customer_id, {index} AS probe, {inexact} AS inexact
                 FROM customer_search_terms
                 WHERE tenant_id = {tenant_param} AND {condition}
                 GROUP BY customer_id"
            ));
        }
        groups.push(format!(
            "SELECT customer_id,
                    CASE WHEN MAX(inexact) = 0 THEN {exact} ELSE {partial} END AS quality
             FROM ({probes}) probes
             GROUP BY customer_id
             HAVING COUNT(*) = {count}",
            probes = probes.join(" UNION ALL "),
            exact = group.exact.score(),
            partial = group.partial.score(),
            count = group.probes.len(),
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
