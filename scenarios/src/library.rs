//! The library of ready scenarios, embedded in the binary.

/// `(name, YAML source)` of every library scenario.
pub const LIBRARY: &[(&str, &str)] = &[
    ("quickstart", include_str!("../library/quickstart.yaml")),
    (
        "meshtastic-default",
        include_str!("../library/meshtastic-default.yaml"),
    ),
    ("chain", include_str!("../library/chain.yaml")),
    (
        "partition-heal",
        include_str!("../library/partition-heal.yaml"),
    ),
    (
        "disaster-zone",
        include_str!("../library/disaster-zone.yaml"),
    ),
    (
        "crash-restart",
        include_str!("../library/crash-restart.yaml"),
    ),
    ("lossy", include_str!("../library/lossy.yaml")),
    ("late-joiner", include_str!("../library/late-joiner.yaml")),
    ("new-version", include_str!("../library/new-version.yaml")),
    (
        "adversary-forger",
        include_str!("../library/adversary-forger.yaml"),
    ),
    (
        "adversary-replayer",
        include_str!("../library/adversary-replayer.yaml"),
    ),
    (
        "adversary-flooder",
        include_str!("../library/adversary-flooder.yaml"),
    ),
    (
        "adversary-censor",
        include_str!("../library/adversary-censor.yaml"),
    ),
    ("demand", include_str!("../library/demand.yaml")),
];

/// The source of a library scenario.
pub fn get(name: &str) -> Option<&'static str> {
    LIBRARY.iter().find(|(n, _)| *n == name).map(|(_, s)| *s)
}

/// The names in the library.
pub fn names() -> impl Iterator<Item = &'static str> {
    LIBRARY.iter().map(|(n, _)| *n)
}
