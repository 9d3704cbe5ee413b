//! Messaging attributes of a span, in both semantic conventions. Mirrors
//! the `messaging_spans_mv` migration so memory and storage agree.

use tracehouse_model::SpanKind;

/// Whether a span sends or processes a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MessagingRole {
    #[default]
    None,
    Producer,
    Consumer,
}

impl MessagingRole {
    /// From the number stored in `messaging_spans.role`.
    pub fn from_number(number: u8) -> Self {
        match number {
            1 => Self::Producer,
            2 => Self::Consumer,
            _ => Self::None,
        }
    }

    /// Name in API responses.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Producer => "producer",
            Self::Consumer => "consumer",
        }
    }
}

/// The messaging facts of one span.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MessagingFacts {
    pub message_id: String,
    pub destination: String,
    pub role: MessagingRole,
}

/// Reads message id, destination and role from stored attribute arrays.
/// New names win over old ones; the span kind wins over the operation.
pub fn messaging_facts(kind: SpanKind, keys: &[String], values: &[String]) -> MessagingFacts {
    let value = |key: &str| {
        keys.iter()
            .position(|candidate| candidate == key)
            .and_then(|position| values.get(position))
            .map_or("", String::as_str)
    };
    let first_of = |new: &str, old: &str| {
        let new_value = value(new);
        if new_value.is_empty() {
            value(old).to_owned()
        } else {
            new_value.to_owned()
        }
    };
    let operation = first_of("messaging.operation.type", "messaging.operation");
    let role = match (kind, operation.as_str()) {
        (SpanKind::Producer, _) => MessagingRole::Producer,
        (SpanKind::Consumer, _) => MessagingRole::Consumer,
        (_, "publish" | "send" | "create") => MessagingRole::Producer,
        (_, "receive" | "process" | "deliver") => MessagingRole::Consumer,
        _ => MessagingRole::None,
    };
    MessagingFacts {
        message_id: first_of("messaging.message.id", "messaging.message_id"),
        destination: first_of("messaging.destination.name", "messaging.destination"),
        role,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|item| (*item).to_owned()).collect()
    }

    #[test]
    fn new_conventions_win_and_old_ones_still_count() {
        let facts = messaging_facts(
            SpanKind::Internal,
            &strings(&[
                "messaging.message_id",
                "messaging.destination",
                "messaging.operation",
            ]),
            &strings(&["old-id", "queue-a", "process"]),
        );
        assert_eq!(facts.message_id, "old-id");
        assert_eq!(facts.destination, "queue-a");
        assert_eq!(facts.role, MessagingRole::Consumer);
        let facts = messaging_facts(
            SpanKind::Producer,
            &strings(&[
                "messaging.message.id",
                "messaging.message_id",
                "messaging.destination.name",
            ]),
            &strings(&["new-id", "old-id", "topic"]),
        );
        assert_eq!(facts.message_id, "new-id");
        assert_eq!(facts.destination, "topic");
        assert_eq!(facts.role, MessagingRole::Producer);
    }
}
