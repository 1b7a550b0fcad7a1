//! Who may open a control session (Aeron's `Authenticator`): a decision from the credentials of the connect
//! request, or a challenge the client must answer first.

/// What an [`Authenticator`] decides about a control session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthDecision {
    /// The session may use the archive, with an empty principal.
    Accept,
    /// The session may use the archive as this encoded principal, which the
    /// [`super::AuthorisationService`] is given with each of its requests.
    AcceptAs(Vec<u8>),
    /// The session is refused (AUTHENTICATION_REJECTED).
    Reject,
    /// The client must answer this challenge with credentials first.
    Challenge(Vec<u8>),
}

/// Decides whether a control session may connect, from the credentials of its connect request and, when
/// it challenges, of the client's challenge response.
pub trait Authenticator: Send + Sync {
    /// The decision for a session that sent `credentials` in its connect request.
    fn on_connect(&self, control_session_id: i64, credentials: &[u8]) -> AuthDecision;

    /// The decision once a challenged session answered with `credentials` (default: reject).
    fn on_challenge_response(&self, _control_session_id: i64, _credentials: &[u8]) -> AuthDecision {
        AuthDecision::Reject
    }
}

/// The default authenticator: every session is accepted.
#[derive(Debug, Default, Clone, Copy)]
pub struct AcceptAllAuthenticator;

impl Authenticator for AcceptAllAuthenticator {
    fn on_connect(&self, _control_session_id: i64, _credentials: &[u8]) -> AuthDecision {
        AuthDecision::Accept
    }
}
