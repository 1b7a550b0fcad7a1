//! A log buffer with a publication and an image over it, for unit tests of the data path.

use crate::ClosedFlag;
use std::sync::Arc;

use oxeron_concurrent::AtomicBuffer;
use oxeron_protocol::logbuffer::{InitialTails, LogBufferMetadata};

use crate::image::ImageInfo;
use crate::logbuffer::LogBuffers;
use crate::publication::PublicationInfo;
use crate::{ExclusivePublication, Image};

pub(crate) const TERM_LENGTH: i32 = 64 * 1024;
pub(crate) const SESSION_ID: i32 = 7;
pub(crate) const STREAM_ID: i32 = 1001;

pub(crate) struct TestLog {
    _dir: tempfile::TempDir,
    pub log: Arc<LogBuffers>,
    pub limit: AtomicBuffer,
    pub closed: ClosedFlag,
}

impl TestLog {
    pub fn new(initial_term_id: i32) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut meta = LogBufferMetadata {
            initial_term_id,
            mtu_length: 1408,
            term_length: TERM_LENGTH,
            page_size: 4096,
            end_of_stream_position: i64::MAX,
            is_connected: true,
            ..LogBufferMetadata::default()
        };
        meta.apply_initial_tails(&InitialTails::new(initial_term_id));
        meta.fill_default_header(SESSION_ID, STREAM_ID, initial_term_id);
        let log = LogBuffers::create_with_metadata(dir.path().join("1.logbuffer"), &meta).unwrap();
        let limit = AtomicBuffer::new_zeroed(8);
        limit.put_i64_release(0, i64::MAX);
        TestLog {
            _dir: dir,
            log: Arc::new(log),
            limit,
            closed: ClosedFlag::default(),
        }
    }

    pub fn publication_info() -> PublicationInfo {
        PublicationInfo {
            channel: "aeron:ipc".into(),
            stream_id: STREAM_ID,
            session_id: SESSION_ID,
            registration_id: 1,
            original_registration_id: 1,
            channel_status_id: -1,
        }
    }

    pub fn exclusive(&self) -> ExclusivePublication {
        ExclusivePublication::new(
            Self::publication_info(),
            self.log.clone(),
            self.limit.clone(),
            self.closed.clone(),
        )
    }

    /// An image over the same log, with its own subscriber position starting at `join_position`.
    pub fn image(&self, join_position: i64) -> Image {
        let position = AtomicBuffer::new_zeroed(8);
        position.put_i64_release(0, join_position);
        Image::new(
            ImageInfo {
                correlation_id: 2,
                session_id: SESSION_ID,
                subscription_registration_id: 3,
                source_identity: "aeron:ipc".into(),
            },
            self.log.clone(),
            position,
        )
    }
}
