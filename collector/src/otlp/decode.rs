//! Decoding OTLP/HTTP bodies: gzip with a size cap, then protobuf or JSON.

use crate::error::IngestError;
use bytes::Bytes;
use std::io::Read;

/// Bodies larger than this once decompressed are decompressed and decoded
/// on the blocking pool, so that a big request does not stall the async
/// workers (a small gzip body can be a large request).
pub const DECODE_OFF_RUNTIME_BYTES: usize = 64 * 1024;

/// The two OTLP/HTTP encodings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyFormat {
    Protobuf,
    Json,
}

impl BodyFormat {
    /// From a `Content-Type` header; parameters such as `charset` are ignored.
    pub fn from_content_type(content_type: Option<&str>) -> Result<Self, IngestError> {
        let mime = content_type
            .unwrap_or("")
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        match mime.as_str() {
            "application/x-protobuf" | "application/protobuf" => Ok(Self::Protobuf),
            "application/json" => Ok(Self::Json),
            _ => Err(IngestError::UnsupportedMediaType(
                content_type.unwrap_or("").to_owned(),
            )),
        }
    }

    /// The `Content-Type` of responses in this format.
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Protobuf => "application/x-protobuf",
            Self::Json => "application/json",
        }
    }
}

/// Undoes `Content-Encoding`, refusing output larger than `max_bytes`
/// (a small gzip body can expand enormously).
pub fn decompress(
    body: Bytes,
    content_encoding: Option<&str>,
    max_bytes: usize,
) -> Result<Bytes, IngestError> {
    match content_encoding
        .map(|encoding| encoding.trim().to_ascii_lowercase())
        .as_deref()
    {
        None | Some("") | Some("identity") => Ok(body),
        Some("gzip") | Some("x-gzip") => {
            let limit = u64::try_from(max_bytes)
                .unwrap_or(u64::MAX)
                .saturating_add(1);
            let mut decoded = Vec::with_capacity(body.len().saturating_mul(4).min(max_bytes));
            flate2::read::MultiGzDecoder::new(&body[..])
                .take(limit)
                .read_to_end(&mut decoded)
                .map_err(|error| {
                    IngestError::InvalidPayload(format!(
                        "gzip body could not be decompressed: {error}"
                    ))
                })?;
            if decoded.len() > max_bytes {
                return Err(IngestError::PayloadTooLarge { limit: max_bytes });
            }
            Ok(Bytes::from(decoded))
        }
        Some(other) => Err(IngestError::UnsupportedEncoding(other.to_owned())),
    }
}

/// The body decompressed, when that is at most `cap` bytes; `None` when it
/// is larger (at most `cap` bytes are decompressed to find out).
pub fn decompress_small(
    body: &Bytes,
    content_encoding: Option<&str>,
    cap: usize,
) -> Result<Option<Bytes>, IngestError> {
    match decompress(body.clone(), content_encoding, cap) {
        Ok(decoded) if decoded.len() <= cap => Ok(Some(decoded)),
        Ok(_) | Err(IngestError::PayloadTooLarge { .. }) => Ok(None),
        Err(error) => Err(error),
    }
}

/// Decodes a message from an already decompressed body.
pub fn decode_message<M>(body: &[u8], format: BodyFormat) -> Result<M, IngestError>
where
    M: prost::Message + Default + serde::de::DeserializeOwned,
{
    match format {
        BodyFormat::Protobuf => M::decode(body).map_err(|error| {
            IngestError::InvalidPayload(format!("protobuf body could not be decoded: {error}"))
        }),
        BodyFormat::Json => serde_json::from_slice(body).map_err(|error| {
            IngestError::InvalidPayload(format!("JSON body could not be decoded: {error}"))
        }),
    }
}

/// Encodes a response message in the request's format.
pub fn encode_message<M>(message: &M, format: BodyFormat) -> Result<Vec<u8>, IngestError>
where
    M: prost::Message + serde::Serialize,
{
    match format {
        BodyFormat::Protobuf => Ok(message.encode_to_vec()),
        BodyFormat::Json => serde_json::to_vec(message)
            .map_err(|error| IngestError::Internal(format!("encode JSON response: {error}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::write::GzEncoder;
    use std::io::Write;

    fn gzip(data: &[u8]) -> Bytes {
        let mut encoder = GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(data).expect("write to memory");
        Bytes::from(encoder.finish().expect("finish gzip"))
    }

    #[test]
    fn content_types() {
        assert_eq!(
            BodyFormat::from_content_type(Some("application/json; charset=utf-8")).ok(),
            Some(BodyFormat::Json)
        );
        assert_eq!(
            BodyFormat::from_content_type(Some("application/x-protobuf")).ok(),
            Some(BodyFormat::Protobuf)
        );
        assert!(matches!(
            BodyFormat::from_content_type(Some("text/plain")),
            Err(IngestError::UnsupportedMediaType(_))
        ));
        assert!(BodyFormat::from_content_type(None).is_err());
    }

    #[test]
    fn gzip_is_capped_after_decompression() {
        let zeros = vec![0u8; 10_000];
        assert_eq!(
            decompress(gzip(&zeros), Some("gzip"), 10_000)
                .map(|b| b.len())
                .ok(),
            Some(10_000)
        );
        assert!(matches!(
            decompress(gzip(&zeros), Some("gzip"), 9_999),
            Err(IngestError::PayloadTooLarge { limit: 9_999 })
        ));
        assert!(matches!(
            decompress(Bytes::from_static(b"not gzip"), Some("gzip"), 100),
            Err(IngestError::InvalidPayload(_))
        ));
        assert!(matches!(
            decompress(Bytes::from_static(b"x"), Some("br"), 100),
            Err(IngestError::UnsupportedEncoding(_))
        ));
    }

    #[test]
    fn small_means_small_once_decompressed() {
        let zeros = vec![0u8; 10_000];
        let compressed = gzip(&zeros);
        assert!(compressed.len() < 1_000);
        let small = |body: &Bytes, encoding, cap| {
            decompress_small(body, encoding, cap).map(|decoded| decoded.map(|b| b.len()))
        };
        assert_eq!(
            small(&compressed, Some("gzip"), 10_000).ok(),
            Some(Some(10_000))
        );
        assert_eq!(small(&compressed, Some("gzip"), 9_999).ok(), Some(None));
        let plain = Bytes::from(zeros);
        assert_eq!(small(&plain, None, 10_000).ok(), Some(Some(10_000)));
        assert_eq!(small(&plain, None, 9_999).ok(), Some(None));
        assert!(small(&Bytes::from_static(b"not gzip"), Some("gzip"), 100).is_err());
    }
}
