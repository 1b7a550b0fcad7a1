#![no_main]
use libfuzzer_sys::fuzz_target;
use oxeron_protocol::frame::{
    data_frames, DataFrame, ErrorFrame, Frame, Nak, ResolutionFrame, ResponseSetup, Rttm, Setup,
    StatusMessage,
};

/// Decodes `bytes` with the typed decoder of `like`'s kind; the datagram-level minimum lengths of
/// `Frame::decode` do not apply to a re-encoded frame (e.g. a resolution frame with no entries).
fn redecode<'a>(like: &Frame<'_>, bytes: &'a [u8]) -> Frame<'a> {
    match like {
        Frame::Pad(_) => Frame::Pad(DataFrame::decode(bytes).unwrap()),
        Frame::Data(_) => Frame::Data(DataFrame::decode(bytes).unwrap()),
        Frame::Nak(_) => Frame::Nak(Nak::decode(bytes).unwrap()),
        Frame::StatusMessage(_) => Frame::StatusMessage(StatusMessage::decode(bytes).unwrap()),
        Frame::Error(_) => Frame::Error(ErrorFrame::decode(bytes).unwrap()),
        Frame::Setup(_) => Frame::Setup(Setup::decode(bytes).unwrap()),
        Frame::Rttm(_) => Frame::Rttm(Rttm::decode(bytes).unwrap()),
        Frame::Resolution(_) => Frame::Resolution(ResolutionFrame::decode(bytes).unwrap()),
        Frame::ResponseSetup(_) => Frame::ResponseSetup(ResponseSetup::decode(bytes).unwrap()),
    }
}

fuzz_target!(|data: &[u8]| {
    if let Ok(frame) = Frame::decode(data) {
        // Whatever decodes must encode to bytes that decode to the same frame.
        let bytes = frame.to_vec();
        assert_eq!(redecode(&frame, &bytes), frame);
    }
    let mut frames = 0usize;
    for item in data_frames(data) {
        frames += 1;
        assert!(frames <= data.len() / 32 + 1, "walker does not advance");
        if item.is_err() {
            break;
        }
    }
});
