//! The driver's command protocol spoken byte by byte, as an Aeron C or Java client would: unknown ids get
//! Aeron's error codes, garbage is logged and dropped, and the driver keeps serving.

use std::time::{Duration, Instant};

use oxeron_client::cnc_file::CncFile;
use oxeron_concurrent::broadcast::{BroadcastReceiver, CopyBroadcastReceiver};
use oxeron_concurrent::error_log::ErrorLogReader;
use oxeron_concurrent::ring_buffer::ManyToOneRingBuffer;
use oxeron_driver::{Context, MediaDriver, ThreadingMode};
use oxeron_protocol::command::{
    Command, Correlated, ErrorCode, PublicationCommand, RemoveCommand, Response,
};
use oxeron_testkit::temp_aeron_dir;

struct RawClient {
    ring: ManyToOneRingBuffer,
    receiver: CopyBroadcastReceiver,
    client_id: i64,
}

impl RawClient {
    fn new(cnc: &CncFile) -> Self {
        let ring = ManyToOneRingBuffer::new(cnc.to_driver_buffer().clone()).unwrap();
        let receiver = CopyBroadcastReceiver::new(
            BroadcastReceiver::new(cnc.to_clients_buffer().clone()).unwrap(),
        );
        let client_id = ring.next_correlation_id();
        RawClient {
            ring,
            receiver,
            client_id,
        }
    }

    fn correlated(&self) -> Correlated {
        Correlated {
            client_id: self.client_id,
            correlation_id: self.ring.next_correlation_id(),
        }
    }

    fn send(&self, command: &Command<'_>) {
        self.ring
            .write(command.msg_type_id(), &command.to_vec())
            .unwrap();
    }

    /// Waits for a response to `correlation_id` (an error or a success), skipping others.
    fn response_to(&mut self, correlation_id: i64) -> (i32, Vec<u8>) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let mut found = None;
            let _ = self.receiver.receive(|type_id, bytes| {
                let matches = match Response::decode(type_id, bytes) {
                    Ok(Response::Error(e)) => e.offending_command_correlation_id == correlation_id,
                    Ok(Response::OperationSuccess(s)) => s.correlation_id == correlation_id,
                    Ok(Response::PublicationReady(r)) => r.correlation_id == correlation_id,
                    _ => false,
                };
                if matches {
                    found = Some((type_id, bytes.to_vec()));
                }
            });
            if let Some(found) = found {
                return found;
            }
            assert!(Instant::now() < deadline, "no response to {correlation_id}");
            std::thread::sleep(Duration::from_micros(200));
        }
    }
}

#[test]
fn unknown_ids_and_garbage_get_errors_and_the_driver_keeps_serving() {
    let dir = temp_aeron_dir();
    let driver = MediaDriver::launch(
        Context::new()
            .aeron_dir(dir.path().join("aeron"))
            .threading_mode(ThreadingMode::Shared),
    )
    .unwrap();
    let cnc = CncFile::map(driver.aeron_dir()).unwrap();
    let mut client = RawClient::new(&cnc);

    let header = client.correlated();
    client.send(&Command::RemoveSubscription(RemoveCommand {
        correlated: header,
        registration_id: 424242,
    }));
    let (type_id, bytes) = client.response_to(header.correlation_id);
    let Ok(Response::Error(e)) = Response::decode(type_id, &bytes) else {
        panic!("expected ON_ERROR")
    };
    assert_eq!(e.error_code, ErrorCode::UnknownSubscription);
    assert!(e.error_message.contains("424242"), "{}", e.error_message);

    let header = client.correlated();
    client.send(&Command::RemovePublication(
        oxeron_protocol::command::RemovePublication {
            correlated: header,
            registration_id: 7,
            flags: 0,
        },
    ));
    let (type_id, bytes) = client.response_to(header.correlation_id);
    let Ok(Response::Error(e)) = Response::decode(type_id, &bytes) else {
        panic!("expected ON_ERROR")
    };
    assert_eq!(e.error_code, ErrorCode::UnknownPublication);

    // Garbage: a truncated ADD_PUBLICATION, a channel length pointing past the record, an unknown type.
    client.ring.write(0x01, &[1, 2, 3]).unwrap();
    let mut lying = Command::AddPublication(PublicationCommand {
        correlated: client.correlated(),
        stream_id: 1,
        channel: "aeron:ipc",
    })
    .to_vec();
    lying[20..24].copy_from_slice(&1000i32.to_le_bytes());
    client.ring.write(0x01, &lying).unwrap();
    client.ring.write(0x7777, &[0u8; 32]).unwrap();

    // Still serving.
    let header = client.correlated();
    client.send(&Command::AddPublication(PublicationCommand {
        correlated: header,
        stream_id: 1,
        channel: "aeron:ipc",
    }));
    let (type_id, bytes) = client.response_to(header.correlation_id);
    assert!(matches!(
        Response::decode(type_id, &bytes),
        Ok(Response::PublicationReady(_))
    ));

    let mut logged = Vec::new();
    ErrorLogReader::read(cnc.error_log_buffer(), 0, |_, _, _, text| {
        logged.push(text.to_string())
    });
    assert!(
        logged.iter().any(|t| t.contains("command 0x1")),
        "{logged:?}"
    );
    assert!(logged.iter().any(|t| t.contains("0x7777")), "{logged:?}");
    driver.close();
}
