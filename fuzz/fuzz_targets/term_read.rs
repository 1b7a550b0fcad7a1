//! Feeds arbitrary bytes as a term of a log buffer (which a subscriber maps and the publisher, another
//! process, writes) to the client's `read_term`, handing the fragments to a `FragmentAssembler` and a
//! `ControlledFragmentAssembler` as a subscription poll does.
//!
//! Input: a selector byte (term length 64 << (sel % 7) bytes; bits 3-7: the fragment limit), the initial
//! term id (i32), a start offset byte (x 32), then the term bytes. Missing bytes are 0. Asserts: nothing
//! panics; the read never goes back nor past the term end and delivers at most the limit; every payload
//! lies inside the term; reassembled messages are no longer than the term.
#![no_main]
use libfuzzer_sys::fuzz_target;
use oxeron_client::logbuffer::read_term;
use oxeron_client::{ControlledFragmentAssembler, ControlledPollAction, FragmentAssembler, Header};

#[path = "shared/readers.rs"]
mod readers;

fuzz_target!(|data: &[u8]| {
    let mut data = data;
    let selector = readers::next(&mut data);
    let term_length = 64usize << (selector % 7);
    let limit = usize::from(selector >> 3) + 1;
    let mut raw = [0u8; 4];
    for b in &mut raw {
        *b = readers::next(&mut data);
    }
    let initial_term_id = i32::from_le_bytes(raw);
    let start = (usize::from(readers::next(&mut data)) * 32) % term_length;
    let mut term_bytes = vec![0u8; term_length];
    let n = data.len().min(term_length);
    term_bytes[..n].copy_from_slice(&data[..n]);
    let term = readers::heap(&term_bytes);
    // Positions use the real term length's shift; the heap term is a short prefix of such a term.
    let shift = 16;

    let mut whole = 0usize;
    let mut assembler = FragmentAssembler::new(|message: &[u8], header: &Header| {
        assert!(message.len() <= term_length);
        let _ = header.position();
        whole += 1;
    });
    let mut fragments = 0usize;
    let mut handler = |payload: &[u8], header: &Header| {
        assert!(payload.len() + 32 <= term_length);
        assert!(header.frame_length() >= 32);
        let _ = (
            header.position(),
            header.term_length(),
            header.reserved_value(),
        );
        fragments += 1;
        assembler.on_fragment(payload, header);
    };
    let outcome = read_term(&term, start, limit, initial_term_id, shift, &mut handler);
    assert_eq!(outcome.fragments_read, fragments);
    assert!(outcome.fragments_read <= limit);
    assert!(outcome.offset >= start && outcome.offset <= term_length);
    assert!(whole <= fragments);

    let mut polls = 0u8;
    let mut controlled = ControlledFragmentAssembler::new(|message: &[u8], _: &Header| {
        assert!(message.len() <= term_length);
        polls = polls.wrapping_add(1);
        match polls % 4 {
            0 => ControlledPollAction::Abort,
            1 => ControlledPollAction::Break,
            2 => ControlledPollAction::Commit,
            _ => ControlledPollAction::Continue,
        }
    });
    let mut offset = start;
    for _ in 0..4 {
        let outcome = read_term(
            &term,
            offset,
            limit,
            initial_term_id,
            shift,
            &mut |payload: &[u8], header: &Header| {
                let _ = controlled.on_fragment(payload, header);
            },
        );
        assert!(outcome.offset >= offset && outcome.offset <= term_length);
        offset = outcome.offset;
    }
});
