use diesel::r2d2::R2D2Connection;
use loyalty_domain::readiness::{MigrationState, Readiness, ReadinessProbe};

use crate::{Database, PersistenceError, migrations};

impl ReadinessProbe for Database {
    fn check(&self) -> Readiness {
        let unreachable = |error: PersistenceError| Readiness {
            database: Err(error.into()),
            migrations: MigrationState::Unknown,
        };
        let mut conn = match self.conn_for_probe() {
            Ok(conn) => conn,
            Err(error) => return unreachable(error),
        };
        if let Err(error) = conn.ping() {
            return unreachable(error.into());
        }
        let migrations = match migrations::status(&mut conn) {
            Ok(all) => {
                let pending: Vec<String> = all
                    .into_iter()
                    .filter(|m| !m.applied)
                    .map(|m| m.name)
                    .collect();
                if pending.is_empty() {
                    MigrationState::UpToDate
                } else {
                    MigrationState::Pending(pending)
                }
            }
            Err(error) => {
                tracing::warn!(error = ?error, "readiness: cannot read applied migrations");
                MigrationState::Unknown
            }
        };
        Readiness {
            database: Ok(()),
            migrations,
        }
    }
}
