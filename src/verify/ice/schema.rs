//! The standard schema (schema.txt): each standard table's columns as Microsoft's
//! table pages give them.

use std::collections::BTreeMap;
use std::sync::OnceLock;

/// A column's standard type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StdKind {
    Int16,
    Int32,
    /// Either integer width (the standard changed it between schema versions).
    AnyInt,
    Str(usize),
    Binary,
}

#[derive(Debug, Clone)]
pub struct StdColumn {
    pub name: &'static str,
    pub kind: StdKind,
    pub nullable: bool,
    pub key: bool,
    pub category: Option<&'static str>,
    pub foreign: Option<&'static str>,
    pub range: Option<(i64, i64)>,
    /// The schema (Page Count) that added the column.
    pub since: i32,
}

static TEXT: &str = include_str!("schema.txt");

/// Every standard table's columns, in order.
pub fn tables() -> &'static BTreeMap<&'static str, Vec<StdColumn>> {
    static SCHEMA: OnceLock<BTreeMap<&'static str, Vec<StdColumn>>> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        let mut map: BTreeMap<&'static str, Vec<StdColumn>> = BTreeMap::new();
        for line in TEXT.lines() {
            if line.starts_with('#') || line.trim().is_empty() {
                continue;
            }
            if let Some((table, column)) = parse(line) {
                map.entry(table).or_default().push(column);
            }
        }
        map
    })
}

fn parse(line: &'static str) -> Option<(&'static str, StdColumn)> {
    let mut f = line.split_whitespace();
    let (table, name, ty, key, cat) = (f.next()?, f.next()?, f.next()?, f.next()?, f.next()?);
    let (letter, len) = ty.split_at(1);
    let len: usize = len.parse().unwrap_or(0);
    let kind = match (letter.to_ascii_lowercase().as_str(), ty) {
        (_, "iN" | "IN") => StdKind::AnyInt,
        ("i", _) if len == 2 => StdKind::Int16,
        ("i", _) => StdKind::Int32,
        ("v", _) => StdKind::Binary,
        _ => StdKind::Str(len),
    };
    let mut col = StdColumn {
        name,
        kind,
        nullable: letter.chars().all(|c| c.is_ascii_uppercase()),
        key: key == "K",
        category: (cat != "-").then_some(cat),
        foreign: None,
        range: None,
        since: 0,
    };
    for extra in f {
        if let Some(t) = extra.strip_prefix("FK=") {
            col.foreign = Some(t);
        } else if let Some(v) = extra.strip_prefix('@') {
            col.since = v.parse().unwrap_or(0);
        } else if let Some((lo, hi)) = extra.split_once("..") {
            col.range = lo.parse().ok().zip(hi.parse().ok());
        }
    }
    Some((table, col))
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_schema_reads_whole() {
        let t = super::tables();
        let lines = super::TEXT
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .count();
        assert_eq!(t.values().map(Vec::len).sum::<usize>(), lines);
        let lock = &t["MsiLockPermissionsEx"];
        assert_eq!(lock[3].name, "SDDLText");
        assert_eq!(lock[3].category, Some("FormattedSDDLText"));
        let file = &t["File"];
        assert_eq!(file[7].kind, super::StdKind::AnyInt);
        assert_eq!(file[3].range, Some((0, 2147483647)));
        assert_eq!(t["CustomAction"][4].since, 450);
        assert!(t["Registry"][4].nullable);
        assert_eq!(t["Component"][2].foreign, Some("Directory"));
    }
}
