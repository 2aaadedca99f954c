//! cephx behind msgr2's [`AuthProvider`]: the monitor handshake, and the
//! authorizer exchange with OSDs and managers.

use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use bytes::Bytes;
use ceph_msgr2::session::{AuthKeys, AuthProvider};
use ceph_msgr2::Error as MsgrError;

use crate::client::{CephxClient, AUTH_METHOD_CEPHX};
use crate::tickets::Authorizer;

/// A cephx client shared by the connections that use its tickets.
pub type SharedClient = Arc<Mutex<CephxClient>>;

fn auth_err(e: impl std::fmt::Display) -> MsgrError {
    MsgrError::Auth(e.to_string())
}

fn lock(client: &SharedClient) -> Result<std::sync::MutexGuard<'_, CephxClient>, MsgrError> {
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
            connection_secret: done.connection_secret.to_vec(),
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
            connection_secret: secret.to_vec(),
        })
    }
}
