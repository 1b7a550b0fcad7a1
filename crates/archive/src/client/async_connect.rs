//! Connecting to an archive step by step: add the control publication and subscription, send the connect
//! request, answer a challenge, learn the archive id.

use super::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ConnectStep {
    AddPublication(i64),
    AddSubscription(i64),
    AwaitPublicationConnected,
    SendConnect,
    AwaitConnectReply(i64),
    AwaitArchiveId(i64),
}

/// A connect in progress ([`AeronArchive::async_connect`]): call [`AsyncConnect::poll`] until it hands
/// over the connected client.
pub struct AsyncConnect {
    pub(super) ctx: Context,
    pub(super) aeron: Aeron,
    pub(super) step: ConnectStep,
    pub(super) deadline: Instant,
    pub(super) publication: Option<ExclusivePublication>,
    pub(super) response_channel: String,
    pub(super) archive: Option<AeronArchive>,
}

impl std::fmt::Debug for AsyncConnect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AsyncConnect")
            .field("step", &self.step)
            .finish_non_exhaustive()
    }
}

impl AsyncConnect {
    /// Advances the connect without blocking; `Some` once connected.
    pub fn poll(&mut self) -> Result<Option<AeronArchive>, ArchiveError> {
        if Instant::now() > self.deadline {
            return Err(ArchiveError::TimedOut(format!(
                "archive connect timeout: step={:?}, control request channel {} stream {}",
                self.step, self.ctx.control_request_channel, self.ctx.control_request_stream_id
            )));
        }
        match self.step {
            ConnectStep::AddPublication(registration) => {
                if let Some(publication) = self.aeron.poll_exclusive_publication(registration)? {
                    self.response_channel = with_control_defaults(
                        &self.ctx,
                        &self.ctx.control_response_channel,
                        Some(publication.session_id()),
                    )?;
                    let registration = self.aeron.async_add_subscription(
                        &self.response_channel,
                        self.ctx.control_response_stream_id,
                    )?;
                    self.publication = Some(publication);
                    self.step = ConnectStep::AddSubscription(registration);
                }
            }
            ConnectStep::AddSubscription(registration) => {
                if let Some(subscription) = self.aeron.poll_subscription(registration)? {
                    let Some(publication) = self.publication.take() else {
                        return Err(ArchiveError::Closed);
                    };
                    self.archive = Some(AeronArchive {
                        aeron: self.aeron.clone(),
                        publication,
                        subscription,
                        control_session_id: codec::NULL_I64,
                        archive_id: codec::NULL_I64,
                        message_timeout: self.ctx.message_timeout,
                        inbox: VecDeque::new(),
                        signals: VecDeque::new(),
                        async_errors: VecDeque::new(),
                        partial: HashMap::new(),
                        closed: false,
                    });
                    self.step = ConnectStep::AwaitPublicationConnected;
                }
            }
            ConnectStep::AwaitPublicationConnected => {
                if self
                    .archive
                    .as_ref()
                    .is_some_and(|a| a.publication.is_connected())
                {
                    self.step = ConnectStep::SendConnect;
                }
            }
            ConnectStep::SendConnect => {
                let Some(archive) = self.archive.as_mut() else {
                    return Err(ArchiveError::Closed);
                };
                let correlation_id = archive.aeron.next_correlation_id();
                let client_info = format!(
                    "name={} version={}",
                    self.ctx.client_name,
                    env!("CARGO_PKG_VERSION")
                );
                let request = codec::AuthConnectRequest {
                    correlation_id,
                    response_stream_id: self.ctx.control_response_stream_id,
                    version: codec::PROTOCOL_SEMANTIC_VERSION,
                    response_channel: &self.response_channel,
                    encoded_credentials: &self.ctx.credentials,
                    client_info: &client_info,
                }
                .to_vec();
                if archive.try_send(&request)? {
                    self.step = ConnectStep::AwaitConnectReply(correlation_id);
                }
            }
            ConnectStep::AwaitConnectReply(correlation_id) => {
                let Some(archive) = self.archive.as_mut() else {
                    return Err(ArchiveError::Closed);
                };
                match archive.take_connect_reply(correlation_id)? {
                    None => {}
                    Some(ConnectReply::Accepted(control_session_id)) => {
                        archive.control_session_id = control_session_id;
                        let correlation_id = archive.aeron.next_correlation_id();
                        let request = codec::ArchiveIdRequest {
                            control_session_id,
                            correlation_id,
                        }
                        .to_vec();
                        archive.send(&request)?;
                        self.step = ConnectStep::AwaitArchiveId(correlation_id);
                    }
                    Some(ConnectReply::Challenged(control_session_id, challenge)) => {
                        let Some(handler) = self.ctx.on_challenge.clone() else {
                            return Err(ArchiveError::Archive {
                                code: ArchiveErrorCode::AuthenticationRejected,
                                message:
                                    "the archive sent a challenge and no challenge handler is set"
                                        .into(),
                                correlation_id,
                            });
                        };
                        let credentials = handler(&challenge);
                        let correlation_id = archive.aeron.next_correlation_id();
                        let response = codec::ChallengeResponse {
                            control_session_id,
                            correlation_id,
                            encoded_credentials: &credentials,
                        }
                        .to_vec();
                        archive.send(&response)?;
                        self.step = ConnectStep::AwaitConnectReply(correlation_id);
                    }
                }
            }
            ConnectStep::AwaitArchiveId(correlation_id) => {
                let Some(archive) = self.archive.as_mut() else {
                    return Err(ArchiveError::Closed);
                };
                if let Some(ConnectReply::Accepted(archive_id)) =
                    archive.take_connect_reply(correlation_id)?
                {
                    archive.archive_id = archive_id;
                    let keep_alive = codec::KeepAliveRequest {
                        control_session_id: archive.control_session_id,
                        correlation_id: NULL_POSITION,
                    }
                    .to_vec();
                    archive.send(&keep_alive)?;
                    return Ok(self.archive.take());
                }
            }
        }
        Ok(None)
    }
}
