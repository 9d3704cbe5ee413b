//! Who is asking, checked once for every route: [`protect`] wraps the whole
//! router, so a route added later is covered without a line of its own.
//!
//! Each request gets a [`Scope`]: the caller (open, or a grant of projects
//! and a role) and the one project it reads, taken from `?project=` only
//! when the caller is granted it, else the caller's first project. Handlers
//! read the project from the scope and nowhere else, so every query is
//! bound to a granted project in its SQL. A project that is not granted is
//! answered as an unknown one (404), like a trace id of another project.

use crate::error::ApiError;
use crate::session::{self, same_token, SessionState, Sessions, CSRF_HEADER};
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::middleware::Next;
use axum::response::Redirect;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use tracehouse_model::access::{bearer_token, AccessRules, Grant, Role, SharedAccess};
use tracehouse_model::ProjectId;

/// Paths anyone may reach: health for probes and scrapers (unless they have
/// a listener of their own), static assets, the login form (it checks its
/// own CSRF token) and the logout form.
fn is_public(method: &Method, path: &str, health_public: bool) -> bool {
    let health = matches!(path, "/healthz" | "/readyz" | "/metrics");
    (health && health_public)
        || path == "/login"
        || path.starts_with("/static/")
        || (path == "/logout" && method == Method::GET)
}

/// Whether a refused request is a page (sent to the login form) rather than an API call.
fn is_page(path: &str) -> bool {
    let machine = matches!(path, "/healthz" | "/readyz" | "/metrics");
    !(machine || path.starts_with("/api/") || path.starts_with("/jaeger/"))
}

/// Who is asking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// No users or API tokens are configured (and the listener may be open).
    Open,
    /// An API token or a user.
    Granted(Grant),
}

impl Caller {
    /// Whether the caller may read `project`.
    pub fn allows(&self, project: &ProjectId) -> bool {
        match self {
            Self::Open => true,
            Self::Granted(grant) => grant.allows(project),
        }
    }

    /// Whether the caller may change state (silences, reloads).
    pub fn may_change_state(&self) -> bool {
        match self {
            Self::Open => true,
            Self::Granted(grant) => grant.role == Role::Admin,
        }
    }

    /// The project read when the request names none.
    fn first_project(&self) -> ProjectId {
        match self {
            Self::Open => ProjectId::default(),
            Self::Granted(grant) => grant.projects.first().cloned().unwrap_or_default(),
        }
    }
}

/// The caller of a request and the project it reads.
#[derive(Debug, Clone)]
pub struct Scope {
    pub caller: Caller,
    pub project: ProjectId,
    /// The user, when the caller came by session (shown in the pages' frame).
    pub signed_in: Option<SignedIn>,
}

/// A user signed in by session: their name and the session's CSRF token
/// (for the frame's logout form).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedIn {
    pub name: String,
    pub csrf: String,
}

impl SignedIn {
    fn of(caller: &Caller, csrf: Option<&String>) -> Option<Self> {
        match (caller, csrf) {
            (Caller::Granted(grant), Some(csrf)) => Some(Self {
                name: grant.name.clone(),
                csrf: csrf.clone(),
            }),
            _ => None,
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Scope {
    type Rejection = ApiError;

    /// Fails closed: a route outside [`protect`] has no scope and answers 500.
    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        parts.extensions.get::<Scope>().cloned().ok_or_else(|| {
            tracing::error!(
                path = parts.uri.path(),
                "route served without an access check"
            );
            ApiError::internal()
        })
    }
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, prometheus_client::encoding::EncodeLabelSet)]
struct RefusalLabels {
    reason: &'static str,
}

/// Requests the access check refused, by reason: `unauthenticated`,
/// `forbidden` (role or project), `csrf`, `login_failed`, `rate_limited`.
#[derive(Debug, Clone, Default)]
pub struct AccessMetrics {
    refused: prometheus_client::metrics::family::Family<
        RefusalLabels,
        prometheus_client::metrics::counter::Counter,
    >,
}

impl AccessMetrics {
    /// Registers `tracehouse_http_refused_requests_total{reason}`.
    pub fn register(registry: &mut prometheus_client::registry::Registry) -> Self {
        let metrics = Self::default();
        registry.register(
            "tracehouse_http_refused_requests",
            "HTTP requests refused by the access check, by reason",
            metrics.refused.clone(),
        );
        metrics
    }

    /// Counts one refusal.
    pub fn refused(&self, reason: &'static str) {
        self.refused.get_or_create(&RefusalLabels { reason }).inc();
    }
}

/// What the access check needs.
#[derive(Clone)]
struct Gate {
    metrics: AccessMetrics,
    access: SharedAccess,
    sessions: Sessions,
    /// Whether the router may be open when no users or API tokens exist
    /// (a loopback listener, or `--insecure-open-dashboard`).
    open_allowed: bool,
    /// Whether health and metrics are open here (they have no listener of their own).
    health_public: bool,
}

/// How [`protect`] treats open access.
#[derive(Debug, Clone, Copy)]
pub struct Openness {
    /// The router may be open when no users or API tokens exist.
    pub open_allowed: bool,
    /// `/healthz`, `/readyz` and `/metrics` need no credentials.
    pub health_public: bool,
    /// The listener serves TLS itself: session cookies are `Secure`.
    pub serves_tls: bool,
}

/// Checks the caller of every request to `router` (and of the login and
/// logout routes it adds) but the public paths.
pub fn protect(
    router: Router,
    access: SharedAccess,
    openness: Openness,
    metrics: AccessMetrics,
) -> Router {
    let sessions = Sessions::default();
    let session_routes = Router::new()
        .route("/login", get(session::login_page).post(session::login))
        .route("/logout", get(session::logout_page).post(session::logout))
        .with_state(SessionState {
            access: access.clone(),
            sessions: sessions.clone(),
            metrics: metrics.clone(),
            serves_tls: openness.serves_tls,
            limiter: crate::session_limit::LoginLimiter::default(),
        });
    let gate = Gate {
        metrics,
        access,
        sessions,
        open_allowed: openness.open_allowed,
        health_public: openness.health_public,
    };
    router
        .merge(session_routes)
        .layer(axum::middleware::from_fn_with_state(gate, check))
}

async fn check(State(gate): State<Gate>, request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    if is_public(request.method(), &path, gate.health_public) {
        return next.run(request).await;
    }
    let rules = gate.access.current();
    let (caller, csrf) = match identify(&rules, &gate, request.headers()) {
        Ok(identified) => identified,
        Err(error) if is_page(&path) && error.status() == StatusCode::UNAUTHORIZED => {
            gate.metrics.refused("unauthenticated");
            return Redirect::to("/login").into_response();
        }
        Err(error) => {
            gate.metrics.refused("unauthenticated");
            return refusal(error);
        }
    };
    let signed_in = SignedIn::of(&caller, csrf.as_ref());
    let changes_state = is_state_changing(request.method());
    // Logging out is open to every role; anything else that changes state needs an admin.
    if changes_state && path != "/logout" && !caller.may_change_state() {
        gate.metrics.refused("forbidden");
        return refusal(ApiError::forbidden(
            "this call changes state: it needs an admin",
        ));
    }
    let mut request = match (changes_state, csrf) {
        (true, Some(expected)) => match csrf_checked(request, &expected).await {
            Ok(request) => request,
            Err(error) => {
                gate.metrics.refused("csrf");
                return refusal(error);
            }
        },
        _ => request,
    };
    match scope_project(&caller, request.uri()) {
        Ok(project) => {
            request.extensions_mut().insert(Scope {
                caller,
                project,
                signed_in,
            });
            next.run(request).await
        }
        Err(error) => {
            gate.metrics.refused("forbidden");
            refusal(error)
        }
    }
}

/// The caller, with the session's CSRF token when it came by session; 401
/// when credentials are needed and none are valid.
fn identify(
    rules: &AccessRules,
    gate: &Gate,
    headers: &HeaderMap,
) -> Result<(Caller, Option<String>), ApiError> {
    if !rules.reads_require_credentials() {
        return if gate.open_allowed {
            Ok((Caller::Open, None))
        } else {
            Err(ApiError::unauthorized(
                "no users or API tokens are configured, and this listener is not on loopback",
            ))
        };
    }
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(bearer_token);
    if let Some(grant) = presented.and_then(|token| rules.api_grant(token)) {
        return Ok((Caller::Granted(grant.clone()), None));
    }
    if let Some(session) = gate.sessions.grant(rules, headers) {
        return Ok((Caller::Granted(session.grant), Some(session.csrf)));
    }
    Err(ApiError::unauthorized(
        "credentials required: log in, or send `Authorization: Bearer <API token>`",
    ))
}

/// Form bodies larger than this are not searched for a CSRF token.
const MAX_FORM_BYTES: usize = 64 * 1024;

/// The request, once its CSRF token (header, else form field) matches the session's.
async fn csrf_checked(request: Request, expected: &str) -> Result<Request, ApiError> {
    let refused = || ApiError::forbidden("the CSRF token is missing or wrong: reload the page");
    if let Some(token) = request.headers().get(CSRF_HEADER) {
        let matches = token
            .to_str()
            .is_ok_and(|token| same_token(token, expected));
        return if matches { Ok(request) } else { Err(refused()) };
    }
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, MAX_FORM_BYTES)
        .await
        .map_err(|_| refused())?;
    let field = form_field(&bytes, "csrf_token").ok_or_else(refused)?;
    if !same_token(&field, expected) {
        return Err(refused());
    }
    Ok(Request::from_parts(parts, axum::body::Body::from(bytes)))
}

/// A field of a form body (the CSRF token is hex: no decoding needed).
fn form_field(body: &[u8], name: &str) -> Option<String> {
    std::str::from_utf8(body)
        .ok()?
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.to_owned())
}

fn is_state_changing(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

#[derive(serde::Deserialize)]
struct ProjectParam {
    project: Option<String>,
}

/// `?project=` when the caller is granted it (else 404), or the caller's first project.
fn scope_project(caller: &Caller, uri: &Uri) -> Result<ProjectId, ApiError> {
    let requested = axum::extract::Query::<ProjectParam>::try_from_uri(uri)
        .map_err(|_| ApiError::bad_request("project: give it at most once"))?
        .0
        .project
        .filter(|name| !name.trim().is_empty());
    let Some(name) = requested else {
        return Ok(caller.first_project());
    };
    let project = ProjectId::new(name.trim())
        .map_err(|error| ApiError::bad_request(format!("project: {error}")))?;
    if caller.allows(&project) {
        Ok(project)
    } else {
        Err(ApiError::not_found(format!("project {project}")))
    }
}

fn refusal(error: ApiError) -> Response {
    let unauthorized = error.status() == axum::http::StatusCode::UNAUTHORIZED;
    let mut response = error.into_response();
    if unauthorized {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn granted(projects: &[&str], role: Role) -> Caller {
        Caller::Granted(Grant {
            name: "t".to_owned(),
            projects: projects
                .iter()
                .map(|name| ProjectId::new(name).expect("name"))
                .collect(),
            role,
        })
    }

    fn project_of(caller: &Caller, uri: &str) -> Result<String, u16> {
        scope_project(caller, &uri.parse().expect("uri"))
            .map(|project| project.to_string())
            .map_err(|error| error.status().as_u16())
    }

    #[test]
    fn the_project_comes_from_the_grant() {
        let caller = granted(&["payments", "search"], Role::Read);
        assert_eq!(
            project_of(&caller, "/api/v1/map"),
            Ok("payments".to_owned())
        );
        assert_eq!(
            project_of(&caller, "/?project=search"),
            Ok("search".to_owned())
        );
        assert_eq!(project_of(&caller, "/?project="), Ok("payments".to_owned()));
        assert_eq!(project_of(&caller, "/?project=default"), Err(404));
        assert_eq!(project_of(&caller, "/?project=x'%20OR%201"), Err(400));
        assert_eq!(project_of(&caller, "/?project=a&project=b"), Err(400));
        assert_eq!(project_of(&Caller::Open, "/"), Ok("default".to_owned()));
        assert_eq!(
            project_of(&Caller::Open, "/?project=other"),
            Ok("other".to_owned())
        );
    }

    #[test]
    fn only_admins_and_open_callers_change_state() {
        assert!(!granted(&["p"], Role::Read).may_change_state());
        assert!(granted(&["p"], Role::Admin).may_change_state());
        assert!(Caller::Open.may_change_state());
        assert!(is_state_changing(&Method::POST));
        assert!(is_state_changing(&Method::DELETE));
        assert!(!is_state_changing(&Method::GET));
    }
}
