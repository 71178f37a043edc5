//! `loyalty smoke`: the post-deploy check from the runbook.

use std::time::{Duration, Instant};

/// What must answer 200 with JSON after a deploy.
const CHECKS: [&str; 2] = ["/health/ready", "/api/public/tenant-meta"];

#[derive(Debug, thiserror::Error)]
pub enum SmokeError {
    #[error("cannot build an HTTP client")]
    Client(#[source] reqwest::Error),
}

/// Runs every check, printing one line each; returns whether all passed.
pub async fn run(base_url: &str, timeout: Duration) -> Result<bool, SmokeError> {
    let client = reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        .build()
        .map_err(SmokeError::Client)?;
    let base = base_url.trim_end_matches('/');
    let mut all_passed = true;
    for path in CHECKS {
        let url = format!("{base}{path}");
        let started = Instant::now();
        let outcome = check(&client, &url).await;
        let elapsed_ms = started.elapsed().as_millis();
        match outcome {
            Ok(summary) => println!("ok    GET {url} {summary} ({elapsed_ms} ms)"),
            Err(reason) => {
                all_passed = false;
                println!("FAIL  GET {url} {reason} ({elapsed_ms} ms)");
            }
        }
    }
    Ok(all_passed)
}

/// One GET: `Ok` with a short summary when it answered 200 with a JSON object.
async fn check(client: &reqwest::Client, url: &str) -> Result<String, String> {
    let response = client.get(url).send().await.map_err(|e| describe(&e))?;
    let status = response.status();
    let is_json = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let body = response.text().await.map_err(|e| describe(&e))?;
    if status != reqwest::StatusCode::OK {
        return Err(format!("-> {status}"));
    }
    if !is_json {
        return Err("-> 200 but not JSON".into());
    }
    let json: serde_json::Value =
        serde_json::from_str(&body).map_err(|_| "-> 200 but the body is not valid JSON")?;
    let summary = ["status", "tenant_id"]
        .iter()
        .filter_map(|key| {
            json.get(key)
                .and_then(|v| v.as_str())
                .map(|v| format!("{key}={v}"))
        })
        .collect::<Vec<_>>()
        .join(" ");
    Ok(format!("-> 200 {summary}").trim_end().to_owned())
}

fn describe(error: &reqwest::Error) -> String {
    if error.is_timeout() {
        "-> timed out".into()
    } else if error.is_connect() {
        "-> cannot connect".into()
    } else {
        format!("-> {error}")
    }
}
