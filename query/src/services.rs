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
        let params = sql::project_window_params(project, &window);
        let rows: Vec<ServiceRow> = self.fetch(&sql::SERVICES, &params).await?;
        Ok(rows.into_iter().map(|row| row.service).collect())
    }

    /// Operations of `service` in `window`, sorted by name and kind.
    pub async fn operations(
        &self,
        project: &ProjectId,
        service: &str,
        window: TimeWindow,
    ) -> Result<Vec<OperationView>, QueryError> {
        let params = sql::project_window_params(project, &window).set("service", service);
        self.fetch(&sql::SERVICE_OPERATIONS, &params).await
    }
}
