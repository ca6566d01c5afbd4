//! The plots of one run: map, coverage, channel, airtime, latency.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::{
    GREY, LINK, PALETTE, Plot, PlotError, RAMP, TimeUnit, axes, canvas, err, legend, line_key,
    message, padded,
};

/// One node on the map.
#[derive(Clone, Copy, PartialEq, Debug)]
pub struct MapNode {
    /// East, m.
    pub x_m: f64,
    /// North, m.
    pub y_m: f64,
    /// The value the node is coloured by (`None`: never reached it).
    pub value: Option<f64>,
    /// Down at the end of the run.
    pub down: bool,
    /// Crashed at some time.
    pub crashed: bool,
    /// Partition group during the run's first partition (0: none).
    pub group: u16,
}

impl MapNode {
    /// Where the node stands on the map: km east, km north.
    fn at_km(&self) -> (f64, f64) {
        (self.x_m / 1000.0, self.y_m / 1000.0)
    }
}

/// The map of nodes and links.
#[derive(Clone, Debug)]
pub struct MapPlot {
    /// Title.
    pub title: String,
    /// What the colour means, e.g. `converged`.
    pub value_label: String,
    /// Unit of the value, e.g. `h` or `%`.
    pub value_unit: String,
    /// Whether a low value is good (times) or bad (shares): decides the ramp direction.
    pub low_is_good: bool,
    /// The nodes, by id.
    pub nodes: Vec<MapNode>,
    /// Undirected mesh links (node ids).
    pub links: Vec<(u32, u32)>,
}

impl MapPlot {
    /// Where the nodes that `keep` accepts stand, km.
    fn sites(&self, keep: impl Fn(&MapNode) -> bool) -> Vec<(f64, f64)> {
        self.nodes
            .iter()
            .filter(|n| keep(n))
            .map(MapNode::at_km)
            .collect()
    }
}

impl Plot for MapPlot {
    fn size(&self) -> (u32, u32) {
        (900, 800)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), PlotError> {
        if self.nodes.is_empty() {
            return message(root, &self.title, "no nodes");
        }
        let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
        for (x, y) in self.nodes.iter().map(MapNode::at_km) {
            x0 = x0.min(x);
            x1 = x1.max(x);
            y0 = y0.min(y);
            y1 = y1.max(y);
        }
        let mut chart = canvas(root, &self.title)?
            .build_cartesian_2d(padded(x0, x1), padded(y0, y1))
            .map_err(err)?;
        axes(&mut chart, "east (km)", "north (km)")
            .disable_mesh()
            .draw()
            .map_err(err)?;
        let at = |i: u32| self.nodes[i as usize].at_km();
        chart
            .draw_series(
                self.links
                    .iter()
                    .map(|&(a, b)| PathElement::new(vec![at(a), at(b)], LINK.stroke_width(1))),
            )
            .map_err(err)?;

        // Bins of the value: five equal steps from 0 to the largest value.
        let max = self
            .nodes
            .iter()
            .filter_map(|n| n.value)
            .fold(0f64, f64::max)
            .max(1e-9);
        let bin = |v: f64| ((v / max * 5.0) as usize).min(4);
        for b in 0..5 {
            let members = self.sites(|n| !n.down && n.value.is_some_and(|v| bin(v) == b));
            if members.is_empty() {
                continue;
            }
            let colour = if self.low_is_good {
                RAMP[b]
            } else {
                RAMP[4 - b]
            };
            let (lo, hi) = (max * b as f64 / 5.0, max * (b + 1) as f64 / 5.0);
            chart
                .draw_series(
                    members
                        .into_iter()
                        .map(move |p| Circle::new(p, 5, colour.filled())),
                )
                .map_err(err)?
                .label(format!(
                    "{} {:.1}–{:.1} {}",
                    self.value_label, lo, hi, self.value_unit
                ))
                .legend(move |(x, y)| Circle::new((x, y), 5, colour.filled()));
        }
        let never = self.sites(|n| !n.down && n.value.is_none());
        if !never.is_empty() {
            chart
                .draw_series(
                    never
                        .into_iter()
                        .map(|p| Cross::new(p, 6, RED.stroke_width(3))),
                )
                .map_err(err)?
                .label(format!("never {}", self.value_label))
                .legend(|(x, y)| Cross::new((x, y), 6, RED.stroke_width(3)));
        }
        let down = self.sites(|n| n.down);
        if !down.is_empty() {
            chart
                .draw_series(down.into_iter().map(|p| {
                    EmptyElement::at(p)
                        + Circle::new((0, 0), 5, GREY.filled())
                        + Cross::new((0, 0), 5, BLACK.stroke_width(2))
                }))
                .map_err(err)?
                .label("down at the end")
                .legend(|(x, y)| {
                    EmptyElement::at((x, y))
                        + Circle::new((0, 0), 5, GREY.filled())
                        + Cross::new((0, 0), 5, BLACK.stroke_width(2))
                });
        }
        let crashed = self.sites(|n| n.crashed);
        if !crashed.is_empty() {
            chart
                .draw_series(
                    crashed
                        .into_iter()
                        .map(|p| Circle::new(p, 8, BLACK.stroke_width(2))),
                )
                .map_err(err)?
                .label("crashed during the run")
                .legend(|(x, y)| Circle::new((x, y), 8, BLACK.stroke_width(2)));
        }
        let groups: std::collections::BTreeSet<u16> = self
            .nodes
            .iter()
            .map(|n| n.group)
            .filter(|g| *g > 0)
            .collect();
        for g in groups {
            let colour = PALETTE[(g as usize - 1) % PALETTE.len()];
            chart
                .draw_series(
                    self.nodes
                        .iter()
                        .filter(|n| n.group == g)
                        .map(|n| Circle::new(n.at_km(), 10, colour.stroke_width(2))),
                )
                .map_err(err)?
                .label(format!("partition group {g}"))
                .legend(move |(x, y)| Circle::new((x, y), 8, colour.stroke_width(2)));
        }
        legend(&mut chart, SeriesLabelPosition::UpperRight)
    }
}

/// Share of nodes holding each item over time.
#[derive(Clone, Debug)]
pub struct CoveragePlot {
    /// Title.
    pub title: String,
    /// Time axis unit.
    pub unit: TimeUnit,
    /// Run length, s.
    pub end_s: f64,
    /// Per item: (t s, coverage %) points.
    pub items: Vec<Vec<(f64, f64)>>,
}

impl Plot for CoveragePlot {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), PlotError> {
        if self.items.is_empty() {
            return message(
                root,
                &self.title,
                "no catalogue items were published in this run",
            );
        }
        let u = self.unit;
        let mut chart = canvas(root, &self.title)?
            .build_cartesian_2d(0f64..self.end_s / u.secs, 0f64..100f64)
            .map_err(err)?;
        axes(
            &mut chart,
            format!("time ({})", u.name),
            "nodes holding the newest version (%)",
        )
        .draw()
        .map_err(err)?;
        let thin = PALETTE[0].mix(0.35);
        for item in &self.items {
            chart
                .draw_series(LineSeries::new(
                    item.iter().map(|(t, c)| (t / u.secs, *c)),
                    thin.stroke_width(1),
                ))
                .map_err(err)?;
        }
        // The mean over items, on the items' common time points.
        let points = self.items.iter().map(Vec::len).max().unwrap_or(0);
        let mean: Vec<(f64, f64)> = (0..points)
            .filter_map(|k| {
                let t = self.items.iter().find_map(|i| i.get(k))?.0;
                let sum: f64 = self
                    .items
                    .iter()
                    .map(|i| i.get(k).map_or(0.0, |p| p.1))
                    .sum();
                Some((t / u.secs, sum / self.items.len() as f64))
            })
            .collect();
        chart
            .draw_series(LineSeries::new(mean, BLACK.stroke_width(3)))
            .map_err(err)?
            .label(format!("mean over {} items", self.items.len()))
            .legend(line_key(BLACK.stroke_width(3)));
        legend(&mut chart, SeriesLabelPosition::LowerRight)
    }
}

/// Channel utilisation over time.
#[derive(Clone, Debug)]
pub struct ChannelPlot {
    /// Title.
    pub title: String,
    /// Time axis unit.
    pub unit: TimeUnit,
    /// Bucket ends, s.
    pub t_s: Vec<f64>,
    /// Share of time busy per bucket, %.
    pub busy_pct: Vec<f64>,
    /// Per class: (name, airtime share per bucket, %).
    pub classes: Vec<(String, Vec<f64>)>,
}

impl Plot for ChannelPlot {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), PlotError> {
        if self.t_s.is_empty() {
            return message(root, &self.title, "no time buckets");
        }
        let u = self.unit;
        let n = self.t_s.len();
        let stacked: Vec<Vec<f64>> = (0..self.classes.len())
            .map(|c| {
                (0..n)
                    .map(|k| self.classes[..=c].iter().map(|(_, v)| v[k]).sum())
                    .collect()
            })
            .collect();
        let top = stacked
            .last()
            .into_iter()
            .flatten()
            .chain(&self.busy_pct)
            .fold(1f64, |a, b| a.max(*b));
        let end = self.t_s.last().copied().unwrap_or(1.0) / u.secs;
        let mut chart = canvas(root, &self.title)?
            .build_cartesian_2d(0f64..end, 0f64..top * 1.1)
            .map_err(err)?;
        axes(
            &mut chart,
            format!("time ({})", u.name),
            "share of time (%)",
        )
        .draw()
        .map_err(err)?;
        // Widest band first, so each narrower one is drawn over it.
        for c in (0..self.classes.len()).rev() {
            let colour = PALETTE[(c + 1) % PALETTE.len()];
            let points: Vec<(f64, f64)> = self
                .t_s
                .iter()
                .zip(&stacked[c])
                .map(|(t, v)| (t / u.secs, *v))
                .collect();
            chart
                .draw_series(AreaSeries::new(points, 0.0, colour.mix(0.55)))
                .map_err(err)?
                .label(format!("airtime: {}", self.classes[c].0))
                .legend(move |(x, y)| {
                    Rectangle::new([(x, y - 5), (x + 18, y + 5)], colour.mix(0.55).filled())
                });
        }
        chart
            .draw_series(LineSeries::new(
                self.t_s
                    .iter()
                    .zip(&self.busy_pct)
                    .map(|(t, v)| (t / u.secs, *v)),
                BLACK.stroke_width(2),
            ))
            .map_err(err)?
            .label("channel busy (≥ 1 transmission on air)")
            .legend(line_key(BLACK.stroke_width(2)));
        legend(&mut chart, SeriesLabelPosition::UpperRight)
    }
}

/// Airtime per node.
#[derive(Clone, Debug)]
pub struct AirtimePlot {
    /// Title.
    pub title: String,
    /// Per node: airtime share of the run, %.
    pub share_pct: Vec<f64>,
    /// Per node: largest share of any duty-cycle window, %.
    pub window_max_pct: Vec<f64>,
    /// The regional limit, % (0: none).
    pub limit_pct: f64,
}

impl Plot for AirtimePlot {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), PlotError> {
        if self.share_pct.is_empty() {
            return message(root, &self.title, "no nodes");
        }
        let n = self.share_pct.len() as f64;
        let top = self
            .share_pct
            .iter()
            .chain(&self.window_max_pct)
            .fold(self.limit_pct, |a, b| a.max(*b))
            .max(0.1);
        let mut chart = canvas(root, &self.title)?
            .build_cartesian_2d(-0.5f64..n - 0.5, 0f64..top * 1.1)
            .map_err(err)?;
        axes(&mut chart, "node", "transmitting (%)")
            .disable_x_mesh()
            .x_label_formatter(&|x| format!("{x:.0}"))
            .draw()
            .map_err(err)?;
        let bar = PALETTE[0];
        chart
            .draw_series(self.share_pct.iter().enumerate().map(|(i, v)| {
                let x = i as f64;
                Rectangle::new([(x - 0.4, 0.0), (x + 0.4, *v)], bar.filled())
            }))
            .map_err(err)?
            .label("airtime, share of the run")
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 14, y + 5)], bar.filled()));
        let dot = PALETTE[1];
        chart
            .draw_series(
                self.window_max_pct
                    .iter()
                    .enumerate()
                    .map(|(i, v)| Circle::new((i as f64, *v), 2, dot.filled())),
            )
            .map_err(err)?
            .label("largest share of any duty-cycle window")
            .legend(move |(x, y)| Circle::new((x, y), 3, dot.filled()));
        if self.limit_pct > 0.0 {
            chart
                .draw_series(LineSeries::new(
                    [(-0.5, self.limit_pct), (n - 0.5, self.limit_pct)],
                    RED.stroke_width(2),
                ))
                .map_err(err)?
                .label(format!("duty-cycle limit {} %", self.limit_pct))
                .legend(line_key(RED.stroke_width(2)));
        }
        legend(&mut chart, SeriesLabelPosition::UpperRight)
    }
}

/// Cumulative distributions of latencies.
#[derive(Clone, Debug)]
pub struct LatencyPlot {
    /// Title.
    pub title: String,
    /// Per kind: (label, (latency s, cumulative share)).
    pub series: Vec<(String, Vec<(f64, f64)>)>,
}

impl Plot for LatencyPlot {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), PlotError> {
        let points = self.series.iter().flat_map(|(_, p)| p.iter());
        let (lo, hi) = points.fold((f64::MAX, 0f64), |(lo, hi), (x, _)| {
            (lo.min(*x), hi.max(*x))
        });
        if hi <= 0.0 {
            return message(root, &self.title, "no latencies were recorded");
        }
        let lo = (lo * 0.8).max(1e-3);
        let hi = (hi * 1.25).max(lo * 10.0);
        let mut chart = canvas(root, &self.title)?
            .build_cartesian_2d((lo..hi).log_scale(), 0f64..100f64)
            .map_err(err)?;
        axes(
            &mut chart,
            "latency (s, log scale)",
            "share of deliveries within (%)",
        )
        .draw()
        .map_err(err)?;
        for (k, (label, pts)) in self.series.iter().enumerate() {
            if pts.is_empty() {
                continue;
            }
            let colour = PALETTE[k % PALETTE.len()];
            // A step function: the share holds until the next value.
            let mut steps = Vec::with_capacity(pts.len() * 2 + 1);
            steps.push((lo, 0.0));
            let mut prev = 0.0;
            for (x, q) in pts {
                steps.push((*x, prev));
                steps.push((*x, 100.0 * q));
                prev = 100.0 * q;
            }
            steps.push((hi, prev));
            chart
                .draw_series(LineSeries::new(steps, colour.stroke_width(2)))
                .map_err(err)?
                .label(label.clone())
                .legend(line_key(colour.stroke_width(2)));
        }
        legend(&mut chart, SeriesLabelPosition::LowerRight)
    }
}
