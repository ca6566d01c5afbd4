//! The offline map of the wizard: an SVG drawn here, on a plain
//! latitude/longitude grid (equirectangular), with the facilities whose
//! files give a position. There is no coastline or tile data: a node has
//! no internet and carries no third-party map, so the map shows where
//! things are relative to each other and to the grid, not the land.
//!
//! The SVG carries its bounds (`data-lat-max`, `data-lon-min`, …) so that
//! the script turns a click into a latitude and longitude for the number
//! fields; without the script the fields are typed in and the map still
//! reads.

use std::fmt::Write as _;

use super::{Place, esc, text};

/// Most facilities the map plots.
pub const MAX_PLACES: usize = 500;
/// Drawing width in SVG units (the page scales it to the screen).
const W: f64 = 400.0;
/// Drawing height.
const H: f64 = 240.0;
/// Smallest span shown, in degrees (a lone point gets a view of its
/// region, about 110 km tall).
const MIN_SPAN_DEG: f64 = 1.0;

/// The area a map shows, in degrees.
#[derive(Clone, Copy, PartialEq, Debug)]
pub struct Bounds {
    /// Southern edge.
    pub lat_min: f64,
    /// Northern edge.
    pub lat_max: f64,
    /// Western edge.
    pub lon_min: f64,
    /// Eastern edge.
    pub lon_max: f64,
}

impl Bounds {
    /// The whole world.
    pub const WORLD: Bounds = Bounds {
        lat_min: -90.0,
        lat_max: 90.0,
        lon_min: -180.0,
        lon_max: 180.0,
    };

    /// A view around `points` (latitude, longitude) with a margin, at the
    /// drawing's aspect; the world when there are none.
    pub fn around(points: &[(f64, f64)]) -> Bounds {
        let ok: Vec<(f64, f64)> = points
            .iter()
            .copied()
            .filter(|(la, lo)| valid(*la, *lo))
            .collect();
        let Some(&(la0, lo0)) = ok.first() else {
            return Bounds::WORLD;
        };
        let (mut s, mut n, mut w, mut e) = (la0, la0, lo0, lo0);
        for &(la, lo) in &ok {
            s = s.min(la);
            n = n.max(la);
            w = w.min(lo);
            e = e.max(lo);
        }
        // A fifth of the span as margin on each side, at least the smallest span.
        let lat_span = ((n - s) * 1.4).max(MIN_SPAN_DEG);
        let lon_span = ((e - w) * 1.4).max(MIN_SPAN_DEG);
        // Keep the drawing's aspect: widen whichever span is short.
        let lon_span = lon_span.max(lat_span * W / H);
        let lat_span = lat_span.max(lon_span * H / W);
        let (cl, cn) = ((s + n) / 2.0, (w + e) / 2.0);
        Bounds {
            lat_min: (cl - lat_span / 2.0).max(-90.0),
            lat_max: (cl + lat_span / 2.0).min(90.0),
            lon_min: (cn - lon_span / 2.0).max(-180.0),
            lon_max: (cn + lon_span / 2.0).min(180.0),
        }
    }

    /// Where `(lat, lon)` falls in the drawing.
    fn xy(&self, lat: f64, lon: f64) -> (f64, f64) {
        let x = (lon - self.lon_min) / (self.lon_max - self.lon_min) * W;
        let y = (self.lat_max - lat) / (self.lat_max - self.lat_min) * H;
        (x, y)
    }
}

/// Whether a position is on the globe.
pub fn valid(lat: f64, lon: f64) -> bool {
    lat.is_finite()
        && lon.is_finite()
        && (-90.0..=90.0).contains(&lat)
        && (-180.0..=180.0).contains(&lon)
}

/// A grid step that gives a handful of lines over `span` degrees.
fn step(span: f64) -> f64 {
    let mut s = 30.0;
    for cand in [30.0, 10.0, 5.0, 2.0, 1.0, 0.5, 0.2, 0.1, 0.05, 0.02, 0.01] {
        s = cand;
        if span / cand >= 3.0 {
            break;
        }
    }
    s
}

/// Decimals to print a grid label with at step `s`.
fn decimals(s: f64) -> usize {
    if s >= 1.0 {
        0
    } else if s >= 0.1 {
        1
    } else {
        2
    }
}

/// The map: the grid, every place (this node's own marked), and the
/// position in the form (`here`), if any. `id` names the element.
pub fn svg(id: &str, places: &[Place], here: Option<(f64, f64)>) -> String {
    let mut pts: Vec<(f64, f64)> = places.iter().map(|p| (p.lat_deg, p.lon_deg)).collect();
    pts.extend(here);
    let b = Bounds::around(&pts);
    let mut o = String::new();
    let _ = write!(
        o,
        "<svg id=\"{id}\" class=\"map\" viewBox=\"0 0 {W} {H}\" role=\"img\" aria-labelledby=\"{id}-title\" \
data-lat-min=\"{}\" data-lat-max=\"{}\" data-lon-min=\"{}\" data-lon-max=\"{}\">\
<title id=\"{id}-title\">{}</title><rect width=\"{W}\" height=\"{H}\" fill=\"#eef3f7\"/>",
        b.lat_min,
        b.lat_max,
        b.lon_min,
        b.lon_max,
        text::MAP_TITLE,
    );
    let lat_step = step(b.lat_max - b.lat_min);
    let lon_step = step(b.lon_max - b.lon_min);
    let mut lat = (b.lat_min / lat_step).ceil() * lat_step;
    while lat <= b.lat_max {
        let (_, y) = b.xy(lat, b.lon_min);
        let _ = write!(
            o,
            "<line x1=\"0\" y1=\"{y:.1}\" x2=\"{W}\" y2=\"{y:.1}\" stroke=\"#b8c4cf\" stroke-width=\"1\"/>\
<text x=\"3\" y=\"{:.1}\" font-size=\"13\" fill=\"#52606d\">{:.*}°</text>",
            y - 2.0,
            decimals(lat_step),
            lat
        );
        lat += lat_step;
    }
    let mut lon = (b.lon_min / lon_step).ceil() * lon_step;
    while lon <= b.lon_max {
        let (x, _) = b.xy(b.lat_min, lon);
        // A label at the right edge would be cut off.
        let label = if x < W - 40.0 {
            format!("{:.*}°", decimals(lon_step), lon)
        } else {
            String::new()
        };
        let _ = write!(
            o,
            "<line x1=\"{x:.1}\" y1=\"0\" x2=\"{x:.1}\" y2=\"{H}\" stroke=\"#b8c4cf\" stroke-width=\"1\"/>\
<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"13\" fill=\"#52606d\">{label}</text>",
            x + 2.0,
            H - 4.0,
        );
        lon += lon_step;
    }
    for p in places.iter().take(MAX_PLACES) {
        if !valid(p.lat_deg, p.lon_deg) {
            continue;
        }
        let (x, y) = b.xy(p.lat_deg, p.lon_deg);
        let (fill, class) = if p.ours {
            ("#1d6f42", "place ours")
        } else {
            ("#1f4e8c", "place")
        };
        let _ = write!(
            o,
            "<g class=\"{class}\"><circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"5\" fill=\"{fill}\" stroke=\"#fff\" stroke-width=\"2\">\
<title>{} ({:.4}, {:.4})</title></circle>\
<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"14\" fill=\"#1b2733\">{}</text></g>",
            esc(&p.name),
            p.lat_deg,
            p.lon_deg,
            x + 9.0,
            y + 4.0,
            esc(&p.name),
        );
    }
    // The form's position: drawn (and moved by the script) as a cross.
    let (x, y, shown) = match here.filter(|(la, lo)| valid(*la, *lo)) {
        Some((la, lo)) => {
            let (x, y) = b.xy(la, lo);
            (x, y, "")
        }
        None => (0.0, 0.0, " visibility=\"hidden\""),
    };
    let _ = write!(
        o,
        "<g id=\"{id}-here\" transform=\"translate({x:.1} {y:.1})\"{shown}>\
<path d=\"M-9 0H9M0 -9V9\" stroke=\"#b3261e\" stroke-width=\"3\"/><title>{}</title></g></svg>",
        text::MAP_HERE
    );
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    fn place(name: &str, lat: f64, lon: f64) -> Place {
        Place {
            id: "00".repeat(16),
            name: name.into(),
            lat_deg: lat,
            lon_deg: lon,
            ours: false,
        }
    }

    #[test]
    fn bounds_hold_every_point_with_a_margin_at_the_drawing_aspect() {
        let pts = [(45.76, 4.83), (45.19, 5.72), (48.85, 2.35)];
        let b = Bounds::around(&pts);
        for (la, lo) in pts {
            assert!(b.lat_min < la && la < b.lat_max && b.lon_min < lo && lo < b.lon_max);
        }
        let ratio = (b.lon_max - b.lon_min) / (b.lat_max - b.lat_min);
        assert!((ratio - W / H).abs() < 1e-9, "{ratio}");
        assert_eq!(Bounds::around(&[]), Bounds::WORLD);
        assert_eq!(
            Bounds::around(&[(f64::NAN, 0.0), (91.0, 0.0)]),
            Bounds::WORLD
        );
        let one = Bounds::around(&[(10.0, 10.0)]);
        assert!(one.lat_max - one.lat_min >= MIN_SPAN_DEG - 1e-9);
    }

    #[test]
    fn places_are_plotted_where_they_are_and_names_escaped() {
        let places = [place("<b>West</b>", 45.0, 4.0), place("East", 45.0, 6.0)];
        let s = svg("m", &places, Some((45.0, 5.0)));
        assert!(s.contains("&lt;b&gt;West") && !s.contains("<b>West"));
        let b = Bounds::around(&[(45.0, 4.0), (45.0, 6.0), (45.0, 5.0)]);
        let (xw, _) = b.xy(45.0, 4.0);
        let (xe, _) = b.xy(45.0, 6.0);
        assert!(xw < W / 2.0 && xe > W / 2.0, "{xw} {xe}");
        assert!(s.contains(&format!("cx=\"{xw:.1}\"")));
        // The cross sits at the form's position, in the middle.
        assert!(s.contains(&format!("translate({:.1} ", W / 2.0)), "{s}");
        assert!(!svg("m", &places, None).contains("translate(0.0 0.0)\">"));
        // Nothing points elsewhere.
        assert!(!s.contains("http") && !s.contains("href"));
    }

    #[test]
    fn the_grid_step_gives_a_few_lines() {
        for span in [360.0, 180.0, 20.0, 2.0, 0.2] {
            let n = span / step(span);
            assert!((3.0..=12.0).contains(&n), "{span}: {n} lines");
        }
    }
}
