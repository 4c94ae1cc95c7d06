//! What the load-list benchmarks share: the generated numbers and the process's memory figures.

/// Numbers in national form in Ofcom's drama ranges (020 7946 0xxx, 0113 496 0xxx, 0161 496 0xxx…).
pub fn gb_number(i: u64) -> String {
    let prefixes = [
        "020 7946 0",
        "0113 496 0",
        "0161 496 0",
        "0117 496 0",
        "0121 496 0",
    ];
    format!("{}{:03}", prefixes[(i % 5) as usize], i % 1000)
}

/// A `/proc/self/status` figure in KiB (`VmHWM`: peak RSS).
pub fn rss_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find(|l| l.starts_with(field))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}
