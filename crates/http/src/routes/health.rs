//! Liveness and readiness probes for orchestrators and the smoke test.

use std::collections::BTreeMap;
use std::time::Duration;

use actix_web::{HttpResponse, web};
use loyalty_domain::readiness::{MigrationState, Readiness};
use serde::Serialize;

use crate::blocking::blocking;
use crate::{ApiError, HttpState};

/// Readiness answers within this bound even when the database hangs.
const READINESS_DEADLINE: Duration = Duration::from_millis(1800);

/// The process is up.
///
/// Touches nothing else: an orchestrator's liveness probe.
#[utoipa::path(
    get, path = "/health/live", tag = "operations", operation_id = "liveness",
    responses((status = 200, description = "The process is up.", body = Liveness,
        example = json!({"status": "alive"})))
)]
pub(crate) async fn live() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({ "status": "alive" }))
}

#[derive(utoipa::ToSchema)]
#[expect(dead_code, reason = "describes the body `live` writes")]
pub(crate) struct Liveness {
    status: String,
}

/// Whether the service can serve: `ready`, `not_ready`, or `draining` while it shuts down.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct ReadinessBody {
    status: &'static str,
    checks: Checks,
    /// Why a check failed; only outside production.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    #[schema(value_type = BTreeMap<String, String>)]
    details: BTreeMap<&'static str, String>,
}

/// Each check: `ok`, else what went wrong (`error`, `timeout`, `pending`, `unknown`).
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct Checks {
    database: &'static str,
    migrations: &'static str,
}

/// Whether the service can serve.
///
/// The database answers and every migration is applied; answered within 1.8 s even when the
/// database hangs. 503 while the process drains before it stops.
#[utoipa::path(
    get, path = "/health/ready", tag = "operations", operation_id = "readiness",
    responses(
        (status = 200, description = "Ready to serve.", body = ReadinessBody,
            example = json!({"status": "ready", "checks": {"database": "ok", "migrations": "ok"}})),
        (status = 503, description = "Not ready (a check failed), or draining before shutdown (`{\"status\": \"draining\"}`).",
            body = ReadinessBody),
    )
)]
pub(crate) async fn ready(state: web::Data<HttpState>) -> HttpResponse {
    if state.lifecycle.is_draining() {
        return HttpResponse::ServiceUnavailable()
            .json(serde_json::json!({ "status": "draining" }));
    }
    let probe = state.readiness.clone();
    let checked = tokio::time::timeout(
        READINESS_DEADLINE,
        blocking(move || Ok::<_, ApiError>(probe.check())),
    )
    .await;
    let mut details = BTreeMap::new();
    let (database, migrations) = match checked {
        Ok(Ok(readiness)) => describe(&readiness, &mut details),
        Ok(Err(error)) => {
            details.insert("database", error.to_string());
            ("error", "unknown")
        }
        Err(_) => {
            details.insert("database", "no answer in time".to_owned());
            ("timeout", "unknown")
        }
    };
    let is_ready = database == "ok" && migrations == "ok";
    if !is_ready {
        tracing::warn!(database, migrations, ?details, "not ready");
    }
    if !state.expose_error_details {
        details.clear();
    }
    let body = ReadinessBody {
        status: if is_ready { "ready" } else { "not_ready" },
        checks: Checks {
            database,
            migrations,
        },
        details,
    };
    if is_ready {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}

fn describe(
    readiness: &Readiness,
    details: &mut BTreeMap<&'static str, String>,
) -> (&'static str, &'static str) {
    let database = match &readiness.database {
        Ok(()) => "ok",
        Err(error) => {
            let cause =
                std::error::Error::source(error).map_or_else(String::new, |c| c.to_string());
            details.insert("database", cause);
            "error"
        }
    };
    let migrations = match &readiness.migrations {
        MigrationState::UpToDate => "ok",
        MigrationState::Pending(names) => {
            details.insert("migrations", format!("pending: {}", names.join(", ")));
            "pending"
        }
        MigrationState::Unknown => "unknown",
    };
    (database, migrations)
}
