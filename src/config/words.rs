//! The words of `[package.metadata.winpkg.service]` (`start = "delayed-auto"`...): the
//! config reads them, the service model and service.json keep them.

use crate::words::words;

words! {
    /// When a scheduled task starts.
    pub enum Trigger("trigger") {
        /// At system start, before anyone logs on
        Boot = "boot",
        /// When a user logs on (any user, or `user`)
        Logon = "logon",
        /// Every day at `at`
        Daily = "daily",
        /// Every hour, from `at` on
        Hourly = "hourly",
    }
}

words! {
    /// The account a scheduled task runs as.
    pub enum RunAs("run-as") {
        /// LocalSystem: full control of the machine
        System = "system",
        LocalService = "local-service",
        NetworkService = "network-service",
        /// The logged-on user, in their session (needs the logon trigger)
        User = "user",
    }
}

words! {
    /// Whose Run key or PATH: the user running the install, or every user.
    pub enum Scope("scope") {
        /// HKCU: the user who runs the install script; no administrator rights needed
        User = "user",
        /// HKLM: every user; the script needs administrator rights
        Machine = "machine",
    }
}

words! {
    /// When the service starts.
    pub enum StartType("start type") {
        Auto = "auto",
        /// Auto, after the boot rush.
        DelayedAuto = "delayed-auto",
        Manual = "manual",
        /// Installed, not started.
        Disabled = "disabled",
    }
}

impl StartType {
    /// The word `sc create start=` takes.
    pub fn sc(self) -> &'static str {
        match self {
            StartType::Auto => "auto",
            StartType::DelayedAuto => "delayed-auto",
            StartType::Manual => "demand",
            StartType::Disabled => "disabled",
        }
    }

    /// The `Start` value the registry ends up with (delayed-auto is auto + a flag).
    pub fn registry(self) -> u32 {
        match self {
            StartType::Auto | StartType::DelayedAuto => 2,
            StartType::Manual => 3,
            StartType::Disabled => 4,
        }
    }
}

words! {
    /// What Windows does at boot when the service fails to start.
    pub enum ErrorControl("error control") {
        Ignore = "ignore",
        Normal = "normal",
        Severe = "severe",
        Critical = "critical",
    }
}

words! {
    /// The service SID type (`sc sidtype`).
    pub enum SidType("SID type") {
        None = "none",
        Unrestricted = "unrestricted",
        Restricted = "restricted",
    }
}

words! {
    /// What the service control manager does when the service fails.
    pub enum Action("recovery action") {
        Restart = "restart",
        Reboot = "reboot",
        None = "none",
    }
}

impl Action {
    pub fn sc(self) -> &'static str {
        match self {
            Action::Restart => "restart",
            Action::Reboot => "reboot",
            Action::None => "",
        }
    }
}

words! {
    /// Native: the exe runs the service dispatcher itself. Shawl: a console program run
    /// by shawl.exe, which speaks to the service control manager for it.
    pub enum Mode("mode") {
        Native = "native",
        Shawl = "shawl",
    }
}
