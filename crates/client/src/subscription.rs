//! Subscriptions: every image of a channel and stream, polled in turn.

use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::aeron::Release;
use crate::image::{ControlledPollAction, Image};
use crate::logbuffer::Header;

/// The part of a subscription the client conductor updates: its images and whether it is still open.
#[derive(Debug)]
pub(crate) struct SubscriptionState {
    channel: String,
    stream_id: i32,
    registration_id: i64,
    channel_status_id: AtomicI32,
    images: Mutex<Vec<Arc<Image>>>,
    version: AtomicU64,
    closed: AtomicBool,
}

impl SubscriptionState {
    pub(crate) fn new(channel: String, stream_id: i32, registration_id: i64) -> Self {
        SubscriptionState {
            channel,
            stream_id,
            registration_id,
            channel_status_id: AtomicI32::new(-1),
            images: Mutex::new(Vec::new()),
            version: AtomicU64::new(0),
            closed: AtomicBool::new(false),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Vec<Arc<Image>>> {
        self.images
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(crate) fn set_channel_status_id(&self, id: i32) {
        self.channel_status_id.store(id, Ordering::Release);
    }

    /// Adds an image the driver made available.
    pub(crate) fn add_image(&self, image: Arc<Image>) {
        let mut images = self.lock();
        images.push(image);
        self.version.fetch_add(1, Ordering::AcqRel);
    }

    /// Removes and closes the image with `correlation_id`; returns it if it was there.
    pub(crate) fn remove_image(&self, correlation_id: i64) -> Option<Arc<Image>> {
        let mut images = self.lock();
        let index = images
            .iter()
            .position(|i| i.correlation_id() == correlation_id)?;
        let image = images.remove(index);
        image.close();
        self.version.fetch_add(1, Ordering::AcqRel);
        Some(image)
    }

    /// Closes the subscription and every image; returns the images that were open.
    pub(crate) fn close(&self) -> Vec<Arc<Image>> {
        let mut images = self.lock();
        self.closed.store(true, Ordering::Release);
        let removed = std::mem::take(&mut *images);
        for image in &removed {
            image.close();
        }
        self.version.fetch_add(1, Ordering::AcqRel);
        removed
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }
}

/// A subscription to a channel and stream: polls the images of every publication the driver connects it to,
/// in turn, and reads their frames in place. `Send`; polling takes `&mut self` (not thread safe, as in Aeron).
///
/// ```no_run
/// use oxeron_client::{Aeron, Context, FragmentAssembler, Header};
///
/// let aeron = Aeron::connect(Context::new())?;
/// let mut subscription = aeron.add_subscription("aeron:udp?endpoint=localhost:40123", 1001)?;
/// // Messages longer than one frame arrive in fragments; the assembler hands over whole messages.
/// let mut assembler = FragmentAssembler::new(|message: &[u8], header: &Header| {
///     println!("{} bytes from session {} at {}", message.len(), header.session_id(), header.position());
/// });
/// loop {
///     if subscription.poll(assembler.handler(), 10) == 0 {
///         std::thread::sleep(std::time::Duration::from_millis(1));
///     }
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Subscription {
    state: Arc<SubscriptionState>,
    images: Vec<Arc<Image>>,
    seen_version: u64,
    round_robin_index: usize,
    _release: Option<Release>,
}

impl Subscription {
    pub(crate) fn new(state: Arc<SubscriptionState>) -> Self {
        Subscription {
            state,
            images: Vec::new(),
            seen_version: u64::MAX,
            round_robin_index: 0,
            _release: None,
        }
    }

    pub(crate) fn with_release(mut self, release: Release) -> Self {
        self._release = Some(release);
        self
    }

    /// Releases the subscription at the driver and closes its images (dropping it does the same).
    pub fn close(self) {}

    /// Picks up images the conductor added or removed since the last call.
    #[inline]
    fn refresh(&mut self) {
        let version = self.state.version.load(Ordering::Acquire);
        if version != self.seen_version {
            self.images = self.state.lock().clone();
            self.seen_version = version;
        }
    }

    /// Index to start this poll's round at, so every image gets to go first in turn.
    #[inline]
    fn next_start(&mut self) -> usize {
        let length = self.images.len();
        let mut start = self.round_robin_index;
        if start >= length {
            start = 0;
        }
        self.round_robin_index = start + 1;
        start
    }

    /// Channel URI.
    pub fn channel(&self) -> &str {
        &self.state.channel
    }

    /// Stream id.
    pub fn stream_id(&self) -> i32 {
        self.state.stream_id
    }

    /// Registration id of the subscription.
    pub fn registration_id(&self) -> i64 {
        self.state.registration_id
    }

    /// Counter id of the receive channel status (-1 for IPC and spies).
    pub fn channel_status_id(&self) -> i32 {
        self.state.channel_status_id.load(Ordering::Acquire)
    }

    /// Reads up to `fragment_limit` fragments across the images, each image starting in turn.
    #[inline]
    pub fn poll<F>(&mut self, mut handler: F, fragment_limit: usize) -> usize
    where
        F: FnMut(&[u8], &Header),
    {
        self.refresh();
        let length = self.images.len();
        if length == 0 {
            return 0;
        }
        let start = self.next_start();
        let mut fragments = 0;
        for i in (start..length).chain(0..start) {
            if fragments >= fragment_limit {
                break;
            }
            fragments += self.images[i].poll(&mut handler, fragment_limit - fragments);
        }
        fragments
    }

    /// Like [`Subscription::poll`], with a handler that steers each image's poll.
    pub fn controlled_poll<F>(&mut self, mut handler: F, fragment_limit: usize) -> usize
    where
        F: FnMut(&[u8], &Header) -> ControlledPollAction,
    {
        self.refresh();
        let length = self.images.len();
        if length == 0 {
            return 0;
        }
        let start = self.next_start();
        let mut fragments = 0;
        for i in (start..length).chain(0..start) {
            if fragments >= fragment_limit {
                break;
            }
            fragments += self.images[i].controlled_poll(&mut handler, fragment_limit - fragments);
        }
        fragments
    }

    /// Hands each image's next block of whole frames (up to `block_length_limit` bytes) to `handler`;
    /// returns the bytes consumed.
    pub fn block_poll<F>(&mut self, mut handler: F, block_length_limit: usize) -> usize
    where
        F: FnMut(&[u8], i32, i32),
    {
        self.refresh();
        self.images
            .iter()
            .map(|image| image.block_poll(&mut handler, block_length_limit))
            .sum()
    }

    /// The images currently connected.
    pub fn images(&mut self) -> &[Arc<Image>] {
        self.refresh();
        &self.images
    }

    /// Number of images currently connected.
    pub fn image_count(&mut self) -> usize {
        self.refresh();
        self.images.len()
    }

    /// The image of the publication with `session_id`, if connected.
    pub fn image_by_session_id(&mut self, session_id: i32) -> Option<Arc<Image>> {
        self.refresh();
        self.images
            .iter()
            .find(|i| i.session_id() == session_id)
            .cloned()
    }

    /// True while at least one image is connected and open.
    pub fn is_connected(&mut self) -> bool {
        self.refresh();
        self.images.iter().any(|i| !i.is_closed())
    }

    /// True once the subscription is closed (by the application or a lost driver).
    pub fn is_closed(&self) -> bool {
        self.state.is_closed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::ImageInfo;
    use crate::test_support::TestLog;

    fn image_on(log: &TestLog, correlation_id: i64, session_id: i32) -> Arc<Image> {
        let position = oxeron_concurrent::AtomicBuffer::new_zeroed(8);
        Arc::new(Image::new(
            ImageInfo {
                correlation_id,
                session_id,
                subscription_registration_id: 1,
                source_identity: "aeron:ipc".into(),
            },
            log.log.clone(),
            position,
        ))
    }

    #[test]
    fn polls_every_image_in_turn_and_sees_removals() {
        let a = TestLog::new(0);
        let b = TestLog::new(0);
        let mut pa = a.exclusive();
        let mut pb = b.exclusive();
        for i in 0..3u8 {
            pa.offer(&[b'a', i]).unwrap();
            pb.offer(&[b'b', i]).unwrap();
        }
        let state = Arc::new(SubscriptionState::new("aeron:ipc".into(), 1001, 1));
        let mut sub = Subscription::new(Arc::clone(&state));
        assert!(!sub.is_connected());
        state.add_image(image_on(&a, 10, 1));
        state.add_image(image_on(&b, 11, 2));
        assert_eq!(sub.image_count(), 2);
        let mut got = Vec::new();
        assert_eq!(sub.poll(|m: &[u8], _: &Header| got.push(m.to_vec()), 4), 4);
        assert_eq!(
            got[..3],
            [b"a\0".to_vec(), b"a\x01".to_vec(), b"a\x02".to_vec()]
        );
        assert_eq!(got[3], b"b\0");
        got.clear();
        sub.poll(|m: &[u8], _: &Header| got.push(m.to_vec()), 10);
        assert_eq!(got, [b"b\x01".to_vec(), b"b\x02".to_vec()]);

        let removed = state.remove_image(10).unwrap();
        assert!(removed.is_closed());
        assert_eq!(sub.image_count(), 1);
        assert_eq!(sub.image_by_session_id(2).unwrap().correlation_id(), 11);
        assert!(sub.image_by_session_id(1).is_none());
        let kept = sub.images()[0].clone();
        state.close();
        assert!(sub.is_closed());
        assert!(!sub.is_connected());
        assert!(kept.is_closed(), "images close with their subscription");
        assert_eq!(sub.poll(|_: &[u8], _: &Header| panic!("closed"), 10), 0);
    }
}
