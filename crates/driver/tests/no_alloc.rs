//! The data path allocates nothing: offers, claims and polls on this thread are counted by a global
//! allocator that only counts while a test asks it to.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use oxeron_client::{Aeron, Context as ClientContext, FragmentAssembler, Header, OfferError};
use oxeron_driver::{Context, MediaDriver, ThreadingMode};
use oxeron_testkit::{temp_aeron_dir, wait_until};

struct CountingAllocator;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
}

// SAFETY: every call forwards to the system allocator with the same arguments; the counter is a side effect.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.with(Cell::get) {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: same contract as our caller's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as our caller's.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if COUNTING.with(Cell::get) {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: same contract as our caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

fn counted<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    COUNTING.with(|c| c.set(true));
    let result = f();
    COUNTING.with(|c| c.set(false));
    (result, ALLOCATIONS.load(Ordering::Relaxed) - before)
}

#[test]
fn offer_claim_and_poll_do_not_allocate() {
    let dir = temp_aeron_dir();
    let driver = MediaDriver::launch(
        Context::new()
            .aeron_dir(dir.path().join("aeron"))
            .threading_mode(ThreadingMode::Shared)
            .ipc_term_buffer_length(64 * 1024),
    )
    .unwrap();
    let aeron = Aeron::connect(ClientContext::new().aeron_dir(driver.aeron_dir())).unwrap();
    let concurrent = aeron.add_publication("aeron:ipc", 1).unwrap();
    let mut exclusive = aeron.add_exclusive_publication("aeron:ipc", 1).unwrap();
    let mut subscription = aeron.add_subscription("aeron:ipc", 1).unwrap();
    wait_until("both images", Duration::from_secs(10), || {
        subscription.image_count() == 2
    });
    wait_until("connected", Duration::from_secs(10), || {
        concurrent.is_connected() && exclusive.is_connected()
    });

    let received = Cell::new(0u64);
    let mut assembler = FragmentAssembler::new(|m: &[u8], _: &Header| {
        assert_eq!(m, [3u8; 64]);
        received.set(received.get() + 1);
    });
    let message = [3u8; 64];
    let (sent, allocations) = counted(|| {
        let mut sent = 0u64;
        for _ in 0..20_000 {
            for _ in 0..3 {
                let ok = match concurrent.offer(&message) {
                    Ok(_) => true,
                    Err(OfferError::BackPressured | OfferError::AdminAction) => false,
                    Err(e) => panic!("{e}"),
                };
                sent += u64::from(ok);
                let ok = match exclusive.offer_vectored(&[&message[..32], &message[32..]]) {
                    Ok(_) => true,
                    Err(OfferError::BackPressured | OfferError::AdminAction) => false,
                    Err(e) => panic!("{e}"),
                };
                sent += u64::from(ok);
                if let Ok((_, mut claim)) = exclusive.try_claim(64) {
                    claim.put_bytes(0, &message);
                    claim.commit();
                    sent += 1;
                }
            }
            subscription.poll(assembler.handler(), 64);
        }
        sent
    });
    assert_eq!(allocations, 0, "allocations on the offer/poll path");
    wait_until("every message", Duration::from_secs(10), || {
        subscription.poll(assembler.handler(), 1000);
        received.get() == sent
    });
    drop(aeron);
    driver.close();
}
