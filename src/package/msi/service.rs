//! The service in the MSI: ServiceInstall and ServiceControl, the settings Windows
//! Installer 5 applies (MsiServiceConfig), and the recovery actions, set by `sc.exe
//! failure` in a deferred custom action: Microsoft's MsiConfigureServices page says
//! MsiServiceConfigFailureActions "is not working as expected" and tells authors to
//! run sc.exe instead.

use std::io::{Read, Seek, Write};

use msi::{Column, Insert, Package, Value};

use super::{Entry, MsiError};
use crate::autostart::service::{Account, Mode, Service, StartType};
use crate::config::ErrorControl;
use crate::script::msi_formatted;

/// ServiceInstall and ServiceControl: the service registered with its settings,
/// started at install, stopped before an upgrade or uninstall, deleted at uninstall.
pub(super) fn service_tables<F: Read + Write + Seek>(
    p: &mut Package<F>,
    svc: &Service,
    entries: &[Entry],
    comp: &dyn Fn(&Entry) -> String,
    io: &dyn Fn(std::io::Error) -> MsiError,
) -> Result<(), MsiError> {
    if svc.account.needs_password() {
        return Err(MsiError::PasswordAccount);
    }
    let binary = match svc.mode {
        Mode::Native => svc.exe.as_str(),
        Mode::Shawl => "shawl.exe",
    };
    let component = entries
        .iter()
        .find(|e| e.path.eq_ignore_ascii_case(binary))
        .map(comp)
        .unwrap_or_default();
    // The image path without its program: the component's key file is the program.
    let template = crate::autostart::service::image_path_template(svc);
    let args = crate::script::quote::split(&template)
        .into_iter()
        .skip(1)
        .map(|a| crate::script::quote::argv_folder_aware(&a))
        .collect::<Vec<_>>()
        .join(" ");
    let formatted = |v: &str| Value::from(msi_formatted(v).as_str());
    let start = match svc.start {
        StartType::Auto | StartType::DelayedAuto => 2,
        StartType::Manual => 3,
        StartType::Disabled => 4,
    };
    let error_control = match svc.error_control {
        ErrorControl::Ignore => 0,
        ErrorControl::Normal => 1,
        ErrorControl::Severe => 2,
        ErrorControl::Critical => 3,
    };
    let start_name = match svc.account {
        Account::LocalSystem => Value::Null,
        _ => formatted(&svc.account.object_name(&svc.name)),
    };
    let deps = if svc.depends_on.is_empty() {
        Value::Null
    } else {
        Value::from(dependencies(&svc.depends_on).as_str())
    };
    service_install_table(p, io)?;
    p.insert_rows(Insert::into("ServiceInstall").row(vec![
        Value::from("ServiceInstall"),
        formatted(&svc.name),
        formatted(&svc.display_name),
        Value::Int(0x10), // SERVICE_WIN32_OWN_PROCESS
        Value::Int(start),
        Value::Int(error_control),
        Value::Null,
        deps,
        start_name,
        Value::Null,
        if args.is_empty() {
            Value::Null
        } else {
            Value::from(msi_formatted(&args).as_str())
        },
        Value::from(component.as_str()),
        svc.description
            .as_deref()
            .map(formatted)
            .unwrap_or(Value::Null),
    ]))
    .map_err(io)?;
    service_control(p, svc, &component, io)?;
    service_config(p, svc, &component, io)
}

/// ServiceControl: start at install (unless disabled); stop at install (an upgrade
/// replaces files) and at uninstall, waiting for it; delete at uninstall.
fn service_control<F: Read + Write + Seek>(
    p: &mut Package<F>,
    svc: &Service,
    component: &str,
    io: &dyn Fn(std::io::Error) -> MsiError,
) -> Result<(), MsiError> {
    service_control_table(p, io)?;
    let start_bit = if svc.start == StartType::Disabled {
        0
    } else {
        1
    };
    p.insert_rows(Insert::into("ServiceControl").row(vec![
        Value::from("ServiceControl"),
        Value::from(msi_formatted(&svc.name).as_str()),
        Value::Int(start_bit | 2 | 32 | 128),
        Value::Null,
        Value::Int(1),
        Value::from(component),
    ]))
    .map_err(io)?;
    Ok(())
}

/// The ServiceInstall table, by its documented columns.
fn service_install_table<F: Read + Write + Seek>(
    p: &mut Package<F>,
    io: &dyn Fn(std::io::Error) -> MsiError,
) -> Result<(), MsiError> {
    p.create_table(
        "ServiceInstall",
        vec![
            Column::build("ServiceInstall").primary_key().id_string(72),
            Column::build("Name").formatted_string(255),
            Column::build("DisplayName")
                .nullable()
                .localizable()
                .formatted_string(255),
            Column::build("ServiceType").int32(),
            Column::build("StartType").int32(),
            Column::build("ErrorControl").int32(),
            Column::build("LoadOrderGroup")
                .nullable()
                .formatted_string(255),
            Column::build("Dependencies")
                .nullable()
                .formatted_string(255),
            Column::build("StartName").nullable().formatted_string(255),
            Column::build("Password").nullable().formatted_string(255),
            Column::build("Arguments").nullable().formatted_string(255),
            Column::build("Component_").id_string(72),
            Column::build("Description")
                .nullable()
                .localizable()
                .formatted_string(255),
        ],
    )
    .map_err(io)
}

/// The ServiceControl table, by its documented columns.
fn service_control_table<F: Read + Write + Seek>(
    p: &mut Package<F>,
    io: &dyn Fn(std::io::Error) -> MsiError,
) -> Result<(), MsiError> {
    p.create_table(
        "ServiceControl",
        vec![
            Column::build("ServiceControl").primary_key().id_string(72),
            Column::build("Name").formatted_string(255),
            Column::build("Event").int16(),
            Column::build("Arguments").nullable().formatted_string(255),
            Column::build("Wait").nullable().int16(),
            Column::build("Component_").id_string(72),
        ],
    )
    .map_err(io)
}

/// ServiceInstall.Dependencies as its page documents it: each name followed by `[~]`,
/// and one more `[~]` closing the list (`Tcpip[~]Dhcp[~][~]`).
pub(super) fn dependencies(names: &[String]) -> String {
    let mut out: String = names
        .iter()
        .map(|d| format!("{}[~]", msi_formatted(d)))
        .collect();
    out.push_str("[~]");
    out
}

/// The recovery actions as a deferred custom action (type 34: a program in a folder,
/// +1024 deferred, +2048 as the installing service, not the user) running `sc.exe
/// failure` after InstallServices, at install and repair (not at uninstall).
pub(super) fn recovery_action(svc: &Service) -> Option<super::registry::Action> {
    let r = &svc.recovery;
    if r.actions.is_empty() {
        return None;
    }
    let line = format!(
        "\"[SystemFolder]sc.exe\" failure {} reset= {} actions= {}",
        msi_formatted(&crate::script::quote::argv_quoted(&svc.name)),
        r.reset_after_secs,
        msi_formatted(&r.sc_actions())
    );
    Some(super::registry::Action {
        name: "service_recovery".into(),
        kind: 34 + 1024 + 2048,
        source: "SystemFolder".into(),
        target: line,
        sequence: 5820,
        condition: Some("NOT REMOVE~=\"ALL\""),
    })
}

/// MsiServiceConfig (Windows Installer 5: delayed start, SID type, privileges,
/// pre-shutdown timeout, the failure-actions flag), applied by MsiConfigureServices at
/// install and reinstall.
pub(super) fn service_config<F: Read + Write + Seek>(
    p: &mut Package<F>,
    svc: &Service,
    component: &str,
    io: &dyn Fn(std::io::Error) -> MsiError,
) -> Result<(), MsiError> {
    // msidbServiceConfigEventInstall | msidbServiceConfigEventReinstall
    const EVENTS: i32 = 1 | 4;
    let mut rows: Vec<(i32, String)> = Vec::new();
    if svc.start == StartType::DelayedAuto {
        rows.push((3, "1".into())); // SERVICE_CONFIG_DELAYED_AUTO_START_INFO
    }
    if let Some(t) = svc.sid_type {
        let v = match t {
            crate::config::SidType::None => "0",
            crate::config::SidType::Unrestricted => "1",
            crate::config::SidType::Restricted => "3",
        };
        rows.push((5, v.into())); // SERVICE_CONFIG_SERVICE_SID_INFO
    }
    if !svc.required_privileges.is_empty() {
        // SERVICE_CONFIG_REQUIRED_PRIVILEGES_INFO: the names, [~]-separated.
        let list: Vec<String> = svc
            .required_privileges
            .iter()
            .map(|x| msi_formatted(x))
            .collect();
        rows.push((6, list.join("[~]")));
    }
    if let Some(ms) = svc.preshutdown_timeout_ms {
        rows.push((7, ms.to_string())); // SERVICE_CONFIG_PRESHUTDOWN_INFO
    }
    if svc.recovery.on_non_crash_failure {
        rows.push((4, "1".into())); // SERVICE_CONFIG_FAILURE_ACTIONS_FLAG
    }
    p.create_table(
        "MsiServiceConfig",
        vec![
            Column::build("MsiServiceConfig")
                .primary_key()
                .id_string(72),
            Column::build("Name").formatted_string(255),
            Column::build("Event").int16(),
            Column::build("ConfigType").int32(),
            Column::build("Argument").nullable().formatted_string(0),
            Column::build("Component_").id_string(72),
        ],
    )
    .map_err(io)?;
    if !rows.is_empty() {
        p.insert_rows(
            Insert::into("MsiServiceConfig").rows(
                rows.iter()
                    .map(|(kind, arg)| {
                        vec![
                            Value::from(format!("config{kind}").as_str()),
                            Value::from(msi_formatted(&svc.name).as_str()),
                            Value::Int(EVENTS),
                            Value::Int(*kind),
                            Value::from(arg.as_str()),
                            Value::from(component),
                        ]
                    })
                    .collect(),
            ),
        )
        .map_err(io)?;
    }
    Ok(())
}
