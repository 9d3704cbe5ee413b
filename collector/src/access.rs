//! Which project an OTLP request writes to: the project of its ingest
//! token (`Authorization: Bearer <token>` or `x-tracehouse-token`), checked
//! by [`tracehouse_model::access`] before anything of the body is read.
//! Both transports call [`request_project`] with their request headers.

use crate::error::IngestError;
use http::HeaderMap;
use tracehouse_model::access::{bearer_token, SharedAccess, TOKEN_HEADER};
use tracehouse_model::ProjectId;

/// The token a request presents: a bearer token first, else the custom header.
pub fn presented_token(headers: &HeaderMap) -> Option<&str> {
    let text = |name| headers.get(name).and_then(|value| value.to_str().ok());
    text(http::header::AUTHORIZATION.as_str())
        .and_then(bearer_token)
        .or_else(|| {
            text(TOKEN_HEADER)
                .map(str::trim)
                .filter(|token| !token.is_empty())
        })
}

/// The project of the request, or `Unauthenticated` when a token is required
/// and the request has no valid one.
pub fn request_project(
    access: &SharedAccess,
    headers: &HeaderMap,
) -> Result<ProjectId, IngestError> {
    access
        .current()
        .ingest_project(presented_token(headers))
        .map_err(IngestError::Unauthenticated)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracehouse_model::access::{AccessRules, AuthSettings, IngestTokenEntry, SecretHash};

    fn access() -> SharedAccess {
        let settings = AuthSettings {
            ingest_tokens: vec![IngestTokenEntry {
                project: "payments".to_owned(),
                token_sha256: SecretHash::of("secret-1").to_hex(),
            }],
            ..AuthSettings::default()
        };
        SharedAccess::new(AccessRules::from_settings(&settings).expect("valid"))
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.insert(*name, value.parse().expect("header value"));
        }
        headers
    }

    #[test]
    fn both_headers_authenticate() {
        let access = access();
        for pairs in [
            [("authorization", "Bearer secret-1")],
            [("x-tracehouse-token", "secret-1")],
        ] {
            let project = request_project(&access, &headers(&pairs)).expect("valid token");
            assert_eq!(project.as_str(), "payments");
        }
    }

    #[test]
    fn missing_or_wrong_tokens_are_unauthenticated() {
        let access = access();
        for pairs in [
            vec![],
            vec![("authorization", "Bearer secret-2")],
            vec![("authorization", "Basic secret-1")],
            vec![("x-tracehouse-token", "")],
        ] {
            let error = request_project(&access, &headers(&pairs)).expect_err("refused");
            assert_eq!(error.http_status(), http::StatusCode::UNAUTHORIZED);
            assert_eq!(error.grpc_status().code(), tonic::Code::Unauthenticated);
        }
    }
}
