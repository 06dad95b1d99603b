//! Image pipeline benchmark, one upload per invocation so a script can
//! compare whole-process wall time with ImageMagick: reads an image, runs
//! `media::domain::pipeline::process` once with the default variants,
//! writes each variant as `<dir>/<variant>.<ext>` and prints its own
//! timings and peak RSS (VmHWM, the high-water mark: not the current RSS
//! `testkit::memory::rss_bytes` reads).
//!
//!   cargo bench -p media --bench pipeline -- INPUT OUT_DIR
//!
//! `bench/media.sh` runs it against ImageMagick.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Instant;

use media::domain::pipeline::{Limits, default_variants, process};

fn main() {
    let start = Instant::now();
    // `cargo bench` passes `--bench`; keep only the positional arguments.
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let [input, out_dir] = args.as_slice() else {
        eprintln!("usage: pipeline INPUT OUT_DIR");
        std::process::exit(2);
    };
    let bytes = std::fs::read(input).expect("reading the input");
    let read = start.elapsed();
    let began = Instant::now();
    let processed = process(&bytes, &Limits::default(), &default_variants()).expect("processing");
    let work = began.elapsed();
    std::fs::create_dir_all(out_dir).expect("creating the output directory");
    for v in &processed.variants {
        let path = format!("{out_dir}/{}.{}", v.variant, v.format.extension());
        std::fs::write(&path, &v.bytes).expect("writing a variant");
    }
    let total = start.elapsed();
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let hwm = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .map(|v| v.trim().to_owned())
        .unwrap_or_default();
    println!(
        "source {}x{} {:?}; read {:.1} ms, process {:.1} ms, total {:.1} ms; peak RSS {hwm}",
        processed.width,
        processed.height,
        processed.format,
        read.as_secs_f64() * 1e3,
        work.as_secs_f64() * 1e3,
        total.as_secs_f64() * 1e3,
    );
    for v in &processed.variants {
        println!(
            "  {:>6} {:<4} {}x{} {} bytes",
            v.variant,
            v.format.extension(),
            v.width,
            v.height,
            v.bytes.len()
        );
    }
    println!(
        "  placeholder {} {}",
        processed.placeholder.blurhash, processed.placeholder.dominant_color
    );
}
