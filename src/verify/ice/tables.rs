//! ICE03 (values fit their columns) and ICE06 (standard tables have the standard
//! columns).

use super::db::{Database, Kind, Row, Table, Val};
use super::schema::{self, StdColumn, StdKind};
use super::{Findings, types};

/// ICE03: each value of a standard table against its standard column: Null only where
/// the column is nullable, strings within their length, integers within their range,
/// strings valid for their category, and foreign keys that name an existing row.
pub fn ice03(db: &Database, out: &mut Findings) {
    for (name, std) in schema::tables() {
        let Some(table) = db.table(name) else {
            continue;
        };
        for row in table.rows() {
            for col in std {
                if table.index(col.name).is_some() {
                    cell(db, name, col, &row, out);
                }
            }
        }
    }
}

fn cell(db: &Database, table: &str, col: &StdColumn, row: &Row, out: &mut Findings) {
    let at = format!("{table}.{}", row.key());
    let value = row.get(col.name);
    let say = |out: &mut Findings, what: String| {
        out.error("ICE03", at.clone(), format!("{}: {what}", col.name));
    };
    match value {
        Val::Null if !col.nullable => say(out, "is Null in a column that takes no Null".into()),
        Val::Null => {}
        Val::Int(n) => {
            if let Some((lo, hi)) = col.range
                && !(lo..=hi).contains(&i64::from(*n))
            {
                say(out, format!("{n} is outside {lo}..{hi}"));
            }
        }
        Val::Str(s) => {
            if let StdKind::Str(max) = col.kind
                && max > 0
                && s.chars().count() > max
            {
                say(
                    out,
                    format!("`{s}` is longer than the column's {max} characters"),
                );
            }
            if let Some(why) = col
                .category
                .and_then(|c| category_problem(table, col, c, s))
            {
                say(out, format!("`{s}` {why}"));
            }
            if let Some(target) = col.foreign
                && !has_key(db, target, s)
            {
                say(out, format!("`{s}` is not a row of {target}"));
            }
        }
    }
}

/// A category check, with the columns whose documented form is wider than their
/// category (File.Version may name a companion file; a root Directory's DefaultDir is
/// a property such as SourceDir).
fn category_problem(table: &str, col: &StdColumn, category: &str, s: &str) -> Option<String> {
    match (table, col.name) {
        ("File", "Version") if types::identifier(s).is_none() => None,
        ("Directory", "DefaultDir") if types::identifier(s).is_none() => None,
        _ => types::invalid(category, s),
    }
}

/// Whether `table`'s first key column holds `key`.
pub(super) fn has_key(db: &Database, table: &str, key: &str) -> bool {
    db.index().keys.get(table).is_some_and(|k| k.contains(key))
}

/// ICE06: every standard table holds the standard schema's columns (those of the
/// package's own schema version), in their order, with their types and nullability;
/// a column the standard does not name (a misspelt one) is reported too.
pub fn ice06(db: &Database, out: &mut Findings) {
    let schema_version = db.summary.page_count.unwrap_or(0);
    for (name, std) in schema::tables() {
        let Some(table) = db.table(name) else {
            continue;
        };
        let wanted: Vec<&StdColumn> = std.iter().filter(|c| c.since <= schema_version).collect();
        for (i, col) in wanted.iter().enumerate() {
            match table.index(col.name) {
                None => out.error(
                    "ICE06",
                    format!("{name}.{}", col.name),
                    format!(
                        "the {name} table has no column `{}` (column {} of the standard table){}",
                        col.name,
                        i + 1,
                        near_miss(table, col)
                    ),
                ),
                Some(at) => column_type(name, col, table, at, out),
            }
        }
        for c in &table.columns {
            if !std.iter().any(|s| s.name == c.name) {
                out.error(
                    "ICE06",
                    format!("{name}.{}", c.name),
                    format!(
                        "column `{}` is not a column of the standard {name} table: Windows Installer reads the table by its documented columns ({})",
                        c.name,
                        std.iter().map(|s| s.name).collect::<Vec<_>>().join(", ")
                    ),
                );
            }
        }
    }
}

fn near_miss(table: &Table, col: &StdColumn) -> String {
    let lower = col.name.to_ascii_lowercase();
    table
        .columns
        .iter()
        .find(|c| {
            let l = c.name.to_ascii_lowercase();
            l != lower && (lower.starts_with(&l) || l.starts_with(&lower))
        })
        .map(|c| format!("; it has `{}` instead", c.name))
        .unwrap_or_default()
}

fn column_type(table: &str, col: &StdColumn, t: &Table, at: usize, out: &mut Findings) {
    let Some(have) = t.columns.get(at) else {
        return;
    };
    let kind_ok = matches!(
        (col.kind, have.kind),
        (StdKind::Int16, Kind::Int16)
            | (StdKind::Int32, Kind::Int32)
            | (StdKind::AnyInt, Kind::Int16 | Kind::Int32)
            | (StdKind::Str(_), Kind::Str(_))
            | (StdKind::Binary, Kind::Binary)
    );
    let mut problems = Vec::new();
    if !kind_ok {
        problems.push(format!(
            "is {:?}, the standard says {:?}",
            have.kind, col.kind
        ));
    }
    if have.nullable != col.nullable {
        problems.push(if col.nullable {
            "takes no Null, the standard column does".to_string()
        } else {
            "takes Null, the standard column does not".to_string()
        });
    }
    if have.key != col.key {
        problems.push(if col.key {
            "is not part of the primary key, the standard column is".to_string()
        } else {
            "is part of the primary key, the standard column is not".to_string()
        });
    }
    if !problems.is_empty() {
        out.error(
            "ICE06",
            format!("{table}.{}", col.name),
            format!("column `{}` {}", col.name, problems.join("; ")),
        );
    }
}
