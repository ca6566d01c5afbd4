//! A validated [`Scenario`] compiled into the simulator's own
//! [`sim::Config`]: the one place the file's shapes (optional values,
//! YAML-shaped faults, CSV rows) become the simulator's resolved types.

use node_core::TrafficConfig;
use node_core::radio::LoraParams;
use node_core::sync::{SyncConfig, TrickleConfig};
use sim::config::{
    CaptureRules, Config, FixedSite, MeshConfig, Modem, Placement, RadioConfig, Roles, Shadowing,
    Traffic,
};
use sim::fault::{Adversary, Fault as SimFault, Split};

use crate::schema::{AdversaryKind, Fault, Scenario, Topology};

impl Scenario {
    /// The simulator's configuration for this scenario: every default the
    /// file left out filled in, the publish schedule as resolved when it
    /// loaded. (A scenario is validated when it loads; compiling cannot
    /// fail.)
    pub fn sim_config(&self) -> Config {
        let r = &self.radio;
        let modem = match r.lora {
            Some(l) => Modem::Custom(LoraParams {
                preamble_symbols: l.preamble_symbols,
                ..LoraParams::meshtastic(
                    l.sf,
                    (l.bandwidth_khz * 1000.0).round() as u32,
                    l.coding_rate - 4,
                )
            }),
            None => Modem::Preset(r.preset),
        };
        let radio = RadioConfig {
            region: r.region,
            modem,
            frequency_mhz: r.frequency_mhz.unwrap_or(r.region.frequency_mhz()),
            tx_power_dbm: r.tx_power_dbm.unwrap_or(r.region.max_power_dbm()),
            antenna_gain_dbi: r.antenna_gain_dbi,
            antenna_height_m: r.antenna_height_m,
            noise_figure_db: r.noise_figure_db,
            path_loss: r.path_loss,
            shadowing: Shadowing {
                sigma_db: r.shadowing.sigma_db,
                reciprocal: r.shadowing.reciprocal,
            },
            capture_db: r.capture_db,
            capture: CaptureRules {
                sum_interference: r.capture.sum_interference,
                lock_first: r.capture.lock_first,
                interference_floor_db: r.capture.interference_floor_db.unwrap_or(-r.capture_db),
            },
            listen_before_talk: r.listen_before_talk,
            duty_cycle_pct: r.duty_cycle_pct.unwrap_or(r.region.duty_cycle_pct()),
        };
        let mesh = MeshConfig {
            hop_limit: self.mesh.hop_limit,
            queue_capacity: self.mesh.queue_capacity,
            max_queue_delay: self.mesh.max_queue_delay,
        };
        Config {
            name: self.name.clone(),
            seed: self.seed,
            duration: self.duration,
            radio,
            placement: placement(&self.topology),
            roles: Roles {
                routers: self.roles.routers.clone(),
                client_mute: self.roles.client_mute.clone(),
            },
            mesh,
            sync: SyncConfig {
                strategy: self.sync.strategy,
                trickle: TrickleConfig {
                    imin: self.sync.imin,
                    imax: self.sync.imax,
                    k: self.sync.k,
                },
                ask_jitter: self.sync.ask_jitter,
                serve_delay: self.sync.serve_delay,
                want_timeout: self.sync.want_timeout,
                quota: node_core::sync::QuotaConfig {
                    window: self.trust.window,
                    frames_per_peer: self.trust.frames_per_peer,
                    items_per_publisher: self.trust.items_per_publisher,
                    bytes_per_publisher: self.trust.bytes_per_publisher,
                },
                ..SyncConfig::default()
            },
            trust: node_core::identity::TrustPolicy {
                pinned: node_core::identity::PinnedKeys::new(),
                refuse_unknown: self.trust.refuse_unknown,
            },
            traffic: self.workload.traffic.as_ref().map(|t| Traffic {
                per_node: TrafficConfig {
                    mean_period: t.period,
                    payload_bytes: t.payload_bytes,
                    hop_limit: t.hop_limit.unwrap_or(mesh.hop_limit),
                },
                senders: t.senders.clone(),
            }),
            publications: self.workload.schedule.clone(),
            packages: self
                .workload
                .packages
                .iter()
                .map(|p| sim::config::PackageTransfer {
                    at: p.at,
                    size_bytes: p.size_bytes,
                    seed: p.seed,
                    piece_len_bytes: p.piece_bytes,
                    holders: p.holders.clone(),
                    requesters: p.requesters.clone(),
                })
                .collect(),
            signals: self
                .workload
                .signals
                .as_ref()
                .map(|s| s.plan.clone())
                .unwrap_or_default(),
            faults: self.faults.iter().map(fault).collect(),
            max_events: self.limits.max_events,
        }
    }
}

fn placement(t: &Topology) -> Placement {
    match t {
        Topology::Random {
            nodes,
            area_m,
            min_spacing_m,
            ensure_connected,
            connect_range_m,
        } => Placement::Random {
            nodes: *nodes,
            area_m: *area_m,
            min_spacing_m: *min_spacing_m,
            // Validation asks for a range whenever ensure_connected is on.
            connect_range_m: connect_range_m.filter(|_| *ensure_connected),
        },
        Topology::Grid { nodes, spacing_m } => Placement::Grid {
            nodes: *nodes,
            spacing_m: *spacing_m,
        },
        Topology::Clusters {
            nodes,
            area_m,
            towns,
            town_radius_m,
            rural_share,
            ensure_connected,
            connect_range_m,
        } => Placement::Clusters {
            nodes: *nodes,
            area_m: *area_m,
            towns: *towns,
            town_radius_m: *town_radius_m,
            rural_share: *rural_share,
            connect_range_m: connect_range_m.filter(|_| *ensure_connected),
        },
        Topology::Chain { nodes, spacing_m } => Placement::Chain {
            nodes: *nodes,
            spacing_m: *spacing_m,
        },
        Topology::Csv { nodes, .. } => Placement::Fixed(
            nodes
                .iter()
                .map(|c| FixedSite {
                    x_m: c.x_m,
                    y_m: c.y_m,
                    z_m: c.z_m,
                    role: c.role.unwrap_or_default(),
                })
                .collect(),
        ),
    }
}

fn fault(f: &Fault) -> SimFault {
    match f {
        Fault::Partition(p) => SimFault::Partition {
            at: p.at,
            heal_at: p.heal_at,
            // Validation asks for exactly one of the two; without either
            // every node stays in one group.
            split: match (&p.groups, p.line) {
                (Some(groups), _) => Split::Groups(groups.clone()),
                (None, Some(line)) => Split::Line(line),
                (None, None) => Split::Groups(Vec::new()),
            },
        },
        Fault::Heal(h) => SimFault::Heal { at: h.at },
        Fault::Crash(c) => SimFault::Crash {
            at: c.at,
            node: c.node,
            restart_after: c.restart_after,
        },
        Fault::Loss(l) => SimFault::Loss {
            from: l.from,
            until: l.until,
            probability: l.probability,
            links: l
                .links
                .as_ref()
                .map(|links| links.iter().map(|[a, b]| (*a, *b)).collect()),
        },
        Fault::Join(j) => SimFault::Join {
            at: j.at,
            node: j.node,
        },
        Fault::Adversary(a) => SimFault::Adversary {
            from: a.from,
            node: a.node,
            every: a.every,
            kind: match a.kind {
                AdversaryKind::Forger => Adversary::Forger,
                AdversaryKind::Replayer => Adversary::Replayer,
                AdversaryKind::Flooder => Adversary::Flooder {
                    frames: a.frames.unwrap_or(10),
                },
                // Validation asks for a victim.
                AdversaryKind::Censor => Adversary::Censor {
                    victim: a.victim.unwrap_or(0),
                    ids: a.ids.unwrap_or(50),
                },
            },
        },
    }
}

#[cfg(test)]
mod tests {
    use crate::resolve;

    /// A three-node chain scenario with one section written as `body`.
    fn with_section(section: &str, body: &str) -> Result<crate::Scenario, crate::ScenarioError> {
        crate::load_str(
            &format!(
                "name: t\nduration: 10m\n{section}: {body}\n\
                 topology: {{kind: chain, nodes: 3, spacing_m: 100}}\n"
            ),
            "t.yaml",
            None,
            &[],
        )
    }

    #[test]
    fn every_library_scenario_compiles_to_what_it_says() {
        for name in crate::library::names() {
            let s = resolve(name, &[]).unwrap_or_else(|e| panic!("{name}: {e}"));
            let c = s.sim_config();
            assert_eq!(c.node_count(), s.node_count(), "{name}");
            assert_eq!((c.seed, c.duration), (s.seed, s.duration), "{name}");
            assert_eq!(c.faults.len(), s.faults.len(), "{name}");
            assert_eq!(c.publications.len(), s.workload.schedule.len(), "{name}");
            assert_eq!(c.sync.strategy, s.sync.strategy, "{name}");
            assert_eq!(c.traffic.is_some(), s.workload.traffic.is_some(), "{name}");
        }
    }

    #[test]
    fn sync_timers_default_to_the_node_s_and_compile_when_set() {
        let load = |sync: &str| with_section("sync", sync);
        let node = node_core::sync::SyncConfig::default();
        let c = load("{}").unwrap().sim_config().sync;
        assert_eq!(
            (c.ask_jitter, c.serve_delay, c.want_timeout),
            (node.ask_jitter, node.serve_delay, node.want_timeout)
        );
        let c = load("{ask_jitter: 2s, serve_delay: 20s, want_timeout: 3m}")
            .unwrap()
            .sim_config()
            .sync;
        assert_eq!(c.ask_jitter, node_core::Duration::from_secs(2));
        assert_eq!(c.serve_delay, node_core::Duration::from_secs(20));
        assert_eq!(c.want_timeout, node_core::Duration::from_secs(180));
        let e = load("{want_timeout: 500ms}").unwrap_err().to_string();
        assert!(e.contains("sync.want_timeout: must be at least 1s"), "{e}");
    }

    #[test]
    fn capture_switches_compile_and_the_floor_follows_the_capture_threshold() {
        let load = |radio: &str| with_section("radio", radio);
        let c = load("{}").unwrap().sim_config().radio.capture;
        assert_eq!(c, sim::config::CaptureRules::default());
        assert_eq!(c.interference_floor_db, -6.0);
        let c = load("{capture_db: 8}").unwrap().sim_config().radio.capture;
        assert_eq!(c.interference_floor_db, -8.0, "follows capture_db");
        let c = load(
            "{capture: {sum_interference: false, lock_first: false, interference_floor_db: 0}}",
        )
        .unwrap()
        .sim_config()
        .radio
        .capture;
        assert!(!c.sum_interference && !c.lock_first);
        assert_eq!(c.interference_floor_db, 0.0);
        let e = load("{capture: {interference_floor_db: 3}}")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("radio.capture.interference_floor_db: must be within -30..=0 dB"),
            "{e}"
        );
        let e = load("{capture: {sum: false}}").unwrap_err().to_string();
        assert!(e.contains("unknown field `sum`"), "{e}");
    }

    #[test]
    fn defaults_come_from_the_region_and_traffic_inherits_the_hop_limit() {
        let s = crate::load_str(
            "name: t\nduration: 10m\nradio: {region: US915}\nmesh: {hop_limit: 5}\n\
             topology: {kind: chain, nodes: 3, spacing_m: 100}\n\
             workload: {traffic: {period: 1m, payload_bytes: 20}}\n",
            "t.yaml",
            None,
            &[],
        )
        .unwrap();
        let c = s.sim_config();
        assert_eq!(c.radio.frequency_mhz, 908.75);
        assert_eq!(c.radio.tx_power_dbm, 30.0);
        assert_eq!(c.radio.duty_cycle_pct, 100.0);
        assert_eq!(c.traffic.unwrap().per_node.hop_limit, 5);
    }
}
