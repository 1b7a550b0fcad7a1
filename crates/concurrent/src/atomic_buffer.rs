//! A bounds-checked view of raw memory (heap or memory-mapped) with plain, volatile, ordered and atomic
//! accessors, in the spirit of Agrona's `AtomicBuffer`.
//!
//! Every accessor checks its range and panics on a programming error (like slice indexing). Code that takes
//! offsets from outside bytes (another process's ring buffer record, a file header) must validate them with
//! [`AtomicBuffer::check`] or the `checked` forms first.
//!
//! Memory behind an `AtomicBuffer` is shared with other threads and, for mapped files, other processes.
//! The protocol built on top decides who may write where and when (a claimed record, a committed frame).
//! Plain accessors are unordered; `*_volatile` accessors are relaxed atomics (never torn, never cached in
//! a register); `*_acquire`/`*_release` order the surrounding accesses; atomic accessors are read-modify-write.
//! Atomic accessors need natural alignment and panic when it is missing.

use std::alloc::Layout;
use std::fmt;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicI32, AtomicI64, Ordering};
use std::sync::Arc;

#[cfg(not(target_endian = "little"))]
compile_error!("Oxeron shares memory with Aeron, which lays integers out little-endian");

/// An offset and length that do not fit inside a buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("range {offset}..{offset}+{length} is outside a buffer of {capacity} bytes")]
pub struct OutOfBounds {
    /// Start of the requested range.
    pub offset: usize,
    /// Length of the requested range.
    pub length: usize,
    /// Length of the buffer.
    pub capacity: usize,
}

/// Keeps the memory behind a buffer alive (a heap allocation or a mapping).
pub(crate) trait Backing: Send + Sync {}

impl<T: Send + Sync> Backing for T {}

/// Heap memory with a chosen alignment, zeroed on allocation.
struct HeapRegion {
    ptr: NonNull<u8>,
    layout: Layout,
}

// SAFETY: HeapRegion owns its allocation; all access goes through AtomicBuffer, which only uses atomics,
// volatile or explicitly racy raw-pointer copies that the caller's protocol orders.
unsafe impl Send for HeapRegion {}
// SAFETY: as above; HeapRegion itself has no interior state besides the allocation.
unsafe impl Sync for HeapRegion {}

impl Drop for HeapRegion {
    fn drop(&mut self) {
        if self.layout.size() != 0 {
            // SAFETY: ptr was returned by alloc_zeroed with this exact layout and is freed once, here.
            unsafe { std::alloc::dealloc(self.ptr.as_ptr(), self.layout) }
        }
    }
}

/// A shared, bounds-checked view of memory. Cloning is cheap and shares the memory.
#[derive(Clone)]
pub struct AtomicBuffer {
    ptr: NonNull<u8>,
    len: usize,
    _owner: Arc<dyn Backing>,
}

// SAFETY: the pointer is kept valid by `_owner` (Send + Sync). Concurrent access is by design: integers are
// accessed with atomics or volatile operations, and byte copies are ordered by the protocols built on top
// (claim/commit with acquire/release), exactly as Aeron shares the same memory between threads and processes.
unsafe impl Send for AtomicBuffer {}
// SAFETY: see the Send impl.
unsafe impl Sync for AtomicBuffer {}

impl fmt::Debug for AtomicBuffer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AtomicBuffer")
            .field("addr", &self.ptr)
            .field("len", &self.len)
            .finish()
    }
}

macro_rules! int_accessors {
    ($t:ty, $atomic:ty, $get:ident, $put:ident, $get_v:ident, $put_v:ident, $get_a:ident, $put_r:ident,
     $add:ident, $cas:ident, $swap:ident) => {
        #[doc = concat!("Reads a `", stringify!($t), "` at `offset` (plain, any alignment).")]
        #[inline]
        pub fn $get(&self, offset: usize) -> $t {
            let p = self.at(offset, std::mem::size_of::<$t>());
            // SAFETY: `at` checked the range lies inside the live region; read_unaligned has no alignment need.
            unsafe { p.cast::<$t>().read_unaligned() }
        }

        #[doc = concat!("Writes a `", stringify!($t), "` at `offset` (plain, any alignment).")]
        #[inline]
        pub fn $put(&self, offset: usize, value: $t) {
            let p = self.at(offset, std::mem::size_of::<$t>());
            // SAFETY: `at` checked the range lies inside the live region; write_unaligned has no alignment need.
            unsafe { p.cast::<$t>().write_unaligned(value) }
        }

        #[doc = concat!("Reads a `", stringify!($t), "` with a relaxed atomic load (needs natural alignment).")]
        #[inline]
        pub fn $get_v(&self, offset: usize) -> $t {
            self.atomic::<$atomic>(offset).load(Ordering::Relaxed)
        }

        #[doc = concat!("Writes a `", stringify!($t), "` with a relaxed atomic store (needs natural alignment).")]
        #[inline]
        pub fn $put_v(&self, offset: usize, value: $t) {
            self.atomic::<$atomic>(offset).store(value, Ordering::Relaxed)
        }

        #[doc = concat!("Reads a `", stringify!($t), "` with acquire ordering (needs natural alignment).")]
        #[inline]
        pub fn $get_a(&self, offset: usize) -> $t {
            self.atomic::<$atomic>(offset).load(Ordering::Acquire)
        }

        #[doc = concat!("Writes a `", stringify!($t), "` with release ordering (needs natural alignment).")]
        #[inline]
        pub fn $put_r(&self, offset: usize, value: $t) {
            self.atomic::<$atomic>(offset).store(value, Ordering::Release)
        }

        #[doc = concat!("Atomically adds to a `", stringify!($t), "` and returns the previous value.")]
        #[inline]
        pub fn $add(&self, offset: usize, delta: $t) -> $t {
            self.atomic::<$atomic>(offset).fetch_add(delta, Ordering::AcqRel)
        }

        #[doc = concat!("Atomically replaces a `", stringify!($t), "` equal to `expected` with `update`; true on success.")]
        #[inline]
        pub fn $cas(&self, offset: usize, expected: $t, update: $t) -> bool {
            self.atomic::<$atomic>(offset)
                .compare_exchange(expected, update, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
        }

        #[doc = concat!("Atomically stores a `", stringify!($t), "` and returns the previous value.")]
        #[inline]
        pub fn $swap(&self, offset: usize, value: $t) -> $t {
            self.atomic::<$atomic>(offset).swap(value, Ordering::AcqRel)
        }
    };
}

macro_rules! plain_accessors {
    ($t:ty, $get:ident, $put:ident) => {
        #[doc = concat!("Reads a `", stringify!($t), "` at `offset` (plain, any alignment).")]
        #[inline]
        pub fn $get(&self, offset: usize) -> $t {
            let p = self.at(offset, std::mem::size_of::<$t>());
            // SAFETY: `at` checked the range lies inside the live region; read_unaligned has no alignment need.
            unsafe { p.cast::<$t>().read_unaligned() }
        }

        #[doc = concat!("Writes a `", stringify!($t), "` at `offset` (plain, any alignment).")]
        #[inline]
        pub fn $put(&self, offset: usize, value: $t) {
            let p = self.at(offset, std::mem::size_of::<$t>());
            // SAFETY: `at` checked the range lies inside the live region; write_unaligned has no alignment need.
            unsafe { p.cast::<$t>().write_unaligned(value) }
        }
    };
}

impl AtomicBuffer {
    /// Allocates `len` zeroed bytes on the heap, aligned to 64 bytes (a cache line), for tests and
    /// in-process buffers.
    pub fn new_zeroed(len: usize) -> Self {
        let layout = Layout::from_size_align(len, 64).expect("buffer length overflows a Layout");
        let ptr = if len == 0 {
            NonNull::<u64>::dangling().cast()
        } else {
            // SAFETY: layout has a non-zero size.
            let raw = unsafe { std::alloc::alloc_zeroed(layout) };
            NonNull::new(raw).unwrap_or_else(|| std::alloc::handle_alloc_error(layout))
        };
        AtomicBuffer {
            ptr,
            len,
            _owner: Arc::new(HeapRegion { ptr, layout }),
        }
    }

    /// Wraps memory kept alive by `owner`.
    ///
    /// # Safety
    /// `ptr..ptr + len` must stay valid for reads and writes for as long as `owner` lives.
    pub(crate) unsafe fn from_raw(ptr: NonNull<u8>, len: usize, owner: Arc<dyn Backing>) -> Self {
        AtomicBuffer {
            ptr,
            len,
            _owner: owner,
        }
    }

    /// Length in bytes.
    #[inline]
    pub fn capacity(&self) -> usize {
        self.len
    }

    /// Address of the first byte, for alignment checks and diagnostics.
    #[inline]
    pub fn address(&self) -> usize {
        self.ptr.as_ptr() as usize
    }

    /// Checks that `offset..offset + length` lies inside the buffer.
    #[inline]
    pub fn check(&self, offset: usize, length: usize) -> Result<(), OutOfBounds> {
        match offset.checked_add(length) {
            Some(end) if end <= self.len => Ok(()),
            _ => Err(OutOfBounds {
                offset,
                length,
                capacity: self.len,
            }),
        }
    }

    /// A view of `length` bytes starting at `offset`, sharing this buffer's memory.
    pub fn view(&self, offset: usize, length: usize) -> Result<AtomicBuffer, OutOfBounds> {
        self.check(offset, length)?;
        Ok(AtomicBuffer {
            // SAFETY: offset <= len was just checked, so the pointer stays inside (or one past) the region.
            ptr: unsafe { NonNull::new_unchecked(self.ptr.as_ptr().add(offset)) },
            len: length,
            _owner: Arc::clone(&self._owner),
        })
    }

    #[inline]
    #[track_caller]
    fn at(&self, offset: usize, length: usize) -> *mut u8 {
        if let Err(e) = self.check(offset, length) {
            panic!("{e}");
        }
        // SAFETY: the range was checked to lie inside the region.
        unsafe { self.ptr.as_ptr().add(offset) }
    }

    #[inline]
    #[track_caller]
    fn atomic<A>(&self, offset: usize) -> &A {
        let p = self.at(offset, std::mem::size_of::<A>());
        assert!(
            (p as usize) % std::mem::align_of::<A>() == 0,
            "offset {offset} is not aligned for an atomic access of {} bytes",
            std::mem::size_of::<A>()
        );
        // SAFETY: in bounds and aligned (checked above); the atomic types have the same layout as the integers,
        // and all concurrent access to this location is atomic by the buffer's contract.
        unsafe { &*(p as *const A) }
    }

    int_accessors!(
        i32,
        AtomicI32,
        get_i32,
        put_i32,
        get_i32_volatile,
        put_i32_volatile,
        get_i32_acquire,
        put_i32_release,
        get_and_add_i32,
        compare_and_set_i32,
        get_and_set_i32
    );
    int_accessors!(
        i64,
        AtomicI64,
        get_i64,
        put_i64,
        get_i64_volatile,
        put_i64_volatile,
        get_i64_acquire,
        put_i64_release,
        get_and_add_i64,
        compare_and_set_i64,
        get_and_set_i64
    );
    plain_accessors!(u8, get_u8, put_u8);
    plain_accessors!(i16, get_i16, put_i16);
    plain_accessors!(u16, get_u16, put_u16);
    plain_accessors!(u32, get_u32, put_u32);
    plain_accessors!(u64, get_u64, put_u64);

    /// Adds `delta` to an `i64` with a release store, for counters that have a single writer
    /// (Agrona's `addLongOrdered`). Cheaper than [`AtomicBuffer::get_and_add_i64`].
    #[inline]
    pub fn add_i64_release(&self, offset: usize, delta: i64) {
        let a = self.atomic::<AtomicI64>(offset);
        let current = a.load(Ordering::Relaxed);
        a.store(current.wrapping_add(delta), Ordering::Release);
    }

    /// Copies `dst.len()` bytes starting at `offset` into `dst`.
    #[inline]
    pub fn get_bytes(&self, offset: usize, dst: &mut [u8]) {
        let p = self.at(offset, dst.len());
        // SAFETY: source range checked; dst is a distinct Rust slice so the ranges cannot overlap.
        unsafe { std::ptr::copy_nonoverlapping(p, dst.as_mut_ptr(), dst.len()) }
    }

    /// Hints the CPU to fetch the cache line holding `offset` for writing, so a later store there does not
    /// stall. Does nothing past the end of the buffer or on targets without a prefetch instruction.
    #[inline(always)]
    pub fn prefetch_for_write(&self, offset: usize) {
        if offset < self.len {
            #[cfg(target_arch = "x86_64")]
            {
                let p = self.ptr.as_ptr().wrapping_add(offset) as *const i8;
                // SAFETY: SSE is part of the x86_64 baseline, and a prefetch never faults or changes memory.
                unsafe {
                    std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_ET0 }>(p)
                };
            }
        }
    }

    /// Reads one byte of every memory page the buffer spans, so that the pages of a mapping are mapped in
    /// now rather than on first use (Aeron's `preTouchMappedMemory`, read-only).
    pub fn pre_touch(&self) {
        let page = crate::mapped_file::page_size();
        let first = self.address().next_multiple_of(page) - self.address();
        let mut sum = 0u8;
        if self.len > 0 {
            sum = sum.wrapping_add(self.get_u8(0));
        }
        for offset in (first..self.len).step_by(page) {
            sum = sum.wrapping_add(self.get_u8(offset));
        }
        std::hint::black_box(sum);
    }

    /// Copies `src` into the buffer starting at `offset`.
    #[inline]
    pub fn put_bytes(&self, offset: usize, src: &[u8]) {
        let p = self.at(offset, src.len());
        // SAFETY: destination range checked; src is a Rust slice borrowed immutably, so it cannot be this range
        // unless the caller produced it from `as_slice`, which forbids concurrent writes.
        unsafe { std::ptr::copy(src.as_ptr(), p, src.len()) }
    }

    /// Copies `length` bytes from `src` at `src_offset` to this buffer at `offset` (ranges may overlap).
    #[inline]
    pub fn put_buffer(&self, offset: usize, src: &AtomicBuffer, src_offset: usize, length: usize) {
        let d = self.at(offset, length);
        let s = src.at(src_offset, length);
        // SAFETY: both ranges checked; `copy` allows overlap.
        unsafe { std::ptr::copy(s, d, length) }
    }

    /// Sets `length` bytes starting at `offset` to `value`.
    #[inline]
    pub fn set_memory(&self, offset: usize, length: usize, value: u8) {
        let p = self.at(offset, length);
        // SAFETY: range checked.
        unsafe { std::ptr::write_bytes(p, value, length) }
    }

    /// Copies `length` bytes at `offset` into a new vector.
    pub fn to_vec(&self, offset: usize, length: usize) -> Vec<u8> {
        let mut v = vec![0; length];
        self.get_bytes(offset, &mut v);
        v
    }

    /// Borrows `length` bytes at `offset` in place, without copying.
    ///
    /// # Safety
    /// Nothing may write to the range while the slice is alive (the protocol must guarantee it: a committed
    /// frame that the cleaner will not reach before the reader's position moves past it, for instance).
    #[inline]
    pub unsafe fn as_slice(&self, offset: usize, length: usize) -> &[u8] {
        let p = self.at(offset, length);
        // SAFETY: range checked; the caller guarantees no concurrent writes for the slice's lifetime.
        unsafe { std::slice::from_raw_parts(p, length) }
    }

    /// Reads an `i32` length followed by that many bytes as a (lossy UTF-8) string, Aeron's string layout.
    /// Returns `None` if the length is negative or the bytes do not fit.
    pub fn get_string(&self, offset: usize) -> Option<String> {
        self.check(offset, 4).ok()?;
        let len = usize::try_from(self.get_i32(offset)).ok()?;
        self.check(offset + 4, len).ok()?;
        Some(String::from_utf8_lossy(&self.to_vec(offset + 4, len)).into_owned())
    }

    /// Writes `value` as an `i32` length followed by its bytes; returns the number of bytes written.
    pub fn put_string(&self, offset: usize, value: &str) -> usize {
        let len = i32::try_from(value.len()).expect("string longer than i32::MAX");
        self.put_i32(offset, len);
        self.put_bytes(offset + 4, value.as_bytes());
        4 + value.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pre_touching_reads_within_any_view() {
        let b = AtomicBuffer::new_zeroed(3 * 4096 + 100);
        for (offset, length) in [(0, 0), (0, 1), (7, 4096), (5, 3 * 4096 + 95), (4096, 4096)] {
            b.view(offset, length).unwrap().pre_touch();
        }
        b.pre_touch();
        assert_eq!(b.get_u8(4096), 0, "pre-touching changes nothing");
    }

    #[test]
    fn plain_and_atomic_accessors_see_the_same_bytes() {
        let b = AtomicBuffer::new_zeroed(64);
        b.put_i64(8, 0x0102_0304_0506_0708);
        assert_eq!(b.get_i64_volatile(8), 0x0102_0304_0506_0708);
        assert_eq!(b.get_u8(8), 0x08, "little-endian layout");
        b.put_i32_release(4, -7);
        assert_eq!(b.get_i32(4), -7);
        assert_eq!(b.get_and_add_i64(8, 1), 0x0102_0304_0506_0708);
        assert!(b.compare_and_set_i32(4, -7, 9));
        assert!(!b.compare_and_set_i32(4, -7, 10));
        assert_eq!(b.get_i32_acquire(4), 9);
        b.put_i64(20, -1);
        assert_eq!(b.get_i64(20), -1, "plain access works unaligned");
    }

    #[test]
    fn views_share_memory_and_check_bounds() {
        let b = AtomicBuffer::new_zeroed(128);
        let v = b.view(64, 64).unwrap();
        v.put_i32(0, 42);
        assert_eq!(b.get_i32(64), 42);
        assert!(b.view(100, 64).is_err());
        assert!(b.check(usize::MAX, 2).is_err());
        drop(b);
        assert_eq!(v.get_i32(0), 42, "a view keeps the memory alive");
    }

    #[test]
    #[should_panic(expected = "outside a buffer")]
    fn out_of_bounds_access_panics() {
        AtomicBuffer::new_zeroed(8).get_i64(4);
    }

    #[test]
    #[should_panic(expected = "not aligned")]
    fn misaligned_atomic_access_panics() {
        AtomicBuffer::new_zeroed(16).get_i64_volatile(4);
    }

    #[test]
    fn strings_round_trip_and_reject_bad_lengths() {
        let b = AtomicBuffer::new_zeroed(32);
        assert_eq!(b.put_string(0, "aeron:ipc"), 13);
        assert_eq!(b.get_string(0).as_deref(), Some("aeron:ipc"));
        b.put_i32(16, 1000);
        assert_eq!(b.get_string(16), None);
        b.put_i32(16, -1);
        assert_eq!(b.get_string(16), None);
    }

    #[test]
    fn bytes_copy_in_and_out() {
        let a = AtomicBuffer::new_zeroed(32);
        let b = AtomicBuffer::new_zeroed(32);
        a.put_bytes(3, b"hello");
        b.put_buffer(10, &a, 3, 5);
        assert_eq!(b.to_vec(10, 5), b"hello");
        b.set_memory(10, 2, 0);
        assert_eq!(b.to_vec(10, 5), b"\0\0llo");
    }
}
