//! What a killed run leaves behind: the temporary zip (`.NAME.zip.PID.XXXX.tmp`) and
//! staging folders (`.stage-PID-XXXX`). Their names carry the writer's process id, so a
//! later run removes those whose process is gone, and never another live run's.

use std::path::Path;

/// The prefix of a temporary zip beside `file_name`, for this process.
pub fn zip_prefix(file_name: &str) -> String {
    format!(".{file_name}.{}.", std::process::id())
}

/// The prefix of a staging folder, for this process.
pub fn stage_prefix() -> String {
    format!(".stage-{}-", std::process::id())
}

/// The writer's process id, when `name` is one of our temporary names.
fn owner(name: &str) -> Option<u32> {
    if let Some(rest) = name.strip_prefix(".stage-") {
        return rest.split('-').next()?.parse().ok();
    }
    let rest = name.strip_prefix('.')?.strip_suffix(".tmp")?;
    // NAME.zip.PID.XXXX: the PID is the second field from the end.
    let mut fields = rest.rsplit('.');
    fields.next()?;
    let pid = fields.next()?;
    rest.contains(".zip.").then_some(())?;
    pid.parse().ok()
}

#[cfg(unix)]
fn alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    // SAFETY: kill with signal 0 only checks whether the process exists.
    let rc = unsafe { libc::kill(pid, 0) };
    rc == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

#[cfg(not(unix))]
fn alive(_pid: u32) -> bool {
    true // not known: keep it
}

/// Remove the leftovers of dead runs from `dir`; returns how many were removed.
pub fn clean(dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    let mut removed = 0;
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(pid) = owner(&name) else { continue };
        if alive(pid) {
            continue;
        }
        let path = e.path();
        let gone = if e.file_type().is_ok_and(|t| t.is_dir()) {
            std::fs::remove_dir_all(&path)
        } else {
            std::fs::remove_file(&path)
        };
        if gone.is_ok() {
            removed += 1;
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owners() {
        assert_eq!(owner(".stage-123-abcd"), Some(123));
        assert_eq!(owner(".app-1.0-x.zip.456.k3j2.tmp"), Some(456));
        assert_eq!(owner("app.zip"), None);
        assert_eq!(owner(".hidden"), None);
        assert_eq!(owner(".notes.txt.12.ab.tmp"), None);
    }
}
