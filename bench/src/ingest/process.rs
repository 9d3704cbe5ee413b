//! What the kernel says about a process: CPU time from `/proc/PID/stat`
//! and peak resident memory (`VmHWM`) from `/proc/PID/status`.

use std::time::Duration;

/// Clock ticks per second of `/proc/PID/stat` times (`getconf CLK_TCK`).
fn clock_ticks_per_second() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|output| String::from_utf8(output.stdout).ok())
        .and_then(|text| text.trim().parse::<f64>().ok())
        .filter(|ticks| *ticks > 0.0)
        .unwrap_or(100.0)
}

/// User plus system CPU time used so far by process `pid` (all its threads).
pub fn cpu_time(pid: u32) -> anyhow::Result<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // The command name may hold spaces: fields are counted after its ')'.
    let after_name = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .ok_or_else(|| anyhow::anyhow!("malformed /proc/{pid}/stat"))?;
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // Fields 14 and 15 of stat(5) are utime and stime; the state is field 3.
    let ticks = |index: usize| -> anyhow::Result<f64> {
        Ok(fields
            .get(index)
            .ok_or_else(|| anyhow::anyhow!("short /proc/{pid}/stat"))?
            .parse::<f64>()?)
    };
    let seconds = (ticks(14 - 3)? + ticks(15 - 3)?) / clock_ticks_per_second();
    Ok(Duration::from_secs_f64(seconds))
}

/// Peak resident set size of process `pid`, in bytes.
pub fn peak_rss(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let kib = status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|value| {
            value
                .trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<u64>()
                .ok()
        })
        .ok_or_else(|| anyhow::anyhow!("no VmHWM in /proc/{pid}/status"))?;
    Ok(kib * 1024)
}

/// CPU time of a process over an interval.
pub struct CpuMeter {
    pid: u32,
    start: Duration,
}

impl CpuMeter {
    /// Starts counting the CPU time of `pid` from now.
    pub fn start(pid: u32) -> anyhow::Result<Self> {
        Ok(Self {
            pid,
            start: cpu_time(pid)?,
        })
    }

    /// CPU seconds used since [`CpuMeter::start`].
    pub fn seconds(&self) -> anyhow::Result<f64> {
        Ok(cpu_time(self.pid)?.saturating_sub(self.start).as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_this_process() -> anyhow::Result<()> {
        let pid = std::process::id();
        let meter = CpuMeter::start(pid)?;
        let mut sum = 0u64;
        for value in 0..30_000_000u64 {
            sum = sum.wrapping_add(value * value);
        }
        assert!(sum > 0);
        assert!(meter.seconds()? >= 0.0);
        assert!(peak_rss(pid)? > 1024 * 1024);
        Ok(())
    }
}
