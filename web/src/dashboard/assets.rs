//! The stylesheet and the script, served from the binary under a content
//! hash so browsers may keep them, and the Content-Security-Policy every
//! response carries: only the page's own origin, no inline script or style.

use axum::extract::Path;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use std::sync::LazyLock;

const STYLESHEET: &str = include_str!("../../static/app.css");
const SCRIPT: &str = include_str!("../../static/app.js");

/// The policy: everything from `'self'` only; no plugins, no framing.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; \
     base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

/// FNV-1a of the asset, hex: changes whenever the file does.
fn content_hash(text: &str) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in text.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{:012x}", hash & 0xffff_ffff_ffff)
}

static STYLESHEET_NAME: LazyLock<String> =
    LazyLock::new(|| format!("app.{}.css", content_hash(STYLESHEET)));
static SCRIPT_NAME: LazyLock<String> = LazyLock::new(|| format!("app.{}.js", content_hash(SCRIPT)));

/// `/static/app.<hash>.css`, for the page head.
pub fn stylesheet_href() -> String {
    format!("/static/{}", STYLESHEET_NAME.as_str())
}

/// `/static/app.<hash>.js`, for the page head.
pub fn script_href() -> String {
    format!("/static/{}", SCRIPT_NAME.as_str())
}

/// `GET /static/{name}`: the current assets for a year, older names not at all.
pub async fn asset(Path(name): Path<String>) -> Response {
    let (body, content_type) = if name == *STYLESHEET_NAME {
        (STYLESHEET, "text/css; charset=utf-8")
    } else if name == *SCRIPT_NAME {
        (SCRIPT, "text/javascript; charset=utf-8")
    } else {
        return (StatusCode::NOT_FOUND, "no such asset").into_response();
    };
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
        ],
        body,
    )
        .into_response()
}

/// Adds the security headers to a response that has none.
pub async fn security_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers
        .entry(header::CONTENT_SECURITY_POLICY)
        .or_insert(HeaderValue::from_static(CONTENT_SECURITY_POLICY));
    headers
        .entry(header::X_CONTENT_TYPE_OPTIONS)
        .or_insert(HeaderValue::from_static("nosniff"));
    headers
        .entry(header::REFERRER_POLICY)
        .or_insert(HeaderValue::from_static("same-origin"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asset_names_follow_their_content() {
        assert_ne!(content_hash("a"), content_hash("b"));
        assert!(
            stylesheet_href().starts_with("/static/app.") && stylesheet_href().ends_with(".css")
        );
        assert!(script_href().ends_with(".js"));
        assert!(!CONTENT_SECURITY_POLICY.contains("unsafe"));
    }
}
