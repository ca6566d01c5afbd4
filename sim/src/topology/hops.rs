//! Hop distances over the mesh graph: a breadth-first search with reused
//! buffers, and the one set of searches that gives the components, the
//! diameter and every node's within-hop-limit count.

use super::{Topology, TopologyStats};

/// What [`Topology::hop_profile`] finds.
#[derive(Clone, Debug)]
pub struct HopProfile {
    /// Degree, component and diameter statistics.
    pub stats: TopologyStats,
    /// Every node's component, numbered in order of lowest member.
    pub components: Vec<u32>,
    /// Per node, the other nodes within the hop limit + 1 hops (empty when
    /// no hop limit was asked for).
    pub within_hops: Vec<u32>,
}

/// Breadth-first search over adjacency lists with buffers reused between
/// searches (only what the last search visited is reset).
pub(super) struct Bfs {
    pub(super) dist: Vec<u32>,
    /// Nodes reached by the last search, in order of distance.
    pub(super) visited: Vec<u32>,
}

impl Bfs {
    pub(super) fn new(n: usize) -> Self {
        Bfs {
            dist: vec![u32::MAX; n],
            visited: Vec::with_capacity(n),
        }
    }

    /// Distances from `from`, up to `max_hops` (nodes further stay at
    /// `u32::MAX`).
    pub(super) fn run(&mut self, adjacency: &[Vec<u32>], from: u32, max_hops: u32) {
        let (dist, visited) = (&mut self.dist, &mut self.visited);
        for &v in visited.iter() {
            dist[v as usize] = u32::MAX;
        }
        visited.clear();
        dist[from as usize] = 0;
        visited.push(from);
        // `visited` doubles as the queue: nodes enter it in order of distance.
        let mut head = 0;
        while head < visited.len() {
            let v = visited[head] as usize;
            head += 1;
            let d = dist[v];
            if d >= max_hops {
                continue;
            }
            for &w in &adjacency[v] {
                let slot = &mut dist[w as usize];
                if *slot == u32::MAX {
                    *slot = d + 1;
                    visited.push(w);
                }
            }
        }
    }

    /// Nodes the last search reached within 1 to `hops` hops.
    pub(super) fn within(&self, hops: u32) -> u32 {
        // `visited` is in order of distance, the source first.
        let reached = self
            .visited
            .partition_point(|&v| self.dist[v as usize] <= hops);
        reached.saturating_sub(1) as u32
    }
}

impl Topology {
    /// Every node's component and each component's size, by one search per
    /// component.
    pub(super) fn components_with(&self, bfs: &mut Bfs) -> (Vec<u32>, Vec<u32>) {
        let mut component = vec![u32::MAX; self.len()];
        let mut sizes = Vec::new();
        for start in 0..self.len() {
            if component[start] != u32::MAX {
                continue;
            }
            let id = sizes.len() as u32;
            bfs.run(&self.adjacency, start as u32, u32::MAX);
            for &v in &bfs.visited {
                component[v as usize] = id;
            }
            sizes.push(bfs.visited.len() as u32);
        }
        (component, sizes)
    }

    /// [`Topology::stats`], every node's component and, given a hop limit
    /// `h`, how many other nodes each node has within `h + 1` hops (what a
    /// flood with hop limit `h` may cover), from one set of breadth-first
    /// searches: a 1,000-node run's setup searched the graph from every
    /// node three times over before.
    pub fn hop_profile(&self, hop_limit: Option<u8>) -> HopProfile {
        let n = self.len();
        let degrees: Vec<u32> = self.adjacency.iter().map(|a| a.len() as u32).collect();
        // Decodable one way only: counted from the decodable direction, as
        // the other may be below the interference floor and in no list.
        let mut asymmetric = 0;
        for a in 0..n as u32 {
            for l in self.links_from(a).iter().filter(|l| l.decodable) {
                if !self.link(l.to, a).is_some_and(|b| b.decodable) {
                    asymmetric += 1;
                }
            }
        }
        let mut bfs = Bfs::new(n);
        let (component, sizes) = self.components_with(&mut bfs);
        let (largest_id, largest) = sizes
            .iter()
            .enumerate()
            .max_by_key(|(i, s)| (**s, usize::MAX - i))
            .map_or((0, 0), |(i, s)| (i as u32, *s));
        let members: Vec<u32> = (0..n as u32)
            .filter(|v| component[*v as usize] == largest_id)
            .collect();
        let exact = members.len() <= 3_000;
        let sources: Vec<u32> = if exact {
            members.clone()
        } else {
            let step = members.len() / 64;
            members
                .iter()
                .step_by(step.max(1))
                .copied()
                .take(64)
                .collect()
        };
        // Within `h + 1` hops: taken from the diameter's searches where they
        // start at the node, else from a search cut at that depth.
        let reach = hop_limit.map(|h| u32::from(h) + 1);
        let mut within = vec![0u32; if reach.is_some() { n } else { 0 }];
        let mut counted = vec![false; within.len()];
        let mut diameter = 0;
        for &s in &sources {
            bfs.run(&self.adjacency, s, u32::MAX);
            let far = bfs.visited.last().map_or(0, |&v| bfs.dist[v as usize]);
            diameter = diameter.max(far);
            if let Some(r) = reach {
                within[s as usize] = bfs.within(r);
                counted[s as usize] = true;
            }
        }
        if let Some(r) = reach {
            for v in 0..n {
                if !counted[v] {
                    bfs.run(&self.adjacency, v as u32, r);
                    within[v] = bfs.within(r);
                }
            }
        }
        let stats = TopologyStats {
            nodes: n as u32,
            links: self.graph.edge_count() as u64,
            asymmetric_links: asymmetric,
            degree_min: degrees.iter().copied().min().unwrap_or(0),
            degree_mean: degrees.iter().map(|d| f64::from(*d)).sum::<f64>() / n.max(1) as f64,
            degree_max: degrees.iter().copied().max().unwrap_or(0),
            components: sizes.len() as u32,
            largest_component: largest,
            diameter_hops: diameter,
            diameter_exact: exact,
            interference_links_mean: self.links.len() as f64 / n.max(1) as f64,
        };
        HopProfile {
            stats,
            components: component,
            within_hops: within,
        }
    }
}
