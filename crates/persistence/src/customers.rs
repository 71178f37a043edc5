//! Customers and their accounts on diesel.

use std::borrow::Cow;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use loyalty_domain::StoreError;
use loyalty_domain::customer::{Account, Customer, CustomerLookup};
use loyalty_domain::ids::CustomerId;
use loyalty_domain::page::PageRequest;
use loyalty_domain::search::{CustomerQuery, SearchCursor, SearchHit};
use loyalty_domain::store::CustomerRecords;
use loyalty_domain::tenant::TenantId;

use crate::backend::db_run;
use crate::rows::{all_records, convert_one, first_record, naive, tenant_id};
use crate::schema::{customer_search_terms, customers};
use crate::search;
use crate::transaction::{Tx, store_error};
use crate::{DbConnection, PersistenceError};

/// A customer row: read whole, and written whole on insert and on update. Reading yields owned
/// text; writing borrows it from the domain record.
#[derive(Debug, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = customers)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
#[diesel(treat_none_as_null = true)]
struct CustomerRow<'a> {
    tenant_id: Cow<'a, str>,
    id: Cow<'a, str>,
    name: Option<Cow<'a, str>>,
    phone: Option<Cow<'a, str>>,
    email: Option<Cow<'a, str>>,
    external_id: Option<Cow<'a, str>>,
    card_token: Cow<'a, str>,
    balance: i64,
    lifetime_points: i64,
    visits: i64,
    last_visit_at: Option<NaiveDateTime>,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
    points_expire_next_at: Option<NaiveDateTime>,
    erased_at: Option<NaiveDateTime>,
}

impl<'a> CustomerRow<'a> {
    fn from_domain(customer: &'a Customer) -> Self {
        Self {
            tenant_id: Cow::Borrowed(customer.tenant_id.as_str()),
            id: Cow::Borrowed(customer.id.as_str()),
            name: customer.name.as_deref().map(Cow::Borrowed),
            phone: customer.phone.as_deref().map(Cow::Borrowed),
            email: customer.email.as_deref().map(Cow::Borrowed),
            external_id: customer.external_id.as_deref().map(Cow::Borrowed),
            card_token: Cow::Borrowed(&customer.card_token),
            balance: customer.account.balance,
            lifetime_points: customer.account.lifetime_points,
            visits: customer.account.visits,
            last_visit_at: customer.account.last_visit_at.map(naive),
            created_at: naive(customer.created_at),
            updated_at: naive(customer.updated_at),
            points_expire_next_at: customer.account.points_expire_next_at.map(naive),
            erased_at: customer.erased_at.map(naive),
        }
    }

    fn into_domain(self) -> Result<Customer, PersistenceError> {
        Ok(Customer {
            tenant_id: tenant_id(&self.tenant_id)?,
            id: CustomerId::from_stored(self.id.into_owned()),
            name: self.name.map(Cow::into_owned),
            phone: self.phone.map(Cow::into_owned),
            email: self.email.map(Cow::into_owned),
            external_id: self.external_id.map(Cow::into_owned),
            card_token: self.card_token.into_owned(),
            account: Account {
                balance: self.balance,
                lifetime_points: self.lifetime_points,
                visits: self.visits,
                last_visit_at: self.last_visit_at.map(|at| at.and_utc()),
                points_expire_next_at: self.points_expire_next_at.map(|at| at.and_utc()),
            },
            tier: Default::default(),
            created_at: self.created_at.and_utc(),
            updated_at: self.updated_at.and_utc(),
            erased_at: self.erased_at.map(|at| at.and_utc()),
        })
    }
}

/// Customers one statement inserts at most: 16 parameters each stay below both backends'
/// limits.
const CUSTOMERS_PER_STATEMENT: usize = 1_000;

/// Rows one statement writes at most: three parameters each stay far below PostgreSQL's limit
/// of 65,535 per statement.
const ROWS_PER_STATEMENT: usize = 5_000;

/// Inserts search terms, `(customer id, term)`, of the tenant in one statement; a term the
/// customer has already is left as it is.
fn insert_terms(
    conn: &mut DbConnection,
    tenant: &str,
    rows: &[(&str, &str)],
) -> Result<(), StoreError> {
    if rows.is_empty() {
        return Ok(());
    }
    let values: Vec<_> = rows
        .iter()
        .map(|(customer, term)| {
            (
                customer_search_terms::tenant_id.eq(tenant),
                customer_search_terms::term.eq(*term),
                customer_search_terms::customer_id.eq(*customer),
            )
        })
        .collect();
    // One statement for all the terms, which needs the backend's own connection.
    db_run!(conn, |inner| diesel::insert_into(
        customer_search_terms::table
    )
    .values(&values)
    .on_conflict_do_nothing()
    .execute(inner))
    .map_err(store_error)?;
    Ok(())
}

impl CustomerRecords for Tx<'_> {
    fn insert_customer(&mut self, customer: &Customer) -> Result<(), StoreError> {
        diesel::insert_into(customers::table)
            .values(CustomerRow::from_domain(customer))
            .execute(self.conn)
            .map_err(store_error)?;
        Ok(())
    }

    fn insert_customers(&mut self, customers: &[Customer]) -> Result<(), StoreError> {
        for chunk in customers.chunks(CUSTOMERS_PER_STATEMENT) {
            let rows: Vec<CustomerRow> = chunk.iter().map(CustomerRow::from_domain).collect();
            // A multi-row insert needs the backend's own connection.
            db_run!(self.conn, |inner| diesel::insert_into(customers::table)
                .values(&rows)
                .execute(inner))
            .map_err(store_error)?;
        }
        Ok(())
    }

    fn customers_matching(
        &mut self,
        tenant: &TenantId,
        lookups: &[CustomerLookup],
    ) -> Result<Vec<Customer>, StoreError> {
        let mut phones = Vec::new();
        let mut emails = Vec::new();
        let mut external_ids = Vec::new();
        for lookup in lookups {
            match lookup {
                CustomerLookup::Phone(phone) => phones.push(phone.as_str()),
                CustomerLookup::Email(email) => emails.push(email.as_str()),
                CustomerLookup::ExternalId(id) => external_ids.push(id.as_str()),
            }
        }
        all_records(
            self.conn,
            customers::table
                .filter(customers::tenant_id.eq(tenant.as_str()))
                .filter(
                    customers::phone
                        .eq_any(&phones)
                        .or(customers::email.eq_any(&emails))
                        .or(customers::external_id.eq_any(&external_ids)),
                )
                .select(CustomerRow::as_select()),
            CustomerRow::into_domain,
        )
    }

    fn customer(
        &mut self,
        tenant: &TenantId,
        id: &CustomerId,
    ) -> Result<Option<Customer>, StoreError> {
        first_record(
            self.conn,
            customers::table
                .find((tenant.as_str(), id.as_str()))
                .select(CustomerRow::as_select()),
            CustomerRow::into_domain,
        )
    }

    fn customer_for_update(
        &mut self,
        tenant: &TenantId,
        id: &CustomerId,
    ) -> Result<Option<Customer>, StoreError> {
        let key = customers::table.find((tenant.as_str(), id.as_str()));
        let row = db_run!(self.conn, first_for_update(key, CustomerRow)).map_err(store_error)?;
        convert_one(row, CustomerRow::into_domain)
    }

    fn find_customer(
        &mut self,
        tenant: &TenantId,
        lookup: &CustomerLookup,
    ) -> Result<Option<Customer>, StoreError> {
        let query = customers::table
            .filter(customers::tenant_id.eq(tenant.as_str()))
            .select(CustomerRow::as_select())
            .into_boxed();
        let query = match lookup {
            CustomerLookup::Phone(phone) => query.filter(customers::phone.eq(phone.as_str())),
            CustomerLookup::Email(email) => query.filter(customers::email.eq(email.as_str())),
            CustomerLookup::ExternalId(id) => query.filter(customers::external_id.eq(id.as_str())),
        };
        first_record(self.conn, query, CustomerRow::into_domain)
    }

    fn customers(
        &mut self,
        tenant: &TenantId,
        page: &PageRequest,
    ) -> Result<Vec<Customer>, StoreError> {
        let mut query = customers::table
            .filter(customers::tenant_id.eq(tenant.as_str()))
            .filter(customers::erased_at.is_null())
            .select(CustomerRow::as_select())
            .order(customers::id.desc())
            .limit(page.fetch_limit())
            .into_boxed();
        if let Some(after) = &page.after {
            query = query.filter(customers::id.lt(after.as_str()));
        }
        all_records(self.conn, query, CustomerRow::into_domain)
    }

    fn update_customer(&mut self, customer: &Customer) -> Result<(), StoreError> {
        diesel::update(customers::table.find((customer.tenant_id.as_str(), customer.id.as_str())))
            .set(CustomerRow::from_domain(customer))
            .execute(self.conn)
            .map_err(store_error)?;
        Ok(())
    }

    fn customer_by_card(&mut self, card_token: &str) -> Result<Option<Customer>, StoreError> {
        first_record(
            self.conn,
            customers::table
                .filter(customers::card_token.eq(card_token))
                .select(CustomerRow::as_select()),
            CustomerRow::into_domain,
        )
    }

    fn replace_search_terms(
        &mut self,
        tenant: &TenantId,
        customer: &CustomerId,
        terms: &[String],
    ) -> Result<(), StoreError> {
        diesel::delete(
            customer_search_terms::table
                .filter(customer_search_terms::tenant_id.eq(tenant.as_str()))
                .filter(customer_search_terms::customer_id.eq(customer.as_str())),
        )
        .execute(self.conn)
        .map_err(store_error)?;
        self.add_search_terms(tenant, &[(customer.clone(), terms.to_vec())])
    }

    fn search_customers(
        &mut self,
        tenant: &TenantId,
        query: &CustomerQuery,
        after: Option<&SearchCursor>,
        limit: i64,
    ) -> Result<Vec<SearchHit>, StoreError> {
        let hits = search::matches(self.conn, tenant, query, after, limit)?;
        let ids: Vec<&str> = hits.iter().map(|hit| hit.customer_id.as_str()).collect();
        let mut found = all_records(
            self.conn,
            customers::table
                .filter(customers::tenant_id.eq(tenant.as_str()))
                .filter(customers::id.eq_any(&ids))
                .select(CustomerRow::as_select()),
            CustomerRow::into_domain,
        )?;
        // In the matches' order; a customer deleted between the statements drops out.
        Ok(hits
            .iter()
            .filter_map(|hit| {
                let at = found
                    .iter()
                    .position(|c| c.id.as_str() == hit.customer_id)?;
                Some(SearchHit::new(hit.quality, found.swap_remove(at)))
            })
            .collect())
    }

    fn add_search_terms(
        &mut self,
        tenant: &TenantId,
        terms: &[(CustomerId, Vec<String>)],
    ) -> Result<(), StoreError> {
        let rows: Vec<(&str, &str)> = terms
            .iter()
            .flat_map(|(customer, terms)| {
                terms
                    .iter()
                    .map(move |term| (customer.as_str(), term.as_str()))
            })
            .collect();
        for chunk in rows.chunks(ROWS_PER_STATEMENT) {
            insert_terms(self.conn, tenant.as_str(), chunk)?;
        }
        let ids: Vec<&str> = terms
            .iter()
            .map(|(customer, _)| customer.as_str())
            .collect();
        for chunk in ids.chunks(ROWS_PER_STATEMENT) {
            diesel::update(
                customers::table
                    .filter(customers::tenant_id.eq(tenant.as_str()))
                    .filter(customers::id.eq_any(chunk)),
            )
            .set(customers::search_indexed.eq(true))
            .execute(self.conn)
            .map_err(store_error)?;
        }
        Ok(())
    }

    fn unindexed_customers(
        &mut self,
        after: Option<&(TenantId, CustomerId)>,
        limit: i64,
    ) -> Result<Vec<Customer>, StoreError> {
        // From where the last batch ended: the index still holds the rows indexed since, until a
        // vacuum, and reading past them again on every batch would make a backfill quadratic.
        // Every tenant id sorts after the empty text, so without a last batch all rows qualify.
        let (after_tenant, after_id) =
            after.map_or(("", ""), |(tenant, id)| (tenant.as_str(), id.as_str()));
        let unindexed = customers::table
            .filter(customers::search_indexed.eq(false))
            .filter(
                customers::tenant_id
                    .gt(after_tenant)
                    .or(customers::tenant_id
                        .eq(after_tenant)
                        .and(customers::id.gt(after_id))),
            )
            .order((customers::tenant_id, customers::id))
            .limit(limit);
        // Locked, so a profile change meanwhile cannot be indexed and then overwritten with
        // what this transaction read; rows such a change holds are left for the next pass.
        let rows = match &mut *self.conn {
            DbConnection::Postgres(pg) => unindexed
                .select(CustomerRow::as_select())
                .for_update()
                .skip_locked()
                .load(pg),
            DbConnection::Sqlite(sqlite) => unindexed.select(CustomerRow::as_select()).load(sqlite),
        }
        .map_err(store_error)?;
        rows.into_iter()
            .map(|row| row.into_domain().map_err(StoreError::from))
            .collect()
    }
}
