//! A package as verify reads it, whatever its kind: a zip (its central directory) or an
//! MSI (its tables, and the cabinet its files come out of). The offline checks and the
//! steps see one type; only this module knows how each kind is read and unpacked.

use std::path::{Path, PathBuf};

use super::msi::{self, MsiRead};
use super::offline::{self, Limits, Listing, Package};
use super::{Failed, VerifyError};

/// What a package holds, read without extracting anything.
pub(super) struct Contents {
    /// The package file.
    pub path: PathBuf,
    kind: Kind,
}

enum Kind {
    /// A zip's central directory.
    Zip(Listing),
    /// An MSI's tables (its listing is the File table's).
    Msi(MsiRead),
}

impl Contents {
    /// Read the package at `path`: an MSI by its signature, else a zip.
    pub fn read(path: &Path, limits: &Limits) -> Result<Contents, VerifyError> {
        let kind = if msi::is_msi(path) {
            Kind::Msi(msi::read(path, limits)?)
        } else {
            Kind::Zip(offline::list(path)?)
        };
        Ok(Contents {
            path: path.to_path_buf(),
            kind,
        })
    }

    /// Every file's name and declared size.
    pub fn listing(&self) -> &Listing {
        match &self.kind {
            Kind::Zip(l) => l,
            Kind::Msi(m) => &m.listing,
        }
    }

    /// The MSI's tables, for an MSI.
    pub fn msi(&self) -> Option<&MsiRead> {
        match &self.kind {
            Kind::Zip(_) => None,
            Kind::Msi(m) => Some(m),
        }
    }

    /// What the first step says it read.
    pub fn describe(&self) -> (&'static str, String) {
        let n = self.listing().entries.len();
        match self.kind {
            Kind::Msi(_) => ("read msi", format!("{n} files in its File table")),
            Kind::Zip(_) => ("read zip", format!("{n} entries")),
        }
    }

    /// Every name and size within verify's bounds (nothing is written).
    pub fn check_names(&self, limits: &Limits) -> Result<String, Failed> {
        offline::check_listing(self.listing(), limits)
    }

    /// Write every file into `dir` (the names passed [`Contents::check_names`]), each
    /// held to its declared size and, for an MSI, to its File row and hash.
    pub fn extract(&self, dir: &Path, limits: &Limits) -> Result<Package, Failed> {
        match &self.kind {
            Kind::Msi(m) => msi::extract(&self.path, m, dir, limits),
            Kind::Zip(l) => offline::extract(&self.path, l, dir),
        }
    }
}
