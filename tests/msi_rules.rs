//! Windows Installer's rules as `verify` checks them on an MSI: every MSI the README
//! offers passes with no errors; MSIs written by wixl (msitools), which no one here
//! wrote, give no false findings and broken copies of them give the finding; the
//! Component Rules between two MSIs (`verify --against`); and the fixes the rules
//! asked of our writer (File.Version, the lock table's columns, Dependencies, the
//! recovery action, per-platform components, per-build product codes, per-user key
//! paths), each read back from the tables.

use std::path::{Path, PathBuf};

use crate::common::*;
use serde_json::Value;

const CODE: &str = "{6F1C2A3B-1111-4222-8333-944455556666}";

fn verify_json(msi: &Path, extra: &[&str]) -> (i32, Value) {
    let mut args: Vec<&std::ffi::OsStr> =
        vec!["verify".as_ref(), "--format".as_ref(), "json".as_ref()];
    args.extend(extra.iter().map(std::ffi::OsStr::new));
    args.push(msi.as_os_str());
    let r = run(args);
    (r.code, r.json())
}

/// The findings of a verify document whose rule is `rule`, as `severity at: message`.
fn found(v: &Value, rule: &str) -> Vec<String> {
    v["findings"]
        .as_array()
        .unwrap_or_else(|| panic!("{v:#}"))
        .iter()
        .filter(|f| f["rule"] == rule)
        .map(|f| {
            format!(
                "{} {}: {}",
                f["severity"].as_str().unwrap(),
                f["at"].as_str().unwrap(),
                f["message"].as_str().unwrap()
            )
        })
        .collect()
}

/// All rows of a table, each column by name, as text.
fn rows(msi: &Path, table: &str) -> Vec<std::collections::BTreeMap<String, String>> {
    let mut p = msi::open(msi).unwrap();
    let cols: Vec<String> = p
        .get_table(table)
        .unwrap_or_else(|| panic!("no table {table}"))
        .columns()
        .iter()
        .map(|c| c.name().to_string())
        .collect();
    p.select_rows(msi::Select::table(table))
        .unwrap()
        .map(|r| {
            cols.iter()
                .enumerate()
                .map(|(i, c)| {
                    let v = match &r[i] {
                        msi::Value::Null => String::new(),
                        msi::Value::Int(n) => n.to_string(),
                        msi::Value::Str(s) => s.clone(),
                        other => format!("{other:?}"),
                    };
                    (c.clone(), v)
                })
                .collect()
        })
        .collect()
}

/// The MSI's ProductCode.
fn product_code(msi: &Path) -> String {
    rows(msi, "Property")
        .into_iter()
        .find(|p| p["Property"] == "ProductCode")
        .unwrap()["Value"]
        .clone()
}

/// Assert that verify document `v` has a `rule` finding whose text holds every one of
/// `parts`.
fn assert_found(v: &Value, rule: &str, parts: &[&str]) {
    let f = found(v, rule);
    assert!(
        f.iter().any(|f| parts.iter().all(|p| f.contains(p))),
        "{rule} {parts:?}: {f:#?}\n{v:#}"
    );
}

/// The example service with `edit` applied to its Cargo.toml and an MSI table, built
/// with `--msi` and `extra`; the MSI's path.
fn example_msi(dir: &Path, edit: impl FnOnce(String) -> String, extra: &[&str]) -> PathBuf {
    let manifest = copy_example_with(dir, |t| {
        edit(t) + &format!("\n[package.metadata.winpkg.msi]\nupgrade-code = \"{CODE}\"\n")
    });
    let mut args = vec!["--release", "--msi"];
    args.extend(extra);
    let r = package(
        &manifest,
        &dir.join("out"),
        &args,
        &[("SOURCE_DATE_EPOCH", "1700000000")],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    PathBuf::from(r.json()["packages"][0]["msi"]["path"].as_str().unwrap())
}

/// The logon agent (a per-user Run entry) or a CLI tool on PATH, as an MSI.
fn agent_msi(dir: &Path, table: &str) -> PathBuf {
    let manifest = copy_crate(&root().join("examples/logon-agent"), dir, |t| {
        let t = match table {
            "" => t,
            other => {
                t.split("[package.metadata.winpkg.run-key]")
                    .next()
                    .unwrap()
                    .to_string()
                    + other
            }
        };
        t + &format!("\n[package.metadata.winpkg.msi]\nupgrade-code = \"{CODE}\"\n")
    });
    let r = package(&manifest, &dir.join("out"), &["--release", "--msi"], &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    PathBuf::from(r.json()["packages"][0]["msi"]["path"].as_str().unwrap())
}

/// A native service with everything the MSI writes for one: data and log folders
/// (granted to the account), env, two dependencies, delayed start, the Event Log
/// source, recovery, SID type and privileges.
fn rich(t: String) -> String {
    t.replacen("start = \"auto\"", "start = \"delayed-auto\"", 1).replacen(
        "account = \"LocalService\"",
        "account = \"LocalService\"\ndata-dirs = [\"{programdata}\\\\hello-service\\\\data\", \"D:\\\\svc [x]\"]\nlog-dir = \"{dir}\\\\logs\"\nenv = { GREETING = \"[hi] & 100%\" }\ndepends-on = [\"Tcpip\", \"Dhcp\"]\nsid-type = \"unrestricted\"\nrequired-privileges = [\"SeChangeNotifyPrivilege\"]",
        1,
    )
}

/// Every configuration the README offers gives an MSI with no rule errors, and the
/// writer's fixes read back from the tables: File.Version and File.Language from the
/// exe's version resource (and no MsiFileHash row for it), MsiLockPermissionsEx's
/// SDDLText column, Dependencies as `a[~]b[~][~]`, recovery by `sc.exe failure` in a
/// deferred custom action, Page Count 500, CustomAction's ExtendedType column.
#[test]
fn every_msi_configuration_passes_windows_installer_rules() {
    let d = tempfile::tempdir().unwrap();
    let msi = example_msi(d.path(), rich, &[]);
    let warnings = assert_msi_rules_pass(&msi);
    assert!(
        warnings.iter().all(|w| w.starts_with("ICE61 warning")),
        "{warnings:#?}"
    );
    let files = rows(&msi, "File");
    let exe = files
        .iter()
        .find(|f| f["FileName"].ends_with("|hello-service.exe"))
        .unwrap();
    assert_eq!(exe["Version"], "0.1.0.0", "{exe:?}");
    assert_eq!(exe["Language"], "1033", "{exe:?}");
    let scripts = files
        .iter()
        .find(|f| f["FileName"].ends_with("|install.cmd"))
        .unwrap();
    assert_eq!(scripts["Version"], "");
    let hashed: Vec<String> = rows(&msi, "MsiFileHash")
        .into_iter()
        .map(|r| r["File_"].clone())
        .collect();
    assert!(!hashed.contains(&exe["File"]) && hashed.contains(&scripts["File"]));
    let p = msi::open(&msi).unwrap();
    let lock = p.get_table("MsiLockPermissionsEx").unwrap();
    assert!(lock.has_column("SDDLText") && !lock.has_column("SDDL"));
    assert!(
        p.get_table("CustomAction")
            .unwrap()
            .has_column("ExtendedType")
    );
    assert_eq!(p.summary_info().page_count(), Some(500));
    assert!(p.get_table("MsiServiceConfigFailureActions").is_none());
    drop(p);
    // The cabinet is made of the zip's pieces: a folder per file with bytes.
    let mut p = msi::open(&msi).unwrap();
    let mut cab = Vec::new();
    std::io::Read::read_to_end(&mut p.read_stream("product.cab").unwrap(), &mut cab).unwrap();
    let folders = u16::from_le_bytes([cab[26], cab[27]]);
    let with_bytes = files.iter().filter(|f| f["FileSize"] != "0").count();
    assert_eq!(usize::from(folders), with_bytes);
    drop(p);
    let svc = &rows(&msi, "ServiceInstall")[0];
    assert_eq!(svc["Dependencies"], "Tcpip[~]Dhcp[~][~]");
    let recovery = rows(&msi, "CustomAction")
        .into_iter()
        .find(|a| a["Action"] == "service_recovery")
        .expect("the recovery custom action");
    assert_eq!(recovery["Type"], (34 + 1024 + 2048).to_string());
    assert_eq!(recovery["Source"], "SystemFolder");
    assert_eq!(
        recovery["Target"],
        "\"[SystemFolder]sc.exe\" failure \"hello-service\" reset= 86400 actions= restart/5000/restart/5000//0"
    );
    let seq = rows(&msi, "InstallExecuteSequence");
    let at = |a: &str| -> i32 {
        seq.iter().find(|r| r["Action"] == a).unwrap()["Sequence"]
            .parse()
            .unwrap()
    };
    assert!(
        at("InstallServices") < at("service_recovery")
            && at("service_recovery") < at("StartServices")
    );
}

/// A shawl service with one dependency, and an x86 build, pass too.
#[test]
fn shawl_and_x86_services_pass_windows_installer_rules() {
    let e = tempfile::tempdir().unwrap();
    let shawl = example_msi(
        e.path(),
        |t| {
            t.replacen(
                "start = \"auto\"",
                "start = \"auto\"\nmode = \"shawl\"\ndepends-on = [\"Tcpip\"]",
                1,
            )
        },
        &[],
    );
    assert_msi_rules_pass(&shawl);
    assert_eq!(
        rows(&shawl, "ServiceInstall")[0]["Dependencies"],
        "Tcpip[~][~]"
    );
    let f = tempfile::tempdir().unwrap();
    let x86 = example_msi(f.path(), |t| t, &["--target", "i686-pc-windows-gnu"]);
    assert_msi_rules_pass(&x86);
    assert_eq!(
        msi::open(&x86).unwrap().summary_info().arch(),
        Some("Intel")
    );
}

/// The ways to run without a service: a per-user Run entry and a per-user CLI tool
/// make per-user MSIs (no ALLUSERS, "no elevation" in Word Count) whose components
/// have HKCU key paths (ICE38) and whose profile folders are removed (ICE64); a
/// machine-wide CLI tool is per machine.
#[test]
fn per_user_and_per_machine_programs_pass_windows_installer_rules() {
    let d = tempfile::tempdir().unwrap();
    let agent = agent_msi(d.path(), "");
    assert_msi_rules_pass(&agent);
    let components = rows(&agent, "Component");
    let registry = rows(&agent, "Registry");
    for c in &components {
        assert_eq!(c["Attributes"].parse::<i32>().unwrap() & 4, 4, "{c:?}");
        let key = registry
            .iter()
            .find(|r| r["Registry"] == c["KeyPath"])
            .unwrap();
        assert_eq!(key["Root"], "1", "HKCU: {key:?}");
    }
    let removed: Vec<String> = rows(&agent, "RemoveFile")
        .into_iter()
        .map(|r| r["DirProperty"].clone())
        .collect();
    assert!(
        removed.contains(&"INSTALLDIR".to_string())
            && removed.contains(&"UserPrograms".to_string()),
        "{removed:?}"
    );
    assert_eq!(
        msi::open(&agent).unwrap().summary_info().word_count(),
        Some(2 | 8)
    );

    let e = tempfile::tempdir().unwrap();
    let user_cli = agent_msi(e.path(), "[package.metadata.winpkg.cli]\npath = \"user\"\n");
    assert_msi_rules_pass(&user_cli);
    // A scheduled task (not in the MSI: the build warns) makes a per-machine MSI of
    // the files.
    let g = tempfile::tempdir().unwrap();
    let task = agent_msi(
        g.path(),
        "[package.metadata.winpkg.task]\ntrigger = \"boot\"\n",
    );
    assert_msi_rules_pass(&task);
    let f = tempfile::tempdir().unwrap();
    let machine_cli = agent_msi(
        f.path(),
        "[package.metadata.winpkg.cli]\npath = \"machine\"\n",
    );
    assert_msi_rules_pass(&machine_cli);
    assert!(
        rows(&machine_cli, "Property")
            .iter()
            .any(|p| p["Property"] == "ALLUSERS" && p["Value"] == "1")
    );
}

/// An MSI of two small files written by the library (not through a build).
fn lib_msi(dir: &Path, arch: cargo_winpkg::package::msi::MsiArch) -> PathBuf {
    let files = [
        ("tool.exe", b"MZ not really a program".to_vec()),
        ("docs/README.txt", b"hi".to_vec()),
    ];
    library_msi(dir, &files, arch)
}

/// An arm64 MSI (written by the library: nothing links an arm64 exe here) passes, with
/// the Arm64 template.
#[test]
fn an_arm64_msi_passes_windows_installer_rules() {
    let dir = tempfile::tempdir().unwrap();
    let dest = lib_msi(dir.path(), cargo_winpkg::package::msi::MsiArch::Arm64);
    let (_, v) = verify_json(&dest, &[]);
    let errors: Vec<&Value> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["severity"] == "error")
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    assert_eq!(
        msi::open(&dest).unwrap().summary_info().arch(),
        Some("Arm64")
    );
}

/// wixl's per-user program with a file key path and no RemoveFolder.
const WIXL_USER_FILE_KEY: &str = r#"<Package InstallerVersion="500" Compressed="yes" InstallScope="perUser"/>
    <Media Id="1" Cabinet="app.cab" EmbedCab="yes"/>
    <Directory Id="TARGETDIR" Name="SourceDir">
      <Directory Id="LocalAppDataFolder">
        <Directory Id="INSTALLDIR" Name="WixlUser">
          <Component Id="App" Guid="{AAAAAAAA-1111-2222-3333-555555555555}" Win64="yes">
            <File Id="svc.exe" Name="svc.exe" Source="svc.exe" KeyPath="yes"/>
          </Component>
        </Directory>
      </Directory>
    </Directory>
    <Feature Id="Complete" Level="1"><ComponentRef Id="App"/></Feature>"#;

/// wixl's per-user program: an HKCU key path, the folder removed at uninstall.
const WIXL_USER: &str = r#"<Package InstallerVersion="500" Compressed="yes" InstallScope="perUser"/>
    <Media Id="1" Cabinet="app.cab" EmbedCab="yes"/>
    <Directory Id="TARGETDIR" Name="SourceDir">
      <Directory Id="LocalAppDataFolder">
        <Directory Id="INSTALLDIR" Name="WixlUser">
          <Component Id="App" Guid="{AAAAAAAA-1111-2222-3333-555555555555}" Win64="yes">
            <RegistryValue Root="HKCU" Key="Software\Calibration\WixlUser" Name="installed" Type="integer" Value="1" KeyPath="yes"/>
            <File Id="svc.exe" Name="svc.exe" Source="svc.exe"/>
            <File Id="readme.txt" Name="readme.txt" Source="readme.txt"/>
            <RemoveFolder Id="RemoveInstallDir" On="uninstall"/>
          </Component>
        </Directory>
      </Directory>
    </Directory>
    <Feature Id="Complete" Level="1"><ComponentRef Id="App"/></Feature>"#;

/// wixl's per-machine service.
const WIXL_SERVICE: &str = r#"<Package InstallerVersion="200" Compressed="yes" InstallScope="perMachine"/>
    <MajorUpgrade DowngradeErrorMessage="A newer version is installed."/>
    <Media Id="1" Cabinet="app.cab" EmbedCab="yes"/>
    <Directory Id="TARGETDIR" Name="SourceDir">
      <Directory Id="ProgramFiles64Folder">
        <Directory Id="INSTALLDIR" Name="WixlSvc">
          <Component Id="SvcExe" Guid="{AAAAAAAA-1111-2222-3333-444444444444}" Win64="yes">
            <File Id="svc.exe" Name="svc.exe" Source="svc.exe" KeyPath="yes"/>
            <ServiceInstall Id="Svc" Name="wixlsvc" DisplayName="Wixl Service" Type="ownProcess" Start="auto" ErrorControl="normal">
              <ServiceDependency Id="Tcpip"/>
              <ServiceDependency Id="Dhcp"/>
            </ServiceInstall>
            <ServiceControl Id="SvcCtl" Name="wixlsvc" Start="install" Stop="both" Remove="uninstall" Wait="yes"/>
            <RegistryValue Root="HKLM" Key="Software\Calibration\WixlSvc" Name="Path" Type="string" Value="[INSTALLDIR]"/>
          </Component>
          <Component Id="Readme" Guid="{BBBBBBBB-1111-2222-3333-444444444444}" Win64="yes">
            <File Id="readme.txt" Name="readme.txt" Source="readme.txt" KeyPath="yes"/>
          </Component>
          <Directory Id="DataDir" Name="data">
            <Component Id="Data" Guid="{CCCCCCCC-1111-2222-3333-444444444444}" Win64="yes">
              <CreateFolder/>
            </Component>
          </Directory>
        </Directory>
      </Directory>
    </Directory>
    <Feature Id="Complete" Level="1">
      <ComponentRef Id="SvcExe"/><ComponentRef Id="Readme"/><ComponentRef Id="Data"/>
    </Feature>"#;

/// A wixl source: a per-machine service (two dependencies, a registry value, a data
/// folder) or a per-user program (files in LocalAppData with an HKCU key path; with
/// `file_key` the mistake ICE38 and ICE64 are for: a file key path, no RemoveFolder).
fn wixl_msi(dir: &Path, per_user: bool, file_key: bool) -> PathBuf {
    let exe = dir.join("svc.exe");
    let kernel32 = synth::SynthDll {
        name: b"KERNEL32.dll".to_vec(),
        thunks: vec![0],
    };
    std::fs::write(&exe, synth::pe64(&[kernel32], &[b"ExitProcess".to_vec()])).unwrap();
    std::fs::write(dir.join("readme.txt"), "hello\n").unwrap();
    let body = match (per_user, file_key) {
        (true, true) => WIXL_USER_FILE_KEY,
        (true, false) => WIXL_USER,
        _ => WIXL_SERVICE,
    };
    let wxs = format!(
        r#"<?xml version="1.0" encoding="utf-8"?>
<Wix xmlns="http://schemas.microsoft.com/wix/2006/wi">
  <Product Id="*" Name="Wixl" Language="1033" Version="1.2.3" Manufacturer="Calibration" UpgradeCode="{{11111111-2222-3333-4444-555555555555}}">
    {body}
  </Product>
</Wix>
"#
    );
    let src = dir.join("app.wxs");
    std::fs::write(&src, wxs).unwrap();
    let out = dir.join(match (per_user, file_key) {
        (true, true) => "user-file-key.msi",
        (true, false) => "user.msi",
        _ => "svc.msi",
    });
    let o = std::process::Command::new("wixl")
        .current_dir(dir)
        .args(["-a", "x64", "-o"])
        .arg(&out)
        .arg(&src)
        .output()
        .expect("wixl (msitools; scripts/setup.sh installs it)");
    assert!(o.status.success(), "{o:?}");
    out
}

/// A copy of `msi` changed by `edit` (the msi crate, read-write).
fn broken(msi: &Path, name: &str, edit: impl FnOnce(&mut msi::Package<std::fs::File>)) -> PathBuf {
    let copy = msi.with_file_name(name);
    std::fs::copy(msi, &copy).unwrap();
    let mut p = msi::open_rw(&copy).unwrap();
    edit(&mut p);
    p.flush().unwrap();
    copy
}

/// Set `col` of the rows of `table` whose `key.0` column is `key.1`.
fn set(
    p: &mut msi::Package<std::fs::File>,
    table: &str,
    key: (&str, &str),
    col: &str,
    v: msi::Value,
) {
    p.update_rows(
        msi::Update::table(table)
            .set(col, v)
            .with(msi::Expr::col(key.0).eq(msi::Expr::string(key.1))),
    )
    .unwrap();
}

/// Copies of the wixl service MSI broken in one way each: `rule|where|file|change`,
/// the change one of `set TABLE KEY_COLUMN KEY|* COLUMN VALUE` (`#n` a number),
/// `clear TABLE`, `orphan` (a component in no feature), `template PLATFORM`,
/// `words N` (Word Count).
const BROKEN: &[&str] = &[
    "ICE08|Component.Readme|dup-id.msi|set Component Component Readme ComponentId {AAAAAAAA-1111-2222-3333-444444444444}",
    "ICE18|Component.Data|no-create.msi|clear CreateFolder",
    "ICE21|Component.Orphan|no-feature.msi|orphan",
    "ICE03|Registry.|bad-format.msi|set Registry - * Value [not_closed",
    "ICE03|File.readme.txt|stream-name.msi|set File File readme.txt FileName readme.txt:hidden",
    "ICE27|InstallExecuteSequence.InstallFiles|order.msi|set InstallExecuteSequence Action InstallFiles Sequence #1450",
    "ICE27|InstallExecuteSequence.RemoveExistingProducts|rep.msi|set InstallExecuteSequence Action RemoveExistingProducts Sequence #4500",
    "ICE82|InstallExecuteSequence.|same-seq.msi|set InstallExecuteSequence Action FileCost Sequence #800",
    "Services|ServiceInstall.Svc|deps.msi|set ServiceInstall ServiceInstall Svc Dependencies Tcpip[~]Dhcp",
    "Media|File.readme.txt|seq.msi|set File File readme.txt Sequence #1",
    "ICE80|Component.SvcExe|template.msi|template Intel",
    "ICE39|Summary.WordCount|elevation.msi|words 10",
    "ICE61|Upgrade.|unsecured.msi|set Property Property SecureCustomProperties Value OTHER",
    "ICE99|Directory.REMOVE|public.msi|set Directory Directory DataDir Directory REMOVE",
    "ICE24|Property.ProductVersion|version.msi|set Property Property ProductVersion Value 1.2.300000",
];

/// Apply one change of [`BROKEN`].
fn apply(p: &mut msi::Package<std::fs::File>, change: &str) {
    let text = |s: &str| msi::Value::from(s);
    let words: Vec<&str> = change.split(' ').collect();
    match words.as_slice() {
        ["set", table, key_column, key, column, value] => {
            let v = match value.strip_prefix('#') {
                Some(n) => msi::Value::Int(n.parse().unwrap()),
                None => text(value),
            };
            let mut update = msi::Update::table(*table).set(*column, v);
            if *key != "*" {
                update = update.with(msi::Expr::col(*key_column).eq(msi::Expr::string(*key)));
            }
            p.update_rows(update).unwrap();
        }
        ["clear", table] => p.delete_rows(msi::Delete::from(*table)).unwrap(),
        ["orphan"] => {
            let id = "{DDDDDDDD-1111-2222-3333-444444444444}";
            let null = msi::Value::Null;
            let row = vec![
                text("Orphan"),
                text(id),
                text("DataDir"),
                msi::Value::Int(256),
                null.clone(),
                null,
            ];
            p.insert_rows(msi::Insert::into("Component").row(row))
                .unwrap();
            let row = vec![text("DataDir"), text("Orphan")];
            p.insert_rows(msi::Insert::into("CreateFolder").row(row))
                .unwrap();
        }
        ["template", arch] => p.summary_info_mut().set_arch(*arch),
        ["words", n] => p.summary_info_mut().set_word_count(n.parse().unwrap()),
        _ => panic!("unknown change {change}"),
    }
}

/// MSIs that wixl (msitools) built give no finding at all; a copy broken in one way
/// gives that rule's finding, at the row that breaks it.
#[test]
fn wixl_msis_give_no_false_findings_and_broken_copies_give_the_finding() {
    let d = tempfile::tempdir().unwrap();
    let svc = wixl_msi(d.path(), false, false);
    let user = wixl_msi(d.path(), true, false);
    for m in [&svc, &user] {
        let (_, v) = verify_json(m, &[]);
        assert_eq!(
            v["findings"],
            serde_json::json!([]),
            "{}: {v:#}",
            m.display()
        );
    }
    for case in BROKEN {
        let [rule, at, name, change] = case.splitn(4, '|').collect::<Vec<_>>()[..] else {
            panic!("{case}");
        };
        let copy = broken(&svc, name, |p| apply(p, change));
        let (code, v) = verify_json(&copy, &[]);
        let f = found(&v, rule);
        assert!(
            f.iter().any(|f| f.contains(at)),
            "{name}: {rule} at {at}: {f:#?}\n{v:#}"
        );
        if f.iter().any(|f| f.starts_with("error")) {
            assert_eq!(code, 1, "{name}: an error fails verify");
        }
    }
}

/// A misnamed column gives ICE06 (the lock table with `SDDL` for `SDDLText`, as our
/// writer had it), and a per-user component with a file key path and no RemoveFolder
/// (built by wixl) gives ICE38 and ICE64.
#[test]
fn a_misnamed_column_and_a_per_user_file_key_path_give_their_findings() {
    let d = tempfile::tempdir().unwrap();
    // A misnamed column (ICE06): the lock table with `SDDL` for `SDDLText` (added to a
    // library-written MSI: wixl's have no _Validation table for the msi crate to add
    // a table to).
    let own = lib_msi(d.path(), cargo_winpkg::package::msi::MsiArch::X64);
    let lock = broken(&own, "lock.msi", |p| {
        p.create_table(
            "MsiLockPermissionsEx",
            vec![
                msi::Column::build("MsiLockPermissionsEx")
                    .primary_key()
                    .id_string(72),
                msi::Column::build("LockObject").id_string(72),
                msi::Column::build("Table").id_string(32),
                msi::Column::build("SDDL").formatted_string(0),
                msi::Column::build("Condition")
                    .nullable()
                    .category(msi::Category::Condition)
                    .string(255),
            ],
        )
        .unwrap();
    });
    let (code, v) = verify_json(&lock, &[]);
    assert_eq!(code, 1);
    let f = found(&v, "ICE06");
    assert!(
        f.iter().any(
            |f| f.contains("MsiLockPermissionsEx.SDDLText") && f.contains("has `SDDL` instead")
        ),
        "{f:#?}"
    );
    // A per-user component with a file key path (ICE38) and a folder not removed
    // (ICE64).
    let file_key = wixl_msi(d.path(), true, true);
    let (_, v) = verify_json(&file_key, &[]);
    assert_found(&v, "ICE38", &["Component.App", "not a file"]);
    assert_found(&v, "ICE64", &["Directory.INSTALLDIR"]);
}

/// `verify --against OLD.msi NEW.msi`: a next version keeps every ComponentId and
/// upgrades the old one; the x86 and x64 MSIs of one version share no ComponentId (the
/// Component Rules: a 64-bit component is a new component) and are two products; a
/// copy whose ComponentId changed for the same key path, or that kept the old
/// ProductCode, is refused.
#[test]
fn verify_against_checks_the_component_rules_between_two_msis() {
    let a = tempfile::tempdir().unwrap();
    let old = example_msi(a.path(), |t| t, &[]);
    let b = tempfile::tempdir().unwrap();
    let new = example_msi(
        b.path(),
        |t| t.replacen("version = \"0.1.0\"", "version = \"0.2.0\"", 1),
        &[],
    );
    let (code, v) = verify_json(&new, &["--against", old.to_str().unwrap()]);
    assert_eq!(code, 0, "{v:#}");
    assert!(found(&v, "ComponentRules").is_empty(), "{v:#}");
    let ids = |m: &Path| -> Vec<String> {
        rows(m, "Component")
            .into_iter()
            .map(|c| c["ComponentId"].clone())
            .collect()
    };
    let old_ids = ids(&old);
    assert!(
        ids(&new).iter().all(|id| old_ids.contains(id)),
        "the same key paths keep their codes"
    );

    let c = tempfile::tempdir().unwrap();
    let x86 = example_msi(c.path(), |t| t, &["--target", "i686-pc-windows-gnu"]);
    assert!(
        ids(&x86).iter().all(|id| !old_ids.contains(id)),
        "another platform, other codes"
    );
    let (code, v) = verify_json(&x86, &["--against", old.to_str().unwrap()]);
    assert_eq!(code, 0, "{v:#}");
    let product = product_code;
    assert_ne!(product(&x86), product(&old));

    broken_upgrades_are_refused(&old, &new, &x86);
}

/// Copies of `new` and `x86` that break the Component Rules against `old`: the old
/// derivation (one ComponentId on both platforms), a new code for the same key path,
/// and a changed package that kept the old ProductCode.
fn broken_upgrades_are_refused(old: &Path, new: &Path, x86: &Path) {
    let product = product_code;
    // The old derivation: the same ComponentId on both platforms.
    let shared = broken(x86, "shared.msi", |p| {
        for (id, comp) in rows(old, "Component")
            .iter()
            .map(|c| (c["ComponentId"].clone(), c["Component"].clone()))
        {
            set(
                p,
                "Component",
                ("Component", &comp),
                "ComponentId",
                msi::Value::from(id.as_str()),
            );
        }
    });
    let (code, v) = verify_json(&shared, &["--against", old.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert_found(&v, "ComponentRules", &["another platform"]);
    // A new code for the same key path.
    let exe = rows(new, "Component")
        .into_iter()
        .find(|c| {
            c["KeyPath"].starts_with("f_")
                && rows(new, "File").iter().any(|f| {
                    f["File"] == c["KeyPath"] && f["FileName"].ends_with("hello-service.exe")
                })
        })
        .unwrap();
    let moved = broken(new, "moved.msi", |p| {
        set(
            p,
            "Component",
            ("Component", &exe["Component"]),
            "ComponentId",
            msi::Value::from("{00000000-1111-2222-3333-444444444444}"),
        )
    });
    let (code, v) = verify_json(&moved, &["--against", old.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert_found(
        &v,
        "ComponentRules",
        &["hello-service.exe", "had ComponentId"],
    );
    // A changed package that kept the old ProductCode.
    let same = broken(new, "same-product.msi", |p| {
        set(
            p,
            "Property",
            ("Property", "ProductCode"),
            "Value",
            msi::Value::from(product(old).as_str()),
        )
    });
    let (code, v) = verify_json(&same, &["--against", old.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert_found(&v, "ComponentRules", &["1638"]);
}

/// Two builds of one version with different content are two products (the second
/// replaces the first, as another version would); the same content is the same
/// product, byte for byte.
#[test]
fn each_build_of_a_version_is_its_own_product() {
    let a = tempfile::tempdir().unwrap();
    let one = example_msi(a.path(), |t| t, &[]);
    let b = tempfile::tempdir().unwrap();
    let same = example_msi(b.path(), |t| t, &[]);
    let c = tempfile::tempdir().unwrap();
    let other = example_msi(
        c.path(),
        |t| t.replacen("Writes a greeting", "Writes a hello", 1),
        &[],
    );
    let product = product_code;
    assert_eq!(std::fs::read(&one).unwrap(), std::fs::read(&same).unwrap());
    assert_ne!(product(&one), product(&other));
    let (code, v) = verify_json(&other, &["--against", one.to_str().unwrap()]);
    assert_eq!(code, 0, "the second build upgrades the first: {v:#}");
    let upgrade = rows(&other, "Upgrade");
    assert!(
        upgrade
            .iter()
            .any(|u| u["VersionMax"] == "0.1.0" && u["Attributes"] == (1 | 512).to_string()),
        "{upgrade:?}"
    );
}

/// The MSI is byte-identical built on one thread, on several, and with another thread
/// busy beside it: each cabinet block depends on its bytes and the 32 KiB before it.
#[test]
fn the_msi_is_reproducible_under_load_and_on_any_number_of_threads() {
    let d = tempfile::tempdir().unwrap();
    // 6 MiB of mixed content: several batches of blocks, some compressible, some not.
    let data: Vec<u8> = (0..6u32 << 20)
        .map(|i| {
            if (i >> 15) % 3 == 0 {
                (i.wrapping_mul(2_654_435_761) >> 11) as u8
            } else {
                b"winpkg "[(i % 7) as usize]
            }
        })
        .collect();
    let manifest = copy_example_with(d.path(), |t| {
        t.replacen(
            "[package.metadata.winpkg]",
            "[package.metadata.winpkg]\ninclude = [\"big.bin\"]",
            1,
        ) + &format!("\n[package.metadata.winpkg.msi]\nupgrade-code = \"{CODE}\"\n")
    });
    std::fs::write(d.path().join("big.bin"), &data).unwrap();
    let env = [("SOURCE_DATE_EPOCH", "1700000000")];
    // A target folder of its own: `--no-build` takes the exe there, which other tests
    // building the example would replace in the shared one.
    let target = d.path().join("target");
    let first = package_in(
        &manifest,
        Some(&target),
        &d.path().join("out"),
        &["--release", "--msi"],
        &env,
    );
    assert_eq!(first.code, 0, "{}", first.stderr);
    let msi = PathBuf::from(first.json()["packages"][0]["msi"]["path"].as_str().unwrap());
    let reference = std::fs::read(&msi).unwrap();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let busy = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut x = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            }
            x
        })
    };
    for threads in ["1", "2", "7"] {
        for _ in 0..2 {
            let out = d.path().join(format!("out-{threads}"));
            let env = [
                ("SOURCE_DATE_EPOCH", "1700000000"),
                ("RAYON_NUM_THREADS", threads),
            ];
            let r = package_in(
                &manifest,
                Some(&target),
                &out,
                &["--release", "--msi", "--no-build"],
                &env,
            );
            assert_eq!(r.code, 0, "{}", r.stderr);
            let again = PathBuf::from(r.json()["packages"][0]["msi"]["path"].as_str().unwrap());
            assert!(
                std::fs::read(&again).unwrap() == reference,
                "{threads} thread(s) under load gave other bytes"
            );
        }
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    busy.join().unwrap();
}
