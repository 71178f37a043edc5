//! Importing customers from a CSV file (tenant admin): every row is checked before anything is
//! written, then all of them are written in one transaction, so an import is all or nothing.

use std::collections::HashMap;
use std::io::Read;

use sha2::{Digest, Sha256};

use super::{Caller, Loyalty, program_of, tenant_of};
use crate::LoyaltyError;
use crate::audit::{AuditAction, AuditEntry, reported};
use crate::auth::Role;
use crate::customer::{Account, Customer, CustomerLookup};
use crate::idempotency::{Idempotent, Outcome};
use crate::ids::CustomerId;
use crate::import::{CustomerFile, ImportProblem, ImportRow, MAX_PROBLEMS, OnConflict};
use crate::ledger::{EntryKind, LedgerEntry, Posting, post};
use crate::lots::{Lot, LotBook};
use crate::search::search_terms;
use crate::secrets::url_token;
use crate::store::{UnitOfWork, reading};
use crate::tenant::TenantId;

/// Rows written per batch of statements.
const ROWS_PER_BATCH: usize = 1_000;

/// Opens the file being imported from its start; an import reads it twice.
pub type OpenFile<'a> = &'a (dyn Fn() -> std::io::Result<Box<dyn Read>> + Sync);

/// What an import did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Imported {
    pub created: u64,
    /// Rows an existing customer already had the phone, email or external id of.
    pub skipped: u64,
}

/// Which pass over the file an import is making.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportStage {
    Checking,
    Writing,
}

/// Told how many rows each pass has done, every batch.
pub type Progress<'a> = &'a (dyn Fn(ImportStage, u64) + Sync);

/// Problems gathered up to the most a refusal lists.
#[derive(Debug, Default)]
struct Problems(Vec<ImportProblem>);

impl Problems {
    fn extend(&mut self, problems: impl IntoIterator<Item = ImportProblem>) {
        let room = MAX_PROBLEMS.saturating_sub(self.0.len());
        self.0.extend(problems.into_iter().take(room));
    }

    fn into_result(self) -> Result<(), LoyaltyError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(LoyaltyError::ImportRefused(self.0))
        }
    }
}

/// A digest of an identifier: 128 bits of its SHA-256, so two different values never pass for
/// the same in any file an import takes.
fn key_digest(field: &str, value: &str) -> u128 {
    let digest = Sha256::new()
        .chain_update(field)
        .chain_update([0])
        .chain_update(value)
        .finalize();
    let mut first = [0u8; 16];
    first.copy_from_slice(&digest[..16]);
    u128::from_le_bytes(first)
}

impl Loyalty {
    /// Imports the customers `open` reads. Every row is checked first (fields, and the same
    /// phone, email or external id twice in the file): any problem refuses the whole file with
    /// every problem listed. Then all rows are written in one transaction; a row matching an
    /// existing customer is skipped or refuses the import, as `on_conflict` says. Opening points
    /// become `opening_balance` entries with lots expiring as the program says; opening visits
    /// become the customers' visit counts.
    pub fn import_customers(
        &self,
        caller: &Caller<'_>,
        open: OpenFile<'_>,
        on_conflict: OnConflict,
        idempotent: Option<Idempotent<'_, Imported>>,
        progress: Progress<'_>,
    ) -> Result<Outcome<Imported>, LoyaltyError> {
        let tenant = caller.principal.tenant_as(Role::TenantAdmin)?;
        let country = reading(self.store.as_ref(), |uow| {
            Ok(tenant_of(uow, tenant)?.country)
        })?;
        let file = || -> Result<CustomerFile<Box<dyn Read>>, LoyaltyError> {
            let source = open().map_err(LoyaltyError::ImportSource)?;
            CustomerFile::open(source, country).map_err(LoyaltyError::ImportRefused)
        };
        check_file(file()?, progress)?;
        let now = self.now();
        let provenance = caller.provenance(now);
        self.idempotently(caller.principal, tenant, idempotent, |uow| {
            let program = program_of(uow, tenant)?;
            let zone = tenant_of(uow, tenant)?.time_zone;
            let mut imported = Imported {
                created: 0,
                skipped: 0,
            };
            let mut problems = Problems::default();
            let mut rows = file()?;
            loop {
                let mut batch: Vec<ImportRow> = Vec::with_capacity(ROWS_PER_BATCH);
                let mut read = 0;
                for row in rows.by_ref().take(ROWS_PER_BATCH) {
                    read += 1;
                    match row {
                        Ok(row) => batch.push(row),
                        Err(row_problems) => problems.extend(row_problems),
                    }
                }
                if read == 0 {
                    break;
                }
                let fresh = without_existing(uow, tenant, batch, on_conflict, &mut problems)?;
                imported.skipped += (fresh.total - fresh.rows.len()) as u64;
                let mut customers = Vec::with_capacity(fresh.rows.len());
                let mut entries: Vec<LedgerEntry> = Vec::new();
                let mut lots: Vec<(CustomerId, Lot)> = Vec::new();
                for row in fresh.rows {
                    let mut customer = Customer {
                        id: CustomerId::generate(),
                        tenant_id: tenant.clone(),
                        name: row.details.name,
                        phone: row.details.phone,
                        email: row.details.email,
                        external_id: row.details.external_id,
                        card_token: url_token::<16>().map_err(LoyaltyError::Randomness)?,
                        account: Account {
                            visits: row.opening_visits,
                            ..Account::default()
                        },
                        tier: program.standing(0),
                        created_at: now,
                        updated_at: now,
                        erased_at: None,
                    };
                    if row.opening_points > 0 {
                        let posting = Posting::new(EntryKind::OpeningBalance, row.opening_points);
                        let entry = post(&mut customer, vec![posting], &provenance)?;
                        let mut book = LotBook::new(Vec::new());
                        for opening in &entry {
                            book.credit(
                                opening.points,
                                &opening.id,
                                now,
                                program.points_expiry(now, zone),
                            );
                        }
                        customer.account.points_expire_next_at = book.next_expiry();
                        lots.extend(
                            book.lots()
                                .iter()
                                .map(|lot| (customer.id.clone(), lot.clone())),
                        );
                        entries.extend(entry);
                    }
                    customers.push(customer);
                }
                imported.created += customers.len() as u64;
                uow.insert_customers(&customers)?;
                let terms: Vec<(CustomerId, Vec<String>)> = customers
                    .iter()
                    .map(|c| (c.id.clone(), search_terms(c)))
                    .collect();
                uow.add_search_terms(tenant, &terms)?;
                uow.append_entries(&entries)?;
                uow.insert_lots(tenant, &lots)?;
                progress(ImportStage::Writing, imported.created + imported.skipped);
            }
            problems.into_result()?;
            let on_conflict = match on_conflict {
                OnConflict::Skip => "skip",
                OnConflict::Fail => "fail",
            };
            let entry = AuditEntry::new(
                tenant,
                caller.principal,
                AuditAction::CustomersImported,
                tenant.as_str(),
                vec![
                    reported("created", imported.created.into()),
                    reported("skipped", imported.skipped.into()),
                    reported("on_conflict", on_conflict.into()),
                ],
                now,
            )
            .with_request(caller.request_id.clone());
            uow.append_audit(&entry)?;
            Ok(imported)
        })
    }
}

/// Reads the whole file, checking each row and that no phone, email or external id appears
/// twice; refuses it with every problem (up to the most a refusal lists).
fn check_file(
    file: CustomerFile<Box<dyn Read>>,
    progress: Progress<'_>,
) -> Result<(), LoyaltyError> {
    let mut problems = Problems::default();
    // Digests, not the values: the memory a check takes stays small for a big file.
    let mut seen: HashMap<u128, u64> = HashMap::new();
    let mut rows = 0u64;
    for row in file {
        rows += 1;
        match row {
            Ok(row) => {
                for (field, lookup) in row.details.unique_keys() {
                    let value = match &lookup {
                        CustomerLookup::Phone(v)
                        | CustomerLookup::Email(v)
                        | CustomerLookup::ExternalId(v) => v,
                    };
                    if let Some(first) = seen.insert(key_digest(field, value), row.line) {
                        problems.extend([ImportProblem {
                            line: row.line,
                            column: Some(field.to_owned()),
                            code: "duplicate_in_file",
                            detail: format!("line {first} has the same {field}"),
                        }]);
                    }
                }
            }
            Err(row_problems) => problems.extend(row_problems),
        }
        if rows.is_multiple_of(ROWS_PER_BATCH as u64) {
            progress(ImportStage::Checking, rows);
        }
    }
    progress(ImportStage::Checking, rows);
    problems.into_result()
}

/// A batch's rows that no existing customer matches, and how many rows the batch had.
struct FreshRows {
    rows: Vec<ImportRow>,
    total: usize,
}

/// Leaves out the rows whose phone, email or external id an existing customer of the tenant
/// has: skipped, or each a problem when the import is to fail on them.
fn without_existing(
    uow: &mut dyn UnitOfWork,
    tenant: &TenantId,
    batch: Vec<ImportRow>,
    on_conflict: OnConflict,
    problems: &mut Problems,
) -> Result<FreshRows, LoyaltyError> {
    let total = batch.len();
    let lookups: Vec<CustomerLookup> = batch
        .iter()
        .flat_map(|row| {
            row.details
                .unique_keys()
                .into_iter()
                .map(|(_, lookup)| lookup)
        })
        .collect();
    let existing = uow.customers_matching(tenant, &lookups)?;
    let clash = |row: &ImportRow| -> Option<&'static str> {
        existing.iter().find_map(|customer| {
            let same =
                |mine: &Option<String>, theirs: &Option<String>| mine.is_some() && mine == theirs;
            if same(&row.details.phone, &customer.phone) {
                Some("phone")
            } else if same(&row.details.email, &customer.email) {
                Some("email")
            } else if same(&row.details.external_id, &customer.external_id) {
                Some("external_id")
            } else {
                None
            }
        })
    };
    let mut rows = Vec::with_capacity(total);
    for row in batch {
        match (clash(&row), on_conflict) {
            (None, _) => rows.push(row),
            (Some(_), OnConflict::Skip) => {}
            (Some(field), OnConflict::Fail) => problems.extend([ImportProblem {
                line: row.line,
                column: Some(field.to_owned()),
                code: "customer_exists",
                detail: format!("a customer of the tenant already has this {field}"),
            }]),
        }
    }
    Ok(FreshRows { rows, total })
}
