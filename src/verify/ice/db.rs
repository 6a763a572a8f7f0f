//! What an MSI holds, as the rules read it: its tables (each column's declared type and
//! every row), its Summary Information, and what is known of its files (from the
//! cabinet, when the caller extracted them).

use std::collections::BTreeMap;
use std::io::{Read, Seek};

/// A value of a cell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Val {
    Null,
    Int(i32),
    Str(String),
}

impl Val {
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Val::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_int(&self) -> Option<i32> {
        match self {
            Val::Int(n) => Some(*n),
            _ => None,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Val::Null)
    }
}

/// A column's declared type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Int16,
    Int32,
    /// A string of at most this many characters (0: no limit).
    Str(usize),
    Binary,
}

/// A column as the database declares it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    pub name: String,
    pub kind: Kind,
    pub nullable: bool,
    pub key: bool,
}

/// A table: its columns and rows.
#[derive(Debug, Clone, Default)]
pub struct Table {
    pub columns: Vec<Column>,
    pub rows: Vec<Vec<Val>>,
}

impl Table {
    pub fn index(&self, column: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == column)
    }

    /// The rows, each readable by column name.
    pub fn rows(&self) -> impl Iterator<Item = Row<'_>> {
        self.rows.iter().map(move |values| Row {
            table: self,
            values,
        })
    }
}

/// One row, read by column name.
#[derive(Clone, Copy)]
pub struct Row<'a> {
    table: &'a Table,
    values: &'a [Val],
}

impl<'a> Row<'a> {
    pub fn get(&self, column: &str) -> &'a Val {
        static NULL: Val = Val::Null;
        self.table
            .index(column)
            .and_then(|i| self.values.get(i))
            .unwrap_or(&NULL)
    }

    pub fn str(&self, column: &str) -> Option<&'a str> {
        self.get(column).as_str()
    }

    /// The string value, or "" for Null.
    pub fn text(&self, column: &str) -> &'a str {
        self.str(column).unwrap_or("")
    }

    pub fn int(&self, column: &str) -> Option<i32> {
        self.get(column).as_int()
    }

    /// The primary key's values, `.`-joined.
    pub fn key(&self) -> String {
        self.table
            .columns
            .iter()
            .zip(self.values)
            .filter(|(c, _)| c.key)
            .map(|(_, v)| match v {
                Val::Null => String::new(),
                Val::Int(n) => n.to_string(),
                Val::Str(s) => s.clone(),
            })
            .collect::<Vec<_>>()
            .join(".")
    }
}

/// The Summary Information properties the rules read.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    /// The platform part of Template (`x64`, `Intel`, `Arm64`, `Intel64`), when set.
    pub platform: Option<String>,
    /// The languages part of Template.
    pub languages: Vec<u16>,
    /// Revision Number: the PackageCode, when it is a GUID.
    pub package_code: Option<String>,
    /// Page Count: the schema (Windows Installer version x 100) the package needs.
    pub page_count: Option<i32>,
    /// Word Count: source image bits (1 short names, 2 compressed, 4 admin image, 8 no
    /// elevation needed).
    pub word_count: Option<i32>,
}

/// What is known of one file of the package, by its File key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileFacts {
    /// The file's version resource's fixed file version (`a.b.c.d`), when it has one.
    pub version: Option<String>,
    /// The version resource's language (decimal), when it names one.
    pub language: Option<String>,
}

/// An MSI's tables, Summary Information and (when read) its files.
#[derive(Debug, Clone, Default)]
pub struct Database {
    pub tables: BTreeMap<String, Table>,
    pub summary: Summary,
    /// The File keys the embedded cabinet holds, when it was read.
    pub cabinet: Option<Vec<String>>,
    /// What the files are, by File key, when they were read.
    pub files: BTreeMap<String, FileFacts>,
    /// Lookups the rules share, built once (the rules run on hostile MSIs too: no rule
    /// may scan a table per row of another).
    index: std::sync::OnceLock<Index>,
}

/// The lookups the rules share, by key.
#[derive(Debug, Clone, Default)]
pub struct Index {
    /// Directory -> (Directory_Parent, DefaultDir).
    pub folders: BTreeMap<String, (String, String)>,
    /// Registry -> Root.
    pub registry_roots: BTreeMap<String, i32>,
    /// Component -> the Roots of its Registry rows.
    pub component_roots: BTreeMap<String, Vec<i32>>,
    /// File -> Component_.
    pub file_components: BTreeMap<String, String>,
    /// Component -> Directory_.
    pub component_dirs: BTreeMap<String, String>,
    /// Each table's values of its first key column.
    pub keys: BTreeMap<String, std::collections::BTreeSet<String>>,
    /// Property -> Value.
    pub properties: BTreeMap<String, String>,
}

impl Database {
    /// The shared lookups.
    pub fn index(&self) -> &Index {
        self.index.get_or_init(|| {
            let mut ix = Index::default();
            for r in self.rows("Directory") {
                let value = (
                    r.text("Directory_Parent").to_string(),
                    r.text("DefaultDir").to_string(),
                );
                ix.folders.insert(r.text("Directory").to_string(), value);
            }
            for r in self.rows("Registry") {
                let root = r.int("Root").unwrap_or(0);
                ix.registry_roots
                    .insert(r.text("Registry").to_string(), root);
                ix.component_roots
                    .entry(r.text("Component_").to_string())
                    .or_default()
                    .push(root);
            }
            for r in self.rows("File") {
                ix.file_components
                    .insert(r.text("File").to_string(), r.text("Component_").to_string());
            }
            for r in self.rows("Component") {
                ix.component_dirs.insert(
                    r.text("Component").to_string(),
                    r.text("Directory_").to_string(),
                );
            }
            for r in self.rows("Property") {
                if let Some(v) = r.str("Value") {
                    ix.properties
                        .insert(r.text("Property").to_string(), v.to_string());
                }
            }
            for (name, t) in &self.tables {
                let first = t.columns.iter().position(|c| c.key).unwrap_or(0);
                let keys = t
                    .rows
                    .iter()
                    .filter_map(|r| r.get(first).and_then(Val::as_str).map(str::to_string))
                    .collect();
                ix.keys.insert(name.clone(), keys);
            }
            ix
        })
    }

    pub fn table(&self, name: &str) -> Option<&Table> {
        self.tables.get(name)
    }

    /// The rows of `name` (none when the table is missing).
    pub fn rows(&self, name: &str) -> Vec<Row<'_>> {
        self.tables
            .get(name)
            .map(|t| t.rows().collect())
            .unwrap_or_default()
    }

    /// The values of `column` in the rows of `table`.
    pub fn values(&self, table: &str, column: &str) -> std::collections::BTreeSet<&str> {
        self.rows(table)
            .into_iter()
            .map(|r| r.text(column))
            .collect()
    }

    /// A Property table value.
    pub fn property(&self, name: &str) -> Option<&str> {
        self.index().properties.get(name).map(String::as_str)
    }

    /// Whether the package installs per machine by default (ALLUSERS=1, or 2 without
    /// MSIINSTALLPERUSER=1).
    pub fn per_machine(&self) -> bool {
        match self.property("ALLUSERS") {
            Some("1") => true,
            Some("2") => self.property("MSIINSTALLPERUSER") != Some("1"),
            _ => false,
        }
    }
}

/// Read every table and the Summary Information of `package` (its streams already
/// bounded by the caller).
pub fn read<F: Read + Seek>(package: &mut msi::Package<F>) -> std::io::Result<Database> {
    let mut db = Database::default();
    let names: Vec<(String, Vec<Column>)> = package
        .tables()
        .filter(|t| !t.name().starts_with('_'))
        .map(|t| {
            let columns = t
                .columns()
                .iter()
                .map(|c| Column {
                    name: c.name().to_string(),
                    kind: match c.coltype() {
                        msi::ColumnType::Int16 => Kind::Int16,
                        msi::ColumnType::Int32 => Kind::Int32,
                        msi::ColumnType::Str(n) => Kind::Str(n),
                        msi::ColumnType::Binary => Kind::Binary,
                    },
                    nullable: c.is_nullable(),
                    key: c.is_primary_key(),
                })
                .collect();
            (t.name().to_string(), columns)
        })
        .collect();
    for (name, columns) in names {
        let mut rows = Vec::new();
        for row in package.select_rows(msi::Select::table(name.as_str()))? {
            rows.push(
                (0..row.len())
                    .map(|i| match &row[i] {
                        msi::Value::Int(n) => Val::Int(*n),
                        msi::Value::Str(s) => Val::Str(s.clone()),
                        _ => Val::Null,
                    })
                    .collect(),
            );
        }
        db.tables.insert(name, Table { columns, rows });
    }
    let s = package.summary_info();
    db.summary = Summary {
        platform: s.arch().map(str::to_string),
        languages: s.languages().into_iter().map(u16::from).collect(),
        package_code: s
            .uuid()
            .map(|u| format!("{{{}}}", u.to_string().to_uppercase())),
        page_count: s.page_count(),
        word_count: s.word_count(),
    };
    Ok(db)
}
