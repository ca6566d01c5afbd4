//! node-core's [`Transport`] over a radio task's bounded channel, with the
//! node's own airtime accounted by node-core's [`DutyCycleBudget`].

use std::sync::Arc;

use node_core::packages::estimate::LinkRate;
use node_core::radio::{DUTY_CYCLE_WINDOW, DutyCycleBudget, LoraParams};
use node_core::{Capabilities, Duration, Instant, OutFrame, SendError, Transport};
use tokio::sync::mpsc;
use tokio::sync::mpsc::error::TrySendError;

use crate::meshtastic::proto::packet_airtime;
use crate::radio::LinkState;

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
    pub fn link_rate(&self) -> LinkRate {
        LinkRate::lora(&self.lora, LORA_DUTY_CYCLE)
    }
}

/// The duty-cycle share package estimates assume on a LoRa link.
pub const LORA_DUTY_CYCLE: f64 = 0.1;

impl Transport for ChannelTransport {
    fn capabilities(&self) -> Capabilities {
        self.capabilities
    }

    fn airtime(&self, payload_bytes: usize) -> Duration {
        packet_airtime(&self.lora, payload_bytes)
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
        let airtime = packet_airtime(&self.lora, frame.payload.len());
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
