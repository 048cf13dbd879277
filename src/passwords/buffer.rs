//! argon2's working memory, 19 MiB a hash, mapped from the system directly rather than
//! taken from the allocator: a released buffer then goes back to the system whatever
//! allocator the binary runs on (glibc keeps large freed blocks in its heap once its mmap
//! threshold has risen; mimalloc keeps them for reuse), and it can be advised to 2 MiB
//! pages before it is first touched.

use std::ops::{Deref, DerefMut};
use std::ptr::NonNull;

use argon2::Block;

pub struct Buffer {
    blocks: NonNull<Block>,
    len: usize,
}

// SAFETY: the mapping is owned by this value alone, like a Vec's memory.
unsafe impl Send for Buffer {}

impl Buffer {
    /// `len` zeroed blocks.
    pub fn new(len: usize) -> Buffer {
        let bytes = len * std::mem::size_of::<Block>();
        // SAFETY: a new private anonymous mapping; nothing else refers to it.
        let start = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                bytes,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if start == libc::MAP_FAILED {
            std::alloc::handle_alloc_error(std::alloc::Layout::array::<Block>(len).expect("19 MiB fits"));
        }
        advise_huge_pages(start, bytes);
        Buffer {
            blocks: NonNull::new(start.cast()).expect("mmap succeeded"),
            len,
        }
    }
}

/// argon2 reads its 19 MiB at random: with 2 MiB pages (where the system offers them on
/// request, Linux's usual transparent-huge-page setting) far fewer of those reads miss the
/// TLB. Advice only.
fn advise_huge_pages(start: *mut libc::c_void, bytes: usize) {
    #[cfg(target_os = "linux")]
    // SAFETY: the range is the mapping just made; the advice changes no contents and may
    // fail harmlessly.
    unsafe {
        libc::madvise(start, bytes, libc::MADV_HUGEPAGE);
    }
}

impl Deref for Buffer {
    type Target = [Block];

    fn deref(&self) -> &[Block] {
        // SAFETY: `len` blocks, page-aligned (more than a Block's 64 bytes); anonymous
        // mappings start zeroed, and all zeros is a valid Block.
        unsafe { std::slice::from_raw_parts(self.blocks.as_ptr(), self.len) }
    }
}

impl DerefMut for Buffer {
    fn deref_mut(&mut self) -> &mut [Block] {
        // SAFETY: as in `deref`, and `&mut self` makes the borrow unique.
        unsafe { std::slice::from_raw_parts_mut(self.blocks.as_ptr(), self.len) }
    }
}

impl Drop for Buffer {
    fn drop(&mut self) {
        // SAFETY: the mapping made in `new`, of this size, unmapped once.
        unsafe {
            libc::munmap(
                self.blocks.as_ptr().cast(),
                self.len * std::mem::size_of::<Block>(),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starts_zeroed_and_keeps_what_is_written() {
        let mut buffer = Buffer::new(3);
        assert_eq!(buffer.len(), 3);
        assert!(buffer.iter().all(|b| b.as_ref().iter().all(|w| *w == 0)));
        buffer[2].as_mut()[127] = 7;
        assert_eq!(buffer[2].as_ref()[127], 7);
    }
}
