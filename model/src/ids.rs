//! Trace and span identifiers.

use std::fmt;
use std::str::FromStr;

/// Why bytes or text could not become an id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    /// The id had the wrong number of bytes.
    #[error("{kind} must be {expected} bytes, got {actual}")]
    WrongLength {
        kind: &'static str,
        expected: usize,
        actual: usize,
    },
    /// All-zero ids are invalid in OpenTelemetry.
    #[error("{kind} must not be all zeros")]
    AllZeros { kind: &'static str },
    /// The text was not lowercase or uppercase hex of the right length.
    #[error("{kind} must be {expected} hex characters")]
    InvalidHex { kind: &'static str, expected: usize },
}

macro_rules! define_id {
    ($(#[$doc:meta])* $name:ident, $len:expr, $kind:expr) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name([u8; $len]);

        impl $name {
            /// Number of bytes in this id.
            pub const LEN: usize = $len;

            /// Builds an id from raw bytes, rejecting wrong lengths and all-zero ids.
            pub fn from_bytes(bytes: &[u8]) -> Result<Self, IdError> {
                let array: [u8; $len] = bytes.try_into().map_err(|_| IdError::WrongLength {
                    kind: $kind,
                    expected: $len,
                    actual: bytes.len(),
                })?;
                Self::from_array(array)
            }

            /// Builds an id from an array, rejecting the all-zero id.
            pub fn from_array(array: [u8; $len]) -> Result<Self, IdError> {
                if array == [0u8; $len] {
                    return Err(IdError::AllZeros { kind: $kind });
                }
                Ok(Self(array))
            }

            /// The raw bytes.
            pub fn as_bytes(&self) -> &[u8; $len] {
                &self.0
            }

            /// Lowercase hex, as the APIs and OTLP JSON write it.
            pub fn to_hex(&self) -> String {
                hex::encode(self.0)
            }
        }

        impl FromStr for $name {
            type Err = IdError;

            /// Parses hex text of exactly the right length.
            fn from_str(text: &str) -> Result<Self, Self::Err> {
                let invalid = IdError::InvalidHex { kind: $kind, expected: $len * 2 };
                if text.len() != $len * 2 {
                    return Err(invalid);
                }
                let mut array = [0u8; $len];
                hex::decode_to_slice(text, &mut array).map_err(|_| invalid)?;
                Self::from_array(array)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                formatter.write_str(&self.to_hex())
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(formatter, "{}({})", stringify!($name), self.to_hex())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(&self.to_hex())
            }
        }
    };
}

define_id!(
    /// A 16-byte W3C trace id; never all zeros.
    TraceId,
    16,
    "trace id"
);
define_id!(
    /// An 8-byte span id; never all zeros.
    SpanId,
    8,
    "span id"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip_is_lowercase() {
        let id: TraceId = "0AF7651916CD43DD8448EB211C80319C"
            .parse()
            .expect("valid id");
        assert_eq!(id.to_hex(), "0af7651916cd43dd8448eb211c80319c");
        assert_eq!(id.as_bytes()[0], 0x0a);
    }

    #[test]
    fn rejects_bad_ids() {
        assert_eq!(
            SpanId::from_bytes(&[1, 2, 3]),
            Err(IdError::WrongLength {
                kind: "span id",
                expected: 8,
                actual: 3
            })
        );
        assert_eq!(
            SpanId::from_bytes(&[0; 8]),
            Err(IdError::AllZeros { kind: "span id" })
        );
        assert!("zz".repeat(16).parse::<TraceId>().is_err());
        assert!("ab".parse::<TraceId>().is_err());
        assert!("00".repeat(16).parse::<TraceId>().is_err());
    }
}
