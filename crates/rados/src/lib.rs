//! A RADOS client.
//!
//! This crate will hold the monitor client (hunting, subscriptions, mon
//! commands, pool operations), the OSDMap with its incrementals, CRUSH and
//! PG placement, and the Objecter that sends operations to OSDs and resends
//! them when the map changes.
