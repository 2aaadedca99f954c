//! Keystone v3 and Glance v2 clients.
//!
//! This crate will hold authentication against Keystone (password,
//! application credential, token; `clouds.yaml` and `OS_*` settings) and the
//! Glance calls the upload tool needs: stores detail, images, data upload
//! and locations.
