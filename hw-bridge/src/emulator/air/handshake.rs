//! The config handshake: what a device sends a client that asks for its
//! configuration (`want_config_id`), in the firmware's order.

use crate::meshtastic::proto::{NODELESS_WANT_CONFIG_ID, pb};

use super::{Air, DeviceConfig};

impl Air {
    /// Answers `want_config_id`: MyInfo, the device's own NodeInfo,
    /// DeviceMetadata, 8 channels, every Config and ModuleConfig section,
    /// the other devices' NodeInfos (skipped for the nodeless id) and
    /// `config_complete_id`; the client is ready afterwards.
    pub(super) fn handshake(&mut self, device: usize, conn: u64, config_id: u32) {
        use pb::from_radio::PayloadVariant as V;
        self.devices[device].client = Some((conn, false));
        self.devices[device].stats.handshakes += 1;
        let me = self.devices[device].config.clone();
        let mut msgs = vec![
            V::MyInfo(pb::MyNodeInfo {
                my_node_num: me.node_num,
                min_app_version: 30200,
                pio_env: "okmesh-emulator".into(),
                nodedb_count: self.devices.len() as u32,
                ..Default::default()
            }),
            V::NodeInfo(node_info(&me, 0)),
            V::Metadata(pb::DeviceMetadata {
                firmware_version: "2.7.0.okmesh-emulator".into(),
                device_state_version: 24,
                has_pkc: false,
                hw_model: pb::HardwareModel::Portduino as i32,
                ..Default::default()
            }),
        ];
        for index in 0..8 {
            msgs.push(V::Channel(channel(index)));
        }
        for c in config_sections(self.config.duty_cycle_percent.is_some()) {
            msgs.push(V::Config(c));
        }
        for m in module_config_sections() {
            msgs.push(V::ModuleConfig(m));
        }
        if config_id != NODELESS_WANT_CONFIG_ID {
            let heard: Vec<usize> = self.hears[device].iter().copied().collect();
            for j in heard {
                msgs.push(V::NodeInfo(node_info(&self.devices[j].config, 0)));
            }
        }
        msgs.push(V::ConfigCompleteId(config_id));
        for m in msgs {
            self.send_to_client(device, m, false);
        }
        self.devices[device].client = Some((conn, true));
    }
}

fn node_info(d: &DeviceConfig, hops_away: u32) -> pb::NodeInfo {
    pb::NodeInfo {
        num: d.node_num,
        user: Some(pb::User {
            id: format!("!{:08x}", d.node_num),
            long_name: d.long_name.clone(),
            short_name: format!("{:04x}", d.node_num & 0xFFFF),
            hw_model: pb::HardwareModel::Portduino as i32,
            ..Default::default()
        }),
        hops_away: Some(hops_away),
        ..Default::default()
    }
}

fn channel(index: i32) -> pb::Channel {
    use pb::channel::Role;
    if index == 0 {
        pb::Channel {
            index,
            settings: Some(pb::ChannelSettings {
                // The default key ("AQ==") and the preset's default name.
                psk: vec![1],
                name: String::new(),
                ..Default::default()
            }),
            role: Role::Primary as i32,
        }
    } else {
        pb::Channel {
            index,
            settings: Some(pb::ChannelSettings::default()),
            role: Role::Disabled as i32,
        }
    }
}

fn config_sections(eu: bool) -> Vec<pb::Config> {
    use pb::config::{self, PayloadVariant as C};
    let region = if eu {
        config::lo_ra_config::RegionCode::Eu868
    } else {
        config::lo_ra_config::RegionCode::Us
    };
    [
        C::Device(config::DeviceConfig::default()),
        C::Position(config::PositionConfig::default()),
        C::Power(config::PowerConfig::default()),
        C::Network(config::NetworkConfig::default()),
        C::Display(config::DisplayConfig::default()),
        C::Lora(config::LoRaConfig {
            use_preset: true,
            modem_preset: config::lo_ra_config::ModemPreset::LongFast as i32,
            region: region as i32,
            hop_limit: u32::from(node_core::transport::DEFAULT_HOP_LIMIT),
            tx_enabled: true,
            ..Default::default()
        }),
        C::Bluetooth(config::BluetoothConfig::default()),
        C::Security(config::SecurityConfig::default()),
    ]
    .into_iter()
    .map(|v| pb::Config {
        payload_variant: Some(v),
    })
    .collect()
}

fn module_config_sections() -> Vec<pb::ModuleConfig> {
    use pb::module_config::{self as m, PayloadVariant as M};
    [
        M::Mqtt(m::MqttConfig::default()),
        M::Serial(m::SerialConfig::default()),
        M::ExternalNotification(m::ExternalNotificationConfig::default()),
        M::StoreForward(m::StoreForwardConfig::default()),
        M::RangeTest(m::RangeTestConfig::default()),
        M::Telemetry(m::TelemetryConfig::default()),
        M::CannedMessage(m::CannedMessageConfig::default()),
        M::Audio(m::AudioConfig::default()),
        M::RemoteHardware(m::RemoteHardwareConfig::default()),
        M::NeighborInfo(m::NeighborInfoConfig::default()),
        M::AmbientLighting(m::AmbientLightingConfig::default()),
        M::DetectionSensor(m::DetectionSensorConfig::default()),
        M::Paxcounter(m::PaxcounterConfig::default()),
    ]
    .into_iter()
    .map(|v| pb::ModuleConfig {
        payload_variant: Some(v),
    })
    .collect()
}
