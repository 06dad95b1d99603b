//! Colour in CIELAB (D65): sRGB to Lab, ΔE, and the names of colours.

/// A colour in CIELAB.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Lab {
    pub l: f32,
    pub a: f32,
    pub b: f32,
}

impl Lab {
    /// CIE76 colour difference.
    pub fn delta_e(self, o: Lab) -> f32 {
        self.distance2(o).sqrt()
    }

    /// Its square (what comparisons need).
    pub fn distance2(self, o: Lab) -> f32 {
        (self.l - o.l).powi(2) + (self.a - o.a).powi(2) + (self.b - o.b).powi(2)
    }

    /// Chroma: distance from the grey axis.
    pub fn chroma(self) -> f32 {
        self.a.hypot(self.b)
    }

    /// Hue angle in degrees, 0–360.
    pub fn hue(self) -> f32 {
        self.b.atan2(self.a).to_degrees().rem_euclid(360.0)
    }
}

/// sRGB component (0–255) to linear light (0–1).
pub fn linear(c: u8) -> f32 {
    let c = f32::from(c) / 255.0;
    if c <= 0.040_45 {
        c / 12.92
    } else {
        ((c + 0.055) / 1.055).powf(2.4)
    }
}

fn encode(c: f32) -> u8 {
    let c = c.clamp(0.0, 1.0);
    let v = if c <= 0.003_130_8 {
        c * 12.92
    } else {
        1.055 * c.powf(1.0 / 2.4) - 0.055
    };
    (v * 255.0).round() as u8
}

/// The 256 linear values of sRGB components, computed once per call site.
pub fn linear_table() -> [f32; 256] {
    std::array::from_fn(|i| linear(i as u8))
}

const WHITE: [f32; 3] = [0.950_47, 1.0, 1.088_83];

fn f(t: f32) -> f32 {
    const D: f32 = 6.0 / 29.0;
    if t > D * D * D {
        t.cbrt()
    } else {
        t / (3.0 * D * D) + 4.0 / 29.0
    }
}

fn f_inv(t: f32) -> f32 {
    const D: f32 = 6.0 / 29.0;
    if t > D {
        t * t * t
    } else {
        3.0 * D * D * (t - 4.0 / 29.0)
    }
}

/// Linear RGB to Lab.
pub fn lab_from_linear(r: f32, g: f32, b: f32) -> Lab {
    let x = 0.412_456_4 * r + 0.357_576_1 * g + 0.180_437_5 * b;
    let y = 0.212_672_9 * r + 0.715_152_2 * g + 0.072_175 * b;
    let z = 0.019_333_9 * r + 0.119_192 * g + 0.950_304_1 * b;
    let (fx, fy, fz) = (f(x / WHITE[0]), f(y / WHITE[1]), f(z / WHITE[2]));
    Lab {
        l: 116.0 * fy - 16.0,
        a: 500.0 * (fx - fy),
        b: 200.0 * (fy - fz),
    }
}

/// sRGB to Lab.
pub fn lab(rgb: [u8; 3]) -> Lab {
    lab_from_linear(linear(rgb[0]), linear(rgb[1]), linear(rgb[2]))
}

/// Lab to sRGB (clamped into the gamut).
pub fn rgb(lab: Lab) -> [u8; 3] {
    let fy = (lab.l + 16.0) / 116.0;
    let (fx, fz) = (fy + lab.a / 500.0, fy - lab.b / 200.0);
    let (x, y, z) = (
        WHITE[0] * f_inv(fx),
        WHITE[1] * f_inv(fy),
        WHITE[2] * f_inv(fz),
    );
    let r = 3.240_454_2 * x - 1.537_138_5 * y - 0.498_531_4 * z;
    let g = -0.969_266 * x + 1.876_010_8 * y + 0.041_556 * z;
    let b = 0.055_643_4 * x - 0.204_025_9 * y + 1.057_225_2 * z;
    [encode(r), encode(g), encode(b)]
}

/// `#rrggbb`.
pub fn hex(rgb: [u8; 3]) -> String {
    format!("#{:02x}{:02x}{:02x}", rgb[0], rgb[1], rgb[2])
}

/// Names for colours, the nearest (in Lab) naming a palette entry: plain
/// names and the craft vocabulary buyers search with.
const NAMED: &[(&str, [u8; 3])] = &[
    ("black", [0, 0, 0]),
    ("charcoal", [54, 69, 79]),
    ("grey", [128, 128, 128]),
    ("silver", [192, 192, 192]),
    ("white", [255, 255, 255]),
    ("ivory", [255, 255, 240]),
    ("cream", [255, 253, 208]),
    ("beige", [232, 216, 184]),
    ("sand", [194, 178, 128]),
    ("khaki", [189, 183, 107]),
    ("ochre", [204, 119, 34]),
    ("mustard", [225, 173, 1]),
    ("saffron", [244, 196, 48]),
    ("yellow", [255, 225, 53]),
    ("gold", [212, 175, 55]),
    ("orange", [255, 127, 0]),
    ("terracotta", [204, 78, 54]),
    ("rust", [183, 65, 14]),
    ("brown", [120, 72, 40]),
    ("chocolate", [75, 45, 30]),
    ("tan", [210, 180, 140]),
    ("red", [220, 30, 40]),
    ("crimson", [180, 20, 50]),
    ("maroon", [128, 0, 0]),
    ("pink", [255, 160, 190]),
    ("rose", [220, 90, 120]),
    ("magenta", [200, 0, 150]),
    ("purple", [110, 40, 140]),
    ("lavender", [190, 170, 230]),
    ("indigo", [40, 40, 110]),
    ("navy", [20, 30, 80]),
    ("blue", [30, 90, 200]),
    ("sky blue", [130, 190, 235]),
    ("turquoise", [50, 200, 190]),
    ("teal", [0, 120, 120]),
    ("green", [40, 150, 60]),
    ("olive", [110, 110, 30]),
    ("sage", [160, 175, 140]),
    ("mint", [170, 230, 190]),
    ("forest green", [30, 80, 40]),
];

/// The nearest name of `c`.
pub fn name(c: Lab) -> &'static str {
    NAMED
        .iter()
        .map(|(n, rgb)| (*n, lab(*rgb).delta_e(c)))
        .min_by(|x, y| x.1.total_cmp(&y.1))
        .map_or("grey", |(n, _)| n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_colours_convert_and_come_back() {
        let white = lab([255, 255, 255]);
        assert!((white.l - 100.0).abs() < 0.05 && white.chroma() < 0.05);
        let red = lab([255, 0, 0]);
        assert!((red.l - 53.24).abs() < 0.05, "{red:?}");
        assert!((red.a - 80.09).abs() < 0.1 && (red.b - 67.20).abs() < 0.1);
        for c in [[12, 200, 77], [255, 255, 255], [0, 0, 0], [204, 78, 54]] {
            assert_eq!(rgb(lab(c)), c);
        }
        assert_eq!(name(lab([205, 80, 50])), "terracotta");
        assert_eq!(name(lab([20, 28, 85])), "navy");
        assert_eq!(hex([204, 78, 54]), "#cc4e36");
    }
}
