//! What the session layer needs from an authentication method. cephx is
//! plugged in above this crate (the RADOS client implements
//! [`AuthProvider`] with the cephx crate); "none" is implemented here.

use bytes::{Bytes, BytesMut};
use ceph_encoding::{Encode, EntityName};

use crate::error::Result;

pub use crate::error::AuthFailure;

/// Auth method "none" (`CEPH_AUTH_NONE`).
pub const AUTH_METHOD_NONE: u32 = 1;

/// Keys an authentication yields.
#[derive(Clone, Default)]
pub struct AuthKeys {
    /// Key for the AUTH_SIGNATURE HMAC (empty for "none").
    pub session_key: Vec<u8>,
    /// Secret that secure mode derives its keys from (may be empty).
    pub connection_secret: Vec<u8>,
}

impl Drop for AuthKeys {
    /// Wipes both secrets.
    fn drop(&mut self) {
        use zeroize::Zeroize;
        self.session_key.zeroize();
        self.connection_secret.zeroize();
    }
}

impl std::fmt::Debug for AuthKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthKeys")
            .field(
                "session_key",
                &format_args!("{} bytes", self.session_key.len()),
            )
            .field(
                "connection_secret",
                &format_args!("{} bytes", self.connection_secret.len()),
            )
            .finish()
    }
}

/// One authentication exchange on one connection.
pub trait AuthProvider: Send {
    /// The method id (`CEPH_AUTH_*`).
    fn method(&self) -> u32;
    /// The payload of AUTH_REQUEST.
    fn initial_payload(&mut self) -> Result<Bytes>;
    /// Answers AUTH_REPLY_MORE with the payload of AUTH_REQUEST_MORE.
    fn handle_more(&mut self, payload: &[u8]) -> Result<Bytes>;
    /// Takes AUTH_DONE and returns the keys.
    fn handle_done(&mut self, global_id: u64, con_mode: u32, payload: &[u8]) -> Result<AuthKeys>;
}

/// The "none" method: the peer trusts the name we give.
#[derive(Debug, Clone)]
pub struct NoneAuth {
    payload: Bytes,
}

impl NoneAuth {
    /// For a monitor: mode byte 10, the name and the global id.
    pub fn for_monitor(name: &EntityName, global_id: u64) -> NoneAuth {
        let mut b = BytesMut::new();
        10u8.encode(&mut b, 0);
        name.encode(&mut b, 0);
        global_id.encode(&mut b, 0);
        NoneAuth {
            payload: b.freeze(),
        }
    }

    /// For an OSD or manager: the "none" authorizer (version, name, id).
    pub fn for_service(name: &EntityName, global_id: u64) -> NoneAuth {
        let mut b = BytesMut::new();
        1u8.encode(&mut b, 0);
        name.encode(&mut b, 0);
        global_id.encode(&mut b, 0);
        NoneAuth {
            payload: b.freeze(),
        }
    }
}

impl AuthProvider for NoneAuth {
    fn method(&self) -> u32 {
        AUTH_METHOD_NONE
    }

    fn initial_payload(&mut self) -> Result<Bytes> {
        Ok(self.payload.clone())
    }

    fn handle_more(&mut self, _payload: &[u8]) -> Result<Bytes> {
        Err(crate::error::Error::Auth(
            "the server asked for more with method none".into(),
        ))
    }

    fn handle_done(
        &mut self,
        _global_id: u64,
        _con_mode: u32,
        _payload: &[u8],
    ) -> Result<AuthKeys> {
        Ok(AuthKeys::default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, thiserror::Error)]
    #[error("bad key: too short")]
    struct MethodError;

    #[test]
    fn failures_keep_the_method_error_and_its_text() {
        let f = AuthFailure::new(MethodError);
        assert_eq!(f.downcast_ref::<MethodError>(), Some(&MethodError));
        assert_eq!(
            crate::error::Error::Auth(f.clone()).to_string(),
            "authentication failed: bad key: too short"
        );
        let m = AuthFailure::from("no more");
        assert_eq!(m.to_string(), "no more");
        assert!(m.downcast_ref::<MethodError>().is_none());
        assert_eq!(m, AuthFailure::from("no more".to_string()));
        assert_ne!(m, f);
    }
}
