//! The owner's reports against an independent count: a generated history of enrolments, visits,
//! purchases, adjustments, reversals, redemptions, fulfilments and expiries over ten days that
//! cross the change to summer time in Berlin, counted again here from the ledger export and the
//! voucher list, by Berlin day.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::Europe::Berlin;
use serde_json::{Value, json};

use crate::support::{ManualClock, Tenant, TestApp, TestDb, quick_program, service};

/// A small deterministic generator, so a failure can be replayed.
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n
    }
}

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

fn berlin_day(at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&Berlin).date_naive()
}

fn date(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
}

/// A ledger entry as the export writes it.
struct Entry {
    customer: String,
    kind: String,
    points: i64,
    amount: i64,
    made: DateTime<Utc>,
}

/// A voucher as the list shows it.
struct Voucher {
    status: String,
    created: DateTime<Utc>,
    expires: DateTime<Utc>,
    closed: Option<DateTime<Utc>>,
}

/// What the test knows independently of the reports.
struct History {
    enrolled: Vec<DateTime<Utc>>,
    entries: Vec<Entry>,
    vouchers: Vec<Voucher>,
    now: DateTime<Utc>,
}

const FIGURES: [&str; 13] = [
    "customers_total",
    "new_customers",
    "active_customers",
    "visits",
    "purchases",
    "purchase_amount_minor",
    "points_issued",
    "points_redeemed",
    "points_expired",
    "points_outstanding",
    "vouchers_issued",
    "vouchers_fulfilled",
    "vouchers_expired",
];

impl History {
    /// The figures of the Berlin days `from` to `to`; `outstanding_at` is the instant the
    /// points outstanding are counted at.
    fn figures(
        &self,
        from: NaiveDate,
        to: NaiveDate,
        outstanding_at: DateTime<Utc>,
    ) -> BTreeMap<&'static str, i64> {
        let within = |t: DateTime<Utc>| (from..=to).contains(&berlin_day(t));
        let in_range: Vec<&Entry> = self.entries.iter().filter(|e| within(e.made)).collect();
        let sum = |f: &dyn Fn(&Entry) -> i64| in_range.iter().map(|e| f(e)).sum::<i64>();
        let count = |kind: &str| in_range.iter().filter(|e| e.kind == kind).count() as i64;
        let active: BTreeSet<&str> = in_range
            .iter()
            .filter(|e| e.kind == "visit" || e.kind == "purchase")
            .map(|e| e.customer.as_str())
            .collect();
        let end_of_to = to.succ_opt().unwrap();
        BTreeMap::from([
            (
                "customers_total",
                self.enrolled
                    .iter()
                    .filter(|t| berlin_day(**t) < end_of_to)
                    .count() as i64,
            ),
            (
                "new_customers",
                self.enrolled.iter().filter(|t| within(**t)).count() as i64,
            ),
            ("active_customers", active.len() as i64),
            ("visits", count("visit")),
            ("purchases", count("purchase")),
            (
                "purchase_amount_minor",
                sum(&|e| if e.kind == "purchase" { e.amount } else { 0 }),
            ),
            (
                "points_issued",
                sum(&|e| match e.kind.as_str() {
                    "visit" | "purchase" | "milestone" => e.points,
                    "adjustment" if e.points > 0 => e.points,
                    _ => 0,
                }),
            ),
            (
                "points_redeemed",
                -sum(&|e| if e.kind == "redemption" { e.points } else { 0 }),
            ),
            (
                "points_expired",
                -sum(&|e| if e.kind == "expiry" { e.points } else { 0 }),
            ),
            (
                "points_outstanding",
                self.entries
                    .iter()
                    .filter(|e| e.made < outstanding_at)
                    .map(|e| e.points)
                    .sum(),
            ),
            (
                "vouchers_issued",
                self.vouchers.iter().filter(|v| within(v.created)).count() as i64,
            ),
            (
                "vouchers_fulfilled",
                self.vouchers
                    .iter()
                    .filter(|v| v.status == "fulfilled" && within(v.closed.unwrap()))
                    .count() as i64,
            ),
            (
                "vouchers_expired",
                self.vouchers
                    .iter()
                    .filter(|v| {
                        (v.status == "issued" || v.status == "expired")
                            && v.expires <= self.now
                            && within(v.expires)
                    })
                    .count() as i64,
            ),
        ])
    }
}

fn reported(body: &Value) -> BTreeMap<&'static str, i64> {
    FIGURES
        .iter()
        .map(|name| {
            (
                *name,
                body[*name]
                    .as_i64()
                    .unwrap_or_else(|| panic!("{name} in {body}")),
            )
        })
        .collect()
}

/// Plays a seeded history through the API: 90 steps an hour or a few apart, with the expiry
/// sweep now and then.
async fn play_history(
    app: &TestApp,
    clock: &Arc<ManualClock>,
    acme: &Tenant,
    seed: u64,
) -> Vec<DateTime<Utc>> {
    let coffee = app
        .reward(
            &acme.admin,
            json!({"name": "Coffee", "cost_points": 10, "valid_days": 1}),
        )
        .await;
    let mut program = quick_program(3);
    program["milestone_reward_id"] = json!(coffee);
    program["points_expire_after_days"] = json!(2);
    app.program(&acme.admin, program).await;
    let mut rng = Lcg(seed);
    let mut customers: Vec<String> = Vec::new();
    let mut enrolled = Vec::new();
    let mut purchases: Vec<String> = Vec::new();
    let mut codes: Vec<String> = Vec::new();
    let sweeper = service(&app.db, clock.clone());
    for step in 0..90u64 {
        clock.advance(Duration::minutes(30 + rng.below(200) as i64));
        let key = format!("step-{step}");
        let action = if customers.len() < 3 {
            0
        } else {
            rng.below(10)
        };
        let customer = customers
            .get(rng.below(customers.len().max(1) as u64) as usize)
            .cloned();
        match (action, customer) {
            (0, _) => {
                let body = app
                    .created(
                        "/api/v1/customers",
                        &acme.staff,
                        None,
                        json!({"external_id": format!("C-{step}")}),
                    )
                    .await;
                customers.push(body["id"].as_str().unwrap().to_owned());
                enrolled.push(at(body["created_at"].as_str().unwrap()));
            }
            (1..=3, Some(c)) => {
                let (status, _) = app
                    .call(
                        "POST",
                        &format!("/api/v1/customers/{c}/visits"),
                        &acme.staff,
                        Some(&key),
                        Some(json!({})),
                    )
                    .await;
                assert_eq!(status, 201);
            }
            (4 | 5, Some(c)) => {
                let amount = 100 + rng.below(5000);
                let body = app
                    .created(
                        &format!("/api/v1/customers/{c}/purchases"),
                        &acme.staff,
                        Some(&key),
                        json!({"amount_minor": amount, "currency": "EUR"}),
                    )
                    .await;
                purchases.push(body["ledger_entry_id"].as_str().unwrap().to_owned());
            }
            (6, Some(c)) => {
                let (status, body) = app
                    .call(
                        "POST",
                        &format!("/api/v1/customers/{c}/redemptions"),
                        &acme.staff,
                        Some(&key),
                        Some(json!({"reward_id": coffee})),
                    )
                    .await;
                if status == 201 {
                    codes.push(body["code"].as_str().unwrap().to_owned());
                }
            }
            (7, _) => {
                if let Some(code) = codes.pop() {
                    let (status, _) = app
                        .call(
                            "POST",
                            "/api/v1/redemptions/fulfill",
                            &acme.staff,
                            Some(&key),
                            Some(json!({"code": code})),
                        )
                        .await;
                    assert!(
                        status == 200 || status == 409 || status == 410 || status == 422,
                        "{status}"
                    );
                }
            }
            (8, Some(c)) => {
                let points = rng.below(40) as i64 - 10;
                let (status, _) = app.call("POST", &format!("/api/v1/customers/{c}/adjustments"), &acme.admin, Some(&key), Some(json!({"points": if points == 0 { 1 } else { points }, "reason": "goodwill"}))).await;
                assert!(status == 201 || status == 422, "{status}");
            }
            (_, _) => {
                if let Some(entry) = purchases.pop() {
                    let (status, _) = app
                        .call(
                            "POST",
                            &format!("/api/v1/ledger/{entry}/reversal"),
                            &acme.staff,
                            Some(&key),
                            Some(json!({"reason": "refunded"})),
                        )
                        .await;
                    assert!(status == 201 || status == 409 || status == 422, "{status}");
                }
            }
        }
        if step % 7 == 6 {
            sweeper.sweep_expired().unwrap();
        }
    }
    enrolled
}

async fn read_history(
    app: &TestApp,
    acme: &Tenant,
    enrolled: Vec<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> History {
    let response = app
        .send(
            "GET",
            "/api/v1/exports/ledger?from=2026-03-01&to=2026-04-30",
            &acme.admin,
            None,
            None,
        )
        .await;
    assert_eq!(response.status(), 200);
    let body = response.bytes().await.unwrap();
    let entries = csv::Reader::from_reader(&body[..])
        .records()
        .map(|record| {
            let r = record.unwrap();
            Entry {
                customer: r[1].to_owned(),
                kind: r[2].to_owned(),
                points: r[3].parse().unwrap(),
                amount: r[6].parse().unwrap_or(0),
                made: at(&r[13]),
            }
        })
        .collect();
    let mut vouchers = Vec::new();
    let mut path = "/api/v1/redemptions?limit=200".to_owned();
    loop {
        let (status, page) = app.call("GET", &path, &acme.admin, None, None).await;
        assert_eq!(status, 200, "{page}");
        for v in page["items"].as_array().unwrap() {
            vouchers.push(Voucher {
                status: v["status"].as_str().unwrap().to_owned(),
                created: at(v["created_at"].as_str().unwrap()),
                expires: at(v["expires_at"].as_str().unwrap()),
                closed: v["closed_at"].as_str().map(at),
            });
        }
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/api/v1/redemptions?limit=200&after={cursor}"),
            None => break,
        }
    }
    History {
        enrolled,
        entries,
        vouchers,
        now,
    }
}

on_both_backends! {
    async fn reports_equal_an_independent_count_across_a_dst_change(backend) {
        // 08:00 in Berlin on Friday 27 March 2026; summer time starts on Sunday the 29th.
        let clock = ManualClock::at(Utc.with_ymd_and_hms(2026, 3, 27, 7, 0, 0).unwrap());
        let app = TestApp::spawn_with_clock(TestDb::create(backend), &[], clock.clone()).await;
        let platform = app.platform_key();
        let acme = app.tenant(&platform, "acme").await;
        let (status, _) = app.call("PATCH", "/api/v1/tenants/acme", &platform, None, Some(json!({"time_zone": "Europe/Berlin"}))).await;
        assert_eq!(status, 200);
        let enrolled = play_history(&app, &clock, &acme, 7).await;
        // An erased customer's account still counts.
        let (_, first) = app.call("GET", "/api/v1/customers?external_id=C-0", &acme.staff, None, None).await;
        let erased = first["items"][0]["id"].as_str().unwrap().to_owned();
        assert_eq!(app.call("DELETE", &format!("/api/v1/customers/{erased}"), &acme.admin, None, None).await.0, 204);
        let now = loyalty_domain::Clock::now(clock.as_ref());
        let history = read_history(&app, &acme, enrolled, now).await;
        assert!(history.entries.iter().any(|e| e.kind == "expiry"), "the history holds expiries");
        assert!(history.entries.iter().any(|e| e.kind == "reversal"), "and reversals");
        assert!(history.vouchers.iter().any(|v| v.status == "fulfilled"), "and fulfilled vouchers");
        assert!(berlin_day(now) > date("2026-03-30"), "it runs past the change: {now}");

        for (from, to) in [("2026-03-27", "2026-04-10"), ("2026-03-28", "2026-03-29"), ("2026-03-29", "2026-03-29"), ("2026-04-20", "2026-04-21")] {
            let (status, body) = app.call("GET", &format!("/api/v1/reports/summary?from={from}&to={to}"), &acme.admin, None, None).await;
            assert_eq!(status, 200, "{body}");
            assert_eq!(body["time_zone"], "Europe/Berlin");
            let expected = history.figures(date(from), date(to), now + Duration::seconds(1));
            assert_eq!(reported(&body), expected, "summary {from}..{to}");
            let rate = body["redemption_rate"].as_f64().unwrap();
            let issued = expected["vouchers_issued"];
            let want = if issued == 0 { 0.0 } else { expected["vouchers_fulfilled"] as f64 / issued as f64 };
            assert!((rate - want).abs() < 1e-9, "{rate} vs {want}");
        }

        let (status, body) = app.call("GET", "/api/v1/reports/daily?from=2026-03-26&to=2026-04-10", &acme.admin, None, None).await;
        assert_eq!(status, 200, "{body}");
        let items = body["items"].as_array().unwrap();
        assert_eq!(items.len(), 16, "every day, quiet ones included");
        let mut day = date("2026-03-26");
        for item in items {
            assert_eq!(item["date"], day.to_string());
            let end_of_day = Berlin.from_local_datetime(&day.succ_opt().unwrap().and_hms_opt(0, 0, 0).unwrap()).unwrap().with_timezone(&Utc);
            assert_eq!(reported(item), history.figures(day, day, end_of_day), "day {day}");
            day = day.succ_opt().unwrap();
        }

        for (by, field) in [("visits", "visits"), ("spend", "purchase_amount_minor"), ("points", "points_issued")] {
            let (status, body) = app.call("GET", &format!("/api/v1/reports/top-customers?from=2026-03-27&to=2026-04-10&by={by}&limit=3"), &acme.admin, None, None).await;
            assert_eq!(status, 200, "{body}");
            let mut totals: BTreeMap<&str, i64> = BTreeMap::new();
            for e in &history.entries {
                let value = match field {
                    "visits" => i64::from(e.kind == "visit"),
                    "purchase_amount_minor" => if e.kind == "purchase" { e.amount } else { 0 },
                    _ => match e.kind.as_str() {
                        "visit" | "purchase" | "milestone" => e.points,
                        "adjustment" if e.points > 0 => e.points,
                        _ => 0,
                    },
                };
                *totals.entry(e.customer.as_str()).or_default() += value;
            }
            let mut ranked: Vec<(&str, i64)> = totals.into_iter().filter(|(_, v)| *v > 0).collect();
            ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
            ranked.truncate(3);
            let got: Vec<(&str, i64)> = body["items"].as_array().unwrap().iter().map(|i| (i["customer_id"].as_str().unwrap(), i[field].as_i64().unwrap())).collect();
            assert_eq!(got, ranked, "top by {by}");
        }
    }

    async fn an_entry_in_the_last_second_of_a_day_counts_on_that_day(backend) {
        let clock = ManualClock::at(Utc.with_ymd_and_hms(2026, 5, 1, 23, 59, 59).unwrap() + Duration::milliseconds(700));
        let app = TestApp::spawn_with_clock(TestDb::create(backend), &[], clock.clone()).await;
        let platform = app.platform_key();
        let acme = app.tenant(&platform, "acme").await;
        let customer = app.enrol(&acme.staff, json!({"external_id": "late"})).await;
        app.created(&format!("/api/v1/customers/{customer}/adjustments"), &acme.admin, Some("late"), json!({"points": 7, "reason": "closing time"})).await;
        let (status, body) = app.call("GET", "/api/v1/reports/daily?from=2026-05-01&to=2026-05-02", &acme.admin, None, None).await;
        assert_eq!(status, 200, "{body}");
        let day = |n: usize, field: &str| body["items"][n][field].as_i64().unwrap();
        assert_eq!((day(0, "points_issued"), day(0, "points_outstanding"), day(0, "new_customers")), (7, 7, 1), "{body}");
        assert_eq!((day(1, "points_issued"), day(1, "points_outstanding"), day(1, "customers_total")), (0, 7, 1), "{body}");
    }

    async fn reports_refuse_bad_ranges_and_staff(backend) {
        let app = TestApp::spawn(backend).await;
        let platform = app.platform_key();
        let acme = app.tenant(&platform, "acme").await;
        for (query, status) in [
            ("summary?from=2026-01-01&to=2027-01-02", 422),
            ("summary?from=2026-01-01&to=2027-01-01", 200),
            ("summary?from=2024-01-01&to=2024-12-31", 200),
            ("daily?from=2026-01-02&to=2027-01-03", 422),
            ("daily?from=2026-02-01&to=2026-01-31", 422),
            ("summary?from=2026-02-30&to=2026-03-01", 400),
            ("summary?from=2026-01-01", 400),
            ("top-customers?from=2026-01-01&to=2026-01-31&limit=0", 422),
            ("top-customers?from=2026-01-01&to=2026-01-31&limit=101", 422),
            ("top-customers?from=2026-01-01&to=2026-01-31&limit=100&by=spend", 200),
            ("top-customers?from=2026-01-01&to=2026-01-31&by=charm", 400),
        ] {
            let (got, body) = app.call("GET", &format!("/api/v1/reports/{query}"), &acme.admin, None, None).await;
            assert_eq!(got, status, "{query}: {body}");
        }
        let (status, body) = app.call("GET", "/api/v1/reports/daily?from=2024-01-01&to=2024-12-31", &acme.admin, None, None).await;
        assert_eq!(status, 200);
        assert_eq!(body["items"].as_array().unwrap().len(), 366, "a leap year's days");
        assert_eq!(body["items"][0]["redemption_rate"], 0.0);
        let (status, _) = app.call("GET", "/api/v1/reports/summary?from=2026-01-01&to=2026-01-31", &acme.staff, None, None).await;
        assert_eq!(status, 403);
    }
}
