//! Readiness: ClickHouse answers and the schema is fully migrated.

use crate::QueryService;
use serde::Serialize;

/// The result of a readiness check.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Readiness {
    pub ready: bool,
    pub clickhouse_reachable: bool,
    pub schema_version: u32,
    pub expected_schema_version: u32,
}

impl QueryService {
    /// Checks that ClickHouse answers and every migration is applied.
    pub async fn readiness(&self) -> Readiness {
        let expected_schema_version = tracehouse_schema::MIGRATIONS
            .last()
            .map_or(0, |migration| migration.version);
        match tracehouse_schema::applied_versions(self.client()).await {
            Ok(applied) => Readiness {
                ready: tracehouse_schema::MIGRATIONS
                    .iter()
                    .all(|migration| applied.contains(&migration.version)),
                schema_version: applied.last().copied().unwrap_or(0),
                clickhouse_reachable: true,
                expected_schema_version,
            },
            Err(error) => {
                tracing::warn!(%error, "readiness check failed");
                Readiness {
                    ready: false,
                    clickhouse_reachable: false,
                    schema_version: 0,
                    expected_schema_version,
                }
            }
        }
    }
}
