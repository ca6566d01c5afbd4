//! node-core's [`Transport`] over a radio task's bounded channel, with the
//! node's own airtime accounted by node-core's [`DutyCycleBudget`].

use std::sync::Arc;

use node_core::packages::estimate::LinkRate;
use node_core::radio::{DUTY_CYCLE_WINDOW, DutyCycleBudget, LoraParams};
use node_core::{Capabilities, Duration, Instant, OutFrame, SendError, Transport};
use tokio::sync::mpsc;
use tokio::sync::mpsc::error::TrySendError;

use crate::meshtastic::proto::packet_airtime;
use crate::radio::{FixedRate, LinkState};

/// node-core's [`Transport`] over a radio task's bounded channel.
#[derive(Debug)]
pub struct ChannelTransport {
    frames: mpsc::Sender<OutFrame>,
    pub(super) state: Arc<LinkState>,
    capabilities: Capabilities,
    lora: LoraParams,
    now: Instant,
    hold_until: Instant,
    queued: u64,
    airtime: DutyCycleBudget,
    fixed_rate: Option<FixedRate>,
}

impl ChannelTransport {
    /// A transport pushing into `frames`.
    pub fn new(
        frames: mpsc::Sender<OutFrame>,
        state: Arc<LinkState>,
        capabilities: Capabilities,
        lora: LoraParams,
    ) -> Self {
        ChannelTransport {
            frames,
            state,
            capabilities,
            lora,
            now: Instant::ZERO,
            hold_until: Instant::ZERO,
            queued: 0,
            // Measured only: the radio enforces its own limit.
            airtime: DutyCycleBudget::new(DUTY_CYCLE_WINDOW, 100.0),
            fixed_rate: None,
        }
    }

    /// Frames take their bits over `rate` instead of LoRa time on air
    /// (a link of known capacity), for pacing and estimates.
    pub fn with_fixed_rate(mut self, rate: Option<FixedRate>) -> Self {
        self.fixed_rate = rate;
        self
    }

    fn frame_airtime(&self, payload_bytes: usize) -> Duration {
        match &self.fixed_rate {
            Some(r) => r.airtime(payload_bytes),
            None => packet_airtime(&self.lora, payload_bytes),
        }
    }

    /// Airtime of the frames accepted lately (the node's own estimate of
    /// its transmit duty cycle: LoRa time on air at the link's modem
    /// settings, relays by the radio not included).
    pub fn duty_cycle(&self) -> &DutyCycleBudget {
        &self.airtime
    }

    /// Sets the time `send` sees (the driver calls it before each node call).
    pub fn set_now(&mut self, now: Instant) {
        self.now = now;
    }

    /// Refuses frames with [`SendError::DutyCycle`] until `until`.
    pub fn hold_until(&mut self, until: Instant) {
        self.hold_until = self.hold_until.max(until);
    }

    /// Frames accepted so far.
    pub fn queued(&self) -> u64 {
        self.queued
    }

    /// What the link offers a package transfer, for estimates: LoRa at
    /// the link's modem settings with the EU868 10 % duty cycle (the
    /// strictest common limit; the radio enforces its region's own).
    /// On a link of known capacity: that rate, no duty limit, and the
    /// share of each full frame that is package data (the link's header
    /// and the fragment header are not).
    pub fn link_rate(&self) -> LinkRate {
        match &self.fixed_rate {
            Some(r) => {
                let payload = self.capabilities.max_payload_bytes;
                let data = payload.saturating_sub(node_core::wire::FRAGMENT_OVERHEAD);
                LinkRate {
                    bitrate_bps: r.bitrate_bps as f64,
                    duty_cycle: 1.0,
                    efficiency: data as f64 / (payload + r.frame_overhead_bytes) as f64,
                }
            }
            None => LinkRate::lora(&self.lora, LORA_DUTY_CYCLE),
        }
    }
}

/// The duty-cycle share package estimates assume on a LoRa link.
pub const LORA_DUTY_CYCLE: f64 = 0.1;

impl Transport for ChannelTransport {
    fn capabilities(&self) -> Capabilities {
        self.capabilities
    }

    fn airtime(&self, payload_bytes: usize) -> Duration {
        self.frame_airtime(payload_bytes)
    }

    fn queue_room(&self) -> usize {
        if !self.state.is_up() || self.now < self.hold_until {
            return 0;
        }
        self.frames.capacity().min(self.state.room())
    }

    fn channel_utilisation_pct(&self) -> Option<f64> {
        self.state.channel_utilisation_pct()
    }

    fn send(&mut self, frame: OutFrame) -> Result<(), SendError> {
        self.check(&frame)?;
        if !self.state.is_up() {
            return Err(SendError::Unavailable("radio link is down".into()));
        }
        if self.now < self.hold_until {
            return Err(SendError::DutyCycle);
        }
        let airtime = self.frame_airtime(frame.payload.len());
        match self.frames.try_send(frame) {
            Ok(()) => {
                self.queued += 1;
                self.airtime.record(self.now, airtime);
                Ok(())
            }
            Err(TrySendError::Full(_)) => Err(SendError::QueueFull),
            Err(TrySendError::Closed(_)) => {
                Err(SendError::Unavailable("radio task has stopped".into()))
            }
        }
    }
}
