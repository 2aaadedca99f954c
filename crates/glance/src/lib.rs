//! Keystone v3 and Glance v2 clients for the upload tool.
//!
//! - [`config`]: [`CloudConfig`], loaded from `clouds.yaml` and the `OS_*`
//!   variables as the `openstack` client reads them.
//! - [`keystone`]: password, application-credential and token
//!   authentication; the token is kept and renewed before it expires.
//! - [`catalog`]: the service catalog and endpoint selection.
//! - [`glance`]: stores (detail), images, streamed data upload and
//!   download, locations, waiting for a status.
//! - [`error`]: the crate's [`Error`].
//!
//! HTTPS uses rustls (with the `ring` provider) only.
//!
//! ```no_run
//! # async fn example() -> glance_client::Result<()> {
//! let config = glance_client::CloudConfig::load(None)?;
//! let glance = glance_client::connect(config).await?;
//! for store in glance.stores_detail().await? {
//!     println!("{} {} default={}", store.id, store.store_type, store.is_default);
//! }
//! # Ok(())
//! # }
//! ```

pub mod catalog;
pub mod config;
pub mod error;
#[cfg(any(fuzzing, test, feature = "fuzzing"))]
pub mod fuzzing;
pub mod glance;
mod http;
pub mod keystone;
pub mod secret;

use std::sync::Arc;

pub use catalog::{Catalog, Endpoint, Service};
pub use config::{AuthType, CloudConfig, ConfigLoader, Interface};
pub use error::{Error, Result};
pub use glance::images::{ByteStream, Image, ImageLocation, NewImage};
pub use glance::locations::{LocationApi, NewLocation, ValidationData, IMPORT_LOCK};
pub use glance::status_board::StatusBoard;
pub use glance::stores::{default_store, RbdStoreProperties, Store, StoreDetail};
pub use glance::Glance;
pub use http::{CONNECT_TIMEOUT, DEFAULT_API_TIMEOUT, DEFAULT_READ_TIMEOUT};
pub use keystone::{Keystone, Token};
pub use secret::Secret;

/// Authenticates with `config` and returns a Glance client on the endpoint
/// of the configuration or the catalog.
pub async fn connect(config: CloudConfig) -> Result<Glance> {
    let keystone = Arc::new(Keystone::new(config)?);
    Glance::connect(keystone).await
}
