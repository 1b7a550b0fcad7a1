//! The client <-> driver control protocol: commands clients write into the to-driver ring buffer and
//! responses the driver sends through the to-clients broadcast buffer (`aeron_control_protocol.h`,
//! `io.aeron.command`).
//!
//! A message body is the record's bytes after the 8-byte ring/broadcast record header; the record's type id
//! selects the message. [`Command::decode`] and [`Response::decode`] turn a type id and body into a typed
//! message that borrows its strings and keys from the body. Bodies too short for their fields or with
//! inconsistent lengths fail with a [`DecodeError`] (the driver reports those as MALFORMED_COMMAND); unknown
//! type ids fail with [`DecodeError::UnknownType`].

mod commands;
mod error_code;
mod responses;

pub use commands::{
    AddCounter, AddStaticCounter, Correlated, DestinationByIdCommand, DestinationCommand,
    GetNextAvailableSessionId, PublicationCommand, RejectImage, RemoveCommand, RemovePublication,
    SubscriptionCommand, TerminateDriver, REMOVE_PUBLICATION_FLAG_REVOKE,
};
pub use error_code::ErrorCode;
pub use responses::{
    ClientTimeout, CounterUpdate, ErrorResponse, ImageBuffersReady, ImageMessage,
    NextAvailableSessionId, OperationSucceeded, PublicationBuffersReady, PublicationError,
    SubscriptionReady, ADDRESS_TYPE_IPV4, ADDRESS_TYPE_IPV6, ADDRESS_TYPE_UNKNOWN,
};

use crate::le::{get_i32, put_i32, require};
use crate::{align, DecodeError};

/// Command: add a publication.
pub const ADD_PUBLICATION: i32 = 0x01;
/// Command: remove (or revoke) a publication.
pub const REMOVE_PUBLICATION: i32 = 0x02;
/// Command: add an exclusive publication.
pub const ADD_EXCLUSIVE_PUBLICATION: i32 = 0x03;
/// Command: add a subscription.
pub const ADD_SUBSCRIPTION: i32 = 0x04;
/// Command: remove a subscription.
pub const REMOVE_SUBSCRIPTION: i32 = 0x05;
/// Command: client keepalive (legacy; clients now write their heartbeat counter).
pub const CLIENT_KEEPALIVE: i32 = 0x06;
/// Command: add a destination to a publication.
pub const ADD_DESTINATION: i32 = 0x07;
/// Command: remove a destination from a publication.
pub const REMOVE_DESTINATION: i32 = 0x08;
/// Command: add a counter.
pub const ADD_COUNTER: i32 = 0x09;
/// Command: remove a counter.
pub const REMOVE_COUNTER: i32 = 0x0A;
/// Command: the client is closing.
pub const CLIENT_CLOSE: i32 = 0x0B;
/// Command: add a destination to a subscription.
pub const ADD_RCV_DESTINATION: i32 = 0x0C;
/// Command: remove a destination from a subscription.
pub const REMOVE_RCV_DESTINATION: i32 = 0x0D;
/// Command: ask the driver to terminate.
pub const TERMINATE_DRIVER: i32 = 0x0E;
/// Command: add or look up a static counter.
pub const ADD_STATIC_COUNTER: i32 = 0x0F;
/// Command: reject an image.
pub const REJECT_IMAGE: i32 = 0x10;
/// Command: remove a publication destination by its registration id.
pub const REMOVE_DESTINATION_BY_ID: i32 = 0x11;
/// Command: ask for a session id not in use on a stream.
pub const GET_NEXT_AVAILABLE_SESSION_ID: i32 = 0x12;

/// Response: a command failed.
pub const ON_ERROR: i32 = 0x0F01;
/// Response: an image is available to a subscription.
pub const ON_AVAILABLE_IMAGE: i32 = 0x0F02;
/// Response: a publication's buffers are ready.
pub const ON_PUBLICATION_READY: i32 = 0x0F03;
/// Response: a command succeeded.
pub const ON_OPERATION_SUCCESS: i32 = 0x0F04;
/// Response: an image is gone.
pub const ON_UNAVAILABLE_IMAGE: i32 = 0x0F05;
/// Response: an exclusive publication's buffers are ready.
pub const ON_EXCLUSIVE_PUBLICATION_READY: i32 = 0x0F06;
/// Response: a subscription is ready.
pub const ON_SUBSCRIPTION_READY: i32 = 0x0F07;
/// Response: a counter is ready.
pub const ON_COUNTER_READY: i32 = 0x0F08;
/// Response: a counter is gone.
pub const ON_UNAVAILABLE_COUNTER: i32 = 0x0F09;
/// Response: the driver timed a client out.
pub const ON_CLIENT_TIMEOUT: i32 = 0x0F0A;
/// Response: a static counter is ready.
pub const ON_STATIC_COUNTER: i32 = 0x0F0B;
/// Response: a publication received an ERR frame.
pub const ON_PUBLICATION_ERROR: i32 = 0x0F0C;
/// Response: the next available session id.
pub const ON_NEXT_AVAILABLE_SESSION_ID: i32 = 0x0F0D;

/// Panics with a clear message unless `buf` can hold `needed` bytes.
fn start_encode(buf: &[u8], needed: usize) {
    assert!(
        buf.len() >= needed,
        "encode buffer of {} bytes is shorter than the {} byte message",
        buf.len(),
        needed
    );
}

/// Reads an `i32` length then that many bytes at `offset`; returns them and the offset just past them.
fn get_bytes<'a>(
    what: &'static str,
    field: &'static str,
    body: &'a [u8],
    offset: usize,
) -> Result<(&'a [u8], usize), DecodeError> {
    require(what, body, offset.saturating_add(4))?;
    let raw_len = get_i32(body, offset);
    let bad_length = DecodeError::BadLength {
        what,
        field,
        length: raw_len.into(),
    };
    let len = usize::try_from(raw_len).map_err(|_| bad_length.clone())?;
    let start = offset + 4;
    let end = start
        .checked_add(len)
        .filter(|&end| end <= body.len())
        .ok_or(bad_length)?;
    Ok((&body[start..end], end))
}

/// Writes an `i32` length then `bytes` at `offset`; returns the offset just past them.
fn put_bytes(buf: &mut [u8], offset: usize, bytes: &[u8]) -> usize {
    let len = i32::try_from(bytes.len()).expect("field longer than i32::MAX");
    put_i32(buf, offset, len);
    let end = offset + 4 + bytes.len();
    buf[offset + 4..end].copy_from_slice(bytes);
    end
}

/// Like [`put_bytes`], then zeroes up to the next multiple of `alignment` bytes; returns that offset.
fn put_padded_bytes(buf: &mut [u8], offset: usize, bytes: &[u8], alignment: usize) -> usize {
    let end = put_bytes(buf, offset, bytes);
    let padded_end = offset + 4 + align(bytes.len(), alignment);
    buf[end..padded_end].fill(0);
    padded_end
}

/// A client -> driver command, as found in a to-driver ring buffer record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Command<'a> {
    /// ADD_PUBLICATION.
    AddPublication(PublicationCommand<'a>),
    /// REMOVE_PUBLICATION.
    RemovePublication(RemovePublication),
    /// ADD_EXCLUSIVE_PUBLICATION.
    AddExclusivePublication(PublicationCommand<'a>),
    /// ADD_SUBSCRIPTION.
    AddSubscription(SubscriptionCommand<'a>),
    /// REMOVE_SUBSCRIPTION.
    RemoveSubscription(RemoveCommand),
    /// CLIENT_KEEPALIVE.
    ClientKeepalive(Correlated),
    /// ADD_DESTINATION.
    AddDestination(DestinationCommand<'a>),
    /// REMOVE_DESTINATION.
    RemoveDestination(DestinationCommand<'a>),
    /// ADD_COUNTER.
    AddCounter(AddCounter<'a>),
    /// REMOVE_COUNTER.
    RemoveCounter(RemoveCommand),
    /// CLIENT_CLOSE.
    ClientClose(Correlated),
    /// ADD_RCV_DESTINATION.
    AddRcvDestination(DestinationCommand<'a>),
    /// REMOVE_RCV_DESTINATION.
    RemoveRcvDestination(DestinationCommand<'a>),
    /// TERMINATE_DRIVER.
    TerminateDriver(TerminateDriver<'a>),
    /// ADD_STATIC_COUNTER.
    AddStaticCounter(AddStaticCounter<'a>),
    /// REJECT_IMAGE.
    RejectImage(RejectImage<'a>),
    /// REMOVE_DESTINATION_BY_ID.
    RemoveDestinationById(DestinationByIdCommand),
    /// GET_NEXT_AVAILABLE_SESSION_ID.
    GetNextAvailableSessionId(GetNextAvailableSessionId),
}

/// Runs `$body` with `$m` bound to the message inside any variant of `$self`.
macro_rules! each_command {
    ($self:expr, $m:ident => $body:expr) => {
        match $self {
            Command::AddPublication($m) | Command::AddExclusivePublication($m) => $body,
            Command::RemovePublication($m) => $body,
            Command::AddSubscription($m) => $body,
            Command::RemoveSubscription($m) | Command::RemoveCounter($m) => $body,
            Command::ClientKeepalive($m) | Command::ClientClose($m) => $body,
            Command::AddDestination($m)
            | Command::RemoveDestination($m)
            | Command::AddRcvDestination($m)
            | Command::RemoveRcvDestination($m) => $body,
            Command::AddCounter($m) => $body,
            Command::TerminateDriver($m) => $body,
            Command::AddStaticCounter($m) => $body,
            Command::RejectImage($m) => $body,
            Command::RemoveDestinationById($m) => $body,
            Command::GetNextAvailableSessionId($m) => $body,
        }
    };
}

impl<'a> Command<'a> {
    /// Decodes the body of a ring-buffer record of type `msg_type_id`.
    pub fn decode(msg_type_id: i32, body: &'a [u8]) -> Result<Self, DecodeError> {
        Ok(match msg_type_id {
            ADD_PUBLICATION => Self::AddPublication(PublicationCommand::decode(body)?),
            REMOVE_PUBLICATION => Self::RemovePublication(RemovePublication::decode(body)?),
            ADD_EXCLUSIVE_PUBLICATION => {
                Self::AddExclusivePublication(PublicationCommand::decode(body)?)
            }
            ADD_SUBSCRIPTION => Self::AddSubscription(SubscriptionCommand::decode(body)?),
            REMOVE_SUBSCRIPTION => Self::RemoveSubscription(RemoveCommand::decode(body)?),
            CLIENT_KEEPALIVE => {
                Self::ClientKeepalive(Correlated::decode_for("CLIENT_KEEPALIVE", body)?)
            }
            ADD_DESTINATION => Self::AddDestination(DestinationCommand::decode(body)?),
            REMOVE_DESTINATION => Self::RemoveDestination(DestinationCommand::decode(body)?),
            ADD_COUNTER => Self::AddCounter(AddCounter::decode(body)?),
            REMOVE_COUNTER => Self::RemoveCounter(RemoveCommand::decode(body)?),
            CLIENT_CLOSE => Self::ClientClose(Correlated::decode_for("CLIENT_CLOSE", body)?),
            ADD_RCV_DESTINATION => Self::AddRcvDestination(DestinationCommand::decode(body)?),
            REMOVE_RCV_DESTINATION => Self::RemoveRcvDestination(DestinationCommand::decode(body)?),
            TERMINATE_DRIVER => Self::TerminateDriver(TerminateDriver::decode(body)?),
            ADD_STATIC_COUNTER => Self::AddStaticCounter(AddStaticCounter::decode(body)?),
            REJECT_IMAGE => Self::RejectImage(RejectImage::decode(body)?),
            REMOVE_DESTINATION_BY_ID => {
                Self::RemoveDestinationById(DestinationByIdCommand::decode(body)?)
            }
            GET_NEXT_AVAILABLE_SESSION_ID => {
                Self::GetNextAvailableSessionId(GetNextAvailableSessionId::decode(body)?)
            }
            type_id => {
                return Err(DecodeError::UnknownType {
                    what: "driver command",
                    type_id,
                })
            }
        })
    }

    /// The record type id for this command.
    pub const fn msg_type_id(&self) -> i32 {
        match self {
            Self::AddPublication(_) => ADD_PUBLICATION,
            Self::RemovePublication(_) => REMOVE_PUBLICATION,
            Self::AddExclusivePublication(_) => ADD_EXCLUSIVE_PUBLICATION,
            Self::AddSubscription(_) => ADD_SUBSCRIPTION,
            Self::RemoveSubscription(_) => REMOVE_SUBSCRIPTION,
            Self::ClientKeepalive(_) => CLIENT_KEEPALIVE,
            Self::AddDestination(_) => ADD_DESTINATION,
            Self::RemoveDestination(_) => REMOVE_DESTINATION,
            Self::AddCounter(_) => ADD_COUNTER,
            Self::RemoveCounter(_) => REMOVE_COUNTER,
            Self::ClientClose(_) => CLIENT_CLOSE,
            Self::AddRcvDestination(_) => ADD_RCV_DESTINATION,
            Self::RemoveRcvDestination(_) => REMOVE_RCV_DESTINATION,
            Self::TerminateDriver(_) => TERMINATE_DRIVER,
            Self::AddStaticCounter(_) => ADD_STATIC_COUNTER,
            Self::RejectImage(_) => REJECT_IMAGE,
            Self::RemoveDestinationById(_) => REMOVE_DESTINATION_BY_ID,
            Self::GetNextAvailableSessionId(_) => GET_NEXT_AVAILABLE_SESSION_ID,
        }
    }

    /// Client id and correlation id; every command has them.
    pub fn correlated(&self) -> Correlated {
        each_command!(self, m => HasCorrelated::correlated(m))
    }

    /// Bytes [`Command::encode`] writes.
    pub fn encoded_length(&self) -> usize {
        each_command!(self, m => m.encoded_length())
    }

    /// Writes the body at the start of `buf`; returns its length. Panics if `buf` is shorter than
    /// [`Command::encoded_length`].
    pub fn encode(&self, buf: &mut [u8]) -> usize {
        each_command!(self, m => m.encode(buf))
    }

    /// The encoded body in a new vector.
    pub fn to_vec(&self) -> Vec<u8> {
        let mut buf = vec![0; self.encoded_length()];
        self.encode(&mut buf);
        buf
    }
}

/// Gives the [`Correlated`] header of any command struct.
trait HasCorrelated {
    fn correlated(&self) -> Correlated;
}

macro_rules! has_correlated {
    ($($t:ty),*) => {
        $(impl HasCorrelated for $t {
            fn correlated(&self) -> Correlated {
                self.correlated
            }
        })*
    };
}

has_correlated!(
    PublicationCommand<'_>,
    RemovePublication,
    SubscriptionCommand<'_>,
    RemoveCommand,
    DestinationCommand<'_>,
    AddCounter<'_>,
    TerminateDriver<'_>,
    AddStaticCounter<'_>,
    RejectImage<'_>,
    DestinationByIdCommand,
    GetNextAvailableSessionId
);

impl HasCorrelated for Correlated {
    fn correlated(&self) -> Correlated {
        *self
    }
}

/// A driver -> client response, as found in a to-clients broadcast record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Response<'a> {
    /// ON_ERROR.
    Error(ErrorResponse<'a>),
    /// ON_AVAILABLE_IMAGE.
    AvailableImage(ImageBuffersReady<'a>),
    /// ON_PUBLICATION_READY.
    PublicationReady(PublicationBuffersReady<'a>),
    /// ON_OPERATION_SUCCESS.
    OperationSuccess(OperationSucceeded),
    /// ON_UNAVAILABLE_IMAGE.
    UnavailableImage(ImageMessage<'a>),
    /// ON_EXCLUSIVE_PUBLICATION_READY.
    ExclusivePublicationReady(PublicationBuffersReady<'a>),
    /// ON_SUBSCRIPTION_READY.
    SubscriptionReady(SubscriptionReady),
    /// ON_COUNTER_READY.
    CounterReady(CounterUpdate),
    /// ON_UNAVAILABLE_COUNTER.
    UnavailableCounter(CounterUpdate),
    /// ON_CLIENT_TIMEOUT.
    ClientTimeout(ClientTimeout),
    /// ON_STATIC_COUNTER.
    StaticCounter(CounterUpdate),
    /// ON_PUBLICATION_ERROR.
    PublicationError(PublicationError<'a>),
    /// ON_NEXT_AVAILABLE_SESSION_ID.
    NextAvailableSessionId(NextAvailableSessionId),
}

/// Runs `$body` with `$m` bound to the message inside any variant of `$self`.
macro_rules! each_response {
    ($self:expr, $m:ident => $body:expr) => {
        match $self {
            Response::Error($m) => $body,
            Response::AvailableImage($m) => $body,
            Response::PublicationReady($m) | Response::ExclusivePublicationReady($m) => $body,
            Response::OperationSuccess($m) => $body,
            Response::UnavailableImage($m) => $body,
            Response::SubscriptionReady($m) => $body,
            Response::CounterReady($m)
            | Response::UnavailableCounter($m)
            | Response::StaticCounter($m) => $body,
            Response::ClientTimeout($m) => $body,
            Response::PublicationError($m) => $body,
            Response::NextAvailableSessionId($m) => $body,
        }
    };
}

impl<'a> Response<'a> {
    /// Decodes the body of a broadcast record of type `msg_type_id`.
    pub fn decode(msg_type_id: i32, body: &'a [u8]) -> Result<Self, DecodeError> {
        Ok(match msg_type_id {
            ON_ERROR => Self::Error(ErrorResponse::decode(body)?),
            ON_AVAILABLE_IMAGE => Self::AvailableImage(ImageBuffersReady::decode(body)?),
            ON_PUBLICATION_READY => Self::PublicationReady(PublicationBuffersReady::decode(body)?),
            ON_OPERATION_SUCCESS => Self::OperationSuccess(OperationSucceeded::decode(body)?),
            ON_UNAVAILABLE_IMAGE => Self::UnavailableImage(ImageMessage::decode(body)?),
            ON_EXCLUSIVE_PUBLICATION_READY => {
                Self::ExclusivePublicationReady(PublicationBuffersReady::decode(body)?)
            }
            ON_SUBSCRIPTION_READY => Self::SubscriptionReady(SubscriptionReady::decode(body)?),
            ON_COUNTER_READY => Self::CounterReady(CounterUpdate::decode(body)?),
            ON_UNAVAILABLE_COUNTER => Self::UnavailableCounter(CounterUpdate::decode(body)?),
            ON_CLIENT_TIMEOUT => Self::ClientTimeout(ClientTimeout::decode(body)?),
            ON_STATIC_COUNTER => Self::StaticCounter(CounterUpdate::decode(body)?),
            ON_PUBLICATION_ERROR => Self::PublicationError(PublicationError::decode(body)?),
            ON_NEXT_AVAILABLE_SESSION_ID => {
                Self::NextAvailableSessionId(NextAvailableSessionId::decode(body)?)
            }
            type_id => {
                return Err(DecodeError::UnknownType {
                    what: "driver response",
                    type_id,
                })
            }
        })
    }

    /// The record type id for this response.
    pub const fn msg_type_id(&self) -> i32 {
        match self {
            Self::Error(_) => ON_ERROR,
            Self::AvailableImage(_) => ON_AVAILABLE_IMAGE,
            Self::PublicationReady(_) => ON_PUBLICATION_READY,
            Self::OperationSuccess(_) => ON_OPERATION_SUCCESS,
            Self::UnavailableImage(_) => ON_UNAVAILABLE_IMAGE,
            Self::ExclusivePublicationReady(_) => ON_EXCLUSIVE_PUBLICATION_READY,
            Self::SubscriptionReady(_) => ON_SUBSCRIPTION_READY,
            Self::CounterReady(_) => ON_COUNTER_READY,
            Self::UnavailableCounter(_) => ON_UNAVAILABLE_COUNTER,
            Self::ClientTimeout(_) => ON_CLIENT_TIMEOUT,
            Self::StaticCounter(_) => ON_STATIC_COUNTER,
            Self::PublicationError(_) => ON_PUBLICATION_ERROR,
            Self::NextAvailableSessionId(_) => ON_NEXT_AVAILABLE_SESSION_ID,
        }
    }

    /// Bytes [`Response::encode`] writes.
    pub fn encoded_length(&self) -> usize {
        each_response!(self, m => m.encoded_length())
    }

    /// Writes the body at the start of `buf`; returns its length. Panics if `buf` is shorter than
    /// [`Response::encoded_length`].
    pub fn encode(&self, buf: &mut [u8]) -> usize {
        each_response!(self, m => m.encode(buf))
    }

    /// The encoded body in a new vector.
    pub fn to_vec(&self) -> Vec<u8> {
        let mut buf = vec![0; self.encoded_length()];
        self.encode(&mut buf);
        buf
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Test strings live for the whole test run so generated messages can borrow them.
    fn leak_str(s: String) -> &'static str {
        Box::leak(s.into_boxed_str())
    }

    fn leak_bytes(b: Vec<u8>) -> &'static [u8] {
        Box::leak(b.into_boxed_slice())
    }

    fn text() -> impl Strategy<Value = &'static str> + Clone {
        "\\PC{0,40}".prop_map(leak_str)
    }

    fn bytes() -> impl Strategy<Value = &'static [u8]> + Clone {
        proptest::collection::vec(any::<u8>(), 0..40).prop_map(leak_bytes)
    }

    fn correlated() -> impl Strategy<Value = Correlated> + Clone {
        (any::<i64>(), any::<i64>()).prop_map(|(c, r)| Correlated::new(c, r))
    }

    fn error_code() -> impl Strategy<Value = ErrorCode> + Clone {
        any::<i32>().prop_map(ErrorCode::from_i32)
    }

    fn command() -> impl Strategy<Value = Command<'static>> {
        let publication =
            (correlated(), any::<i32>(), text()).prop_map(|(correlated, stream_id, channel)| {
                PublicationCommand {
                    correlated,
                    stream_id,
                    channel,
                }
            });
        let destination = (correlated(), any::<i64>(), text()).prop_map(
            |(correlated, registration_id, channel)| DestinationCommand {
                correlated,
                registration_id,
                channel,
            },
        );
        let remove =
            (correlated(), any::<i64>()).prop_map(|(correlated, registration_id)| RemoveCommand {
                correlated,
                registration_id,
            });
        prop_oneof![
            publication.clone().prop_map(Command::AddPublication),
            publication.prop_map(Command::AddExclusivePublication),
            (correlated(), any::<i64>(), any::<u64>()).prop_map(
                |(correlated, registration_id, flags)| {
                    Command::RemovePublication(RemovePublication {
                        correlated,
                        registration_id,
                        flags,
                    })
                }
            ),
            (correlated(), any::<i64>(), any::<i32>(), text()).prop_map(
                |(correlated, registration_correlation_id, stream_id, channel)| {
                    Command::AddSubscription(SubscriptionCommand {
                        correlated,
                        registration_correlation_id,
                        stream_id,
                        channel,
                    })
                }
            ),
            remove.clone().prop_map(Command::RemoveSubscription),
            remove.prop_map(Command::RemoveCounter),
            correlated().prop_map(Command::ClientKeepalive),
            correlated().prop_map(Command::ClientClose),
            destination.clone().prop_map(Command::AddDestination),
            destination.clone().prop_map(Command::RemoveDestination),
            destination.clone().prop_map(Command::AddRcvDestination),
            destination.prop_map(Command::RemoveRcvDestination),
            (correlated(), any::<i32>(), bytes(), text()).prop_map(
                |(correlated, type_id, key, label)| {
                    Command::AddCounter(AddCounter {
                        correlated,
                        type_id,
                        key,
                        label,
                    })
                }
            ),
            (correlated(), any::<i64>(), any::<i32>(), bytes(), text()).prop_map(
                |(correlated, registration_id, type_id, key, label)| {
                    Command::AddStaticCounter(AddStaticCounter {
                        correlated,
                        registration_id,
                        type_id,
                        key,
                        label,
                    })
                }
            ),
            (correlated(), bytes()).prop_map(|(correlated, token)| {
                Command::TerminateDriver(TerminateDriver { correlated, token })
            }),
            (correlated(), any::<i64>(), any::<i64>(), text()).prop_map(
                |(correlated, image_correlation_id, position, reason)| {
                    Command::RejectImage(RejectImage {
                        correlated,
                        image_correlation_id,
                        position,
                        reason,
                    })
                }
            ),
            (correlated(), any::<i64>(), any::<i64>()).prop_map(
                |(correlated, resource_registration_id, destination_registration_id)| {
                    Command::RemoveDestinationById(DestinationByIdCommand {
                        correlated,
                        resource_registration_id,
                        destination_registration_id,
                    })
                }
            ),
            (correlated(), any::<i32>()).prop_map(|(correlated, stream_id)| {
                Command::GetNextAvailableSessionId(GetNextAvailableSessionId {
                    correlated,
                    stream_id,
                })
            }),
        ]
    }

    fn response() -> impl Strategy<Value = Response<'static>> {
        let publication_ready = (any::<i64>(), any::<i64>(), any::<[i32; 4]>(), text()).prop_map(
            |(correlation_id, registration_id, ids, log_file_name)| PublicationBuffersReady {
                correlation_id,
                registration_id,
                session_id: ids[0],
                stream_id: ids[1],
                position_limit_counter_id: ids[2],
                channel_status_indicator_id: ids[3],
                log_file_name,
            },
        );
        let counter_update =
            (any::<i64>(), any::<i32>()).prop_map(|(correlation_id, counter_id)| CounterUpdate {
                correlation_id,
                counter_id,
            });
        prop_oneof![
            (any::<i64>(), error_code(), text()).prop_map(
                |(offending_command_correlation_id, error_code, error_message)| {
                    Response::Error(ErrorResponse {
                        offending_command_correlation_id,
                        error_code,
                        error_message,
                    })
                }
            ),
            (
                any::<i64>(),
                any::<[i32; 3]>(),
                any::<i64>(),
                text(),
                text()
            )
                .prop_map(
                    |(
                        correlation_id,
                        ids,
                        subscription_registration_id,
                        log_file_name,
                        source_identity,
                    )| {
                        Response::AvailableImage(ImageBuffersReady {
                            correlation_id,
                            session_id: ids[0],
                            stream_id: ids[1],
                            subscription_registration_id,
                            subscriber_position_id: ids[2],
                            log_file_name,
                            source_identity,
                        })
                    }
                ),
            publication_ready
                .clone()
                .prop_map(Response::PublicationReady),
            publication_ready.prop_map(Response::ExclusivePublicationReady),
            any::<i64>().prop_map(|correlation_id| {
                Response::OperationSuccess(OperationSucceeded { correlation_id })
            }),
            (any::<i64>(), any::<i64>(), any::<i32>(), text()).prop_map(
                |(correlation_id, subscription_registration_id, stream_id, channel)| {
                    Response::UnavailableImage(ImageMessage {
                        correlation_id,
                        subscription_registration_id,
                        stream_id,
                        channel,
                    })
                }
            ),
            (any::<i64>(), any::<i32>()).prop_map(
                |(correlation_id, channel_status_indicator_id)| {
                    Response::SubscriptionReady(SubscriptionReady {
                        correlation_id,
                        channel_status_indicator_id,
                    })
                }
            ),
            counter_update.clone().prop_map(Response::CounterReady),
            counter_update
                .clone()
                .prop_map(Response::UnavailableCounter),
            counter_update.prop_map(Response::StaticCounter),
            any::<i64>().prop_map(|client_id| Response::ClientTimeout(ClientTimeout { client_id })),
            (
                any::<[i64; 4]>(),
                any::<[i32; 2]>(),
                any::<i16>(),
                any::<u16>(),
                any::<[u8; 16]>(),
                error_code(),
                text(),
            )
                .prop_map(
                    |(
                        longs,
                        ints,
                        address_type,
                        source_port,
                        source_address,
                        error_code,
                        error_message,
                    )| {
                        Response::PublicationError(PublicationError {
                            registration_id: longs[0],
                            destination_registration_id: longs[1],
                            session_id: ints[0],
                            stream_id: ints[1],
                            receiver_id: longs[2],
                            group_tag: longs[3],
                            address_type,
                            source_port,
                            source_address,
                            error_code,
                            error_message,
                        })
                    }
                ),
            (any::<i64>(), any::<i32>()).prop_map(|(correlation_id, next_session_id)| {
                Response::NextAvailableSessionId(NextAvailableSessionId {
                    correlation_id,
                    next_session_id,
                })
            }),
        ]
    }

    /// A type id from the known set most of the time, otherwise anything.
    fn type_id(known: &'static [i32]) -> impl Strategy<Value = i32> {
        prop_oneof![
            4 => proptest::sample::select(known),
            1 => any::<i32>(),
        ]
    }

    const COMMAND_IDS: [i32; 18] = [
        ADD_PUBLICATION,
        REMOVE_PUBLICATION,
        ADD_EXCLUSIVE_PUBLICATION,
        ADD_SUBSCRIPTION,
        REMOVE_SUBSCRIPTION,
        CLIENT_KEEPALIVE,
        ADD_DESTINATION,
        REMOVE_DESTINATION,
        ADD_COUNTER,
        REMOVE_COUNTER,
        CLIENT_CLOSE,
        ADD_RCV_DESTINATION,
        REMOVE_RCV_DESTINATION,
        TERMINATE_DRIVER,
        ADD_STATIC_COUNTER,
        REJECT_IMAGE,
        REMOVE_DESTINATION_BY_ID,
        GET_NEXT_AVAILABLE_SESSION_ID,
    ];

    const RESPONSE_IDS: [i32; 13] = [
        ON_ERROR,
        ON_AVAILABLE_IMAGE,
        ON_PUBLICATION_READY,
        ON_OPERATION_SUCCESS,
        ON_UNAVAILABLE_IMAGE,
        ON_EXCLUSIVE_PUBLICATION_READY,
        ON_SUBSCRIPTION_READY,
        ON_COUNTER_READY,
        ON_UNAVAILABLE_COUNTER,
        ON_CLIENT_TIMEOUT,
        ON_STATIC_COUNTER,
        ON_PUBLICATION_ERROR,
        ON_NEXT_AVAILABLE_SESSION_ID,
    ];

    proptest! {
        #[test]
        fn command_round_trips(cmd in command()) {
            let bytes = cmd.to_vec();
            prop_assert_eq!(bytes.len(), cmd.encoded_length());
            prop_assert_eq!(Command::decode(cmd.msg_type_id(), &bytes), Ok(cmd));
            // Every truncation of a message is rejected, never misread.
            for len in 0..bytes.len() {
                if let Ok(short) = Command::decode(cmd.msg_type_id(), &bytes[..len]) {
                    // Only REMOVE_PUBLICATION's legacy form decodes from fewer bytes.
                    prop_assert_eq!(cmd.msg_type_id(), REMOVE_PUBLICATION);
                    prop_assert!(len >= RemovePublication::LEGACY_LENGTH);
                    prop_assert_eq!(short.correlated(), cmd.correlated());
                }
            }
        }

        #[test]
        fn command_encode_ignores_buffer_contents(cmd in command(), fill in any::<u8>()) {
            let mut buf = vec![fill; cmd.encoded_length() + 3];
            let len = cmd.encode(&mut buf);
            prop_assert_eq!(&buf[..len], &cmd.to_vec()[..]);
        }

        #[test]
        fn response_round_trips(rsp in response()) {
            let bytes = rsp.to_vec();
            prop_assert_eq!(bytes.len(), rsp.encoded_length());
            prop_assert_eq!(Response::decode(rsp.msg_type_id(), &bytes), Ok(rsp));
            for len in 0..bytes.len() {
                prop_assert!(Response::decode(rsp.msg_type_id(), &bytes[..len]).is_err());
            }
        }

        #[test]
        fn response_encode_ignores_buffer_contents(rsp in response(), fill in any::<u8>()) {
            let mut buf = vec![fill; rsp.encoded_length() + 3];
            let len = rsp.encode(&mut buf);
            prop_assert_eq!(&buf[..len], &rsp.to_vec()[..]);
        }

        #[test]
        fn arbitrary_command_bytes_never_panic(
            id in type_id(&COMMAND_IDS),
            body in proptest::collection::vec(any::<u8>(), 0..96),
        ) {
            if let Ok(cmd) = Command::decode(id, &body) {
                prop_assert_eq!(cmd.msg_type_id(), id);
                let again = cmd.to_vec();
                prop_assert_eq!(Command::decode(id, &again), Ok(cmd));
            }
        }

        #[test]
        fn arbitrary_response_bytes_never_panic(
            id in type_id(&RESPONSE_IDS),
            body in proptest::collection::vec(any::<u8>(), 0..96),
        ) {
            if let Ok(rsp) = Response::decode(id, &body) {
                prop_assert_eq!(rsp.msg_type_id(), id);
                let again = rsp.to_vec();
                prop_assert_eq!(Response::decode(id, &again), Ok(rsp));
            }
        }

        #[test]
        fn small_lengths_in_arbitrary_bytes_decode(
            id in type_id(&COMMAND_IDS),
            head in any::<[u8; 40]>(),
            lengths in any::<[u8; 4]>(),
        ) {
            // Plant small length fields at every string position so the string paths get exercised.
            let mut body = head.to_vec();
            body.extend_from_slice(&[b'a'; 64]);
            for offset in [16usize, 20, 24, 28, 32] {
                body[offset..offset + 4].copy_from_slice(&i32::from(lengths[offset % 4] % 16).to_le_bytes());
            }
            if let Ok(cmd) = Command::decode(id, &body) {
                let again = cmd.to_vec();
                prop_assert_eq!(Command::decode(id, &again), Ok(cmd));
            }
        }
    }

    #[test]
    fn unknown_type_ids_are_reported() {
        assert_eq!(
            Command::decode(0x13, &[0; 64]),
            Err(DecodeError::UnknownType {
                what: "driver command",
                type_id: 0x13
            })
        );
        assert!(matches!(
            Command::decode(-1, &[0; 64]),
            Err(DecodeError::UnknownType { type_id: -1, .. })
        ));
        assert!(matches!(
            Response::decode(ON_ERROR - 1, &[0; 64]),
            Err(DecodeError::UnknownType {
                type_id: 0x0F00,
                ..
            })
        ));
        assert!(matches!(
            Response::decode(ADD_PUBLICATION, &[0; 64]),
            Err(DecodeError::UnknownType { .. })
        ));
    }

    #[test]
    fn command_ids_match_aeron() {
        assert_eq!(COMMAND_IDS.to_vec(), (1..=0x12).collect::<Vec<_>>());
        assert_eq!(RESPONSE_IDS.to_vec(), (0x0F01..=0x0F0D).collect::<Vec<_>>());
    }

    #[test]
    fn keepalive_and_close_are_just_the_header() {
        let header = Correlated::new(3, 4);
        let bytes = Command::ClientClose(header).to_vec();
        assert_eq!(bytes, [3, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(
            Command::decode(CLIENT_KEEPALIVE, &bytes),
            Ok(Command::ClientKeepalive(header))
        );
        assert!(Command::decode(CLIENT_CLOSE, &bytes[..15]).is_err());
    }
}
