//! `cargo xtask slurm start|stop|status`: a one-node Slurm cluster on this machine, for the
//! end-to-end test of `gradwell sweep --slurm` ([`crate::slurm_e2e`]) and for a developer
//! who wants to try a sweep against real Slurm daemons.
//!
//! Everything the cluster writes lives in `target/slurm/` of the workspace, nothing in
//! `/etc` or `/var`: its own munge key and socket (`munge/`), the generated `slurm.conf`
//! (`etc/`), the controller's state and the node's spool (`state/`, `spool/`), the pid
//! files (`run/`) and the daemons' logs (`log/`). The daemons use their own ports
//! ([`CTLD_PORT`], [`SLURMD_PORT`]), so a Slurm already installed on the machine is left
//! alone. Clients reach the cluster through `SLURM_CONF=target/slurm/etc/slurm.conf`
//! (`status` prints the line to export).
//!
//! `start` installs Debian's `slurm-wlm` and `munge` with apt when they are missing (root
//! only), starts `munged` as the `munge` user, then `slurmctld` and `slurmd` as root, and
//! waits until the node is idle (printing the daemons' logs if it is not within
//! [`IDLE_TIMEOUT`]). A cluster already up is left as it is; otherwise the state and spool
//! are cleared first, so every start begins with no jobs. `stop` cancels the cluster's
//! jobs and ends the three daemons by their pid files (a pid whose process is not the
//! daemon any more is left alone), so it stops exactly what `start` started; both are
//! idempotent.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

/// The controller's port (not Slurm's default 6817, so a system Slurm is not disturbed).
pub const CTLD_PORT: u16 = 16817;
/// The node daemon's port (not Slurm's default 6818).
pub const SLURMD_PORT: u16 = 16818;
/// How long `start` waits for the node to report idle.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// The partition of the local cluster, its default one.
pub const PARTITION: &str = "local";
/// The Debian packages the cluster needs.
const PACKAGES: [&str; 2] = ["slurm-wlm", "munge"];
/// Why a user other than root cannot start or stop the cluster.
pub const NEEDS_ROOT: &str =
    "the local Slurm needs root: munged runs as the munge user, slurmctld and slurmd as root";
/// The longest path of a Unix socket (`sun_path` holds 108 bytes with its final NUL).
const MAX_SOCKET_PATH: usize = 107;

/// One of the three daemons of the cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Daemon {
    /// The authentication daemon every Slurm message is signed by.
    Munged,
    /// The controller.
    Slurmctld,
    /// The node's daemon, which runs the jobs.
    Slurmd,
}

impl Daemon {
    /// In the order they start (and the reverse of the order they stop).
    const ALL: [Daemon; 3] = [Daemon::Munged, Daemon::Slurmctld, Daemon::Slurmd];

    /// The program's name (also its `/proc/PID/comm`).
    fn name(self) -> &'static str {
        match self {
            Daemon::Munged => "munged",
            Daemon::Slurmctld => "slurmctld",
            Daemon::Slurmd => "slurmd",
        }
    }
}

/// The local cluster's files, all under one directory.
#[derive(Debug, Clone)]
pub struct Local {
    dir: PathBuf,
}

impl Local {
    /// The cluster of this workspace: `target/slurm/`.
    pub fn of_workspace() -> Local {
        Local {
            dir: crate::root().join("target").join("slurm"),
        }
    }

    /// The generated `slurm.conf`; clients find the cluster with `SLURM_CONF` set to it.
    pub fn conf(&self) -> PathBuf {
        self.dir.join("etc").join("slurm.conf")
    }

    fn munge_dir(&self) -> PathBuf {
        self.dir.join("munge")
    }

    fn munge_socket(&self) -> PathBuf {
        self.munge_dir().join("munge.socket")
    }

    fn pid_file(&self, d: Daemon) -> PathBuf {
        match d {
            Daemon::Munged => self.munge_dir().join("munged.pid"),
            Daemon::Slurmctld | Daemon::Slurmd => {
                self.dir.join("run").join(format!("{}.pid", d.name()))
            }
        }
    }

    fn log_file(&self, d: Daemon) -> PathBuf {
        match d {
            Daemon::Munged => self.munge_dir().join("munged.log"),
            Daemon::Slurmctld | Daemon::Slurmd => {
                self.dir.join("log").join(format!("{}.log", d.name()))
            }
        }
    }

    /// The pid of `d` if its pid file names a live process that is `d`.
    fn running(&self, d: Daemon) -> Option<u32> {
        let pid: u32 = std::fs::read_to_string(self.pid_file(d))
            .ok()?
            .trim()
            .parse()
            .ok()?;
        // `/proc/PID/stat` is `PID (COMM) STATE …`; a zombie (`Z`) has ended already.
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        let (head, rest) = stat.rsplit_once(')')?;
        let comm = head.split_once('(')?.1;
        let state = rest.split_whitespace().next()?;
        (comm == d.name() && state != "Z").then_some(pid)
    }

    /// A Slurm client command (`sbatch`, `squeue`, …) aimed at this cluster.
    pub fn client(&self, program: &str) -> Command {
        let mut c = Command::new(program);
        c.env("SLURM_CONF", self.conf());
        c
    }

    /// Whether all three daemons are running.
    pub fn is_up(&self) -> bool {
        Daemon::ALL.iter().all(|&d| self.running(d).is_some())
    }

    /// Starts the cluster (installing the packages if need be) and waits until its node is
    /// idle; a cluster already up is only waited for.
    ///
    /// # Errors
    /// Not root, missing packages that cannot be installed, a daemon that does not start, a node
    /// that is not idle in time (the logs are printed), each named.
    pub fn start(&self) -> Result<(), String> {
        if !is_root() {
            return Err(NEEDS_ROOT.into());
        }
        install()?;
        if self.is_up() {
            eprintln!("xtask slurm: already running ({})", self.dir.display());
            return self.wait_idle();
        }
        // Whatever is left of an earlier start goes, so the cluster starts with no jobs.
        self.stop()?;
        for sub in ["state", "spool", "run", "log", "etc"] {
            let d = self.dir.join(sub);
            let _ = std::fs::remove_dir_all(&d);
            std::fs::create_dir_all(&d)
                .map_err(|e| format!("cannot create {}: {e}", d.display()))?;
        }
        self.start_munged()?;
        let conf = self.conf();
        std::fs::write(&conf, self.slurm_conf()?)
            .map_err(|e| format!("cannot write {}: {e}", conf.display()))?;
        for d in [Daemon::Slurmctld, Daemon::Slurmd] {
            let status = Command::new(d.name())
                .arg("-f")
                .arg(&conf)
                .env("SLURM_CONF", &conf)
                .status()
                .map_err(|e| format!("cannot run {}: {e}", d.name()))?;
            if !status.success() {
                return Err(self.with_logs(format!("{} exited with {status}", d.name())));
            }
            self.wait_for(d)?;
        }
        self.wait_idle()?;
        eprintln!(
            "xtask slurm: one node up, {} CPUs; clients: export SLURM_CONF={}",
            cpus(),
            conf.display()
        );
        Ok(())
    }

    /// Makes the munge key (once) and the socket directory, owned by `munge`, and starts
    /// `munged` as that user on the cluster's own socket.
    fn start_munged(&self) -> Result<(), String> {
        let dir = self.munge_dir();
        let socket = self.munge_socket();
        if socket.as_os_str().len() > MAX_SOCKET_PATH {
            return Err(format!(
                "the munge socket path {} is longer than a Unix socket allows ({MAX_SOCKET_PATH} bytes); \
                 use a workspace at a shorter path",
                socket.display()
            ));
        }
        std::fs::create_dir_all(&dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let key = dir.join("munge.key");
        if !key.exists() {
            let mut bytes = vec![0u8; 1024];
            let mut urandom = std::fs::File::open("/dev/urandom")
                .map_err(|e| format!("cannot open /dev/urandom: {e}"))?;
            std::io::Read::read_exact(&mut urandom, &mut bytes)
                .map_err(|e| format!("cannot read /dev/urandom: {e}"))?;
            std::fs::write(&key, bytes)
                .map_err(|e| format!("cannot write {}: {e}", key.display()))?;
        }
        let _ = std::fs::remove_file(&socket);
        let _ = std::fs::remove_file(self.log_file(Daemon::Munged));
        run(Command::new("chown").args(["-R", "munge:munge"]).arg(&dir))?;
        // munged wants its socket's directory searchable by every user.
        run(Command::new("chmod").arg("0755").arg(&dir))?;
        run(Command::new("chmod").arg("0400").arg(&key))?;
        let status = Command::new("runuser")
            .args(["-u", "munge", "--", "munged"])
            .arg(format!("--socket={}", socket.display()))
            .arg(format!("--key-file={}", key.display()))
            .arg(format!(
                "--pid-file={}",
                self.pid_file(Daemon::Munged).display()
            ))
            .arg(format!(
                "--log-file={}",
                self.log_file(Daemon::Munged).display()
            ))
            .arg(format!("--seed-file={}", dir.join("munged.seed").display()))
            .status()
            .map_err(|e| format!("cannot run munged (as the munge user, with runuser): {e}"))?;
        if !status.success() {
            return Err(self.with_logs(format!("munged exited with {status}")));
        }
        self.wait_for(Daemon::Munged)
    }

    /// Waits (at most 10 s) for `d`'s pid file to name it running.
    fn wait_for(&self, d: Daemon) -> Result<(), String> {
        let end = Instant::now() + Duration::from_secs(10);
        while self.running(d).is_none() {
            if Instant::now() > end {
                return Err(self.with_logs(format!(
                    "{} did not start (no live process in {})",
                    d.name(),
                    self.pid_file(d).display()
                )));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Ok(())
    }

    /// The generated `slurm.conf`: this host as the controller and the one node (its CPUs,
    /// nine tenths of its memory), one default partition, no cgroups and no accounting.
    fn slurm_conf(&self) -> Result<String, String> {
        let host = short_hostname()?;
        let memory_mb = memory_mb()? * 9 / 10;
        let path = |sub: &str| self.dir.join(sub).display().to_string();
        let mut s = String::new();
        let mut line = |k: &str, v: String| {
            let _ = writeln!(s, "{k}={v}");
        };
        line("ClusterName", "gradwell-local".into());
        line("SlurmctldHost", host.clone());
        line("SlurmctldPort", CTLD_PORT.to_string());
        line("SlurmdPort", SLURMD_PORT.to_string());
        line("SlurmUser", "root".into());
        line("SlurmdUser", "root".into());
        line("AuthType", "auth/munge".into());
        line("CredType", "cred/munge".into());
        line(
            "AuthInfo",
            format!("socket={}", self.munge_socket().display()),
        );
        line("StateSaveLocation", path("state"));
        line("SlurmdSpoolDir", path("spool"));
        line(
            "SlurmctldPidFile",
            self.pid_file(Daemon::Slurmctld).display().to_string(),
        );
        line(
            "SlurmdPidFile",
            self.pid_file(Daemon::Slurmd).display().to_string(),
        );
        line(
            "SlurmctldLogFile",
            self.log_file(Daemon::Slurmctld).display().to_string(),
        );
        line(
            "SlurmdLogFile",
            self.log_file(Daemon::Slurmd).display().to_string(),
        );
        line("SlurmctldDebug", "info".into());
        line("SlurmdDebug", "info".into());
        line("ProctrackType", "proctrack/linuxproc".into());
        line("TaskPlugin", "task/none".into());
        line("JobAcctGatherType", "jobacct_gather/none".into());
        line("AccountingStorageType", "accounting_storage/none".into());
        line("JobCompType", "jobcomp/none".into());
        line("SchedulerType", "sched/backfill".into());
        line("SelectType", "select/cons_tres".into());
        line("SelectTypeParameters", "CR_Core".into());
        line("MpiDefault", "none".into());
        line("ReturnToService", "2".into());
        // A cancelled task gets SIGTERM, then SIGKILL this many seconds later.
        line("KillWait", "5".into());
        line("MailProg", "/bin/true".into());
        line(
            "NodeName",
            format!(
                "{host} CPUs={} RealMemory={memory_mb} State=UNKNOWN",
                cpus()
            ),
        );
        line(
            "PartitionName",
            format!("{PARTITION} Nodes=ALL Default=YES MaxTime=INFINITE State=UP"),
        );
        Ok(s)
    }

    /// Polls `sinfo` until the node takes jobs: `idle`, or `mix`/`alloc` when a cluster
    /// already up is running some.
    fn wait_idle(&self) -> Result<(), String> {
        let end = Instant::now() + IDLE_TIMEOUT;
        let mut last = String::new();
        loop {
            if let Ok(o) = self.client("sinfo").args(["-h", "-N", "-o", "%t"]).output() {
                last = String::from_utf8_lossy(&o.stdout).trim().to_string();
                if o.status.success() && matches!(last.as_str(), "idle" | "mix" | "alloc") {
                    return Ok(());
                }
                if !o.status.success() {
                    last = String::from_utf8_lossy(&o.stderr).trim().to_string();
                }
            }
            if Instant::now() > end {
                return Err(self.with_logs(format!(
                    "the node does not take jobs after {} s (sinfo: {last:?})",
                    IDLE_TIMEOUT.as_secs()
                )));
            }
            std::thread::sleep(Duration::from_millis(300));
        }
    }

    /// `why`, followed by the last lines of each daemon's log.
    fn with_logs(&self, why: String) -> String {
        let mut s = why;
        for d in Daemon::ALL {
            let log = self.log_file(d);
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            let tail = &lines[lines.len().saturating_sub(30)..];
            let _ = write!(
                s,
                "\n--- {} (last {} lines)\n{}",
                log.display(),
                tail.len(),
                tail.join("\n")
            );
        }
        s
    }

    /// Cancels the cluster's jobs and ends its daemons (those its pid files name).
    ///
    /// # Errors
    /// Daemons to stop without root, or a daemon that does not end, even after SIGKILL.
    pub fn stop(&self) -> Result<(), String> {
        if !is_root() && Daemon::ALL.iter().any(|&d| self.running(d).is_some()) {
            return Err(NEEDS_ROOT.into());
        }
        if self.running(Daemon::Slurmctld).is_some() {
            let jobs = self
                .client("squeue")
                .args(["-h", "-o", "%A"])
                .output()
                .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
                .unwrap_or_default();
            let jobs: Vec<&str> = jobs.split_whitespace().collect();
            if !jobs.is_empty() {
                eprintln!("xtask slurm: cancelling jobs {}", jobs.join(" "));
                let _ = self.client("scancel").args(&jobs).status();
                let end = Instant::now() + Duration::from_secs(15);
                while Instant::now() < end
                    && self
                        .client("squeue")
                        .args(["-h", "-o", "%A"])
                        .output()
                        .is_ok_and(|o| !o.stdout.is_empty())
                {
                    std::thread::sleep(Duration::from_millis(300));
                }
            }
        }
        for d in Daemon::ALL.iter().rev() {
            let Some(pid) = self.running(*d) else {
                continue;
            };
            eprintln!("xtask slurm: stopping {} (pid {pid})", d.name());
            let _ = Command::new("kill")
                .args(["-TERM", &pid.to_string()])
                .status();
            let end = Instant::now() + Duration::from_secs(10);
            while self.running(*d) == Some(pid) && Instant::now() < end {
                std::thread::sleep(Duration::from_millis(100));
            }
            if self.running(*d) == Some(pid) {
                let _ = Command::new("kill")
                    .args(["-KILL", &pid.to_string()])
                    .status();
                std::thread::sleep(Duration::from_millis(300));
                if self.running(*d) == Some(pid) {
                    return Err(format!("{} (pid {pid}) does not end", d.name()));
                }
            }
            let _ = std::fs::remove_file(self.pid_file(*d));
        }
        Ok(())
    }

    /// Prints each daemon's state and, when the controller is up, `sinfo`.
    fn status(&self) -> bool {
        for d in Daemon::ALL {
            match self.running(d) {
                Some(pid) => println!("{}: running, pid {pid}", d.name()),
                None => println!("{}: not running", d.name()),
            }
        }
        if self.running(Daemon::Slurmctld).is_some() {
            let _ = self.client("sinfo").status();
        }
        println!("export SLURM_CONF={}", self.conf().display());
        self.is_up()
    }
}

/// Whether this process runs as root.
pub fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"))
}

/// Whether the Slurm and munge programs are installed (looked up as `command -v` does,
/// with the sbin directories added, where Debian puts the daemons).
pub fn installed() -> bool {
    let path = std::env::var("PATH").unwrap_or_default();
    let dirs: Vec<PathBuf> = path
        .split(':')
        .map(PathBuf::from)
        .chain(["/usr/sbin", "/sbin"].map(PathBuf::from))
        .collect();
    [
        "munged",
        "slurmctld",
        "slurmd",
        "sbatch",
        "squeue",
        "scancel",
    ]
    .iter()
    .all(|p| dirs.iter().any(|d| d.join(p).is_file()))
}

/// Installs [`PACKAGES`] with apt when the programs are missing (root only).
///
/// # Errors
/// Missing programs without root or apt, or a failed install.
pub fn install() -> Result<(), String> {
    if installed() {
        return Ok(());
    }
    if !is_root() || !Path::new("/usr/bin/apt-get").exists() {
        return Err(format!(
            "Slurm is not installed; install Debian's {} (as root: apt-get install -y {})",
            PACKAGES.join(" and "),
            PACKAGES.join(" ")
        ));
    }
    eprintln!("xtask slurm: installing {}", PACKAGES.join(" "));
    let apt = |args: &[&str]| {
        Command::new("apt-get")
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status()
            .is_ok_and(|s| s.success())
    };
    let mut install = vec!["install", "-y", "-qq"];
    install.extend(PACKAGES);
    if apt(&["update", "-qq"]) && apt(&install) && installed() {
        Ok(())
    } else {
        Err(format!("could not install {}", PACKAGES.join(" ")))
    }
}

/// Runs a set-up command; an error names it.
fn run(c: &mut Command) -> Result<(), String> {
    let shown = format!("{c:?}");
    match c.status() {
        Ok(s) if s.success() => Ok(()),
        Ok(s) => Err(format!("{shown} failed ({s})")),
        Err(e) => Err(format!("cannot run {shown}: {e}")),
    }
}

/// The host's name up to its first dot, as `slurmd` names its node.
fn short_hostname() -> Result<String, String> {
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map_err(|e| format!("cannot read the host name: {e}"))?;
    let name = name.trim();
    Ok(name.split('.').next().unwrap_or(name).to_string())
}

/// The processors this process may use.
fn cpus() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZero::get)
}

/// The machine's memory in MiB (`MemTotal` of `/proc/meminfo`).
fn memory_mb() -> Result<u64, String> {
    let info = std::fs::read_to_string("/proc/meminfo")
        .map_err(|e| format!("cannot read /proc/meminfo: {e}"))?;
    info.lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map(|kb| kb / 1024)
        .ok_or_else(|| "no MemTotal line in /proc/meminfo".to_string())
}

/// `cargo xtask slurm start|stop|status`.
pub fn main(args: &[String]) -> ExitCode {
    let local = Local::of_workspace();
    let outcome = match args.first().map(String::as_str) {
        Some("start") => local.start(),
        Some("stop") => local.stop(),
        Some("status") => {
            return crate::status_code(local.status());
        }
        _ => {
            eprintln!("usage: cargo xtask slurm <start | stop | status>");
            return ExitCode::from(2);
        }
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask slurm: {e}");
            ExitCode::FAILURE
        }
    }
}
