//! `analytics-rebuild --facts <file> <event log>...`: rebuild the analytics
//! fact store from exported event logs (see `analytics::facts::replay` for
//! the format; `-` reads standard input). Events already stored are
//! skipped, so it may run again, or beside a running service's log.

use std::io::BufReader;
use std::path::PathBuf;

use analytics::facts::SqliteFacts;
use analytics::facts::replay::replay;

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let mut facts: Option<PathBuf> = None;
    let mut logs = Vec::new();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--facts" => facts = args.next().map(PathBuf::from),
            "-h" | "--help" => {
                println!(
                    "usage: analytics-rebuild --facts <facts.sqlite> <event log (JSON lines)>... (- for stdin)"
                );
                return Ok(());
            }
            _ => logs.push(arg),
        }
    }
    let (Some(facts), false) = (facts, logs.is_empty()) else {
        anyhow::bail!("usage: analytics-rebuild --facts <facts.sqlite> <event log>...");
    };
    let store = SqliteFacts::open(&facts)?;
    let started = std::time::Instant::now();
    let mut failed = false;
    for log in logs {
        let replayed = if log == "-" {
            replay(std::io::stdin().lock(), &store)?
        } else {
            replay(BufReader::new(std::fs::File::open(&log)?), &store)?
        };
        println!(
            "{log}: {} lines, {} new events, {} skipped",
            replayed.lines, replayed.new, replayed.skipped
        );
        for p in &replayed.problems {
            eprintln!("  {p}");
        }
        failed |= replayed.skipped > 0;
    }
    println!("done in {:.1}s", started.elapsed().as_secs_f64());
    if failed {
        std::process::exit(2);
    }
    Ok(())
}
