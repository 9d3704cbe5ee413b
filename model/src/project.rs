//! Projects: the unit of data isolation.

use std::fmt;

/// The project everything belongs to when no authentication is configured.
pub const DEFAULT_PROJECT: &str = "default";

/// A project name is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("project must be 1 to 64 characters of a-z, 0-9, '-' or '_'")]
pub struct ProjectIdError;

/// The name of a project. Every stored row carries one.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ProjectId(String);

impl ProjectId {
    /// Validates a project name: short, lowercase, URL- and SQL-safe.
    pub fn new(name: &str) -> Result<Self, ProjectIdError> {
        let valid_chars = name.bytes().all(|byte| {
            byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'-' || byte == b'_'
        });
        if name.is_empty() || name.len() > 64 || !valid_chars {
            return Err(ProjectIdError);
        }
        Ok(Self(name.to_owned()))
    }

    /// The project used when authentication is off.
    pub fn default_project() -> Self {
        Self(DEFAULT_PROJECT.to_owned())
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for ProjectId {
    fn default() -> Self {
        Self::default_project()
    }
}

impl fmt::Display for ProjectId {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.0)
    }
}

impl fmt::Debug for ProjectId {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "ProjectId({})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validates_names() {
        assert_eq!(
            ProjectId::new("shop-prod_2").map(|p| p.to_string()),
            Ok("shop-prod_2".to_owned())
        );
        assert!(ProjectId::new("").is_err());
        assert!(ProjectId::new("Shop").is_err());
        assert!(ProjectId::new("a'b").is_err());
        assert!(ProjectId::new(&"a".repeat(65)).is_err());
    }
}
