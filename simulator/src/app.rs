//! The simulated application: an e-commerce flow on functions of three
//! providers, with instance pools (cold starts), a deploy that makes one
//! function slower, failures that cascade down the chain, lost messages and
//! retries. [`App::step`] turns a slice of simulated time into telemetry.
//!
//! ```text
//! api-gateway -> create-order -> queue `orders` -> charge-payment -> topic `payments`
//!                                                     -> send-receipt, update-analytics
//! plus nightly-report (scheduled), resize-image (storage events), legacy-export (metrics only)
//! ```

use crate::otlp::{flag, int, text, Batch};
use crate::rng::Rng;
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::logs::v1::LogRecord;
use opentelemetry_proto::tonic::trace::v1::span::{Event, Link, SpanKind};
use opentelemetry_proto::tonic::trace::v1::{status, Span, Status};

const MS: u64 = 1_000_000;
const SECOND: u64 = 1_000_000_000;
/// An instance unused this long is reclaimed: the next call starts cold.
const IDLE_TIMEOUT: u64 = 300 * SECOND;
/// Span flags: the SDK knows whether the parent is remote (0x100), and it is (0x200).
const FLAGS_LOCAL_PARENT: u32 = 0x101;
const FLAGS_REMOTE_PARENT: u32 = 0x301;

/// One function of the application.
#[derive(Debug, Clone, Copy)]
struct Spec {
    name: &'static str,
    provider: &'static str,
    platform: &'static str,
    region: &'static str,
    memory_mb: i64,
    arch: &'static str,
    init_ms: f64,
    median_ms: f64,
}

const SPECS: [Spec; 6] = [
    Spec {
        name: "create-order",
        provider: "aws",
        platform: "aws_lambda",
        region: "us-east-1",
        memory_mb: 512,
        arch: "arm64",
        init_ms: 180.0,
        median_ms: 45.0,
    },
    Spec {
        name: "charge-payment",
        provider: "aws",
        platform: "aws_lambda",
        region: "us-east-1",
        memory_mb: 1024,
        arch: "amd64",
        init_ms: 420.0,
        median_ms: 110.0,
    },
    Spec {
        name: "send-receipt",
        provider: "azure",
        platform: "azure_functions",
        region: "westeurope",
        memory_mb: 512,
        arch: "amd64",
        init_ms: 900.0,
        median_ms: 60.0,
    },
    Spec {
        name: "update-analytics",
        provider: "gcp",
        platform: "gcp_cloud_run",
        region: "us-central1",
        memory_mb: 256,
        arch: "amd64",
        init_ms: 650.0,
        median_ms: 30.0,
    },
    Spec {
        name: "nightly-report",
        provider: "gcp",
        platform: "gcp_cloud_functions",
        region: "europe-west1",
        memory_mb: 1024,
        arch: "amd64",
        init_ms: 800.0,
        median_ms: 2400.0,
    },
    Spec {
        name: "resize-image",
        provider: "aws",
        platform: "aws_lambda",
        region: "eu-west-1",
        memory_mb: 1536,
        arch: "arm64",
        init_ms: 300.0,
        median_ms: 650.0,
    },
];
const CREATE_ORDER: usize = 0;
const CHARGE_PAYMENT: usize = 1;
const SEND_RECEIPT: usize = 2;
const UPDATE_ANALYTICS: usize = 3;
const NIGHTLY_REPORT: usize = 4;
const RESIZE_IMAGE: usize = 5;

#[derive(Debug, Clone)]
struct Instance {
    id: String,
    free_at: u64,
    last_used: u64,
}

#[derive(Debug, Clone)]
struct Function {
    spec: Spec,
    version: u32,
    slow_factor: f64,
    instances: Vec<Instance>,
    started_instances: u64,
}

/// One execution of a function, as its entry span will show it.
struct Invocation {
    function: usize,
    resource: String,
    span_id: [u8; 8],
    start: u64,
    end: u64,
}

/// Where an invocation comes from.
struct Cause {
    trace_id: [u8; 16],
    parent: Option<[u8; 8]>,
    links: Vec<Link>,
}

/// The application and its clock-free state.
pub struct App {
    rng: Rng,
    functions: Vec<Function>,
    /// When charge-payment's next version goes out (slower and dearer).
    deploy_at: u64,
    next_schedule: u64,
}

impl App {
    /// A fresh application whose deploy happens at `deploy_at` (Unix ns).
    pub fn new(seed: u64, deploy_at: u64) -> Self {
        let functions = SPECS
            .iter()
            .map(|spec| Function {
                spec: *spec,
                version: 41,
                slow_factor: 1.0,
                instances: Vec::new(),
                started_instances: 0,
            })
            .collect();
        Self {
            rng: Rng::new(seed),
            functions,
            deploy_at,
            next_schedule: 0,
        }
    }

    /// Orders per second at `time`: a daily-ish wave with a quiet spell every
    /// 45 minutes, after which instances are gone and calls start cold.
    pub fn rate_at(base_per_second: f64, time: u64) -> f64 {
        let minutes = (time / SECOND / 60) as f64;
        let wave = 0.65 + 0.35 * (minutes / 60.0 * std::f64::consts::TAU).sin();
        let quiet = (minutes % 45.0) < 7.0;
        base_per_second * wave * if quiet { 0.03 } else { 1.0 }
    }

    /// Telemetry for the simulated interval [from, to), at `base_per_second` orders a second.
    pub fn step(&mut self, from: u64, to: u64, base_per_second: f64) -> Batch {
        let mut batch = Batch::default();
        self.deploy_if_due(from);
        let seconds = to.saturating_sub(from) as f64 / SECOND as f64;
        let expected = Self::rate_at(base_per_second, from) * seconds;
        let orders = expected.floor() as u64 + u64::from(self.rng.chance(expected.fract()));
        for _ in 0..orders {
            let at = from + (self.rng.unit() * (to - from) as f64) as u64;
            self.order(&mut batch, at);
        }
        if self.next_schedule <= from {
            self.next_schedule = from + 300 * SECOND;
            self.scheduled_report(&mut batch, from);
        }
        self.legacy_export_metrics(&mut batch, from, to, base_per_second);
        batch
    }

    fn deploy_if_due(&mut self, now: u64) {
        let function = &mut self.functions[CHARGE_PAYMENT];
        if now >= self.deploy_at && function.version == 41 {
            function.version = 42;
            function.slow_factor = 1.8;
            // A new version runs on new instances: the next calls start cold.
            function.instances.clear();
        }
    }

    /// Picks a warm instance or starts one; returns (instance id, cold).
    fn instance(&mut self, function: usize, start: u64, busy_for: u64) -> (String, bool) {
        let state = &mut self.functions[function];
        state
            .instances
            .retain(|instance| start < instance.last_used + IDLE_TIMEOUT);
        if let Some(instance) = state
            .instances
            .iter_mut()
            .find(|instance| instance.free_at <= start)
        {
            instance.free_at = start + busy_for;
            instance.last_used = start;
            return (instance.id.clone(), false);
        }
        state.started_instances += 1;
        let id = format!(
            "{}-v{}-{:04}",
            state.spec.name, state.version, state.started_instances
        );
        state.instances.push(Instance {
            id: id.clone(),
            free_at: start + busy_for,
            last_used: start,
        });
        (id, true)
    }

    fn resource_attributes(&self, function: usize, instance: &str) -> Vec<KeyValue> {
        let Function { spec, version, .. } = &self.functions[function];
        vec![
            text("service.name", spec.name),
            text("service.version", version.to_string()),
            text("faas.name", spec.name),
            text("faas.version", version.to_string()),
            text("faas.instance", instance),
            int("faas.max_memory", spec.memory_mb),
            text("cloud.provider", spec.provider),
            text("cloud.platform", spec.platform),
            text("cloud.region", spec.region),
            text("host.arch", spec.arch),
        ]
    }

    /// An invocation of `function` at `start`, on a warm instance or a new
    /// one (then its init adds to its latency).
    fn invoke(&mut self, batch: &mut Batch, function: usize, start: u64) -> (Invocation, bool) {
        let spec = self.functions[function].spec;
        let slow = self.functions[function].slow_factor;
        let work = (self.rng.around(spec.median_ms * slow, 0.35) * MS as f64) as u64;
        let init = (self.rng.around(spec.init_ms, 0.2) * MS as f64) as u64;
        let (instance, cold) = self.instance(function, start, work + init);
        let resource = format!("{}/{instance}", spec.name);
        let attributes = self.resource_attributes(function, &instance);
        batch.resource(&resource, || attributes);
        let end = start + work + if cold { init } else { 0 };
        let invocation = Invocation {
            function,
            resource,
            span_id: self.rng.bytes(),
            start,
            end,
        };
        (invocation, cold)
    }

    fn order(&mut self, batch: &mut Batch, at: u64) {
        let trace_id = self.rng.bytes();
        let gateway_span: [u8; 8] = self.rng.bytes();
        let cause = Cause {
            trace_id,
            parent: Some(gateway_span),
            links: vec![],
        };
        let (order, cold) = self.invoke(batch, CREATE_ORDER, at + 2 * MS);
        let order_id = hex(&self.rng.bytes::<6>());
        let failed = self.rng.chance(0.005);
        let db_end = order.start + (order.end - order.start) / 2;
        self.child(
            batch,
            &order,
            &cause,
            ("dynamodb PutItem orders", SpanKind::Client),
            (order.start + MS, db_end),
            vec![text("db.system", "dynamodb")],
            None,
        );
        let message_id = hex(&self.rng.bytes::<16>());
        let mut producer = None;
        if !failed {
            let span = self.child(
                batch,
                &order,
                &cause,
                ("orders send", SpanKind::Producer),
                (db_end, db_end + 3 * MS),
                messaging("aws_sqs", "orders", &message_id, "publish"),
                None,
            );
            producer = Some((span, db_end + 3 * MS));
        }
        let status = failed.then_some("order validation failed: unknown product");
        self.entry(
            batch,
            &order,
            &cause,
            ("POST /orders", SpanKind::Server),
            cold,
            http_attributes("/orders", if failed { 400 } else { 201 }),
            status,
        );
        batch.resource("api-gateway", || {
            vec![
                text("service.name", "api-gateway"),
                text("cloud.provider", "aws"),
                text("cloud.region", "us-east-1"),
            ]
        });
        let gateway = Span {
            trace_id: trace_id.to_vec(),
            span_id: gateway_span.to_vec(),
            name: "POST /orders".to_owned(),
            kind: SpanKind::Server as i32,
            start_time_unix_nano: at,
            end_time_unix_nano: order.end + MS,
            attributes: http_attributes("/orders", if failed { 400 } else { 201 }),
            flags: FLAGS_LOCAL_PARENT,
            status: Some(ok_or_error(status)),
            ..Span::default()
        };
        batch.span("api-gateway", gateway);
        self.report(batch, &order, cold);
        // Now and then the queue loses a message: nothing consumes it.
        if let Some((producer_span, sent_at)) = producer.filter(|_| !self.rng.chance(0.015)) {
            self.charge_payment(batch, (trace_id, producer_span), &message_id, sent_at);
        }
        if self.rng.chance(0.2) {
            self.resize_image(batch, order.end + 50 * MS, &order_id);
        }
    }

    /// A new trace linked to the order's message (the link style of chains).
    fn charge_payment(
        &mut self,
        batch: &mut Batch,
        producer: ([u8; 16], [u8; 8]),
        message_id: &str,
        sent_at: u64,
    ) {
        let wait = (self.rng.around(120.0, 0.5) * MS as f64) as u64;
        let link = Link {
            trace_id: producer.0.to_vec(),
            span_id: producer.1.to_vec(),
            flags: FLAGS_REMOTE_PARENT,
            ..Link::default()
        };
        let cause = Cause {
            trace_id: self.rng.bytes(),
            parent: None,
            links: vec![link],
        };
        let (payment, cold) = self.invoke(batch, CHARGE_PAYMENT, sent_at + wait);
        let timed_out = self.rng.chance(0.04);
        let span_start = payment.start + (payment.end - payment.start) / 5;
        let db_end = payment.start + (payment.end - payment.start) * 3 / 5;
        let db_status = timed_out.then_some("canceling statement due to statement timeout");
        let db_event = timed_out.then(|| {
            exception(
                "QueryCanceled",
                "canceling statement due to statement timeout",
                db_end,
            )
        });
        self.child(
            batch,
            &payment,
            &cause,
            ("postgres SELECT accounts", SpanKind::Client),
            (span_start, db_end),
            vec![text("db.system", "postgresql")],
            db_status.map(|status| (status, db_event)),
        );
        let mut next = None;
        if !timed_out {
            self.child(
                batch,
                &payment,
                &cause,
                ("POST payments-provider /charges", SpanKind::Client),
                (db_end, payment.end - 4 * MS),
                http_attributes("/charges", 200),
                None,
            );
            let payment_message = hex(&self.rng.bytes::<16>());
            let span = self.child(
                batch,
                &payment,
                &cause,
                ("payments publish", SpanKind::Producer),
                (payment.end - 3 * MS, payment.end - MS),
                messaging("aws_sns", "payments", &payment_message, "publish"),
                None,
            );
            next = Some((span, payment_message));
        }
        let mut attributes = messaging("aws_sqs", "orders", message_id, "process");
        attributes.push(text("payment.provider", "stripe"));
        let status = timed_out.then_some("payment failed: database timed out");
        self.entry(
            batch,
            &payment,
            &cause,
            ("orders process", SpanKind::Consumer),
            cold,
            attributes,
            status,
        );
        self.report(batch, &payment, cold);
        if let Some((span, payment_message)) = next {
            let parent = (cause.trace_id, span);
            self.payment_consumer(batch, SEND_RECEIPT, parent, &payment_message, payment.end);
            self.payment_consumer(
                batch,
                UPDATE_ANALYTICS,
                parent,
                &payment_message,
                payment.end,
            );
        }
    }

    /// A consumer of the payments topic in the same trace (context carried
    /// through the message). Sometimes the message is lost; sometimes the
    /// first delivery fails and is retried.
    fn payment_consumer(
        &mut self,
        batch: &mut Batch,
        function: usize,
        parent: ([u8; 16], [u8; 8]),
        message_id: &str,
        sent_at: u64,
    ) {
        if function == SEND_RECEIPT && self.rng.chance(0.03) {
            return;
        }
        let cause = Cause {
            trace_id: parent.0,
            parent: Some(parent.1),
            links: vec![],
        };
        let mut start = sent_at + (self.rng.around(80.0, 0.5) * MS as f64) as u64;
        let retried = function == SEND_RECEIPT && self.rng.chance(0.02);
        for attempt in 0..=u32::from(retried) {
            let (consumer, cold) = self.invoke(batch, function, start);
            let failed = attempt == 0 && retried;
            let status = failed.then_some("smtp 421: service not available, try again");
            let attributes = messaging("gcp_pubsub", "payments", message_id, "process");
            self.entry(
                batch,
                &consumer,
                &cause,
                ("payments process", SpanKind::Consumer),
                cold,
                attributes,
                status,
            );
            start = consumer.end + 2 * SECOND;
        }
    }

    fn scheduled_report(&mut self, batch: &mut Batch, at: u64) {
        let cause = Cause {
            trace_id: self.rng.bytes(),
            parent: None,
            links: vec![],
        };
        let (report, cold) = self.invoke(batch, NIGHTLY_REPORT, at);
        let mut attributes = vec![text("faas.cron", "*/5 * * * *")];
        attributes.push(text("faas.trigger", "timer"));
        self.entry(
            batch,
            &report,
            &cause,
            ("nightly-report", SpanKind::Internal),
            cold,
            attributes,
            None,
        );
    }

    fn resize_image(&mut self, batch: &mut Batch, at: u64, order_id: &str) {
        let cause = Cause {
            trace_id: self.rng.bytes(),
            parent: None,
            links: vec![],
        };
        let (resize, cold) = self.invoke(batch, RESIZE_IMAGE, at);
        let attributes = vec![
            text("faas.trigger", "datasource"),
            text("faas.document.collection", "product-images"),
            text("faas.document.operation", "insert"),
            text("faas.document.name", format!("orders/{order_id}.jpg")),
        ];
        self.entry(
            batch,
            &resize,
            &cause,
            ("s3:ObjectCreated resize", SpanKind::Internal),
            cold,
            attributes,
            None,
        );
        self.report(batch, &resize, cold);
    }

    /// The entry span of an invocation, with the FaaS attributes that make it one.
    #[allow(clippy::too_many_arguments)]
    fn entry(
        &mut self,
        batch: &mut Batch,
        invocation: &Invocation,
        cause: &Cause,
        (name, kind): (&str, SpanKind),
        cold: bool,
        mut attributes: Vec<KeyValue>,
        error: Option<&str>,
    ) {
        attributes.push(text(
            "faas.invocation_id",
            invocation_id(&invocation.span_id),
        ));
        attributes.push(flag("faas.coldstart", cold));
        if !attributes
            .iter()
            .any(|attribute| attribute.key == "faas.trigger")
        {
            let trigger = if kind == SpanKind::Server {
                "http"
            } else {
                "pubsub"
            };
            attributes.push(text("faas.trigger", trigger));
        }
        let events = error
            .map(|message| exception("Error", message, invocation.end))
            .into_iter()
            .collect();
        let span = Span {
            trace_id: cause.trace_id.to_vec(),
            span_id: invocation.span_id.to_vec(),
            parent_span_id: cause
                .parent
                .map(|parent| parent.to_vec())
                .unwrap_or_default(),
            name: name.to_owned(),
            kind: kind as i32,
            start_time_unix_nano: invocation.start,
            end_time_unix_nano: invocation.end,
            attributes,
            events,
            links: cause.links.clone(),
            flags: if cause.parent.is_some() {
                FLAGS_REMOTE_PARENT
            } else {
                FLAGS_LOCAL_PARENT
            },
            status: Some(ok_or_error(error)),
            ..Span::default()
        };
        batch.span(&invocation.resource, span);
    }

    /// A span inside an invocation; returns its id.
    #[allow(clippy::too_many_arguments)]
    fn child(
        &mut self,
        batch: &mut Batch,
        invocation: &Invocation,
        cause: &Cause,
        (name, kind): (&str, SpanKind),
        (start, end): (u64, u64),
        attributes: Vec<KeyValue>,
        error: Option<(&str, Option<Event>)>,
    ) -> [u8; 8] {
        let span_id: [u8; 8] = self.rng.bytes();
        let (status, events) = match error {
            Some((message, event)) => (ok_or_error(Some(message)), event.into_iter().collect()),
            None => (ok_or_error(None), Vec::new()),
        };
        let span = Span {
            trace_id: cause.trace_id.to_vec(),
            span_id: span_id.to_vec(),
            parent_span_id: invocation.span_id.to_vec(),
            name: name.to_owned(),
            kind: kind as i32,
            start_time_unix_nano: start,
            end_time_unix_nano: end.max(start + 1),
            attributes,
            events,
            flags: FLAGS_LOCAL_PARENT,
            status: Some(status),
            ..Span::default()
        };
        batch.span(&invocation.resource, span);
        span_id
    }

    /// The Lambda platform's REPORT line for an AWS invocation.
    fn report(&mut self, batch: &mut Batch, invocation: &Invocation, cold: bool) {
        let spec = self.functions[invocation.function].spec;
        if spec.provider != "aws" {
            return;
        }
        let total_ms = (invocation.end - invocation.start) as f64 / MS as f64;
        let init_ms = if cold {
            (spec.init_ms * self.rng.between(0.9, 1.1)).min(total_ms * 0.9)
        } else {
            0.0
        };
        let duration_ms = total_ms - init_ms;
        let used = (spec.memory_mb as f64 * self.rng.between(0.25, 0.6)) as i64;
        let mut line = format!(
            "REPORT RequestId: {}\tDuration: {duration_ms:.2} ms\tBilled Duration: {} ms\tMemory Size: {} MB\tMax Memory Used: {used} MB\t",
            invocation_id(&invocation.span_id),
            duration_ms.ceil() as u64,
            spec.memory_mb,
        );
        if cold {
            line.push_str(&format!("Init Duration: {init_ms:.2} ms\t"));
        }
        let record = LogRecord {
            time_unix_nano: invocation.end + MS,
            observed_time_unix_nano: invocation.end + MS,
            severity_text: "INFO".to_owned(),
            body: Some(opentelemetry_proto::tonic::common::v1::AnyValue {
                value: Some(
                    opentelemetry_proto::tonic::common::v1::any_value::Value::StringValue(line),
                ),
            }),
            ..LogRecord::default()
        };
        batch.log(&invocation.resource, record);
    }

    /// A function known only from FaaS metrics (no tracing): one delta point per step.
    fn legacy_export_metrics(
        &mut self,
        batch: &mut Batch,
        from: u64,
        to: u64,
        base_per_second: f64,
    ) {
        let seconds = (to - from) as f64 / SECOND as f64;
        let calls = (Self::rate_at(base_per_second, from) * seconds * 0.1).round() as u64;
        if calls == 0 {
            return;
        }
        let durations: Vec<f64> = (0..calls).map(|_| self.rng.around(180.0, 0.4)).collect();
        batch.resource("legacy-export", || {
            vec![
                text("service.name", "legacy-export"),
                text("faas.name", "legacy-export"),
                int("faas.max_memory", 512),
                text("cloud.provider", "azure"),
                text("cloud.platform", "azure_functions"),
                text("cloud.region", "eastus"),
                text("host.arch", "amd64"),
            ]
        });
        for metric in crate::metrics::faas_metrics(from, to, &durations) {
            batch.metric("legacy-export", metric);
        }
    }
}

fn ok_or_error(error: Option<&str>) -> Status {
    match error {
        Some(message) => Status {
            code: status::StatusCode::Error as i32,
            message: message.to_owned(),
        },
        None => Status {
            code: status::StatusCode::Unset as i32,
            message: String::new(),
        },
    }
}

fn exception(kind: &str, message: &str, at: u64) -> Event {
    Event {
        time_unix_nano: at,
        name: "exception".to_owned(),
        attributes: vec![
            text("exception.type", kind),
            text("exception.message", message),
        ],
        ..Event::default()
    }
}

fn messaging(system: &str, destination: &str, message_id: &str, operation: &str) -> Vec<KeyValue> {
    vec![
        text("messaging.system", system),
        text("messaging.destination.name", destination),
        text("messaging.message.id", message_id),
        text("messaging.operation.type", operation),
    ]
}

fn http_attributes(route: &str, status: i64) -> Vec<KeyValue> {
    vec![
        text("http.request.method", "POST"),
        text("http.route", route),
        int("http.response.status_code", status),
    ]
}

fn invocation_id(span_id: &[u8; 8]) -> String {
    let hex = hex(span_id);
    format!("{}-0000-4000-8000-{}0000", &hex[..8], &hex[8..])
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}
