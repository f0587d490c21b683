//! The gradwell side of `benches/compare/`: trains one reference model on Fashion-MNIST
//! (in memory) for a fixed time and prints one JSON line with samples per second (of wall
//! time, and of the process's CPU time: the figure that stays comparable on a shared,
//! loaded machine) and the peak resident memory.
//!
//! `samples_per_sec_fastest_step` is the batch over the fastest single step: on a machine
//! shared with other work, the step that ran while the core was free.
//!
//! `compare-step <M1|M2|M3|LSTM> <batch> [seconds] [data dir]`; the matrix kernel's thread
//! count is `MATMUL_NUM_THREADS`. `LSTM` ([`Model::Lstm`]) trains on one synthetic batch of
//! sequences (as `frameworks.py` does) and takes no data directory.

use std::time::{Duration, Instant};

use gradwell_benches::{Model, Workload};

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// The CPU time this process has used (user and system, all threads), in seconds, from
/// `/proc/self/stat` (in units of 1/100 s, Linux's fixed `USER_HZ`); 0 where unreadable.
/// Samples per CPU second stay comparable when other processes share the core.
fn cpu_seconds() -> f64 {
    std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| {
            // Fields after the command name (which may hold spaces) in parentheses;
            // utime and stime are the 14th and 15th fields of the line.
            let rest = &s[s.rfind(')')? + 2..];
            let mut f = rest.split_whitespace().skip(11);
            let (u, k): (u64, u64) = (f.next()?.parse().ok()?, f.next()?.parse().ok()?);
            Some((u + k) as f64 / 100.0)
        })
        .unwrap_or(0.0)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(model) = args.first().and_then(|n| Model::from_name(n)) else {
        let names: Vec<&str> = Model::ALL.iter().map(|m| m.name()).collect();
        return Err(format!(
            "usage: compare-step <{}> <batch> [seconds] [data dir]; got model {:?}",
            names.join("|"),
            args.first()
        )
        .into());
    };
    let batch: usize = args.get(1).ok_or("missing batch size")?.parse()?;
    let seconds: f64 = args.get(2).map_or(Ok(10.0), |s| s.parse())?;
    let dir = args.get(3).map(std::path::PathBuf::from);
    let mut w = if model == Model::Lstm {
        Workload::new(model, batch)
    } else {
        let (mut x, labels) = gradwell_data::fashion_mnist(dir.as_deref())?
            .train
            .into_parts();
        x.mapv_inplace(|v| v / 255.0);
        Workload::with_data(model, batch, x.into_dyn(), labels)
    };
    // Warm-up: one pass over a few hundred steps' worth of time.
    let warm = Instant::now();
    while warm.elapsed() < Duration::from_secs_f64(seconds * 0.2) {
        w.step()?;
    }
    let rss_after_warmup = peak_rss_kib();
    let start = Instant::now();
    let cpu_start = cpu_seconds();
    let mut steps = 0u64;
    let mut loss = 0.0;
    let mut fastest = f64::INFINITY;
    while start.elapsed() < Duration::from_secs_f64(seconds) {
        let t = Instant::now();
        loss = w.step()?;
        fastest = fastest.min(t.elapsed().as_secs_f64());
        steps += 1;
    }
    let secs = start.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu_start;
    println!(
        "{{\"framework\":\"gradwell\",\"model\":\"{}\",\"batch\":{batch},\"steps\":{steps},\"samples_per_sec\":{:.1},\"samples_per_cpu_sec\":{:.1},\"samples_per_sec_fastest_step\":{:.1},\"peak_rss_mib\":{:.1},\"peak_rss_after_warmup_mib\":{:.1},\"final_loss\":{loss:.4}}}",
        model.name(),
        steps as f64 * batch as f64 / secs,
        steps as f64 * batch as f64 / cpu,
        batch as f64 / fastest,
        peak_rss_kib() as f64 / 1024.0,
        rss_after_warmup as f64 / 1024.0,
    );
    Ok(())
}
