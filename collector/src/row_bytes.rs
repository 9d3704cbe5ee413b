//! How many bytes of memory a queued row holds: its own size and what its
//! strings and vectors own. The write queue is bounded in these bytes (as
//! well as in rows), so that its memory has a bound whatever the rows hold.
//! Data shared by many rows (a span's resource and scope columns) is not
//! counted per row.

use tracehouse_schema::rows::SpanRow;
use tracehouse_schema::serverless_rows::{InvocationRow, PlatformReportRow};
use tracehouse_schema::signal_rows::{LogRow, MetricPointRow};

/// Bytes of memory one row holds while it waits in the queue.
pub trait RowBytes {
    fn row_bytes(&self) -> usize;
}

/// A string's heap bytes, and the string itself when it is an element of a vector.
fn text(value: &str) -> usize {
    value.len()
}

fn texts(values: &[String]) -> usize {
    values
        .iter()
        .map(|value| std::mem::size_of::<String>() + value.len())
        .sum()
}

fn items<T>(values: &[T]) -> usize {
    std::mem::size_of_val(values)
}

impl RowBytes for SpanRow {
    fn row_bytes(&self) -> usize {
        std::mem::size_of::<Self>()
            + [
                &self.trace_state,
                &self.service,
                &self.name,
                &self.status_message,
            ]
            .into_iter()
            .map(|value| text(value))
            .sum::<usize>()
            + texts(&self.attribute_keys)
            + texts(&self.attribute_values)
            + items(&self.attribute_types)
            + items(&self.event_times_unix_nano)
            + texts(&self.event_names)
            + texts(&self.event_attributes)
            + items(&self.link_trace_ids)
            + items(&self.link_span_ids)
            + texts(&self.link_trace_states)
            + texts(&self.link_attributes)
    }
}

impl RowBytes for InvocationRow {
    fn row_bytes(&self) -> usize {
        std::mem::size_of::<Self>()
            + [
                &self.project,
                &self.function,
                &self.service,
                &self.provider,
                &self.region,
                &self.function_version,
                &self.instance,
                &self.trigger,
                &self.invocation_id,
                &self.arch,
            ]
            .into_iter()
            .map(|value| text(value))
            .sum::<usize>()
    }
}

impl RowBytes for PlatformReportRow {
    fn row_bytes(&self) -> usize {
        std::mem::size_of::<Self>()
            + [
                &self.project,
                &self.request_id,
                &self.function,
                &self.service,
                &self.status,
                &self.error_type,
            ]
            .into_iter()
            .map(|value| text(value))
            .sum::<usize>()
    }
}

impl RowBytes for LogRow {
    fn row_bytes(&self) -> usize {
        std::mem::size_of::<Self>()
            + [
                &self.project,
                &self.severity_text,
                &self.service,
                &self.body,
                &self.event_name,
                &self.scope_name,
                &self.scope_version,
            ]
            .into_iter()
            .map(|value| text(value))
            .sum::<usize>()
            + texts(&self.attribute_keys)
            + texts(&self.attribute_values)
            + items(&self.attribute_types)
            + texts(&self.resource_keys)
            + texts(&self.resource_values)
            + items(&self.resource_types)
    }
}

impl RowBytes for MetricPointRow {
    fn row_bytes(&self) -> usize {
        std::mem::size_of::<Self>()
            + [
                &self.project,
                &self.service,
                &self.metric_name,
                &self.metric_description,
                &self.metric_unit,
                &self.scope_name,
                &self.scope_version,
            ]
            .into_iter()
            .map(|value| text(value))
            .sum::<usize>()
            + items(&self.bucket_counts)
            + items(&self.explicit_bounds)
            + items(&self.exp_positive_bucket_counts)
            + items(&self.exp_negative_bucket_counts)
            + items(&self.quantiles)
            + items(&self.quantile_values)
            + texts(&self.attribute_keys)
            + texts(&self.attribute_values)
            + items(&self.attribute_types)
            + texts(&self.resource_keys)
            + texts(&self.resource_values)
            + items(&self.resource_types)
    }
}

/// Bytes of a request's rows.
pub fn rows_bytes<R: RowBytes>(rows: &[R]) -> usize {
    rows.iter().map(RowBytes::row_bytes).sum()
}
