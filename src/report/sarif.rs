//! SARIF 2.1.0: the format code-scanning dashboards import.

use serde_json::{Value, json};

use crate::check::codes::CODES;
use crate::check::{Report, Severity};

pub fn render(report: &Report) -> Value {
    let rules: Vec<Value> = CODES
        .iter()
        .map(|c| {
            json!({
                "id": c.name,
                "shortDescription": { "text": c.summary },
                "help": { "text": c.fix },
                "defaultConfiguration": { "level": level(c.severity) },
            })
        })
        .collect();
    let results: Vec<Value> = report
        .diagnostics
        .iter()
        .map(|d| {
            let mut text = d.message.clone();
            if let Some(help) = &d.help {
                text.push_str("\nhelp: ");
                text.push_str(help);
            }
            let mut r = json!({
                "ruleId": d.code.as_str(),
                "level": level(d.severity),
                "message": { "text": text },
            });
            if let Some(file) = &d.file {
                r["locations"] = json!([{
                    "physicalLocation": {
                        "artifactLocation": { "uri": file.to_string_lossy().replace('\\', "/") }
                    }
                }]);
            }
            r
        })
        .collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "cargo-winpkg",
                "version": env!("CARGO_PKG_VERSION"),
                "informationUri": "https://crates.io/crates/cargo-winpkg",
                "rules": rules,
            }},
            "results": results,
        }]
    })
}

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Note => "note",
    }
}
