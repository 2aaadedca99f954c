//! Images on a cluster: open (by name or id, at the head or a snapshot),
//! metadata, reads through any depth of parents, writes (with the
//! exclusive lock, the object map and copy-up from the parent), resize,
//! snapshots, clones, creation, removal, listing and the trash.
//! Everything goes through the `rbd` and `lock` object classes as librbd
//! does it.

mod clone;
mod cls_call;
mod create;
mod handle;
mod io;
mod list;
mod lock;
mod meta;
mod object_map;
mod paging;
mod read_map;
mod resize;
mod snapshot;
mod sparse;
mod trash;
mod write;
mod write_state;

#[cfg(any(fuzzing, test, feature = "fuzzing"))]
pub(crate) use meta::image_layout;

pub use clone::{CloneFormat, CloneOptions};
pub use create::{create_image, remove_image, CreateOptions, DEFAULT_FEATURES};
pub use handle::{image_name, Image};
pub use list::list_images;
pub use meta::{ImageMeta, ParentInfo, SnapInfo};
pub use trash::{trash_list, trash_move, trash_remove, trash_restore, TrashEntry};
