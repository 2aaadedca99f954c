//! `rbd-native`: upload a Cinder volume kept in Ceph RBD to a Glance image,
//! and the Ceph tools it rests on, without librados or librbd.
//!
//! The library's API is [`upload::Uploader`]: connect once to a Ceph
//! cluster and to Glance, then upload one volume ([`upload::Uploader::upload`])
//! or several at once ([`upload::Uploader::upload_many`]: their snapshot ids
//! are allotted together, in shared monitor rounds), each by copy-on-write
//! clone inside the cluster when Glance's store allows it, by streaming
//! otherwise. Errors are [`Error`].
//!
//! ```no_run
//! use rbd_native::upload::{CephOptions, OpenStack, UploadRequest, Uploader};
//!
//! # async fn example() -> Result<(), rbd_native::Error> {
//! let ceph = CephOptions {
//!     conf: Some("/etc/ceph/ceph.conf".into()),
//!     name: Some("client.cinder".into()),
//!     keyring: Some("/etc/ceph/ceph.client.cinder.keyring".into()),
//!     ..CephOptions::default()
//! };
//! let uploader = Uploader::connect(&ceph, OpenStack::Environment).await?;
//! let mut a = UploadRequest::new("volumes", "volume-a", "image a");
//! a.clone_optimization = true;
//! let mut b = UploadRequest::new("volumes", "volume-b", "image b");
//! b.clone_optimization = true;
//! for outcome in uploader.upload_many(&[a, b]).await {
//!     match &outcome.error {
//!         None => println!("{} -> image {}", outcome.report.volume, outcome.report.image_id),
//!         Some(e) => eprintln!("{}: {e}", outcome.report.volume),
//!     }
//! }
//! # Ok(())
//! # }
//! ```

#[doc(hidden)]
pub mod cli;
#[doc(hidden)]
pub mod commands;
pub mod error;
pub mod upload;

pub use error::Error;
