//! `cargo winpkg size [--try]`: where an exe's bytes go, and what each Cargo profile
//! lever would save, measured by building with it rather than guessed.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::cargo;
use super::error::BuildError;
use super::options::BuildOptions;
use super::plan::Plan;
use crate::events::Listener;
use crate::pe::{self, PeError, SectionBytes};

/// The profile settings that make a Rust exe smaller: (key, value as TOML, as shown).
pub const LEVERS: [(&str, &str, &str); 5] = [
    ("strip", "true", "strip = true"),
    ("opt-level", "\"z\"", "opt-level = \"z\""),
    ("lto", "true", "lto = true"),
    ("codegen-units", "1", "codegen-units = 1"),
    ("panic", "\"abort\"", "panic = \"abort\""),
];

/// Where the bytes of one exe go.
#[derive(Debug, Clone, Serialize)]
pub struct Breakdown {
    pub path: PathBuf,
    pub size: u64,
    /// Deflated, as in the zip.
    pub zipped: u64,
    /// Headers and section table.
    pub headers: u64,
    /// Largest first.
    pub sections: Vec<SectionBytes>,
    /// DWARF sections (also counted in `sections`).
    pub dwarf: u64,
    /// The COFF symbol table and its strings.
    pub symbols: u64,
    /// Bytes after the last section that are not symbols (certificate table, overlay).
    pub trailing: u64,
}

/// Read the breakdown of `path`.
pub fn breakdown(path: &Path) -> Result<Breakdown, PeError> {
    let data = std::fs::read(path)?;
    let facts = pe::parse(path, &data)?;
    let mut sections = facts.sections;
    sections.sort_by(|a, b| b.size.cmp(&a.size).then(a.name.cmp(&b.name)));
    let size = data.len() as u64;
    let end_of_sections = facts.header_bytes + sections.iter().map(|s| s.size).sum::<u64>();
    Ok(Breakdown {
        path: path.to_path_buf(),
        size,
        zipped: deflated(&data)?,
        headers: facts.header_bytes,
        sections,
        dwarf: facts.debug.dwarf,
        symbols: facts.debug.symbols,
        trailing: size
            .saturating_sub(end_of_sections)
            .saturating_sub(facts.debug.symbols),
    })
}

/// The size of `data` deflated into a zip, as the package stores it.
fn deflated(data: &[u8]) -> Result<u64, PeError> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    let err = |e: zip::result::ZipError| PeError::Io(std::io::Error::other(e.to_string()));
    w.start_file("x", options).map_err(err)?;
    w.write_all(data)?;
    let out = w.finish().map_err(err)?;
    Ok(out.get_ref().len() as u64)
}

/// One build of `--try`.
#[derive(Debug, Clone, Serialize)]
pub struct Trial {
    /// What was changed: `as configured`, a lever, or `all of the above`.
    pub lever: String,
    pub size: u64,
    pub zipped: u64,
}

/// The size report of one package.
#[derive(Debug, Clone, Serialize)]
pub struct SizeReport {
    pub package: String,
    pub profile: String,
    pub breakdown: Breakdown,
    /// The levers the profile does not set yet.
    pub unset_levers: Vec<String>,
    /// With --try: one build per lever.
    pub trials: Vec<Trial>,
}

/// The size levers `[profile.<profile>]` in the workspace's Cargo.toml does not set.
pub fn unset_levers(workspace_manifest: &Path, profile: &str) -> Vec<String> {
    let text = std::fs::read_to_string(workspace_manifest).unwrap_or_default();
    let doc = text.parse::<toml_edit::Document<String>>().ok();
    let table = doc
        .as_ref()
        .and_then(|d| d.get("profile"))
        .and_then(|p| p.get(profile));
    LEVERS
        .iter()
        .filter(|(key, ..)| table.and_then(|t| t.get(key)).is_none())
        .map(|(.., shown)| (*shown).to_string())
        .collect()
}

/// Build `plan`'s exe with each lever in a target folder of its own; measure each.
pub fn trials(
    opts: &BuildOptions,
    plan: &Plan,
    baseline: &Breakdown,
    ui: &dyn Listener,
) -> Result<Vec<Trial>, BuildError> {
    let profile = opts.cargo.profile_name();
    let mut out = vec![Trial {
        lever: "as configured".into(),
        size: baseline.size,
        zipped: baseline.zipped,
    }];
    let mut all: Vec<String> = Vec::new();
    let mut runs: Vec<(String, Vec<String>)> = Vec::new();
    for (key, value, shown) in LEVERS {
        let c = format!("profile.{profile}.{key}={value}");
        all.push(c.clone());
        runs.push((shown.to_string(), vec![c]));
    }
    runs.push(("all of the above".into(), all));
    for (i, (lever, configs)) in runs.into_iter().enumerate() {
        let mut flags = opts.cargo.clone();
        flags.config.extend(configs);
        flags.target_dir = Some(plan.winpkg_dir.join("size").join(format!("lever-{i}")));
        flags.quiet = true;
        ui.stage("Trying", &format!("{lever} ({})", plan.exe_name));
        let exe = cargo::build(&plan.build_plan(&flags), ui)?;
        let b = breakdown(&exe)
            .map_err(|e| BuildError::Input(vec![crate::check::InputError::new(&exe, &e, None)]))?;
        out.push(Trial {
            lever,
            size: b.size,
            zipped: b.zipped,
        });
    }
    Ok(out)
}
