//! SARIF 2.1.0: the format code-scanning dashboards import.
//!
//! Written through typed structs that borrow from the report (a `serde_json::Value`
//! tree cost an allocation per key of every result). Fields are declared in
//! alphabetical order, the order the SARIF files of earlier versions had.

use serde::Serialize;

use crate::check::codes::CODES;
use crate::check::{Report, Severity};

#[derive(Serialize)]
pub struct Log<'a> {
    #[serde(rename = "$schema")]
    schema: &'static str,
    runs: [Run<'a>; 1],
    version: &'static str,
}

#[derive(Serialize)]
struct Run<'a> {
    results: Vec<Finding<'a>>,
    tool: Tool,
}

#[derive(Serialize)]
struct Tool {
    driver: Driver,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Driver {
    information_uri: &'static str,
    name: &'static str,
    rules: Vec<Rule>,
    version: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Rule {
    default_configuration: Level,
    help: Text<&'static str>,
    id: &'static str,
    short_description: Text<&'static str>,
}

#[derive(Serialize)]
struct Level {
    level: &'static str,
}

#[derive(Serialize)]
struct Text<T> {
    text: T,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Finding<'a> {
    level: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    locations: Option<[Location; 1]>,
    message: Text<String>,
    rule_id: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Location {
    physical_location: Physical,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Physical {
    artifact_location: Artifact,
}

#[derive(Serialize)]
struct Artifact {
    uri: String,
}

pub fn render(report: &Report) -> Log<'_> {
    let rules = CODES
        .iter()
        .map(|c| Rule {
            default_configuration: Level {
                level: level(c.severity),
            },
            help: Text { text: c.fix },
            id: c.name,
            short_description: Text { text: c.summary },
        })
        .collect();
    let results = report
        .diagnostics
        .iter()
        .map(|d| {
            let mut text = d.message.clone();
            if let Some(help) = &d.help {
                text.push_str("\nhelp: ");
                text.push_str(help);
            }
            Finding {
                level: level(d.severity),
                locations: d.file.as_ref().map(|file| {
                    [Location {
                        physical_location: Physical {
                            artifact_location: Artifact {
                                uri: file.to_string_lossy().replace('\\', "/"),
                            },
                        },
                    }]
                }),
                message: Text { text },
                rule_id: d.code.as_str(),
            }
        })
        .collect();
    Log {
        schema: "https://json.schemastore.org/sarif-2.1.0.json",
        runs: [Run {
            results,
            tool: Tool {
                driver: Driver {
                    information_uri: "https://crates.io/crates/cargo-winpkg",
                    name: "cargo-winpkg",
                    rules,
                    version: env!("CARGO_PKG_VERSION"),
                },
            },
        }],
        version: "2.1.0",
    }
}

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Note => "note",
    }
}
