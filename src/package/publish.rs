//! winget and scoop manifests for the files a run wrote, for packages that declare
//! `[package.metadata.winpkg.publish]`: where the release's files will be downloaded
//! from, and who publishes them. One manifest set per package, with an installer per
//! target of the run and the SHA256 of the files just written.
//!
//! - winget (manifest schema 1.10.0, multi-file: version, defaultLocale, installer): a
//!   service is installed from the MSI (with its ProductCode and UpgradeCode); anything
//!   else from the zip as a portable program (`NestedInstallerType: portable`).
//! - scoop: the zip per architecture, the program as `bin`, and `checkver`/`autoupdate`
//!   from the URL template.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The publishing facts, validated before the build.
#[derive(Debug, Clone)]
pub struct Publish {
    pub name: String,
    pub version: String,
    /// The release folder URL with `{version}` still in it.
    pub url: String,
    pub publisher: String,
    pub identifier: String,
    pub license: String,
    pub description: String,
    pub homepage: Option<String>,
}

/// One target's files.
#[derive(Debug, Clone)]
pub struct Release {
    /// winget's architecture word: x64, x86, arm64.
    pub arch: &'static str,
    pub zip: PathBuf,
    pub zip_sha256: String,
    /// The program inside the zip (`root/hello.exe` or `hello.exe`).
    pub exe_in_zip: String,
    /// The command name (the exe without `.exe`).
    pub command: String,
    /// (path, sha256, product code, upgrade code).
    pub msi: Option<(PathBuf, String, String, String)>,
    pub service: bool,
    pub per_user: bool,
}

/// What the package says of itself, for the manifests, and where the user sets it.
#[derive(Debug, Clone, Copy)]
pub struct PackageFacts<'a> {
    pub name: &'a str,
    pub version: &'a str,
    pub license: Option<&'a str>,
    pub description: Option<&'a str>,
    /// The package's homepage, else its repository.
    pub homepage: Option<&'a str>,
    /// The command the manifests register (the exe's name without `.exe`).
    pub command: &'a str,
    /// Where those facts are set, for the errors: `[package]` (Cargo.toml) or
    /// `winpkg.toml` (a program cargo did not build).
    pub source: &'a str,
}

/// Why a publish table cannot be used (at plan time: exit 2).
pub fn validate(
    facts: &PackageFacts,
    cfg: &crate::config::PublishConfig,
) -> Result<Publish, (&'static str, String)> {
    let PackageFacts {
        name,
        version,
        license: crate_license,
        description,
        homepage: crate_homepage,
        command,
        source,
    } = *facts;
    let url = cfg
        .url
        .clone()
        .ok_or(("publish.url", "the release folder's URL is missing: e.g. \"https://github.com/me/app/releases/download/v{version}/\"".to_string()))?;
    let lower = url.to_ascii_lowercase();
    if !(lower.starts_with("https://") || lower.starts_with("http://"))
        || url.chars().any(char::is_whitespace)
    {
        return Err((
            "publish.url",
            format!("`{url}` is not an http(s) URL without spaces"),
        ));
    }
    let publisher = cfg
        .publisher
        .clone()
        .filter(|p| !p.trim().is_empty())
        .ok_or((
            "publish.publisher",
            "the publisher's name is missing".to_string(),
        ))?;
    let identifier = identifier(cfg, &publisher, name)?;
    let license = cfg
        .license
        .clone()
        .or(crate_license.map(str::to_string))
        .ok_or((
            "publish.license",
            format!("no licence: set `license` in {source} or publish.license"),
        ))?;
    let description = description
        .map(str::to_string)
        .filter(|d| !d.trim().is_empty())
        .ok_or((
            "publish",
            format!("winget and scoop show a description: set `description` in {source}"),
        ))?;
    // scoop requires a homepage: the configured one, the crate's, else the GitHub
    // repository the release's files are in.
    let homepage = cfg
        .homepage
        .clone()
        .or(crate_homepage.map(str::to_string))
        .or_else(|| github_repo(&url))
        .ok_or((
            "publish.homepage",
            format!("scoop needs the product's web page: set publish.homepage, or `homepage` or `repository` in {source}"),
        ))?;
    let facts = Publish {
        name: name.to_string(),
        version: version.to_string(),
        url,
        publisher,
        identifier,
        license,
        description,
        homepage: Some(homepage),
    };
    schema_limits(&facts, command)?;
    Ok(facts)
}

/// The winget identifier: the configured one, else the publisher's and the package's
/// names kept to letters, digits and `-`, joined by a dot; checked against winget's
/// form.
fn identifier(
    cfg: &crate::config::PublishConfig,
    publisher: &str,
    name: &str,
) -> Result<String, (&'static str, String)> {
    let identifier = match &cfg.identifier {
        Some(i) => i.clone(),
        None => {
            let part = |s: &str| -> String {
                s.chars()
                    .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
                    .take(32)
                    .collect()
            };
            format!("{}.{}", part(publisher), part(name))
        }
    };
    let segments: Vec<&str> = identifier.split('.').collect();
    let bad_char = |c: char| c.is_whitespace() || c.is_control() || "\\/:*?\"<>|".contains(c);
    if !(2..=8).contains(&segments.len())
        || segments
            .iter()
            .any(|s| s.is_empty() || s.chars().count() > 32 || s.chars().any(bad_char))
    {
        return Err((
            "publish.identifier",
            format!(
                "`{identifier}` is not a winget identifier: 2 to 8 parts of 1-32 characters joined by dots, e.g. \"Publisher.App\", with no spaces or \\ / : * ? \" < > |"
            ),
        ));
    }
    Ok(identifier)
}

/// Each string the manifests carry within the length and pattern the winget 1.10.0
/// schema allows (checked before anything is built: a manifest winget rejects is never
/// written). The key that sets it is named.
fn schema_limits(p: &Publish, command: &str) -> Result<(), (&'static str, String)> {
    let within = |key: &'static str, what: &str, v: &str, min: usize, max: usize| {
        let n = v.chars().count();
        if (min..=max).contains(&n) {
            Ok(())
        } else {
            Err((
                key,
                format!(
                    "{what} `{v}` is {n} characters; winget's manifest (schema {SCHEMA}) takes {min} to {max}"
                ),
            ))
        }
    };
    within("publish.publisher", "the publisher", &p.publisher, 2, 256)?;
    within("name", "the package name", &p.name, 2, 256)?;
    within("publish.license", "the licence", &p.license, 3, 512)?;
    within(
        "description",
        "the description",
        &p.description,
        3,
        usize::MAX,
    )?;
    within(
        "publish.identifier",
        "the identifier",
        &p.identifier,
        1,
        128,
    )?;
    within("exe-name", "the command", command, 1, 40)?;
    if let Some(h) = &p.homepage {
        within("publish.homepage", "the home page", h, 1, 2048)?;
        let lower = h.to_ascii_lowercase();
        let scheme = ["http://", "https://"]
            .iter()
            .find(|s| lower.starts_with(*s))
            .map_or(0, |s| s.len());
        if scheme == 0 || h.len() == scheme {
            return Err((
                "publish.homepage",
                format!("`{h}` is not an http(s) URL, which winget's PackageUrl must be"),
            ));
        }
    }
    within("publish.url", "the release URL", &p.url, 1, 2048)
}

/// `https://github.com/OWNER/REPO` when `url` is on GitHub.
fn github_repo(url: &str) -> Option<String> {
    let rest = url.strip_prefix("https://github.com/")?;
    let mut parts = rest.split('/');
    let (owner, repo) = (parts.next()?, parts.next()?);
    (!owner.is_empty() && !repo.is_empty()).then(|| format!("https://github.com/{owner}/{repo}"))
}

/// A YAML string: single-quoted, so any text is taken literally.
fn yq(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''").replace('\n', " "))
}

/// The URL of `file` in the release.
fn url_of(p: &Publish, file: &Path) -> String {
    let base = p.url.replace("{version}", &p.version);
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if base.ends_with('/') {
        format!("{base}{name}")
    } else {
        format!("{base}/{name}")
    }
}

const SCHEMA: &str = "1.10.0";

/// Why winget cannot install a package from what the run wrote.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WingetError {
    /// winget installs a service from an MSI, and the run wrote none.
    #[error("a service is installed from the MSI: build with --msi")]
    ServiceWithoutMsi,
}

/// The three winget files' (name, text), or why winget cannot install this package.
pub fn winget(p: &Publish, releases: &[Release]) -> Result<Vec<(String, String)>, WingetError> {
    let id = &p.identifier;
    let head = |kind: &str| {
        format!(
            "# Created by cargo-winpkg {}\n# yaml-language-server: $schema=https://aka.ms/winget-manifest.{kind}.{SCHEMA}.schema.json\n\nPackageIdentifier: {}\nPackageVersion: {}\n",
            env!("CARGO_PKG_VERSION"),
            yq(id),
            yq(&p.version)
        )
    };
    let mut installer = head("installer");
    installer.push_str("Installers:\n");
    for r in releases {
        if r.service {
            let Some((msi, sha, product, upgrade)) = &r.msi else {
                return Err(WingetError::ServiceWithoutMsi);
            };
            let _ = write!(
                installer,
                "  - Architecture: {}\n    InstallerType: msi\n    Scope: machine\n    InstallerUrl: {}\n    InstallerSha256: {}\n    ProductCode: {}\n    UpgradeBehavior: install\n    AppsAndFeaturesEntries:\n      - UpgradeCode: {}\n",
                r.arch,
                yq(&url_of(p, msi)),
                sha.to_ascii_uppercase(),
                yq(product),
                yq(upgrade),
            );
        } else {
            let _ = write!(
                installer,
                "  - Architecture: {}\n    InstallerType: zip\n    NestedInstallerType: portable\n    NestedInstallerFiles:\n      - RelativeFilePath: {}\n        PortableCommandAlias: {}\n    Scope: {}\n    InstallerUrl: {}\n    InstallerSha256: {}\n",
                r.arch,
                yq(&r.exe_in_zip.replace('/', "\\")),
                yq(&r.command),
                if r.per_user { "user" } else { "machine" },
                yq(&url_of(p, &r.zip)),
                r.zip_sha256.to_ascii_uppercase(),
            );
        }
    }
    let _ = write!(
        installer,
        "ManifestType: installer\nManifestVersion: {SCHEMA}\n"
    );
    let mut locale = head("defaultLocale");
    let _ = write!(
        locale,
        "PackageLocale: en-US\nPublisher: {}\nPackageName: {}\nLicense: {}\nShortDescription: {}\n",
        yq(&p.publisher),
        yq(&p.name),
        yq(&p.license),
        yq(&p.description.chars().take(256).collect::<String>()),
    );
    if let Some(h) = &p.homepage {
        let _ = writeln!(locale, "PackageUrl: {}", yq(h));
    }
    let _ = write!(
        locale,
        "ManifestType: defaultLocale\nManifestVersion: {SCHEMA}\n"
    );
    let mut version = head("version");
    let _ = write!(
        version,
        "DefaultLocale: en-US\nManifestType: version\nManifestVersion: {SCHEMA}\n"
    );
    Ok(vec![
        (format!("{id}.installer.yaml"), installer),
        (format!("{id}.locale.en-US.yaml"), locale),
        (format!("{id}.yaml"), version),
    ])
}

/// The scoop manifest: the zip for each architecture, the program as `bin`.
pub fn scoop(p: &Publish, releases: &[Release]) -> serde_json::Value {
    use serde_json::{Map, Value, json};
    let (arch, auto) = scoop_architectures(p, releases);
    let exe = releases
        .first()
        .map(|r| {
            r.exe_in_zip
                .rsplit('/')
                .next()
                .unwrap_or(&r.exe_in_zip)
                .to_string()
        })
        .unwrap_or_default();
    let mut m = Map::new();
    m.insert("version".into(), json!(p.version));
    m.insert("description".into(), json!(p.description));
    if let Some(h) = &p.homepage {
        m.insert("homepage".into(), json!(h));
    }
    m.insert("license".into(), json!(p.license));
    m.insert("architecture".into(), Value::Object(arch));
    m.insert("bin".into(), json!(exe));
    if releases.iter().any(|r| r.service) {
        m.insert(
            "notes".into(),
            json!("This package is a Windows service: run install.cmd from the app's folder as an administrator to register it."),
        );
    }
    let github = [Some(p.url.as_str()), p.homepage.as_deref()]
        .into_iter()
        .flatten()
        .find_map(github_repo);
    let checkver = match (&github, &p.homepage) {
        (Some(repo), _) => json!({ "github": repo }),
        (None, Some(home)) => json!({ "url": home, "regex": "(\\d+\\.\\d+\\.\\d+)" }),
        (None, None) => {
            json!({ "url": p.url.replace("{version}", ""), "regex": "(\\d+\\.\\d+\\.\\d+)" })
        }
    };
    m.insert("checkver".into(), checkver);
    m.insert(
        "autoupdate".into(),
        json!({ "architecture": Value::Object(auto) }),
    );
    Value::Object(m)
}

/// Scoop's `architecture` (each release's zip, hash and folder) and autoupdate's
/// (the same fields with `$version`).
fn scoop_architectures(
    p: &Publish,
    releases: &[Release],
) -> (
    serde_json::Map<String, serde_json::Value>,
    serde_json::Map<String, serde_json::Value>,
) {
    use serde_json::{Map, Value, json};
    let word = |arch: &str| match arch {
        "x64" => "64bit",
        "x86" => "32bit",
        _ => "arm64",
    };
    let mut arch = Map::new();
    let mut auto = Map::new();
    for r in releases {
        let file = r
            .zip
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut entry = Map::new();
        entry.insert("url".into(), json!(url_of(p, &r.zip)));
        entry.insert("hash".into(), json!(r.zip_sha256));
        let template = p.url.replace("{version}", "$version");
        let file = file.replace(&p.version, "$version");
        let url = if template.ends_with('/') {
            format!("{template}{file}")
        } else {
            format!("{template}/{file}")
        };
        // Every field that holds the version is in autoupdate with `$version`: scoop's
        // autoupdate rewrites only those, so a field left out keeps the old version
        // and the next version's manifest fails to install.
        let mut next = Map::new();
        next.insert("url".into(), json!(url));
        if let Some((root, _)) = r.exe_in_zip.split_once('/') {
            entry.insert("extract_dir".into(), json!(root));
            next.insert(
                "extract_dir".into(),
                json!(root.replace(&p.version, "$version")),
            );
        }
        arch.insert(word(r.arch).into(), Value::Object(entry));
        auto.insert(word(r.arch).into(), Value::Object(next));
    }
    (arch, auto)
}

/// Write `text` to `path` through a temporary file in its folder.
pub fn write_atomic(path: &Path, text: &str) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    std::io::Write::write_all(&mut tmp, text.as_bytes())?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_and_quoting() {
        let cfg = crate::config::PublishConfig {
            url: Some("https://example.com/dl/{version}/".into()),
            publisher: Some("ACME Labs".into()),
            ..Default::default()
        };
        let facts = PackageFacts {
            name: "hello-service",
            version: "1.2.3",
            license: Some("MIT"),
            description: Some("Hello"),
            homepage: Some("https://example.com"),
            command: "hello-service",
            source: "[package]",
        };
        let p = validate(&facts, &cfg).unwrap();
        assert_eq!(p.identifier, "ACMELabs.hello-service");
        assert_eq!(
            url_of(&p, Path::new("/x/a.zip")),
            "https://example.com/dl/1.2.3/a.zip"
        );
        assert_eq!(yq("it's"), "'it''s'");
        let bad = crate::config::PublishConfig {
            identifier: Some("no dots".into()),
            ..cfg.clone()
        };
        let xy = PackageFacts {
            name: "xy",
            version: "1.0.0",
            description: Some("ddd"),
            homepage: None,
            command: "x",
            ..facts
        };
        assert!(validate(&xy, &bad).is_err());
        let no_url = crate::config::PublishConfig { url: None, ..cfg };
        assert_eq!(validate(&xy, &no_url).unwrap_err().0, "publish.url");
    }
}
