//! The archive server: records streams to segment files, keeps the catalog and replays recordings, serving
//! Aeron 1.54's archive control protocol to Rust, Java and C archive clients alike.
//!
//! ```no_run
//! use oxeron_archive::server::{Archive, Context};
//!
//! // A media driver must already run in the Aeron directory.
//! let archive = Archive::launch(
//!     Context::new()
//!         .aeron_dir("/dev/shm/aeron-example")
//!         .archive_dir("/tmp/archive-example")
//!         .control_channel_enabled(false),
//! )?;
//! // ... clients connect with `AeronArchive::connect` ...
//! archive.close();
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod archive_conductor;
mod archive_counters;
mod authenticator;
mod authorisation_service;
mod channel;
pub mod context;
mod recorder;
mod recording_session;
mod replay_session;
mod replayer;
mod replication_session;
mod session_worker;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use oxeron_client::{Aeron, AeronError, Context as AeronContext};
use oxeron_concurrent::agent::{AgentInvoker, AgentRunner};
use oxeron_concurrent::clock::system_epoch_ms;

pub use authenticator::{AcceptAllAuthenticator, AuthDecision, Authenticator};
pub use authorisation_service::{AllowAll, AuthorisationService, DenyAll};
pub use context::{
    ArchiveThreadingMode, Context, CONTROL_CHANNEL_DEFAULT, CONTROL_MTU_LENGTH_DEFAULT,
    CONTROL_TERM_BUFFER_LENGTH_DEFAULT, ERROR_BUFFER_LENGTH_DEFAULT, LOCAL_CONTROL_CHANNEL_DEFAULT,
    LOW_STORAGE_SPACE_THRESHOLD_DEFAULT, RECORDING_EVENTS_CHANNEL_DEFAULT,
    REPLAY_LINGER_TIMEOUT_DEFAULT, SEGMENT_FILE_LENGTH_DEFAULT,
};

use crate::{ArchiveMarkFile, ArchiveStorageError, Catalog, MarkFileSettings};
use archive_conductor::ArchiveConductor;

/// Why an archive could not start.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveLaunchError {
    /// The archive directory, catalog or mark file could not be used (or another archive owns them).
    #[error(transparent)]
    Storage(#[from] ArchiveStorageError),
    /// The media driver refused or could not be reached.
    #[error("archive's Aeron client: {0}")]
    Aeron(#[from] AeronError),
    /// A file system or thread error.
    #[error("archive: {0}")]
    Io(#[from] std::io::Error),
    /// A setting that can't be used.
    #[error("archive setting: {0}")]
    InvalidSetting(String),
    /// Deleting the archive directory on start was asked for, but it holds files an archive does not make.
    #[error(
        "{dir} is not an archive directory: it holds {entry}, which no archive makes there; \
         nothing was deleted"
    )]
    NotAnArchiveDir {
        /// The archive directory.
        dir: std::path::PathBuf,
        /// The first entry that is not the archive's.
        entry: std::path::PathBuf,
    },
}

/// Deletes an archive directory's own files (catalog, mark file, segment files) and the directory once
/// empty, after checking that it holds nothing else; anything foreign refuses the delete as a whole.
fn delete_archive_dir(dir: &Path) -> Result<(), ArchiveLaunchError> {
    let mut own = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let is_own = entry.file_type()?.is_file()
            && name.to_str().is_some_and(|name| {
                name == crate::catalog::CATALOG_FILE_NAME
                    || name == crate::mark::ARCHIVE_MARK_FILE_NAME
                    || name == crate::mark::ARCHIVE_MARK_LINK_FILE_NAME
                    || oxeron_protocol::archive::parse_segment_file_name(name).is_some()
            });
        if !is_own {
            return Err(ArchiveLaunchError::NotAnArchiveDir {
                dir: dir.to_path_buf(),
                entry: entry.path(),
            });
        }
        own.push(entry.path());
    }
    for path in own {
        std::fs::remove_file(path)?;
    }
    std::fs::remove_dir(dir)?;
    Ok(())
}

enum Runner {
    Thread(AgentRunner),
    Invoker(Box<AgentInvoker<ArchiveConductor>>),
}

/// A running archive. Closing (or dropping) it stops its recordings at what they have recorded, flushes the
/// catalog and releases its Aeron resources.
pub struct Archive {
    runner: Option<Runner>,
    archive_dir: PathBuf,
    archive_id: i64,
    aeron: Aeron,
}

impl std::fmt::Debug for Archive {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Archive")
            .field("archive_dir", &self.archive_dir)
            .field("archive_id", &self.archive_id)
            .finish_non_exhaustive()
    }
}

impl Archive {
    /// Starts an archive against the media driver of `ctx`'s Aeron directory, with its own Aeron client.
    pub fn launch(ctx: Context) -> Result<Self, ArchiveLaunchError> {
        ctx.validate()?;
        let mut client = AeronContext::new();
        if let Some(dir) = &ctx.aeron_dir {
            client = client.aeron_dir(dir.clone());
        }
        client = client.client_name("oxeron-archive");
        let aeron = Aeron::connect(client)?;
        Self::launch_with_aeron(ctx, aeron)
    }

    /// Starts an archive that uses an existing Aeron client.
    pub fn launch_with_aeron(ctx: Context, aeron: Aeron) -> Result<Self, ArchiveLaunchError> {
        ctx.validate()?;
        let dir = ctx.archive_dir.clone();
        if ctx.delete_archive_on_start && dir.exists() {
            delete_archive_dir(&dir)?;
        }
        std::fs::create_dir_all(&dir)?;
        let mark_dir = ctx.mark_file_dir_path().to_path_buf();
        std::fs::create_dir_all(&mark_dir)?;
        let archive_id = ctx.archive_id.unwrap_or_else(|| aeron.client_id());
        let now = system_epoch_ms();
        let aeron_dir = aeron.context().aeron_dir_path().display().to_string();
        let liveness_ms = ctx.mark_file_liveness_timeout.as_millis() as i64;
        // A live archive whose mark file is elsewhere is found through the directory's link (the mark file
        // this archive takes is checked as it is created).
        let linked = crate::mark::resolve_mark_file_dir(&dir)?;
        if linked != mark_dir {
            ArchiveMarkFile::refuse_live(linked, now, liveness_ms)?;
        }
        let mark = ArchiveMarkFile::create(
            &mark_dir,
            &MarkFileSettings {
                pid: i64::from(std::process::id()),
                archive_id,
                control_stream_id: ctx.control_stream_id,
                local_control_stream_id: ctx.local_control_stream_id,
                events_stream_id: ctx.recording_events_stream_id,
                control_channel: &ctx.control_channel,
                local_control_channel: &ctx.local_control_channel,
                events_channel: &ctx.recording_events_channel,
                aeron_directory: &aeron_dir,
                error_buffer_length: ctx.error_buffer_length,
            },
            now,
            liveness_ms,
        )?;
        crate::mark::link_mark_file_dir(&dir, &mark_dir)?;
        let mut catalog = Catalog::open(&dir, ctx.catalog_capacity, ctx.catalog_file_sync_level)?;
        catalog.set_checksum(ctx.record_checksum);
        catalog.recover(&dir, now)?;

        let mut control =
            vec![aeron.add_subscription(&ctx.local_control_channel, ctx.local_control_stream_id)?];
        if ctx.control_channel_enabled {
            let channel = channel::control_subscription_channel(
                &ctx.control_channel,
                ctx.control_term_buffer_sparse,
            );
            control.push(aeron.add_subscription(&channel, ctx.control_stream_id)?);
        }
        let events = if ctx.recording_events_enabled {
            Some(aeron.add_publication(
                &ctx.recording_events_channel,
                ctx.recording_events_stream_id,
            )?)
        } else {
            None
        };
        let threading = ctx.threading_mode;
        let idle = ctx.idle_strategy;
        let errors: oxeron_concurrent::agent::ErrorHandler =
            Arc::new(|e| tracing::error!(target: "oxeron::archive", "{e}"));
        let conductor = ArchiveConductor::new(
            ctx,
            aeron.clone(),
            catalog,
            mark,
            archive_id,
            control,
            events,
            errors.clone(),
        )
        .map_err(|e| match e {
            archive_conductor::StartError::Aeron(e) => ArchiveLaunchError::Aeron(e),
            archive_conductor::StartError::Io(e) => ArchiveLaunchError::Io(e),
        })?;
        let runner = match threading {
            ArchiveThreadingMode::Invoker => {
                let mut invoker = AgentInvoker::new(conductor, errors);
                invoker.start();
                Runner::Invoker(Box::new(invoker))
            }
            _ => Runner::Thread(AgentRunner::start(conductor, idle.build(), errors)?),
        };
        Ok(Self {
            runner: Some(runner),
            archive_dir: dir,
            archive_id,
            aeron,
        })
    }

    /// Runs one duty cycle in [`ArchiveThreadingMode::Invoker`] mode; returns the work done (0 otherwise).
    pub fn invoke(&mut self) -> usize {
        match self.runner.as_mut() {
            Some(Runner::Invoker(invoker)) => invoker.invoke(),
            _ => 0,
        }
    }

    /// The archive directory.
    pub fn archive_dir(&self) -> &Path {
        &self.archive_dir
    }

    /// The archive id (answered to `ArchiveIdRequest`).
    pub fn archive_id(&self) -> i64 {
        self.archive_id
    }

    /// The archive's Aeron client.
    pub fn aeron(&self) -> &Aeron {
        &self.aeron
    }

    /// Stops the archive (see the type's docs).
    pub fn close(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        match self.runner.take() {
            Some(Runner::Thread(runner)) => runner.close(),
            Some(Runner::Invoker(mut invoker)) => invoker.close(),
            None => {}
        }
    }
}

impl Drop for Archive {
    fn drop(&mut self) {
        self.stop();
    }
}
