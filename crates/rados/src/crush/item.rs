//! The special item ids of CRUSH.

/// The item an indep rule leaves in a position it could not fill
/// (`CRUSH_ITEM_NONE`).
pub const ITEM_NONE: i32 = 0x7fff_ffff;

/// Placeholder for a position not decided yet, internal to the mapper
/// (`CRUSH_ITEM_UNDEF`).
pub(crate) const ITEM_UNDEF: i32 = 0x7fff_fffe;
