//! The archive's limits and placement settings as an operator sets them (catalog capacity, mark file
//! directory, error buffer length, low storage space, replay linger, control term geometry) and the
//! authorisation service, each checked where a user would look: file sizes, the files in the directories,
//! the channels the driver shows in its counters, and the error codes clients get.

mod common;

use std::time::Duration;

use common::*;
use oxeron_archive::client::{AeronArchive, ArchiveError};
use oxeron_archive::server::{
    AuthDecision, Authenticator, AuthorisationService, DenyAll, ERROR_BUFFER_LENGTH_DEFAULT,
};
use oxeron_archive::{
    ArchiveMarkFile, SourceLocation, ARCHIVE_MARK_FILE_NAME, ARCHIVE_MARK_LINK_FILE_NAME,
    CATALOG_FILE_NAME,
};
use oxeron_protocol::archive::{
    ArchiveErrorCode, AuthConnectRequest, StartRecordingRequest, StartRecordingRequest2,
    PROTOCOL_SEMANTIC_VERSION,
};

const LENGTH: usize = 200;

fn labels(fixture: &Fixture) -> Vec<String> {
    let reader = fixture.aeron.counters_reader();
    let mut labels = Vec::new();
    reader.for_each(|_, _, _, label| labels.push(label.to_string()));
    labels
}

#[test]
fn the_catalog_is_created_with_the_configured_capacity() {
    let mut fixture = Fixture::new();
    fixture.archive.take().unwrap().close();
    std::fs::remove_file(fixture.archive_dir.join(CATALOG_FILE_NAME)).unwrap();
    fixture.restart_archive_with(|ctx| ctx.catalog_capacity(4 * 1024 * 1024));
    let length = std::fs::metadata(fixture.archive_dir.join(CATALOG_FILE_NAME))
        .unwrap()
        .len();
    assert_eq!(length, 4 * 1024 * 1024);
    // A smaller setting never shrinks a catalog that exists.
    fixture.restart_archive_with(|ctx| ctx.catalog_capacity(64 * 1024));
    let length = std::fs::metadata(fixture.archive_dir.join(CATALOG_FILE_NAME))
        .unwrap()
        .len();
    assert_eq!(length, 4 * 1024 * 1024);
}

#[test]
fn the_mark_file_lives_in_its_own_directory_with_a_link_to_it() {
    let mut fixture = Fixture::new();
    let mark_dir = fixture.archive_dir.with_file_name("marks");
    fixture.restart_archive_with(|ctx| ctx.mark_file_dir(&mark_dir));
    assert!(mark_dir.join(ARCHIVE_MARK_FILE_NAME).exists());
    let link = std::fs::read_to_string(fixture.archive_dir.join(ARCHIVE_MARK_LINK_FILE_NAME))
        .expect("link file in the archive directory");
    assert_eq!(
        std::path::PathBuf::from(link),
        mark_dir.canonicalize().unwrap()
    );
    assert_eq!(
        oxeron_archive::resolve_mark_file_dir(&fixture.archive_dir).unwrap(),
        mark_dir.canonicalize().unwrap()
    );

    // A second archive on the same directory finds the live mark file through the link and is refused.
    let second = oxeron_archive::server::Archive::launch(fixture.archive_context());
    let error = second.expect_err("a second archive on a live directory");
    assert!(error.to_string().contains("archive-mark.dat"), "{error}");

    // Back in the archive directory, the link goes away.
    fixture.restart_archive_with(|ctx| ctx);
    assert!(!fixture
        .archive_dir
        .join(ARCHIVE_MARK_LINK_FILE_NAME)
        .exists());
    assert!(fixture.archive_dir.join(ARCHIVE_MARK_FILE_NAME).exists());
}

#[test]
fn the_error_buffer_has_the_configured_length_and_less_than_a_mebibyte_is_refused() {
    let mut fixture = Fixture::new();
    fixture.restart_archive_with(|ctx| ctx.error_buffer_length(2 * ERROR_BUFFER_LENGTH_DEFAULT));
    let mark = ArchiveMarkFile::open(&fixture.archive_dir).unwrap();
    let length = mark.with_header(|h| h.error_buffer_length).unwrap();
    assert_eq!(length as usize, 2 * ERROR_BUFFER_LENGTH_DEFAULT);
    let size = std::fs::metadata(fixture.archive_dir.join(ARCHIVE_MARK_FILE_NAME))
        .unwrap()
        .len();
    assert!(size >= 2 * ERROR_BUFFER_LENGTH_DEFAULT as u64, "{size}");

    let error = fixture
        .archive_context()
        .error_buffer_length(4096)
        .validate()
        .unwrap_err();
    assert!(
        error
            .to_string()
            .contains("AERON_ARCHIVE_ERROR_BUFFER_LENGTH"),
        "{error}"
    );
}

#[test]
fn a_recording_is_refused_when_storage_space_is_at_the_threshold() {
    let mut fixture = Fixture::new();
    fixture.restart_archive_with(|ctx| ctx.low_storage_space_threshold(u64::MAX / 2));
    let mut client = fixture.client();
    let error = client
        .start_recording("aeron:ipc", RECORDED_STREAM, SourceLocation::Local, false)
        .expect_err("no space left under the threshold");
    assert_eq!(error.error_code(), Some(ArchiveErrorCode::StorageSpace));
    assert!(
        error.to_string().contains("low storage threshold="),
        "{error}"
    );
    assert!(error.to_string().contains("<= usableSpace="), "{error}");

    // With room above the threshold the same request records.
    fixture.restart_archive_with(|ctx| ctx.low_storage_space_threshold(1024));
    let mut client = fixture.client();
    let (recording_id, _) = record(
        &mut client,
        &fixture.aeron,
        "aeron:ipc",
        RECORDED_STREAM,
        5,
        LENGTH,
    );
    assert_eq!(recording_id, 0);
}

#[test]
fn replay_and_control_streams_carry_the_configured_linger_and_term_geometry() {
    let mut fixture = Fixture::new();
    fixture.restart_archive_with(|ctx| {
        ctx.replay_linger_timeout(Duration::from_millis(1234))
            .control_term_buffer_length(128 * 1024)
            .control_mtu_length(4096)
            .control_term_buffer_sparse(false)
    });
    // Aeron's clients name their control term settings in the response channel; a bare channel gets the
    // archive's.
    let _responses = fixture.aeron.add_subscription("aeron:ipc", 4321).unwrap();
    let requests = connected_publication(&fixture.aeron, "aeron:ipc", 10);
    let connect = AuthConnectRequest {
        correlation_id: 1,
        response_stream_id: 4321,
        version: PROTOCOL_SEMANTIC_VERSION,
        response_channel: "aeron:ipc",
        encoded_credentials: &[],
        client_info: "name=bare",
    }
    .to_vec();
    wait_for("the connect request to be taken", || {
        requests.offer(&connect).is_ok()
    });
    wait_for(
        "a control response publication with the control term settings",
        || {
            labels(&fixture)
                .iter()
                .any(|l| l.contains("aeron:ipc?mtu=4096|term-length=131072|sparse=false"))
        },
    );

    let mut client = fixture.client();
    let (recording_id, _) = record(
        &mut client,
        &fixture.aeron,
        "aeron:ipc",
        RECORDED_STREAM,
        5,
        LENGTH,
    );
    let _replay = replay_ipc(&mut client, recording_id, 0, i64::MAX);
    wait_for("the replay publication", || {
        labels(&fixture)
            .iter()
            .any(|l| l.contains("linger=1234000000"))
    });
}

#[test]
fn a_client_names_its_control_term_settings_in_both_control_channels() {
    let fixture = Fixture::new();
    let _client = AeronArchive::connect(
        fixture
            .client_context()
            .control_term_buffer_length(256 * 1024)
            .control_mtu_length(8192)
            .control_term_buffer_sparse(false),
    )
    .unwrap();
    let labels = labels(&fixture);
    let with_settings = |l: &&String| {
        l.starts_with("pub-lmt")
            && l.contains("term-length=262144")
            && l.contains("mtu=8192")
            && l.contains("sparse=false")
    };
    // The client's request publication and the archive's response publication, which takes the client's.
    assert_eq!(
        labels.iter().filter(with_settings).count(),
        2,
        "{labels:#?}"
    );
}

/// Accepts sessions as the principal their credentials name.
struct AsCredentials;

impl Authenticator for AsCredentials {
    fn on_connect(&self, _control_session_id: i64, credentials: &[u8]) -> AuthDecision {
        AuthDecision::AcceptAs(credentials.to_vec())
    }
}

/// Only the principal "recorder" may start recordings.
struct RecordersOnly;

impl AuthorisationService for RecordersOnly {
    fn is_authorised(&self, protocol_id: i32, action_id: i32, principal: &[u8]) -> bool {
        assert_eq!(protocol_id, 101, "the archive's SBE schema id");
        let starts_recording = action_id == i32::from(StartRecordingRequest::TEMPLATE_ID)
            || action_id == i32::from(StartRecordingRequest2::TEMPLATE_ID);
        !starts_recording || principal == b"recorder"
    }
}

#[test]
fn deny_all_refuses_clients_as_they_connect() {
    let mut fixture = Fixture::new();
    fixture.restart_archive_with(|ctx| ctx.authorisation_service(DenyAll));
    let error = AeronArchive::connect(fixture.client_context())
        .expect_err("the archive id request of the connect is refused");
    assert_eq!(
        error.error_code(),
        Some(ArchiveErrorCode::UnauthorisedAction),
        "{error}"
    );
    assert!(error.to_string().contains("unauthorised action"), "{error}");
}

#[test]
fn the_authorisation_service_sees_each_request_with_the_sessions_principal() {
    let mut fixture = Fixture::new();
    fixture.restart_archive_with(|ctx| {
        ctx.authenticator(AsCredentials)
            .authorisation_service(RecordersOnly)
    });
    let connect = |credentials: &'static [u8]| {
        AeronArchive::connect(fixture.client_context().credentials(credentials)).expect("connect")
    };

    let mut reader = connect(b"reader");
    assert_eq!(reader.list_recordings(0, 10, |_| {}).unwrap(), 0);
    let error = reader
        .start_recording("aeron:ipc", RECORDED_STREAM, SourceLocation::Local, false)
        .expect_err("a reader may not record");
    assert!(matches!(
        error,
        ArchiveError::Archive {
            code: ArchiveErrorCode::UnauthorisedAction,
            ..
        }
    ));
    // The session goes on after a refusal.
    assert_eq!(reader.list_recordings(0, 10, |_| {}).unwrap(), 0);

    let mut recorder = connect(b"recorder");
    let (recording_id, _) = record(
        &mut recorder,
        &fixture.aeron,
        "aeron:ipc",
        RECORDED_STREAM,
        5,
        LENGTH,
    );
    assert_eq!(reader.list_recordings(0, 10, |_| {}).unwrap(), 1);
    assert_eq!(recording_id, 0);
}
