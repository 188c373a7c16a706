//! Reports: tables and plots made from files huffvec wrote, for people and papers.
//!
//! [`bench`](mod@bench) tabulates thread-scaling runs, [`stats`] renders a `--stats`
//! telemetry file and [`study`] compares the configurations of a mitigation grid; [`lines`]
//! draws the line charts the last two share. Every figure is written twice, as SVG (for
//! papers and browsers) and PNG (for quick viewing), through [`save_figure`]; PNG
//! text uses the bundled DejaVu Sans font (`data/fonts/`), so rendering needs no system fonts.

pub mod bench;

pub mod lines;
pub mod stats;
pub mod study;
pub mod study_verdicts;

use std::path::Path;
use std::sync::Once;

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::error::{Error, Result};

/// Errors from drawing.
pub type DrawResult = std::result::Result<(), Box<dyn std::error::Error + Send + Sync>>;

/// A figure that can be drawn on any plotters backend.
pub trait Figure {
    /// Draws the whole figure on `root`.
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static;
}

/// The font family every figure uses (the bundled DejaVu Sans, registered under this name).
pub const FONT: &str = "sans-serif";

static FONT_BYTES: &[u8] = include_bytes!("../../data/fonts/DejaVuSans.ttf");

/// Registers the bundled font as plotters' "sans-serif" (once per process).
fn register_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // The bytes are a fixed, valid TrueType file compiled into the binary.
        if plotters::style::register_font(FONT, FontStyle::Normal, FONT_BYTES).is_err() {
            unreachable!("the bundled DejaVu Sans font does not parse");
        }
    });
}

/// Writes `fig` as `DIR/NAME.svg` and `DIR/NAME.png` (`size` in pixels), atomically.
pub fn save_figure(dir: &Path, name: &str, size: (u32, u32), fig: &impl Figure) -> Result<()> {
    register_font();
    let draw_err = |e: Box<dyn std::error::Error + Send + Sync>, path: &Path| {
        Error::io(
            "cannot draw figure",
            path,
            std::io::Error::other(e.to_string()),
        )
    };
    let svg_path = dir.join(format!("{name}.svg"));
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        fig.draw(&root).map_err(|e| draw_err(e, &svg_path))?;
        root.present()
            .map_err(|e| draw_err(Box::new(e), &svg_path))?;
    }
    crate::io::write_atomic(&svg_path, |w| std::io::Write::write_all(w, svg.as_bytes()))?;

    let png_path = dir.join(format!("{name}.png"));
    let mut rgb = vec![0u8; size.0 as usize * size.1 as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, size).into_drawing_area();
        fig.draw(&root).map_err(|e| draw_err(e, &png_path))?;
        root.present()
            .map_err(|e| draw_err(Box::new(e), &png_path))?;
    }
    crate::io::write_atomic(&png_path, |w| {
        let mut enc = png::Encoder::new(w, size.0, size.1);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        enc.write_header()
            .and_then(|mut wr| wr.write_image_data(&rgb))
            .map_err(std::io::Error::other)
    })
}

/// The viridis colour map at `t` in [0, 1] (dark purple to yellow). Its lightness rises
/// monotonically, so it reads correctly when printed in greyscale. Anchors are matplotlib's
/// viridis (CC0) sampled at ninths, linearly interpolated.
pub fn viridis(t: f64) -> RGBColor {
    const A: [(u8, u8, u8); 9] = [
        (68, 1, 84),
        (72, 40, 120),
        (62, 73, 137),
        (49, 104, 142),
        (38, 130, 142),
        (31, 158, 137),
        (53, 183, 121),
        (110, 206, 88),
        (253, 231, 37),
    ];
    let t = if t.is_finite() {
        t.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let x = t * (A.len() - 1) as f64;
    let i = (x.floor() as usize).min(A.len() - 2);
    let f = x - i as f64;
    let mix = |a: u8, b: u8| (a as f64 + (b as f64 - a as f64) * f).round() as u8;
    let (a, b) = (A[i], A[i + 1]);
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn viridis_lightness_rises() {
        let luma = |c: RGBColor| 0.299 * c.0 as f64 + 0.587 * c.1 as f64 + 0.114 * c.2 as f64;
        let mut last = -1.0;
        for i in 0..=100 {
            let l = luma(viridis(i as f64 / 100.0));
            assert!(l > last, "lightness must rise for greyscale printing");
            last = l;
        }
        assert_eq!(viridis(-1.0), viridis(0.0));
        assert_eq!(viridis(f64::NAN), viridis(0.0));
    }
}
