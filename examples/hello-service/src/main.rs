//! hello-service: a native Windows service that writes a log line per second.
//!
//! It runs the service control dispatcher (`StartServiceCtrlDispatcherW`), answers
//! Stop, Shutdown and Interrogate, and reports START_PENDING -> RUNNING ->
//! STOP_PENDING -> STOPPED. Arguments: `--greeting TEXT` (the text of each log line)
//! and `--log FILE` (default: hello-service.log beside the exe).

#[cfg(windows)]
fn main() -> windows_service::Result<()> {
    service::run()
}

#[cfg(not(windows))]
fn main() {
    eprintln!("hello-service is a Windows service: build it with --target x86_64-pc-windows-gnu");
    std::process::exit(2);
}

/// Options from the service's arguments (the binary path's arguments, as `sc create`
/// registered them, followed by any given to `sc start`).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Options {
    greeting: String,
    log: Option<std::path::PathBuf>,
}

fn parse_args<I: IntoIterator<Item = String>>(args: I) -> Options {
    let mut opts = Options {
        greeting: "hello from hello-service".to_string(),
        log: None,
    };
    let mut it = args.into_iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--greeting" => {
                if let Some(v) = it.next() {
                    opts.greeting = v;
                }
            }
            "--log" => opts.log = it.next().map(Into::into),
            _ => {}
        }
    }
    opts
}

#[cfg(windows)]
mod service {
    use std::ffi::OsString;
    use std::io::Write;
    use std::sync::mpsc;
    use std::time::Duration;

    use windows_service::service::{
        ServiceControl, ServiceControlAccept, ServiceExitCode, ServiceState, ServiceStatus,
        ServiceType,
    };
    use windows_service::service_control_handler::{self, ServiceControlHandlerResult};
    use windows_service::{define_windows_service, service_dispatcher};

    const SERVICE_TYPE: ServiceType = ServiceType::OWN_PROCESS;

    define_windows_service!(ffi_service_main, service_main);

    pub fn run() -> windows_service::Result<()> {
        // The name is ignored for an own-process service; the SCM passes the real one.
        service_dispatcher::start("hello-service", ffi_service_main)
    }

    fn service_main(arguments: Vec<OsString>) {
        if let Err(e) = run_service(arguments) {
            // Nowhere else to report it: the event log needs registration.
            let _ = writeln!(std::io::stderr(), "hello-service: {e}");
        }
    }

    fn status(state: ServiceState, accept: ServiceControlAccept, wait: Duration) -> ServiceStatus {
        ServiceStatus {
            service_type: SERVICE_TYPE,
            current_state: state,
            controls_accepted: accept,
            exit_code: ServiceExitCode::Win32(0),
            checkpoint: 0,
            wait_hint: wait,
            process_id: None,
        }
    }

    fn run_service(arguments: Vec<OsString>) -> windows_service::Result<()> {
        let (stop_tx, stop_rx) = mpsc::channel();
        let handler = move |control| match control {
            ServiceControl::Stop | ServiceControl::Shutdown => {
                let _ = stop_tx.send(());
                ServiceControlHandlerResult::NoError
            }
            ServiceControl::Interrogate => ServiceControlHandlerResult::NoError,
            _ => ServiceControlHandlerResult::NotImplemented,
        };
        let handle = service_control_handler::register("hello-service", handler)?;
        handle.set_service_status(status(
            ServiceState::StartPending,
            ServiceControlAccept::empty(),
            Duration::from_secs(5),
        ))?;

        // Options: the exe's own arguments, then the ones `sc start` passed
        // (arguments[0] there is the service name).
        let args = std::env::args()
            .skip(1)
            .chain(arguments.into_iter().skip(1).map(|a| a.to_string_lossy().into_owned()));
        let opts = super::parse_args(args);
        let log_path = opts.log.clone().unwrap_or_else(|| {
            std::env::current_exe()
                .ok()
                .and_then(|p| p.parent().map(|d| d.join("hello-service.log")))
                .unwrap_or_else(|| "hello-service.log".into())
        });
        let mut log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .ok();

        handle.set_service_status(status(
            ServiceState::Running,
            ServiceControlAccept::STOP | ServiceControlAccept::SHUTDOWN,
            Duration::default(),
        ))?;
        super::event_log::report(&format!("hello-service started: {}", opts.greeting));
        let mut n: u64 = 0;
        loop {
            if let Some(f) = log.as_mut() {
                let _ = writeln!(f, "{} #{n}", opts.greeting);
                let _ = f.flush();
            }
            n += 1;
            match stop_rx.recv_timeout(Duration::from_secs(1)) {
                Ok(()) | Err(mpsc::RecvTimeoutError::Disconnected) => break,
                Err(mpsc::RecvTimeoutError::Timeout) => {}
            }
        }
        handle.set_service_status(status(
            ServiceState::StopPending,
            ServiceControlAccept::empty(),
            Duration::from_secs(2),
        ))?;
        if let Some(f) = log.as_mut() {
            let _ = writeln!(f, "stopping after {n} lines");
        }
        super::event_log::report(&format!("hello-service stopping after {n} lines"));
        handle.set_service_status(status(
            ServiceState::Stopped,
            ServiceControlAccept::empty(),
            Duration::default(),
        ))?;
        Ok(())
    }
}

/// The Windows Event Log (Application log, source "hello-service", which install.cmd
/// registers because the service table says `event-log = true`). Messages are plain
/// strings under event ID 1; the `eventlog` crate adds a message table so Event Viewer
/// shows them without its "description cannot be found" preamble.
#[cfg(windows)]
mod event_log {
    #[link(name = "advapi32")]
    extern "system" {
        fn RegisterEventSourceW(server: *const u16, source: *const u16) -> isize;
        fn ReportEventW(
            log: isize,
            kind: u16,
            category: u16,
            id: u32,
            sid: *const core::ffi::c_void,
            strings: u16,
            data_size: u32,
            texts: *const *const u16,
            data: *const core::ffi::c_void,
        ) -> i32;
        fn DeregisterEventSource(log: isize) -> i32;
    }

    const EVENTLOG_INFORMATION_TYPE: u16 = 4;

    fn wide(s: &str) -> Vec<u16> {
        s.encode_utf16().chain(std::iter::once(0)).collect()
    }

    /// Report an information event; failures are ignored (logging must not stop the
    /// service).
    pub fn report(message: &str) {
        let source = wide("hello-service");
        let text = wide(message);
        let texts = [text.as_ptr()];
        // SAFETY: the strings are NUL-terminated and outlive the calls; a null server
        // is the local machine; the handle is checked and released.
        unsafe {
            let log = RegisterEventSourceW(std::ptr::null(), source.as_ptr());
            if log == 0 {
                return;
            }
            ReportEventW(
                log,
                EVENTLOG_INFORMATION_TYPE,
                0,
                1,
                std::ptr::null(),
                1,
                0,
                texts.as_ptr(),
                std::ptr::null(),
            );
            DeregisterEventSource(log);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options() {
        let o = parse_args(["--greeting".into(), "hi there".into(), "--log".into(), "C:\\x.log".into()]);
        assert_eq!(o.greeting, "hi there");
        assert_eq!(o.log.as_deref(), Some(std::path::Path::new("C:\\x.log")));
        assert_eq!(parse_args(Vec::new()).greeting, "hello from hello-service");
    }
}
