//! Plots of a run (and of a sweep), drawn with plotters to SVG and PNG.
//!
//! Text is laid out and rasterised with the DejaVu Sans font embedded in
//! this crate (`fonts/`, Bitstream Vera licence), through plotters'
//! `ab_glyph` feature: no system font library is involved, and the same
//! data gives the same picture on any machine. SVG text is left as
//! `<text>` elements for the viewer to render.
//!
//! The files and what each plot shows are listed in the crate docs.

use std::ops::Range;
use std::sync::Once;

use plotters::chart::MeshStyle;
use plotters::coord::Shift;
use plotters::coord::ranged1d::ValueFormatter;
use plotters::prelude::*;

mod run;
mod sweep;

pub use run::{
    AirtimePlot, ChannelPlot, CoveragePlot, LatencyPlot, MapNode, MapPlot, short_duration,
};
pub use sweep::{SweepLine, SweepPlot};

/// The embedded font (DejaVu Sans 2.37, unmodified; licence in `fonts/`).
const FONT: &[u8] = include_bytes!("../../fonts/DejaVuSans.ttf");

/// Font family name the plots use.
const FAMILY: &str = "sans-serif";

static REGISTER: Once = Once::new();

fn register_font() {
    REGISTER.call_once(|| {
        if plotters::style::register_font(FAMILY, FontStyle::Normal, FONT).is_err() {
            panic!("the embedded font is a valid TrueType font");
        }
    });
}

/// Why a plot could not be drawn.
#[derive(Debug, thiserror::Error)]
pub enum PlotError {
    /// The drawing backend failed.
    #[error("drawing failed: {0}")]
    Draw(String),
    /// The PNG encoder failed.
    #[error("PNG encoding failed: {0}")]
    Png(String),
}

fn err<E: std::error::Error + Send + Sync>(e: DrawingAreaErrorKind<E>) -> PlotError {
    PlotError::Draw(e.to_string())
}

/// Something that can be drawn on any plotters backend.
pub trait Plot {
    /// Picture size, pixels.
    fn size(&self) -> (u32, u32) {
        (900, 560)
    }
    /// Draws on `root`.
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), PlotError>;
}

/// The plot as an SVG document.
pub fn to_svg(p: &impl Plot) -> Result<String, PlotError> {
    register_font();
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, p.size()).into_drawing_area();
        p.draw(&root)?;
        root.present().map_err(err)?;
    }
    Ok(out)
}

/// The plot as a PNG image (RGB, 8 bits).
pub fn to_png(p: &impl Plot) -> Result<Vec<u8>, PlotError> {
    register_font();
    let (w, h) = p.size();
    let mut pixels = vec![0u8; w as usize * h as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut pixels, (w, h)).into_drawing_area();
        p.draw(&root)?;
        root.present().map_err(err)?;
    }
    let png_err = |e: png::EncodingError| PlotError::Png(e.to_string());
    let mut out = Vec::new();
    let mut enc = png::Encoder::new(&mut out, w, h);
    enc.set_color(png::ColorType::Rgb);
    enc.set_depth(png::BitDepth::Eight);
    let mut writer = enc.write_header().map_err(png_err)?;
    writer.write_image_data(&pixels).map_err(png_err)?;
    writer.finish().map_err(png_err)?;
    Ok(out)
}

/// Distinct colours for lines and groups.
pub const PALETTE: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(23, 190, 207),
];

/// Five steps from early/good (dark blue) to late/poor (yellow), viridis-like.
const RAMP: [RGBColor; 5] = [
    RGBColor(68, 1, 84),
    RGBColor(59, 82, 139),
    RGBColor(33, 145, 140),
    RGBColor(94, 201, 98),
    RGBColor(253, 231, 37),
];

const GREY: RGBColor = RGBColor(170, 170, 170);
const LINK: RGBColor = RGBColor(215, 215, 215);

/// How times are shown on an axis.
#[derive(Clone, Copy, Debug)]
pub struct TimeUnit {
    /// Seconds per unit.
    pub secs: f64,
    /// Unit name.
    pub name: &'static str,
}

impl TimeUnit {
    /// A readable unit for a span of `secs` seconds.
    pub fn for_span(secs: f64) -> Self {
        if secs >= 2.0 * 3600.0 {
            TimeUnit {
                secs: 3600.0,
                name: "h",
            }
        } else if secs >= 120.0 {
            TimeUnit {
                secs: 60.0,
                name: "min",
            }
        } else {
            TimeUnit {
                secs: 1.0,
                name: "s",
            }
        }
    }
}

fn message<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    text: &str,
) -> Result<(), PlotError> {
    root.fill(&WHITE).map_err(err)?;
    let (w, h) = root.dim_in_pixel();
    root.draw(&Text::new(
        title.to_string(),
        (20, 20),
        (FAMILY, 22).into_font(),
    ))
    .map_err(err)?;
    root.draw(&Text::new(
        text.to_string(),
        (w as i32 / 6, h as i32 / 2),
        (FAMILY, 18).into_font().color(&RGBColor(90, 90, 90)),
    ))
    .map_err(err)?;
    // A frame, so that an empty plot is still visibly a plot.
    root.draw(&Rectangle::new(
        [(10, 50), (w as i32 - 10, h as i32 - 10)],
        GREY.stroke_width(1),
    ))
    .map_err(err)
}

fn padded(lo: f64, hi: f64) -> Range<f64> {
    let span = (hi - lo).abs().max(1e-9);
    (lo - 0.05 * span)..(hi + 0.05 * span)
}

/// A white canvas with the title, margins and room for axis labels: every
/// plot's frame, to be given its coordinates with `build_cartesian_2d`.
fn canvas<'a, DB: DrawingBackend>(
    root: &'a DrawingArea<DB, Shift>,
    title: &str,
) -> Result<ChartBuilder<'a, 'static, DB>, PlotError> {
    root.fill(&WHITE).map_err(err)?;
    let mut builder = ChartBuilder::on(root);
    builder
        .caption(title, (FAMILY, 22))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(62);
    Ok(builder)
}

/// The chart's axes with their names in the plots' label font; the caller
/// adds what its axes need and draws them.
fn axes<'a, 'b, DB, X, Y>(
    chart: &'b mut ChartContext<'a, DB, Cartesian2d<X, Y>>,
    x_desc: impl Into<String>,
    y_desc: impl Into<String>,
) -> MeshStyle<'a, 'b, X, Y, DB>
where
    DB: DrawingBackend,
    X: Ranged + ValueFormatter<X::ValueType>,
    Y: Ranged + ValueFormatter<Y::ValueType>,
{
    let mut mesh = chart.configure_mesh();
    mesh.x_desc(x_desc).y_desc(y_desc).label_style((FAMILY, 14));
    mesh
}

/// Draws the legend of the labelled series at `position`.
fn legend<'a, DB: DrawingBackend + 'a, CT: CoordTranslate>(
    chart: &mut ChartContext<'a, DB, CT>,
    position: SeriesLabelPosition,
) -> Result<(), PlotError> {
    chart
        .configure_series_labels()
        .position(position)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font((FAMILY, 13))
        .draw()
        .map_err(err)
}

/// The legend key of a line series: a short stroke in its style.
fn line_key(style: ShapeStyle) -> impl Fn((i32, i32)) -> PathElement<(i32, i32)> {
    move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], style)
}
