//! Function invocations: which span is one, and what it says about the
//! function (name, provider, memory, architecture, cold start).

use crate::attributes::{AttributeValue, Attributes};
use crate::ids::{SpanId, TraceId};
use crate::span::{Span, SpanKind, StatusCode};

/// OTLP span flag: the `IS_REMOTE` bit below is meaningful.
pub const SPAN_FLAG_HAS_IS_REMOTE: u32 = 0x100;
/// OTLP span flag: the parent span is remote (another process).
pub const SPAN_FLAG_IS_REMOTE: u32 = 0x200;

/// `faas.max_memory` values below this are MiB (older SDKs), above bytes.
pub const MEMORY_MIB_THRESHOLD: i64 = 65_536;

/// Span attributes that only the entry span of an invocation carries.
const SPAN_FAAS_ATTRIBUTES: [&str; 3] = ["faas.invocation_id", "faas.trigger", "faas.coldstart"];

/// `cloud.platform` values of function platforms.
const FAAS_PLATFORMS: [&str; 5] = [
    "aws_lambda",
    "azure_functions",
    "gcp_cloud_functions",
    "gcp_cloud_run",
    "alibaba_cloud_fc",
];

/// Whether the parent of a span is in another process, as far as known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParentLocality {
    /// No parent: a root span.
    None,
    /// The span's flags say the parent is remote.
    Remote,
    /// The flags say the parent is local, or the parent was seen in the same
    /// export and belongs to the same function.
    SameFunction,
    /// Nothing says either way (older SDKs do not set the flag bits).
    Unknown,
}

impl ParentLocality {
    /// From the span's flags and parent, and whether the parent is a span of
    /// the same function in the same export.
    pub fn of(span: &Span, parent_seen_in_same_function: bool) -> Self {
        if span.parent_span_id.is_none() {
            return Self::None;
        }
        if parent_seen_in_same_function {
            return Self::SameFunction;
        }
        if span.flags & SPAN_FLAG_HAS_IS_REMOTE != 0 {
            if span.flags & SPAN_FLAG_IS_REMOTE != 0 {
                return Self::Remote;
            }
            return Self::SameFunction;
        }
        Self::Unknown
    }
}

/// One execution of a function, from its entry span.
#[derive(Debug, Clone, PartialEq)]
pub struct Invocation {
    pub function: String,
    pub service: String,
    /// `aws`, `azure`, `gcp`, ... or empty when unknown.
    pub provider: String,
    pub region: String,
    pub function_version: String,
    /// `faas.instance`, else `service.instance.id`; empty when unknown.
    pub instance: String,
    pub trigger: String,
    /// `faas.invocation_id` (the AWS request id); empty when unknown.
    pub invocation_id: String,
    pub trace_id: TraceId,
    pub span_id: SpanId,
    pub start_time_unix_nano: u64,
    pub duration_ns: u64,
    pub is_error: bool,
    /// `faas.coldstart` when the span carries it.
    pub coldstart_attribute: Option<bool>,
    /// Configured memory in MiB, when known.
    pub memory_mb: Option<u32>,
    /// `x86_64` or `arm64` (others as sent), when known.
    pub arch: Option<String>,
}

/// Whether the resource describes a function (`faas.name`, or a function
/// `cloud.platform`).
pub fn is_faas_resource(resource: &Attributes) -> bool {
    resource.get("faas.name").is_some()
        || resource
            .get_str("cloud.platform")
            .is_some_and(|platform| FAAS_PLATFORMS.contains(&platform))
}

/// The function a span or data point belongs to: `faas.name`, else `service.name`.
pub fn function_name<'a>(resource: &'a Attributes, span_attributes: &'a Attributes) -> &'a str {
    resource
        .get_str("faas.name")
        .or_else(|| span_attributes.get_str("faas.name"))
        .or_else(|| resource.get_str("service.name"))
        .unwrap_or(crate::span::UNKNOWN_SERVICE)
}

/// Whether `span` is the entry span of an invocation: it carries span-level
/// FaaS attributes, or it is a SERVER or CONSUMER span of a FaaS resource
/// whose parent is not a span of the same function.
pub fn is_entry_span(span: &Span, parent: ParentLocality) -> bool {
    if SPAN_FAAS_ATTRIBUTES
        .iter()
        .any(|key| span.attributes.get(key).is_some())
    {
        return true;
    }
    if !is_faas_resource(&span.resource) {
        return false;
    }
    match span.kind {
        SpanKind::Server => parent != ParentLocality::SameFunction,
        // A CONSUMER span whose parent might be the invocation (one message
        // of a batch) counts only when its parent is known to be elsewhere.
        SpanKind::Consumer => matches!(parent, ParentLocality::None | ParentLocality::Remote),
        _ => false,
    }
}

impl Invocation {
    /// The invocation record of an entry span.
    pub fn from_entry_span(span: &Span) -> Self {
        let resource = &span.resource;
        let attributes = &span.attributes;
        let lookup = |key: &str| -> String {
            attributes
                .get(key)
                .or_else(|| resource.get(key))
                .map(AttributeValue::to_plain_string)
                .unwrap_or_default()
        };
        let has_exception_event = span.events.iter().any(|event| event.name == "exception");
        let is_error = span.status_code == StatusCode::Error
            || (has_exception_event && span.status_code != StatusCode::Ok);
        let instance = resource
            .get("faas.instance")
            .or_else(|| resource.get("service.instance.id"))
            .map(AttributeValue::to_plain_string)
            .unwrap_or_default();
        let invocation_id = match lookup("faas.invocation_id") {
            id if id.is_empty() => lookup("faas.execution"),
            id => id,
        };
        Self {
            function: function_name(resource, attributes).to_owned(),
            service: span.service_name().to_owned(),
            provider: provider(resource),
            region: lookup("cloud.region"),
            function_version: match lookup("faas.version") {
                version if version.is_empty() => lookup("service.version"),
                version => version,
            },
            instance,
            trigger: lookup("faas.trigger"),
            invocation_id,
            trace_id: span.trace_id,
            span_id: span.span_id,
            start_time_unix_nano: span.start_time_unix_nano,
            duration_ns: span.duration_ns(),
            is_error,
            coldstart_attribute: coldstart(attributes.get("faas.coldstart")),
            memory_mb: resource
                .get("faas.max_memory")
                .or_else(|| attributes.get("faas.max_memory"))
                .and_then(memory_mb_from_value),
            arch: resource
                .get_str("host.arch")
                .and_then(normalize_arch)
                .map(str::to_owned),
        }
    }
}

/// Providers as `cloud.platform` values begin with them.
const PROVIDER_PREFIXES: [&str; 4] = ["aws", "azure", "gcp", "alibaba_cloud"];

/// `cloud.provider`, else the provider implied by `cloud.platform`.
pub fn provider(resource: &Attributes) -> String {
    provider_of(
        resource.get_str("cloud.provider"),
        resource.get_str("cloud.platform").unwrap_or(""),
    )
}

/// The provider from the `cloud.provider` value (lowercased) when there is
/// one, else from the prefix of `cloud.platform`; empty when neither says.
/// The one rule for spans and metrics alike.
pub fn provider_of(cloud_provider: Option<&str>, cloud_platform: &str) -> String {
    if let Some(provider) = cloud_provider {
        return provider.to_ascii_lowercase();
    }
    PROVIDER_PREFIXES
        .into_iter()
        .find(|prefix| cloud_platform.starts_with(prefix))
        .unwrap_or("")
        .to_owned()
}

fn coldstart(value: Option<&AttributeValue>) -> Option<bool> {
    match value? {
        AttributeValue::Bool(flag) => Some(*flag),
        AttributeValue::String(text) => text.parse().ok(),
        AttributeValue::Int(number) => Some(*number != 0),
        _ => None,
    }
}

/// `faas.max_memory` in MiB: values below 65536 are already MiB (older
/// SDKs send `128`), larger ones are bytes. Strings and doubles are accepted.
pub fn memory_mb_from_value(value: &AttributeValue) -> Option<u32> {
    let number = match value {
        AttributeValue::Int(number) => *number,
        AttributeValue::Double(number) if number.is_finite() => number.round() as i64,
        AttributeValue::String(text) => text.trim().parse().ok()?,
        _ => return None,
    };
    memory_mb_from_number(number)
}

/// See [`memory_mb_from_value`].
pub fn memory_mb_from_number(number: i64) -> Option<u32> {
    if number <= 0 {
        return None;
    }
    let mebibytes = if number < MEMORY_MIB_THRESHOLD {
        number
    } else {
        number / (1024 * 1024)
    };
    u32::try_from(mebibytes).ok().filter(|mb| *mb > 0)
}

/// `host.arch` as pricing knows it: `arm64` or `x86_64`; other values as sent.
pub fn normalize_arch(arch: &str) -> Option<&str> {
    match arch.trim().to_ascii_lowercase().as_str() {
        "" => None,
        "arm64" | "aarch64" | "arm" => Some("arm64"),
        "amd64" | "x86_64" | "x86" | "x64" => Some("x86_64"),
        _ => Some(arch),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::span::SpanEvent;

    fn attributes(pairs: &[(&str, AttributeValue)]) -> Attributes {
        pairs
            .iter()
            .map(|(key, value)| ((*key).to_owned(), value.clone()))
            .collect()
    }

    fn span(kind: SpanKind, parent: bool, resource: Attributes, attrs: Attributes) -> Span {
        Span {
            trace_id: TraceId::from_bytes(&[1; 16]).expect("valid"),
            span_id: SpanId::from_bytes(&[2; 8]).expect("valid"),
            parent_span_id: parent.then(|| SpanId::from_bytes(&[3; 8]).expect("valid")),
            trace_state: String::new(),
            flags: 0,
            name: "handler".to_owned(),
            kind,
            start_time_unix_nano: 1_000,
            end_time_unix_nano: 3_000_500,
            status_code: StatusCode::Unset,
            status_message: String::new(),
            attributes: attrs,
            resource: resource.into(),
            scope: Default::default(),
            events: vec![],
            links: vec![],
            dropped_attributes_count: 0,
            dropped_events_count: 0,
            dropped_links_count: 0,
        }
    }

    fn lambda_resource() -> Attributes {
        attributes(&[
            ("service.name", AttributeValue::String("svc".into())),
            (
                "cloud.platform",
                AttributeValue::String("aws_lambda".into()),
            ),
            ("faas.max_memory", AttributeValue::Int(128)),
            ("host.arch", AttributeValue::String("amd64".into())),
            ("faas.instance", AttributeValue::String("i-1".into())),
        ])
    }

    #[test]
    fn memory_below_65536_is_mib_above_is_bytes() {
        assert_eq!(memory_mb_from_number(128), Some(128));
        assert_eq!(memory_mb_from_number(134_217_728), Some(128));
        assert_eq!(memory_mb_from_number(1_073_741_824), Some(1024));
        assert_eq!(memory_mb_from_number(0), None);
        assert_eq!(
            memory_mb_from_value(&AttributeValue::String("512".into())),
            Some(512)
        );
    }

    #[test]
    fn provider_comes_from_cloud_provider_else_the_platform_prefix() {
        assert_eq!(provider_of(Some("AWS"), "gcp_cloud_run"), "aws");
        assert_eq!(provider_of(None, "alibaba_cloud_fc"), "alibaba_cloud");
        assert_eq!(provider_of(None, "azure_functions"), "azure");
        assert_eq!(provider_of(None, "heroku"), "");
    }

    #[test]
    fn architectures_normalize() {
        assert_eq!(normalize_arch("amd64"), Some("x86_64"));
        assert_eq!(normalize_arch("ARM64"), Some("arm64"));
        assert_eq!(normalize_arch(""), None);
    }

    #[test]
    fn entry_span_rules() {
        let server_root = span(
            SpanKind::Server,
            false,
            lambda_resource(),
            Attributes::default(),
        );
        assert!(is_entry_span(&server_root, ParentLocality::None));
        let mut internal = server_root.clone();
        internal.kind = SpanKind::Internal;
        assert!(!is_entry_span(&internal, ParentLocality::None));
        // A consumer inside the invocation is not another invocation.
        let consumer = span(
            SpanKind::Consumer,
            true,
            lambda_resource(),
            Attributes::default(),
        );
        assert!(!is_entry_span(&consumer, ParentLocality::SameFunction));
        assert!(!is_entry_span(&consumer, ParentLocality::Unknown));
        assert!(is_entry_span(&consumer, ParentLocality::Remote));
        // Span-level FaaS attributes make an entry span whatever the resource.
        let plain_resource = attributes(&[("service.name", AttributeValue::String("x".into()))]);
        let triggered = span(
            SpanKind::Internal,
            true,
            plain_resource.clone(),
            attributes(&[("faas.trigger", AttributeValue::String("http".into()))]),
        );
        assert!(is_entry_span(&triggered, ParentLocality::Unknown));
        let not_faas = span(
            SpanKind::Server,
            false,
            plain_resource,
            Attributes::default(),
        );
        assert!(!is_entry_span(&not_faas, ParentLocality::None));
    }

    #[test]
    fn parent_locality_from_flags() {
        let mut child = span(
            SpanKind::Server,
            true,
            lambda_resource(),
            Attributes::default(),
        );
        assert_eq!(ParentLocality::of(&child, false), ParentLocality::Unknown);
        child.flags = SPAN_FLAG_HAS_IS_REMOTE | SPAN_FLAG_IS_REMOTE;
        assert_eq!(ParentLocality::of(&child, false), ParentLocality::Remote);
        child.flags = SPAN_FLAG_HAS_IS_REMOTE;
        assert_eq!(
            ParentLocality::of(&child, false),
            ParentLocality::SameFunction
        );
    }

    #[test]
    fn invocation_fields_from_span() {
        let mut entry = span(
            SpanKind::Server,
            false,
            lambda_resource(),
            attributes(&[
                ("faas.coldstart", AttributeValue::Bool(true)),
                ("faas.invocation_id", AttributeValue::String("req-1".into())),
            ]),
        );
        entry.events.push(SpanEvent {
            time_unix_nano: 2_000,
            name: "exception".to_owned(),
            attributes: Attributes::default(),
        });
        let invocation = Invocation::from_entry_span(&entry);
        assert_eq!(invocation.function, "svc");
        assert_eq!(invocation.provider, "aws");
        assert_eq!(invocation.memory_mb, Some(128));
        assert_eq!(invocation.arch.as_deref(), Some("x86_64"));
        assert_eq!(invocation.instance, "i-1");
        assert_eq!(invocation.invocation_id, "req-1");
        assert_eq!(invocation.coldstart_attribute, Some(true));
        assert_eq!(invocation.duration_ns, 2_999_500);
        assert!(invocation.is_error);
        entry.status_code = StatusCode::Ok;
        assert!(!Invocation::from_entry_span(&entry).is_error);
    }

    #[test]
    fn version_is_faas_version_else_service_version() {
        let mut entry = span(
            SpanKind::Server,
            false,
            lambda_resource(),
            Attributes::default(),
        );
        assert_eq!(Invocation::from_entry_span(&entry).function_version, "");
        entry.resource =
            attributes(&[("service.version", AttributeValue::String("2.1.0".into()))]).into();
        assert_eq!(
            Invocation::from_entry_span(&entry).function_version,
            "2.1.0"
        );
        entry.attributes =
            attributes(&[("faas.version", AttributeValue::String("$LATEST".into()))]);
        assert_eq!(
            Invocation::from_entry_span(&entry).function_version,
            "$LATEST"
        );
    }
}
