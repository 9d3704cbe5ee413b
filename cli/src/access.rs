//! Wiring of access: the `[auth]` section (and the file it names) read into
//! [`AccessRules`], reloaded on SIGHUP and whenever one of the files
//! changes, the start-up warnings and refusals about open listeners, and
//! `tracehouse token create`.

use crate::config::{Config, Role};
use anyhow::Context;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use tokio::sync::watch;
use tracehouse_model::access::{
    AccessRules, AuthSettings, IngestTokenEntry, SecretHash, SharedAccess,
};
use tracehouse_model::ProjectId;

/// The `[auth]` section of a TOML file, if it has one.
fn auth_section(path: &Path) -> anyhow::Result<Option<AuthSettings>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut table: toml::Table =
        toml::from_str(&text).with_context(|| format!("{} is not valid TOML", path.display()))?;
    let Some(section) = table.remove("auth") else {
        return Ok(None);
    };
    let settings: AuthSettings = section
        .try_into()
        .with_context(|| format!("the [auth] section of {}", path.display()))?;
    Ok(Some(settings))
}

/// `settings` with the entries of the file it names added.
fn with_named_file(mut settings: AuthSettings) -> anyhow::Result<AuthSettings> {
    let Some(path) = settings.file.clone() else {
        return Ok(settings);
    };
    let named = auth_section(&path)?.unwrap_or_default();
    anyhow::ensure!(
        named.file.is_none(),
        "{}: auth.file cannot name another file",
        path.display()
    );
    settings.ingest_tokens.extend(named.ingest_tokens);
    settings.api_tokens.extend(named.api_tokens);
    settings.users.extend(named.users);
    Ok(settings)
}

/// The rules of `settings` and the file it names.
pub fn rules_of(settings: &AuthSettings) -> anyhow::Result<AccessRules> {
    let merged = with_named_file(settings.clone())?;
    Ok(AccessRules::from_settings(&merged)?)
}

/// Where the `[auth]` entries come from: the configuration file (when the
/// configuration came from one) and the file it names.
#[derive(Debug, Clone)]
struct Sources {
    config_file: Option<PathBuf>,
    settings: AuthSettings,
    /// Tokens of this process only (the demo's), kept across reloads.
    in_process: Vec<IngestTokenEntry>,
}

impl Sources {
    /// Reads the rules again: the configuration file's `[auth]` (or the
    /// settings given at start, without one) and the file it names.
    fn read(&mut self) -> anyhow::Result<AccessRules> {
        if let Some(path) = &self.config_file {
            self.settings = auth_section(path)?.unwrap_or_default();
        }
        self.rules()
    }

    fn rules(&self) -> anyhow::Result<AccessRules> {
        let mut merged = with_named_file(self.settings.clone())?;
        // Only added where tokens are required: alone they would close an open receiver.
        if !merged.ingest_tokens.is_empty() {
            merged.ingest_tokens.extend(self.in_process.iter().cloned());
        }
        Ok(AccessRules::from_settings(&merged)?)
    }

    fn files(&self) -> Vec<PathBuf> {
        self.config_file
            .iter()
            .chain(self.settings.file.iter())
            .cloned()
            .collect()
    }
}

/// Loads the rules of `config` and keeps them current until `shutdown`.
pub fn start(config: &Config, shutdown: watch::Receiver<bool>) -> anyhow::Result<SharedAccess> {
    let sources = Sources {
        config_file: config.config_file.clone(),
        settings: config.auth.clone().unwrap_or_default(),
        in_process: config.in_process_ingest_tokens.clone(),
    };
    let rules = sources.rules().context("configuration [auth]")?;
    log_rules(&rules);
    let access = SharedAccess::new(rules);
    tokio::spawn(reload_on_change(access.clone(), sources, shutdown));
    Ok(access)
}

fn log_rules(rules: &AccessRules) {
    let (ingest_tokens, api_tokens, users) = rules.counts();
    tracing::info!(ingest_tokens, api_tokens, users, "access rules in force");
}

/// Reloads on SIGHUP and when a file's modification time changes. Rules
/// that do not load are logged and the previous ones stay in force.
async fn reload_on_change(access: SharedAccess, sources: Sources, shutdown: watch::Receiver<bool>) {
    let reload = |(access, sources): &mut (SharedAccess, Sources)| match sources.read() {
        Ok(rules) => {
            log_rules(&rules);
            access.replace(rules);
        }
        Err(error) => {
            tracing::error!(error = %format!("{error:#}"), "access rules not reloaded; the previous ones stay in force")
        }
    };
    crate::reload::on_change(
        (access, sources),
        |(_, sources)| sources.files(),
        reload,
        "the access rules",
        shutdown,
    )
    .await;
}

/// Logs a warning for each collector listener open to the network without tokens.
pub fn warn_about_open_ingest(rules: &AccessRules, listeners: &[(&str, SocketAddr)]) {
    if rules.ingest_requires_token() {
        return;
    }
    for (what, address) in listeners {
        if !address.ip().is_loopback() {
            tracing::warn!(%address, "{what} listens beyond loopback without ingest tokens: anyone who reaches it can write into project default; configure [[auth.ingest_tokens]]");
        }
    }
}

/// Whether the dashboard and API may be open (no users or API tokens):
/// only on loopback, or with `--insecure-open-dashboard`. Refuses to start
/// on another address without either, naming the flag.
pub fn check_open_dashboard(config: &Config, rules: &AccessRules) -> anyhow::Result<bool> {
    let on_loopback = config.http_addr.ip().is_loopback();
    let open_allowed = on_loopback || config.insecure_open_dashboard;
    let serves_reads = config.runs(Role::Query) || config.runs(Role::Alerts);
    if serves_reads && !rules.reads_require_credentials() && !open_allowed {
        anyhow::bail!(
            "refusing to serve the dashboard and API on {} without users or API tokens: \
             configure [[auth.users]] or [[auth.api_tokens]], or pass --insecure-open-dashboard \
             to let anyone who reaches it read every project",
            config.http_addr
        );
    }
    if !on_loopback && config.insecure_open_dashboard && !rules.reads_require_credentials() {
        tracing::warn!(address = %config.http_addr, "--insecure-open-dashboard: the dashboard and API are open to anyone who reaches them");
    }
    Ok(open_allowed)
}

/// A token of this process only for `project`, when `config` requires
/// ingest tokens: the token, with its hash added to
/// `config.in_process_ingest_tokens` (nothing is written to a file).
pub fn in_process_ingest_token(
    config: &mut Config,
    project: &ProjectId,
) -> anyhow::Result<Option<String>> {
    let settings = config.auth.clone().unwrap_or_default();
    if !rules_of(&settings)?.ingest_requires_token() {
        return Ok(None);
    }
    let token = new_token()?;
    config.in_process_ingest_tokens.push(IngestTokenEntry {
        project: project.to_string(),
        token_sha256: SecretHash::of(&token).to_hex(),
    });
    Ok(Some(token))
}

/// A new random ingest token.
fn new_token() -> anyhow::Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|error| anyhow::anyhow!("no randomness: {error}"))?;
    Ok(format!("thi_{}", hex::encode(bytes)))
}

/// `tracehouse token create --project P`: appends the hash of a new token
/// for `project` to the file the configuration's `auth.file` names (else to
/// the configuration file itself) and returns the token, which is nowhere
/// stored.
pub fn create_ingest_token(config_file: &Path, project: &str) -> anyhow::Result<(String, PathBuf)> {
    let project = ProjectId::new(project).map_err(|error| anyhow::anyhow!("--project: {error}"))?;
    let target = target_file(config_file)?;
    let token = new_token()?;
    let entry = format!(
        "\n[[auth.ingest_tokens]]\nproject = \"{project}\"\ntoken_sha256 = \"{}\"\n",
        SecretHash::of(&token).to_hex()
    );
    append(&target, &entry)?;
    // The file must still load: refuse to leave a broken one behind silently.
    let check = auth_section(&target).and_then(|section| {
        AccessRules::from_settings(&section.unwrap_or_default()).map_err(anyhow::Error::from)
    });
    check.with_context(|| format!("{} no longer loads after the new entry", target.display()))?;
    Ok((token, target))
}

/// `tracehouse user add`: appends a user with an argon2 hash of `password`
/// to the file `auth.file` names (else to the configuration file).
pub fn add_user(
    config_file: &Path,
    name: &str,
    projects: &[String],
    role: tracehouse_model::access::Role,
    password: &str,
) -> anyhow::Result<PathBuf> {
    anyhow::ensure!(
        password.chars().count() >= 8,
        "the password must have at least 8 characters"
    );
    let entry = tracehouse_model::access::UserEntry {
        name: name.to_owned(),
        password_argon2: tracehouse_web::session::hash_password(password)
            .map_err(|error| anyhow::anyhow!("hashing the password: {error}"))?,
        projects: projects.to_vec(),
        role,
    };
    // Checked as a whole before anything is written.
    AccessRules::from_settings(&AuthSettings {
        users: vec![entry.clone()],
        ..AuthSettings::default()
    })?;
    let target = target_file(config_file)?;
    let existing = auth_section(&target).ok().flatten().unwrap_or_default();
    anyhow::ensure!(
        existing.users.iter().all(|user| user.name != name),
        "{} already has a user {name}",
        target.display()
    );
    let table = toml::Table::try_from(&entry)?;
    append(&target, &format!("\n[[auth.users]]\n{table}"))?;
    Ok(target)
}

fn target_file(config_file: &Path) -> anyhow::Result<PathBuf> {
    Ok(auth_section(config_file)?
        .and_then(|settings| settings.file)
        .unwrap_or_else(|| config_file.to_owned()))
}

fn append(path: &Path, text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("cannot open {} to append", path.display()))?;
    file.write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
        .with_context(|| format!("cannot write {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_created_token_authenticates_into_its_project() {
        let dir = tempfile::tempdir().expect("temp dir");
        let config = dir.path().join("tracehouse.toml");
        let named = dir.path().join("auth.toml");
        std::fs::write(
            &config,
            format!("[auth]\nfile = {:?}\n", named.display().to_string()),
        )
        .expect("write config");
        let (token, target) = create_ingest_token(&config, "payments").expect("created");
        assert_eq!(target, named);
        assert!(!std::fs::read_to_string(&named)
            .expect("read")
            .contains(&token));
        let settings = auth_section(&config).expect("reads").expect("has [auth]");
        let rules = rules_of(&settings).expect("loads");
        assert_eq!(
            rules
                .ingest_project(Some(&token))
                .map(|project| project.to_string()),
            Ok("payments".to_owned())
        );
        let (second, _) = create_ingest_token(&config, "search").expect("second");
        let rules = rules_of(&settings).expect("loads");
        assert_eq!(rules.counts().0, 2);
        assert_ne!(token, second);
        assert!(create_ingest_token(&config, "Not Valid").is_err());
    }

    #[test]
    fn an_added_user_loads_with_a_verifiable_hash() {
        let dir = tempfile::tempdir().expect("temp dir");
        let config = dir.path().join("tracehouse.toml");
        std::fs::write(&config, "retention_days = 3\n").expect("write config");
        let projects = vec!["payments".to_owned(), "search".to_owned()];
        let role = tracehouse_model::access::Role::Read;
        add_user(&config, "ana", &projects, role, "correct horse").expect("added");
        assert!(add_user(&config, "ana", &projects, role, "correct horse").is_err());
        assert!(add_user(&config, "bob", &projects, role, "short").is_err());
        let settings = auth_section(&config).expect("reads").expect("has [auth]");
        let rules = rules_of(&settings).expect("loads");
        let ana = rules.user("ana").expect("ana");
        assert!(tracehouse_web::session::password_matches(
            &ana.password_argon2,
            "correct horse"
        ));
        assert_eq!(ana.grant.projects.len(), 2);
        Config::from_file(&config).expect("the whole configuration still loads");
    }

    #[test]
    fn a_named_file_cannot_name_another() {
        let dir = tempfile::tempdir().expect("temp dir");
        let named = dir.path().join("auth.toml");
        std::fs::write(&named, "[auth]\nfile = \"/etc/other.toml\"\n").expect("write");
        let settings = AuthSettings {
            file: Some(named),
            ..AuthSettings::default()
        };
        let error = rules_of(&settings).expect_err("refused");
        assert!(
            error.to_string().contains("cannot name another file"),
            "{error}"
        );
    }
}
