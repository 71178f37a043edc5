//! Customer search at the counter: name words by their beginnings (accents and case folded),
//! emails by prefix, phones by their last digits, external ids exactly; best matches first.

use serde_json::json;

use crate::support::{ManualClock, TestApp, service};

/// The ids of the customers a search answers, in order, after checking it answered 200.
async fn search(app: &TestApp, key: &str, query: &str) -> (Vec<String>, Option<String>) {
    let (status, body) = app
        .call(
            "GET",
            &format!("/api/v1/customers?{query}"),
            key,
            None,
            None,
        )
        .await;
    assert_eq!(status, 200, "{query}: {body}");
    let ids = body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .collect();
    (ids, body["next_cursor"].as_str().map(str::to_owned))
}

fn q(text: &str) -> String {
    format!(
        "q={}",
        url::form_urlencoded::byte_serialize(text.as_bytes()).collect::<String>()
    )
}

on_both_backends! {
    async fn search_folds_accents_and_ranks_the_best_matches_first(backend) {
        let app = TestApp::spawn(backend).await;
        let platform = app.platform_key();
        let acme = app.tenant(&platform, "acme").await;
        let zoe = app.enrol(&acme.staff, json!({"name": "Zoë Müller", "phone": "+4915123456789", "email": "zoe.m@example.com"})).await;
        let zoey = app.enrol(&acme.staff, json!({"name": "Zoey Mulligan", "email": "zm@example.org"})).await;
        let muller = app.enrol(&acme.staff, json!({"name": "Hans Mueller", "external_id": "zoe"})).await;
        let phone_twin = app.enrol(&acme.staff, json!({"name": "Other Person", "phone": "+14155556789"})).await;
        let zoemail = app.enrol(&acme.staff, json!({"name": "Anna Berg", "email": "zoe@example.net"})).await;

        // "zoe": the external id exactly, then whole name words, email beginnings, name word
        // beginnings.
        let (ids, _) = search(&app, &acme.staff, &q("zoe")).await;
        assert_eq!(ids, [muller.clone(), zoe.clone(), zoemail.clone(), zoey.clone()]);
        let (ids, _) = search(&app, &acme.staff, &q("ZOË")).await;
        assert_eq!(ids, [zoe.clone(), zoemail.clone(), zoey.clone()], "case and accents do not matter");
        let (ids, _) = search(&app, &acme.staff, &q("mul")).await;
        assert_eq!(ids.len(), 2);
        assert!(ids.contains(&zoe) && ids.contains(&zoey));
        let (ids, _) = search(&app, &acme.staff, &q("zoe mülle")).await;
        assert_eq!(ids, vec![zoe.clone()], "every word must match a word of the name");
        let (ids, _) = search(&app, &acme.staff, &q("müller zoë")).await;
        assert_eq!(ids, vec![zoe.clone()], "in any order");

        let (ids, _) = search(&app, &acme.staff, &q("6789")).await;
        assert_eq!(ids.len(), 2, "a phone's last four digits");
        assert!(ids.contains(&zoe) && ids.contains(&phone_twin));
        let (ids, _) = search(&app, &acme.staff, &q("456 789")).await;
        assert_eq!(ids, vec![zoe.clone()], "more digits narrow it, spaces ignored");
        let (ids, _) = search(&app, &acme.staff, &q("567")).await;
        assert!(ids.is_empty(), "three digits do not search phones");

        let (ids, _) = search(&app, &acme.staff, &q("zm@exa")).await;
        assert_eq!(ids, vec![zoey.clone()]);
        let (ids, _) = search(&app, &acme.staff, &q("ZOE@EXAMPLE.NET")).await;
        assert_eq!(ids, vec![zoemail.clone()]);
        let (ids, _) = search(&app, &acme.staff, &q("example")).await;
        assert!(ids.is_empty(), "emails match from their start only");

        // Erased customers and other tenants' are never found.
        assert_eq!(app.call("DELETE", &format!("/api/v1/customers/{zoey}"), &acme.admin, None, None).await.0, 204);
        let (ids, _) = search(&app, &acme.staff, &q("mul")).await;
        assert_eq!(ids, vec![zoe.clone()]);
        let other = app.tenant(&platform, "other").await;
        assert!(search(&app, &other.staff, &q("zoe")).await.0.is_empty());

        // A profile change re-indexes the customer.
        let (status, _) = app.call("PATCH", &format!("/api/v1/customers/{zoe}"), &acme.staff, None, Some(json!({"name": "Chloé Dubois"}))).await;
        assert_eq!(status, 200);
        assert!(search(&app, &acme.staff, &q("müller")).await.0.is_empty());
        assert_eq!(search(&app, &acme.staff, &q("chloe")).await.0, vec![zoe.clone()]);

        let (_, body) = app.call("GET", &format!("/api/v1/customers?{}", q("chloe")), &acme.staff, None, None).await;
        assert_eq!(body["items"][0]["name"], "Chloé Dubois", "items are whole customers");
        assert_eq!(body["items"][0]["balance"], 0);
    }

    async fn search_pages_through_many_matches_and_refuses_bad_queries(backend) {
        let app = TestApp::spawn(backend).await;
        let platform = app.platform_key();
        let acme = app.tenant(&platform, "acme").await;
        let mut exact = Vec::new();
        let mut partial = Vec::new();
        for n in 0..7 {
            exact.push(app.enrol(&acme.staff, json!({"name": format!("Ann Number{n}"), "external_id": format!("A{n}")})).await);
            partial.push(app.enrol(&acme.staff, json!({"name": format!("Annabel Number{n}"), "external_id": format!("B{n}")})).await);
        }
        let mut seen = Vec::new();
        let mut query = format!("{}&limit=3", q("ann"));
        loop {
            let (ids, cursor) = search(&app, &acme.staff, &query).await;
            assert!(ids.len() <= 3);
            seen.extend(ids);
            match cursor {
                Some(cursor) => query = format!("{}&limit=3&after={cursor}", q("ann")),
                None => break,
            }
        }
        assert_eq!(seen.len(), 14, "every match once");
        let (first, rest) = seen.split_at(7);
        exact.sort();
        partial.sort();
        assert_eq!(first, exact, "whole words first, then by id");
        assert_eq!(rest, partial);

        for bad in ["q=a", "q=%20%20a%20", "q=a%00b"] {
            let (status, body) = app.call("GET", &format!("/api/v1/customers?{bad}"), &acme.staff, None, None).await;
            assert_eq!(status, 422, "{bad}: {body}");
            assert_eq!(body["code"], "validation_failed");
        }
        let (status, body) = app.call("GET", &format!("/api/v1/customers?{}&after=AAAA", q("ann")), &acme.staff, None, None).await;
        assert_eq!(status, 400, "{body}");
        let (status, _) = app.call("GET", &format!("/api/v1/customers?{}&phone=123", q("ann")), &acme.staff, None, None).await;
        assert_eq!(status, 400, "a search and a look-up at once");
    }

    async fn customers_enrolled_before_search_are_indexed_by_the_sweep(backend) {
        let clock = ManualClock::new();
        let app = TestApp::spawn_with_clock(crate::support::TestDb::create(backend), &[], clock.clone()).await;
        let platform = app.platform_key();
        let acme = app.tenant(&platform, "acme").await;
        let mut ids = Vec::new();
        for n in 0..3 {
            ids.push(app.enrol(&acme.staff, json!({"name": format!("Élodie Nr{n}"), "phone": format!("+3361234560{n}")})).await);
        }
        // As the release before search left them: no terms, not indexed.
        app.db.execute("DELETE FROM customer_search_terms");
        app.db.execute("UPDATE customers SET search_indexed = FALSE");
        assert!(search(&app, &acme.staff, &q("elodie")).await.0.is_empty());

        let report = service(&app.db, clock.clone()).sweep_expired().unwrap();
        assert_eq!(report.indexed_customers, 3);
        let (found, _) = search(&app, &acme.staff, &q("elodie")).await;
        ids.sort();
        assert_eq!(found, ids);
        assert_eq!(search(&app, &acme.staff, &q("34560 1")).await.0, [ids[1].clone()]);
        let again = service(&app.db, clock).sweep_expired().unwrap();
        assert_eq!(again.indexed_customers, 0);
    }
}
