//! Stamp a VERSIONINFO resource and an application manifest into a finished exe, after
//! the link and before signing. Done on the staged copy through `editpe`, which writes
//! the same bytes for the same input, so a stamped exe stays reproducible.

use std::path::Path;

use editpe::types::VersionU16;
use editpe::{Image, VersionInfo, VersionStringTable};

/// What to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stamp {
    /// The VERSIONINFO resource, unless `version-info.stamp = false`.
    pub version: Option<Versions>,
    /// The manifest XML to embed, when asked for.
    pub manifest: Option<String>,
}

/// A VERSIONINFO: the fixed versions (a.b.c.d) and the string table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Versions {
    pub file_version: [u16; 4],
    pub product_version: [u16; 4],
    /// A pre-release version (`1.0.0-beta.1`): the VS_FF_PRERELEASE flag.
    pub prerelease: bool,
    /// (key, value) in writing order: CompanyName, FileDescription...
    pub strings: Vec<(String, String)>,
}

/// What stamping did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Stamped {
    pub version_info: bool,
    pub manifest: bool,
    /// The exe already had version info / a manifest of its own: kept.
    pub kept_version_info: bool,
    pub kept_manifest: bool,
}

#[derive(Debug, thiserror::Error)]
#[error("cannot stamp version information into {}: {why}", path.display())]
pub struct StampError {
    pub path: std::path::PathBuf,
    pub why: String,
}

/// `1.2.3-beta.1` -> [1, 2, 3, 0] (the pre-release part only in the strings). Err says
/// which part does not fit Windows's 16-bit fields.
pub fn parse_version(v: &str) -> Result<[u16; 4], String> {
    let core = v.split(['-', '+']).next().unwrap_or(v);
    let mut out = [0u16; 4];
    let parts: Vec<&str> = core.split('.').collect();
    if parts.is_empty() || parts.len() > 4 {
        return Err(format!("`{v}` is not 1 to 4 numbers separated by dots"));
    }
    for (i, p) in parts.iter().enumerate() {
        out[i] = p.parse::<u16>().map_err(|_| {
            format!(
                "`{p}` in `{v}` is not a number from 0 to 65535 (Windows version fields are 16-bit)"
            )
        })?;
    }
    Ok(out)
}

/// The manifest `app-manifest = true` embeds: run as the invoking user (no UAC prompt),
/// declare Windows 7 to 11 (so Windows does not apply compatibility shims), long paths,
/// and UTF-8 as the ANSI code page.
pub const APP_MANIFEST: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<assembly xmlns="urn:schemas-microsoft-com:asm.v1" manifestVersion="1.0">
  <trustInfo xmlns="urn:schemas-microsoft-com:asm.v3">
    <security>
      <requestedPrivileges>
        <requestedExecutionLevel level="asInvoker" uiAccess="false"/>
      </requestedPrivileges>
    </security>
  </trustInfo>
  <compatibility xmlns="urn:schemas-microsoft-com:compatibility.v1">
    <application>
      <supportedOS Id="{35138b9a-5d96-4fbd-8e2d-a2440225f93a}"/>
      <supportedOS Id="{4a2f28e3-53b9-4441-ba9c-d69d4a4a6e38}"/>
      <supportedOS Id="{1f676c76-80e1-4239-95bb-83d0f6d0da78}"/>
      <supportedOS Id="{8e0f7a12-bfb3-4fe8-b9a5-48fd50a15a9a}"/>
    </application>
  </compatibility>
  <application xmlns="urn:schemas-microsoft-com:asm.v3">
    <windowsSettings>
      <longPathAware xmlns="http://schemas.microsoft.com/SMI/2016/WindowsSettings">true</longPathAware>
      <activeCodePage xmlns="http://schemas.microsoft.com/SMI/2019/WindowsSettings">UTF-8</activeCodePage>
    </windowsSettings>
  </application>
</assembly>
"#;

/// Stamp `path` in place (it must be a copy the caller owns). Resources the exe already
/// has are kept: a crate that embeds its own version info (winresource, embed-resource)
/// knows better.
pub fn stamp(path: &Path, stamp: &Stamp) -> Result<Stamped, StampError> {
    let err = |why: String| StampError {
        path: path.to_path_buf(),
        why,
    };
    let bytes = std::fs::read(path).map_err(|e| err(e.to_string()))?;
    let mut image = Image::parse(bytes.as_slice()).map_err(|e| err(e.to_string()))?;
    let mut resources = image.resource_directory().cloned().unwrap_or_default();
    let mut done = Stamped::default();
    if let Some(versions) = &stamp.version {
        let has_version = resources
            .get_version_info()
            .map_err(|e| err(e.to_string()))?
            .is_some();
        if has_version {
            done.kept_version_info = true;
        } else {
            resources
                .set_version_info(&version_info(versions))
                .map_err(|e| err(e.to_string()))?;
            done.version_info = true;
        }
    }
    if let Some(xml) = &stamp.manifest {
        let has_manifest = resources
            .get_manifest()
            .map_err(|e| err(e.to_string()))?
            .is_some();
        if has_manifest {
            done.kept_manifest = true;
        } else {
            resources
                .set_manifest(xml)
                .map_err(|e| err(e.to_string()))?;
            done.manifest = true;
        }
    }
    if !done.version_info && !done.manifest {
        return Ok(done);
    }
    image
        .set_resource_directory(resources)
        .map_err(|e| err(e.to_string()))?;
    let mut out = Vec::new();
    image
        .write_writer(&mut out)
        .map_err(|e| err(e.to_string()))?;
    std::fs::write(path, out).map_err(|e| err(e.to_string()))?;
    Ok(done)
}

/// US English, Unicode: the string table key and its translation entry.
const LANG: u16 = 0x0409;
const CODEPAGE: u16 = 0x04b0;
const VS_FF_PRERELEASE: u32 = 0x2;

fn version_info(s: &Versions) -> VersionInfo {
    let pack = |v: [u16; 4]| editpe::types::VersionU32 {
        major: (u32::from(v[0]) << 16) | u32::from(v[1]),
        minor: (u32::from(v[2]) << 16) | u32::from(v[3]),
    };
    let mut info = VersionInfo::default();
    info.info.file_version = pack(s.file_version);
    info.info.product_version = pack(s.product_version);
    if s.prerelease {
        info.info.file_flags |= VS_FF_PRERELEASE;
    }
    let mut table = VersionStringTable {
        key: format!("{LANG:04x}{CODEPAGE:04x}"),
        ..Default::default()
    };
    for (k, v) in &s.strings {
        table.strings.insert(k.clone(), v.clone());
    }
    info.strings = vec![table];
    info.vars = vec![VersionU16 {
        major: LANG,
        minor: CODEPAGE,
    }];
    info
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions() {
        assert_eq!(parse_version("1.2.3"), Ok([1, 2, 3, 0]));
        assert_eq!(parse_version("1.2.3-beta.1+build.5"), Ok([1, 2, 3, 0]));
        assert_eq!(parse_version("10.0.19041.1"), Ok([10, 0, 19041, 1]));
        assert!(parse_version("1.70000.0").unwrap_err().contains("16-bit"));
        assert!(parse_version("1.2.3.4.5").is_err());
        assert!(parse_version("x").is_err());
    }
}
