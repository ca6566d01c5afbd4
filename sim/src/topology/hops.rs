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

/// Up to this many nodes in the largest component the diameter is exact;
/// above it, a lower bound from 64 sources.
const EXACT_DIAMETER_MAX_NODES: usize = 3_000;

/// What [`reach_sets`] finds.
#[derive(Clone, PartialEq, Debug)]
pub(super) struct Reach {
    /// Per node, the largest hop distance to a node of its component.
    pub(super) eccentricity: Vec<u32>,
    /// Per node, the other nodes within the asked number of hops (empty
    /// when none was asked).
    pub(super) within: Vec<u32>,
}

/// Every node's eccentricity and, given `within_hops`, the other nodes
/// each has within that many hops, from the sets of nodes within `k` hops
/// of each node, one bit per node: within `k + 1` hops of `v` is `v`'s set
/// for `k` joined with each neighbour's. One round costs a few word
/// operations per (link, 64 nodes), and the rounds stop when no set grows
/// (after the diameter + 1), where a breadth-first search from every node
/// visited every link once per node: at 1,000 nodes about twelve times the
/// work. Exact: the same numbers as those searches (tested against them).
pub(super) fn reach_sets(adjacency: &[Vec<u32>], within_hops: Option<u32>) -> Reach {
    let n = adjacency.len();
    let words = n.div_ceil(64);
    let mut cur = vec![0u64; n * words];
    for v in 0..n {
        cur[v * words + v / 64] |= 1 << (v % 64);
    }
    let mut next = cur.clone();
    let mut eccentricity = vec![0u32; n];
    let count = |sets: &[u64]| -> Vec<u32> {
        sets.chunks_exact(words.max(1))
            .map(|set| set.iter().map(|w| w.count_ones()).sum::<u32>() - 1)
            .collect()
    };
    let mut within = None;
    let mut k = 0;
    loop {
        // `cur` holds the sets for `k` hops.
        if within.is_none() && within_hops == Some(k) {
            within = Some(count(&cur));
        }
        k += 1;
        let mut grew = false;
        for v in 0..n {
            let (own, rest) = (v * words, (v + 1) * words);
            let set = &mut next[own..rest];
            set.copy_from_slice(&cur[own..rest]);
            for &u in &adjacency[v] {
                let u = u as usize;
                for (a, b) in set.iter_mut().zip(&cur[u * words..(u + 1) * words]) {
                    *a |= *b;
                }
            }
            if *set != cur[own..rest] {
                eccentricity[v] = k;
                grew = true;
            }
        }
        std::mem::swap(&mut cur, &mut next);
        if !grew {
            break;
        }
    }
    // Asked for more hops than any set needed: the sets are complete.
    let within = match within_hops {
        Some(_) => within.unwrap_or_else(|| count(&cur)),
        None => Vec::new(),
    };
    Reach {
        eccentricity,
        within,
    }
}

impl Topology {
    /// Above [`EXACT_DIAMETER_MAX_NODES`] nodes: the diameter from a
    /// breadth-first search from every member of the largest component
    /// (`exact`) or from 64 of them spread over it, and the within-`reach`
    /// counts from those searches where they start at the node, else from
    /// a search cut at that depth.
    fn sampled_diameter(
        &self,
        bfs: &mut Bfs,
        members: &[u32],
        exact: bool,
        reach: Option<u32>,
    ) -> (u32, Vec<u32>) {
        let n = self.len();
        let sources: Vec<u32> = if exact {
            members.to_vec()
        } else {
            let step = members.len() / 64;
            members
                .iter()
                .step_by(step.max(1))
                .copied()
                .take(64)
                .collect()
        };
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
        (diameter, within)
    }

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
    /// flood with hop limit `h` may cover): a search per component, then
    /// the sets within `k` hops of every node (bit sets, exact) up to
    /// 3,000 nodes, breadth-first searches above.
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
        let exact = members.len() <= EXACT_DIAMETER_MAX_NODES;
        // Within `h + 1` hops: what a flood with hop limit `h` may cover.
        let reach = hop_limit.map(|h| u32::from(h) + 1);
        let (diameter, within) = if n <= EXACT_DIAMETER_MAX_NODES {
            let hops = reach_sets(&self.adjacency, reach);
            let diameter = members
                .iter()
                .map(|&v| hops.eccentricity[v as usize])
                .max()
                .unwrap_or(0);
            (diameter, hops.within)
        } else {
            self.sampled_diameter(&mut bfs, &members, exact, reach)
        };
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A random undirected graph of `n` nodes where each pair is linked
    /// with chance `p`, as adjacency lists.
    fn random_graph(n: usize, p: f64, seed: u64) -> Vec<Vec<u32>> {
        let mut rng = node_core::Rng::derive(seed, "graph", n as u64);
        let mut adjacency = vec![Vec::new(); n];
        for a in 0..n {
            for b in a + 1..n {
                if rng.chance(p) {
                    adjacency[a].push(b as u32);
                    adjacency[b].push(a as u32);
                }
            }
        }
        adjacency
    }

    #[test]
    fn reach_sets_give_what_a_search_from_every_node_gives() {
        let mut shapes = (0usize, 0usize); // (connected, in pieces)
        for (n, p) in [
            (0, 0.0),
            (1, 0.0),
            (2, 1.0),
            (7, 0.3),
            (63, 0.05),
            (64, 0.04),
            (65, 0.03),
            (130, 0.02),
            (200, 0.008),
            (300, 0.05),
        ] {
            for seed in 1..=3 {
                let adjacency = random_graph(n, p, seed);
                let mut bfs = Bfs::new(n);
                for hops in [None, Some(1), Some(2), Some(4), Some(400)] {
                    let reach = reach_sets(&adjacency, hops);
                    let mut pieces = false;
                    for v in 0..n {
                        bfs.run(&adjacency, v as u32, u32::MAX);
                        let far = bfs.visited.last().map_or(0, |&w| bfs.dist[w as usize]);
                        pieces |= bfs.visited.len() < n;
                        assert_eq!(reach.eccentricity[v], far, "n {n} seed {seed} node {v}");
                        match hops {
                            Some(h) => {
                                assert_eq!(reach.within[v], bfs.within(h), "n {n} node {v} {h}")
                            }
                            None => assert!(reach.within.is_empty()),
                        }
                    }
                    if n > 2 && hops.is_none() {
                        if pieces {
                            shapes.1 += 1;
                        } else {
                            shapes.0 += 1;
                        }
                    }
                }
            }
        }
        assert!(
            shapes.0 > 3 && shapes.1 > 3,
            "both kinds of graph: {shapes:?}"
        );
    }
}
