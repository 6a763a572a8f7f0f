//! One file's facts and resolved imports -> its diagnostics.

use super::codes::{Code, Diagnostic};
use super::policy::Policy;
use super::resolve::display_name;
use super::{ImportReport, group_by_dll};
use crate::dlls::{self, Arch, Class, Release};
use crate::pe::Facts;

/// What every diagnostic of one file shares.
struct FileCtx<'a> {
    facts: &'a Facts,
    /// The file name, as messages show it.
    file: String,
    arch: Option<Arch>,
    policy: &'a Policy,
}

impl FileCtx<'_> {
    fn diag(&self, code: Code, dll: &str, message: String, help: String) -> Diagnostic {
        Diagnostic::new(
            code,
            Some(self.facts.path.clone()),
            Some(dll.to_string()),
            message,
            Some(help),
        )
    }
}

/// The diagnostics for one file's imports.
pub(super) fn judge(
    facts: &Facts,
    arch: Option<Arch>,
    imports: &[ImportReport],
    policy: &Policy,
    out: &mut Vec<Diagnostic>,
) {
    let ctx = FileCtx {
        facts,
        file: display_name(&facts.path),
        arch,
        policy,
    };
    subsystem_version(&ctx, out);
    let mut ucrt_users = Vec::new();
    // One diagnostic per (dll, code) even when a DLL has two descriptors
    // (KERNEL32.dll and kernel32.dll, or a normal and a delay-load one); file order.
    for group in group_by_dll(imports) {
        let imp = group[0];
        if imp.allowed {
            continue;
        }
        let Some(d) = judge_dll(&ctx, &group, &mut ucrt_users) else {
            continue;
        };
        let only_delay = group.iter().all(|i| i.delay);
        out.push(if only_delay && d.code != Code::DebugCrt {
            Diagnostic::new(
                Code::DelayLoadMissing,
                d.file,
                d.dll,
                format!(
                    "{}; it is delay-loaded, so {} starts, and fails only when it first calls into {}",
                    d.message, ctx.file, imp.dll
                ),
                d.help,
            )
        } else {
            d
        });
    }
    if let Some(first) = ucrt_users.first() {
        out.push(Diagnostic::new(
            Code::UcrtNeedsUpdate,
            Some(facts.path.clone()),
            Some(first.clone()),
            format!(
                "{} uses the Universal CRT ({first}{}), built into Windows 10 and later; {} has it only with the Universal C Runtime update (KB2999226) or the Visual C++ Redistributable installed",
                ctx.file,
                if ucrt_users.len() > 1 {
                    format!(" and {} more", ucrt_users.len() - 1)
                } else {
                    String::new()
                },
                policy.min_windows
            ),
            Some("make sure targets before Windows 10 are updated, or ship the Visual C++ Redistributable, which installs the Universal CRT".into()),
        ));
    }
}

/// The diagnostic for one DLL (all its descriptors), if it has a problem. Universal CRT
/// users below Windows 10 are collected into `ucrt_users` for one note per file.
fn judge_dll(
    ctx: &FileCtx,
    group: &[&ImportReport],
    ucrt_users: &mut Vec<String>,
) -> Option<Diagnostic> {
    let imp = group[0];
    let resolved = group.iter().any(|i| i.resolved.is_some());
    let (file, name, machine) = (&ctx.file, &imp.dll, ctx.facts.machine);
    match imp.class {
        Class::DebugCrt => Some(ctx.diag(
            Code::DebugCrt,
            name,
            format!("{file} imports {name}, a debug build of the Visual C++ runtime"),
            "build in release mode (Rust: `cargo build --release`; MSVC: /MD or /MT instead of /MDd or /MTd): debug runtimes are not redistributable and are missing on every machine without Visual Studio".into(),
        )),
        Class::VcRedist if !resolved => Some(ctx.diag(
            Code::MissingVcRedist,
            name,
            format!(
                "{file} imports {name} from the Visual C++ Redistributable, which a clean Windows does not have"
            ),
            format!(
                "link the C runtime statically (Rust: `-C target-feature=+crt-static`, or `crt-static = true` in [package.metadata.winpkg]; C/C++: /MT), or have the Visual C++ Redistributable ({}) installed on the target, or ship {name} beside the program",
                machine.vc_redist_installer()
            ),
        )),
        Class::MingwRuntime if !resolved => Some(ctx.diag(
            Code::MissingMingwRuntime,
            name,
            format!(
                "{file} imports {name} from the MinGW-w64 GCC runtime, and it is not beside the program"
            ),
            format!(
                "ship {name} beside the program (cargo winpkg does so with `bundle-mingw-runtime = true`, the default; elsewhere your toolchain has it: `{}-g++ -print-file-name={name}`), pass its folder with --dll-dir, or link the runtime statically (`-static-libgcc -static-libstdc++`, Rust: `-C link-args=-static`)",
                machine.mingw_prefix()
            ),
        )),
        Class::ThirdParty if !resolved => Some(ctx.diag(
            Code::MissingDll,
            name,
            format!("{file} imports {name}, which is not part of Windows and was not found"),
            format!(
                "ship {name} beside the program, or pass the folder that has it with --dll-dir; if the host process provides it, say which host loads the file (--host python or --host node) or allow it with --allow {name}"
            ),
        )),
        Class::System => system_dll(ctx, name, ucrt_users),
        Class::ApiSet
            if dlls::is_ucrt(name) && ctx.policy.min_windows < Release::Win10 =>
        {
            ucrt_users.push(name.clone());
            None
        }
        _ => None,
    }
}

/// A system DLL that some release from the minimum Windows on lacks.
fn system_dll(ctx: &FileCtx, name: &str, ucrt_users: &mut Vec<String>) -> Option<Diagnostic> {
    let arch = ctx.arch?;
    let verdict = dlls::classify(name, Some(arch));
    let lacking: Vec<Release> = verdict
        .absent_in
        .iter()
        .copied()
        .filter(|r| *r >= ctx.policy.min_windows)
        .collect();
    if lacking.is_empty() {
        return None;
    }
    if dlls::is_ucrt(name) && lacking.iter().all(|r| *r < Release::Win10) {
        ucrt_users.push(name.to_string());
        return None;
    }
    let list: Vec<String> = lacking.iter().map(|r| r.to_string()).collect();
    let since = verdict
        .since
        .map(|r| format!("it first ships with {r}"))
        .unwrap_or_default();
    Some(ctx.diag(
        Code::DllNotInWindowsVersion,
        name,
        format!(
            "{} imports {name}, which vanilla {} lacks ({since})",
            ctx.file,
            list.join(" and ")
        ),
        format!(
            "raise the minimum Windows (--min-windows / `min-windows`) to {}, or delay-load {name} and check for it before calling it",
            verdict
                .since
                .map(Release::as_str)
                .unwrap_or("a release that has it")
        ),
    ))
}

/// The Windows loader refuses an image whose subsystem version is newer than the running
/// Windows ("is not a valid Win32 application"). Only for Windows subsystems: drivers
/// and EFI images use the field differently.
fn subsystem_version(ctx: &FileCtx, out: &mut Vec<Diagnostic>) {
    let facts = ctx.facts;
    if !facts.subsystem.is_win32() {
        return;
    }
    let parse = |v: &str| -> Option<(u32, u32)> {
        let (a, b) = v.split_once('.')?;
        Some((a.parse().ok()?, b.parse().ok()?))
    };
    let Some(have) = parse(&facts.subsystem_version) else {
        return;
    };
    let min_windows = ctx.policy.min_windows;
    let (min, flag) = match min_windows {
        Release::Win7 => ((6, 1), "6.01"),
        Release::Win8 => ((6, 2), "6.02"),
        Release::Win81 => ((6, 3), "6.03"),
        Release::Win10 | Release::Win11 => ((10, 0), "10.00"),
    };
    if have <= min {
        return;
    }
    let sub = facts.subsystem.as_str();
    out.push(Diagnostic::new(
        Code::SubsystemVersionTooNew,
        Some(facts.path.clone()),
        None,
        format!(
            "{} has subsystem version {}, so {min_windows} refuses to load it (\"not a valid Win32 application\")",
            ctx.file, facts.subsystem_version
        ),
        Some(format!(
            "link with an older subsystem version (MSVC/lld-link: /SUBSYSTEM:{},{flag}; GNU ld: -Wl,--subsystem,{sub}:{}.{}), or raise --min-windows / `min-windows`",
            sub.to_ascii_uppercase(),
            min.0,
            min.1,
        )),
    ));
}
