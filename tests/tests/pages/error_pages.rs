//! Errors answer in the form of what was asked: pages with HTML pages, the
//! JSON API with `{"error": ...}` and the Jaeger API with its envelope, each
//! with the status and message of the one mapping in `web/src/error.rs`.

use serde_json::Value;
use tracehouse_tests::TestApp;

async fn get(app: &TestApp, path: &str) -> anyhow::Result<(u16, String, String)> {
    let response = app
        .http
        .get(format!("{}{path}", app.http_url()))
        .send()
        .await?;
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    Ok((status, content_type, response.text().await?))
}

#[tokio::test(flavor = "multi_thread")]
async fn pages_answer_errors_with_pages_and_apis_with_json() -> anyhow::Result<()> {
    let app = TestApp::start().await?;
    for (path, status, says) in [
        ("/functions?from=soon", 400, "from"),
        ("/traces/0af7651916cd43dd8448eb211c80319d", 404, "not found"),
        ("/chains/0af7651916cd43dd8448eb211c80319d", 404, "not found"),
        ("/no/such/page", 404, "not found"),
    ] {
        let (got, content_type, body) = get(&app, path).await?;
        assert_eq!(got, status, "{path}: {body}");
        assert!(
            content_type.starts_with("text/html"),
            "{path}: {content_type}"
        );
        assert!(
            body.contains("<html") && body.contains(says),
            "{path}: {body}"
        );
    }
    for (path, status, says) in [
        ("/api/v1/functions?from=soon", 400, "from"),
        (
            "/api/v1/chains/0af7651916cd43dd8448eb211c80319d",
            404,
            "not found",
        ),
        ("/api/v1/no/such/thing", 404, "not found"),
    ] {
        let (got, content_type, body) = get(&app, path).await?;
        assert_eq!(got, status, "{path}: {body}");
        assert!(
            content_type.starts_with("application/json"),
            "{path}: {content_type}"
        );
        let json: Value = serde_json::from_str(&body)?;
        assert!(
            json["error"].as_str().is_some_and(|e| e.contains(says)),
            "{path}: {body}"
        );
    }
    let (got, _, body) = get(&app, "/jaeger/api/traces/0af7651916cd43dd8448eb211c80319d").await?;
    let json: Value = serde_json::from_str(&body)?;
    assert_eq!(got, 404);
    assert_eq!(json["errors"][0]["code"], 404, "{body}");
    app.stop().await
}
