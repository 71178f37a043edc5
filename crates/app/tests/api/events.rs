//! The event feed: every change writes its events in its own transaction, and a reader that
//! follows the feed's cursor sees each event once, in commit order, while writers commit.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::rc::Rc;
use std::sync::Arc;

use chrono::Duration;
use serde_json::{Value, json};

use crate::support::{self, ManualClock, Tenant, TestApp, TestDb, quick_program};

/// Every event of the tenant, following the cursor from the start until a page comes back empty.
pub(crate) async fn read_feed(app: &TestApp, admin: &str, query: &str) -> Vec<Value> {
    let mut events = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let after = cursor
            .as_ref()
            .map(|c| format!("&after={c}"))
            .unwrap_or_default();
        let path = format!("/api/v1/events?limit=7{query}{after}");
        let (status, page) = app.call("GET", &path, admin, None, None).await;
        assert_eq!(status, 200, "{page}");
        let items = page["items"].as_array().unwrap().clone();
        if items.is_empty() {
            return events;
        }
        cursor = page["next_cursor"].as_str().map(str::to_owned);
        assert!(
            cursor.is_some(),
            "a page with events gives a cursor: {page}"
        );
        events.extend(items);
    }
}

fn types(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .map(|e| e["type"].as_str().unwrap().to_owned())
        .collect()
}

async fn post(app: &TestApp, key: &str, path: &str, idempotency: &str, body: Value) -> Value {
    app.created(path, key, Some(idempotency), body).await
}

/// What `cause_every_event` did, for the checks that follow it.
pub(crate) struct EveryEvent {
    pub customer: String,
    /// The code of the voucher that was fulfilled, as its issuing answer showed it.
    pub fulfilled_code: String,
    /// A service on the app's database and clock, that ran the expiry sweep.
    pub sweep: loyalty_domain::Loyalty,
}

/// Makes acme's program, customer and vouchers go through every change the catalogue names,
/// through the API's routes (and, three days later, the expiry sweep); checks on the way that a
/// replayed change writes no event.
pub(crate) async fn cause_every_event(
    app: &TestApp,
    clock: &Arc<ManualClock>,
    acme: &Tenant,
) -> EveryEvent {
    let free_wash = app
        .reward(
            &acme.admin,
            json!({"name": "Free wash", "cost_points": 10, "valid_days": 30}),
        )
        .await;
    let mut program = quick_program(2);
    program["milestone_reward_id"] = json!(free_wash);
    program["points_expire_after_days"] = json!(1);
    program["tiers"] =
        json!([{"name": "Gold", "min_lifetime_points": 100, "multiplier_percent": 100}]);
    app.program(&acme.admin, program).await;

    let customer = app
        .enrol(
            &acme.staff,
            json!({"name": "Zoë", "email": "zoe@example.com"}),
        )
        .await;
    let at = |path: &str| format!("/api/v1/customers/{customer}{path}");
    let (status, _) = app
        .call(
            "PATCH",
            &at(""),
            &acme.staff,
            None,
            Some(json!({"name": "Zoë Z"})),
        )
        .await;
    assert_eq!(status, 200);
    post(app, &acme.staff, &at("/visits"), "v1", json!({})).await;
    post(app, &acme.staff, &at("/visits"), "v2", json!({})).await; // the card is full: milestone and its voucher
    let purchase = post(
        app,
        &acme.staff,
        &at("/purchases"),
        "p1",
        json!({"amount_minor": 10_000, "currency": "EUR"}),
    )
    .await; // 100 points: Gold
    post(
        app,
        &acme.admin,
        &at("/adjustments"),
        "a1",
        json!({"points": 50, "reason": "welcome"}),
    )
    .await;
    let reversal = format!(
        "/api/v1/ledger/{}/reversal",
        purchase["ledger_entry_id"].as_str().unwrap()
    );
    post(
        app,
        &acme.staff,
        &reversal,
        "r1",
        json!({"reason": "returned"}),
    )
    .await;
    let redemptions = at("/redemptions");
    let redeem = |key: &'static str, reward: &str| {
        let body = json!({"reward_id": reward});
        post(app, &acme.staff, &redemptions, key, body)
    };
    let fulfilled = redeem("x1", &free_wash).await;
    let (status, _) = app
        .call(
            "POST",
            "/api/v1/redemptions/fulfill",
            &acme.staff,
            Some("f1"),
            Some(json!({"code": fulfilled["code"]})),
        )
        .await;
    assert_eq!(status, 200);
    let cancelled = redeem("x2", &free_wash).await;
    let cancel = format!(
        "/api/v1/redemptions/{}/cancel",
        cancelled["id"].as_str().unwrap()
    );
    assert_eq!(
        app.call("POST", &cancel, &acme.staff, Some("c1"), None)
            .await
            .0,
        200
    );
    let soon_gone = app
        .reward(
            &acme.admin,
            json!({"name": "Today only", "cost_points": 10, "valid_days": 1}),
        )
        .await;
    redeem("x3", &soon_gone).await;
    // A retried visit changes nothing, and writes no event.
    let before_replay = read_feed(app, &acme.admin, "").await.len();
    let (status, _) = app
        .call(
            "POST",
            &at("/visits"),
            &acme.staff,
            Some("v2"),
            Some(json!({})),
        )
        .await;
    assert_eq!(status, 201);
    assert_eq!(
        read_feed(app, &acme.admin, "").await.len(),
        before_replay,
        "a replay writes no event"
    );

    // Days later the day's voucher and the unspent points have expired.
    clock.advance(Duration::days(3));
    let sweep = support::service(&app.db, clock.clone());
    sweep.sweep_expired().unwrap();
    let fulfilled_code = fulfilled["code"].as_str().unwrap().to_owned();
    EveryEvent {
        customer,
        fulfilled_code,
        sweep,
    }
}

on_both_backends! {
    async fn every_change_writes_its_events_and_a_replay_writes_none(backend) {
        let clock = ManualClock::new();
        let app = TestApp::spawn_with_clock(TestDb::create(backend), &[], clock.clone()).await;
        let platform = app.platform_key();
        let acme: Tenant = app.tenant(&platform, "acme").await;
        let EveryEvent { customer, fulfilled_code, sweep } = cause_every_event(&app, &clock, &acme).await;

        let events = read_feed(&app, &acme.admin, "").await;
        let seen: BTreeSet<String> = types(&events).into_iter().collect();
        let catalogue: BTreeSet<String> = [
            "customer.created", "customer.updated", "visit.recorded", "purchase.recorded",
            "points.adjusted", "entry.reversed", "milestone.reached", "tier.changed",
            "voucher.issued", "voucher.fulfilled", "voucher.cancelled", "voucher.expired",
            "points.expired",
        ].into_iter().map(str::to_owned).collect();
        assert_eq!(seen, catalogue, "{:?}", types(&events));
        assert_eq!(events.len(), events.iter().map(|e| e["id"].as_str().unwrap()).collect::<HashSet<_>>().len());
        for event in &events {
            assert_eq!((event["tenant_id"].as_str(), event["customer_id"].as_str()), (Some("acme"), Some(customer.as_str())), "{event}");
            assert!(event["occurred_at"].is_string() && event["data"].is_object(), "{event}");
        }
        let first = &events[0];
        assert_eq!((first["type"].as_str(), first["data"]["name"].as_str()), (Some("customer.created"), Some("Zoë")));
        assert!(first["data"].get("card_token").is_none(), "the card token is a credential: {first}");
        let issued = events.iter().find(|e| e["type"] == "voucher.issued" && e["data"]["points_spent"] == 10).unwrap();
        let code = issued["data"]["code"].as_str().unwrap();
        assert!(code.starts_with('*') && code != fulfilled_code, "masked: {code}");
        let visits: Vec<_> = events.iter().filter(|e| e["type"] == "visit.recorded").collect();
        assert_eq!(visits.len(), 2);
        assert_eq!(visits[1]["data"]["kind"], "visit");
        let tier = events.iter().find(|e| e["type"] == "tier.changed").unwrap();
        assert_eq!(tier["data"]["tier"], "Gold");

        // Filters, and what the feed refuses.
        let only_visits = read_feed(&app, &acme.admin, "&type=visit.recorded").await;
        assert_eq!(types(&only_visits), vec!["visit.recorded"; 2]);
        assert_eq!(read_feed(&app, &acme.admin, &format!("&customer_id={customer}")).await.len(), events.len());
        assert!(read_feed(&app, &acme.admin, "&customer_id=nobody").await.is_empty());
        let (status, problem) = app.call("GET", "/api/v1/events?type=visit.made", &acme.admin, None, None).await;
        assert_eq!((status, problem["code"].as_str()), (400, Some("invalid_query")));
        let (status, _) = app.call("GET", "/api/v1/events?after=not-a-cursor", &acme.admin, None, None).await;
        assert_eq!(status, 400);
        assert_eq!(app.call("GET", "/api/v1/events", &acme.staff, None, None).await.0, 403);
        let other = app.tenant(&platform, "other").await;
        assert!(read_feed(&app, &other.admin, "").await.is_empty(), "another tenant sees none of acme's");

        // Past the retention (30 days by default), the sweep deletes them; a reader's cursor
        // still points before what comes next.
        let (_, page) = app.call("GET", "/api/v1/events?limit=200", &acme.admin, None, None).await;
        let cursor = page["next_cursor"].as_str().unwrap().to_owned();
        clock.advance(Duration::days(31));
        assert_eq!(sweep.sweep_expired().unwrap().forgotten_events, events.len() as u64);
        let earlier: HashSet<&str> = events.iter().map(|e| e["id"].as_str().unwrap()).collect();
        let left = read_feed(&app, &acme.admin, "").await;
        assert!(left.iter().all(|e| !earlier.contains(e["id"].as_str().unwrap())), "{left:?}");
        assert!(left.iter().all(|e| e["type"] == "voucher.expired"), "only what this sweep did: {left:?}");
        let (_, after) = app.call("GET", &format!("/api/v1/events?after={cursor}"), &acme.admin, None, None).await;
        assert_eq!(after["items"].as_array().unwrap().len(), left.len(), "places only grow: {after}");
    }

    async fn a_reader_polling_while_tills_write_sees_every_event_once_in_commit_order(backend) {
        const WRITERS: usize = 8;
        const CHANGES: usize = 25;
        let app = TestApp::spawn(backend).await;
        let platform = app.platform_key();
        let acme = app.tenant(&platform, "acme").await;
        app.program(&acme.admin, quick_program(3)).await;
        let mut customers = Vec::new();
        for n in 0..3 {
            customers.push(app.enrol(&acme.staff, json!({"external_id": format!("C-{n}")})).await);
        }
        let app = Rc::new(app);
        let admin = Rc::new(acme.admin);
        let writers: Vec<_> = (0..WRITERS)
            .map(|writer| {
                let (app, admin, customers) = (app.clone(), admin.clone(), customers.clone());
                actix_web::rt::spawn(async move {
                    for n in 0..CHANGES {
                        let customer = &customers[(writer + n) % customers.len()];
                        let path = format!("/api/v1/customers/{customer}/adjustments");
                        let key = format!("w{writer}-{n}");
                        app.created(&path, &admin, Some(&key), json!({"points": 1, "reason": "tick"})).await;
                    }
                })
            })
            .collect();
        let done = Rc::new(std::cell::Cell::new(false));
        let reader = {
            let (app, admin, done) = (app.clone(), admin.clone(), done.clone());
            actix_web::rt::spawn(async move {
                let mut seen = Vec::new();
                let mut cursor: Option<String> = None;
                loop {
                    let finished = done.get();
                    let after = cursor.as_ref().map(|c| format!("&after={c}")).unwrap_or_default();
                    let (status, page) = app
                        .call("GET", &format!("/api/v1/events?limit=10&type=points.adjusted{after}"), &admin, None, None)
                        .await;
                    assert_eq!(status, 200, "{page}");
                    let items = page["items"].as_array().unwrap();
                    if let Some(next) = page["next_cursor"].as_str() {
                        cursor = Some(next.to_owned());
                    }
                    if items.is_empty() && finished {
                        return seen;
                    }
                    if items.is_empty() {
                        actix_web::rt::time::sleep(std::time::Duration::from_millis(5)).await;
                    }
                    seen.extend(items.iter().cloned());
                }
            })
        };
        for writer in writers {
            writer.await.unwrap();
        }
        done.set(true);
        let seen = reader.await.unwrap();

        let ids: Vec<&str> = seen.iter().map(|e| e["id"].as_str().unwrap()).collect();
        assert_eq!(ids.iter().collect::<HashSet<_>>().len(), ids.len(), "no event twice");
        assert_eq!(ids.len(), WRITERS * CHANGES, "no event missed");
        assert_eq!(
            app.db.scalar("SELECT COUNT(*) AS n FROM events WHERE event_type = 'points.adjusted'"),
            (WRITERS * CHANGES) as i64
        );
        // Each customer's balance only grows, one point a change: the feed shows their changes in
        // the order they committed, so each balance_after is the one before plus one.
        let mut last: HashMap<String, i64> = HashMap::new();
        for event in &seen {
            let customer = event["customer_id"].as_str().unwrap().to_owned();
            let balance = event["data"]["balance_after"].as_i64().unwrap();
            let before = last.insert(customer, balance).unwrap_or(0);
            assert_eq!(balance, before + 1, "out of order: {event}");
        }
    }

    async fn the_sweep_places_events_nobody_read(backend) {
        let app = TestApp::spawn(backend).await;
        let platform = app.platform_key();
        let acme = app.tenant(&platform, "acme").await;
        app.enrol(&acme.staff, json!({"external_id": "C-1"})).await;
        assert_eq!(app.db.scalar("SELECT COUNT(*) AS n FROM events WHERE position IS NULL"), 1);
        let report = support::service(&app.db, Arc::new(loyalty_domain::SystemClock))
            .sweep_expired()
            .unwrap();
        assert_eq!(report.placed_events, 1);
        assert_eq!(app.db.scalar("SELECT COUNT(*) AS n FROM events WHERE position IS NULL"), 0);
        assert_eq!(types(&read_feed(&app, &acme.admin, "").await), vec!["customer.created"]);
    }
}
