//! The users of the managed ClickHouse: a writer for inserts and
//! migrations, and a read-only reader (`readonly = 2`, its own memory and
//! concurrency limits) for the query side, so that dashboards cannot starve
//! ingest. Each has a random password made once per data directory and kept
//! in `<dir>/credentials` (mode 0600, as is `users.xml`). The passwords are
//! never logged; [`ClickHouseSettings`]'s `Debug` hides them.

use crate::connection::ClickHouseSettings;
use crate::error::SchemaError;
use std::io::{Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// The writer: inserts, migrations, creating the database.
pub const WRITER_USER: &str = "tracehouse_writer";
/// The reader: every query of the query side.
pub const READER_USER: &str = "tracehouse_reader";

const CREDENTIALS_FILE: &str = "credentials";
const PASSWORD_BYTES: usize = 24;

/// The passwords of a managed server's users.
#[derive(Clone, PartialEq, Eq)]
pub struct ManagedCredentials {
    writer_password: String,
    reader_password: String,
}

impl std::fmt::Debug for ManagedCredentials {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("ManagedCredentials { .. }")
    }
}

impl ManagedCredentials {
    /// The credentials kept in `directory`, made (and written, mode 0600)
    /// on the first start.
    pub fn load_or_create(directory: &Path) -> Result<Self, SchemaError> {
        let path = directory.join(CREDENTIALS_FILE);
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                restrict(&path, 0o600)?;
                Self::parse(&text).ok_or_else(|| {
                    SchemaError::Managed(format!(
                        "{} is malformed: remove it and restart (the users are made again)",
                        path.display()
                    ))
                })
            }
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                let credentials = Self {
                    writer_password: random_password()?,
                    reader_password: random_password()?,
                };
                write_private(&path, &credentials.to_text())?;
                Ok(credentials)
            }
            Err(source) => Err(io("read", &path, source)),
        }
    }

    fn parse(text: &str) -> Option<Self> {
        let mut writer_password = None;
        let mut reader_password = None;
        for line in text.lines() {
            match line.split_once('=') {
                Some((WRITER_USER, password)) => writer_password = Some(password.trim().to_owned()),
                Some((READER_USER, password)) => reader_password = Some(password.trim().to_owned()),
                _ => {}
            }
        }
        let usable = |password: &Option<String>| {
            password
                .as_deref()
                .is_some_and(|text| text.len() >= 16 && text.bytes().all(|b| b.is_ascii_hexdigit()))
        };
        (usable(&writer_password) && usable(&reader_password)).then(|| Self {
            writer_password: writer_password.unwrap_or_default(),
            reader_password: reader_password.unwrap_or_default(),
        })
    }

    fn to_text(&self) -> String {
        format!(
            "# Passwords of the managed ClickHouse's users; made once for this data directory.\n\
             {WRITER_USER}={}\n{READER_USER}={}\n",
            self.writer_password, self.reader_password
        )
    }

    /// `users.xml`'s template with the passwords filled in.
    pub fn fill_users(&self, template: &str) -> String {
        template
            .replace("{writer_password}", &self.writer_password)
            .replace("{reader_password}", &self.reader_password)
    }

    /// The writer's settings for `database` at `url`.
    pub fn writer(&self, url: String, database: &str) -> ClickHouseSettings {
        ClickHouseSettings {
            url,
            user: WRITER_USER.to_owned(),
            password: self.writer_password.clone(),
            database: database.to_owned(),
        }
    }

    /// The reader's settings for `database` at `url`.
    pub fn reader(&self, url: String, database: &str) -> ClickHouseSettings {
        ClickHouseSettings {
            url,
            user: READER_USER.to_owned(),
            password: self.reader_password.clone(),
            database: database.to_owned(),
        }
    }
}

/// Hex of random bytes from the kernel.
fn random_password() -> Result<String, SchemaError> {
    let path = Path::new("/dev/urandom");
    let mut bytes = [0u8; PASSWORD_BYTES];
    std::fs::File::open(path)
        .and_then(|mut random| random.read_exact(&mut bytes))
        .map_err(|source| io("read", path, source))?;
    Ok(hex::encode(bytes))
}

/// Writes `contents` to a new file only its owner may read.
pub fn write_private(path: &Path, contents: &str) -> Result<(), SchemaError> {
    let temporary = path.with_extension("tmp");
    let _ = std::fs::remove_file(&temporary);
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&temporary)
        .and_then(|mut file| {
            file.write_all(contents.as_bytes())?;
            file.sync_all()
        })
        .map_err(|source| io("write", &temporary, source))?;
    std::fs::rename(&temporary, path).map_err(|source| io("rename", path, source))
}

fn restrict(path: &Path, mode: u32) -> Result<(), SchemaError> {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .map_err(|source| io("set permissions of", path, source))
}

fn io(action: &'static str, path: &Path, source: std::io::Error) -> SchemaError {
    SchemaError::Io {
        action,
        path: PathBuf::from(path),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn made_once_kept_private_and_never_printed() {
        let directory = tempfile::tempdir().expect("temp dir");
        let made = ManagedCredentials::load_or_create(directory.path()).expect("made");
        let again = ManagedCredentials::load_or_create(directory.path()).expect("read");
        assert_eq!(made, again);
        assert_ne!(made.writer_password, made.reader_password);
        assert_eq!(made.writer_password.len(), 2 * PASSWORD_BYTES);
        let path = directory.path().join(CREDENTIALS_FILE);
        let mode = std::fs::metadata(&path).expect("file").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let printed = format!("{made:?} {:?}", made.writer("http://x".to_owned(), "db"));
        assert!(!printed.contains(&made.writer_password), "{printed}");
        let other = tempfile::tempdir().expect("temp dir");
        let elsewhere = ManagedCredentials::load_or_create(other.path()).expect("made");
        assert_ne!(made, elsewhere, "one password per data directory");
    }

    #[test]
    fn a_damaged_file_is_an_error_not_an_empty_password() {
        let directory = tempfile::tempdir().expect("temp dir");
        std::fs::write(
            directory.path().join(CREDENTIALS_FILE),
            "tracehouse_writer=\n",
        )
        .expect("write");
        assert!(ManagedCredentials::load_or_create(directory.path()).is_err());
    }
}
