//! `/metrics`: Prometheus text that a Prometheus parser reads, behind `METRICS_TOKEN`, counting
//! requests by route, ledger entries and vouchers once each as they commit, the database gate,
//! and the expiry sweep's last run.

use std::time::Duration;

use prom_text_format_parser::{Scrape, ValueType};
use serde_json::json;

use crate::support::{Backend, TestApp, TestDb, quick_program};

const TOKEN: &str = "metrics-token-for-tests";

async fn scrape(app: &TestApp) -> Scrape {
    let response = app
        .client
        .get(app.url("/metrics"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "text/plain; version=0.0.4"
    );
    let text = response.text().await.unwrap();
    Scrape::parse(&text).unwrap_or_else(|error| panic!("{error:?} in\n{text}"))
}

/// The value of the one sample of `metric` (a histogram's `_count` with `ValueType::Count`) with
/// all of `labels`; 0 when there is none.
fn sample_value(scrape: &Scrape, metric: &str, of: ValueType, labels: &[(&str, &str)]) -> f64 {
    let matching: Vec<f64> = scrape
        .metrics
        .iter()
        .filter(|m| m.name == metric)
        .flat_map(|m| &m.samples)
        .filter(|s| s.value.value_type == of)
        .filter(|s| {
            labels
                .iter()
                .all(|(k, v)| s.labels.iter().any(|l| l.key == *k && l.value == *v))
        })
        .map(|s| s.value.value.as_f64())
        .collect();
    assert!(matching.len() <= 1, "{metric} {labels:?}: {matching:?}");
    matching.first().copied().unwrap_or(0.0)
}

fn value(scrape: &Scrape, metric: &str, labels: &[(&str, &str)]) -> f64 {
    sample_value(scrape, metric, ValueType::Sample, labels)
}

on_both_backends! {
    async fn metrics_count_requests_entries_and_vouchers_once_each(backend) {
        let app = TestApp::spawn_with(
            TestDb::create(backend),
            &[("METRICS_TOKEN", TOKEN), ("EXPIRY_SWEEP_INTERVAL_SECS", "1")],
        )
        .await;
        let platform = app.platform_key();
        let tenant = app.tenant(&platform, "metered").await;
        app.program(&tenant.admin, quick_program(10)).await;
        let reward = app
            .reward(&tenant.admin, json!({"name": "Coffee", "cost_points": 5}))
            .await;
        let customer = app.enrol(&tenant.staff, json!({"phone": "+4915123456789"})).await;
        let visits = format!("/api/v1/customers/{customer}/visits");
        for key in ["visit-1", "visit-2", "visit-1"] {
            let (status, body) = app
                .call("POST", &visits, &tenant.staff, Some(key), Some(json!({})))
                .await;
            assert_eq!(status, 201, "{body}");
        }
        let redemptions = format!("/api/v1/customers/{customer}/redemptions");
        let first = app
            .created(&redemptions, &tenant.staff, Some("redeem-1"), json!({"reward_id": reward}))
            .await;
        let second = app
            .created(&redemptions, &tenant.staff, Some("redeem-2"), json!({"reward_id": reward}))
            .await;
        let (status, _) = app
            .call(
                "POST",
                "/api/v1/redemptions/fulfill",
                &tenant.staff,
                None,
                Some(json!({"code": first["code"]})),
            )
            .await;
        assert_eq!(status, 200);
        let cancel = format!("/api/v1/redemptions/{}/cancel", second["id"].as_str().unwrap());
        let (status, _) = app.call("POST", &cancel, &tenant.staff, None, None).await;
        assert_eq!(status, 200);
        assert_eq!(app.get("/no/such/route/at/all").await.status(), 404);

        let unauthorised = app.get("/metrics").await;
        assert_eq!(unauthorised.status(), 401);
        let wrong = app
            .client
            .get(app.url("/metrics"))
            .bearer_auth("not-the-token")
            .send()
            .await
            .unwrap();
        assert_eq!(wrong.status(), 401);

        let metrics = scrape(&app).await;
        let visit_route = [
            ("route", "/api/v1/customers/{id}/visits"),
            ("method", "POST"),
        ];
        let created = [visit_route[0], visit_route[1], ("status", "201")];
        assert_eq!(value(&metrics, "http_requests_total", &created), 3.0, "the replay too");
        assert_eq!(
            sample_value(
                &metrics,
                "http_request_duration_seconds",
                ValueType::Count,
                &visit_route
            ),
            3.0
        );
        let unmatched = [("route", "unmatched"), ("method", "GET"), ("status", "404")];
        assert_eq!(value(&metrics, "http_requests_total", &unmatched), 1.0);
        let refused = [("route", "/metrics"), ("method", "GET"), ("status", "401")];
        assert_eq!(value(&metrics, "http_requests_total", &refused), 2.0);

        let entries = |kind| value(&metrics, "loyalty_ledger_entries_total", &[("kind", kind)]);
        assert_eq!(entries("visit"), 2.0, "a replayed visit is not posted again");
        assert_eq!(entries("redemption"), 2.0);
        assert_eq!(entries("refund"), 1.0);
        assert_eq!(entries("purchase"), 0.0);
        let vouchers = |outcome| {
            value(&metrics, "loyalty_redemptions_total", &[("outcome", outcome)])
        };
        assert_eq!(vouchers("issued"), 2.0);
        assert_eq!(vouchers("fulfilled"), 1.0);
        assert_eq!(vouchers("cancelled"), 1.0);

        assert_eq!(value(&metrics, "loyalty_db_pool_size", &[]), 10.0);
        assert_eq!(value(&metrics, "loyalty_db_pool_in_use", &[]), 0.0);
        assert_eq!(value(&metrics, "loyalty_db_pool_waiters", &[]), 0.0);

        let mut swept = metrics;
        for _ in 0..50 {
            if value(&swept, "loyalty_expiry_sweep_last_run_timestamp_seconds", &[]) > 0.0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
            swept = scrape(&app).await;
        }
        let last_run = value(&swept, "loyalty_expiry_sweep_last_run_timestamp_seconds", &[]);
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs_f64();
        assert!((now - last_run).abs() < 30.0, "last run {last_run}, now {now}");
        assert_eq!(value(&swept, "loyalty_expiry_sweep_last_success", &[]), 1.0);
        assert_eq!(value(&swept, "loyalty_expiry_sweep_last_expired_vouchers", &[]), 0.0);
    }
}

#[actix_web::test]
async fn without_a_token_metrics_are_open_and_never_rate_limited() {
    let app = TestApp::spawn_with(
        TestDb::create(Backend::Sqlite),
        &[
            ("RATE_LIMIT_API_PER_MINUTE", "1"),
            ("RATE_LIMIT_CARDS_PER_MINUTE", "1"),
        ],
    )
    .await;
    for _ in 0..5 {
        let response = app.get("/metrics").await;
        assert_eq!(response.status(), 200);
    }
}
