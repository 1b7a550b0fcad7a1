//! The verifiable message stream the `publish` and `subscribe` commands exchange: message `n` carries `n`
//! and bytes derived from it, so a receiver can check order and content without a copy of what was sent.

/// Fills `buffer` with message `sequence`: the sequence number (little-endian) then a derived pattern.
pub fn fill(buffer: &mut [u8], sequence: u64) {
    let n = buffer.len().min(8);
    buffer[..n].copy_from_slice(&sequence.to_le_bytes()[..n]);
    for (i, b) in buffer.iter_mut().enumerate().skip(8) {
        *b = (sequence as u8).wrapping_mul(31).wrapping_add(i as u8);
    }
}

/// Checks that `message` is message `expected` of length `length`; returns what is wrong otherwise.
pub fn check(message: &[u8], expected: u64, length: usize) -> Result<(), String> {
    if message.len() != length {
        return Err(format!(
            "message {expected}: length {} instead of {length}",
            message.len()
        ));
    }
    let mut want = vec![0u8; length];
    fill(&mut want, expected);
    if message != want.as_slice() {
        let got = if length >= 8 {
            u64::from_le_bytes(message[..8].try_into().unwrap())
        } else {
            u64::MAX
        };
        return Err(format!(
            "message {expected}: wrong bytes (carries sequence {got})"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filled_messages_check_and_others_do_not() {
        let mut m = [0u8; 32];
        fill(&mut m, 7);
        assert!(check(&m, 7, 32).is_ok());
        assert!(check(&m, 8, 32).unwrap_err().contains("sequence 7"));
        assert!(check(&m[..16], 7, 32).is_err());
    }
}
