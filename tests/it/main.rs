//! Integration tests.

mod field_support;
mod meshtastic_client;
mod meshtastic_emulated;
mod udp_testbed;
