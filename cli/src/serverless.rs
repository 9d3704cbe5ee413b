//! Wiring of the serverless part of `serve`: the writers of the tables that
//! the trace, metrics and logs receivers fill besides spans, and pricing.

use crate::config::Config;
use anyhow::Context;
use std::sync::Arc;
use tracehouse_collector::{BatchWriter, WriterConfig, WriterHandle, WriterMetrics};
use tracehouse_query::Pricing;
use tracehouse_schema::serverless_rows::{InvocationRow, PlatformReportRow};
use tracehouse_schema::signal_rows::{LogRow, MetricPointRow};
use tracehouse_schema::tables;

/// The writers besides the span writer, and their handles.
pub struct ServerlessWriters {
    pub invocations: BatchWriter<InvocationRow>,
    pub platform_reports: BatchWriter<PlatformReportRow>,
    pub logs: BatchWriter<LogRow>,
    pub metric_points: BatchWriter<MetricPointRow>,
    pub handles: Vec<WriterHandle>,
}

/// Starts one writer per table.
pub fn spawn_writers(
    client: &clickhouse::Client,
    config: &WriterConfig,
    metrics: &Arc<WriterMetrics>,
) -> ServerlessWriters {
    let (invocations, invocations_handle) = BatchWriter::spawn(
        client.clone(),
        tables::INVOCATIONS,
        config.clone(),
        metrics.clone(),
    );
    let (platform_reports, reports_handle) = BatchWriter::spawn(
        client.clone(),
        tables::PLATFORM_REPORTS,
        config.clone(),
        metrics.clone(),
    );
    let (logs, logs_handle) = BatchWriter::spawn(
        client.clone(),
        tables::LOGS,
        config.clone(),
        metrics.clone(),
    );
    let (metric_points, metric_points_handle) = BatchWriter::spawn(
        client.clone(),
        tables::METRIC_POINTS,
        config.clone(),
        metrics.clone(),
    );
    ServerlessWriters {
        invocations,
        platform_reports,
        logs,
        metric_points,
        handles: vec![
            invocations_handle,
            reports_handle,
            logs_handle,
            metric_points_handle,
        ],
    }
}

/// The pricing catalog and overrides of the configuration.
pub fn pricing(config: &Config) -> anyhow::Result<Pricing> {
    Pricing::from_settings(&config.pricing, config.functions.clone())
        .context("loading the pricing catalog")
}
