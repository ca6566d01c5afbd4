//! The Meshtastic stream framing, sans-IO.
//!
//! Over serial and TCP, every protobuf (`ToRadio` towards the device,
//! `FromRadio` back) travels as `0x94 0xC3`, a big-endian `u16` length of at
//! most [`MAX_FRAME_PAYLOAD_BYTES`], then that many bytes. Anything between
//! frames is the device's debug console (plain text on serial).
//!
//! [`StreamDecoder`] turns bytes into frames and never stalls or panics,
//! whatever it is fed:
//!
//! * a header with an impossible length is a false start: the decoder
//!   rescans the bytes after its first `0x94`, so a real header hidden inside
//!   it is still found (the upstream 0.1.9 reader drops such frames);
//! * `0x94 0xC3` inside a payload is just payload: the length decides where
//!   a frame ends;
//! * a frame whose bytes stop arriving (a truncated write, a device reset)
//!   is abandoned after [`FRAME_TIMEOUT`] and the bytes after its start are
//!   rescanned, so frames that followed it are recovered instead of being
//!   swallowed as its payload;
//! * a frame the caller could not decode may be handed back with
//!   [`StreamDecoder::reject_frame`] for the same rescan.
//!
//! The decoder owns no clock: the caller passes `now` in and asks
//! [`StreamDecoder::poll_timeout`] when to call
//! [`StreamDecoder::handle_timeout`].

use std::collections::VecDeque;

use node_core::{Duration, Instant};

/// First byte of a frame header.
pub const START1: u8 = 0x94;
/// Second byte of a frame header.
pub const START2: u8 = 0xC3;
/// Header length: two magic bytes and the big-endian length.
pub const HEADER_BYTES: usize = 4;
/// Largest payload of one frame (firmware `MAX_TO_FROM_RADIO_SIZE`).
pub const MAX_FRAME_PAYLOAD_BYTES: usize = 512;
/// A started frame whose remaining bytes have not arrived after this long is
/// abandoned. 512 bytes take 45 ms at 115200 baud, so a second is generous.
pub const FRAME_TIMEOUT: Duration = Duration::from_secs(1);
/// Longest debug-console line kept; longer lines are cut.
pub const MAX_LOG_LINE_BYTES: usize = 256;
/// Bytes written before the first frame on serial: wake a sleeping device
/// and push its parser back to looking for `START1` (the official clients
/// send the same 32 × `START2`).
pub const WAKE_BYTES: [u8; 32] = [START2; 32];

/// Why bytes were dropped from the stream.
#[derive(Clone, Copy, PartialEq, Eq, Debug, thiserror::Error)]
pub enum StreamError {
    /// A header announced more than [`MAX_FRAME_PAYLOAD_BYTES`].
    #[error(
        "frame header announces {len} bytes, more than the maximum of {MAX_FRAME_PAYLOAD_BYTES}"
    )]
    BadLength {
        /// The announced length.
        len: usize,
    },
    /// A frame stopped arriving before its announced length.
    #[error("frame truncated: {have} of {want} payload bytes arrived within the frame timeout")]
    Truncated {
        /// Payload bytes received.
        have: usize,
        /// Payload bytes announced.
        want: usize,
    },
    /// The caller could not decode a frame and handed it back.
    #[error("frame of {len} bytes rejected by the protobuf decoder")]
    Rejected {
        /// Payload length of the rejected frame.
        len: usize,
    },
    /// A frame to encode is larger than [`MAX_FRAME_PAYLOAD_BYTES`].
    #[error(
        "payload of {len} bytes does not fit a stream frame (maximum {MAX_FRAME_PAYLOAD_BYTES})"
    )]
    TooLong {
        /// The payload length.
        len: usize,
    },
}

/// What the decoder found.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum StreamEvent {
    /// A complete frame's payload (a protobuf, not yet decoded).
    Frame(Vec<u8>),
    /// A line of the device's debug console (bytes outside frames).
    LogLine(String),
    /// Bytes were dropped; decoding continues.
    Dropped(StreamError),
}

/// The result of one [`StreamDecoder::decode`] call.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Decoded {
    /// How many bytes of the input were consumed.
    pub consumed: usize,
    /// The event found, if any. `None` means the whole input was consumed
    /// and nothing is pending.
    pub event: Option<StreamEvent>,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum State {
    Start1,
    Start2,
    LenHi,
    LenLo,
    Payload { len: usize },
}

/// Counters since creation.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct StreamStats {
    /// Frames delivered.
    pub frames: u64,
    /// Headers with an impossible length.
    pub bad_lengths: u64,
    /// Frames abandoned after [`FRAME_TIMEOUT`].
    pub truncated: u64,
    /// Frames handed back with [`StreamDecoder::reject_frame`].
    pub rejected: u64,
    /// Bytes outside frames (console output and noise).
    pub stray_bytes: u64,
}

/// Sans-IO decoder of the Meshtastic stream; see the module docs.
#[derive(Debug)]
pub struct StreamDecoder {
    state: State,
    /// Header and payload bytes of the frame being read (≤ 4 + 512).
    buf: Vec<u8>,
    /// Bytes to scan again before new input, after a false start.
    replay: VecDeque<u8>,
    /// When the current frame started, to abandon it if it stalls.
    frame_started: Option<Instant>,
    /// The last frame delivered (header included), for `reject_frame`.
    last_frame: Vec<u8>,
    log_line: Vec<u8>,
    pending: Option<StreamEvent>,
    stats: StreamStats,
}

impl Default for StreamDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl StreamDecoder {
    /// A decoder looking for the first header.
    pub fn new() -> Self {
        StreamDecoder {
            state: State::Start1,
            buf: Vec::with_capacity(HEADER_BYTES + MAX_FRAME_PAYLOAD_BYTES),
            replay: VecDeque::new(),
            frame_started: None,
            last_frame: Vec::new(),
            log_line: Vec::new(),
            pending: None,
            stats: StreamStats::default(),
        }
    }

    /// Counters since creation.
    pub fn stats(&self) -> StreamStats {
        self.stats
    }

    /// Consumes bytes from `input` until one event is found or the input is
    /// exhausted. Call it in a loop, advancing `input` by `consumed`, until
    /// it returns `event: None`:
    ///
    /// ```
    /// # use hw_bridge::meshtastic::stream::StreamDecoder;
    /// # use node_core::Instant;
    /// let mut dec = StreamDecoder::new();
    /// let mut input: &[u8] = &[0x94, 0xC3, 0, 2, 8, 1];
    /// let mut frames = Vec::new();
    /// loop {
    ///     let d = dec.decode(Instant::ZERO, input);
    ///     input = &input[d.consumed..];
    ///     match d.event {
    ///         Some(e) => frames.push(e),
    ///         None => break,
    ///     }
    /// }
    /// assert_eq!(frames.len(), 1);
    /// ```
    pub fn decode(&mut self, now: Instant, input: &[u8]) -> Decoded {
        if let Some(event) = self.pending.take() {
            return Decoded {
                consumed: 0,
                event: Some(event),
            };
        }
        while let Some(byte) = self.replay.pop_front() {
            if let Some(event) = self.step(now, byte) {
                return Decoded {
                    consumed: 0,
                    event: Some(event),
                };
            }
        }
        for (i, &byte) in input.iter().enumerate() {
            if let Some(event) = self.step(now, byte) {
                return Decoded {
                    consumed: i + 1,
                    event: Some(event),
                };
            }
            // A false start found while reading `input` queued bytes to
            // rescan; they come before the rest of the input.
            while let Some(byte) = self.replay.pop_front() {
                if let Some(event) = self.step(now, byte) {
                    return Decoded {
                        consumed: i + 1,
                        event: Some(event),
                    };
                }
            }
        }
        Decoded {
            consumed: input.len(),
            event: None,
        }
    }

    /// When [`StreamDecoder::handle_timeout`] should be called, if a frame is
    /// partly read.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.frame_started.map(|t| t + FRAME_TIMEOUT)
    }

    /// Abandons a frame that stopped arriving (see [`FRAME_TIMEOUT`]); the
    /// next [`StreamDecoder::decode`] call reports it and rescans its bytes.
    pub fn handle_timeout(&mut self, now: Instant) {
        let Some(deadline) = self.poll_timeout() else {
            return;
        };
        if now < deadline {
            return;
        }
        let (have, want) = match self.state {
            State::Payload { len } => (self.buf.len() - HEADER_BYTES, len),
            _ => (0, 0),
        };
        self.stats.truncated += 1;
        self.false_start();
        self.pending = Some(StreamEvent::Dropped(StreamError::Truncated { have, want }));
    }

    /// Hands back the last frame delivered because it did not decode: its
    /// bytes after the first are scanned again for a header, in case the
    /// frame was a false start that swallowed real frames.
    pub fn reject_frame(&mut self) {
        if self.last_frame.is_empty() {
            return;
        }
        self.stats.rejected += 1;
        self.stats.frames = self.stats.frames.saturating_sub(1);
        let len = self.last_frame.len() - HEADER_BYTES;
        // Bytes read since the frame (a partial next frame) come after it.
        let mut bytes: VecDeque<u8> = self.last_frame.drain(..).skip(1).collect();
        bytes.extend(self.buf.drain(..));
        bytes.extend(self.replay.drain(..));
        self.replay = bytes;
        self.state = State::Start1;
        self.frame_started = None;
        self.pending = Some(StreamEvent::Dropped(StreamError::Rejected { len }));
    }

    /// Drops the current header or partial frame and queues its bytes after
    /// the first for a rescan.
    fn false_start(&mut self) {
        let mut bytes: VecDeque<u8> = self.buf.drain(..).skip(1).collect();
        bytes.extend(self.replay.drain(..));
        self.replay = bytes;
        self.state = State::Start1;
        self.frame_started = None;
    }

    fn step(&mut self, now: Instant, byte: u8) -> Option<StreamEvent> {
        match self.state {
            State::Start1 => {
                if byte == START1 {
                    self.buf.clear();
                    self.buf.push(byte);
                    self.state = State::Start2;
                    self.frame_started = Some(now);
                    None
                } else {
                    self.stray(byte)
                }
            }
            State::Start2 => {
                if byte == START2 {
                    self.buf.push(byte);
                    self.state = State::LenHi;
                    None
                } else {
                    // The 0x94 was console noise; this byte may start a header.
                    let first = self.buf[0];
                    self.buf.clear();
                    self.state = State::Start1;
                    self.frame_started = None;
                    self.replay.push_front(byte);
                    self.stray(first)
                }
            }
            State::LenHi => {
                self.buf.push(byte);
                self.state = State::LenLo;
                None
            }
            State::LenLo => {
                self.buf.push(byte);
                let len = usize::from(u16::from_be_bytes([self.buf[2], self.buf[3]]));
                if len > MAX_FRAME_PAYLOAD_BYTES {
                    self.stats.bad_lengths += 1;
                    self.false_start();
                    return Some(StreamEvent::Dropped(StreamError::BadLength { len }));
                }
                self.state = State::Payload { len };
                if len == 0 { self.finish_frame() } else { None }
            }
            State::Payload { len } => {
                self.buf.push(byte);
                if self.buf.len() == HEADER_BYTES + len {
                    self.finish_frame()
                } else {
                    None
                }
            }
        }
    }

    fn finish_frame(&mut self) -> Option<StreamEvent> {
        self.stats.frames += 1;
        self.state = State::Start1;
        self.frame_started = None;
        self.last_frame.clear();
        self.last_frame.extend_from_slice(&self.buf);
        let payload = self.buf[HEADER_BYTES..].to_vec();
        self.buf.clear();
        Some(StreamEvent::Frame(payload))
    }

    /// A byte outside any frame: collect console text line by line.
    fn stray(&mut self, byte: u8) -> Option<StreamEvent> {
        self.stats.stray_bytes += 1;
        // Once bytes outside frames arrive, a rejected frame is history.
        self.last_frame.clear();
        match byte {
            b'\n' => {
                let line = String::from_utf8_lossy(&self.log_line)
                    .trim_end()
                    .to_owned();
                self.log_line.clear();
                if line.is_empty() {
                    None
                } else {
                    Some(StreamEvent::LogLine(line))
                }
            }
            b'\r' => None,
            _ => {
                if self.log_line.len() < MAX_LOG_LINE_BYTES {
                    self.log_line.push(byte);
                }
                None
            }
        }
    }
}

/// Appends one frame carrying `payload` to `out`.
pub fn encode_frame(payload: &[u8], out: &mut Vec<u8>) -> Result<(), StreamError> {
    if payload.len() > MAX_FRAME_PAYLOAD_BYTES {
        return Err(StreamError::TooLong { len: payload.len() });
    }
    out.reserve(HEADER_BYTES + payload.len());
    out.push(START1);
    out.push(START2);
    out.extend_from_slice(&(payload.len() as u16).to_be_bytes());
    out.extend_from_slice(payload);
    Ok(())
}

/// Feeds `input` at `now` and collects every event (tests and tools).
pub fn decode_all(dec: &mut StreamDecoder, now: Instant, mut input: &[u8]) -> Vec<StreamEvent> {
    let mut events = Vec::new();
    loop {
        let d = dec.decode(now, input);
        input = &input[d.consumed..];
        match d.event {
            Some(e) => events.push(e),
            None => return events,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn frame(payload: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        encode_frame(payload, &mut out).unwrap();
        out
    }

    fn frames_of(events: &[StreamEvent]) -> Vec<Vec<u8>> {
        events
            .iter()
            .filter_map(|e| match e {
                StreamEvent::Frame(f) => Some(f.clone()),
                _ => None,
            })
            .collect()
    }

    const T0: Instant = Instant::ZERO;

    #[test]
    fn frames_round_trip_back_to_back() {
        let mut bytes = frame(b"one");
        bytes.extend(frame(b""));
        bytes.extend(frame(&[7; 512]));
        let mut dec = StreamDecoder::new();
        let events = decode_all(&mut dec, T0, &bytes);
        assert_eq!(
            frames_of(&events),
            vec![b"one".to_vec(), vec![], vec![7; 512]]
        );
        assert_eq!(dec.poll_timeout(), None);
    }

    #[test]
    fn magic_bytes_inside_a_payload_are_payload() {
        let payload = [0x94, 0xC3, 0x94, 0xC3, 0x01, 0xFF, 0x94];
        let mut bytes = frame(&payload);
        bytes.extend(frame(b"next"));
        let events = decode_all(&mut StreamDecoder::new(), T0, &bytes);
        assert_eq!(frames_of(&events), vec![payload.to_vec(), b"next".to_vec()]);
    }

    #[test]
    fn byte_by_byte_feeding_gives_the_same_frames() {
        let mut bytes = frame(&[0x94, 0xC3, 0, 9]);
        bytes.extend(b"log\r\n");
        bytes.extend(frame(b"x"));
        let mut dec = StreamDecoder::new();
        let mut events = Vec::new();
        for b in &bytes {
            events.extend(decode_all(&mut dec, T0, std::slice::from_ref(b)));
        }
        assert_eq!(
            events,
            vec![
                StreamEvent::Frame(vec![0x94, 0xC3, 0, 9]),
                StreamEvent::LogLine("log".into()),
                StreamEvent::Frame(b"x".to_vec()),
            ]
        );
    }

    #[test]
    fn a_bad_length_resyncs_onto_a_header_inside_it() {
        // 0x94 0xC3 0x94 0xC3: length 0x94C3 is impossible; the real header
        // starts at the third byte.
        let mut bytes = vec![0x94, 0xC3];
        bytes.extend(frame(b"real"));
        let mut dec = StreamDecoder::new();
        let events = decode_all(&mut dec, T0, &bytes);
        assert_eq!(
            events,
            vec![
                StreamEvent::Dropped(StreamError::BadLength { len: 0x94C3 }),
                StreamEvent::Frame(b"real".to_vec()),
            ]
        );
        assert_eq!(dec.stats().bad_lengths, 1);
    }

    #[test]
    fn repeated_start1_before_start2_is_not_lost() {
        let mut bytes = vec![0x94];
        bytes.extend(frame(b"ok"));
        let events = decode_all(&mut StreamDecoder::new(), T0, &bytes);
        assert_eq!(frames_of(&events), vec![b"ok".to_vec()]);
    }

    #[test]
    fn a_truncated_frame_times_out_and_the_frames_after_it_are_recovered() {
        // A header promising 300 bytes, then only a real frame arrives.
        let mut bytes = vec![0x94, 0xC3, 0x01, 0x2C, 1, 2, 3];
        bytes.extend(frame(b"after"));
        let mut dec = StreamDecoder::new();
        let t1 = T0 + Duration::from_millis(10);
        assert!(
            decode_all(&mut dec, t1, &bytes).is_empty(),
            "waits for more"
        );
        let deadline = dec.poll_timeout().expect("a frame is pending");
        assert_eq!(deadline, t1 + FRAME_TIMEOUT);
        dec.handle_timeout(deadline.saturating_sub(Duration::from_micros(1)));
        assert!(decode_all(&mut dec, deadline, &[]).is_empty(), "not yet");
        dec.handle_timeout(deadline);
        let events = decode_all(&mut dec, deadline, &[]);
        assert_eq!(
            events,
            vec![
                StreamEvent::Dropped(StreamError::Truncated {
                    have: 3 + 4 + 5,
                    want: 300
                }),
                StreamEvent::Frame(b"after".to_vec()),
            ]
        );
        assert_eq!(dec.poll_timeout(), None);
    }

    #[test]
    fn a_rejected_frame_is_rescanned() {
        // Console noise that happens to look like a header of length 9
        // swallows the start of a real frame.
        let mut bytes = vec![0x94, 0xC3, 0x00, 0x09, b'z'];
        bytes.extend(frame(b"real"));
        let mut dec = StreamDecoder::new();
        let events = decode_all(&mut dec, T0, &bytes);
        assert_eq!(frames_of(&events).len(), 1);
        dec.reject_frame();
        let events = decode_all(&mut dec, T0, &[]);
        assert_eq!(
            events,
            vec![
                StreamEvent::Dropped(StreamError::Rejected { len: 9 }),
                StreamEvent::Frame(b"real".to_vec()),
            ]
        );
    }

    #[test]
    fn console_text_between_frames_becomes_log_lines() {
        let mut bytes = b"INFO | boot\r\n".to_vec();
        bytes.extend(frame(b"f"));
        bytes.extend(vec![b'a'; 1000]);
        bytes.push(b'\n');
        let events = decode_all(&mut StreamDecoder::new(), T0, &bytes);
        assert_eq!(events[0], StreamEvent::LogLine("INFO | boot".into()));
        assert_eq!(events[1], StreamEvent::Frame(b"f".to_vec()));
        let StreamEvent::LogLine(long) = &events[2] else {
            panic!("{events:?}")
        };
        assert_eq!(long.len(), MAX_LOG_LINE_BYTES);
    }

    #[test]
    fn encoding_refuses_oversized_payloads() {
        let mut out = Vec::new();
        assert_eq!(
            encode_frame(&[0; 513], &mut out),
            Err(StreamError::TooLong { len: 513 })
        );
        assert!(out.is_empty());
    }

    /// Pieces a hostile or broken stream is made of.
    fn piece() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            // a valid frame whose payload is dense in magic bytes
            proptest::collection::vec(prop_oneof![Just(0x94u8), Just(0xC3u8), any::<u8>()], 0..600)
                .prop_map(|p| {
                    let mut p = p;
                    p.truncate(MAX_FRAME_PAYLOAD_BYTES);
                    frame(&p)
                }),
            // a frame cut short
            (proptest::collection::vec(any::<u8>(), 1..100), 1usize..100).prop_map(|(p, cut)| {
                let f = frame(&p);
                f[..cut.min(f.len() - 1)].to_vec()
            }),
            // random bytes
            proptest::collection::vec(any::<u8>(), 0..64),
            // magic soup
            proptest::collection::vec(prop_oneof![Just(0x94u8), Just(0xC3u8)], 0..16),
        ]
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic_and_never_stall(
            chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..700), 0..8)
        ) {
            let mut dec = StreamDecoder::new();
            let mut now = T0;
            for chunk in &chunks {
                let _ = decode_all(&mut dec, now, chunk);
                now += Duration::from_millis(1);
            }
            // Silence: every pending frame is given up within the timeout, and
            // a valid frame sent afterwards is decoded.
            if let Some(t) = dec.poll_timeout() {
                prop_assert!(t <= now + FRAME_TIMEOUT);
                dec.handle_timeout(t);
                let _ = decode_all(&mut dec, t, &[]);
            }
            // Replayed bytes may hold another partial header; time it out too.
            for _ in 0..8 {
                match dec.poll_timeout() {
                    Some(t) => { dec.handle_timeout(t); let _ = decode_all(&mut dec, t, &[]); }
                    None => break,
                }
            }
            prop_assert_eq!(dec.poll_timeout(), None);
            let events = decode_all(&mut dec, now, &frame(b"canary"));
            prop_assert_eq!(frames_of(&events).last().cloned(), Some(b"canary".to_vec()));
        }

        #[test]
        fn valid_frames_survive_any_surrounding_garbage(
            pieces in proptest::collection::vec(piece(), 0..12),
            payload in proptest::collection::vec(prop_oneof![Just(0x94u8), Just(0xC3u8), any::<u8>()], 0..=512),
        ) {
            // Garbage, then a pause long enough to time out a truncated frame,
            // then a valid frame: the frame must come out intact.
            let mut dec = StreamDecoder::new();
            let garbage: Vec<u8> = pieces.concat();
            let _ = decode_all(&mut dec, T0, &garbage);
            let mut now = T0;
            while let Some(t) = dec.poll_timeout() {
                prop_assert!(t >= now, "deadlines never go back");
                now = t;
                dec.handle_timeout(now);
                let _ = decode_all(&mut dec, now, &[]);
            }
            let events = decode_all(&mut dec, now, &frame(&payload));
            prop_assert_eq!(frames_of(&events).last().cloned(), Some(payload));
        }

        #[test]
        fn split_points_do_not_change_the_result(
            payloads in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..80), 1..6),
            cuts in proptest::collection::vec(any::<usize>(), 0..10),
        ) {
            let bytes: Vec<u8> = payloads.iter().flat_map(|p| frame(p)).collect();
            let mut whole = StreamDecoder::new();
            let expect = decode_all(&mut whole, T0, &bytes);
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c % (bytes.len() + 1)).collect();
            cuts.sort_unstable();
            let mut dec = StreamDecoder::new();
            let mut got = Vec::new();
            let mut at = 0;
            for c in cuts.into_iter().chain([bytes.len()]) {
                got.extend(decode_all(&mut dec, T0, &bytes[at..c]));
                at = c;
            }
            prop_assert_eq!(frames_of(&got), payloads.clone());
            prop_assert_eq!(got, expect);
        }
    }
}
