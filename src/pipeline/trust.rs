//! What makes the exe trusted on first run, planned from the config before the build:
//! the VERSIONINFO to stamp (from Cargo.toml, each string overridable) and the
//! application manifest.

use cargo_metadata::Package;

use crate::config::{Config, ConfigError, Origin, VersionInfoConfig};
use crate::package::stamp::{self, APP_MANIFEST, Stamp, Versions};

/// The stamp for `pkg`'s exe, or None with `version-info.stamp = false` and no manifest.
pub fn version_stamp(
    cfg: &Config,
    origin: &Origin,
    pkg: &Package,
    bin: &str,
    exe_name: &str,
) -> Result<Option<Stamp>, ConfigError> {
    let vi = cfg.version_info.clone().unwrap_or_default();
    let manifest = cfg
        .app_manifest
        .unwrap_or(false)
        .then(|| APP_MANIFEST.into());
    if !vi.stamp.unwrap_or(true) {
        return Ok(manifest.map(|m| Stamp {
            version: None,
            manifest: Some(m),
        }));
    }
    let version = pkg.version.to_string();
    let parse = |key: &str, v: &str| {
        stamp::parse_version(v).map_err(|why| {
            cfg.error(
                origin,
                key,
                format!("cannot be a Windows file version: {why}"),
                Some("set `file-version` and `product-version` in [package.metadata.winpkg.version-info] to four numbers up to 65535, e.g. \"1.2.3.0\"".into()),
            )
        })
    };
    let file_version_s = vi.file_version.clone().unwrap_or(version.clone());
    let product_version_s = vi.product_version.clone().unwrap_or(version.clone());
    let key_of = |set: bool, k: &str| {
        if set {
            format!("version-info.{k}")
        } else {
            "version-info".to_string()
        }
    };
    let file_version = parse(
        &key_of(vi.file_version.is_some(), "file-version"),
        &file_version_s,
    )?;
    let product_version = parse(
        &key_of(vi.product_version.is_some(), "product-version"),
        &product_version_s,
    )?;
    let strings = strings(&vi, pkg, bin, exe_name, file_version_s, product_version_s);
    Ok(Some(Stamp {
        version: Some(Versions {
            file_version,
            product_version,
            prerelease: !pkg.version.pre.is_empty(),
            strings,
        }),
        manifest,
    }))
}

/// The string table: Cargo.toml's values unless the config overrides them.
fn strings(
    vi: &VersionInfoConfig,
    pkg: &Package,
    bin: &str,
    exe_name: &str,
    file_version_s: String,
    product_version_s: String,
) -> Vec<(String, String)> {
    let authors: Vec<String> = pkg
        .authors
        .iter()
        .map(|a| a.split('<').next().unwrap_or(a).trim().to_string())
        .filter(|a| !a.is_empty())
        .collect();
    let or = |set: &Option<String>, default: Option<String>| set.clone().or(default);
    [
        (
            "CompanyName",
            or(
                &vi.company_name,
                (!authors.is_empty()).then(|| authors.join(", ")),
            ),
        ),
        (
            "FileDescription",
            or(
                &vi.file_description,
                Some(pkg.description.clone().unwrap_or(pkg.name.to_string())),
            ),
        ),
        ("FileVersion", Some(file_version_s)),
        ("InternalName", or(&vi.internal_name, Some(bin.to_string()))),
        (
            "LegalCopyright",
            or(
                &vi.legal_copyright,
                pkg.license.as_ref().map(|l| format!("Licensed under {l}")),
            ),
        ),
        (
            "OriginalFilename",
            or(&vi.original_filename, Some(exe_name.to_string())),
        ),
        (
            "ProductName",
            or(&vi.product_name, Some(pkg.name.to_string())),
        ),
        ("ProductVersion", Some(product_version_s)),
        ("Comments", vi.comments.clone()),
    ]
    .into_iter()
    .filter_map(|(k, v)| v.map(|v| (k.to_string(), v)))
    .collect()
}
