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
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, Method, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;
use tracehouse_model::access::{bearer_token, AccessRules, Grant, Role, SharedAccess};
use tracehouse_model::ProjectId;

/// Paths anyone may reach: health for probes and scrapers, static assets.
fn is_public(path: &str) -> bool {
    matches!(path, "/healthz" | "/readyz" | "/metrics") || path.starts_with("/static/")
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

/// What the access check needs.
#[derive(Clone)]
struct Gate {
    access: SharedAccess,
    /// Whether the router may be open when no users or API tokens exist
    /// (a loopback listener, or `--insecure-open-dashboard`).
    open_allowed: bool,
}

/// Checks the caller of every request to `router` but the public paths.
pub fn protect(router: Router, access: SharedAccess, open_allowed: bool) -> Router {
    let gate = Gate {
        access,
        open_allowed,
    };
    router.layer(axum::middleware::from_fn_with_state(gate, check))
}

async fn check(State(gate): State<Gate>, mut request: Request, next: Next) -> Response {
    if is_public(request.uri().path()) {
        return next.run(request).await;
    }
    let rules = gate.access.current();
    let scope = identify(&rules, &request, gate.open_allowed).and_then(|caller| {
        if is_state_changing(request.method()) && !caller.may_change_state() {
            return Err(ApiError::forbidden(
                "this call changes state: it needs an admin",
            ));
        }
        let project = scope_project(&caller, request.uri())?;
        Ok(Scope { caller, project })
    });
    match scope {
        Ok(scope) => {
            request.extensions_mut().insert(scope);
            next.run(request).await
        }
        Err(error) => refusal(error),
    }
}

/// The caller, or 401 when credentials are needed and none are valid.
fn identify(
    rules: &AccessRules,
    request: &Request,
    open_allowed: bool,
) -> Result<Caller, ApiError> {
    if !rules.reads_require_credentials() {
        return if open_allowed {
            Ok(Caller::Open)
        } else {
            Err(ApiError::unauthorized(
                "no users or API tokens are configured, and this listener is not on loopback",
            ))
        };
    }
    let presented = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(bearer_token);
    match presented.and_then(|token| rules.api_grant(token)) {
        Some(grant) => Ok(Caller::Granted(grant.clone())),
        None => Err(ApiError::unauthorized(
            "credentials required: send `Authorization: Bearer <API token>`",
        )),
    }
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
