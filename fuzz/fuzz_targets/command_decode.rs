//! Feeds arbitrary bodies to the control-protocol decoders; whatever decodes must re-encode to bytes that
//! decode to the same message.
#![no_main]
use libfuzzer_sys::fuzz_target;
use oxeron_protocol::command::{Command, Response};

/// The first byte picks a type id: below 0x80 a command id (1..=0x12 plus a few just outside), from 0x80
/// a response id (0x0F01..=0x0F0D plus neighbours); 0xFF takes the next four bytes as a raw `i32`.
fn split(data: &[u8]) -> Option<(i32, &[u8])> {
    let (&selector, rest) = data.split_first()?;
    match selector {
        0xFF => {
            let (raw, body) = rest.split_first_chunk::<4>()?;
            Some((i32::from_le_bytes(*raw), body))
        }
        0x80.. => Some((0x0F00 + i32::from(selector % 0x10), rest)),
        _ => Some((i32::from(selector % 0x14), rest)),
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((msg_type_id, body)) = split(data) else {
        return;
    };
    if let Ok(cmd) = Command::decode(msg_type_id, body) {
        assert_eq!(cmd.msg_type_id(), msg_type_id);
        let bytes = cmd.to_vec();
        assert_eq!(bytes.len(), cmd.encoded_length());
        assert_eq!(Command::decode(msg_type_id, &bytes), Ok(cmd));
    }
    if let Ok(rsp) = Response::decode(msg_type_id, body) {
        assert_eq!(rsp.msg_type_id(), msg_type_id);
        let bytes = rsp.to_vec();
        assert_eq!(bytes.len(), rsp.encoded_length());
        assert_eq!(Response::decode(msg_type_id, &bytes), Ok(rsp));
    }
});
