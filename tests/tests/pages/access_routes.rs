//! Access to every route of the router, table-driven. The routes are read
//! from the source (every `.route("...", ...)` under web/src), so a route
//! added without a row here fails the test. For each route: no credentials,
//! a wrong token, a token of another project and, on state-changing calls,
//! a read-only token; a granted read-only token reaches every read.
//! Then cross-project reads by id and by search (traces, chains, functions,
//! the map, the Jaeger API) return nothing, and the project selector
//! offers only granted projects.

use reqwest::Method;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::path::Path;
use tracehouse_model::access::{
    ApiTokenEntry, AuthSettings, IngestTokenEntry, Role, SecretHash, UserEntry,
};
use tracehouse_tests::{now_unix_nanos, TestApp};

const PAYMENTS_INGEST: &str = "ingest-payments";
const SEARCH_INGEST: &str = "ingest-search";
/// Read-only, granted payments and default (alert state is kept in `default`).
const READER: &str = "api-reader";
/// Read-only, granted search only.
const OTHER: &str = "api-other";

/// An admin user granted payments and default, and a read user granted search.
const ADMIN: (&str, &str) = ("root", "admin password 1");
const READ_USER: (&str, &str) = ("ana", "reader password 1");

const PAYMENTS_TRACE: &str = "aa000000000000000000000000000001";
const SEARCH_TRACE: &str = "bb000000000000000000000000000002";

/// How a route is reached: method, path with sample parameters, and whether
/// anyone may call it.
struct RouteCase {
    /// The route as written in the source, e.g. `/api/v1/traces/{trace_id}`.
    route: &'static str,
    method: Method,
    url: String,
    public: bool,
}

fn case(route: &'static str, method: Method, url: &str) -> RouteCase {
    RouteCase {
        route,
        method,
        url: url.to_owned(),
        public: false,
    }
}

fn public(route: &'static str, url: &str) -> RouteCase {
    RouteCase {
        public: true,
        ..case(route, Method::GET, url)
    }
}

fn table() -> Vec<RouteCase> {
    let trace = format!("/{PAYMENTS_TRACE}");
    vec![
        public("/healthz", "/healthz"),
        public("/readyz", "/readyz"),
        public("/metrics", "/metrics"),
        public("/static/{name}", "/static/app.css"),
        public("/login", "/login"),
        RouteCase {
            public: true,
            ..case("/login", Method::POST, "/login")
        },
        public("/logout", "/logout"),
        case("/logout", Method::POST, "/logout"),
        case("/", Method::GET, "/"),
        case("/functions", Method::GET, "/functions"),
        case("/functions/{name}", Method::GET, "/functions/charge"),
        case("/traces", Method::GET, "/traces"),
        case(
            "/traces/{trace_id}",
            Method::GET,
            &format!("/traces{trace}"),
        ),
        case("/chains/broken", Method::GET, "/chains/broken"),
        case(
            "/chains/{trace_id}",
            Method::GET,
            &format!("/chains{trace}"),
        ),
        case("/map", Method::GET, "/map"),
        case("/alerts", Method::GET, "/alerts"),
        case("/dashboards", Method::GET, "/dashboards"),
        case("/dashboards/{name}", Method::GET, "/dashboards/team"),
        case(
            "/api/v1/traces/{trace_id}",
            Method::GET,
            &format!("/api/v1/traces{trace}"),
        ),
        case("/api/v1/traces", Method::GET, "/api/v1/traces"),
        case(
            "/api/v1/chains/broken",
            Method::GET,
            "/api/v1/chains/broken",
        ),
        case(
            "/api/v1/chains/{trace_id}",
            Method::GET,
            &format!("/api/v1/chains{trace}"),
        ),
        case("/api/v1/services", Method::GET, "/api/v1/services"),
        case(
            "/api/v1/services/{service}/operations",
            Method::GET,
            "/api/v1/services/checkout/operations",
        ),
        case("/api/v1/map", Method::GET, "/api/v1/map"),
        case("/api/v1/functions", Method::GET, "/api/v1/functions"),
        case(
            "/api/v1/functions/{function}/timeseries",
            Method::GET,
            "/api/v1/functions/charge/timeseries",
        ),
        case(
            "/api/v1/coldstarts",
            Method::GET,
            "/api/v1/coldstarts?function=charge",
        ),
        case("/api/v1/alerts", Method::GET, "/api/v1/alerts"),
        case(
            "/api/v1/alerts/history",
            Method::GET,
            "/api/v1/alerts/history",
        ),
        case(
            "/api/v1/alerts/deliveries",
            Method::GET,
            "/api/v1/alerts/deliveries",
        ),
        case(
            "/api/v1/alerts/silences",
            Method::GET,
            "/api/v1/alerts/silences",
        ),
        case(
            "/api/v1/alerts/silences",
            Method::POST,
            "/api/v1/alerts/silences",
        ),
        case(
            "/api/v1/alerts/reload",
            Method::POST,
            "/api/v1/alerts/reload",
        ),
        case("/jaeger/api/services", Method::GET, "/jaeger/api/services"),
        case(
            "/jaeger/api/services/{service}/operations",
            Method::GET,
            "/jaeger/api/services/checkout/operations",
        ),
        case(
            "/jaeger/api/operations",
            Method::GET,
            "/jaeger/api/operations?service=checkout",
        ),
        case(
            "/jaeger/api/traces",
            Method::GET,
            "/jaeger/api/traces?service=checkout&limit=20",
        ),
        case(
            "/jaeger/api/traces/{trace_id}",
            Method::GET,
            &format!("/jaeger/api/traces{trace}"),
        ),
        case(
            "/jaeger/api/dependencies",
            Method::GET,
            "/jaeger/api/dependencies",
        ),
    ]
}

/// Every (method, route) the web crate declares, read from its source.
fn declared_routes() -> BTreeSet<(String, String)> {
    let web = Path::new(env!("CARGO_MANIFEST_DIR")).join("../web/src");
    let mut routes = BTreeSet::new();
    let mut files = vec![web.clone()];
    while let Some(path) = files.pop() {
        if path.is_dir() {
            for entry in std::fs::read_dir(&path).expect("web/src") {
                files.push(entry.expect("entry").path());
            }
            continue;
        }
        if path.extension().is_none_or(|ext| ext != "rs") {
            continue;
        }
        let source = std::fs::read_to_string(&path).expect("source");
        // Routers built by unit tests are not the application's.
        let text = source.split("#[cfg(test)]").next().unwrap_or_default();
        let prefix = match path.strip_prefix(&web).ok().and_then(Path::to_str) {
            Some("api/mod.rs") => "/api/v1",
            Some("jaeger/mod.rs") => "/jaeger/api",
            _ => "",
        };
        for (index, _) in text.match_indices(".nest(") {
            let nested = text[index..].split('"').nth(1).unwrap_or_default();
            assert!(
                matches!(nested, "/api/v1" | "/jaeger/api"),
                "{}: nest({nested:?}) is not a prefix this test knows",
                path.display()
            );
        }
        for (index, _) in text.match_indices(".route(") {
            let rest = &text[index + ".route(".len()..];
            let start = rest.len() - rest.trim_start().len();
            // A path that is not a literal would be read wrong: refuse it.
            assert!(
                rest[start..].starts_with('"'),
                "{}: a .route( whose path is not a string literal",
                path.display()
            );
            let Some(length) = rest[start + 1..].find('"') else {
                continue;
            };
            let route = format!("{prefix}{}", &rest[start + 1..start + 1 + length]);
            // The method routers up to the end of this `.route(...)` call.
            let call = &rest[start + 1 + length..];
            let end = call
                .find("\n        .")
                .unwrap_or(call.len())
                .min(call.find(".route(").unwrap_or(call.len()));
            for method in ["get", "post", "put", "delete", "patch"] {
                let call = &call[..end];
                if call.contains(&format!("{method}(")) {
                    routes.insert((method.to_uppercase(), route.clone()));
                }
            }
        }
    }
    routes
}

#[test]
fn the_table_covers_every_declared_route() {
    let declared = declared_routes();
    assert!(declared.len() > 30, "found only {declared:?}");
    let covered: BTreeSet<(String, String)> = table()
        .iter()
        .map(|case| (case.method.to_string(), case.route.to_owned()))
        .collect();
    let missing: Vec<_> = declared.difference(&covered).collect();
    let stale: Vec<_> = covered.difference(&declared).collect();
    assert!(
        missing.is_empty(),
        "routes without an access row: {missing:?}"
    );
    assert!(
        stale.is_empty(),
        "rows for routes that no longer exist: {stale:?}"
    );
}

fn hash(token: &str) -> String {
    SecretHash::of(token).to_hex()
}

async fn start() -> anyhow::Result<TestApp> {
    let ingest = |project: &str, token: &str| IngestTokenEntry {
        project: project.to_owned(),
        token_sha256: hash(token),
    };
    let api = |name: &str, projects: &[&str], token: &str| ApiTokenEntry {
        name: name.to_owned(),
        projects: projects.iter().map(|p| (*p).to_owned()).collect(),
        token_sha256: hash(token),
    };
    let auth = AuthSettings {
        ingest_tokens: vec![
            ingest("payments", PAYMENTS_INGEST),
            ingest("search", SEARCH_INGEST),
        ],
        api_tokens: vec![
            api("reader", &["payments", "default"], READER),
            api("other", &["search"], OTHER),
        ],
        users: vec![
            user(ADMIN, &["payments", "default"], Role::Admin),
            user(READ_USER, &["search"], Role::Read),
        ],
        ..AuthSettings::default()
    };
    TestApp::start_with(|config| config.auth = Some(auth)).await
}

fn user((name, password): (&str, &str), projects: &[&str], role: Role) -> UserEntry {
    UserEntry {
        name: name.to_owned(),
        password_argon2: tracehouse_web::session::hash_password(password).expect("hash"),
        projects: projects.iter().map(|p| (*p).to_owned()).collect(),
        role,
    }
}

/// A client that does not follow redirects, so that they can be checked.
fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

/// The `name=value` of a `Set-Cookie` header called `name`.
fn set_cookie(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find(|value| value.starts_with(&format!("{name}=")))
        .map(|value| value.split(';').next().unwrap_or_default().to_owned())
}

/// Value of `name="..." value="..."` in a page.
fn hidden_field(page: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = page.find(&marker)? + marker.len();
    page[start..].split('"').next().map(str::to_owned)
}

/// A logged-in session: its cookie and its CSRF token.
struct Login {
    cookie: String,
    csrf: String,
}

async fn log_in(app: &TestApp, (name, password): (&str, &str)) -> anyhow::Result<Login> {
    let http = client();
    let form = http.get(format!("{}/login", app.http_url())).send().await?;
    let login_cookie = set_cookie(&form, "tracehouse_login").expect("login cookie");
    let csrf = hidden_field(&form.text().await?, "csrf_token").expect("csrf field");
    let response = http
        .post(format!("{}/login", app.http_url()))
        .header("cookie", &login_cookie)
        .form(&[
            ("name", name),
            ("password", password),
            ("csrf_token", &csrf),
        ])
        .send()
        .await?;
    anyhow::ensure!(response.status() == 303, "login: {}", response.status());
    let cookie = set_cookie(&response, "tracehouse_session").expect("session cookie");
    let logout = http
        .get(format!("{}/logout", app.http_url()))
        .header("cookie", &cookie)
        .send()
        .await?;
    let csrf = hidden_field(&logout.text().await?, "csrf_token").expect("session csrf");
    Ok(Login { cookie, csrf })
}

/// The credentials of a request.
#[derive(Clone, Copy)]
enum Auth<'a> {
    None,
    Token(&'a str),
    /// A session, with or without its CSRF token.
    Session(&'a Login, bool),
}

/// One Lambda-style invocation of `function` in `service`, as OTLP/JSON.
fn invocation(trace_id: &str, service: &str, function: &str) -> Value {
    let start = now_unix_nanos() - 60_000_000_000;
    let string = |key: &str, value: &str| json!({"key": key, "value": {"stringValue": value}});
    json!({"resourceSpans": [{
        "resource": {"attributes": [
            string("service.name", service), string("cloud.provider", "aws"),
            string("cloud.platform", "aws_lambda"), string("faas.name", function),
        ]},
        "scopeSpans": [{"spans": [{
            "traceId": trace_id, "spanId": "00f067aa0ba902b7", "name": format!("{function} handler"),
            "kind": 2, "startTimeUnixNano": start.to_string(),
            "endTimeUnixNano": (start + 50_000_000).to_string(),
            "attributes": [string("faas.trigger", "http")]
        }]}]
    }]})
}

async fn ingest(app: &TestApp, token: &str, body: &Value) -> anyhow::Result<()> {
    let response = app
        .http
        .post(format!("{}/v1/traces", app.otlp_http_url()))
        .bearer_auth(token)
        .json(body)
        .send()
        .await?;
    anyhow::ensure!(response.status() == 200, "ingest: {}", response.status());
    Ok(())
}

async fn call(
    app: &TestApp,
    method: Method,
    url: &str,
    auth: Auth<'_>,
) -> anyhow::Result<(u16, String)> {
    let mut request = client().request(method.clone(), format!("{}{url}", app.http_url()));
    match auth {
        Auth::None => {}
        Auth::Token(token) => request = request.bearer_auth(token),
        Auth::Session(login, with_csrf) => {
            request = request.header("cookie", &login.cookie);
            if with_csrf {
                request = request.header("x-csrf-token", &login.csrf);
            }
        }
    }
    if method == Method::POST {
        request = request
            .header("content-type", "application/json")
            .body(r#"{"matchers": {"rule": "x"}, "duration": "1h", "comment": "t"}"#);
    }
    let response = request.send().await?;
    Ok((response.status().as_u16(), response.text().await?))
}

/// Whether a route is a page (refused by a redirect to the login form).
fn is_page(route: &str) -> bool {
    !(route.starts_with("/api/") || route.starts_with("/jaeger/"))
}

/// Asks for the project `search` explicitly.
fn with_project(url: &str, project: &str) -> String {
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}project={project}")
}

#[tokio::test(flavor = "multi_thread")]
async fn every_route_checks_who_is_asking() -> anyhow::Result<()> {
    let app = start().await?;
    // The stylesheet's name carries its hash: take it from a page.
    let (_, page) = call(&app, Method::GET, "/", Auth::Token(READER)).await?;
    let stylesheet = page
        .split('"')
        .find(|part| part.starts_with("/static/app.") && part.ends_with(".css"))
        .map(str::to_owned)
        .ok_or_else(|| anyhow::anyhow!("no stylesheet link in {page}"))?;
    let admin = log_in(&app, ADMIN).await?;
    let read_user = log_in(&app, READ_USER).await?;
    for mut case in table() {
        if case.route == "/static/{name}" {
            case.url = stylesheet.clone();
        }
        let what = format!("{} {}", case.method, case.url);
        let (anonymous, _) = call(&app, case.method.clone(), &case.url, Auth::None).await?;
        let (wrong, _) = call(
            &app,
            case.method.clone(),
            &case.url,
            Auth::Token("not-a-token"),
        )
        .await?;
        if case.public {
            let reachable = anonymous < 500 || anonymous == 503;
            assert!(anonymous != 401 && reachable, "{what}: {anonymous}");
            assert_eq!(wrong, anonymous, "{what}");
            continue;
        }
        // Pages send the browser to the login form, APIs answer 401.
        let refused = if is_page(case.route) { 303 } else { 401 };
        assert_eq!(anonymous, refused, "{what} without credentials");
        assert_eq!(wrong, refused, "{what} with a wrong token");
        // An ingest token is not an API token.
        let (ingest_token, _) = call(
            &app,
            case.method.clone(),
            &case.url,
            Auth::Token(PAYMENTS_INGEST),
        )
        .await?;
        assert_eq!(ingest_token, refused, "{what} with an ingest token");
        let (reader, body) =
            call(&app, case.method.clone(), &case.url, Auth::Token(READER)).await?;
        if case.method == Method::GET {
            assert!(
                ![401, 403].contains(&reader) && reader < 500,
                "{what} granted: {reader} {body}"
            );
            // Another project's token asking for payments: not found.
            let other_url = with_project(&case.url, "payments");
            let (other, _) = call(&app, Method::GET, &other_url, Auth::Token(OTHER)).await?;
            assert_eq!(other, 404, "{what} for payments with a search token");
            let (session, _) =
                call(&app, Method::GET, &case.url, Auth::Session(&admin, false)).await?;
            assert!(
                ![401, 403].contains(&session) && session < 500,
                "{what} by session: {session}"
            );
        } else {
            if case.route != "/logout" {
                assert_eq!(reader, 403, "{what}: a read-only token cannot change state");
                let read_user = Auth::Session(&read_user, true);
                let (status, _) = call(&app, case.method.clone(), &case.url, read_user).await?;
                assert_eq!(status, 403, "{what}: a read user cannot change state");
            }
            let without_csrf = Auth::Session(&admin, false);
            let (status, _) = call(&app, case.method.clone(), &case.url, without_csrf).await?;
            assert_eq!(status, 403, "{what}: a session call without its CSRF token");
        }
    }
    // With its CSRF token an admin may change state; logging out ends the session.
    let (status, body) = call(
        &app,
        Method::POST,
        "/api/v1/alerts/reload",
        Auth::Session(&admin, true),
    )
    .await?;
    assert!(
        ![401, 403].contains(&status) && status < 500,
        "reload by admin: {status} {body}"
    );
    let (status, _) = call(&app, Method::POST, "/logout", Auth::Session(&admin, true)).await?;
    assert_eq!(status, 303);
    let (status, _) = call(
        &app,
        Method::GET,
        "/api/v1/map",
        Auth::Session(&admin, true),
    )
    .await?;
    assert_eq!(status, 401, "the session ended at logout");
    for reason in ["unauthenticated", "forbidden", "csrf"] {
        let sample = format!("tracehouse_http_refused_requests_total{{reason=\"{reason}\"}}");
        assert!(app.metric(&sample).await? >= 1.0, "{sample} not counted");
    }
    app.stop().await
}

#[tokio::test(flavor = "multi_thread")]
async fn reads_never_cross_projects() -> anyhow::Result<()> {
    let app = start().await?;
    ingest(
        &app,
        PAYMENTS_INGEST,
        &invocation(PAYMENTS_TRACE, "checkout", "charge"),
    )
    .await?;
    ingest(
        &app,
        SEARCH_INGEST,
        &invocation(SEARCH_TRACE, "checkout", "index"),
    )
    .await?;
    // Both stored before anything is asked.
    // Its days in trace_time_index too: a lookup by id reads them first.
    for (project, trace) in [("payments", PAYMENTS_TRACE), ("search", SEARCH_TRACE)] {
        let sql = format!(
            "SELECT count() AS count FROM trace_time_index WHERE project = '{project}' AND trace_id = unhex('{trace}')"
        );
        app.wait_for_rows(&sql, 1).await?;
        app.wait_for_rows(&sql.replace("trace_time_index", "spans"), 1)
            .await?;
    }
    let get = |url: &'static str, token: &'static str| {
        let app = &app;
        async move { call(app, Method::GET, url, Auth::Token(token)).await }
    };
    // By id: another project's trace is a 404, like an unknown one.
    for url in [
        "/api/v1/traces/aa000000000000000000000000000001",
        "/api/v1/chains/aa000000000000000000000000000001",
        "/jaeger/api/traces/aa000000000000000000000000000001",
        "/traces/aa000000000000000000000000000001",
    ] {
        let (status, body) = get(url, OTHER).await?;
        assert_eq!(status, 404, "{url}: {body}");
        let (status, body) = get(url, READER).await?;
        assert_eq!(status, 200, "{url} granted: {body}");
    }
    // By search and listing: only the caller's own project.
    for url in [
        "/api/v1/traces?service=checkout",
        "/api/v1/functions",
        "/api/v1/map",
        "/api/v1/services",
        "/jaeger/api/traces?service=checkout&limit=20",
        "/jaeger/api/services",
        "/traces?service=checkout",
        "/functions",
    ] {
        let (_, seen_by_other) = get(url, OTHER).await?;
        assert!(
            !seen_by_other.contains(PAYMENTS_TRACE),
            "{url}: {seen_by_other}"
        );
        assert!(!seen_by_other.contains("charge"), "{url}: {seen_by_other}");
        let (_, seen_by_reader) = get(url, READER).await?;
        assert!(
            !seen_by_reader.contains(SEARCH_TRACE),
            "{url}: {seen_by_reader}"
        );
        assert!(!seen_by_reader.contains("index"), "{url}: {seen_by_reader}");
    }
    let (_, functions) = get("/api/v1/functions", READER).await?;
    assert!(functions.contains("charge"), "{functions}");
    let (_, functions) = get("/api/v1/functions", OTHER).await?;
    assert!(functions.contains("index"), "{functions}");
    // The selector offers granted projects only.
    let (_, page) = get("/", OTHER).await?;
    assert!(page.contains("search"), "selector lacks search");
    assert!(
        !page.contains("payments"),
        "selector offers payments to a search token"
    );
    app.stop().await
}

#[tokio::test(flavor = "multi_thread")]
async fn an_open_dashboard_off_loopback_is_refused_naming_the_flag() -> anyhow::Result<()> {
    let result = TestApp::start_with(|config| {
        config.http_addr = "0.0.0.0:0".parse().expect("address");
    })
    .await;
    let error = match result {
        Ok(app) => {
            app.stop().await?;
            anyhow::bail!("started without users on 0.0.0.0");
        }
        Err(error) => format!("{error:#}"),
    };
    assert!(error.contains("--insecure-open-dashboard"), "{error}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn users_log_in_with_their_password_and_see_their_projects() -> anyhow::Result<()> {
    let app = start().await?;
    ingest(
        &app,
        PAYMENTS_INGEST,
        &invocation(PAYMENTS_TRACE, "checkout", "charge"),
    )
    .await?;
    let sql =
        format!("SELECT count() AS count FROM spans WHERE trace_id = unhex('{PAYMENTS_TRACE}')");
    app.wait_for_rows(&sql, 1).await?;
    // A wrong password, and a login form posted without its token.
    assert!(log_in(&app, (ADMIN.0, "wrong password")).await.is_err());
    let http = client();
    let forged = http
        .post(format!("{}/login", app.http_url()))
        .form(&[
            ("name", ADMIN.0),
            ("password", ADMIN.1),
            ("csrf_token", "x"),
        ])
        .send()
        .await?;
    assert_eq!(forged.status(), 403);
    assert!(set_cookie(&forged, "tracehouse_session").is_none());
    let form = http.get(format!("{}/login", app.http_url())).send().await?;
    let login_cookie = form
        .headers()
        .get("set-cookie")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(
        login_cookie.contains("HttpOnly") && login_cookie.contains("SameSite=Lax"),
        "{login_cookie}"
    );

    let admin = log_in(&app, ADMIN).await?;
    let trace = format!("/api/v1/traces/{PAYMENTS_TRACE}");
    let (status, _) = call(&app, Method::GET, &trace, Auth::Session(&admin, false)).await?;
    assert_eq!(status, 200);
    let ana = log_in(&app, READ_USER).await?;
    let (status, _) = call(&app, Method::GET, &trace, Auth::Session(&ana, false)).await?;
    assert_eq!(status, 404, "ana reads search only");
    let (_, page) = call(&app, Method::GET, "/", Auth::Session(&ana, false)).await?;
    assert!(
        !page.contains("payments"),
        "the selector offers payments to ana"
    );
    for reason in ["login_failed", "csrf"] {
        let sample = format!("tracehouse_http_refused_requests_total{{reason=\"{reason}\"}}");
        assert_eq!(app.metric(&sample).await?, 1.0, "{sample}");
    }
    app.stop().await
}

#[tokio::test(flavor = "multi_thread")]
async fn health_and_metrics_can_have_a_listener_of_their_own() -> anyhow::Result<()> {
    let app = TestApp::start_with(|config| {
        config.metrics_addr = Some("127.0.0.1:0".parse().expect("address"));
        config.auth = Some(AuthSettings {
            api_tokens: vec![ApiTokenEntry {
                name: "reader".to_owned(),
                projects: vec!["default".to_owned()],
                token_sha256: hash(READER),
            }],
            ..AuthSettings::default()
        });
    })
    .await?;
    let metrics_address = app
        .running
        .as_ref()
        .and_then(|running| running.addresses.metrics)
        .expect("metrics listener");
    for path in ["/healthz", "/readyz", "/metrics"] {
        let own = client()
            .get(format!("http://{metrics_address}{path}"))
            .send()
            .await?;
        assert_eq!(own.status(), 200, "{path} on its own listener");
        let (main, _) = call(&app, Method::GET, path, Auth::None).await?;
        assert_eq!(main, 401, "{path} on http_addr without credentials");
        let (main, _) = call(&app, Method::GET, path, Auth::Token(READER)).await?;
        assert_eq!(main, 200, "{path} on http_addr with a token");
    }
    // Nothing else is served there.
    let other = client()
        .get(format!("http://{metrics_address}/api/v1/map"))
        .send()
        .await?;
    assert_eq!(other.status(), 404);
    app.stop().await
}

#[tokio::test(flavor = "multi_thread")]
async fn injection_through_filters_and_path_parameters_is_refused_or_plain() -> anyhow::Result<()> {
    let app = start().await?;
    ingest(
        &app,
        PAYMENTS_INGEST,
        &invocation(PAYMENTS_TRACE, "checkout", "charge"),
    )
    .await?;
    let sql = format!(
        "SELECT count() AS count FROM trace_time_index WHERE trace_id = unhex('{PAYMENTS_TRACE}')"
    );
    app.wait_for_rows(&sql, 1).await?;
    // x' OR 1=1 OR project != '
    let encoded = "x%27%20OR%201%3D1%20OR%20project%20%21%3D%20%27";
    // Refused: a project that is no project name, ids that are no ids.
    for url in [
        format!("/api/v1/map?project={encoded}"),
        format!("/api/v1/traces/{encoded}"),
        format!("/api/v1/chains/{encoded}"),
        format!("/jaeger/api/traces/{encoded}"),
    ] {
        let (status, body) = call(&app, Method::GET, &url, Auth::Token(OTHER)).await?;
        assert_eq!(status, 400, "{url}: {body}");
    }
    // Plain values: the search token finds nothing of payments through any filter.
    for url in [
        format!("/api/v1/traces?service={encoded}"),
        format!("/api/v1/traces?operation={encoded}"),
        format!("/api/v1/traces?attribute=k%3D{encoded}"),
        format!("/api/v1/services/{encoded}/operations"),
        format!("/api/v1/functions/{encoded}/timeseries"),
        format!("/api/v1/coldstarts?function={encoded}"),
        format!("/jaeger/api/traces?service={encoded}&limit=20"),
        format!("/jaeger/api/operations?service={encoded}"),
        format!("/functions/{encoded}"),
        format!("/traces?service={encoded}"),
    ] {
        let (status, body) = call(&app, Method::GET, &url, Auth::Token(OTHER)).await?;
        assert!(status < 500, "{url}: {status} {body}");
        assert!(
            !body.contains(PAYMENTS_TRACE) && !body.contains("charge"),
            "{url}: {body}"
        );
    }
    // The granted reader still finds the trace by a plain filter.
    let (status, body) = call(
        &app,
        Method::GET,
        "/jaeger/api/traces?service=checkout&limit=20&project=payments",
        Auth::Token(READER),
    )
    .await?;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(PAYMENTS_TRACE), "{body}");
    app.stop().await
}

/// Posts the login form (with a valid form token) as `name`; returns the
/// status and the `Retry-After` header.
async fn post_login(
    app: &TestApp,
    name: &str,
    password: &str,
) -> anyhow::Result<(u16, Option<String>)> {
    let http = client();
    let form = http.get(format!("{}/login", app.http_url())).send().await?;
    let login_cookie = set_cookie(&form, "tracehouse_login").expect("login cookie");
    let csrf = hidden_field(&form.text().await?, "csrf_token").expect("csrf field");
    let response = http
        .post(format!("{}/login", app.http_url()))
        .header("cookie", &login_cookie)
        .form(&[
            ("name", name),
            ("password", password),
            ("csrf_token", &csrf),
        ])
        .send()
        .await?;
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    Ok((response.status().as_u16(), retry_after))
}

#[tokio::test(flavor = "multi_thread")]
async fn failed_logins_are_limited_by_name_and_by_address() -> anyhow::Result<()> {
    use tracehouse_web::session_limit::{MAX_FAILURES_PER_ADDRESS, MAX_FAILURES_PER_NAME};
    let app = start().await?;
    for _ in 0..MAX_FAILURES_PER_NAME {
        assert_eq!(post_login(&app, ADMIN.0, "wrong").await?.0, 401);
    }
    // At the limit even the right password waits, and no session starts.
    let (status, retry_after) = post_login(&app, ADMIN.0, ADMIN.1).await?;
    assert_eq!(status, 429);
    let seconds: u64 = retry_after.expect("Retry-After").parse()?;
    assert!((1..=300).contains(&seconds), "{seconds}");
    assert!(log_in(&app, ADMIN).await.is_err());
    // Another name from the same address is below both limits.
    assert!(log_in(&app, READ_USER).await.is_ok());
    // Failures for any names add up per address.
    for attempt in MAX_FAILURES_PER_NAME..MAX_FAILURES_PER_ADDRESS {
        let name = format!("nobody{attempt}");
        assert_eq!(post_login(&app, &name, "wrong").await?.0, 401, "{name}");
    }
    assert_eq!(post_login(&app, READ_USER.0, READ_USER.1).await?.0, 429);
    let failed = app
        .metric("tracehouse_http_refused_requests_total{reason=\"login_failed\"}")
        .await?;
    assert_eq!(failed, f64::from(MAX_FAILURES_PER_ADDRESS));
    let limited = app
        .metric("tracehouse_http_refused_requests_total{reason=\"rate_limited\"}")
        .await?;
    assert_eq!(limited, 3.0);
    app.stop().await
}

#[tokio::test(flavor = "multi_thread")]
async fn the_frame_shows_the_user_and_logs_out_by_a_form() -> anyhow::Result<()> {
    let app = start().await?;
    let ana = log_in(&app, READ_USER).await?;
    let http = client();
    let response = http
        .get(format!("{}/functions", app.http_url()))
        .header("cookie", &ana.cookie)
        .send()
        .await?;
    assert_eq!(response.status(), 200);
    let policy = response.headers()["content-security-policy"]
        .to_str()?
        .to_owned();
    assert!(
        policy.contains("script-src 'self'") && !policy.contains("unsafe-inline"),
        "{policy}"
    );
    let page = response.text().await?;
    assert!(
        page.contains("<span class=\"user\" title=\"Signed in\">ana</span>"),
        "no user name in the frame"
    );
    let form_start = page
        .find("<form class=\"account\" method=\"post\" action=\"/logout\">")
        .expect("logout form");
    let form = &page[form_start..];
    assert_eq!(
        hidden_field(form, "csrf_token").as_deref(),
        Some(ana.csrf.as_str())
    );
    assert!(!page.contains("<script>"), "an inline script");
    // The frame's form logs out; the session then reaches nothing.
    let logout = http
        .post(format!("{}/logout", app.http_url()))
        .header("cookie", &ana.cookie)
        .form(&[("csrf_token", ana.csrf.as_str())])
        .send()
        .await?;
    assert_eq!(logout.status(), 303);
    let (status, _) = call(&app, Method::GET, "/functions", Auth::Session(&ana, false)).await?;
    assert_eq!(status, 303, "the ended session still reads pages");
    app.stop().await?;

    // An open dashboard has no user to show.
    let open = TestApp::start().await?;
    let (status, _, page) = open.get_page("/functions").await?;
    assert_eq!(status, 200);
    assert!(!page.contains("action=\"/logout\""));
    assert!(!page.contains("class=\"user\""));
    open.stop().await
}
