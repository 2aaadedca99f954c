//! `rbd-upload`: upload a Cinder volume kept in Ceph RBD to a Glance image,
//! without librados or librbd: the library behind `rbd-native upload`.
//!
//! The API is [`Uploader`]: connect once to a Ceph cluster and to Glance,
//! then upload one volume ([`Uploader::upload`]) or several at once
//! ([`Uploader::upload_many`]: their snapshot ids are allotted together,
//! in shared monitor rounds), each by copy-on-write clone inside the
//! cluster when Glance's store allows it, by streaming otherwise. Each
//! upload gives a [`Report`]; errors are [`Error`]. The library prints
//! nothing: progress goes to the callback of [`Uploader::on_progress`].
//!
//! ```no_run
//! use rbd_upload::{CephOptions, OpenStack, UploadRequest, Uploader};
//!
//! # async fn example() -> Result<(), rbd_upload::Error> {
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

mod check;
mod cleanup;
mod clients;
mod clone_path;
mod clone_steps;
mod eligibility;
pub mod error;
mod flow;
mod ledger;
mod leftovers;
pub mod naming;
mod progress;
mod report;
mod request;
mod round;
pub mod settings;
mod stream_path;
mod stream_start;
mod undo;
mod uploader;

/// The clone formats ([`UploadRequest::clone_format`]).
pub use ceph_rbd::image::CloneFormat;
pub use check::CheckReport;
pub use eligibility::{decide, Decision, Facts, StoreFacts};
pub use error::Error;
pub use flow::check_disk_format;
/// An OpenStack client configuration ([`OpenStack::Config`]).
pub use glance_client::CloudConfig;
pub use progress::Progress;
pub use report::{Report, Step, UndoFailure};
pub use request::{CephOptions, OpenStack, UploadOutcome, UploadRequest};
pub use uploader::Uploader;
