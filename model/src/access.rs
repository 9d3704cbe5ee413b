//! Access rules: which secret grants what. The one place where a presented
//! token is checked, used by the receivers (ingest tokens) and by the HTTP
//! side (API tokens) alike.
//!
//! Tokens are random, so a SHA-256 of each is stored, never the token. A
//! presented token is hashed once and compared with every stored hash in
//! constant time, all of them, so neither the time taken nor an early exit
//! tells which part of a guess was right.

use crate::ProjectId;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use subtle::ConstantTimeEq;

/// The header for exporters that can set custom headers but no `Authorization`.
pub const TOKEN_HEADER: &str = "x-tracehouse-token";

/// The `[auth]` section of the configuration, in its contract shape.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthSettings {
    /// Another TOML file with an `[auth]` section of the same shape, whose
    /// entries are added to these (and which `tracehouse token create` writes to).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<PathBuf>,
    /// Tokens that may write telemetry, each into one project.
    #[serde(default)]
    pub ingest_tokens: Vec<IngestTokenEntry>,
    /// Read-only tokens for the JSON and Jaeger APIs.
    #[serde(default)]
    pub api_tokens: Vec<ApiTokenEntry>,
    /// Dashboard users.
    #[serde(default)]
    pub users: Vec<UserEntry>,
}

/// `[[auth.ingest_tokens]]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IngestTokenEntry {
    pub project: String,
    pub token_sha256: String,
}

/// `[[auth.api_tokens]]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiTokenEntry {
    pub name: String,
    pub projects: Vec<String>,
    pub token_sha256: String,
}

/// `[[auth.users]]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserEntry {
    pub name: String,
    pub password_argon2: String,
    pub projects: Vec<String>,
    pub role: Role,
}

/// What a user or token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Read the projects granted.
    Read,
    /// Also change state: silences, reloads.
    Admin,
}

/// An `[auth]` entry that cannot be used; names the entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("auth.{section}[{index}]: {message}")]
pub struct AuthSettingsError {
    pub section: &'static str,
    pub index: usize,
    pub message: String,
}

/// The SHA-256 of a secret.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretHash([u8; 32]);

impl SecretHash {
    /// The hash of `secret`.
    pub fn of(secret: &str) -> Self {
        Self(Sha256::digest(secret.as_bytes()).into())
    }

    /// Parses 64 hex digits (either case).
    pub fn from_hex(text: &str) -> Option<Self> {
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(text.trim(), &mut bytes).ok()?;
        Some(Self(bytes))
    }

    /// 64 lowercase hex digits.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Constant-time equality.
    fn same_as(&self, other: &SecretHash) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl std::fmt::Debug for SecretHash {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("SecretHash(..)")
    }
}

/// The token of an `Authorization: Bearer <token>` header value.
pub fn bearer_token(authorization: &str) -> Option<&str> {
    let (scheme, token) = authorization.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// The index of the entry whose hash matches `presented`, comparing with every entry.
fn find_hash<'a>(hashes: impl Iterator<Item = &'a SecretHash>, presented: &str) -> Option<usize> {
    let presented = SecretHash::of(presented);
    let mut found = None;
    for (index, hash) in hashes.enumerate() {
        if hash.same_as(&presented) && found.is_none() {
            found = Some(index);
        }
    }
    found
}

/// What a read-only API token or a user may see and do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// The token's or user's name, for logs.
    pub name: String,
    /// The projects it may read, never empty.
    pub projects: Vec<ProjectId>,
    /// What it may do.
    pub role: Role,
}

impl Grant {
    /// Whether `project` is one of the granted projects.
    pub fn allows(&self, project: &ProjectId) -> bool {
        self.projects.contains(project)
    }
}

/// A configured user: the argon2 hash is checked by the HTTP side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub password_argon2: String,
    pub grant: Grant,
}

/// Why an ingest request is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum IngestRefusal {
    #[error("a token is required: send `Authorization: Bearer <token>` or `x-tracehouse-token`")]
    Missing,
    #[error("the token is not valid")]
    Invalid,
}

/// The rules in force: validated `[auth]` entries.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccessRules {
    ingest: Vec<(SecretHash, ProjectId)>,
    api: Vec<(SecretHash, Grant)>,
    users: Vec<(String, User)>,
}

impl AccessRules {
    /// Validates every entry of `settings` (the named file already merged in).
    pub fn from_settings(settings: &AuthSettings) -> Result<Self, AuthSettingsError> {
        let mut rules = Self::default();
        for (index, entry) in settings.ingest_tokens.iter().enumerate() {
            let error = |message: &str| AuthSettingsError {
                section: "ingest_tokens",
                index,
                message: message.to_owned(),
            };
            let project = ProjectId::new(&entry.project).map_err(|e| error(&e.to_string()))?;
            let hash = SecretHash::from_hex(&entry.token_sha256)
                .ok_or_else(|| error("token_sha256 must be 64 hex digits"))?;
            rules.ingest.push((hash, project));
        }
        for (index, entry) in settings.api_tokens.iter().enumerate() {
            let error = |message: String| AuthSettingsError {
                section: "api_tokens",
                index,
                message,
            };
            let projects = grant_projects(&entry.projects).map_err(error)?;
            let hash = SecretHash::from_hex(&entry.token_sha256)
                .ok_or_else(|| error("token_sha256 must be 64 hex digits".to_owned()))?;
            let grant = Grant {
                name: entry.name.clone(),
                projects,
                role: Role::Read,
            };
            rules.api.push((hash, grant));
        }
        for (index, entry) in settings.users.iter().enumerate() {
            let error = |message: String| AuthSettingsError {
                section: "users",
                index,
                message,
            };
            if entry.name.trim().is_empty() {
                return Err(error("name must not be empty".to_owned()));
            }
            if !entry.password_argon2.starts_with("$argon2") {
                return Err(error(
                    "password_argon2 must be an argon2 PHC string".to_owned(),
                ));
            }
            let projects = grant_projects(&entry.projects).map_err(error)?;
            let user = User {
                password_argon2: entry.password_argon2.clone(),
                grant: Grant {
                    name: entry.name.clone(),
                    projects,
                    role: entry.role,
                },
            };
            rules.users.push((entry.name.clone(), user));
        }
        Ok(rules)
    }

    /// Whether ingest needs a token (any ingest token is configured).
    pub fn ingest_requires_token(&self) -> bool {
        !self.ingest.is_empty()
    }

    /// Whether the dashboard and API need credentials (any user or API token).
    pub fn reads_require_credentials(&self) -> bool {
        !(self.api.is_empty() && self.users.is_empty())
    }

    /// The project an ingest request writes to: the token's, or `default`
    /// when no ingest token is configured.
    pub fn ingest_project(&self, presented: Option<&str>) -> Result<ProjectId, IngestRefusal> {
        if !self.ingest_requires_token() {
            return Ok(ProjectId::default());
        }
        let presented = presented.ok_or(IngestRefusal::Missing)?;
        find_hash(self.ingest.iter().map(|(hash, _)| hash), presented)
            .and_then(|index| self.ingest.get(index))
            .map(|(_, project)| project.clone())
            .ok_or(IngestRefusal::Invalid)
    }

    /// The grant of a read-only API token, if `presented` is one.
    pub fn api_grant(&self, presented: &str) -> Option<&Grant> {
        find_hash(self.api.iter().map(|(hash, _)| hash), presented)
            .and_then(|index| self.api.get(index))
            .map(|(_, grant)| grant)
    }

    /// The user called `name`.
    pub fn user(&self, name: &str) -> Option<&User> {
        self.users
            .iter()
            .find(|(user_name, _)| user_name == name)
            .map(|(_, user)| user)
    }

    /// How many entries of each kind, for the log.
    pub fn counts(&self) -> (usize, usize, usize) {
        (self.ingest.len(), self.api.len(), self.users.len())
    }
}

fn grant_projects(names: &[String]) -> Result<Vec<ProjectId>, String> {
    if names.is_empty() {
        return Err("projects must name at least one project".to_owned());
    }
    names
        .iter()
        .map(|name| ProjectId::new(name).map_err(|error| format!("{name:?}: {error}")))
        .collect()
}

/// The rules in force, replaced as a whole on reload; cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct SharedAccess(Arc<RwLock<Arc<AccessRules>>>);

impl SharedAccess {
    /// Shares `rules`.
    pub fn new(rules: AccessRules) -> Self {
        Self(Arc::new(RwLock::new(Arc::new(rules))))
    }

    /// The rules now.
    pub fn current(&self) -> Arc<AccessRules> {
        match self.0.read() {
            Ok(guard) => Arc::clone(&guard),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    /// Puts `rules` in force for every later request.
    pub fn replace(&self, rules: AccessRules) {
        let rules = Arc::new(rules);
        match self.0.write() {
            Ok(mut guard) => *guard = rules,
            Err(poisoned) => *poisoned.into_inner() = rules,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(text: &str) -> AuthSettings {
        toml::from_str::<toml::Table>(text)
            .expect("toml")
            .get("auth")
            .cloned()
            .expect("auth")
            .try_into()
            .expect("auth settings")
    }

    const CONTRACT: &str = r#"
[[auth.ingest_tokens]]
project = "payments"
token_sha256 = "HASH_P"

[[auth.ingest_tokens]]
project = "search"
token_sha256 = "HASH_S"

[[auth.api_tokens]]
name = "grafana"
projects = ["payments"]
token_sha256 = "HASH_P"

[[auth.users]]
name = "ana"
password_argon2 = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaA"
projects = ["payments", "search"]
role = "read"
"#;

    fn contract_rules() -> AccessRules {
        let text = CONTRACT
            .replace("HASH_P", &SecretHash::of("tok-payments").to_hex())
            .replace(
                "HASH_S",
                &SecretHash::of("tok-search").to_hex().to_uppercase(),
            );
        AccessRules::from_settings(&settings(&text)).expect("valid")
    }

    #[test]
    fn each_ingest_token_maps_to_its_project() {
        let rules = contract_rules();
        assert_eq!(
            rules
                .ingest_project(Some("tok-payments"))
                .map(|p| p.to_string()),
            Ok("payments".to_owned())
        );
        assert_eq!(
            rules
                .ingest_project(Some("tok-search"))
                .map(|p| p.to_string()),
            Ok("search".to_owned())
        );
        assert_eq!(rules.ingest_project(None), Err(IngestRefusal::Missing));
        assert_eq!(
            rules.ingest_project(Some("tok-payment")),
            Err(IngestRefusal::Invalid)
        );
        assert_eq!(rules.ingest_project(Some("")), Err(IngestRefusal::Invalid));
    }

    #[test]
    fn without_ingest_tokens_everything_is_default() {
        let rules = AccessRules::default();
        assert!(!rules.ingest_requires_token());
        assert_eq!(rules.ingest_project(None), Ok(ProjectId::default()));
        assert_eq!(rules.ingest_project(Some("x")), Ok(ProjectId::default()));
    }

    #[test]
    fn api_tokens_and_users_carry_their_grants() {
        let rules = contract_rules();
        let grant = rules.api_grant("tok-payments").expect("grafana");
        assert_eq!(grant.name, "grafana");
        assert_eq!(grant.role, Role::Read);
        assert!(grant.allows(&ProjectId::new("payments").expect("name")));
        assert!(!grant.allows(&ProjectId::new("search").expect("name")));
        assert!(rules.api_grant("tok-search").is_none());
        let ana = rules.user("ana").expect("ana");
        assert_eq!(ana.grant.projects.len(), 2);
        assert!(rules.user("bob").is_none());
        assert!(rules.reads_require_credentials());
    }

    #[test]
    fn bad_entries_name_section_and_index() {
        let bad_hash = CONTRACT
            .replace("HASH_P", &"0".repeat(64))
            .replace("HASH_S", "zz");
        let error = AccessRules::from_settings(&settings(&bad_hash)).expect_err("bad hex");
        assert_eq!(
            error.to_string(),
            "auth.ingest_tokens[1]: token_sha256 must be 64 hex digits"
        );
        let bad_project = format!(
            "[[auth.ingest_tokens]]\nproject = \"Pay\"\ntoken_sha256 = \"{}\"\n",
            "0".repeat(64)
        );
        let error = AccessRules::from_settings(&settings(&bad_project)).expect_err("bad project");
        assert!(
            error
                .to_string()
                .starts_with("auth.ingest_tokens[0]: project must"),
            "{error}"
        );
        let no_projects = format!(
            "[[auth.api_tokens]]\nname = \"g\"\nprojects = []\ntoken_sha256 = \"{}\"\n",
            "0".repeat(64)
        );
        let error = AccessRules::from_settings(&settings(&no_projects)).expect_err("no projects");
        assert!(
            error
                .to_string()
                .starts_with("auth.api_tokens[0]: projects"),
            "{error}"
        );
        let unknown =
            "[[auth.users]]\nname = \"a\"\npassword = \"x\"\nprojects = [\"p\"]\nrole = \"read\"\n";
        let parsed: Result<AuthSettings, _> = toml::from_str::<toml::Table>(unknown)
            .expect("toml")
            .get("auth")
            .cloned()
            .expect("auth")
            .try_into();
        assert!(parsed.is_err(), "unknown keys are refused");
    }

    #[test]
    fn bearer_scheme_is_case_insensitive_and_needs_a_token() {
        assert_eq!(bearer_token("Bearer abc"), Some("abc"));
        assert_eq!(bearer_token("bearer  abc "), Some("abc"));
        assert_eq!(bearer_token("Basic abc"), None);
        assert_eq!(bearer_token("Bearer "), None);
        assert_eq!(bearer_token("Bearer"), None);
    }

    #[test]
    fn reload_replaces_the_rules_for_later_readers() {
        let shared = SharedAccess::new(AccessRules::default());
        let before = shared.current();
        shared.replace(contract_rules());
        assert!(!before.ingest_requires_token());
        assert!(shared.current().ingest_requires_token());
    }

    #[test]
    fn hashes_do_not_print() {
        assert_eq!(format!("{:?}", SecretHash::of("secret")), "SecretHash(..)");
    }
}
