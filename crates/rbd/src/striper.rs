//! The striper: which data object, and where in it, holds each byte of an
//! image (Ceph's file layout: stripe unit, stripe count, object size).

/// The smallest object order librbd creates (4 KiB objects).
pub const MIN_ORDER: u8 = 12;
/// The largest object order librbd creates (32 MiB objects).
pub const MAX_ORDER: u8 = 25;

/// The smallest stripe unit this client maps (as the smallest object):
/// the pieces of an object, and of an extent, are counted in stripe units,
/// so a header with a unit of one byte would make the reverse mapping of
/// one 32 MiB object 2^25 pieces (1 GiB).
pub const MIN_STRIPE_UNIT: u64 = 1 << MIN_ORDER;

/// The least bytes [`Layout::io_chunk`] moves per step.
pub const MIN_IO_CHUNK: u64 = 4 << 20;
/// The most bytes [`Layout::io_chunk`] moves per step, whatever the stripe
/// count: a buffer of this size is allocated per chunk in flight.
pub const MAX_IO_CHUNK: u64 = 64 << 20;

/// An image's layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    /// Bytes per object (`1 << order`).
    pub object_size: u64,
    /// Bytes written to one object before moving to the next.
    pub stripe_unit: u64,
    /// Objects a stripe spreads over.
    pub stripe_count: u64,
}

/// A piece of an image extent that lies in one object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ObjectExtent {
    /// The object's number.
    pub object_no: u64,
    /// Offset in the object.
    pub offset: u64,
    /// Length.
    pub length: u64,
    /// Offset in the image.
    pub image_offset: u64,
}

impl Layout {
    /// The plain layout: one object after the other.
    pub fn simple(order: u8) -> Layout {
        let object_size = 1u64 << order.min(63);
        Layout {
            object_size,
            stripe_unit: object_size,
            stripe_count: 1,
        }
    }

    /// Whether the numbers make a usable layout: librbd's rules (the
    /// stripe unit divides the object size, the count is at least 1), a
    /// stripe unit of at least [`MIN_STRIPE_UNIT`], and the bytes of an
    /// object set (`object_size * stripe_count`) fit in 64 bits, so that no
    /// computation of the striper overflows.
    pub fn is_valid(&self) -> bool {
        self.object_size > 0
            && self.stripe_unit >= MIN_STRIPE_UNIT
            && self.stripe_count > 0
            && self.stripe_unit <= self.object_size
            && self.object_size % self.stripe_unit == 0
            && self.set_bytes().is_some()
    }

    /// The bytes of one object set (`stripe_count` objects), if that fits
    /// in 64 bits.
    pub fn set_bytes(&self) -> Option<u64> {
        self.object_size.checked_mul(self.stripe_count)
    }

    /// Where object `object_no`'s bytes lie in the image: one piece per
    /// stripe unit, in object order (the striper's reverse mapping). An
    /// invalid layout gives no pieces; pieces are cut at the last byte an
    /// image can hold (`u64::MAX - 1`), and those past it left out.
    pub fn object_image_extents(&self, object_no: u64) -> Vec<ObjectExtent> {
        if !self.is_valid() {
            return Vec::new();
        }
        let per_object = self.object_size / self.stripe_unit;
        let set = object_no / self.stripe_count;
        let pos = object_no % self.stripe_count;
        let mut out: Vec<ObjectExtent> = Vec::new();
        for k in 0..per_object {
            // Image offsets grow with k: the first that does not fit ends it.
            let Some(image_offset) = set
                .checked_mul(per_object)
                .and_then(|b| b.checked_add(k))
                .and_then(|b| b.checked_mul(self.stripe_count))
                .and_then(|b| b.checked_add(pos))
                .and_then(|b| b.checked_mul(self.stripe_unit))
            else {
                break;
            };
            // No image holds byte u64::MAX (sizes are u64): a unit that
            // reaches the end of the address space is cut there.
            let length = self.stripe_unit.min(u64::MAX - image_offset);
            if length == 0 {
                break;
            }
            let offset = k * self.stripe_unit;
            match out.last_mut() {
                Some(last)
                    if last.offset + last.length == offset
                        && last.image_offset + last.length == image_offset =>
                {
                    last.length += length;
                }
                _ => out.push(ObjectExtent {
                    object_no,
                    offset,
                    length,
                    image_offset,
                }),
            }
        }
        out
    }

    /// The pieces of image extent `offset..offset + length`, in image order.
    /// An invalid layout gives no pieces.
    pub fn extents(&self, offset: u64, length: u64) -> Vec<ObjectExtent> {
        let mut out = Vec::new();
        if !self.is_valid() {
            return out;
        }
        let per_object = self.object_size / self.stripe_unit;
        let mut off = offset;
        let end = offset.saturating_add(length);
        while off < end {
            let block = off / self.stripe_unit;
            let stripe = block / self.stripe_count;
            let pos = block % self.stripe_count;
            let set = stripe / per_object;
            let object_no = set * self.stripe_count + pos;
            let in_block = off % self.stripe_unit;
            let obj_off = (stripe % per_object) * self.stripe_unit + in_block;
            let len = (self.stripe_unit - in_block).min(end - off);
            // Merge with the previous piece when contiguous in one object.
            match out.last_mut() {
                Some(ObjectExtent {
                    object_no: o,
                    offset: po,
                    length: pl,
                    image_offset: pi,
                }) if *o == object_no && *po + *pl == obj_off && *pi + *pl == off => {
                    *pl += len;
                }
                _ => out.push(ObjectExtent {
                    object_no,
                    offset: obj_off,
                    length: len,
                    image_offset: off,
                }),
            }
            off += len;
        }
        out
    }

    /// How many bytes a whole-image copy (export, import) moves per step:
    /// one object set (`object_size * stripe_count`, so that a step touches
    /// each object once), but at least [`MIN_IO_CHUNK`] and at most
    /// [`MAX_IO_CHUNK`] (a whole number of objects when the set is
    /// bigger), so that a header with a huge stripe count cannot make the
    /// copy allocate its set size. An invalid layout gives the least.
    pub fn io_chunk(&self) -> u64 {
        let Some(set) = self.set_bytes().filter(|_| self.is_valid()) else {
            return MIN_IO_CHUNK;
        };
        if set <= MAX_IO_CHUNK {
            return set.max(MIN_IO_CHUNK);
        }
        let objects = (MAX_IO_CHUNK / self.object_size).max(1);
        (objects * self.object_size).clamp(MIN_IO_CHUNK, MAX_IO_CHUNK)
    }

    /// How many data objects an image of `size` bytes may use.
    pub fn object_count(&self, size: u64) -> u64 {
        if !self.is_valid() || size == 0 {
            return 0;
        }
        let Some(set_bytes) = self.set_bytes() else {
            return 0;
        };
        let full_sets = size / set_bytes;
        let rest = size % set_bytes;
        let mut n = full_sets * self.stripe_count;
        if rest > 0 {
            let blocks = rest.div_ceil(self.stripe_unit);
            n += blocks.min(self.stripe_count);
        }
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simple_layout_splits_at_object_boundaries() {
        let l = Layout::simple(22);
        let e = l.extents((4 << 20) - 10, 20);
        assert_eq!(
            e,
            vec![
                ObjectExtent {
                    object_no: 0,
                    offset: (4 << 20) - 10,
                    length: 10,
                    image_offset: (4 << 20) - 10
                },
                ObjectExtent {
                    object_no: 1,
                    offset: 0,
                    length: 10,
                    image_offset: 4 << 20
                },
            ]
        );
        assert_eq!(l.object_count(1), 1);
        assert_eq!(l.object_count(8 << 20), 2);
        assert_eq!(l.object_count((8 << 20) + 1), 3);
    }

    #[test]
    fn fancy_striping_round_robins_stripe_units() {
        // 64 KiB units over 8 objects of 4 MiB.
        let l = Layout {
            object_size: 4 << 20,
            stripe_unit: 64 << 10,
            stripe_count: 8,
        };
        let e = l.extents(0, 9 * (64 << 10));
        let objs: Vec<(u64, u64)> = e.iter().map(|x| (x.object_no, x.offset)).collect();
        assert_eq!(
            objs,
            vec![
                (0, 0),
                (1, 0),
                (2, 0),
                (3, 0),
                (4, 0),
                (5, 0),
                (6, 0),
                (7, 0),
                (0, 64 << 10)
            ]
        );
        // The second object set starts after 8 objects are full.
        let e = l.extents(32 << 20, 1);
        assert_eq!((e[0].object_no, e[0].offset), (8, 0));
        assert_eq!(l.object_count(32 << 20), 8);
        assert_eq!(l.object_count((32 << 20) + 1), 9);
        // Every byte maps exactly once.
        let total: u64 = l.extents(12345, 5 << 20).iter().map(|x| x.length).sum();
        assert_eq!(total, 5 << 20);
    }

    #[test]
    fn copy_chunks_are_bounded_whatever_the_stripe_count() {
        let huge = Layout {
            object_size: 32 << 20,
            stripe_unit: 1 << 20,
            stripe_count: 1 << 30,
        };
        assert!(huge.is_valid());
        assert_eq!(huge.io_chunk(), MAX_IO_CHUNK);
        let fancy = Layout {
            object_size: 4 << 20,
            stripe_unit: 64 << 10,
            stripe_count: 8,
        };
        assert_eq!(fancy.io_chunk(), 32 << 20);
        assert_eq!(Layout::simple(12).io_chunk(), MIN_IO_CHUNK);
        let odd = Layout {
            object_size: 48 << 20,
            stripe_unit: 48 << 20,
            stripe_count: 3,
        };
        assert_eq!(odd.io_chunk(), 48 << 20);
    }

    #[test]
    fn invalid_layouts_map_nothing() {
        let l = Layout {
            object_size: 4 << 20,
            stripe_unit: 3 << 20,
            stripe_count: 2,
        };
        assert!(l.extents(0, 10).is_empty());
        assert_eq!(l.object_count(10), 0);
    }

    #[test]
    fn a_layout_whose_set_size_wraps_is_invalid_and_panics_nowhere() {
        // 2^22 * 2^42 = 2^64: the bytes of an object set wrap to 0.
        let l = Layout {
            object_size: 1 << 22,
            stripe_unit: 1 << 22,
            stripe_count: 1 << 42,
        };
        let r = std::panic::catch_unwind(|| {
            (
                l.is_valid(),
                l.object_count(1 << 40),
                l.extents(0, 10).len(),
                l.object_image_extents(5).len(),
            )
        });
        assert_eq!(r.ok(), Some((false, 0, 0, 0)));
    }

    #[test]
    fn huge_object_numbers_map_back_to_nothing_past_the_end() {
        let l = Layout {
            object_size: 1 << 20,
            stripe_unit: 64 << 10,
            stripe_count: 8,
        };
        for n in [u64::MAX, u64::MAX / 8, 1 << 50] {
            let r = std::panic::catch_unwind(|| l.object_image_extents(n));
            let pieces = r.unwrap_or_else(|_| panic!("object {n} panicked"));
            // What is returned lies in the 2^64-byte address space.
            for p in pieces {
                assert!(p.image_offset.checked_add(p.length).is_some(), "{n}: {p:?}");
            }
        }
    }

    #[test]
    fn a_tiny_stripe_unit_is_refused_not_mapped_piece_by_piece() {
        // 32 MiB objects in units of 1 byte over 2 objects: the reverse
        // mapping of one object was 2^25 pieces of 32 bytes (1 GiB).
        let l = Layout {
            object_size: 32 << 20,
            stripe_unit: 1,
            stripe_count: 2,
        };
        assert!(!l.is_valid());
        assert!(l.object_image_extents(3).is_empty());
        assert!(l.extents(0, 4 << 20).is_empty());
    }

    #[test]
    fn the_last_object_of_the_address_space_maps_back() {
        // Found by rbd_layout: the forward mapping puts image byte
        // 2^64 - 256 in object 2^52 - 1, whose only unit ends at 2^64; the
        // reverse mapping left that unit out.
        let l = Layout::simple(12);
        let fwd = l.extents(u64::MAX - 255, 255);
        assert_eq!(fwd.len(), 1);
        let back = l.object_image_extents(fwd[0].object_no);
        assert_eq!(
            back,
            vec![ObjectExtent {
                object_no: (1 << 52) - 1,
                offset: 0,
                length: 4095,
                image_offset: u64::MAX - 4095,
            }]
        );
    }

    #[test]
    fn reverse_mapping_inverts_the_forward_one() {
        for layout in [
            Layout::simple(22),
            Layout {
                object_size: 1 << 20,
                stripe_unit: 64 << 10,
                stripe_count: 8,
            },
            Layout {
                object_size: 1 << 16,
                stripe_unit: 4096,
                stripe_count: 3,
            },
        ] {
            for n in [0u64, 1, 2, 7, 8, 9, 25] {
                let pieces = layout.object_image_extents(n);
                assert_eq!(
                    pieces.iter().map(|p| p.length).sum::<u64>(),
                    layout.object_size
                );
                for p in pieces {
                    let fwd = layout.extents(p.image_offset, p.length);
                    for f in &fwd {
                        assert_eq!(f.object_no, n);
                        assert_eq!(f.offset - p.offset, f.image_offset - p.image_offset);
                    }
                }
            }
        }
    }
}
