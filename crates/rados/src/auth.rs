//! Where the messenger meets cephx: the cephx crate's handshakes behind
//! msgr2's [`AuthProvider`], for a monitor (proves our key, gets the
//! tickets) and for an OSD or manager (shows an authorizer). cephx's own
//! errors reach the messenger typed, in [`ceph_msgr2::Error::Auth`].

use std::sync::MutexGuard;
use std::time::SystemTime;

use bytes::Bytes;
use ceph_cephx::{Authorizer, CephxClient, SharedClient, AUTH_METHOD_CEPHX};
use ceph_msgr2::session::{AuthFailure, AuthKeys, AuthProvider};
use ceph_msgr2::Error as MsgrError;

fn auth_err(e: ceph_cephx::CephxError) -> MsgrError {
    MsgrError::Auth(AuthFailure::new(e))
}

fn lock(client: &SharedClient) -> Result<MutexGuard<'_, CephxClient>, MsgrError> {
    client
        .lock()
        .map_err(|_| MsgrError::Auth("cephx client state poisoned".into()))
}

/// The handshake with a monitor: proves our key, gets the tickets.
#[derive(Debug, Clone)]
pub struct MonHandshake {
    client: SharedClient,
}

impl MonHandshake {
    /// A handshake for `client`.
    pub fn new(client: SharedClient) -> MonHandshake {
        MonHandshake { client }
    }
}

impl AuthProvider for MonHandshake {
    fn method(&self) -> u32 {
        AUTH_METHOD_CEPHX
    }

    fn initial_payload(&mut self) -> Result<Bytes, MsgrError> {
        Ok(lock(&self.client)?.mon_request())
    }

    fn handle_more(&mut self, payload: &[u8]) -> Result<Bytes, MsgrError> {
        lock(&self.client)?
            .handle_challenge(payload, SystemTime::now())
            .map_err(auth_err)
    }

    fn handle_done(
        &mut self,
        global_id: u64,
        _con_mode: u32,
        payload: &[u8],
    ) -> Result<AuthKeys, MsgrError> {
        let done = lock(&self.client)?
            .handle_done(global_id, payload, SystemTime::now())
            .map_err(auth_err)?;
        Ok(AuthKeys {
            session_key: done.session_key.as_bytes().to_vec(),
            connection_secret: done.connection_secret.as_bytes().to_vec(),
        })
    }
}

/// The authorizer exchange with an OSD or a manager.
#[derive(Debug)]
pub struct ServiceHandshake {
    authorizer: Authorizer,
}

impl ServiceHandshake {
    /// A handshake with the service `service` (a `SERVICE_*` bit), using
    /// the client's ticket for it.
    pub fn new(client: &SharedClient, service: u32) -> Result<ServiceHandshake, MsgrError> {
        let authorizer = lock(client)?.authorizer(service).map_err(auth_err)?;
        Ok(ServiceHandshake { authorizer })
    }
}

impl AuthProvider for ServiceHandshake {
    fn method(&self) -> u32 {
        AUTH_METHOD_CEPHX
    }

    fn initial_payload(&mut self) -> Result<Bytes, MsgrError> {
        Ok(self.authorizer.bytes().clone())
    }

    fn handle_more(&mut self, payload: &[u8]) -> Result<Bytes, MsgrError> {
        self.authorizer.add_challenge(payload).map_err(auth_err)?;
        Ok(self.authorizer.bytes().clone())
    }

    fn handle_done(
        &mut self,
        _global_id: u64,
        _con_mode: u32,
        payload: &[u8],
    ) -> Result<AuthKeys, MsgrError> {
        let secret = self.authorizer.verify_reply(payload).map_err(auth_err)?;
        Ok(AuthKeys {
            session_key: self.authorizer.session_key().as_bytes().to_vec(),
            connection_secret: secret.as_bytes().to_vec(),
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use ceph_cephx::{CephxError, CryptoKey, SecretKey, SERVICE_OSD};
    use ceph_encoding::EntityName;

    use super::*;

    fn client() -> SharedClient {
        let key = CryptoKey {
            created: (0, 0),
            secret: SecretKey::new(ceph_cephx::Cipher::Aes, &[7; 16]).unwrap(),
        };
        let name: EntityName = "client.admin".parse().unwrap();
        Arc::new(Mutex::new(CephxClient::new(name, key, SERVICE_OSD)))
    }

    /// A cephx failure reaches the messenger as cephx's own error, with
    /// its text.
    #[test]
    fn cephx_errors_stay_typed() {
        let Err(e) = ServiceHandshake::new(&client(), SERVICE_OSD) else {
            panic!("a ticket without a handshake");
        };
        let MsgrError::Auth(failure) = &e else {
            panic!("{e:?}");
        };
        let cephx = failure.downcast_ref::<CephxError>();
        assert!(matches!(cephx, Some(CephxError::NoTicket(_))), "{e:?}");
        assert_eq!(
            e.to_string(),
            format!(
                "authentication failed: {}",
                CephxError::NoTicket(SERVICE_OSD)
            )
        );
        let mut mon = MonHandshake::new(client());
        assert!(matches!(
            mon.handle_more(b"\x01"),
            Err(MsgrError::Auth(f)) if f.downcast_ref::<CephxError>().is_some()
        ));
    }
}
