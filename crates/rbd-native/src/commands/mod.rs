//! The commands of `rbd-native`, one module each, each with its own
//! options (the command line, `crate::cli`, assembles them).

pub mod check;
pub mod image_spec;
pub mod mon_command;
pub mod osdmap;
pub mod rados;
pub mod rados_bench;
pub mod rbd;
pub mod rbd_io;
pub mod upload;
