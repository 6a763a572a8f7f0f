//! The Wine stage of `verify --wine`: make a throwaway prefix (the host), run the
//! package kind's flow on it (`zip_steps` or `msi_steps`), tear the prefix down. The
//! root runs it in a bubblewrap sandbox unless `--no-sandbox` (`sandbox` runs
//! [`steps`] in its child).

use std::time::Instant;

use super::steps::Request;
use super::wine::Prefix;
use super::{Run, Verification, VerifyError, msi_steps, zip_steps};

/// The Wine steps for the package's kind: the MSI's with msiexec, else the zip's with
/// its scripts.
pub(super) fn steps(run: &mut Run, req: &Request, v: &mut Verification) -> Result<(), VerifyError> {
    let prefix = create_prefix(run, req.keep, v)?;
    if req.x86 && !prefix.runs_32bit()? {
        return Err(VerifyError::Needs32BitWine(req.exe.clone()));
    }
    match &req.msi {
        Some(m) => msi_steps::steps(run, req, m, &prefix, v)?,
        None => zip_steps::steps(run, req, &prefix, v)?,
    }
    tear_down(run, prefix, v)
}

pub(super) fn create_prefix(
    run: &mut Run,
    keep: bool,
    v: &mut Verification,
) -> Result<Prefix, VerifyError> {
    let t = Instant::now();
    let mut prefix = Prefix::create()?;
    if keep {
        prefix.keep();
        v.prefix = Some(prefix.root().to_path_buf());
    }
    v.processprng_standin = prefix.standin;
    let (maj, min) = prefix.version;
    let note = if prefix.standin {
        format!(
            "Wine {maj}.{min}; added a ProcessPrng stand-in bcryptprimitives.dll to this throwaway prefix only (Wine before 9 lacks it; the package is unchanged)"
        )
    } else {
        format!("Wine {maj}.{min}")
    };
    run.info("create Wine prefix", t, note);
    Ok(prefix)
}

pub(super) fn tear_down(
    run: &mut Run,
    mut prefix: Prefix,
    v: &Verification,
) -> Result<(), VerifyError> {
    let t = Instant::now();
    prefix.shutdown();
    drop(prefix);
    run.info(
        "tear down",
        t,
        match &v.prefix {
            Some(p) => format!("stopped the prefix's processes; kept {}", p.display()),
            None => "stopped the prefix's processes and removed it".into(),
        },
    );
    Ok(())
}
