//! `verify --crash-test`: with the service running, end its program's process as a
//! crash would, and check that what the package promises happens. In shawl mode with a
//! restart, shawl starts the program again after its restart delay (under Wine too);
//! a native service with a restart action is restarted by the service manager, which
//! Wine's does not do (said, not judged, and the process is left alone: Wine's service
//! manager would not see it end); with neither, nothing restarts it, and the step
//! fails saying so.

use std::time::{Duration, Instant};

use super::steps::{Ctx, Request, check_probes};
use super::{CheckResult, Failed, Run, VerifyError};
use crate::autostart::service::Service;
use crate::config::words::{Action, Mode};

/// Kill the program once and judge what follows.
pub(super) fn crash_test(run: &mut Run, ctx: &Ctx, req: &Request) -> Result<(), VerifyError> {
    let t = Instant::now();
    let Some(svc) = ctx
        .manifest
        .and_then(|m| m.service.as_ref())
        .map(|s| &s.service)
    else {
        run.info(
            "crash test",
            t,
            "the package has no service.json: what should restart its program is not known".into(),
        );
        return Ok(());
    };
    let delay = restart_delay(svc);
    if svc.mode == Mode::Native && !ctx.host.applies_recovery() {
        // Wine's service manager neither restarts a service nor sees its process end
        // (it stays RUNNING, and the uninstall could not stop it): nothing to watch.
        let detail = match delay {
            Some(d) => format!(
                "the service's recovery restarts {} {:.0} s after a crash on Windows; Wine's service manager applies no recovery actions and does not see a service's process end: not judged here",
                ctx.exe,
                d.as_secs_f64()
            ),
            None => format!(
                "no recovery action of the service is `restart`: nothing restarts {} after a crash (give it a `recovery` with a restart)",
                ctx.exe
            ),
        };
        match delay {
            Some(_) => run.info("crash test", t, detail),
            None => {
                run.check("crash test", t, Err(Failed(detail)));
            }
        }
        return Ok(());
    }
    let pid = match ctx.host.processes_running(&ctx.exe).as_slice() {
        [one] => *one,
        pids => {
            let why = format!(
                "expected one process of {} to end, found {}",
                ctx.exe,
                pids.len()
            );
            run.check("crash test", t, Err(Failed(why)));
            return Ok(());
        }
    };
    ctx.host.kill(pid)?;
    let result = match (svc.mode, delay) {
        (Mode::Shawl, Some(d)) => restarted(ctx, pid, d, "shawl")?,
        (Mode::Native, Some(d)) => restarted(ctx, pid, d, "the service manager")?,
        (_, None) => nothing_restarts(ctx, pid)?,
    };
    let again = result.is_ok();
    run.check("crash test", t, result);
    if again && !req.probes.is_empty() {
        // The restarted program must answer as the first one did.
        check_probes(run, req, ctx.timeout, "probe again");
    }
    Ok(())
}

/// The first recovery action's delay when it restarts the program; None when no
/// action restarts it.
fn restart_delay(svc: &Service) -> Option<Duration> {
    let first = svc.recovery.actions.first()?;
    (first.action == Action::Restart).then(|| Duration::from_millis(first.delay_ms))
}

/// A new process of the program within the delay and the timeout, the service RUNNING.
fn restarted(
    ctx: &Ctx,
    killed: u32,
    delay: Duration,
    by: &str,
) -> Result<CheckResult, VerifyError> {
    let t = Instant::now();
    let deadline = delay + ctx.timeout;
    loop {
        let now: Vec<u32> = ctx
            .host
            .processes_running(&ctx.exe)
            .into_iter()
            .filter(|p| *p != killed)
            .collect();
        if let Some(new) = now.first() {
            let state = ctx.host.service_state(&ctx.service)?;
            if state.as_deref() == Some("RUNNING") {
                return Ok(Ok(format!(
                    "ended {} (pid {killed}); {by} started it again {:.1} s later (pid {new}; restart delay {:.0} s), the service RUNNING",
                    ctx.exe,
                    t.elapsed().as_secs_f64(),
                    delay.as_secs_f64()
                )));
            }
        }
        if t.elapsed() > deadline {
            let state = ctx.host.service_state(&ctx.service)?;
            return Ok(Err(Failed(format!(
                "ended {} (pid {killed}); {by} was to start it again after {:.0} s, but after {} s no new process runs (the service is {})",
                ctx.exe,
                delay.as_secs_f64(),
                deadline.as_secs(),
                state.as_deref().unwrap_or("gone")
            ))));
        }
        std::thread::sleep(Duration::from_millis(300));
    }
}

/// No recovery restarts the program: say what state the service is left in.
fn nothing_restarts(ctx: &Ctx, killed: u32) -> Result<CheckResult, VerifyError> {
    let stopped = ctx.host.wait_state(&ctx.service, "STOPPED", ctx.timeout)?;
    let state = ctx.host.service_state(&ctx.service)?;
    Ok(Err(Failed(format!(
        "ended {} (pid {killed}); nothing restarts it: no recovery action of the service is `restart`, so the service is {}{}",
        ctx.exe,
        state.as_deref().unwrap_or("gone"),
        if stopped {
            " (give it a `recovery` with a restart to survive a crash)"
        } else {
            ""
        }
    ))))
}
