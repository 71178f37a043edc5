use crate::support::TestApp;
use serde_json::json;

on_both_backends! {
    async fn enrolment_normalizes_identifiers_and_opens_an_account(backend) {
        let app = TestApp::spawn(backend).await;
        let platform = app.platform_key();
        let acme = app.tenant(&platform, "acme").await;
        let (status, customer) = app.call("POST", "/api/v1/customers", &acme.staff, None,
            Some(json!({"name": "  Zoë Müller-Łukasz 🚗 ", "phone": "0151 2345 6789", "email": "Zoe@Example.COM", "external_id": "POS-1"}))).await;
        assert_eq!(status, 201, "{customer}");
        assert_eq!(customer["name"], "Zoë Müller-Łukasz 🚗");
        assert_eq!(customer["phone"], "+4915123456789", "the tenant's country (DE) applies");
        assert_eq!(customer["email"], "zoe@example.com");
        assert_eq!((customer["balance"].as_i64(), customer["lifetime_points"].as_i64(), customer["visits"].as_i64()), (Some(0), Some(0), Some(0)));
        let token = customer["card_token"].as_str().unwrap();
        assert!(token.len() >= 22, "at least 128 random bits: {token}");
        assert!(!token.contains(customer["id"].as_str().unwrap()));
        assert!(customer["created_at"].as_str().unwrap().ends_with('Z'));

        let (status, shown) = app.call("GET", &format!("/api/v1/customers/{}", customer["id"].as_str().unwrap()), &acme.staff, None, None).await;
        assert_eq!((status, &shown), (200, &customer));
    }

    async fn duplicates_conflict_with_the_existing_id(backend) {
        let app = TestApp::spawn(backend).await;
        let platform = app.platform_key();
        let acme = app.tenant(&platform, "acme").await;
        let id = app.enrol(&acme.staff, json!({"phone": "+49 151 23456789", "email": "zoe@example.com", "external_id": "X1"})).await;
        for (body, field) in [
            (json!({"phone": "015123456789"}), "phone"),
            (json!({"email": "ZOE@example.com"}), "email"),
            (json!({"external_id": "X1"}), "external_id"),
        ] {
            let (status, problem) = app.call("POST", "/api/v1/customers", &acme.staff, None, Some(body)).await;
            assert_eq!((status, problem["code"].as_str()), (409, Some("customer_exists")));
            assert_eq!(problem["existing_id"], id.as_str());
            assert_eq!(problem["field"], field);
        }
        // Another tenant may have a customer with the same phone.
        let beta = app.tenant(&platform, "beta").await;
        app.enrol(&beta.staff, json!({"phone": "+49 151 23456789"})).await;
        assert_eq!(app.db.scalar("SELECT COUNT(*) AS n FROM customers"), 2);
    }

    async fn bad_details_are_refused_and_nothing_is_written(backend) {
        let app = TestApp::spawn(backend).await;
        let platform = app.platform_key();
        let acme = app.tenant(&platform, "acme").await;
        for (body, fields) in [
            (json!({"name": "Only A Name"}), vec!["phone"]),
            (json!({}), vec!["phone"]),
            (json!({"phone": "12", "email": "nope"}), vec!["phone", "email"]),
            (json!({"name": "x".repeat(201), "email": "a@example.com"}), vec!["name"]),
            (json!({"name": "bad\u{0007}bell", "email": "a@example.com"}), vec!["name"]),
        ] {
            let (status, problem) = app.call("POST", "/api/v1/customers", &acme.staff, None, Some(body.clone())).await;
            assert_eq!((status, problem["code"].as_str()), (422, Some("validation_failed")), "{body}");
            let named: Vec<&str> = problem["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
            assert_eq!(named, fields, "{body}");
        }
        assert_eq!(app.db.scalar("SELECT COUNT(*) AS n FROM customers"), 0);
    }

    async fn lookup_list_and_update(backend) {
        let app = TestApp::spawn(backend).await;
        let platform = app.platform_key();
        let acme = app.tenant(&platform, "acme").await;
        let mut ids = Vec::new();
        for n in 0..5 {
            ids.push(app.enrol(&acme.staff, json!({"email": format!("c{n}@example.com"), "phone": format!("+4915123456{n:03}")})).await);
        }
        for query in ["phone=0151%2023456002", "email=C2%40Example.com"] {
            let (status, found) = app.call("GET", &format!("/api/v1/customers?{query}"), &acme.staff, None, None).await;
            assert_eq!(status, 200);
            assert_eq!(found["items"].as_array().unwrap().len(), 1, "{query}");
            assert_eq!(found["items"][0]["id"], ids[2].as_str());
        }
        let (_, none) = app.call("GET", "/api/v1/customers?external_id=nobody", &acme.staff, None, None).await;
        assert_eq!(none["items"], json!([]));
        let (status, problem) = app.call("GET", "/api/v1/customers?phone=1&email=a", &acme.staff, None, None).await;
        assert_eq!((status, problem["code"].as_str()), (400, Some("invalid_query")));
        let (status, _) = app.call("GET", "/api/v1/customers?limit=0", &acme.staff, None, None).await;
        assert_eq!(status, 400);
        let (status, _) = app.call("GET", "/api/v1/customers?limit=201", &acme.staff, None, None).await;
        assert_eq!(status, 400);
        let (status, _) = app.call("GET", "/api/v1/customers?after=%%%", &acme.staff, None, None).await;
        assert_eq!(status, 400);

        // Newest first, two to a page, every customer exactly once.
        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let path = match &cursor {
                Some(c) => format!("/api/v1/customers?limit=2&after={c}"),
                None => "/api/v1/customers?limit=2".to_owned(),
            };
            let (_, page) = app.call("GET", &path, &acme.staff, None, None).await;
            seen.extend(page["items"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap().to_owned()));
            match page["next_cursor"].as_str() {
                Some(next) => cursor = Some(next.to_owned()),
                None => break,
            }
        }
        let newest_first: Vec<String> = ids.iter().rev().cloned().collect();
        assert_eq!(seen, newest_first);

        let path = format!("/api/v1/customers/{}", ids[0]);
        let (status, updated) = app.call("PATCH", &path, &acme.staff, None, Some(json!({"name": "Ana", "email": null}))).await;
        assert_eq!(status, 200, "{updated}");
        assert_eq!(updated["name"], "Ana");
        assert!(updated["email"].is_null());
        assert_eq!(updated["phone"], "+4915123456000");
        let (status, problem) = app.call("PATCH", &path, &acme.staff, None, Some(json!({"phone": "+4915123456001"}))).await;
        assert_eq!((status, problem["code"].as_str()), (409, Some("customer_exists")));
        let (status, problem) = app.call("PATCH", &path, &acme.staff, None, Some(json!({"phone": null}))).await;
        assert_eq!((status, problem["code"].as_str()), (422, Some("validation_failed")), "one identifier must remain");
        let (status, problem) = app.call("GET", "/api/v1/customers/nobody", &acme.staff, None, None).await;
        assert_eq!((status, problem["code"].as_str()), (404, Some("customer_not_found")));
    }

    async fn an_enrolment_retried_with_its_key_gets_the_first_response(backend) {
        let app = TestApp::spawn(backend).await;
        let platform = app.platform_key();
        let acme = app.tenant(&platform, "acme").await;
        let body = json!({"email": "retry@example.com"});
        let first = app.send("POST", "/api/v1/customers", &acme.staff, Some("enrol-1"), Some(body.clone())).await;
        assert_eq!(first.status(), 201);
        let first: serde_json::Value = first.json().await.unwrap();
        let retry = app.send("POST", "/api/v1/customers", &acme.staff, Some("enrol-1"), Some(body)).await;
        assert_eq!(retry.status(), 201);
        assert_eq!(retry.headers()["idempotent-replayed"], "true");
        assert_eq!(retry.json::<serde_json::Value>().await.unwrap(), first);
        assert_eq!(app.db.scalar("SELECT COUNT(*) AS n FROM customers"), 1);
    }
}

on_both_backends! {
    async fn rotating_the_card_token_closes_the_old_card_at_once(backend) {
        let app = TestApp::spawn(backend).await;
        let platform = app.platform_key();
        let acme = app.tenant(&platform, "acme").await;
        let other = app.tenant(&platform, "other").await;
        let enrolled = app
            .created("/api/v1/customers", &acme.staff, None, json!({"external_id": "C-1"}))
            .await;
        let id = enrolled["id"].as_str().unwrap();
        let old_token = enrolled["card_token"].as_str().unwrap();
        assert_eq!(app.get(&format!("/api/public/cards/{old_token}")).await.status(), 200);

        let rotate = format!("/api/v1/customers/{id}/card-token");
        let (status, _) = app.call("POST", &rotate, &other.staff, None, None).await;
        assert_eq!(status, 404, "another tenant's staff cannot rotate it");
        let (status, rotated) = app.call("POST", &rotate, &acme.staff, None, None).await;
        assert_eq!(status, 200, "{rotated}");
        assert_eq!(rotated["id"], id);
        let new_token = rotated["card_token"].as_str().unwrap();
        assert_ne!(new_token, old_token);
        assert_eq!(new_token.len(), old_token.len());

        let old_card = app.get(&format!("/api/public/cards/{old_token}")).await;
        assert_eq!(old_card.status(), 404, "the old token opens nothing");
        assert_eq!(app.get(&format!("/api/public/cards/{new_token}")).await.status(), 200);
        let (_, read) = app.call("GET", &format!("/api/v1/customers/{id}"), &acme.staff, None, None).await;
        assert_eq!(read["card_token"], new_token);
    }
}
