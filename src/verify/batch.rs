//! Batch files as every host runs them: the body wrapped so that the whole exit code
//! comes back (a process's exit code reaches Linux as its low 8 bits: msiexec's 1627
//! as 91), and read back out of the output. [`run`] runs one with this machine's own
//! cmd.exe (the Windows host); the Wine prefix runs the same text under Wine's. Both
//! wait for their command with [`wait`] and read its output file with [`read_output`].

use std::path::Path;
use std::process::Child;
#[cfg(windows)]
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[cfg(windows)]
use super::VerifyError;

/// What the wrapper prints before the body's whole exit code.
const EXIT_MARK: &str = "winpkg-batch-exit=";

/// The batch file's text: CRLF lines, `body`, then the exit code printed and returned.
pub fn wrap(body: &str) -> String {
    format!(
        "@echo off\r\nsetlocal EnableExtensions DisableDelayedExpansion\r\n{}\r\nset winpkg_rc=%errorlevel%\r\necho {EXIT_MARK}%winpkg_rc%\r\nexit /b %winpkg_rc%\r\n",
        body.replace("\r\n", "\n").replace('\n', "\r\n"),
    )
}

/// The whole exit code (else `low`, the process's) and the output without its line.
pub fn unwrap_output(out: &str, low: i32) -> (i32, String) {
    let mut code = low;
    let mut text = String::with_capacity(out.len());
    for line in out.split_inclusive('\n') {
        match line.trim().strip_prefix(EXIT_MARK) {
            Some(full) => code = full.trim().parse().unwrap_or(low),
            None => text.push_str(line),
        }
    }
    (code, text)
}

/// A file name no other batch of this process uses.
pub fn unique_name(stem: &str, ext: &str) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    format!(
        "{stem}-{}-{}.{ext}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// Run `body` with this machine's cmd.exe from a batch file in `dir`; output through a
/// file (never a pipe: services started by the batch would inherit and hold it).
#[cfg(windows)]
pub fn run(
    dir: &str,
    body: &str,
    timeout: Duration,
    env: &[(&str, &str)],
) -> Result<(i32, String), VerifyError> {
    let io = |action: &'static str, path: &Path| {
        let path = path.to_path_buf();
        move |source| VerifyError::Io {
            action,
            path,
            source,
        }
    };
    let dir = Path::new(dir);
    std::fs::create_dir_all(dir).map_err(io("create", dir))?;
    let script = dir.join(unique_name("winpkg-batch", "cmd"));
    let out_path = dir.join(unique_name("winpkg-out", "txt"));
    std::fs::write(&script, wrap(body)).map_err(io("write", &script))?;
    let out = std::fs::File::create(&out_path).map_err(io("create", &out_path))?;
    let err = out.try_clone().map_err(io("write", &out_path))?;
    let mut child = Command::new("cmd")
        .arg("/c")
        .arg(&script)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .map_err(io("run cmd.exe for", &script))?;
    let waited = wait(&mut child, timeout);
    let text = read_output(&out_path);
    let _ = std::fs::remove_file(&script);
    let low = match waited {
        Ok(Some(code)) => code,
        Ok(None) => {
            return Err(VerifyError::Host(format!(
                "`{}` did not finish within {} s",
                body.lines().next().unwrap_or_default(),
                timeout.as_secs()
            )));
        }
        Err(e) => return Err(io("wait for cmd.exe running", &script)(e)),
    };
    Ok(unwrap_output(&text, low))
}

/// Wait for `child` up to `timeout`: its exit code, or None when it was still running
/// and was killed.
pub fn wait(child: &mut Child, timeout: Duration) -> std::io::Result<Option<i32>> {
    let start = Instant::now();
    loop {
        match child.try_wait()? {
            Some(status) => return Ok(Some(status.code().unwrap_or(-1))),
            None if start.elapsed() > timeout => {
                let _ = child.kill();
                let _ = child.wait();
                return Ok(None);
            }
            None => std::thread::sleep(Duration::from_millis(50)),
        }
    }
}

/// What a command wrote to its output file (lossy UTF-8), the file then removed.
pub fn read_output(path: &Path) -> String {
    let text = std::fs::read(path)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    let _ = std::fs::remove_file(path);
    text
}
