//! Clients of our own RADOS library for the bed (feature `rados`).

use ceph_rados::config::{ClientArgs, ClientSettings};
use ceph_rados::{IoCtx, Rados};

use crate::Testbed;

impl Testbed {
    /// The client settings for the cluster whose ceph.conf is in variable
    /// `conf_var`, as `name` (e.g. `client.cinder`) with the keyring in
    /// variable `keyring_var`.
    pub fn client_settings(&self, conf_var: &str, name: &str, keyring_var: &str) -> ClientSettings {
        ClientSettings::resolve(&ClientArgs {
            conf: Some(self.var(conf_var).into()),
            name: Some(name.into()),
            keyring: Some(self.var(keyring_var).into()),
            ..ClientArgs::default()
        })
        .expect("settings from the bed")
    }

    /// A client connected as [`Testbed::client_settings`] say.
    pub async fn rados(&self, conf_var: &str, name: &str, keyring_var: &str) -> Rados {
        Rados::connect(&self.client_settings(conf_var, name, keyring_var))
            .await
            .unwrap_or_else(|e| panic!("connect to {conf_var} as {name}: {e}"))
    }

    /// A client of cluster main as client.admin.
    pub async fn rados_admin(&self) -> Rados {
        self.rados("CEPH_CONF", "client.admin", "CEPH_ADMIN_KEYRING")
            .await
    }

    /// A client of cluster main as client.admin and its I/O context on `pool`.
    pub async fn rados_admin_pool(&self, pool: &str) -> (Rados, IoCtx) {
        let rados = self.rados_admin().await;
        let io = rados
            .ioctx(pool)
            .unwrap_or_else(|e| panic!("pool {pool}: {e}"));
        (rados, io)
    }
}
