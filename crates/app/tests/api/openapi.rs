//! The OpenAPI document and Swagger UI: the document describes exactly the routes the app serves,
//! matches the snapshot committed in `docs/openapi.json`, and the UI works from embedded files.

use std::collections::BTreeSet;
use std::path::PathBuf;

use serde_json::Value;

use crate::support::{Backend, TestApp, json_of};

const METHODS: [&str; 5] = ["get", "put", "post", "delete", "patch"];

/// Set `UPDATE_OPENAPI_SNAPSHOT=1` to rewrite the snapshot after a deliberate API change.
fn snapshot_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/openapi.json")
}

fn operations(document: &Value) -> Vec<(String, String, &Value)> {
    let mut found = Vec::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for method in METHODS {
            if let Some(operation) = item.get(method) {
                found.push((method.to_uppercase(), path.clone(), operation));
            }
        }
    }
    found
}

async fn served_document(app: &TestApp) -> Value {
    json_of(app.get("/api/openapi.json").await, "application/json").await
}

#[actix_web::test]
async fn the_document_matches_the_committed_snapshot() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let served = app.get("/api/openapi.json").await.text().await.unwrap();
    assert_eq!(served, loyalty_http::openapi_document());
    let path = snapshot_path();
    if std::env::var_os("UPDATE_OPENAPI_SNAPSHOT").is_some() {
        std::fs::write(&path, format!("{served}\n")).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed.trim_end() == served.trim_end(),
        "the API changed: review the difference, then run the tests with \
         UPDATE_OPENAPI_SNAPSHOT=1 to update docs/openapi.json"
    );
}

#[actix_web::test]
async fn every_served_route_is_documented_and_every_documented_route_is_served() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let document = served_document(&app).await;
    let documented: BTreeSet<(String, String)> = operations(&document)
        .into_iter()
        .map(|(method, path, _)| (method, path))
        .collect();
    let served: BTreeSet<(String, String)> = loyalty_http::served_operations()
        .into_iter()
        .map(|(method, path)| (method, path.to_owned()))
        .collect();
    assert_eq!(documented, served, "documented vs registered routes");
    assert!(served.len() >= 36, "{} routes", served.len());
    // Each documented operation reaches its handler over HTTP: no route-level 404 or 405.
    for (method, path) in &documented {
        let concrete = path
            .replace("{card_token}", "no-such-card")
            .replace("{entry_id}", "no-such-entry")
            .replace("{id}", "no-such-id");
        let response = app
            .client
            .request(method.parse().unwrap(), app.url(&concrete))
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let body = response.text().await.unwrap();
        assert!(
            status != 405 && !body.contains("\"code\":\"not_found\""),
            "{method} {path}: {status} {body}"
        );
    }
}

#[actix_web::test]
async fn the_document_describes_security_idempotency_and_every_error() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let document = served_document(&app).await;
    assert_eq!(document["openapi"], "3.1.0");
    assert_eq!(
        document["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    let problem = &document["components"]["schemas"]["Problem"];
    assert!(problem["properties"]["code"].is_object(), "{problem}");
    assert!(problem["example"]["code"].is_string(), "an example problem");

    let mut operation_ids = BTreeSet::new();
    for (method, path, operation) in operations(&document) {
        let name = format!("{method} {path}");
        let id = operation["operationId"].as_str().unwrap().to_owned();
        assert!(operation_ids.insert(id.clone()), "{name}: {id} twice");
        let responses = operation["responses"].as_object().unwrap();
        for (status, response) in responses {
            if status.starts_with('4') || status.starts_with('5') {
                let description = response["description"].as_str().unwrap();
                let is_readiness_report = path == "/health/ready";
                if !is_readiness_report {
                    assert!(
                        description.contains('`'),
                        "{name} {status} names its codes: {description}"
                    );
                    assert_eq!(
                        response["content"]["application/problem+json"]["schema"]["$ref"],
                        "#/components/schemas/Problem",
                        "{name} {status}"
                    );
                }
            }
        }
        if path.starts_with("/api/v1/") {
            assert_eq!(operation["security"][0]["bearer"], serde_json::json!([]));
            for status in ["401", "403", "429", "503"] {
                assert!(responses.contains_key(status), "{name} documents {status}");
            }
        }
        let parameters = operation["parameters"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let idempotency_key = parameters
            .iter()
            .find(|p| p["name"] == "Idempotency-Key" && p["in"] == "header");
        // Changes to balances and imports require a key; enrolling, fulfilling and cancelling
        // accept one.
        let required = [
            "/imports/customers",
            "/visits",
            "/purchases",
            "/adjustments",
            "/reversal",
            "/{id}/redemptions",
        ];
        let optional = ["/api/v1/customers", "/fulfill", "/cancel"];
        let expected = if method != "POST" {
            None
        } else if required.iter().any(|suffix| path.ends_with(suffix)) {
            Some(true)
        } else if optional.iter().any(|suffix| path.ends_with(suffix)) {
            Some(false)
        } else {
            None
        };
        assert_eq!(
            idempotency_key.map(|p| p["required"] == true),
            expected,
            "{name}: Idempotency-Key"
        );
        if operation.get("requestBody").is_some() {
            assert!(
                responses["422"]["description"]
                    .as_str()
                    .unwrap()
                    .contains("`invalid_body`"),
                "{name}"
            );
        }
    }
}

#[actix_web::test]
async fn swagger_ui_is_served_from_embedded_files() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let redirect = app.client.get(app.url("/docs")).send().await.unwrap();
    // The client follows the redirect to /docs/.
    assert_eq!(redirect.status(), 200);
    assert!(redirect.url().path().ends_with("/docs/"));
    let csp = redirect.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("script-src 'self'"), "{csp}");
    let page = redirect.text().await.unwrap();
    assert!(page.contains("swagger-ui-bundle.js"), "{page}");
    assert!(!page.contains("https://"), "no file from elsewhere: {page}");

    let initializer = app.get("/docs/swagger-initializer.js").await;
    assert_eq!(initializer.status(), 200);
    let script = initializer.text().await.unwrap();
    assert!(script.contains("/api/openapi.json"), "{script}");
    assert!(!script.contains("petstore"), "{script}");

    let bundle = app.get("/docs/swagger-ui-bundle.js").await;
    assert_eq!(bundle.status(), 200);
    assert!(bundle.bytes().await.unwrap().len() > 100_000);

    let missing = app.get("/docs/no-such-file.js").await;
    assert_eq!(missing.status(), 404);
    assert_eq!(
        json_of(missing, "application/problem+json").await["code"],
        "not_found"
    );
}
