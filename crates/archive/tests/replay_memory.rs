//! Replays leave nothing behind: after a warm-up, hundreds more replays through an embedded driver and
//! archive do not grow the heap of the process that runs them (driver, archive and client alike).

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicI64, Ordering};

use common::*;

/// The system allocator, counting the bytes allocated and not yet freed.
struct CountingAllocator;

static LIVE_BYTES: AtomicI64 = AtomicI64::new(0);

// SAFETY: every call is passed on to the system allocator unchanged; only a counter is updated beside it.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE_BYTES.fetch_add(layout.size() as i64, Ordering::Relaxed);
        // SAFETY: the caller's contract for `alloc` is the system allocator's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE_BYTES.fetch_sub(layout.size() as i64, Ordering::Relaxed);
        // SAFETY: `ptr` came from this allocator, which got it from the system allocator.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE_BYTES.fetch_add(new_size as i64 - layout.size() as i64, Ordering::Relaxed);
        // SAFETY: as for `dealloc`, and `new_size` is the caller's, per `realloc`'s contract.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

const LENGTH: usize = 200;
const MESSAGES: usize = 200;
/// Replays in the warm-up, and then in the measured run.
const REPLAYS: i64 = 200;

fn replay_once(archive: &mut oxeron_archive::client::AeronArchive, recording_id: i64) {
    let frame = (32 + LENGTH).next_multiple_of(32) as i64;
    let mut subscription = replay_ipc(archive, recording_id, 50 * frame, 100 * frame);
    receive(&mut subscription, 50, 100, LENGTH);
    wait_for_end(&mut subscription);
}

/// Waits out the driver's publication linger (5 s) and the client's resource linger (3 s), so that no
/// closed replay publication is still held.
fn settle() {
    std::thread::sleep(std::time::Duration::from_secs(7));
}

/// The first run of replays grows every list to its high-water mark; the second must not grow the heap.
#[test]
fn replays_do_not_grow_the_heap() {
    let fixture = Fixture::new();
    let mut archive = fixture.client();
    let (recording_id, _) = record(
        &mut archive,
        &fixture.aeron,
        "aeron:ipc",
        RECORDED_STREAM,
        MESSAGES,
        LENGTH,
    );
    for _ in 0..REPLAYS {
        replay_once(&mut archive, recording_id);
    }
    settle();
    let before = LIVE_BYTES.load(Ordering::Relaxed);
    for _ in 0..REPLAYS {
        replay_once(&mut archive, recording_id);
    }
    settle();
    let after = LIVE_BYTES.load(Ordering::Relaxed);
    let per_replay = (after - before) / REPLAYS;
    eprintln!(
        "heap: {before} B after the warm-up, {after} B after {REPLAYS} more replays ({per_replay} B each)"
    );
    assert!(
        per_replay < 64,
        "each replay leaves {per_replay} bytes behind"
    );
}
