//! Fuzzes the Meshtastic client with whatever a device (or line noise) may
//! send after connecting: it must never panic and must keep its limits.
#![no_main]

use hw_bridge::meshtastic::client::{ClientConfig, MAX_PENDING, MeshtasticClient};
use libfuzzer_sys::fuzz_target;
use node_core::{Destination, Duration, Instant, OutFrame, Priority};

fuzz_target!(|data: &[u8]| {
    let mut c = MeshtasticClient::new(
        ClientConfig {
            wake: true,
            config_id: 7,
            first_packet_id: 1,
        },
        Instant::ZERO,
    );
    let mut now = Instant::ZERO;
    for chunk in data.chunks(61) {
        c.handle_bytes(now, chunk);
        let _ = c.send(
            now,
            OutFrame {
                dest: Destination::Broadcast,
                hop_limit: 3,
                priority: Priority::Normal,
                payload: chunk.to_vec(),
            },
        );
        assert!(c.queue_room() <= MAX_PENDING);
        now += Duration::from_millis(u64::from(chunk[0]) * 50);
        if let Some(t) = c.poll_timeout() {
            if t <= now {
                c.handle_timeout(now);
            }
        }
        while c.poll_event().is_some() {}
        let _ = c.poll_transmit();
    }
});
