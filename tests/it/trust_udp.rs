//! Issue 11's attack on the UDP testbed, replayed against signed items.
//!
//! Three `okmesh node` processes hear each other and a fourth address, the
//! attacker's, which speaks only in hand-built datagrams: a sync summary
//! that advertises a "new version" of the owner's design with
//! `seq = u32::MAX`, then the data fragments of that version — the owner's
//! key named as publisher, the signature made up. Every node must refuse it
//! and count it, and the owner's real next version must still land
//! everywhere.

use std::net::UdpSocket;
use std::time::{Duration as StdDuration, Instant as StdInstant};

use catalogue::{ContentId, ItemId, ItemKind, identify};
use hw_bridge::udp::DatagramRepr;
use node_core::identity::{Authorship, PublicKey, Signature};
use node_core::store::{StoredItem, VersionStamp};
use node_core::sync::{Fingerprint, data_frames, element_of, encode_stream, sketch};
use node_core::wire::{SyncFrame, Syndromes, syndrome_bytes};

use crate::field_support::{free_udp_ports, http_json, start_api_node};

const MANIFEST: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/corpus/okh/in-the-wild/Wakoma__nimble/okh.toml"
);

fn hex<const N: usize>(s: &str) -> [u8; N] {
    let mut out = [0u8; N];
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).expect("hex");
    }
    out
}

/// The one item a node lists: (id, seq, content, publisher key).
fn only_item(addr: &str) -> Option<(String, u64, String, String)> {
    let (code, v) = http_json(addr, "GET", "/items", b"");
    assert_eq!(code, 200, "{v}");
    let items = v.as_array().expect("a list");
    let i = items.first()?;
    assert_eq!(items.len(), 1, "{v}");
    Some((
        i["id"].as_str()?.to_owned(),
        i["seq"].as_u64()?,
        i["content"].as_str()?.to_owned(),
        i["publisher"].as_str()?.to_owned(),
    ))
}

fn wait_for(what: &str, deadline: StdDuration, mut cond: impl FnMut() -> bool) {
    let start = StdInstant::now();
    while !cond() {
        assert!(
            start.elapsed() < deadline,
            "not within {deadline:?}: {what}"
        );
        std::thread::sleep(StdDuration::from_millis(200));
    }
}

fn sync_stat(addr: &str, field: &str) -> u64 {
    let (_, s) = http_json(addr, "GET", "/status", b"");
    s["sync"][field]
        .as_u64()
        .unwrap_or_else(|| panic!("{field}: {s}"))
}

#[test]
fn a_forged_newer_version_sent_as_raw_datagrams_is_refused_and_the_owner_still_updates() {
    let ports = free_udp_ports(4);
    let attacker_port = ports[3];
    let addr = |p: u16| format!("127.0.0.1:{p}");
    let dirs = tempfile::tempdir().expect("temp dir");
    let nodes: Vec<_> = (0..3)
        .map(|i| {
            let peers: Vec<String> = ports
                .iter()
                .filter(|p| **p != ports[i])
                .map(|p| addr(*p))
                .collect();
            let radio = format!("udp:{},peers={}", addr(ports[i]), peers.join("+"));
            start_api_node(&radio, &dirs.path().join(format!("n{i}")), &[])
        })
        .collect();
    let api = |i: usize| nodes[i].1.as_str();

    // The owner publishes at node 0; every node holds it.
    let bytes = std::fs::read(MANIFEST).expect("a corpus manifest");
    let (code, v) = http_json(api(0), "POST", "/manifests?name=nimble.toml", &bytes);
    assert!(code == 201 || code == 200, "{code}: {v}");
    let first = only_item(api(0)).expect("published");
    wait_for(
        "every node holds version 1",
        StdDuration::from_secs(60),
        || (0..3).all(|i| only_item(api(i)).as_ref() == Some(&first)),
    );
    let (id_hex, seq, content_hex, owner_hex) = first.clone();
    let id = ItemId(hex(&id_hex));
    let owner = PublicKey::from_hex(&owner_hex).expect("publisher key");
    let held = element_of(
        ItemKind::Manifest,
        id,
        VersionStamp {
            seq: seq as u32,
            content: ContentId(hex(&content_hex)),
        },
    );

    // The forgery: the owner's design at seq u32::MAX with new content,
    // the owner's key named, a signature nobody made.
    let catalogue_id = identify(ItemKind::Manifest, &bytes, "nimble.toml", None).unwrap()[0].id;
    let forged_bytes =
        scenarios::workload::revise(&bytes, "nimble.toml", ItemKind::Manifest, catalogue_id, 99)
            .expect("revisable");
    let forged_content =
        identify(ItemKind::Manifest, &forged_bytes, "nimble.toml", None).unwrap()[0].content;
    let stamp = VersionStamp {
        seq: u32::MAX,
        content: forged_content,
    };
    let forged = StoredItem {
        kind: ItemKind::Manifest,
        id,
        stamp,
        name: "nimble".into(),
        format: catalogue::Format::Toml,
        bytes: forged_bytes,
        author: Some(Authorship {
            publisher: owner,
            signature: Signature([0x5a; 64]),
            timestamp: node_core::Instant::from_micros(1),
            catalogue_id,
            imported: false,
            tombstone: false,
        }),
    };
    let element = element_of(ItemKind::Manifest, id, stamp);
    let stream = encode_stream(&forged).expect("signed");

    // Hand-built datagrams from the attacker's address.
    let socket = UdpSocket::bind(addr(attacker_port)).expect("attacker socket");
    let send = |packet_id: u32, payload: Vec<u8>| {
        let d = DatagramRepr {
            from: node_core::NodeId(u32::from(attacker_port)),
            packet_id,
            dest: node_core::Destination::Broadcast,
            hop_limit: 0,
            hop_start: 0,
            payload,
        };
        for p in &ports[..3] {
            socket.send_to(&d.encode(), addr(*p)).expect("send");
        }
    };
    // A summary of "the nodes' set plus the forged element": each node
    // decodes the one difference and wants it from the attacker.
    let set = [held.0, element.0];
    let syn = syndrome_bytes(&sketch::syndromes(set, 1));
    let summary = SyncFrame::Summary {
        fingerprint: Fingerprint::default().with(held).with(element),
        count: 2,
        syndromes: Syndromes::from_bytes(&syn).expect("whole syndromes"),
    };
    send(1, summary.encode());
    std::thread::sleep(StdDuration::from_millis(300));
    let frames = data_frames(
        element,
        &stream,
        node_core::transport::MESHTASTIC_MAX_PAYLOAD_BYTES,
    );
    assert!(!frames.is_empty());
    for (i, data) in frames.into_iter().enumerate() {
        send(2 + i as u32, data);
    }
    wait_for(
        "every node counts the forgery",
        StdDuration::from_secs(20),
        || (0..3).all(|i| sync_stat(api(i), "forged") >= 1),
    );
    for i in 0..3 {
        assert_eq!(
            only_item(api(i)).as_ref(),
            Some(&first),
            "node {i} still holds the owner's version 1"
        );
    }

    // The owner's next version lands everywhere.
    let revised =
        scenarios::workload::revise(&bytes, "nimble.toml", ItemKind::Manifest, catalogue_id, 2)
            .expect("revisable");
    let (code, v) = http_json(api(0), "POST", "/manifests?name=nimble.toml", &revised);
    assert!(code == 201 || code == 200, "{code}: {v}");
    let second = only_item(api(0)).expect("published");
    assert_eq!((second.0.as_str(), second.1), (id_hex.as_str(), seq + 1));
    wait_for(
        "every node holds the owner's version 2",
        StdDuration::from_secs(60),
        || (0..3).all(|i| only_item(api(i)).as_ref() == Some(&second)),
    );
}
