//! `loyalty tenant …` and `loyalty api-key …`: the operator's commands, straight against the
//! database, through the same use cases the API runs.

use std::sync::Arc;

use loyalty_domain::auth::{KeyRequest, Principal, Role};
use loyalty_domain::tenant::{LoyaltyType, NewTenant, TenantId, Vertical};
use loyalty_domain::validation::ValidationErrors;
use loyalty_domain::{Loyalty, LoyaltyError, SystemClock};
use loyalty_http::ApiEventRenderer;
use loyalty_persistence::{Database, PersistenceError};

use crate::cli::{ApiKeyCommand, JobsCommand, TenantCommand};
use crate::startup::EXPIRY_SWEEP_LOCK;

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("cannot read the migration status")]
    Status(#[source] PersistenceError),
    #[error("the database has {0} pending migration(s): run `loyalty migrate run` first")]
    Pending(usize),
    #[error("refused")]
    Refused(#[source] LoyaltyError),
    #[error("cannot take the job's lock")]
    Lock(#[source] PersistenceError),
    #[error("the sweep skipped {0} record(s) it could not handle; they stay due")]
    SweepIncomplete(usize),
}

impl From<LoyaltyError> for AdminError {
    fn from(error: LoyaltyError) -> Self {
        AdminError::Refused(error)
    }
}

pub(crate) fn invalid(field: &str, message: &str) -> AdminError {
    AdminError::Refused(ValidationErrors::single(field, message).into())
}

/// The use cases over `database`, once its schema is current.
pub(crate) fn service(database: &Database) -> Result<Loyalty, AdminError> {
    let pending = database
        .migration_status()
        .map_err(AdminError::Status)?
        .iter()
        .filter(|m| !m.applied)
        .count();
    if pending > 0 {
        return Err(AdminError::Pending(pending));
    }
    Ok(Loyalty::new(
        Arc::new(database.clone()),
        Arc::new(SystemClock),
        Arc::new(ApiEventRenderer),
    ))
}

pub fn tenant(database: Database, command: TenantCommand) -> Result<(), AdminError> {
    let loyalty = service(&database)?;
    let TenantCommand::Create {
        id,
        name,
        vertical,
        loyalty_type,
        country,
        currency,
        time_zone,
        primary_domain,
        subdomain,
    } = command;
    let new = NewTenant {
        id,
        name,
        vertical: Vertical::parse(&vertical)
            .ok_or_else(|| invalid("vertical", "is not a known vertical"))?,
        loyalty_type: LoyaltyType::parse(&loyalty_type)
            .ok_or_else(|| invalid("loyalty_type", "must be stamps, points or hybrid"))?,
        country,
        currency,
        time_zone: Some(time_zone),
        primary_domain,
        subdomain,
        branding: Default::default(),
        features: Default::default(),
    };
    let tenant = loyalty.create_tenant(&Principal::operator(), new)?;
    println!("created tenant {} ({})", tenant.id, tenant.name);
    Ok(())
}

pub fn api_key(database: Database, command: ApiKeyCommand) -> Result<(), AdminError> {
    let loyalty = service(&database)?;
    let operator = Principal::operator();
    match command {
        ApiKeyCommand::Create {
            tenant,
            role,
            label,
        } => {
            let role = Role::parse(&role)
                .ok_or_else(|| invalid("role", "must be platform_admin, tenant_admin or staff"))?;
            let issued = match (tenant, role) {
                (None, Role::PlatformAdmin) => {
                    loyalty.issue_platform_key(&operator, label.as_deref())?
                }
                (Some(tenant), Role::TenantAdmin | Role::Staff) => {
                    let tenant =
                        TenantId::parse(&tenant).map_err(|e| invalid("tenant", &e.to_string()))?;
                    let request = KeyRequest {
                        role,
                        label,
                        expires_at: None,
                    };
                    loyalty.issue_tenant_key(&operator, &tenant, request)?
                }
                _ => {
                    return Err(invalid(
                        "tenant",
                        "a platform_admin key takes no --tenant; tenant_admin and staff keys need one",
                    ));
                }
            };
            println!("{}", issued.secret);
            eprintln!(
                "issued {} key {} (prefix {}): it is shown only this once",
                issued.key.role.as_str(),
                issued.key.id,
                issued.key.prefix
            );
        }
        ApiKeyCommand::Revoke { prefix } => {
            let key = loyalty.revoke_key_by_prefix(&operator, &prefix)?;
            println!(
                "revoked key {} ({}, prefix {})",
                key.id,
                key.role.as_str(),
                key.prefix
            );
        }
    }
    Ok(())
}

/// Runs a job now; idempotency records and events past their time to live (`retention`) are
/// deleted by the sweep.
/// How long the sweep keeps what it deletes once old.
#[derive(Debug, Clone, Copy)]
pub struct Retention {
    pub idempotency_ttl: std::time::Duration,
    pub events: std::time::Duration,
}

pub fn jobs(
    database: Database,
    retention: Retention,
    command: JobsCommand,
) -> Result<(), AdminError> {
    let loyalty = service(&database)?
        .with_idempotency_ttl(retention.idempotency_ttl)
        .with_events_retention(retention.events);
    let JobsCommand::RunExpiry = command;
    match database
        .exclusively(EXPIRY_SWEEP_LOCK, || loyalty.sweep_expired())
        .map_err(AdminError::Lock)?
    {
        Some(report) => {
            let report = report?;
            println!(
                "expired {} voucher(s); refunded {} point(s); expired {} unspent point(s); \
                 forgot {} idempotency key(s) and {} event(s)",
                report.expired,
                report.refunded_points,
                report.expired_points,
                report.forgotten_idempotency_keys,
                report.forgotten_events
            );
            if !report.failures.is_empty() {
                for failure in &report.failures {
                    eprintln!(
                        "skipped {} of tenant {}: {}",
                        failure.item, failure.tenant, failure.error
                    );
                }
                return Err(AdminError::SweepIncomplete(report.failures.len()));
            }
        }
        None => println!("another process is expiring vouchers right now; nothing done"),
    }
    Ok(())
}
