//! Services and their operations in a time window.

use crate::error::QueryError;
use crate::sql;
use crate::time_window::TimeWindow;
use crate::QueryService;
use serde::{Deserialize, Serialize};
use tracehouse_model::ProjectId;

/// One operation (span name and kind) of a service.
#[derive(Debug, Clone, PartialEq, Eq, clickhouse::Row, Serialize, Deserialize)]
pub struct OperationView {
    pub name: String,
    pub span_kind: String,
    pub span_count: u64,
}

#[derive(Debug, Clone, clickhouse::Row, Deserialize)]
struct ServiceRow {
    service: String,
}

impl QueryService {
    /// Service names with spans in `window`, sorted.
    pub async fn services(
        &self,
        project: &ProjectId,
        window: TimeWindow,
    ) -> Result<Vec<String>, QueryError> {
        let rows: Vec<ServiceRow> = self
            .client()
            .query(sql::SERVICES)
            .bind(project.as_str())
            .bind(window.start_seconds())
            .bind(window.end_seconds())
            .fetch_all()
            .await?;
        Ok(rows.into_iter().map(|row| row.service).collect())
    }

    /// Operations of `service` in `window`, sorted by name and kind.
    pub async fn operations(
        &self,
        project: &ProjectId,
        service: &str,
        window: TimeWindow,
    ) -> Result<Vec<OperationView>, QueryError> {
        Ok(self
            .client()
            .query(sql::SERVICE_OPERATIONS)
            .bind(project.as_str())
            .bind(service)
            .bind(window.start_seconds())
            .bind(window.end_seconds())
            .fetch_all()
            .await?)
    }
}
