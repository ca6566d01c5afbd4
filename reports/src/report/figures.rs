//! The data of a run report's plots, from the finished metrics.

use crate::channel::CLASSES;
use crate::deployment::Deployment;
use crate::latency::cdf;
use crate::plot::{
    AirtimePlot, ChannelPlot, CoveragePlot, LatencyPlot, MapNode, MapPlot, Plot, PlotError,
    TimeUnit,
};

use super::{MAX_MAP_LINKS, RunReport};

/// Every plot of a run report.
#[derive(Clone, Debug)]
pub enum AnyPlot {
    /// The map.
    Map(MapPlot),
    /// Coverage over time.
    Coverage(CoveragePlot),
    /// Channel utilisation.
    Channel(ChannelPlot),
    /// Airtime per node.
    Airtime(AirtimePlot),
    /// Latency CDF.
    Latency(LatencyPlot),
}

impl Plot for AnyPlot {
    fn size(&self) -> (u32, u32) {
        match self {
            AnyPlot::Map(p) => p.size(),
            AnyPlot::Coverage(p) => p.size(),
            AnyPlot::Channel(p) => p.size(),
            AnyPlot::Airtime(p) => p.size(),
            AnyPlot::Latency(p) => p.size(),
        }
    }

    fn draw<DB: plotters::prelude::DrawingBackend>(
        &self,
        root: &plotters::prelude::DrawingArea<DB, plotters::coord::Shift>,
    ) -> Result<(), PlotError> {
        match self {
            AnyPlot::Map(p) => p.draw(root),
            AnyPlot::Coverage(p) => p.draw(root),
            AnyPlot::Channel(p) => p.draw(root),
            AnyPlot::Airtime(p) => p.draw(root),
            AnyPlot::Latency(p) => p.draw(root),
        }
    }
}

impl RunReport<'_> {
    /// The plots, in [`PLOTS`](super::PLOTS) order.
    pub fn plots(&self) -> Vec<AnyPlot> {
        vec![
            AnyPlot::Map(self.map()),
            AnyPlot::Coverage(self.coverage()),
            AnyPlot::Channel(self.channel()),
            AnyPlot::Airtime(self.airtime()),
            AnyPlot::Latency(self.latency()),
        ]
    }

    fn unit(&self) -> TimeUnit {
        TimeUnit::for_span(self.info.sim_time.as_secs_f64())
    }

    fn title(&self, what: &str) -> String {
        format!("{} · seed {} · {what}", self.info.scenario, self.info.seed)
    }

    fn map(&self) -> MapPlot {
        let m = self.metrics;
        let items = !m.items().items().is_empty();
        let unit = self.unit();
        let originated: u64 = m.nodes().iter().map(|n| n.originated).sum();
        let deployment = Deployment::of(self.info, m);
        let mut publishers = vec![false; self.info.sites.len()];
        for item in m.items().items() {
            if let Some(p) = item.publisher
                && let Some(slot) = publishers.get_mut(p.index())
            {
                *slot = true;
            }
        }
        let nodes = self
            .info
            .sites
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let nm = &m.nodes()[i];
                let value = if items {
                    m.items()
                        .converged_at(i)
                        .map(|t| (t - node_core::Instant::ZERO).as_secs_f64() / unit.secs)
                } else {
                    let others = originated - nm.originated;
                    Some(if others == 0 {
                        0.0
                    } else {
                        100.0 * nm.received as f64 / others as f64
                    })
                };
                MapNode {
                    x_m: s.x_m,
                    y_m: s.y_m,
                    value,
                    down: !m.up()[i],
                    crashed: nm.crashes > 0,
                    group: self.overlay.partition_groups.get(i).copied().unwrap_or(0),
                    router: s.role == node_core::radio::Role::Router,
                    publisher: publishers[i],
                    unreachable: items && deployment.nodes[i].unreachable,
                }
            })
            .collect();
        let links = &self.overlay.links;
        let step = links.len().div_ceil(MAX_MAP_LINKS).max(1);
        MapPlot {
            title: self.title(if items {
                "when each node held every item"
            } else {
                "share of chat messages received"
            }),
            value_label: if items { "held everything" } else { "received" }.into(),
            value_unit: if items { unit.name } else { "%" }.into(),
            low_is_good: items,
            nodes,
            links: links.iter().step_by(step).copied().collect(),
            zone_km: self.overlay.zone_m.map(|[w, h]| (w / 1000.0, h / 1000.0)),
        }
    }

    fn coverage(&self) -> CoveragePlot {
        let m = self.metrics;
        let n = m.nodes().len().max(1) as f64;
        let timeline = m.channel().timeline();
        let mut items: Vec<Vec<(f64, f64)>> = vec![Vec::new(); m.items().items().len()];
        let mut mean = Vec::new();
        for (b, holders) in m.items().coverage().iter().enumerate() {
            let t = timeline.end_of_us(b) as f64 / 1e6;
            let mut sum = 0.0;
            for (i, h) in holders.iter().enumerate() {
                let pct = 100.0 * f64::from(*h) / n;
                items[i].push((t, pct));
                sum += pct;
            }
            // The mean at this time over the items known at this time,
            // exactly as the rows of coverage.csv at this `t_s`.
            if !holders.is_empty() {
                mean.push((t, sum / holders.len() as f64));
            }
        }
        CoveragePlot {
            title: self.title("coverage"),
            unit: self.unit(),
            end_s: self.info.sim_time.as_secs_f64(),
            items,
            mean,
        }
    }

    fn channel(&self) -> ChannelPlot {
        let m = self.metrics;
        let ch = m.channel();
        let timeline = ch.timeline();
        let buckets = ch.buckets();
        let len = |b: usize| (timeline.end_of_us(b) - timeline.start_us(b)).max(1) as f64;
        let totals = ch.totals();
        let nodes = m.nodes().len().max(1) as f64;
        let up = m.up();
        let per_node = m.utilisation().per_bucket(|i| up[i]);
        ChannelPlot {
            title: self.title("channel utilisation per node"),
            unit: self.unit(),
            t_s: (0..buckets.len())
                .map(|b| timeline.end_of_us(b) as f64 / 1e6)
                .collect(),
            node_mean_pct: per_node.iter().map(|p| p.0).collect(),
            node_max_pct: per_node.iter().map(|p| p.1).collect(),
            classes: CLASSES
                .iter()
                .enumerate()
                .filter(|(c, _)| totals[*c].0 > 0)
                .map(|(c, class)| {
                    (
                        class.name().to_string(),
                        buckets
                            .iter()
                            .enumerate()
                            .map(|(b, x)| 100.0 * x.airtime_us[c] as f64 / len(b) / nodes)
                            .collect(),
                    )
                })
                .collect(),
        }
    }

    fn airtime(&self) -> AirtimePlot {
        let run_us = self.info.sim_time.as_micros().max(1) as f64;
        AirtimePlot {
            title: self.title("airtime per node"),
            share_pct: self
                .metrics
                .nodes()
                .iter()
                .map(|n| 100.0 * n.airtime_us as f64 / run_us)
                .collect(),
            window_max_pct: (0..self.metrics.nodes().len())
                .map(|i| self.metrics.duty().max_pct(i))
                .collect(),
            limit_pct: self.info.radio.duty_cycle_limit_pct,
        }
    }

    fn latency(&self) -> LatencyPlot {
        let m = self.metrics;
        let mut series = Vec::new();
        for (label, h) in [
            ("chat message delivery", m.messages().histogram()),
            ("item propagation", m.items().latency()),
        ] {
            if !h.is_empty() {
                series.push((format!("{label} (n = {})", h.len()), cdf(h)));
            }
        }
        LatencyPlot {
            title: self.title("latency"),
            series,
        }
    }
}
