//! `loyalty import customers`: a CSV file straight into a tenant, through the same use case as
//! the API's import, with progress on the terminal.

use std::fs::File;
use std::io::{IsTerminal, Read};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use loyalty_domain::LoyaltyError;
use loyalty_domain::auth::Principal;
use loyalty_domain::idempotency::Outcome;
use loyalty_domain::import::OnConflict;
use loyalty_domain::service::{Caller, ImportStage};
use loyalty_domain::tenant::TenantId;
use loyalty_persistence::Database;

use crate::admin::{AdminError, invalid, service};
use crate::cli::ImportCommand;

/// How often a terminal that is not interactive (a log, a pipe) gets a line of progress.
const PLAIN_PROGRESS_EVERY: Duration = Duration::from_secs(5);

/// Progress as the terminal can show it: a bar with rows per second when interactive, a plain
/// line every few seconds otherwise.
struct Progress {
    interactive: bool,
    bar: Mutex<Option<(ImportStage, ProgressBar)>>,
    /// The rows the check counted: the length of the writing bar.
    checked: Mutex<u64>,
    last_line: Mutex<Instant>,
}

impl Progress {
    fn new() -> Self {
        Self {
            interactive: std::io::stderr().is_terminal(),
            bar: Mutex::new(None),
            checked: Mutex::new(0),
            last_line: Mutex::new(Instant::now()),
        }
    }

    fn report(&self, stage: ImportStage, rows: u64) {
        if stage == ImportStage::Checking {
            *self.checked.lock().unwrap_or_else(|e| e.into_inner()) = rows;
        }
        let verb = match stage {
            ImportStage::Checking => "checked",
            ImportStage::Writing => "written",
        };
        if !self.interactive {
            let mut last = self.last_line.lock().unwrap_or_else(|e| e.into_inner());
            if last.elapsed() >= PLAIN_PROGRESS_EVERY {
                eprintln!("{rows} rows {verb}");
                *last = Instant::now();
            }
            return;
        }
        let mut current = self.bar.lock().unwrap_or_else(|e| e.into_inner());
        if current.as_ref().is_none_or(|(shown, _)| *shown != stage) {
            if let Some((_, done)) = current.take() {
                done.finish();
            }
            let bar = match stage {
                ImportStage::Checking => ProgressBar::new_spinner()
                    .with_style(style("{spinner} {pos} rows checked ({per_sec})")),
                ImportStage::Writing => {
                    let total = *self.checked.lock().unwrap_or_else(|e| e.into_inner());
                    ProgressBar::new(total).with_style(style(
                        "[{bar:40}] {pos}/{len} rows written ({per_sec}, {eta} left)",
                    ))
                }
            };
            *current = Some((stage, bar));
        }
        if let Some((_, bar)) = current.as_ref() {
            bar.set_position(rows);
        }
    }

    fn finish(&self) {
        if let Some((_, bar)) = self.bar.lock().unwrap_or_else(|e| e.into_inner()).take() {
            bar.finish();
        }
    }
}

fn style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar())
}

pub fn customers(database: Database, command: ImportCommand) -> Result<(), AdminError> {
    let loyalty = service(&database)?;
    let ImportCommand::Customers {
        tenant,
        on_conflict,
        file,
    } = command;
    let tenant = TenantId::parse(&tenant).map_err(|e| invalid("tenant", &e.to_string()))?;
    let on_conflict = match on_conflict.as_str() {
        "skip" => OnConflict::Skip,
        "fail" => OnConflict::Fail,
        _ => return Err(invalid("on_conflict", "must be skip or fail")),
    };
    let principal = Principal::operator_for(tenant);
    let caller = Caller {
        principal: &principal,
        request_id: None,
    };
    let open = || -> std::io::Result<Box<dyn Read>> { Ok(Box::new(File::open(&file)?)) };
    let progress = Progress::new();
    let outcome = loyalty.import_customers(&caller, &open, on_conflict, None, &|stage, rows| {
        progress.report(stage, rows)
    });
    progress.finish();
    match outcome {
        Ok(Outcome::Fresh(imported, _)) => {
            println!(
                "imported {} customer(s); skipped {} row(s) an existing customer matched",
                imported.created, imported.skipped
            );
            Ok(())
        }
        Ok(Outcome::Replayed(_)) => Ok(()),
        Err(LoyaltyError::ImportRefused(problems)) => {
            for problem in &problems {
                eprintln!(
                    "line {}{}: {} ({})",
                    problem.line,
                    problem
                        .column
                        .as_deref()
                        .map(|column| format!(", {column}"))
                        .unwrap_or_default(),
                    problem.detail,
                    problem.code
                );
            }
            Err(LoyaltyError::ImportRefused(problems).into())
        }
        Err(error) => Err(error.into()),
    }
}
