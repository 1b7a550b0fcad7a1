//! Which control requests an authenticated session may make (Aeron's `AuthorisationService`), asked for
//! every request after connect, keep-alives included, as the Java archive asks it.

use oxeron_client::env::EnvError;

/// Aeron's name of the service that allows every request (`aeron.archive.authorisation.service.supplier`).
pub const ALLOW_ALL_NAME: &str = "ALLOW_ALL";
/// Aeron's name of the service that refuses every request.
pub const DENY_ALL_NAME: &str = "DENY_ALL";

/// Decides whether the session with `encoded_principal` (what its [`super::Authenticator`] accepted it as)
/// may make the request `action_id` of protocol `protocol_id` (for the archive: SBE schema id 101 and the
/// request's template id). A refused request is answered with `UNAUTHORISED_ACTION`, "unauthorised action".
///
/// ```
/// use oxeron_archive::server::{AuthorisationService, Context};
///
/// /// Lets sessions read (list, replay) but not start recordings (template 4).
/// struct ReadOnly;
///
/// impl AuthorisationService for ReadOnly {
///     fn is_authorised(&self, _protocol_id: i32, action_id: i32, _principal: &[u8]) -> bool {
///         action_id != 4
///     }
/// }
///
/// let ctx = Context::new().authorisation_service(ReadOnly);
/// ```
pub trait AuthorisationService: Send + Sync {
    /// Whether the request may go ahead.
    fn is_authorised(&self, protocol_id: i32, action_id: i32, encoded_principal: &[u8]) -> bool;
}

/// Allows every request (Aeron's `AuthorisationService.ALLOW_ALL`, the default).
#[derive(Debug, Default, Clone, Copy)]
pub struct AllowAll;

impl AuthorisationService for AllowAll {
    fn is_authorised(&self, _protocol_id: i32, _action_id: i32, _principal: &[u8]) -> bool {
        true
    }
}

/// Refuses every request (Aeron's `AuthorisationService.DENY_ALL`). Clients cannot even connect: the archive
/// id request every 1.54 client sends while connecting is refused too.
#[derive(Debug, Default, Clone, Copy)]
pub struct DenyAll;

impl AuthorisationService for DenyAll {
    fn is_authorised(&self, _protocol_id: i32, _action_id: i32, _principal: &[u8]) -> bool {
        false
    }
}

/// The service a supplier setting names: Aeron's `ALLOW_ALL` or `DENY_ALL` (or empty, the default). A Java
/// class name cannot be loaded here and is refused, naming the setting.
pub fn named(
    setting: &str,
    value: &str,
) -> Result<std::sync::Arc<dyn AuthorisationService>, EnvError> {
    match value.trim() {
        "" | ALLOW_ALL_NAME => Ok(std::sync::Arc::new(AllowAll)),
        DENY_ALL_NAME => Ok(std::sync::Arc::new(DenyAll)),
        other => Err(EnvError::new(
            setting,
            other,
            "only ALLOW_ALL and DENY_ALL can be named here; a Java class cannot be loaded, so give a Rust \
             AuthorisationService with Context::authorisation_service",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aerons_names_give_its_two_services_and_a_class_name_is_refused() {
        let setting = "AERON_ARCHIVE_AUTHORISATION_SERVICE_SUPPLIER";
        assert!(named(setting, "ALLOW_ALL")
            .unwrap()
            .is_authorised(101, 4, &[]));
        assert!(named(setting, "").unwrap().is_authorised(101, 4, &[]));
        assert!(!named(setting, "DENY_ALL")
            .unwrap()
            .is_authorised(101, 4, &[]));
        let error = named(setting, "com.acme.MySupplier").err().unwrap();
        assert!(error.to_string().contains(setting), "{error}");
        assert!(error.to_string().contains("com.acme.MySupplier"), "{error}");
    }
}
