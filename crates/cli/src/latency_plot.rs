//! The latency histogram as HdrHistogram's plotter draws it: latency against percentile, the percentile axis
//! stretched so that each further nine (90 %, 99 %, 99.9 %, ...) gets the same width.

use hdrhistogram::Histogram;
use plotters::prelude::*;

/// Where a percentile sits on the stretched axis: `1 / (1 - q)`, drawn on a log scale.
fn stretched(quantile: f64) -> f64 {
    1.0 / (1.0 - quantile).max(1e-7)
}

/// The percentile a point of the stretched axis stands for, as its tick label shows it.
fn percentile_label(x: f64) -> String {
    let percentile = 100.0 * (1.0 - 1.0 / x);
    let text = format!("{percentile:.5}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    format!("{text}%")
}

/// The (stretched percentile, microseconds) points of `histogram`'s percentile distribution, five per halving
/// of the remaining tail, as `HistogramLogProcessor`'s percentile output lists them.
pub fn percentile_points(histogram: &Histogram<u64>) -> Vec<(f64, f64)> {
    histogram
        .iter_quantiles(5)
        .map(|v| {
            (
                stretched(v.quantile_iterated_to()),
                v.value_iterated_to() as f64 / 1000.0,
            )
        })
        .filter(|(x, _)| x.is_finite())
        .collect()
}

/// An SVG drawing of `histogram` (values in nanoseconds) titled `title`, 900 x 500.
pub fn percentile_svg(histogram: &Histogram<u64>, title: &str) -> Result<String, String> {
    let points = percentile_points(histogram);
    if points.is_empty() {
        return Err("the histogram is empty".into());
    }
    let max_x = points.iter().map(|p| p.0).fold(10.0, f64::max) * 1.5;
    let max_y = points.iter().map(|p| p.1).fold(0.0, f64::max).max(0.001) * 1.1;
    let mut svg = String::new();
    {
        let backend = SVGBackend::with_string(&mut svg, (900, 500));
        let root = backend.into_drawing_area();
        let failed = |e: &dyn std::fmt::Display| format!("drawing the latency plot: {e}");
        root.fill(&WHITE).map_err(|e| failed(&e))?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 22))
            .margin(16)
            .x_label_area_size(44)
            .y_label_area_size(64)
            .build_cartesian_2d((1.0..max_x).log_scale(), 0.0..max_y)
            .map_err(|e| failed(&e))?;
        chart
            .configure_mesh()
            .x_desc("percentile")
            .y_desc("latency (us)")
            .x_label_formatter(&|x| percentile_label(*x))
            .draw()
            .map_err(|e| failed(&e))?;
        chart
            .draw_series(LineSeries::new(points, &BLUE))
            .map_err(|e| failed(&e))?;
        root.present().map_err(|e| failed(&e))?;
    }
    Ok(svg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_the_percentile_distribution_with_its_labels() {
        let mut histogram = Histogram::<u64>::new_with_bounds(1, 10_000_000_000, 3).unwrap();
        for n in 1..=10_000u64 {
            histogram.record(n * 100).unwrap();
        }
        let points = percentile_points(&histogram);
        assert!(points
            .windows(2)
            .all(|w| w[0].0 <= w[1].0 && w[0].1 <= w[1].1));
        assert!(
            (points.last().unwrap().1 - 1000.0).abs() < 1.0,
            "{points:?}"
        );
        let svg = percentile_svg(&histogram, "IPC round trip").unwrap();
        assert!(svg.starts_with("<svg"), "{}", &svg[..80]);
        for text in [
            "IPC round trip",
            "percentile",
            "latency (us)",
            "90%",
            "99%",
            "<polyline",
        ] {
            assert!(svg.contains(text), "no {text:?} in the SVG");
        }
        assert_eq!(percentile_label(stretched(0.999)), "99.9%");
    }
}
