//! Stopping a replica as an orchestrator does (SIGTERM): the request in flight finishes, then
//! the process exits 0.

use std::rc::Rc;
use std::time::Duration;

use crate::replicas::one_process;
use crate::saturation::until_waiting_on_lock;
use crate::support::{TestDb, quick_program};
use serde_json::json;

on_both_backends! {
    async fn sigterm_lets_the_request_in_flight_finish_then_exits_0(backend) {
        let app = one_process(TestDb::create(backend), &[("SHUTDOWN_TIMEOUT_SECS", "30")]);
        let platform = app.platform_key();
        let acme = app.tenant(&platform, "acme").await;
        app.program(&acme.admin, quick_program(3)).await;
        let customer = app.enrol(&acme.staff, json!({"external_id": "C-1"})).await;
        let app = Rc::new(app);

        // A visit held up by a lock the test keeps: a slow request.
        let lock = app.db.lock_customer(&customer);
        let in_flight = actix_web::rt::spawn({
            let (app, staff) = (app.clone(), acme.staff.clone());
            async move {
                let path = format!("/api/v1/customers/{customer}/visits");
                app.call("POST", &path, &staff, Some("slow-visit"), Some(json!({}))).await
            }
        });
        until_waiting_on_lock(&app, backend, 1).await;

        let server = &app.processes()[0];
        server.terminate();
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(server.exit_within(Duration::ZERO).is_none(), "still draining");
        assert!(!in_flight.is_finished(), "the visit is still held up");

        drop(lock);
        let (status, body) = in_flight.await.unwrap();
        assert_eq!(status, 201, "the request in flight finished: {body}");
        let exit = server.exit_within(Duration::from_secs(20)).expect("the process exits");
        assert!(exit.success(), "{exit:?}");
        assert_eq!(app.db.scalar("SELECT COUNT(*) AS n FROM ledger_entries WHERE kind = 'visit'"), 1);
    }
}

on_both_backends! {
    async fn during_the_drain_delay_readiness_is_503_and_requests_are_still_served(backend) {
        let app = one_process(TestDb::create(backend), &[("SHUTDOWN_DRAIN_SECS", "2")]);
        let platform = app.platform_key();
        let acme = app.tenant(&platform, "acme").await;
        assert_eq!(app.get("/health/ready").await.status(), 200);

        let server = &app.processes()[0];
        server.terminate();
        tokio::time::sleep(Duration::from_millis(300)).await;
        let ready = app.get("/health/ready").await;
        assert_eq!(ready.status(), 503);
        assert_eq!(ready.json::<serde_json::Value>().await.unwrap(), json!({"status": "draining"}));
        assert_eq!(app.get("/health/live").await.status(), 200, "still alive");
        let (status, body) = app.call("GET", "/api/v1/program", &acme.staff, None, None).await;
        assert_eq!(status, 200, "still serving while traffic moves away: {body}");
        assert!(server.exit_within(Duration::ZERO).is_none(), "still draining");

        let exit = server.exit_within(Duration::from_secs(20)).expect("the process exits");
        assert!(exit.success(), "{exit:?}");
    }
}
