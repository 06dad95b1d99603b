//! Photo analysis benchmark: palette + quality of 12 MP JPEGs, end to end
//! from their bytes, on one core (this thread). Makes the photos first if
//! the directory has none (4000×3000, quality 90, a lit object with a
//! woven texture on a cloth backdrop, each different), so that a Python
//! baseline can measure the same files (bench/ml.sh).
//!
//!   cargo bench -p ml --bench analyse -- DIR [PHOTOS] [ROUNDS]
//!
//! Target: p50 ≤ 40 ms.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::time::{Duration, Instant};

use image::codecs::jpeg::JpegEncoder;

use common::mix::mix;

fn photo(seed: u64) -> Vec<u8> {
    let (w, h) = (4000u32, 3000u32);
    let hue = |k: u64| (mix(seed * 16 + k) % 200) as f32 + 30.0;
    let (r0, g0, b0) = (hue(1), hue(2), hue(3));
    let (r1, g1, b1) = (hue(4) * 0.6, hue(5) * 0.5, hue(6) * 0.4);
    let light = 0.6 + (mix(seed * 16 + 7) % 60) as f32 / 100.0;
    let (cx, cy) = (2000.0 + (mix(seed * 16 + 8) % 600) as f32 - 300.0, 1500.0);
    let img = image::RgbImage::from_fn(w, h, |x, y| {
        let (fx, fy) = (x as f32, y as f32);
        let noise = (mix(seed ^ (u64::from(y) << 32 | u64::from(x))) % 9) as f32 - 4.0;
        let inside = ((fx - cx) / 1300.0).powi(2) + ((fy - cy) / 1000.0).powi(2) < 1.0;
        let (r, g, b) = if inside {
            let weave = if (x / 6 + y / 6) % 2 == 0 { 1.0 } else { 0.7 };
            (r0 * weave, g0 * weave, b0 * weave)
        } else {
            let shade = 0.85 + 0.15 * fy / h as f32;
            (r1 * shade + 60.0, g1 * shade + 60.0, b1 * shade + 60.0)
        };
        let px = |c: f32| (c * light + noise).clamp(0.0, 255.0) as u8;
        image::Rgb([px(r), px(g), px(b)])
    });
    let mut out = Vec::new();
    JpegEncoder::new_with_quality(&mut out, 90)
        .encode_image(&img)
        .unwrap();
    out
}

/// The longest side a photo decodes to for analysis.
fn photos_side(bytes: &[u8]) -> u32 {
    let source = imaging::open(bytes, &imaging::Limits::default()).unwrap();
    let p = source.decode(ml::domain::image::ANALYSIS_SIDE).unwrap();
    p.width.max(p.height)
}

fn percentile(sorted: &[Duration], q: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * q).round() as usize]
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let dir = Path::new(
        args.first()
            .map_or("target/ml-bench/photos", String::as_str),
    )
    .to_owned();
    let count: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(50);
    let rounds: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(3);
    std::fs::create_dir_all(&dir).unwrap();
    let started = Instant::now();
    let mut made = 0;
    for i in 0..count {
        let path = dir.join(format!("photo-{i:02}.jpg"));
        if !path.exists() {
            std::fs::write(&path, photo(i as u64)).unwrap();
            made += 1;
        }
    }
    if made > 0 {
        println!("made {made} photos in {:.1?}", started.elapsed());
    }
    let photos: Vec<Vec<u8>> = (0..count)
        .map(|i| std::fs::read(dir.join(format!("photo-{i:02}.jpg"))).unwrap())
        .collect();
    let limits = imaging::Limits::default();
    let mut times = Vec::with_capacity(count * rounds);
    let mut grades = std::collections::BTreeMap::new();
    for _ in 0..rounds {
        for bytes in &photos {
            let t = Instant::now();
            let a = ml::domain::image::analyse_bytes(bytes, &limits, None).unwrap();
            times.push(t.elapsed());
            *grades.entry(a.quality.grade).or_insert(0) += 1;
        }
    }
    times.sort();
    println!(
        "rust: {count} photos × {rounds} rounds, one core: p50 {:.1?}  p99 {:.1?}  (target p50 <= 40 ms); grades {grades:?}",
        percentile(&times, 0.5),
        percentile(&times, 0.99)
    );
    // The floor under it: the DCT-scaled decode alone.
    let mut decode = Vec::with_capacity(count);
    for bytes in &photos {
        let t = Instant::now();
        let source = imaging::open(bytes, &limits).unwrap();
        let pixels = source.decode(ml::domain::image::ANALYSIS_SIDE).unwrap();
        decode.push(t.elapsed());
        assert!(pixels.width >= ml::domain::image::ANALYSIS_SIDE);
    }
    decode.sort();
    println!(
        "rust: the decode alone (at 1/{} scale): p50 {:.1?}",
        4000 / photos_side(&photos[0]),
        percentile(&decode, 0.5)
    );
    println!(
        "RUST_P50_MS={:.3}",
        percentile(&times, 0.5).as_secs_f64() * 1_000.0
    );
}
