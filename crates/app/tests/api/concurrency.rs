//! Many parallel clients against few accounts, some requests retried with the same
//! Idempotency-Key (some at the very same time), then the invariants of docs/architecture.md
//! checked in the database itself.

use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use crate::support::{TestApp, quick_program};
use serde_json::{Value, json};

const CLIENTS: u64 = 32;
const REQUESTS_PER_CLIENT: u64 = 200;
const CUSTOMERS: usize = 5;
const VISITS_PER_REWARD: i64 = 3;

/// A small deterministic generator, so a failing run can be replayed.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, below: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % below
    }
}

struct Operation {
    key: String,
    path: String,
    admin: bool,
    body: Value,
}

/// Clients 2k and 2k+1 send the same key strings from two tills (two pairs of API keys): each
/// till's keys are its own, so both apply.
fn operation(rng: &mut Lcg, client: u64, n: u64, customers: &[String]) -> Operation {
    let customer = &customers[rng.next(CUSTOMERS as u64) as usize];
    let key = format!("client-{}-op-{n}", client / 2);
    match rng.next(10) {
        0..=3 => Operation {
            key,
            path: format!("/api/v1/customers/{customer}/purchases"),
            admin: false,
            body: json!({"amount_minor": 100 + rng.next(4900), "currency": "EUR"}),
        },
        4..=6 => Operation {
            key,
            path: format!("/api/v1/customers/{customer}/visits"),
            admin: false,
            body: json!({}),
        },
        7..=8 => Operation {
            key,
            path: format!("/api/v1/customers/{customer}/adjustments"),
            admin: true,
            body: json!({"points": -(1 + rng.next(30) as i64), "reason": "spent at the counter"}),
        },
        _ => Operation {
            key,
            path: format!("/api/v1/customers/{customer}/adjustments"),
            admin: true,
            body: json!({"points": 1 + rng.next(20) as i64, "reason": "goodwill"}),
        },
    }
}

/// Sends the operation as a careful client does: a 408 means the server never read the request
/// (its head timed out on a loaded machine), so the client sends it again with the same key.
async fn send(app: &TestApp, key: &str, op: &Operation) -> (u16, Value) {
    let mut attempts = 0;
    loop {
        let outcome = app
            .call("POST", &op.path, key, Some(&op.key), Some(op.body.clone()))
            .await;
        attempts += 1;
        if outcome.0 != 408 || attempts == 3 {
            return outcome;
        }
    }
}

fn check_outcome(op: &Operation, (status, body): &(u16, Value)) {
    let refused_spend = *status == 422 && body["code"] == "insufficient_points";
    assert!(
        *status == 201 || refused_spend,
        "{} {}: {status} {body}",
        op.path,
        op.body
    );
}

/// Runs one client's requests; returns every idempotency key that succeeded, with its response.
async fn client(
    app: Rc<TestApp>,
    admin: Rc<String>,
    staff: Rc<String>,
    customers: Rc<Vec<String>>,
    id: u64,
) -> HashMap<String, Value> {
    let mut rng = Lcg(id * 7919 + 17);
    let mut succeeded = HashMap::new();
    for n in 0..REQUESTS_PER_CLIENT {
        let op = operation(&mut rng, id, n, &customers);
        let key = if op.admin {
            admin.as_str()
        } else {
            staff.as_str()
        };
        let (outcomes, at_once) = match rng.next(8) {
            // The same request twice at the same moment.
            0 => {
                let (a, b) = tokio::join!(send(&app, key, &op), send(&app, key, &op));
                (vec![a, b], true)
            }
            // A retry after the first answer (a client that missed the response).
            1 => (
                vec![send(&app, key, &op).await, send(&app, key, &op).await],
                false,
            ),
            _ => (vec![send(&app, key, &op).await], false),
        };
        outcomes
            .iter()
            .for_each(|outcome| check_outcome(&op, outcome));
        // A key applies once: all its successes are the same response. Sent one after the other,
        // everything after a success is that success replayed (a refusal is not stored, so a
        // retry after one may still succeed); sent at once, either may have gone first.
        let successes: Vec<&Value> = outcomes
            .iter()
            .filter(|(s, _)| *s == 201)
            .map(|(_, b)| b)
            .collect();
        if let Some(first) = successes.first() {
            assert!(
                successes.iter().all(|body| body == first),
                "one response for key {}: {outcomes:?}",
                op.key
            );
            if !at_once {
                let after = outcomes.iter().skip_while(|(s, _)| *s != 201);
                assert!(
                    after.clone().all(|(s, _)| *s == 201),
                    "a retry after success replays it: {outcomes:?}"
                );
            }
            succeeded.insert(format!("{key}:{}", op.key), (*first).clone());
        }
    }
    succeeded
}

on_both_backends! {
    async fn parallel_clients_keep_every_invariant(backend) {
        keep_every_invariant(TestApp::spawn_for_stress(backend).await).await;
    }
}

/// Runs the clients against `app` (one server or several replicas), then checks the invariants
/// in the database.
pub async fn keep_every_invariant(app: TestApp) {
    let platform = app.platform_key();
    let acme = app.tenant(&platform, "acme").await;
    app.program(&acme.admin, quick_program(VISITS_PER_REWARD))
        .await;
    let mut customers = Vec::new();
    for n in 0..CUSTOMERS {
        customers.push(
            app.enrol(&acme.staff, json!({"external_id": format!("C-{n}")}))
                .await,
        );
    }
    let second_till = app.tenant_keys(&platform, "acme").await;
    let app = Rc::new(app);
    let tills = [
        (Rc::new(acme.admin), Rc::new(acme.staff)),
        (Rc::new(second_till.admin), Rc::new(second_till.staff)),
    ];
    let customers = Rc::new(customers);
    let clients: Vec<_> = (0..CLIENTS)
        .map(|id| {
            let (admin, staff) = &tills[(id % 2) as usize];
            actix_web::rt::spawn(client(
                app.clone(),
                admin.clone(),
                staff.clone(),
                customers.clone(),
                id,
            ))
        })
        .collect();
    let mut succeeded: HashMap<String, Value> = HashMap::new();
    for handle in clients {
        succeeded.extend(handle.await.unwrap());
    }
    let db = &app.db;
    assert!(
        succeeded.len() > 1000,
        "most operations succeed: {}",
        succeeded.len()
    );

    // Invariant 1: each balance equals its ledger's sum; the visit counter its visits.
    assert_eq!(db.scalar(
            "SELECT COUNT(*) AS n FROM customers c WHERE c.balance <> (SELECT COALESCE(SUM(e.points), 0) \
             FROM ledger_entries e WHERE e.tenant_id = c.tenant_id AND e.customer_id = c.id)"), 0);
    assert_eq!(
        db.scalar(
            "SELECT COUNT(*) AS n FROM customers c WHERE c.visits <> (SELECT COUNT(*) \
             FROM ledger_entries e WHERE e.customer_id = c.id AND e.kind = 'visit')"
        ),
        0
    );
    // The point lots add up to each balance.
    assert_eq!(db.scalar(
            "SELECT COUNT(*) AS n FROM customers c WHERE c.balance <> (SELECT COALESCE(SUM(l.remaining), 0) \
             FROM point_lots l WHERE l.tenant_id = c.tenant_id AND l.customer_id = c.id)"), 0);
    // Invariant 2: nothing went negative (no request here allowed it).
    assert_eq!(
        db.scalar("SELECT COUNT(*) AS n FROM ledger_entries WHERE balance_after < 0"),
        0
    );
    assert_eq!(
        db.scalar("SELECT COUNT(*) AS n FROM customers WHERE balance < 0"),
        0
    );
    // Invariant 3: every key that succeeded applied exactly once, and nothing else applied.
    let primary = db.scalar("SELECT COUNT(*) AS n FROM ledger_entries WHERE kind IN ('visit', 'purchase', 'adjustment')");
    assert_eq!(primary, succeeded.len() as i64);
    assert_eq!(
        db.scalar("SELECT COUNT(*) AS n FROM idempotency_keys"),
        succeeded.len() as i64
    );
    let entry_ids: HashSet<&str> = succeeded
        .values()
        .map(|body| body["ledger_entry_id"].as_str().unwrap())
        .collect();
    assert_eq!(
        entry_ids.len(),
        succeeded.len(),
        "each key has its own entry"
    );
    // Invariant 5: one milestone per completed card, never two for one visit.
    assert_eq!(db.scalar(&format!(
            "SELECT COUNT(*) AS n FROM customers c WHERE c.visits / {VISITS_PER_REWARD} <> (SELECT COUNT(*) \
             FROM ledger_entries e WHERE e.customer_id = c.id AND e.kind = 'milestone')")), 0);
    assert_eq!(db.scalar(
            "SELECT COUNT(*) AS n FROM (SELECT customer_id, kind, visit_number FROM ledger_entries \
             WHERE visit_number IS NOT NULL GROUP BY customer_id, kind, visit_number HAVING COUNT(*) > 1) d"), 0);
    // Each account's running balances chain without gaps.
    assert_eq!(db.scalar(
            "SELECT COUNT(*) AS n FROM ledger_entries e WHERE e.balance_after <> (SELECT SUM(p.points) \
             FROM ledger_entries p WHERE p.customer_id = e.customer_id AND p.id <= e.id)"), 0);
}
