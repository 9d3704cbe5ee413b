//! Deriving invocation records from the spans of one export request.
//!
//! The entry-span rules live in `tracehouse_model::invocation`; this adds
//! what only the request knows: whether a span's parent is another span of
//! the same function in the same export (then it is not an entry span even
//! when its SDK does not set the remote-parent flag bits).

use std::collections::HashMap;
use tracehouse_model::invocation::{function_name, is_entry_span};
use tracehouse_model::{Invocation, ParentLocality, Span, SpanId};

/// The invocations whose entry spans are among `spans`.
pub fn invocations_from_spans(spans: &[Span]) -> Vec<Invocation> {
    let function_of_span: HashMap<SpanId, &str> = spans
        .iter()
        .map(|span| {
            (
                span.span_id,
                function_name(&span.resource, &span.attributes),
            )
        })
        .collect();
    spans
        .iter()
        .filter(|span| {
            let function = function_name(&span.resource, &span.attributes);
            let parent_in_same_function = span
                .parent_span_id
                .and_then(|parent| function_of_span.get(&parent))
                .is_some_and(|parent_function| *parent_function == function);
            is_entry_span(span, ParentLocality::of(span, parent_in_same_function))
        })
        .map(Invocation::from_entry_span)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracehouse_model::{AttributeValue, Attributes, SpanKind, StatusCode, TraceId};

    fn span(id: u8, parent: Option<u8>, kind: SpanKind) -> Span {
        let resource: Attributes = vec![
            (
                "service.name".to_owned(),
                AttributeValue::String("f".into()),
            ),
            (
                "cloud.platform".to_owned(),
                AttributeValue::String("aws_lambda".into()),
            ),
        ]
        .into_iter()
        .collect();
        Span {
            trace_id: TraceId::from_array([1; 16]).expect("valid"),
            span_id: SpanId::from_array([id; 8]).expect("valid"),
            parent_span_id: parent.map(|parent| SpanId::from_array([parent; 8]).expect("valid")),
            trace_state: String::new(),
            flags: 0,
            name: "x".to_owned(),
            kind,
            start_time_unix_nano: 1,
            end_time_unix_nano: 2,
            status_code: StatusCode::Unset,
            status_message: String::new(),
            attributes: Attributes::default(),
            resource: resource.into(),
            scope: Default::default(),
            events: vec![],
            links: vec![],
            dropped_attributes_count: 0,
            dropped_events_count: 0,
            dropped_links_count: 0,
        }
    }

    #[test]
    fn a_server_child_of_the_same_function_is_not_an_entry() {
        let spans = vec![
            span(1, Some(9), SpanKind::Server),
            span(2, Some(1), SpanKind::Server),
            span(3, Some(1), SpanKind::Consumer),
            span(4, None, SpanKind::Consumer),
        ];
        let invocations = invocations_from_spans(&spans);
        let ids: Vec<u8> = invocations
            .iter()
            .map(|invocation| invocation.span_id.as_bytes()[0])
            .collect();
        assert_eq!(ids, vec![1, 4]);
    }
}
