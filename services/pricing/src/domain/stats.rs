//! The statistics the service's answers rest on: order statistics of
//! prices and ordinary least squares with the slope's interval.

/// The `q`-quantile (0–1) of sorted values, interpolating linearly between
/// order statistics (Hyndman and Fan's type 7, the default of R and
/// NumPy); `None` for no values.
pub fn quantile(sorted: &[i64], q: f64) -> Option<f64> {
    let last = sorted.len().checked_sub(1)?;
    let h = q.clamp(0.0, 1.0) * last as f64;
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(last);
    let frac = h - lo as f64;
    Some(sorted[lo] as f64 + frac * (sorted[hi] - sorted[lo]) as f64)
}

/// A straight-line fit `y = intercept + slope·x`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fit {
    pub slope: f64,
    pub intercept: f64,
    /// The slope's standard error.
    pub slope_se: f64,
    /// The slope's 95% confidence interval.
    pub low: f64,
    pub high: f64,
    /// Points fitted.
    pub n: usize,
    /// The standard deviation of `x`.
    pub x_sd: f64,
}

impl Fit {
    /// Whether the interval of the slope excludes zero.
    pub fn is_significant(&self) -> bool {
        self.low > 0.0 || self.high < 0.0
    }
}

/// Ordinary least squares of `y` on `x`, with the slope's 95% interval
/// from Student's t with n − 2 degrees of freedom; `None` with fewer than
/// three points or no spread in `x`.
pub fn ols(points: &[(f64, f64)]) -> Option<Fit> {
    let n = points.len();
    if n < 3 {
        return None;
    }
    let nf = n as f64;
    let mean_x = points.iter().map(|p| p.0).sum::<f64>() / nf;
    let mean_y = points.iter().map(|p| p.1).sum::<f64>() / nf;
    let sxx: f64 = points.iter().map(|p| (p.0 - mean_x).powi(2)).sum();
    let sxy: f64 = points.iter().map(|p| (p.0 - mean_x) * (p.1 - mean_y)).sum();
    if sxx <= f64::EPSILON * nf {
        return None;
    }
    let slope = sxy / sxx;
    let intercept = mean_y - slope * mean_x;
    let rss: f64 = points
        .iter()
        .map(|p| (p.1 - intercept - slope * p.0).powi(2))
        .sum();
    let slope_se = (rss / (nf - 2.0) / sxx).sqrt();
    let t = t_975(n - 2);
    Some(Fit {
        slope,
        intercept,
        slope_se,
        low: slope - t * slope_se,
        high: slope + t * slope_se,
        n,
        x_sd: (sxx / nf).sqrt(),
    })
}

/// The 97.5% quantile of Student's t with `df` degrees of freedom (the
/// half-width of a two-sided 95% interval, in standard errors): exact to
/// three decimals from the table up to 30, then the Cornish–Fisher
/// expansion around the normal quantile (error below 0.001).
pub fn t_975(df: usize) -> f64 {
    const TABLE: [f64; 30] = [
        12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
        2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
        2.052, 2.048, 2.045, 2.042,
    ];
    match df {
        0 => f64::INFINITY,
        1..=30 => TABLE[df - 1],
        _ => {
            let z: f64 = 1.959_964;
            let d = df as f64;
            z + (z.powi(3) + z) / (4.0 * d)
                + (5.0 * z.powi(5) + 16.0 * z.powi(3) + 3.0 * z) / (96.0 * d * d)
        }
    }
}

/// `x` rounded to the nearest integer (halves away from zero), saturating.
pub fn round(x: f64) -> i64 {
    if x.is_nan() { 0 } else { x.round() as i64 }
}

/// `x` to two decimals, for ratios and rates on the wire.
pub fn two_decimals(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_interpolate_between_order_statistics() {
        let v = [100, 200, 300, 400];
        assert_eq!(quantile(&v, 0.5), Some(250.0));
        assert_eq!(quantile(&v, 0.25), Some(175.0));
        assert_eq!(quantile(&v, 0.0), Some(100.0));
        assert_eq!(quantile(&v, 1.0), Some(400.0));
        assert_eq!(quantile(&[], 0.5), None);
        assert_eq!(quantile(&[7], 0.9), Some(7.0));
    }

    #[test]
    fn a_line_is_recovered_exactly_and_noise_widens_its_interval() {
        let exact: Vec<_> = (0..10)
            .map(|x| (f64::from(x), 3.0 + 2.0 * f64::from(x)))
            .collect();
        let fit = ols(&exact).unwrap();
        assert!((fit.slope - 2.0).abs() < 1e-12 && (fit.intercept - 3.0).abs() < 1e-12);
        assert!(fit.slope_se < 1e-9);
        // y = 1, 3, 2, 5, 4: slope 0.8, residual sum 3.6, Sxx 10 → se 0.3464.
        let noisy = [(0.0, 1.0), (1.0, 3.0), (2.0, 2.0), (3.0, 5.0), (4.0, 4.0)];
        let fit = ols(&noisy).unwrap();
        assert!((fit.slope - 0.8).abs() < 1e-12);
        assert!((fit.slope_se - (3.6f64 / 3.0 / 10.0).sqrt()).abs() < 1e-12);
        assert!((fit.high - fit.low - 2.0 * 3.182 * fit.slope_se).abs() < 1e-9);
        assert!(ols(&[(1.0, 1.0), (1.0, 2.0), (1.0, 3.0)]).is_none());
        assert!(ols(&[(1.0, 1.0), (2.0, 2.0)]).is_none());
    }

    #[test]
    fn t_quantiles_meet_the_normal() {
        assert!((t_975(31) - 2.040).abs() < 0.001);
        assert!((t_975(60) - 2.000).abs() < 0.001);
        assert!((t_975(120) - 1.980).abs() < 0.001);
        assert!(t_975(10_000) > 1.959 && t_975(10_000) < 1.961);
    }
}
