//! Where the nodes are and who hears whom.
//!
//! Placement generators (uniform random, grid, clustered towns, chain, CSV)
//! give positions from the seed and the topology settings alone — never
//! from the radio, so a sweep over presets or powers compares the same
//! deployment, and connectivity is a result, never a reason to move a node.
//! The link budget (transmit power, antenna gains, path loss
//! and per-link shadowing drawn once from the seed) gives every directed
//! link a received power. Links that carry a decodable signal form the mesh
//! graph (petgraph) used for statistics; links down to the interference
//! floor are kept for the engine, which only ever looks at a sender's own
//! list — interference is never computed all-pairs.

mod hops;

use hops::Bfs;
pub use hops::HopProfile;

use node_core::radio::Role;
use petgraph::graph::{NodeIndex, UnGraph};
use serde::Serialize;

use crate::config::{Config, NodeSelection, Placement};
use crate::phy::capture::dbm_to_mw;
use crate::radio::RadioSetup;

/// One node's site.
#[derive(Clone, Copy, PartialEq, Debug, Serialize)]
pub struct Site {
    /// East, metres.
    pub x_m: f64,
    /// North, metres.
    pub y_m: f64,
    /// Antenna height, metres.
    pub z_m: f64,
    /// Meshtastic role.
    pub role: Role,
}

/// A directed link as the receiver hears the sender.
#[derive(Clone, Copy, PartialEq, Debug)]
pub struct Link {
    /// The receiver.
    pub to: u32,
    /// Received power, dBm.
    pub rssi_dbm: f64,
    /// Received power, mW (cached for interference sums).
    pub rssi_mw: f64,
    /// Whether the signal is at or above the receiver's sensitivity.
    pub decodable: bool,
}

/// Connectivity statistics of the mesh graph (links decodable in at least
/// one direction).
#[derive(Clone, PartialEq, Debug, Serialize)]
pub struct TopologyStats {
    /// Nodes.
    pub nodes: u32,
    /// Undirected links.
    pub links: u64,
    /// Links decodable in one direction only.
    pub asymmetric_links: u64,
    /// Smallest degree.
    pub degree_min: u32,
    /// Mean degree.
    pub degree_mean: f64,
    /// Largest degree.
    pub degree_max: u32,
    /// Connected components.
    pub components: u32,
    /// Nodes in the largest component.
    pub largest_component: u32,
    /// Longest shortest path in hops within the largest component (exact up
    /// to 3,000 nodes, a lower bound from 64 sources above).
    pub diameter_hops: u32,
    /// Whether `diameter_hops` is exact.
    pub diameter_exact: bool,
    /// Interference links per sender kept for the engine (mean).
    pub interference_links_mean: f64,
}

/// Why a topology could not be built.
#[derive(Clone, PartialEq, Debug, thiserror::Error)]
pub enum TopologyError {
    /// Random placement could not satisfy spacing or the connect range.
    #[error(
        "topology: could not place node {node} after {tries} tries ({why}); enlarge the area, reduce the spacing, lengthen connect_range_m or set ensure_connected: false"
    )]
    Placement {
        /// The node that did not fit.
        node: u32,
        /// How many positions were tried.
        tries: u32,
        /// What failed.
        why: &'static str,
    },
}

/// Positions, roles and the link lists of a mesh.
#[derive(Clone, Debug)]
pub struct Topology {
    sites: Vec<Site>,
    /// `links[link_start[i]..link_start[i + 1]]` are node i's outgoing links,
    /// sorted by receiver.
    link_start: Vec<u32>,
    links: Vec<Link>,
    graph: UnGraph<u32, ()>,
    /// The mesh graph's adjacency as flat lists, for fast breadth-first search.
    adjacency: Vec<Vec<u32>>,
}

const MAX_PLACEMENT_TRIES: u32 = 10_000;

/// Routers (and muted clients) given as a count go to the sites with the
/// most other sites within this distance, metres: where a planner looking
/// at a map of the deployment would put them. It is a distance on the map,
/// not a radio range, so the chosen sites are the same whatever the radio.
pub const SITE_NEIGHBOURHOOD_M: f64 = 2_000.0;

impl Topology {
    /// Builds the topology of a run: `config`'s placement and roles over
    /// `radio`'s link budget.
    pub fn build(config: &Config, radio: &RadioSetup) -> Result<Self, TopologyError> {
        let n = config.node_count() as usize;
        let height = config.radio.antenna_height_m;
        let mut rng = node_core::Rng::derive(config.seed, "topology", 0);
        let site = |x_m: f64, y_m: f64| Site {
            x_m,
            y_m,
            z_m: height,
            role: Role::Client,
        };
        let mut sites: Vec<Site> = Vec::with_capacity(n);
        match &config.placement {
            Placement::Chain { spacing_m, .. } => {
                sites.extend((0..n).map(|i| site(i as f64 * spacing_m, 0.0)));
            }
            Placement::Grid { spacing_m, .. } => {
                let cols = (n as f64).sqrt().ceil() as usize;
                sites.extend(
                    (0..n).map(|i| {
                        site((i % cols) as f64 * spacing_m, (i / cols) as f64 * spacing_m)
                    }),
                );
            }
            Placement::Fixed(nodes) => {
                sites.extend(nodes.iter().map(|c| Site {
                    x_m: c.x_m,
                    y_m: c.y_m,
                    z_m: c.z_m.unwrap_or(height),
                    role: c.role,
                }));
            }
            Placement::Random {
                area_m,
                min_spacing_m,
                connect_range_m,
                ..
            } => {
                let [w, h] = *area_m;
                place(
                    &mut sites,
                    n,
                    *min_spacing_m,
                    *connect_range_m,
                    height,
                    |rng| (rng.unit_f64() * w, rng.unit_f64() * h),
                    &mut rng,
                )?;
            }
            Placement::Clusters {
                area_m,
                towns,
                town_radius_m,
                rural_share,
                connect_range_m,
                ..
            } => {
                let [w, h] = *area_m;
                let centres: Vec<(f64, f64)> = (0..*towns)
                    .map(|_| {
                        (
                            w * (0.1 + 0.8 * rng.unit_f64()),
                            h * (0.1 + 0.8 * rng.unit_f64()),
                        )
                    })
                    .collect();
                let (share, r) = (*rural_share, *town_radius_m);
                place(
                    &mut sites,
                    n,
                    1.0,
                    *connect_range_m,
                    height,
                    |rng| {
                        if rng.chance(share) {
                            (rng.unit_f64() * w, rng.unit_f64() * h)
                        } else {
                            let (cx, cy) = centres[rng.below(centres.len() as u64) as usize];
                            (
                                rng.normal(cx, r).clamp(0.0, w),
                                rng.normal(cy, r).clamp(0.0, h),
                            )
                        }
                    },
                    &mut rng,
                )?;
            }
        }

        let (link_start, links) = compute_links(&sites, radio);
        let mut topo = Topology {
            sites,
            link_start,
            links,
            graph: UnGraph::default(),
            adjacency: Vec::new(),
        };
        topo.graph = topo.mesh_graph();
        topo.adjacency = (0..topo.len())
            .map(|i| {
                let mut v: Vec<u32> = topo
                    .graph
                    .neighbors(NodeIndex::new(i))
                    .map(|w| w.index() as u32)
                    .collect();
                v.sort_unstable();
                v
            })
            .collect();
        topo.assign_roles(config);
        Ok(topo)
    }

    /// Node sites, indexed by node id.
    pub fn sites(&self) -> &[Site] {
        &self.sites
    }

    /// Number of nodes.
    pub fn len(&self) -> usize {
        self.sites.len()
    }

    /// Whether there are no nodes.
    pub fn is_empty(&self) -> bool {
        self.sites.is_empty()
    }

    /// The links on which `node`'s transmissions reach the interference floor
    /// or better, sorted by receiver.
    pub fn links_from(&self, node: u32) -> &[Link] {
        let i = node as usize;
        &self.links[self.link_start[i] as usize..self.link_start[i + 1] as usize]
    }

    /// The directed link from `a` to `b`, if `b` hears `a` at all.
    pub fn link(&self, a: u32, b: u32) -> Option<&Link> {
        let l = self.links_from(a);
        l.binary_search_by_key(&b, |k| k.to).ok().map(|i| &l[i])
    }

    /// The mesh graph: an edge where a link is decodable in either direction.
    pub fn graph(&self) -> &UnGraph<u32, ()> {
        &self.graph
    }

    /// Hop distance from `from` to every node over the mesh graph
    /// (`u32::MAX` where unreachable).
    pub fn hops_from(&self, from: u32) -> Vec<u32> {
        let mut bfs = Bfs::new(self.len());
        bfs.run(&self.adjacency, from, u32::MAX);
        bfs.dist
    }

    /// The component (index, in order of lowest member) of every node.
    pub fn components(&self) -> Vec<u32> {
        self.components_with(&mut Bfs::new(self.len())).0
    }

    /// Size of a greedy connected dominating set of the largest component
    /// (Guha–Khuller, algorithm I): grow a tree from the best-connected
    /// node, each step blackening the tree neighbour that covers the most
    /// uncovered nodes. A broadcast needs at least a minimum CDS's worth of
    /// transmissions; this greedy set is within a log factor of it and is
    /// the yardstick for dissemination efficiency.
    pub fn greedy_cds_size(&self) -> u32 {
        let comp = self.components();
        let n = self.len();
        let mut sizes = std::collections::BTreeMap::<u32, u32>::new();
        for c in &comp {
            *sizes.entry(*c).or_default() += 1;
        }
        let Some((&largest, &size)) = sizes
            .iter()
            .max_by_key(|(c, s)| (**s, std::cmp::Reverse(**c)))
        else {
            return 0;
        };
        if size <= 1 {
            return size;
        }
        #[derive(Clone, Copy, PartialEq)]
        enum Colour {
            White,
            Grey,
            Black,
        }
        let mut colour = vec![Colour::White; n];
        let white_neighbours = |v: usize, colour: &[Colour]| {
            self.adjacency[v]
                .iter()
                .filter(|w| colour[**w as usize] == Colour::White)
                .count()
        };
        let start = (0..n)
            .filter(|v| comp[*v] == largest)
            .max_by_key(|v| (self.adjacency[*v].len(), std::cmp::Reverse(*v)))
            .expect("a non-empty component");
        let blacken = |v: usize, colour: &mut Vec<Colour>| {
            colour[v] = Colour::Black;
            for w in &self.adjacency[v] {
                if colour[*w as usize] == Colour::White {
                    colour[*w as usize] = Colour::Grey;
                }
            }
        };
        blacken(start, &mut colour);
        let mut black = 1;
        loop {
            let best = (0..n)
                .filter(|v| colour[*v] == Colour::Grey)
                .map(|v| (white_neighbours(v, &colour), std::cmp::Reverse(v)))
                .max();
            match best {
                Some((gain, std::cmp::Reverse(v))) if gain > 0 => {
                    blacken(v, &mut colour);
                    black += 1;
                }
                _ => return black,
            }
        }
    }

    /// Degree, component and diameter statistics.
    pub fn stats(&self) -> TopologyStats {
        self.hop_profile(None).stats
    }

    /// The mesh graph's edges: every pair of nodes with a link decodable in
    /// at least one direction, once, as (lower, higher) id, sorted.
    ///
    /// Each edge is taken from a decodable directed link: `a → b` gives the
    /// edge unless `b → a` is decodable too and `b < a` (then `b`'s list gave
    /// it already). A link decodable only from the higher id to the lower,
    /// whose other direction is below the interference floor and so in no
    /// list at all, is an edge like any other.
    pub fn mesh_edges(&self) -> Vec<(u32, u32)> {
        let mut edges = Vec::with_capacity(self.links.len() / 2);
        for a in 0..self.len() as u32 {
            for l in self.links_from(a).iter().filter(|l| l.decodable) {
                let b = l.to;
                if a < b || !self.link(b, a).is_some_and(|back| back.decodable) {
                    edges.push((a.min(b), a.max(b)));
                }
            }
        }
        edges.sort_unstable();
        edges
    }

    fn mesh_graph(&self) -> UnGraph<u32, ()> {
        let n = self.len();
        let mut g = UnGraph::with_capacity(n, self.links.len() / 2);
        for i in 0..n {
            g.add_node(i as u32);
        }
        for (a, b) in self.mesh_edges() {
            g.add_edge(NodeIndex::new(a as usize), NodeIndex::new(b as usize), ());
        }
        g
    }

    fn assign_roles(&mut self, config: &Config) {
        let n = self.len() as u32;
        let neighbourhood = site_neighbourhoods(&self.sites, SITE_NEIGHBOURHOOD_M);
        let pick = |sel: &NodeSelection| -> Vec<u32> {
            match sel {
                NodeSelection::Nodes(ids) => ids.clone(),
                NodeSelection::Count(k) => {
                    // The sites with the most others around them first: where
                    // a planner would put routers (the map, not the radio).
                    let mut by_crowd: Vec<u32> = (0..n).collect();
                    by_crowd.sort_by_key(|v| (std::cmp::Reverse(neighbourhood[*v as usize]), *v));
                    by_crowd.truncate(*k as usize);
                    by_crowd
                }
            }
        };
        // Ids outside the mesh select nobody (a scenario file checks them).
        for v in pick(&config.roles.routers) {
            if let Some(site) = self.sites.get_mut(v as usize) {
                site.role = Role::Router;
            }
        }
        for v in pick(&config.roles.client_mute) {
            if let Some(site) = self.sites.get_mut(v as usize) {
                site.role = Role::ClientMute;
            }
        }
    }
}

/// Places `n` nodes one by one, each at least `spacing_m` from the others
/// and, with a `connect_range_m`, within that distance of one already
/// placed. Only the seed and these settings decide where nodes go.
fn place(
    sites: &mut Vec<Site>,
    n: usize,
    spacing_m: f64,
    connect_range_m: Option<f64>,
    height: f64,
    mut draw: impl FnMut(&mut node_core::Rng) -> (f64, f64),
    rng: &mut node_core::Rng,
) -> Result<(), TopologyError> {
    let spacing2 = spacing_m * spacing_m;
    for i in 0..n {
        let mut tries = 0;
        loop {
            tries += 1;
            if tries > MAX_PLACEMENT_TRIES {
                let why = if connect_range_m.is_some() {
                    "no position within connect_range_m of the nodes placed"
                } else {
                    "no room at the minimum spacing"
                };
                return Err(TopologyError::Placement {
                    node: i as u32,
                    tries: MAX_PLACEMENT_TRIES,
                    why,
                });
            }
            let (x, y) = draw(rng);
            let cand = Site {
                x_m: x,
                y_m: y,
                z_m: height,
                role: Role::Client,
            };
            if sites.iter().any(|s| dist2(s, &cand) < spacing2) {
                continue;
            }
            if let Some(range) = connect_range_m
                && i > 0
                && !sites.iter().any(|s| dist2(s, &cand) <= range * range)
            {
                continue;
            }
            sites.push(cand);
            break;
        }
    }
    Ok(())
}

/// For each site, how many other sites lie within `range_m` (through a
/// grid of cells `range_m` wide, so not all pairs).
fn site_neighbourhoods(sites: &[Site], range_m: f64) -> Vec<u32> {
    let cell = range_m.max(1.0);
    let key = |s: &Site| ((s.x_m / cell).floor() as i64, (s.y_m / cell).floor() as i64);
    let mut cells: std::collections::BTreeMap<(i64, i64), Vec<u32>> =
        std::collections::BTreeMap::new();
    for (i, s) in sites.iter().enumerate() {
        cells.entry(key(s)).or_default().push(i as u32);
    }
    let range2 = range_m * range_m;
    sites
        .iter()
        .enumerate()
        .map(|(a, sa)| {
            let (cx, cy) = key(sa);
            let mut count = 0;
            for dx in -1..=1 {
                for dy in -1..=1 {
                    for &b in cells.get(&(cx + dx, cy + dy)).into_iter().flatten() {
                        if b as usize != a && dist2(sa, &sites[b as usize]) <= range2 {
                            count += 1;
                        }
                    }
                }
            }
            count
        })
        .collect()
}

fn dist2(a: &Site, b: &Site) -> f64 {
    let (dx, dy) = (a.x_m - b.x_m, a.y_m - b.y_m);
    dx * dx + dy * dy
}

/// All directed links at or above the interference floor, found through a
/// uniform grid of cells as wide as the longest possible link.
fn compute_links(sites: &[Site], radio: &RadioSetup) -> (Vec<u32>, Vec<Link>) {
    let n = sites.len();
    let cell = radio.max_interference_range_m.max(1.0);
    let (min_x, min_y) = sites.iter().fold((f64::MAX, f64::MAX), |(x, y), s| {
        (x.min(s.x_m), y.min(s.y_m))
    });
    let key = |s: &Site| {
        (
            ((s.x_m - min_x) / cell) as i64,
            ((s.y_m - min_y) / cell) as i64,
        )
    };
    let mut cells: std::collections::BTreeMap<(i64, i64), Vec<u32>> =
        std::collections::BTreeMap::new();
    for (i, s) in sites.iter().enumerate() {
        cells.entry(key(s)).or_default().push(i as u32);
    }
    let range2 = cell * cell;
    let mut link_start = Vec::with_capacity(n + 1);
    let mut links = Vec::new();
    let mut near = Vec::new();
    for (a, sa) in sites.iter().enumerate() {
        link_start.push(links.len() as u32);
        let (cx, cy) = key(sa);
        near.clear();
        for dx in -1..=1 {
            for dy in -1..=1 {
                if let Some(v) = cells.get(&(cx + dx, cy + dy)) {
                    near.extend_from_slice(v);
                }
            }
        }
        near.sort_unstable();
        for &b in &near {
            let sb = &sites[b as usize];
            if b as usize == a || dist2(sa, sb) > range2 {
                continue;
            }
            let rssi = radio.rssi_dbm(sa, sb, a as u32, b);
            if rssi >= radio.interference_floor_dbm {
                links.push(Link {
                    to: b,
                    rssi_dbm: rssi,
                    rssi_mw: dbm_to_mw(rssi),
                    decodable: rssi >= radio.sensitivity_dbm,
                });
            }
        }
    }
    link_start.push(links.len() as u32);
    (link_start, links)
}
