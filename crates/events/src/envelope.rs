//! The `Event` trait tying each generated message to its type name, and
//! encoding into and out of the envelope.

use prost::Message;

use crate::v1;

/// A domain event: a generated message with its type name (also its topic).
pub trait Event: Message + Default + Clone + Send + Sync + 'static {
    const TYPE: &'static str;
}

macro_rules! events {
    ($($ty:ident => $name:literal),* $(,)?) => {
        $(impl Event for v1::$ty { const TYPE: &'static str = $name; })*
        /// Every event type the platform knows.
        pub const ALL_TYPES: &[&str] = &[$($name),*];
    };
}

events! {
    UserRegistered => "user.registered",
    UserLoginAttacked => "user.login_attacked",
    UserTokensRevoked => "user.tokens_revoked",
    ProductCreated => "product.created",
    ProductUpdated => "product.updated",
    ProductDeleted => "product.deleted",
    OrderPlaced => "order.placed",
    OrderCompleted => "order.completed",
    OrderPaid => "order.paid",
    OrderShipped => "order.shipped",
    OrderCancelled => "order.cancelled",
    PaymentReceived => "payment.received",
    PaymentRefunded => "payment.refunded",
    EngagementRecorded => "product.engagement",
    SearchPerformed => "search.performed",
    AnalysisCompleted => "ml.analysis.completed",
    PriceSuggested => "pricing.suggested",
    ProvenanceMinted => "provenance.minted",
    PaymentExecuted => "payment.executed",
    NotificationDelivered => "notification.delivered",
    ReportReady => "report.ready",
    MediaUploaded => "media.uploaded",
}

/// An envelope that could not be decoded.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("message data is not base64")]
    Base64,
    #[error("message data is not an event envelope: {0}")]
    Envelope(prost::DecodeError),
    #[error("envelope lacks {0}")]
    Missing(&'static str),
    #[error("payload is not a {expected}: {source}")]
    Payload {
        expected: &'static str,
        source: prost::DecodeError,
    },
    #[error("expected a {expected} event, got {got}")]
    WrongType { expected: &'static str, got: String },
}

pub(crate) fn envelope<E: Event>(
    event_id: &str,
    source: &str,
    subject: &str,
    event: &E,
    at: chrono::DateTime<chrono::Utc>,
) -> v1::Envelope {
    v1::Envelope {
        event_id: event_id.to_owned(),
        event_type: E::TYPE.to_owned(),
        occurred_at: Some(prost_types::Timestamp {
            seconds: at.timestamp(),
            nanos: i32::try_from(at.timestamp_subsec_nanos()).unwrap_or(0),
        }),
        source: source.to_owned(),
        subject: subject.to_owned(),
        payload: event.encode_to_vec(),
    }
}

/// An event as a consumer receives it.
#[derive(Debug, Clone)]
pub struct Received {
    pub envelope: v1::Envelope,
}

impl Received {
    /// Decode Pub/Sub message data (the protobuf envelope).
    pub fn from_bytes(data: &[u8]) -> Result<Self, DecodeError> {
        let envelope = v1::Envelope::decode(data).map_err(DecodeError::Envelope)?;
        if envelope.event_id.is_empty() {
            return Err(DecodeError::Missing("event_id"));
        }
        if envelope.event_type.is_empty() {
            return Err(DecodeError::Missing("event_type"));
        }
        Ok(Self { envelope })
    }

    /// When the event happened, in microseconds since the Unix epoch (0
    /// when the envelope does not say): a consumer keeping the latest state
    /// of a subject ignores what is older than what it has, since delivery
    /// across topics keeps no order.
    pub fn occurred_at_micros(&self) -> i64 {
        self.envelope.occurred_at.as_ref().map_or(0, |t| {
            t.seconds
                .saturating_mul(1_000_000)
                .saturating_add(i64::from(t.nanos / 1_000))
        })
    }

    pub fn event_id(&self) -> &str {
        &self.envelope.event_id
    }

    pub fn event_type(&self) -> &str {
        &self.envelope.event_type
    }

    pub fn subject(&self) -> &str {
        &self.envelope.subject
    }

    pub fn is<E: Event>(&self) -> bool {
        self.envelope.event_type == E::TYPE
    }

    /// The payload as `E`, if this is an `E`.
    pub fn decode<E: Event>(&self) -> Result<E, DecodeError> {
        if !self.is::<E>() {
            return Err(DecodeError::WrongType {
                expected: E::TYPE,
                got: self.envelope.event_type.clone(),
            });
        }
        E::decode(self.envelope.payload.as_slice()).map_err(|source| DecodeError::Payload {
            expected: E::TYPE,
            source,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn envelopes_round_trip() {
        let event = v1::UserRegistered {
            user_id: "u1".into(),
            email: "a@b.in".into(),
            ..Default::default()
        };
        let env = envelope("e1", "auth", "u1", &event, chrono::Utc::now());
        let received = Received::from_bytes(&env.encode_to_vec()).unwrap();
        assert_eq!(received.event_type(), "user.registered");
        assert_eq!(received.decode::<v1::UserRegistered>().unwrap(), event);
        assert!(received.decode::<v1::OrderPlaced>().is_err());
        assert!(Received::from_bytes(b"\xff\xff garbage").is_err());
    }
}
