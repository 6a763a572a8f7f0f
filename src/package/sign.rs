//! Authenticode signing of the files to ship: through osslsigncode on Linux and macOS,
//! signtool on Windows, or an external command (HSMs, cloud signing services).
//!
//! Key material never comes from Cargo.toml: a PKCS#12 file path, or an environment
//! variable holding it base64-encoded (how CI secrets arrive), with the password from an
//! environment variable; or PEM files. Secrets that must become files for the signing
//! tool (a decoded PKCS#12, the password) are written to owner-only temporary files that
//! are removed when the signer is dropped, and never appear on a command line.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use base64::Engine;

use crate::config::SignConfig;

/// Where the key is.
#[derive(Debug)]
enum Key {
    /// A PKCS#12 file (perhaps a decoded temporary one) and its password file.
    Pkcs12 {
        file: PathBuf,
        password: Option<tempfile::NamedTempFile>,
        _decoded: Option<tempfile::NamedTempFile>,
    },
    Pem {
        cert: PathBuf,
        key: PathBuf,
    },
    /// argv with `{file}` (sign in place) and optionally `{out}` (write there).
    Command(Vec<String>),
}

/// A signer ready to sign files.
#[derive(Debug)]
pub struct Signer {
    key: Key,
    timestamp_urls: Vec<String>,
    timestamp: bool,
    retries: u32,
    description: Option<String>,
    url: Option<String>,
    /// Pinned signing time (SOURCE_DATE_EPOCH): two signings are then identical.
    time: Option<u64>,
}

#[derive(Debug, thiserror::Error)]
pub enum SignError {
    #[error("[package.metadata.winpkg.sign] {0}")]
    Config(String),
    #[error("signing needs {tool}, which is not installed; {hint}")]
    ToolMissing {
        tool: &'static str,
        hint: &'static str,
    },
    #[error("signing {} failed: {why}", name(path))]
    Failed { path: PathBuf, why: String },
    #[error(
        "no timestamp server answered while signing {}: {tried}; check the network or the URLs, or set `timestamp = false` in [package.metadata.winpkg.sign] to sign without one (the signature then expires with the certificate)",
        name(path)
    )]
    NoTimestamp { path: PathBuf, tried: String },
    #[error("cannot prepare the signing key: {0}")]
    Io(#[from] std::io::Error),
}

/// A file by its name: the files signed sit in a staging folder the user never sees.
fn name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

/// An environment variable; empty counts as unset: GitHub Actions expands a secret
/// that is not there to "".
fn env_var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

impl Signer {
    /// A signer from the config (paths relative to `base`). Errors name the key or the
    /// environment variable that is missing.
    pub fn new(cfg: &SignConfig, base: &Path) -> Result<Signer, SignError> {
        let key = key(cfg, base)?;
        let timestamp = cfg.timestamp.unwrap_or(true);
        let urls = cfg.timestamp_urls.clone().unwrap_or_default();
        if !matches!(key, Key::Command(_)) {
            tool()?;
            if timestamp && urls.is_empty() {
                return Err(SignError::Config(
                    "has no `timestamp-urls`: add your certificate vendor's RFC 3161 server (for example timestamp-urls = [\"http://timestamp.digicert.com\", \"http://timestamp.sectigo.com\"]), or set `timestamp = false` to sign without one (the signature then expires with the certificate)".into(),
                ));
            }
        }
        let time = env_var("SOURCE_DATE_EPOCH").and_then(|s| s.trim().parse().ok());
        Ok(Signer {
            key,
            timestamp_urls: urls,
            timestamp,
            retries: cfg.timestamp_retries.unwrap_or(3).max(1),
            description: cfg.description.clone(),
            url: cfg.url.clone(),
            time,
        })
    }

    /// Whether signatures get a timestamp.
    pub fn timestamps(&self) -> bool {
        self.timestamp && !matches!(self.key, Key::Command(_))
    }

    /// Sign `path` in place (an exe, DLL or .ps1 script).
    pub fn sign(&self, path: &Path) -> Result<(), SignError> {
        if let Key::Command(argv) = &self.key {
            return run_command(argv, path);
        }
        if !self.timestamp {
            return self.sign_once(path, None);
        }
        let mut tried = Vec::new();
        for url in &self.timestamp_urls {
            for attempt in 1..=self.retries {
                match self.sign_once(path, Some(url)) {
                    Ok(()) => return Ok(()),
                    Err(SignError::Failed { why, .. }) => {
                        if attempt == self.retries {
                            tried.push(format!("{url} ({why})"));
                        } else {
                            // Servers that are busy answer again a little later.
                            std::thread::sleep(std::time::Duration::from_secs(u64::from(attempt)));
                        }
                    }
                    Err(other) => return Err(other),
                }
            }
        }
        // Was it the servers, or the key? Sign once without a timestamp to tell.
        let scratch = sibling(path, "notimestamp");
        std::fs::copy(path, &scratch)?;
        let plain = self.sign_once(&scratch, None);
        let _ = std::fs::remove_file(&scratch);
        plain?;
        Err(SignError::NoTimestamp {
            path: path.to_path_buf(),
            tried: tried.join("; "),
        })
    }

    fn sign_once(&self, path: &Path, ts: Option<&str>) -> Result<(), SignError> {
        let out = sibling(path, "signed");
        let mut cmd = Command::new(TOOL);
        cmd.args(["sign", "-h", "sha256"]);
        match &self.key {
            Key::Pkcs12 { file, password, .. } => {
                cmd.arg("-pkcs12").arg(file);
                if let Some(p) = password {
                    cmd.arg("-readpass").arg(p.path());
                }
            }
            Key::Pem { cert, key } => {
                cmd.arg("-certs").arg(cert).arg("-key").arg(key);
            }
            Key::Command(argv) => return run_command(argv, path),
        }
        if let Some(d) = &self.description {
            cmd.arg("-n").arg(d);
        }
        if let Some(u) = &self.url {
            cmd.arg("-i").arg(u);
        }
        if let Some(t) = self.time {
            cmd.arg("-time").arg(t.to_string());
        }
        if let Some(url) = ts {
            cmd.arg("-ts").arg(url);
        }
        // An MSI also gets the MsiDigitalSignatureEx stream, which Windows checks
        // (it covers the storages' metadata as well as their contents).
        if path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("msi"))
        {
            cmd.arg("-add-msi-dse");
        }
        cmd.arg("-in").arg(path).arg("-out").arg(&out);
        let result = cmd.output().map_err(|e| SignError::Failed {
            path: path.to_path_buf(),
            why: format!("cannot run {TOOL}: {e}"),
        })?;
        if !result.status.success() || !out.is_file() {
            let _ = std::fs::remove_file(&out);
            return Err(SignError::Failed {
                path: path.to_path_buf(),
                why: last_line(&result.stderr, &result.stdout),
            });
        }
        std::fs::rename(&out, path)?;
        Ok(())
    }
}

const TOOL: &str = "osslsigncode";

fn tool() -> Result<(), SignError> {
    if which::which(TOOL).is_ok() {
        return Ok(());
    }
    Err(SignError::ToolMissing {
        tool: TOOL,
        hint: "install it (Debian/Ubuntu: `sudo apt-get install osslsigncode`; macOS: `brew install osslsigncode`), or sign through `command` in [package.metadata.winpkg.sign] (signtool, a cloud signer)",
    })
}

/// `path` with a suffix, in the same folder (so a rename replaces it atomically).
fn sibling(path: &Path, what: &str) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".{what}.tmp"));
    path.with_file_name(name)
}

/// The reason a tool gave: its last non-empty line (osslsigncode prints OpenSSL's
/// decoder noise before it).
fn last_line(stderr: &[u8], stdout: &[u8]) -> String {
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(stdout),
        String::from_utf8_lossy(stderr)
    );
    let line = text
        .lines()
        .map(str::trim)
        .rfind(|l| !l.is_empty())
        .unwrap_or("no output");
    // OpenSSL's `40405914147F0000:error:10080002:BIO routines:...:Name or service not
    // known`: the reason is the last field.
    if line.contains(":error:") {
        line.rsplit(':').next().unwrap_or(line).trim().to_string()
    } else {
        line.to_string()
    }
}

fn key(cfg: &SignConfig, base: &Path) -> Result<Key, SignError> {
    let given: Vec<&str> = [
        (cfg.pkcs12.is_some(), "pkcs12"),
        (cfg.pkcs12_env.is_some(), "pkcs12-env"),
        (cfg.cert.is_some() || cfg.key.is_some(), "cert/key"),
        (cfg.command.is_some(), "command"),
    ]
    .into_iter()
    .filter_map(|(set, k)| set.then_some(k))
    .collect();
    if given.len() != 1 {
        return Err(SignError::Config(format!(
            "needs exactly one source of the key: `pkcs12` (a .pfx file), `pkcs12-env` (an environment variable holding it base64-encoded), `cert` + `key` (PEM files) or `command` (an external signer); {}",
            if given.is_empty() {
                "none is set".to_string()
            } else {
                format!("{} are set", given.join(", "))
            }
        )));
    }
    let password = || -> Result<Option<tempfile::NamedTempFile>, SignError> {
        let Some(var) = &cfg.password_env else {
            return Ok(None);
        };
        let value = env_var(var).ok_or_else(|| {
            SignError::Config(format!(
                "password-env names `{var}`, which is not set in the environment, or empty"
            ))
        })?;
        Ok(Some(secret_file(value.as_bytes())?))
    };
    if let Some(p) = &cfg.pkcs12 {
        let file = base.join(p);
        if !file.is_file() {
            return Err(SignError::Config(format!(
                "pkcs12 = \"{}\": no such file ({})",
                p.display(),
                file.display()
            )));
        }
        return Ok(Key::Pkcs12 {
            file,
            password: password()?,
            _decoded: None,
        });
    }
    if let Some(var) = &cfg.pkcs12_env {
        let decoded = pkcs12_from_env(var)?;
        return Ok(Key::Pkcs12 {
            file: decoded.path().to_path_buf(),
            password: password()?,
            _decoded: Some(decoded),
        });
    }
    if let Some(argv) = &cfg.command {
        if argv.is_empty() || !argv.iter().any(|a| a.contains("{file}")) {
            return Err(SignError::Config(
                "command must be a program and its arguments with `{file}` among them, e.g. [\"signtool\", \"sign\", \"/fd\", \"sha256\", \"/a\", \"{file}\"]".into(),
            ));
        }
        return Ok(Key::Command(argv.clone()));
    }
    pem_key(cfg, base)
}

/// The PKCS#12 file in environment variable `var`, base64-encoded, decoded into an
/// owner-only temporary file.
fn pkcs12_from_env(var: &str) -> Result<tempfile::NamedTempFile, SignError> {
    let encoded = env_var(var).ok_or_else(|| {
        SignError::Config(format!(
            "pkcs12-env names `{var}`, which is not set in the environment, or empty (in CI, map the secret to it; to build unsigned, pass --no-sign)"
        ))
    })?;
    let compact: String = encoded.split_whitespace().collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(compact.as_bytes())
        .map_err(|e| {
            SignError::Config(format!(
                "pkcs12-env: `{var}` is not base64 ({e}); encode the .pfx with `base64 -w0 signer.pfx`"
            ))
        })?;
    secret_file(&der)
}

/// `cert` + `key`: PEM files, relative to `base`.
fn pem_key(cfg: &SignConfig, base: &Path) -> Result<Key, SignError> {
    match (&cfg.cert, &cfg.key) {
        (Some(c), Some(k)) => {
            for (name, p) in [("cert", c), ("key", k)] {
                if !base.join(p).is_file() {
                    return Err(SignError::Config(format!(
                        "{name} = \"{}\": no such file",
                        p.display()
                    )));
                }
            }
            Ok(Key::Pem {
                cert: base.join(c),
                key: base.join(k),
            })
        }
        _ => Err(SignError::Config(
            "`cert` and `key` go together: a PEM certificate and its PEM private key".into(),
        )),
    }
}

/// A temporary file only the owner can read, holding `bytes`.
fn secret_file(bytes: &[u8]) -> Result<tempfile::NamedTempFile, SignError> {
    let mut f = tempfile::Builder::new().prefix(".winpkg-key-").tempfile()?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        f.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    f.write_all(bytes)?;
    f.flush()?;
    Ok(f)
}

/// Run an external signer: `{file}` is the file, `{out}` (if present) where the signed
/// copy goes (then moved over the file).
fn run_command(argv: &[String], path: &Path) -> Result<(), SignError> {
    let out = sibling(path, "signed");
    let uses_out = argv.iter().any(|a| a.contains("{out}"));
    let fill = |a: &String| {
        a.replace("{file}", &path.to_string_lossy())
            .replace("{out}", &out.to_string_lossy())
    };
    let args: Vec<String> = argv.iter().map(fill).collect();
    let failed = |why: String| SignError::Failed {
        path: path.to_path_buf(),
        why,
    };
    let result = Command::new(&args[0])
        .args(&args[1..])
        .output()
        .map_err(|e| failed(format!("cannot run `{}`: {e}", args[0])))?;
    if !result.status.success() {
        let _ = std::fs::remove_file(&out);
        return Err(failed(format!(
            "`{}` exited with {}: {}",
            args[0],
            result.status,
            last_line(&result.stderr, &result.stdout)
        )));
    }
    if uses_out {
        std::fs::rename(&out, path)
            .map_err(|e| failed(format!("the command wrote no {}: {e}", out.display())))?;
    }
    Ok(())
}
