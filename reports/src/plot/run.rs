//! The plots of one run: map, coverage, channel, airtime, latency.

use std::ops::Range;

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
    /// A Meshtastic router.
    pub router: bool,
    /// Published some item's newest version.
    pub publisher: bool,
    /// Outside the island of some item's publisher: cannot get everything.
    pub unreachable: bool,
}

impl MapNode {
    /// Where the node stands on the map: km east, km north.
    fn at_km(&self) -> (f64, f64) {
        (self.x_m / 1000.0, self.y_m / 1000.0)
    }
}

/// The map of nodes and links, drawn to scale (one km is as long east as
/// north) over the whole zone.
#[derive(Clone, Debug)]
pub struct MapPlot {
    /// Title.
    pub title: String,
    /// What the colour means, e.g. `held everything`.
    pub value_label: String,
    /// Unit of the value, e.g. `h` or `%`.
    pub value_unit: String,
    /// Whether a low value is good (times) or bad (shares): decides the ramp direction.
    pub low_is_good: bool,
    /// The nodes, by id.
    pub nodes: Vec<MapNode>,
    /// Undirected mesh links (node ids).
    pub links: Vec<(u32, u32)>,
    /// The zone nodes were placed in, km east and north from (0, 0).
    pub zone_km: Option<(f64, f64)>,
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

    /// The km ranges to draw in a plotting area of `w_px` × `h_px`: the
    /// nodes and the zone, padded, and widened on one axis so that a km
    /// takes as many pixels east as north.
    pub fn extent(&self, w_px: f64, h_px: f64) -> (Range<f64>, Range<f64>) {
        let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
        let zone = self.zone_km.map(|(w, h)| [(0.0, 0.0), (w, h)]);
        for (x, y) in self
            .nodes
            .iter()
            .map(MapNode::at_km)
            .chain(zone.into_iter().flatten())
        {
            x0 = x0.min(x);
            x1 = x1.max(x);
            y0 = y0.min(y);
            y1 = y1.max(y);
        }
        let (xr, yr) = (padded(x0, x1), padded(y0, y1));
        let (xs, ys) = (xr.end - xr.start, yr.end - yr.start);
        // km per pixel on each axis; widen the axis with fewer.
        let scale = (xs / w_px.max(1.0)).max(ys / h_px.max(1.0));
        let grow = |r: Range<f64>, px: f64| {
            let extra = (scale * px - (r.end - r.start)) / 2.0;
            (r.start - extra)..(r.end + extra)
        };
        (grow(xr, w_px), grow(yr, h_px))
    }
}

/// Margin and label areas of the map (pixels), to work out its plotting area.
const MAP_MARGIN: u32 = 12;
const MAP_X_LABELS: u32 = 40;
const MAP_Y_LABELS: u32 = 62;

impl Plot for MapPlot {
    fn size(&self) -> (u32, u32) {
        (900, 860)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), PlotError> {
        if self.nodes.is_empty() {
            return message(root, &self.title, "no nodes");
        }
        root.fill(&WHITE).map_err(err)?;
        let area = root.titled(&self.title, (super::FAMILY, 22)).map_err(err)?;
        let (w, h) = area.dim_in_pixel();
        let (xr, yr) = self.extent(
            f64::from(w.saturating_sub(2 * MAP_MARGIN + MAP_Y_LABELS)),
            f64::from(h.saturating_sub(2 * MAP_MARGIN + MAP_X_LABELS)),
        );
        let mut chart = ChartBuilder::on(&area)
            .margin(MAP_MARGIN)
            .x_label_area_size(MAP_X_LABELS)
            .y_label_area_size(MAP_Y_LABELS)
            .build_cartesian_2d(xr, yr)
            .map_err(err)?;
        axes(&mut chart, "east (km)", "north (km)")
            .disable_mesh()
            .draw()
            .map_err(err)?;
        if let Some((zw, zh)) = self.zone_km {
            chart
                .draw_series(std::iter::once(PathElement::new(
                    vec![(0.0, 0.0), (zw, 0.0), (zw, zh), (0.0, zh), (0.0, 0.0)],
                    ZONE.stroke_width(2),
                )))
                .map_err(err)?
                .label(format!("zone {zw} × {zh} km"))
                .legend(|(x, y)| {
                    Rectangle::new([(x, y - 5), (x + 14, y + 5)], ZONE.stroke_width(2))
                });
        }
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
        let never = self.sites(|n| !n.down && n.value.is_none() && !n.unreachable);
        if !never.is_empty() {
            let k = never.len();
            chart
                .draw_series(
                    never
                        .into_iter()
                        .map(|p| Cross::new(p, 6, RED.stroke_width(3))),
                )
                .map_err(err)?
                .label(format!("never {} ({k})", self.value_label))
                .legend(|(x, y)| Cross::new((x, y), 6, RED.stroke_width(3)));
        }
        let unreachable = self.sites(|n| !n.down && n.unreachable);
        if !unreachable.is_empty() {
            let k = unreachable.len();
            chart
                .draw_series(unreachable.into_iter().map(|p| {
                    EmptyElement::at(p)
                        + Cross::new((0, 0), 6, OUT_OF_REACH.stroke_width(3))
                        + Rectangle::new([(-8, -8), (8, 8)], OUT_OF_REACH.stroke_width(1))
                }))
                .map_err(err)?
                .label(format!("out of reach of some publisher ({k})"))
                .legend(|(x, y)| {
                    EmptyElement::at((x, y))
                        + Cross::new((0, 0), 6, OUT_OF_REACH.stroke_width(3))
                        + Rectangle::new([(-8, -8), (8, 8)], OUT_OF_REACH.stroke_width(1))
                });
        }
        let routers = self.sites(|n| n.router);
        if !routers.is_empty() {
            let k = routers.len();
            chart
                .draw_series(routers.into_iter().map(|p| {
                    EmptyElement::at(p) + Rectangle::new([(-7, -7), (7, 7)], BLACK.stroke_width(2))
                }))
                .map_err(err)?
                .label(format!("router ({k})"))
                .legend(|(x, y)| {
                    EmptyElement::at((x, y))
                        + Rectangle::new([(-7, -7), (7, 7)], BLACK.stroke_width(2))
                });
        }
        let publishers = self.sites(|n| n.publisher);
        if !publishers.is_empty() {
            let k = publishers.len();
            chart
                .draw_series(
                    publishers
                        .into_iter()
                        .map(|p| TriangleMarker::new(p, 9, PUBLISHER.stroke_width(2))),
                )
                .map_err(err)?
                .label(format!("publisher ({k})"))
                .legend(|(x, y)| TriangleMarker::new((x, y), 9, PUBLISHER.stroke_width(2)));
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

/// The zone's outline.
const ZONE: RGBColor = RGBColor(60, 60, 60);
/// Nodes out of reach of some publisher.
const OUT_OF_REACH: RGBColor = RGBColor(190, 0, 190);
/// Publishers' triangles.
const PUBLISHER: RGBColor = RGBColor(230, 110, 0);

/// Share of nodes holding each item over time.
#[derive(Clone, Debug)]
pub struct CoveragePlot {
    /// Title.
    pub title: String,
    /// Time axis unit.
    pub unit: TimeUnit,
    /// Run length, s.
    pub end_s: f64,
    /// Per item: (t s, coverage %) points, from the item's first bucket.
    pub items: Vec<Vec<(f64, f64)>>,
    /// Per time bucket: (t s, mean coverage % over the items known by
    /// then) — by time, as `coverage.csv` has it, never by index.
    pub mean: Vec<(f64, f64)>,
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
        chart
            .draw_series(LineSeries::new(
                self.mean.iter().map(|(t, c)| (t / u.secs, *c)),
                BLACK.stroke_width(3),
            ))
            .map_err(err)?
            .label(format!(
                "mean over the {} items published by then",
                self.items.len()
            ))
            .legend(line_key(BLACK.stroke_width(3)));
        legend(&mut chart, SeriesLabelPosition::LowerRight)
    }
}

/// Channel utilisation over time, per node.
#[derive(Clone, Debug)]
pub struct ChannelPlot {
    /// Title.
    pub title: String,
    /// Time axis unit.
    pub unit: TimeUnit,
    /// Bucket ends, s.
    pub t_s: Vec<f64>,
    /// Per bucket: mean channel utilisation over the live nodes, %.
    pub node_mean_pct: Vec<f64>,
    /// Per bucket: the busiest node's channel utilisation, %.
    pub node_max_pct: Vec<f64>,
    /// Per class: (name, per bucket the mean share of a node's time spent
    /// transmitting that class, %).
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
            .chain(&self.node_max_pct)
            .chain(&self.node_mean_pct)
            .fold(1f64, |a, b| a.max(*b))
            .min(100.0);
        let end = self.t_s.last().copied().unwrap_or(1.0) / u.secs;
        let mut chart = canvas(root, &self.title)?
            .build_cartesian_2d(0f64..end, 0f64..top * 1.1)
            .map_err(err)?;
        axes(
            &mut chart,
            format!("time ({})", u.name),
            "share of a node's time (%)",
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
                .label(format!(
                    "transmitting {} (mean per node)",
                    self.classes[c].0
                ))
                .legend(move |(x, y)| {
                    Rectangle::new([(x, y - 5), (x + 18, y + 5)], colour.mix(0.55).filled())
                });
        }
        let series = |v: &[f64]| -> Vec<(f64, f64)> {
            self.t_s
                .iter()
                .zip(v)
                .map(|(t, v)| (t / u.secs, *v))
                .collect()
        };
        chart
            .draw_series(LineSeries::new(
                series(&self.node_mean_pct),
                BLACK.stroke_width(2),
            ))
            .map_err(err)?
            .label("channel utilisation, mean node (as the device reports it)")
            .legend(line_key(BLACK.stroke_width(2)));
        chart
            .draw_series(LineSeries::new(
                series(&self.node_max_pct),
                RED.stroke_width(2),
            ))
            .map_err(err)?
            .label("channel utilisation, busiest node")
            .legend(line_key(RED.stroke_width(2)));
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
            "latency (log scale)",
            "share of deliveries within (%)",
        )
        .x_label_formatter(&|x| short_duration(*x))
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

/// A time axis label: `500 ms`, `12 s`, `5 min`, `2.5 h`.
pub fn short_duration(s: f64) -> String {
    let trim = |v: f64| {
        let t = format!("{v:.1}");
        t.strip_suffix(".0").map_or(t.clone(), str::to_string)
    };
    if s < 1.0 {
        format!("{} ms", trim(s * 1000.0))
    } else if s < 120.0 {
        format!("{} s", trim(s))
    } else if s < 7200.0 {
        format!("{} min", trim(s / 60.0))
    } else {
        format!("{} h", trim(s / 3600.0))
    }
}
