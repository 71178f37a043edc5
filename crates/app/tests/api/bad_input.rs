use std::io::{Read, Write};

use crate::support::{TestApp, quick_program};
use serde_json::{Value, json};

/// Posts raw bytes with the given content type and returns status and JSON body.
async fn post_raw(
    app: &TestApp,
    path: &str,
    key: &str,
    content_type: Option<&str>,
    body: Vec<u8>,
) -> (u16, Value, reqwest::header::HeaderMap) {
    let mut request = app
        .client
        .post(app.url(path))
        .bearer_auth(key)
        .header("Idempotency-Key", "bad-1")
        .body(body);
    if let Some(content_type) = content_type {
        request = request.header("Content-Type", content_type);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (
        status,
        response.json().await.unwrap_or(Value::Null),
        headers,
    )
}

fn assert_problem(
    status: u16,
    body: &Value,
    headers: &reqwest::header::HeaderMap,
    expected: u16,
    code: &str,
) {
    assert_eq!(
        (status, body["code"].as_str()),
        (expected, Some(code)),
        "{body}"
    );
    assert_eq!(headers["content-type"], "application/problem+json");
    assert_eq!(body["status"], expected);
    assert_eq!(body["type"], format!("urn:smb-loyalty:problem:{code}"));
    assert_eq!(
        body["request_id"].as_str().unwrap(),
        headers["x-request-id"].to_str().unwrap()
    );
    assert!(body["title"].is_string() && body["detail"].is_string());
}

/// Everything a test could have written.
fn written(app: &TestApp) -> i64 {
    app.db.scalar("SELECT (SELECT COUNT(*) FROM customers) + (SELECT COUNT(*) FROM ledger_entries) + (SELECT COUNT(*) FROM idempotency_keys) AS n")
}

on_both_backends! {
    async fn malformed_bodies_get_4xx_problems_and_write_nothing(backend) {
        let app = TestApp::spawn(backend).await;
        let platform = app.platform_key();
        let acme = app.tenant(&platform, "acme").await;
        app.program(&acme.admin, quick_program(5)).await;
        let customer = app.enrol(&acme.staff, json!({"email": "zoe@example.com"})).await;
        let before = written(&app);
        let enrol = "/api/v1/customers";
        let purchase = format!("/api/v1/customers/{customer}/purchases");
        let json = Some("application/json");

        for broken in [r#"{"email": "x@example.com""#, "not json", "", "[1,", "\u{0}"] {
            let (s, b, h) = post_raw(&app, enrol, &acme.staff, json, broken.into()).await;
            assert_problem(s, &b, &h, 400, "malformed_json");
        }
        let (s, b, h) = post_raw(&app, enrol, &acme.staff, Some("text/plain"), br#"{"email":"x@example.com"}"#.to_vec()).await;
        assert_problem(s, &b, &h, 415, "unsupported_media_type");
        let (s, b, h) = post_raw(&app, enrol, &acme.staff, None, br#"{"email":"x@example.com"}"#.to_vec()).await;
        assert_problem(s, &b, &h, 415, "unsupported_media_type");

        for (body, field) in [
            (json!({"email": "x@example.com", "is_admin": true}), "is_admin"),
            (json!({"email": 42}), "email"),
            (json!({"name": ["a"], "email": "x@example.com"}), "name"),
        ] {
            let (s, b, h) = post_raw(&app, enrol, &acme.staff, json, body.to_string().into()).await;
            assert_problem(s, &b, &h, 422, "invalid_body");
            assert!(b["detail"].as_str().unwrap().contains(field), "names {field}: {b}");
        }
        for body in [
            r#"{"amount_minor": 99999999999999999999999, "currency": "EUR"}"#,
            r#"{"amount_minor": 1e30, "currency": "EUR"}"#,
            r#"{"amount_minor": "100", "currency": "EUR"}"#,
            r#"{"currency": "EUR"}"#,
        ] {
            let (s, b, h) = post_raw(&app, &purchase, &acme.staff, json, body.into()).await;
            assert_problem(s, &b, &h, 422, "invalid_body");
        }

        let huge = format!(r#"{{"email": "x@example.com", "name": "{}"}}"#, "a".repeat(70 * 1024));
        let (s, b, h) = post_raw(&app, enrol, &acme.staff, json, huge.clone().into()).await;
        assert_problem(s, &b, &h, 413, "payload_too_large");
        let (status, raw) = chunked_post(&app, enrol, &acme.staff, huge.as_bytes());
        assert_eq!(status, 413, "a body without a declared length is capped too: {raw}");

        assert_eq!(written(&app), before, "no bad request wrote anything");
    }

    async fn unicode_names_round_trip_and_control_characters_do_not(backend) {
        let app = TestApp::spawn(backend).await;
        let platform = app.platform_key();
        let acme = app.tenant(&platform, "acme").await;
        for (n, name) in [
            "Zoë Ñúñez",
            "محمد علي",
            "Åsa\u{0301} Öberg",
            "李小龍",
            "👩\u{200d}🔬 Dr. Emoji",
            &"🚗".repeat(200),
        ].into_iter().enumerate() {
            let (status, customer) = app.call("POST", "/api/v1/customers", &acme.staff, None,
                Some(json!({"name": name, "external_id": format!("u-{n}")}))).await;
            assert_eq!(status, 201, "{name}: {customer}");
            assert_eq!(customer["name"], name);
        }
        for name in ["tab\there", "nul\u{0}", &"🚗".repeat(201), "\u{7f}"] {
            let (status, problem) = app.call("POST", "/api/v1/customers", &acme.staff, None,
                Some(json!({"name": name, "external_id": "bad"}))).await;
            assert_eq!((status, problem["code"].as_str()), (422, Some("validation_failed")), "{name:?}");
            assert_eq!(problem["errors"][0]["field"], "name");
        }
        assert_eq!(app.db.scalar("SELECT COUNT(*) AS n FROM customers"), 6);
    }

    async fn invisible_formatting_in_names_ids_and_references_is_refused(backend) {
        let app = TestApp::spawn(backend).await;
        let platform = app.platform_key();
        let acme = app.tenant(&platform, "acme").await;
        app.program(&acme.admin, quick_program(5)).await;
        let customer = app.enrol(&acme.staff, json!({"external_id": "C-1"})).await;
        let before = written(&app);
        let right_to_left = "Zoe\u{202E}reilluM";
        let zero_width = "C\u{200B}-1";
        for (body, field) in [
            (json!({"name": right_to_left, "external_id": "C-2"}), "name"),
            (json!({"external_id": zero_width}), "external_id"),
            (json!({"external_id": "\u{2066}C-3\u{2069}"}), "external_id"),
        ] {
            let (status, problem) = app
                .call("POST", "/api/v1/customers", &acme.staff, None, Some(body.clone()))
                .await;
            assert_eq!((status, problem["code"].as_str()), (422, Some("validation_failed")), "{body}");
            assert_eq!(problem["errors"][0]["field"], field);
        }
        let purchase = format!("/api/v1/customers/{customer}/purchases");
        let (status, problem) = app
            .call("POST", &purchase, &acme.staff, Some("p-1"),
                Some(json!({"amount_minor": 500, "currency": "EUR", "reference": "R\u{FEFF}-9"})))
            .await;
        assert_eq!((status, problem["errors"][0]["field"].as_str()), (422, Some("reference")), "{problem}");
        let (status, _) = app
            .call("PATCH", &format!("/api/v1/customers/{customer}"), &acme.staff, None,
                Some(json!({"name": "Bob\u{200D}by"})))
            .await;
        assert_eq!(status, 422);
        assert_eq!(written(&app), before, "nothing refused was written");
    }

    async fn nul_and_control_bytes_in_look_ups_get_4xx_and_write_nothing(backend) {
        let app = TestApp::spawn(backend).await;
        let platform = app.platform_key();
        let acme = app.tenant(&platform, "acme").await;
        let customer = app.enrol(&acme.staff, json!({"external_id": "C-1"})).await;
        let before = written(&app);
        // A cursor whose key is a NUL, as base64url.
        let nul_cursor = "AA";
        let reads = [
            ("/api/public/cards/%00".to_owned(), 404),
            ("/api/public/cards/card%01token".to_owned(), 404),
            ("/api/public/cards/%E2%80%A8".to_owned(), 404),
            ("/api/v1/customers/%00".to_owned(), 404),
            (format!("/api/v1/customers?after={nul_cursor}"), 400),
            (format!("/api/v1/customers/{customer}/ledger?after={nul_cursor}"), 400),
            (format!("/api/v1/rewards?after={nul_cursor}"), 400),
            (format!("/api/v1/redemptions?after={nul_cursor}"), 400),
            (format!("/api/v1/api-keys?after={nul_cursor}"), 400),
        ];
        for (path, expected) in reads {
            let (status, body) = app.call("GET", &path, &acme.staff, None, None).await;
            assert_eq!(status, expected, "{path}: {body}");
        }
        let (status, body) = app.call("GET", &format!("/api/v1/tenants?after={nul_cursor}"), &platform, None, None).await;
        assert_eq!(status, 400, "{body}");
        // Filters and look-ups that cannot match anything find nothing.
        for path in ["/api/v1/customers?external_id=%00", "/api/v1/customers?external_id=C-1%00",
            "/api/v1/customers?email=a%00%40example.com", "/api/v1/customers?phone=%2B49%00151",
            "/api/v1/redemptions?customer_id=%00"] {
            let (status, found) = app.call("GET", path, &acme.staff, None, None).await;
            assert_eq!((status, &found["items"]), (200, &json!([])), "{path}: {found}");
        }
        for body in [json!({"code": "\u{0}"}), json!({"code": "AB\u{0}CD"}), json!({"qr_payload": "\u{0}"})] {
            let (status, problem) = app.call("POST", "/api/v1/redemptions/fulfill", &acme.staff, None, Some(body.clone())).await;
            assert_eq!((status, problem["code"].as_str()), (404, Some("redemption_not_found")), "{body}: {problem}");
        }
        for field in ["external_id", "email", "phone"] {
            let (status, problem) = app.call("POST", "/api/v1/customers", &acme.staff, Some(&format!("nul-{field}")),
                Some(json!({field: "x\u{0}"}))).await;
            assert_eq!(status, 422, "{field}: {problem}");
        }
        assert_eq!(written(&app), before, "no bad request wrote anything");
    }

    async fn invalid_utf8_escapes_and_deeply_nested_json_get_4xx_and_write_nothing(backend) {
        let app = TestApp::spawn(backend).await;
        let platform = app.platform_key();
        let acme = app.tenant(&platform, "acme").await;
        let customer = app.enrol(&acme.staff, json!({"external_id": "C-1"})).await;
        let before = written(&app);
        // Percent escapes that decode to no UTF-8 at all: a lone byte, a broken sequence, a
        // surrogate.
        let reads = [
            ("/api/public/cards/%FF".to_owned(), 404),
            ("/api/public/cards/%C3%28".to_owned(), 404),
            ("/api/v1/customers/%FF".to_owned(), 404),
            ("/api/v1/rewards/%ED%A0%80".to_owned(), 404),
            (format!("/api/v1/customers/{customer}/ledger?after=%FF"), 400),
            ("/api/v1/customers?after=%C3%28".to_owned(), 400),
            ("/api/v1/redemptions?status=%FF%FE".to_owned(), 400),
            ("/api/v1/customers?limit=99999999999999999999".to_owned(), 400),
        ];
        for (path, expected) in reads {
            let (status, body) = app.call("GET", &path, &acme.staff, None, None).await;
            assert_eq!(status, expected, "{path}: {body}");
        }
        let json = Some("application/json");
        let enrol = "/api/v1/customers";
        let deep_array = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        let deep_object = format!(
            r#"{{"name": {}1{}}}"#,
            r#"{"a":"#.repeat(1_000),
            "}".repeat(1_000)
        );
        for body in [deep_array, deep_object] {
            let (s, b, h) = post_raw(&app, enrol, &acme.staff, json, body.into()).await;
            assert_problem(s, &b, &h, 400, "malformed_json");
        }
        let invalid_utf8 = b"{\"name\": \"\xff\xfe\", \"email\": \"x@example.com\"}".to_vec();
        let (s, b, h) = post_raw(&app, enrol, &acme.staff, json, invalid_utf8).await;
        assert_problem(s, &b, &h, 400, "malformed_json");
        assert_eq!(written(&app), before, "no bad request wrote anything");
    }

    async fn routes_methods_request_ids_and_headers(backend) {
        let app = TestApp::spawn(backend).await;
        let platform = app.platform_key();
        let acme = app.tenant(&platform, "acme").await;
        let (status, problem) = app.call("GET", "/api/v1/nowhere", &acme.staff, None, None).await;
        assert_eq!((status, problem["code"].as_str()), (404, Some("not_found")));
        let response = app.send("DELETE", "/api/v1/customers", &acme.staff, None, None).await;
        assert_eq!(response.status(), 405);
        assert_eq!(response.headers()["allow"], "GET, POST");
        assert_eq!(response.json::<Value>().await.unwrap()["code"], "method_not_allowed");
        let response = app.send("PUT", "/health/live", &acme.staff, None, None).await;
        assert_eq!((response.status().as_u16(), response.headers()["allow"].to_str().unwrap()), (405, "GET"));

        let echoed = app.client.get(app.url("/health/live")).header("X-Request-ID", "pos-7f3a.1").send().await.unwrap();
        assert_eq!(echoed.headers()["x-request-id"], "pos-7f3a.1");
        for insane in ["has space", "semi;colon", &"x".repeat(129)] {
            let replaced = app.client.get(app.url("/health/live")).header("X-Request-ID", insane).send().await.unwrap();
            let id = replaced.headers()["x-request-id"].to_str().unwrap().to_owned();
            assert!(id != insane && id.len() == 36, "a fresh UUID replaces {insane:?}: {id}");
        }
        let response = app.get("/api/v1/customers").await;
        for (header, value) in [
            ("x-content-type-options", "nosniff"),
            ("x-frame-options", "DENY"),
            ("content-security-policy", "default-src 'none'; frame-ancestors 'none'"),
            ("cache-control", "no-store"),
            ("permissions-policy", "accelerometer=(), camera=(), geolocation=(), gyroscope=(), microphone=(), payment=(), usb=()"),
        ] {
            assert_eq!(response.headers()[header], value, "{header}");
        }
        assert!(response.headers().get("strict-transport-security").is_none(), "HTTPS is asked for in production only");
    }
}

/// Sends a chunked request (no Content-Length) by hand; returns the status and the raw answer.
fn chunked_post(app: &TestApp, path: &str, key: &str, body: &[u8]) -> (u16, String) {
    let mut stream = std::net::TcpStream::connect(app.address).unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {key}\r\n\
         Content-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).unwrap();
    for chunk in body.chunks(8 * 1024) {
        // The server may answer and close before the whole body is sent.
        if stream
            .write_all(format!("{:x}\r\n", chunk.len()).as_bytes())
            .is_err()
            || stream.write_all(chunk).is_err()
            || stream.write_all(b"\r\n").is_err()
        {
            break;
        }
    }
    let _ = stream.write_all(b"0\r\n\r\n");
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    let status = answer
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, answer)
}
