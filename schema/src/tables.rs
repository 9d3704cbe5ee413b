//! Names of the tables Tracehouse owns. Code that must splice a table name
//! into SQL takes it from here, never from input.

/// Every span, stored once, ordered by project and trace id.
pub const SPANS: &str = "spans";
/// Every span without attributes, events and links, ordered by project,
/// service, name and time (search, services and operations), filled by a
/// materialized view on spans.
pub const SPAN_INDEX: &str = "span_index";
/// The first and last second of each trace (per insert block), ordered by
/// trace id: the days a trace lookup reads. Filled by a materialized view.
pub const TRACE_TIME_INDEX: &str = "trace_time_index";
/// Span links keyed by the trace they point to (chain traversal).
pub const SPAN_LINKS_BY_LINKED_TRACE: &str = "span_links_by_linked_trace";
/// Producer and consumer spans keyed by message id (chains, broken chains, map).
pub const MESSAGING_SPANS: &str = "messaging_spans";
/// One row per function invocation, derived from entry spans at ingest.
pub const INVOCATIONS: &str = "invocations";
/// Each function instance's first invocation, as aggregate states.
pub const INSTANCE_FIRST_STARTS: &str = "instance_first_starts";
/// AWS Lambda REPORT lines, keyed by request id.
pub const PLATFORM_REPORTS: &str = "platform_reports";
/// Settled invocations: each invocation once, classified and billed, per
/// generation (the settler writes them; reads of settled minutes use them).
pub const INVOCATION_FACTS: &str = "invocation_facts";
/// The generations under which each minute of invocation_facts was settled.
pub const INVOCATION_FACTS_MINUTES: &str = "invocation_facts_minutes";
/// Settled invocations summed per minute, function and traits, per generation.
pub const INVOCATION_MINUTES: &str = "invocation_minutes";
/// The settler's progress per project.
pub const INVOCATION_SETTLE_MARKS: &str = "invocation_settle_marks";
/// When data for each minute of invocations arrived.
pub const INVOCATION_ARRIVALS: &str = "invocation_arrivals";
/// OTLP log records.
pub const LOGS: &str = "logs";
/// OTLP metric data points of every type.
pub const METRIC_POINTS: &str = "metric_points";
/// Alert transitions and notifications (the delivery outbox).
pub const ALERT_EVENTS: &str = "alert_events";
/// Attempts to deliver alert notifications.
pub const ALERT_DELIVERY_ATTEMPTS: &str = "alert_delivery_attempts";
/// Alert silences.
pub const ALERT_SILENCES: &str = "alert_silences";
/// Who does the work of exactly one process (alerts, settling).
pub const LEASES: &str = "leases";
/// Applied migrations.
pub const SCHEMA_MIGRATIONS: &str = "schema_migrations";

/// Tables partitioned by day, whose old partitions retention drops.
pub const DAY_PARTITIONED: &[&str] = &[
    SPANS,
    SPAN_INDEX,
    TRACE_TIME_INDEX,
    SPAN_LINKS_BY_LINKED_TRACE,
    MESSAGING_SPANS,
    INVOCATIONS,
    PLATFORM_REPORTS,
    INVOCATION_FACTS,
    INVOCATION_FACTS_MINUTES,
    INVOCATION_MINUTES,
    INVOCATION_SETTLE_MARKS,
    INVOCATION_ARRIVALS,
    LOGS,
    METRIC_POINTS,
];

/// Small tables that, on a cluster, keep one replica on every node instead
/// of being sharded: migration bookkeeping and alert state, read in full by
/// every process and written by one (leases: by each holder).
pub const REPLICATED_EVERYWHERE: &[&str] = &[
    SCHEMA_MIGRATIONS,
    ALERT_EVENTS,
    ALERT_DELIVERY_ATTEMPTS,
    ALERT_SILENCES,
    LEASES,
];
