//! Fuzzes the Meshtastic stream decoder: arbitrary bytes, cut into chunks at
//! arbitrary points and interleaved with timeouts and rejected frames, must
//! never panic, never stall, and must not keep a partial frame past the
//! timeout; a valid frame sent afterwards must come out intact.
#![no_main]

use hw_bridge::meshtastic::stream::{
    FRAME_TIMEOUT, MAX_FRAME_PAYLOAD_BYTES, StreamDecoder, StreamEvent, decode_all, encode_frame,
};
use libfuzzer_sys::fuzz_target;
use node_core::{Duration, Instant};

fuzz_target!(|data: &[u8]| {
    let mut dec = StreamDecoder::new();
    let mut now = Instant::ZERO;
    // The first byte of each chunk says how long it is and what happens
    // after it (a pause past the timeout, or a rejected frame).
    let mut rest = data;
    while let Some((&ctl, tail)) = rest.split_first() {
        let len = usize::from(ctl & 0x3F).min(tail.len());
        let (chunk, tail) = tail.split_at(len);
        rest = tail;
        for event in decode_all(&mut dec, now, chunk) {
            if let StreamEvent::Frame(f) = event {
                assert!(f.len() <= MAX_FRAME_PAYLOAD_BYTES);
                if ctl & 0x40 != 0 {
                    dec.reject_frame();
                }
            }
        }
        let _ = decode_all(&mut dec, now, &[]);
        if ctl & 0x80 != 0 {
            now += FRAME_TIMEOUT;
            dec.handle_timeout(now);
            let _ = decode_all(&mut dec, now, &[]);
        } else {
            now += Duration::from_millis(1);
        }
        if let Some(t) = dec.poll_timeout() {
            assert!(t <= now + FRAME_TIMEOUT, "a deadline beyond the frame timeout");
        }
    }
    // Silence until every partial frame is given up (each rescan is shorter
    // than the one before, so this ends).
    let mut rounds = 0;
    while let Some(t) = dec.poll_timeout() {
        now = now.max(t);
        dec.handle_timeout(now);
        let _ = decode_all(&mut dec, now, &[]);
        rounds += 1;
        assert!(rounds <= 4 * (MAX_FRAME_PAYLOAD_BYTES + 4), "timeouts never settle");
    }
    let mut frame = Vec::new();
    encode_frame(b"\x94\xC3canary\x94", &mut frame).unwrap();
    let events = decode_all(&mut dec, now, &frame);
    assert_eq!(
        events.last(),
        Some(&StreamEvent::Frame(b"\x94\xC3canary\x94".to_vec())),
        "a valid frame after garbage and silence is decoded"
    );
});
