//! The machine a run happened on, as reports and benchmark tables name it.

/// CPU model name and logical core count.
pub fn machine_name() -> String {
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| std::env::consts::ARCH.to_string());
    format!(
        "{model}, {} logical cores",
        crate::config::default_threads()
    )
}

/// Restarts the process's peak-resident-set counter at the current resident set; false
/// where the system cannot (not Linux, or `/proc/self/clear_refs` not writable).
pub fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// The process's peak resident set in bytes since start or the last [`reset_peak_rss`]
/// (`VmHWM`); None where the system does not say.
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kib = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))?
        .trim()
        .strip_suffix("kB")?
        .trim()
        .parse::<u64>()
        .ok()?;
    Some(kib * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peak_rss_sees_a_touched_allocation_after_a_reset() {
        if !reset_peak_rss() {
            // Only Linux has the counter; there the reset must work.
            assert!(
                std::env::consts::OS != "linux",
                "/proc/self/clear_refs is not writable"
            );
            return;
        }
        let before = peak_rss_bytes().expect("VmHWM on Linux");
        let mut v = vec![0u8; 64 << 20];
        // Touch every page so the kernel maps it.
        for i in (0..v.len()).step_by(4096) {
            v[i] = 1;
        }
        std::hint::black_box(&v);
        let after = peak_rss_bytes().expect("VmHWM on Linux");
        assert!(after >= before + (60 << 20), "{before} -> {after}");
    }
}
