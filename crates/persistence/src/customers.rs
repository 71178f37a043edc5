//! Customers and their accounts on diesel.

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
use crate::rows::{convert_all, convert_one, naive, tenant_id};
use crate::schema::customers;
use crate::transaction::{Tx, store_error};

#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = customers)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
struct CustomerRow {
    tenant_id: String,
    id: String,
    name: Option<String>,
    phone: Option<String>,
    email: Option<String>,
    external_id: Option<String>,
    card_token: String,
    balance: i64,
    lifetime_points: i64,
    visits: i64,
    last_visit_at: Option<NaiveDateTime>,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

impl CustomerRow {
    fn into_domain(self) -> Result<Customer, PersistenceError> {
        Ok(Customer {
            tenant_id: tenant_id(&self.tenant_id)?,
            id: CustomerId::from_stored(self.id),
            name: self.name,
            phone: self.phone,
            email: self.email,
            external_id: self.external_id,
            card_token: self.card_token,
            account: Account {
                balance: self.balance,
                lifetime_points: self.lifetime_points,
                visits: self.visits,
                last_visit_at: self.last_visit_at.map(|at| at.and_utc()),
            },
            tier: Default::default(),
            created_at: self.created_at.and_utc(),
            updated_at: self.updated_at.and_utc(),
        })
    }
}

/// A customer as written: the whole row, on insert and on update.
#[derive(Debug, Insertable, AsChangeset)]
#[diesel(table_name = customers)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
#[diesel(treat_none_as_null = true)]
struct NewCustomerRow<'a> {
    tenant_id: &'a str,
    id: &'a str,
    name: Option<&'a str>,
    phone: Option<&'a str>,
    email: Option<&'a str>,
    external_id: Option<&'a str>,
    card_token: &'a str,
    balance: i64,
    lifetime_points: i64,
    visits: i64,
    last_visit_at: Option<NaiveDateTime>,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

impl<'a> NewCustomerRow<'a> {
    fn from_domain(customer: &'a Customer) -> Self {
        Self {
            tenant_id: customer.tenant_id.as_str(),
            id: customer.id.as_str(),
            name: customer.name.as_deref(),
            phone: customer.phone.as_deref(),
            email: customer.email.as_deref(),
            external_id: customer.external_id.as_deref(),
            card_token: &customer.card_token,
            balance: customer.account.balance,
            lifetime_points: customer.account.lifetime_points,
            visits: customer.account.visits,
            last_visit_at: customer.account.last_visit_at.map(naive),
            created_at: naive(customer.created_at),
            updated_at: naive(customer.updated_at),
        }
    }
}

impl CustomerRecords for Tx<'_> {
    fn insert_customer(&mut self, customer: &Customer) -> Result<(), StoreError> {
        diesel::insert_into(customers::table)
            .values(NewCustomerRow::from_domain(customer))
            .execute(self.conn)
            .map_err(store_error)?;
        Ok(())
    }

    fn customer(
        &mut self,
        tenant: &TenantId,
        id: &CustomerId,
    ) -> Result<Option<Customer>, StoreError> {
        convert_one(
            customers::table
                .find((tenant.as_str(), id.as_str()))
                .select(CustomerRow::as_select())
                .first(self.conn)
                .optional()
                .map_err(store_error)?,
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
        convert_one(
            query.first(self.conn).optional().map_err(store_error)?,
            CustomerRow::into_domain,
        )
    }

    fn customers(
        &mut self,
        tenant: &TenantId,
        page: &PageRequest,
    ) -> Result<Vec<Customer>, StoreError> {
        let mut query = customers::table
            .filter(customers::tenant_id.eq(tenant.as_str()))
            .select(CustomerRow::as_select())
            .order(customers::id.desc())
            .limit(page.fetch_limit())
            .into_boxed();
        if let Some(after) = &page.after {
            query = query.filter(customers::id.lt(after.as_str()));
        }
        convert_all(
            query.load(self.conn).map_err(store_error)?,
            CustomerRow::into_domain,
        )
    }

    fn update_customer(&mut self, customer: &Customer) -> Result<(), StoreError> {
        diesel::update(customers::table.find((customer.tenant_id.as_str(), customer.id.as_str())))
            .set(NewCustomerRow::from_domain(customer))
            .execute(self.conn)
            .map_err(store_error)?;
        Ok(())
    }

    fn customer_by_card(&mut self, card_token: &str) -> Result<Option<Customer>, StoreError> {
        convert_one(
            customers::table
                .filter(customers::card_token.eq(card_token))
                .select(CustomerRow::as_select())
                .first(self.conn)
                .optional()
                .map_err(store_error)?,
            CustomerRow::into_domain,
        )
    }
}
