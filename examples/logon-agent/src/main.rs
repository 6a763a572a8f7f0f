//! A logon agent: what a tray app or per-user sync tool does first. It records that it
//! started (and with which arguments) in `%LOCALAPPDATA%\logon-agent\agent.log`, then
//! exits. A real agent would stay, in the background, for the whole session.
use std::io::Write;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let base = std::env::var_os("LOCALAPPDATA")
        .or_else(|| std::env::var_os("TEMP"))
        .map(std::path::PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    let dir = base.join("logon-agent");
    if let Err(e) = std::fs::create_dir_all(&dir) {
        eprintln!("logon-agent: cannot create {}: {e}", dir.display());
        std::process::exit(1);
    }
    let log = dir.join("agent.log");
    let line = format!("logon-agent started: {}\n", args.join(" "));
    match std::fs::OpenOptions::new().create(true).append(true).open(&log) {
        Ok(mut f) => {
            let _ = f.write_all(line.as_bytes());
        }
        Err(e) => {
            eprintln!("logon-agent: cannot write {}: {e}", log.display());
            std::process::exit(1);
        }
    }
}
