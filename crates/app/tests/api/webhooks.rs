//! Webhooks: endpoints registered through the API get every event, signed the Standard Webhooks
//! way, at least once and in the feed's order, retried with backoff; endpoints that fail too
//! long are disabled; production only sends over https to public addresses.

use std::collections::{BTreeSet, HashMap};
use std::rc::Rc;
use std::time::Duration;

use serde_json::{Value, json};

use crate::events::{EveryEvent, cause_every_event, read_feed};
use crate::receiver::{Answer, Receiver, verifies};
use crate::replicas::{ServerProcess, behind_pgbouncer, one_process};
use crate::support::{self, Backend, ManualClock, Tenant, TestApp, TestDb, quick_program};

/// Long enough for a loaded CI machine; deliveries normally take milliseconds.
const PATIENCE: Duration = Duration::from_secs(30);

/// Registers an endpoint at `url` for `events`; returns its id and secret.
async fn register(app: &TestApp, admin: &str, url: &str, events: Value) -> (String, String) {
    let created = app
        .created(
            "/api/v1/webhooks",
            admin,
            None,
            json!({"url": url, "events": events}),
        )
        .await;
    let id = created["id"].as_str().unwrap().to_owned();
    (id, created["secret"].as_str().unwrap().to_owned())
}

async fn deliveries(app: &TestApp, admin: &str, webhook: &str) -> Vec<Value> {
    let path = format!("/api/v1/webhooks/{webhook}/deliveries?limit=200");
    let (status, page) = app.call("GET", &path, admin, None, None).await;
    assert_eq!(status, 200, "{page}");
    page["items"].as_array().unwrap().clone()
}

/// Waits until every delivery of the endpoint is finished (none pending).
async fn settled(app: &TestApp, admin: &str, webhook: &str, count: usize) -> Vec<Value> {
    let deadline = std::time::Instant::now() + PATIENCE;
    loop {
        let all = deliveries(app, admin, webhook).await;
        if all.len() >= count && all.iter().all(|d| d["status"] != "pending") {
            return all;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "not settled: {all:#?}"
        );
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn adjust(app: &TestApp, admin: &str, customer: &str, key: &str) {
    let path = format!("/api/v1/customers/{customer}/adjustments");
    app.created(
        &path,
        admin,
        Some(key),
        json!({"points": 1, "reason": "tick"}),
    )
    .await;
}

/// Distinct event ids in the order they first came.
fn first_seen(ids: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut seen = Vec::new();
    for id in ids {
        if !seen.contains(&id) {
            seen.push(id);
        }
    }
    seen
}

on_both_backends! {
    async fn every_event_type_is_delivered_signed_in_the_feeds_order(backend) {
        let clock = ManualClock::new();
        let app = TestApp::spawn_with_clock(TestDb::create(backend), &[], clock.clone()).await;
        let platform = app.platform_key();
        let acme: Tenant = app.tenant(&platform, "acme").await;
        let receiver = Receiver::start();
        let (webhook, secret) = register(&app, &acme.admin, &receiver.url("/hooks/loyalty"), json!(["*"])).await;
        let EveryEvent { .. } = cause_every_event(&app, &clock, &acme).await;

        let feed = read_feed(&app, &acme.admin, "").await;
        let received = receiver.wait_for(feed.len(), PATIENCE).await;
        let bodies: Vec<Value> = received.iter().map(|r| r.json()).collect();
        assert_eq!(bodies, feed, "each event once, as the feed shows it, in its order");
        let types: BTreeSet<&str> = bodies.iter().map(|b| b["type"].as_str().unwrap()).collect();
        assert_eq!(types.len(), 13, "every type of the catalogue: {types:?}");
        for request in &received {
            assert_eq!(request.path, "/hooks/loyalty");
            assert_eq!(request.id(), request.json()["id"].as_str().unwrap());
            assert_eq!(request.header("content-type"), "application/json");
            assert!(request.header("webhook-timestamp").parse::<i64>().is_ok(), "{request:?}");
            assert!(verifies(request, &secret), "the signature verifies: {request:?}");
            assert!(!verifies(request, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"), "and only with the secret");
        }
        let all = settled(&app, &acme.admin, &webhook, feed.len()).await;
        assert!(all.iter().all(|d| d["status"] == "delivered" && d["attempts"].as_array().unwrap().len() == 1), "{all:#?}");
        assert_eq!(all[0]["attempts"][0]["status_code"], 204);
        // The feed went on; nothing more came.
        actix_web::rt::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(receiver.received().len(), feed.len());
    }

    async fn a_receiver_failing_three_times_gets_the_event_once_acknowledged_and_later_ones_wait(backend) {
        let vars = [("WEBHOOK_RETRY_BASE_MS", "20"), ("WEBHOOK_TIMEOUT_MS", "400")];
        let app = TestApp::spawn_with(TestDb::create(backend), &vars).await;
        let platform = app.platform_key();
        let acme = app.tenant(&platform, "acme").await;
        let customer = app.enrol(&acme.staff, json!({"name": "Ana", "external_id": "ANA-1"})).await;
        let receiver = Receiver::start();
        let (webhook, secret) = register(&app, &acme.admin, &receiver.url("/"), json!(["points.adjusted"])).await;
        // A server error, a timeout, another error; then it acknowledges.
        receiver.plan(&[Answer::Status(500), Answer::Hang, Answer::Status(503)]);
        let app = Rc::new(app);
        let writers: Vec<_> = (0..4)
            .map(|writer| {
                let (app, admin, customer) = (app.clone(), acme.admin.clone(), customer.clone());
                actix_web::rt::spawn(async move {
                    for n in 0..5 {
                        adjust(&app, &admin, &customer, &format!("w{writer}-{n}")).await;
                    }
                })
            })
            .collect();
        for writer in writers {
            writer.await.unwrap();
        }
        let feed = read_feed(&app, &acme.admin, "&type=points.adjusted").await;
        assert_eq!(feed.len(), 20);
        let received = receiver.wait_for(feed.len() + 3, PATIENCE).await;
        let first = feed[0]["id"].as_str().unwrap();
        assert!(received[..4].iter().all(|r| r.id() == first), "the first event is retried before any later one");
        assert!(received.iter().all(|r| verifies(r, &secret)), "each attempt is signed anew");
        let order = first_seen(received.iter().map(|r| r.id().to_owned()));
        let feed_order: Vec<String> = feed.iter().map(|e| e["id"].as_str().unwrap().to_owned()).collect();
        assert_eq!(order, feed_order, "in the feed's order");
        let all = settled(&app, &acme.admin, &webhook, feed.len()).await;
        let retried = all.iter().find(|d| d["event_id"] == first).unwrap();
        assert_eq!(retried["status"], "delivered");
        let attempts = retried["attempts"].as_array().unwrap();
        let codes: Vec<&Value> = attempts.iter().map(|a| &a["status_code"]).collect();
        assert_eq!(codes, [&json!(500), &Value::Null, &json!(503), &json!(204)], "{retried:#}");
        assert_eq!(attempts[1]["error"], "no answer within 400 ms");
        assert_eq!(attempts[0]["response_excerpt"], "planned 500");
        assert!(attempts.iter().all(|a| a["latency_ms"].is_u64()));
        assert_eq!(retried["next_attempt_at"], Value::Null);
        // Acknowledged: never sent again.
        actix_web::rt::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(receiver.received().len(), feed.len() + 3);
        let metrics = app.get("/metrics").await.text().await.unwrap();
        assert!(metrics.contains("loyalty_webhook_deliveries_total{outcome=\"delivered\"} 20"), "{metrics}");
        assert!(metrics.contains("loyalty_webhook_deliveries_total{outcome=\"retrying\"} 3"), "{metrics}");
        assert!(metrics.contains("loyalty_webhook_queue_depth"), "{metrics}");
        assert!(metrics.contains("loyalty_webhook_oldest_undelivered_seconds"), "{metrics}");
    }

    async fn a_delivery_fails_after_its_attempts_and_an_endpoint_failing_too_long_is_disabled(backend) {
        let clock = ManualClock::new();
        let vars = [
            ("WEBHOOK_RETRY_BASE_MS", "10"),
            ("WEBHOOK_MAX_ATTEMPTS", "2"),
            ("WEBHOOK_DISABLE_AFTER_HOURS", "1"),
        ];
        let app = TestApp::spawn_with_clock(TestDb::create(backend), &vars, clock.clone()).await;
        let platform = app.platform_key();
        let acme = app.tenant(&platform, "acme").await;
        let customer = app.enrol(&acme.staff, json!({"name": "Ana", "external_id": "ANA-1"})).await;
        let watcher = Receiver::start();
        register(&app, &acme.admin, &watcher.url("/watch"), json!(["webhook.disabled"])).await;
        // Nothing listens there: every connection is refused.
        let closed_port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let closed_url = format!("http://127.0.0.1:{closed_port}/gone");
        let (webhook, _) = register(&app, &acme.admin, &closed_url, json!(["points.adjusted"])).await;

        adjust(&app, &acme.admin, &customer, "a1").await;
        wait_for_attempt(&app, &acme.admin, &webhook).await;
        // The retry is due (the test's clock stands still otherwise).
        clock.advance(chrono::Duration::seconds(1));
        let first = settled(&app, &acme.admin, &webhook, 1).await;
        assert_eq!(first[0]["status"], "failed", "{first:#?}");
        let attempts = first[0]["attempts"].as_array().unwrap();
        assert_eq!(attempts.len(), 2);
        assert!(attempts.iter().all(|a| a["status_code"].is_null() && a["error"].is_string()), "{attempts:#?}");
        let (_, endpoint) = app.call("GET", &format!("/api/v1/webhooks/{webhook}"), &acme.admin, None, None).await;
        assert_eq!(endpoint["enabled"], true, "failing, not yet for long: {endpoint}");
        assert!(endpoint["failing_since"].is_string());

        // Still failing two hours later: disabled, and the feed (and its subscribers) are told.
        clock.advance(chrono::Duration::hours(2));
        adjust(&app, &acme.admin, &customer, "a2").await;
        let told = watcher.wait_for(1, PATIENCE).await;
        let event = told[0].json();
        assert_eq!((event["type"].as_str(), event["customer_id"].as_str()), (Some("webhook.disabled"), None));
        assert_eq!(event["data"]["id"], webhook.as_str());
        assert_eq!(event["data"]["enabled"], false);
        assert!(event["data"].get("secret").is_none());
        assert_eq!(event["data"]["url"], format!("http://127.0.0.1:{closed_port}"), "no path: it may hold a token");
        let feed = read_feed(&app, &acme.admin, "&type=webhook.disabled").await;
        assert_eq!(feed.len(), 1);
        let (_, endpoint) = app.call("GET", &format!("/api/v1/webhooks/{webhook}"), &acme.admin, None, None).await;
        assert_eq!(endpoint["enabled"], false, "{endpoint}");
        assert!(endpoint["disabled_at"].is_string());

        // A disabled endpoint is sent nothing and queues nothing; enabling it resumes where it stopped.
        adjust(&app, &acme.admin, &customer, "a3").await;
        read_feed(&app, &acme.admin, "").await;
        let queued = deliveries(&app, &acme.admin, &webhook).await;
        assert_eq!(queued.len(), 2, "{queued:#?}");
        assert_eq!(queued[0]["status"], "pending", "the one in flight when it was disabled waits");
        // A month on, the sweep deletes the old events, but not one still waiting for its delivery.
        clock.advance(chrono::Duration::days(31));
        support::service(&app.db, clock.clone()).sweep_expired().unwrap();
        let kept = deliveries(&app, &acme.admin, &webhook).await;
        assert_eq!(kept.len(), 1, "{kept:#?}");
        assert_eq!(kept[0]["status"], "pending");
        let (status, enabled) = app.call("PATCH", &format!("/api/v1/webhooks/{webhook}"), &acme.admin, None,
            Some(json!({"enabled": true}))).await;
        assert_eq!((status, &enabled["enabled"], &enabled["failing_since"]), (200, &json!(true), &Value::Null));
        let resumed = settled(&app, &acme.admin, &webhook, 1).await;
        assert_eq!(resumed[0]["status"], "failed", "tried again, then given up: {resumed:#?}");
    }

    async fn a_rotated_secret_signs_beside_the_new_one_for_a_day(backend) {
        let clock = ManualClock::new();
        let app = TestApp::spawn_with_clock(TestDb::create(backend), &[], clock.clone()).await;
        let platform = app.platform_key();
        let acme = app.tenant(&platform, "acme").await;
        let customer = app.enrol(&acme.staff, json!({"name": "Ana", "external_id": "ANA-1"})).await;
        let receiver = Receiver::start();
        let (webhook, old) = register(&app, &acme.admin, &receiver.url("/"), json!(["points.adjusted"])).await;
        let rotate = format!("/api/v1/webhooks/{webhook}/rotate-secret");
        let (status, rotated) = app.call("POST", &rotate, &acme.admin, None, None).await;
        assert_eq!(status, 200, "{rotated}");
        let new = rotated["secret"].as_str().unwrap().to_owned();
        assert!(new.starts_with("whsec_") && new != old);
        assert!(rotated["previous_secret_expires_at"].is_string());
        adjust(&app, &acme.admin, &customer, "a1").await;
        let during = receiver.wait_for(1, PATIENCE).await;
        assert_eq!(during[0].header("webhook-signature").split(' ').count(), 2);
        assert!(verifies(&during[0], &new) && verifies(&during[0], &old), "{:?}", during[0]);

        clock.advance(chrono::Duration::hours(25));
        adjust(&app, &acme.admin, &customer, "a2").await;
        let after = receiver.wait_for(2, PATIENCE).await;
        assert!(verifies(&after[1], &new) && !verifies(&after[1], &old), "{:?}", after[1]);
        let (_, listed) = app.call("GET", "/api/v1/webhooks", &acme.admin, None, None).await;
        assert!(listed["items"][0].get("secret").is_none(), "a secret is shown only when made: {listed}");
    }

    async fn endpoints_are_the_tenant_admins_to_manage(backend) {
        let app = TestApp::spawn(backend).await;
        let platform = app.platform_key();
        let acme = app.tenant(&platform, "acme").await;
        let other = app.tenant(&platform, "other").await;
        let receiver = Receiver::start();
        let url = receiver.url("/a");
        let body = json!({"url": url, "events": ["visit.recorded"], "description": "CRM"});
        let (status, _) = app.call("POST", "/api/v1/webhooks", &acme.staff, None, Some(body.clone())).await;
        assert_eq!(status, 403);
        for (bad, field) in [
            (json!({"url": "ftp://example.com", "events": ["*"]}), "url"),
            (json!({"url": "not a url", "events": ["*"]}), "url"),
            (json!({"url": url, "events": []}), "events"),
            (json!({"url": url, "events": ["*", "visit.recorded"]}), "events"),
            (json!({"url": url, "events": ["visit.made"]}), "events"),
            (json!({"url": url, "events": ["*"], "description": "\u{200B}"}), "description"),
        ] {
            let (status, problem) = app.call("POST", "/api/v1/webhooks", &acme.admin, None, Some(bad.clone())).await;
            assert_eq!((status, problem["code"].as_str()), (422, Some("validation_failed")), "{bad}");
            assert_eq!(problem["errors"][0]["field"], field, "{problem}");
        }
        let (status, created) = app.call("POST", "/api/v1/webhooks", &acme.admin, None, Some(body)).await;
        assert_eq!(status, 201);
        let id = created["id"].as_str().unwrap();
        assert_eq!((created["events"].clone(), created["description"].clone(), created["enabled"].clone()),
            (json!(["visit.recorded"]), json!("CRM"), json!(true)));
        let path = format!("/api/v1/webhooks/{id}");
        let (status, shown) = app.call("GET", &path, &acme.admin, None, None).await;
        assert_eq!(status, 200);
        assert!(shown.get("secret").is_none());
        assert_eq!(app.call("GET", &path, &other.admin, None, None).await.0, 404, "another tenant's is not found");
        let (status, changed) = app.call("PATCH", &path, &acme.admin, None,
            Some(json!({"events": ["*"], "description": null, "enabled": false}))).await;
        assert_eq!(status, 200, "{changed}");
        assert_eq!((changed["events"].clone(), changed["description"].clone(), changed["enabled"].clone()),
            (json!(["*"]), Value::Null, json!(false)));
        let (status, problem) = app.call("PATCH", &path, &acme.admin, None, Some(json!({"colour": "red"}))).await;
        assert_eq!((status, problem["code"].as_str()), (422, Some("invalid_body")), "unknown fields are refused");
        let (_, listed) = app.call("GET", "/api/v1/webhooks", &acme.admin, None, None).await;
        assert_eq!(listed["items"].as_array().unwrap().len(), 1);
        assert_eq!(deliveries(&app, &acme.admin, id).await.len(), 0);
        assert_eq!(app.call("DELETE", &path, &acme.admin, None, None).await.0, 204);
        for (method, at) in [("GET", path.clone()), ("DELETE", path.clone()), ("GET", format!("{path}/deliveries")),
            ("POST", format!("{path}/rotate-secret")), ("GET", "/api/v1/webhooks/not-an-id".to_owned())] {
            let (status, problem) = app.call(method, &at, &acme.admin, None, None).await;
            assert_eq!((status, problem["code"].as_str()), (404, Some("webhook_not_found")), "{method} {at}");
        }
    }

    async fn a_delivery_in_flight_when_the_server_is_killed_is_delivered_after_restart(backend) {
        let db = TestDb::create(backend);
        let url = db.url().to_owned();
        let vars = [("WEBHOOK_TIMEOUT_MS", "2000")];
        let app = one_process(db, &vars);
        let platform = app.platform_key();
        let acme = app.tenant(&platform, "acme").await;
        let customer = app.enrol(&acme.staff, json!({"name": "Ana", "external_id": "ANA-1"})).await;
        let receiver = Receiver::start();
        register(&app, &acme.admin, &receiver.url("/"), json!(["points.adjusted"])).await;
        receiver.plan(&[Answer::Hang]);
        adjust(&app, &acme.admin, &customer, "a1").await;
        // The change committed and its delivery is on the wire: kill -9.
        let in_flight = receiver.wait_for(1, PATIENCE).await;
        app.processes()[0].stop();
        assert_eq!(app.db.scalar("SELECT COUNT(*) AS n FROM webhook_deliveries WHERE status = 'pending'"), 1);

        let restarted = ServerProcess::start(&[("DATABASE_URL", url.as_str()), vars[0]]);
        let again = receiver.wait_for(2, Duration::from_secs(60)).await;
        assert_eq!(again[1].id(), in_flight[0].id(), "the same event, once its claim lapsed");
        assert_eq!(again[1].body, in_flight[0].body);
        let deadline = std::time::Instant::now() + PATIENCE;
        while app.db.scalar("SELECT COUNT(*) AS n FROM webhook_deliveries WHERE status = 'delivered'") != 1 {
            assert!(std::time::Instant::now() < deadline, "the restarted server records the delivery");
            actix_web::rt::time::sleep(Duration::from_millis(50)).await;
        }
        drop(restarted);
    }
}

/// Two replicas behind PgBouncer, three endpoints, many writers: every event reaches every
/// endpoint exactly once, each endpoint in the feed's order.
#[actix_web::test]
#[ignore = "needs PostgreSQL: set LOYALTY_TEST_POSTGRES_URL, run with --include-ignored"]
async fn two_replicas_deliver_each_event_once() {
    const WRITERS: usize = 6;
    const CHANGES: usize = 10;
    let app = behind_pgbouncer(TestDb::create(Backend::Postgres), 2, &[], false);
    let platform = app.platform_key();
    let acme = app.tenant(&platform, "acme").await;
    app.program(&acme.admin, quick_program(3)).await;
    let customer = app
        .enrol(&acme.staff, json!({"name": "Ana", "external_id": "ANA-1"}))
        .await;
    let receiver = Receiver::start();
    for path in ["/one", "/two", "/three"] {
        register(
            &app,
            &acme.admin,
            &receiver.url(path),
            json!(["points.adjusted"]),
        )
        .await;
    }
    let app = Rc::new(app);
    let writers: Vec<_> = (0..WRITERS)
        .map(|writer| {
            let (app, admin, customer) = (app.clone(), acme.admin.clone(), customer.clone());
            actix_web::rt::spawn(async move {
                for n in 0..CHANGES {
                    adjust(&app, &admin, &customer, &format!("w{writer}-{n}")).await;
                }
            })
        })
        .collect();
    for writer in writers {
        writer.await.unwrap();
    }
    let feed = read_feed(&app, &acme.admin, "&type=points.adjusted").await;
    assert_eq!(feed.len(), WRITERS * CHANGES);
    let feed_order: Vec<String> = feed
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_owned())
        .collect();
    let received = receiver
        .wait_for(3 * feed.len(), Duration::from_secs(60))
        .await;
    actix_web::rt::time::sleep(Duration::from_millis(1000)).await;
    let received = if receiver.received().len() > received.len() {
        receiver.received()
    } else {
        received
    };
    let mut by_endpoint: HashMap<String, Vec<String>> = HashMap::new();
    for request in &received {
        by_endpoint
            .entry(request.path.clone())
            .or_default()
            .push(request.id().to_owned());
    }
    assert_eq!(by_endpoint.len(), 3);
    for (path, ids) in by_endpoint {
        assert_eq!(
            ids, feed_order,
            "{path}: each event once, in the feed's order"
        );
    }
}

/// In production an endpoint must be https and reach only public addresses: checked when it is
/// saved, and again when each delivery connects.
#[actix_web::test]
#[ignore = "needs PostgreSQL: set LOYALTY_TEST_POSTGRES_URL, run with --include-ignored"]
async fn production_sends_only_over_https_to_public_addresses() {
    let app = TestApp::spawn_with(
        TestDb::create(Backend::Postgres),
        &[("ENVIRONMENT", "production")],
    )
    .await;
    let platform = app.platform_key();
    let acme = app.tenant(&platform, "acme").await;
    let customer = app
        .enrol(&acme.staff, json!({"name": "Ana", "external_id": "ANA-1"}))
        .await;
    let receiver = Receiver::start();
    let port = receiver.port();
    for (url, why) in [
        (receiver.url("/"), "must use https"),
        (
            format!("https://127.0.0.1:{port}/"),
            "must not point to a loopback, private or link-local address",
        ),
        (
            format!("https://localhost:{port}/"),
            "must not point to a loopback, private or link-local address",
        ),
        (
            "https://[::1]/".to_owned(),
            "must not point to a loopback, private or link-local address",
        ),
        (
            "https://10.0.0.8/hook".to_owned(),
            "must not point to a loopback, private or link-local address",
        ),
        (
            "https://192.168.1.20/hook".to_owned(),
            "must not point to a loopback, private or link-local address",
        ),
        (
            "https://169.254.169.254/latest/meta-data".to_owned(),
            "must not point to a loopback, private or link-local address",
        ),
        (
            "https://[::ffff:127.0.0.1]/".to_owned(),
            "must not point to a loopback, private or link-local address",
        ),
        (
            "https://no-such-host.invalid/hook".to_owned(),
            "names a host that cannot be resolved",
        ),
    ] {
        let (status, problem) = app
            .call(
                "POST",
                "/api/v1/webhooks",
                &acme.admin,
                None,
                Some(json!({"url": url, "events": ["*"]})),
            )
            .await;
        assert_eq!(status, 422, "{url}: {problem}");
        assert_eq!(
            problem["errors"][0]["message"].as_str(),
            Some(why),
            "{url}: {problem}"
        );
    }
    // A public address passes; changing it to a private one later is refused the same way.
    let (id, _) = register(
        &app,
        &acme.admin,
        "https://93.184.216.34/hook",
        json!(["points.adjusted"]),
    )
    .await;
    let (status, _) = app
        .call(
            "PATCH",
            &format!("/api/v1/webhooks/{id}"),
            &acme.admin,
            None,
            Some(json!({"url": format!("https://localhost:{port}/")})),
        )
        .await;
    assert_eq!(status, 422);

    // A name that resolved to a public address when saved and now resolves to loopback (DNS
    // rebinding): the delivery connects to no forbidden address.
    app.db.execute(&format!(
        "UPDATE webhook_endpoints SET url = 'https://localhost:{port}/' WHERE id = '{id}'"
    ));
    adjust(&app, &acme.admin, &customer, "a1").await;
    let first = wait_for_attempt(&app, &acme.admin, &id).await;
    let error = first["error"].as_str().unwrap();
    assert!(
        error.contains("resolves to no address a webhook may be sent to"),
        "{error}"
    );
    assert!(
        receiver.received().is_empty(),
        "nothing reached the loopback receiver"
    );
}

async fn wait_for_attempt(app: &TestApp, admin: &str, webhook: &str) -> Value {
    let deadline = std::time::Instant::now() + PATIENCE;
    loop {
        let all = deliveries(app, admin, webhook).await;
        if let Some(attempt) = all.first().and_then(|d| d["attempts"].get(0)) {
            return attempt.clone();
        }
        assert!(std::time::Instant::now() < deadline, "no attempt: {all:#?}");
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }
}
