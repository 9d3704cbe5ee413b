//! Dashboard users: the login page, session cookies, CSRF tokens, logout.
//!
//! A session is a random id in the `tracehouse_session` cookie (`HttpOnly`,
//! `SameSite=Lax`, `Secure` when the request came over TLS: the listener's
//! own, or a terminating proxy's, as it says with `X-Forwarded-Proto:
//! https`), kept in memory
//! with the user's name and a random CSRF token; it ends at logout or after
//! [`SESSION_LIFETIME`]. A session's grant is looked up in the rules in
//! force at each request, so removing a user ends their sessions. Every
//! state-changing call made with a session must carry the session's CSRF
//! token (form field `csrf_token` or header `x-csrf-token`). The login
//! form itself carries a token bound to a pre-login cookie.

use axum::extract::{ConnectInfo, Form, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::Extension;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tracehouse_model::access::{AccessRules, Grant, SharedAccess};
use tracehouse_model::time::now_unix_nano;

/// The session cookie.
pub const SESSION_COOKIE: &str = "tracehouse_session";
/// The cookie that binds the login form's CSRF token before a session exists.
pub const LOGIN_COOKIE: &str = "tracehouse_login";
/// The header a script sends the CSRF token in.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// How long a session lasts.
pub const SESSION_LIFETIME: Duration = Duration::from_secs(12 * 3600);
/// Sessions kept at most; the oldest go first beyond it.
const MAX_SESSIONS: usize = 10_000;

#[derive(Debug, Clone)]
struct Session {
    user: String,
    csrf: String,
    expires_unix_nano: u64,
}

/// The sessions of this process.
#[derive(Debug, Clone, Default)]
pub struct Sessions(Arc<Mutex<HashMap<String, Session>>>);

/// A logged-in caller: their grant and the session's CSRF token.
#[derive(Debug, Clone)]
pub struct SessionGrant {
    pub grant: Grant,
    pub csrf: String,
}

impl Sessions {
    fn with<T>(&self, action: impl FnOnce(&mut HashMap<String, Session>) -> T) -> T {
        match self.0.lock() {
            Ok(mut guard) => action(&mut guard),
            Err(poisoned) => action(&mut poisoned.into_inner()),
        }
    }

    /// Starts a session for `user`; returns its id.
    fn start(&self, user: &str) -> Result<String, getrandom::Error> {
        let id = random_hex()?;
        let session = Session {
            user: user.to_owned(),
            csrf: random_hex()?,
            expires_unix_nano: now_unix_nano()
                .saturating_add(u64::try_from(SESSION_LIFETIME.as_nanos()).unwrap_or(u64::MAX)),
        };
        self.with(|sessions| {
            let now = now_unix_nano();
            sessions.retain(|_, session| session.expires_unix_nano > now);
            if sessions.len() >= MAX_SESSIONS {
                let oldest = sessions
                    .iter()
                    .min_by_key(|(_, session)| session.expires_unix_nano)
                    .map(|(id, _)| id.clone());
                if let Some(oldest) = oldest {
                    sessions.remove(&oldest);
                }
            }
            sessions.insert(id.clone(), session);
        });
        Ok(id)
    }

    /// The grant of the session in `headers`, if it is live and its user still exists.
    pub fn grant(&self, rules: &AccessRules, headers: &HeaderMap) -> Option<SessionGrant> {
        let id = cookie(headers, SESSION_COOKIE)?;
        let session = self.with(|sessions| sessions.get(id).cloned())?;
        if session.expires_unix_nano <= now_unix_nano() {
            return None;
        }
        let user = rules.user(&session.user)?;
        Some(SessionGrant {
            grant: user.grant.clone(),
            csrf: session.csrf,
        })
    }

    fn end(&self, headers: &HeaderMap) {
        if let Some(id) = cookie(headers, SESSION_COOKIE) {
            self.with(|sessions| sessions.remove(id));
        }
    }
}

fn random_hex() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)?;
    Ok(hex::encode(bytes))
}

/// The value of cookie `name`.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

/// Constant-time equality of two tokens.
pub fn same_token(presented: &str, expected: &str) -> bool {
    use subtle::ConstantTimeEq;
    presented.len() == expected.len() && bool::from(presented.as_bytes().ct_eq(expected.as_bytes()))
}

/// Whether the request came over TLS: the listener's own (`serves_tls`) or a proxy's.
fn over_tls(headers: &HeaderMap, serves_tls: bool) -> bool {
    serves_tls
        || headers
            .get("x-forwarded-proto")
            .and_then(|value| value.to_str().ok())
            .is_some_and(|proto| proto.eq_ignore_ascii_case("https"))
}

fn set_cookie(secure: bool, name: &str, value: &str, max_age: u64) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    let text = format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}");
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// What the login and logout handlers share.
#[derive(Clone)]
pub struct SessionState {
    pub access: SharedAccess,
    pub sessions: Sessions,
    pub metrics: crate::access::AccessMetrics,
    /// The listener itself serves TLS: cookies are always `Secure`.
    pub serves_tls: bool,
    /// Failed logins by client address and by user name.
    pub limiter: crate::session_limit::LoginLimiter,
}

impl SessionState {
    fn secure(&self, headers: &HeaderMap) -> bool {
        over_tls(headers, self.serves_tls)
    }
}

fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title} · Tracehouse</title></head>\
         <body><main><h1>{title}</h1>{body}</main></body></html>"
    );
    let mut response = (status, Html(html)).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn login_form(message: &str, csrf: &str) -> String {
    format!(
        "<p>{message}</p><form method=\"post\" action=\"/login\">\
         <input type=\"hidden\" name=\"csrf_token\" value=\"{csrf}\">\
         <label>Name <input name=\"name\" autocomplete=\"username\" required></label>\
         <label>Password <input name=\"password\" type=\"password\" autocomplete=\"current-password\" required></label>\
         <button type=\"submit\">Log in</button></form>"
    )
}

/// `GET /login`: the form, with a fresh CSRF token bound to a cookie.
pub async fn login_page(State(state): State<SessionState>, headers: HeaderMap) -> Response {
    login_with(
        state.secure(&headers),
        StatusCode::OK,
        "Log in to see your projects.",
    )
}

fn login_with(secure: bool, status: StatusCode, message: &str) -> Response {
    let Ok(csrf) = random_hex() else {
        return page(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Error",
            "<p>no randomness</p>",
        );
    };
    let mut response = page(status, "Log in", &login_form(message, &csrf));
    let cookie = set_cookie(secure, LOGIN_COOKIE, &csrf, 3600);
    response.headers_mut().append(header::SET_COOKIE, cookie);
    response
}

/// The login form's fields.
#[derive(Debug, serde::Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    csrf_token: String,
}

/// `POST /login`: checks the rate limit, the CSRF token and the password, starts a session.
pub async fn login(
    State(state): State<SessionState>,
    client: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    let secure = state.secure(&headers);
    let client = client.map(|Extension(ConnectInfo(address))| address.ip());
    if let Err(retry_after) = state.limiter.check(client, &form.name) {
        state.metrics.refused("rate_limited");
        return too_many_attempts(secure, retry_after);
    }
    let bound = cookie(&headers, LOGIN_COOKIE).unwrap_or("");
    if bound.is_empty() || !same_token(&form.csrf_token, bound) {
        state.metrics.refused("csrf");
        return login_with(
            secure,
            StatusCode::FORBIDDEN,
            "The form expired: log in again.",
        );
    }
    let rules = state.access.current();
    let verified = rules
        .user(&form.name)
        .is_some_and(|user| password_matches(&user.password_argon2, &form.password));
    if !verified {
        state.metrics.refused("login_failed");
        state.limiter.failed(client, &form.name);
        tracing::info!(user = %form.name.chars().take(64).collect::<String>(), "login refused");
        return login_with(secure, StatusCode::UNAUTHORIZED, "Wrong name or password.");
    }
    state.limiter.succeeded(&form.name);
    let Ok(id) = state.sessions.start(&form.name) else {
        return page(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Error",
            "<p>no randomness</p>",
        );
    };
    let lifetime = SESSION_LIFETIME.as_secs();
    let mut response = (StatusCode::SEE_OTHER, [(header::LOCATION, "/")]).into_response();
    let cookies = response.headers_mut();
    cookies.append(
        header::SET_COOKIE,
        set_cookie(secure, SESSION_COOKIE, &id, lifetime),
    );
    cookies.append(header::SET_COOKIE, set_cookie(secure, LOGIN_COOKIE, "", 0));
    response
}

/// 429 with `Retry-After`, and a fresh form for when the wait is over.
fn too_many_attempts(secure: bool, retry_after: Duration) -> Response {
    let seconds = retry_after.as_secs().max(1);
    let message = format!("Too many failed logins: try again in {seconds} seconds.");
    let mut response = login_with(secure, StatusCode::TOO_MANY_REQUESTS, &message);
    if let Ok(value) = HeaderValue::from_str(&seconds.to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

/// An argon2id PHC string of `password` with a random salt.
pub fn hash_password(password: &str) -> Result<String, String> {
    use argon2::password_hash::{PasswordHasher, SaltString};
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|error| format!("no randomness: {error}"))?;
    let salt = SaltString::encode_b64(&salt).map_err(|error| error.to_string())?;
    argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|error| error.to_string())
}

/// Whether `password` matches an argon2 PHC string.
pub fn password_matches(phc: &str, password: &str) -> bool {
    use argon2::password_hash::{PasswordHash, PasswordVerifier};
    PasswordHash::new(phc).is_ok_and(|hash| {
        argon2::Argon2::default()
            .verify_password(password.as_bytes(), &hash)
            .is_ok()
    })
}

/// `GET /logout`: a form that logs out (the session's CSRF token in it).
pub async fn logout_page(State(state): State<SessionState>, headers: HeaderMap) -> Response {
    let rules = state.access.current();
    let Some(session) = state.sessions.grant(&rules, &headers) else {
        return page(
            StatusCode::OK,
            "Logged out",
            "<p><a href=\"/login\">Log in</a></p>",
        );
    };
    let form = format!(
        "<form method=\"post\" action=\"/logout\"><input type=\"hidden\" name=\"csrf_token\" value=\"{}\">\
         <button type=\"submit\">Log out</button></form>",
        session.csrf
    );
    page(StatusCode::OK, "Log out", &form)
}

/// `POST /logout` (its CSRF token checked by the access layer): ends the session.
pub async fn logout(State(state): State<SessionState>, headers: HeaderMap) -> Response {
    state.sessions.end(&headers);
    let mut response = (StatusCode::SEE_OTHER, [(header::LOCATION, "/login")]).into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(state.secure(&headers), SESSION_COOKIE, "", 0),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_found_by_name() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; tracehouse_session=abc; b=2"),
        );
        assert_eq!(cookie(&headers, SESSION_COOKIE), Some("abc"));
        assert_eq!(cookie(&headers, "c"), None);
    }

    #[test]
    fn session_cookies_are_http_only_lax_and_secure_behind_tls() {
        let mut headers = HeaderMap::new();
        assert!(!over_tls(&headers, false));
        let plain = set_cookie(over_tls(&headers, false), SESSION_COOKIE, "x", 60);
        assert_eq!(
            plain,
            "tracehouse_session=x; Path=/; HttpOnly; SameSite=Lax; Max-Age=60"
        );
        assert!(over_tls(&headers, true), "the listener's own TLS");
        headers.insert("x-forwarded-proto", HeaderValue::from_static("https"));
        assert!(over_tls(&headers, false), "a terminating proxy's");
        let secure = set_cookie(true, SESSION_COOKIE, "x", 60);
        assert!(secure.to_str().unwrap_or("").ends_with("; Secure"));
    }

    #[test]
    fn tokens_compare_exactly() {
        assert!(same_token("abc", "abc"));
        assert!(!same_token("abd", "abc"));
        assert!(!same_token("ab", "abc"));
        assert!(!same_token("", "abc"));
    }

    #[test]
    fn argon2_hashes_verify() {
        let phc = hash_password("s3cret").expect("hash");
        assert!(phc.starts_with("$argon2id$"), "{phc}");
        assert_ne!(phc, hash_password("s3cret").expect("hash"), "salted");
        assert!(password_matches(&phc, "s3cret"));
        assert!(!password_matches(&phc, "s3cre"));
        assert!(!password_matches("$argon2id$broken", "s3cret"));
    }
}
