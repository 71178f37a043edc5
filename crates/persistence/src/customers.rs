//! Customers and their accounts on diesel.

use std::borrow::Cow;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use loyalty_domain::StoreError;
use loyalty_domain::customer::{Account, Customer, CustomerLookup};
use loyalty_domain::ids::CustomerId;
use loyalty_domain::page::PageRequest;
use loyalty_domain::store::CustomerRecords;
use loyalty_domain::tenant::TenantId;

use crate::PersistenceError;
use crate::backend::db_run;
use crate::rows::{all_records, convert_one, first_record, naive, tenant_id};
use crate::schema::customers;
use crate::transaction::{Tx, store_error};

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

impl CustomerRecords for Tx<'_> {
    fn insert_customer(&mut self, customer: &Customer) -> Result<(), StoreError> {
        diesel::insert_into(customers::table)
            .values(CustomerRow::from_domain(customer))
            .execute(self.conn)
            .map_err(store_error)?;
        Ok(())
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
}
