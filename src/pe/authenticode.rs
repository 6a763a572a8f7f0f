//! Authenticode: the signature in a PE file's certificate table, and whether the file
//! still matches it.
//!
//! The certificate table (data directory 4, whose address is a *file offset*) holds a
//! WIN_CERTIFICATE with a PKCS#7 SignedData. Its content is an SpcIndirectDataContent
//! whose DigestInfo is the hash of the file with three ranges left out: the optional
//! header's CheckSum, the certificate table's directory entry, and the certificate
//! table itself. We recompute that hash and compare ("was the file changed after it was
//! signed?"), and read who signed it (the signer certificate's subject, its SHA-1
//! thumbprint) and whether a timestamp countersignature is attached.
//!
//! What this does not do: check the RSA/ECDSA signature or the certificate chain. That
//! is trust, which needs the root store of the machine that runs the file (`signtool
//! verify /pa`, `osslsigncode verify -CAfile`); Wine's WinVerifyTrust does no more.
//!
//! The DER reader is minimal and total: every read is bounds-checked, nothing panics.

use serde::Serialize;
use sha1::Sha1;
use sha2::{Digest, Sha256, Sha384, Sha512};

/// What the certificate table says, and whether the file matches it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Signature {
    /// The digest algorithm of the signed file hash (`sha256`, `sha1`...).
    pub digest_algorithm: Option<String>,
    /// The signer certificate's subject (`CN=..., O=...`).
    pub subject: Option<String>,
    pub issuer: Option<String>,
    /// SHA-1 of the signer certificate, upper-case hex: the thumbprint Windows shows.
    pub thumbprint: Option<String>,
    /// A timestamp countersignature (RFC 3161 or the legacy one) is attached.
    pub timestamped: bool,
    /// The file's Authenticode hash equals the signed one; None when it could not be
    /// computed (`problem` says why).
    pub digest_matches: Option<bool>,
    /// Why the signature could not be read whole.
    pub problem: Option<String>,
}

impl Signature {
    fn broken(problem: String) -> Signature {
        Signature {
            digest_algorithm: None,
            subject: None,
            issuer: None,
            thumbprint: None,
            timestamped: false,
            digest_matches: None,
            problem: Some(problem),
        }
    }
}

/// Where the fields the hash skips are, in a PE file.
pub struct Layout {
    /// Offset of the optional header's CheckSum.
    pub checksum: usize,
    /// Offset of data directory 4 (security) in the optional header.
    pub security_entry: usize,
    /// The certificate table: file offset and size.
    pub table: (usize, usize),
}

/// The bytes of a PE file, as the signature check reads them: a few small ranges (the
/// certificate table), and everything else once, as a stream (to hash it).
pub trait Bytes {
    /// The file's size in bytes.
    fn size(&self) -> u64;
    /// `size` bytes at `off`, or None past the end.
    fn range(&self, off: u64, size: u64) -> Option<&[u8]>;
    /// Feed bytes `from..to` to `f`, in pieces; false when they cannot all be read.
    fn stream(&self, from: u64, to: u64, f: &mut dyn FnMut(&[u8])) -> bool;
}

impl Bytes for &[u8] {
    fn size(&self) -> u64 {
        <[u8]>::len(self) as u64
    }

    fn range(&self, off: u64, size: u64) -> Option<&[u8]> {
        let start = usize::try_from(off).ok()?;
        (**self).get(start..start.checked_add(usize::try_from(size).ok()?)?)
    }

    fn stream(&self, from: u64, to: u64, f: &mut dyn FnMut(&[u8])) -> bool {
        match self.range(from, to.saturating_sub(from)) {
            Some(b) => {
                f(b);
                true
            }
            None => false,
        }
    }
}

/// Read the signature of a signed file (`layout.table` non-empty).
pub fn read(data: &dyn Bytes, layout: &Layout) -> Signature {
    let (off, size) = layout.table;
    let Some(table) = data.range(off as u64, size as u64) else {
        return Signature::broken(format!(
            "the certificate table ({size} bytes at file offset {off:#x}) runs past the end of the file ({} bytes)",
            data.size()
        ));
    };
    let pkcs7 = match win_certificate(table, off) {
        Ok(p) => p,
        Err(e) => return Signature::broken(e.to_string()),
    };
    let mut sig = match parse_signed_data(pkcs7) {
        Ok(s) => s,
        Err(e) => {
            return Signature::broken(format!(
                "the PKCS#7 signature at file offset {:#x} cannot be read: {e}",
                off + 8
            ));
        }
    };
    if let Some((alg, signed)) = &sig.1 {
        sig.0.digest_matches = file_hash(data, layout, alg).map(|h| h == *signed);
        if sig.0.digest_matches.is_none() {
            sig.0.problem = Some(format!(
                "the file cannot be hashed with {}: a field it skips lies outside the file",
                alg.name()
            ));
        }
    }
    sig.0
}

/// Why a WIN_CERTIFICATE cannot hold a signature.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CertificateError {
    #[error(
        "the certificate table at file offset {off:#x} is shorter than a WIN_CERTIFICATE header"
    )]
    ShortHeader { off: usize },
    #[error(
        "the certificate at file offset {off:#x} is of type {cert_type}, not PKCS#7 signed data (2)"
    )]
    Type { off: usize, cert_type: u32 },
    #[error(
        "the certificate at file offset {off:#x} has revision {revision:#06x} (expected 0x0200)"
    )]
    Revision { off: usize, revision: u32 },
    #[error(
        "the certificate at file offset {off:#x} declares {len} bytes, too few for a signature"
    )]
    TooShort { off: usize, len: u32 },
}

/// Why the PKCS#7 signature cannot be read: the DER reader's and the Authenticode
/// structure's errors.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DerError {
    #[error("a multi-byte tag")]
    MultiByteTag,
    #[error("a length cut off")]
    LengthCutOff,
    #[error("an indefinite or oversized length (not DER)")]
    BadLength,
    #[error("a length overflows")]
    LengthOverflow,
    #[error("an element of {len} bytes where {remain} remain")]
    Truncated { len: usize, remain: usize },
    #[error("{what}: tag {found:#04x}, expected {expected:#04x}")]
    WrongTag {
        what: &'static str,
        found: u8,
        expected: u8,
    },
    #[error("{0} is missing")]
    Missing(&'static str),
    #[error("{0} is empty")]
    Empty(&'static str),
    #[error("the ContentInfo is not PKCS#7 signed data")]
    NotSignedData,
    #[error("unexpected tag {0:#04x} in SignedData")]
    UnexpectedTag(u8),
    #[error("the signed content is not Authenticode's SpcIndirectDataContent")]
    NotIndirectData,
}

/// The PKCS#7 bytes of a WIN_CERTIFICATE (length, revision 0x0200, type 2).
fn win_certificate(table: &[u8], off: usize) -> Result<&[u8], CertificateError> {
    let u32_at = |i: usize| {
        table
            .get(i..i + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    };
    let (Some(len), Some(kind)) = (u32_at(0), u32_at(4)) else {
        return Err(CertificateError::ShortHeader { off });
    };
    let (revision, cert_type) = (kind & 0xffff, kind >> 16);
    if cert_type != 2 {
        return Err(CertificateError::Type { off, cert_type });
    }
    if revision != 0x0200 && revision != 0x0100 {
        return Err(CertificateError::Revision { off, revision });
    }
    table
        .get(8..(len as usize).min(table.len()))
        .filter(|p| !p.is_empty())
        .ok_or(CertificateError::TooShort { off, len })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DigestAlg {
    Sha1,
    Sha256,
    Sha384,
    Sha512,
}

impl DigestAlg {
    fn from_oid(oid: &[u8]) -> Option<DigestAlg> {
        match oid {
            [0x2b, 0x0e, 0x03, 0x02, 0x1a] => Some(DigestAlg::Sha1),
            [0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, n] => match n {
                1 => Some(DigestAlg::Sha256),
                2 => Some(DigestAlg::Sha384),
                3 => Some(DigestAlg::Sha512),
                _ => None,
            },
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            DigestAlg::Sha1 => "sha1",
            DigestAlg::Sha256 => "sha256",
            DigestAlg::Sha384 => "sha384",
            DigestAlg::Sha512 => "sha512",
        }
    }
}

/// The Authenticode hash of `data`: everything before the certificate table but the
/// CheckSum and the security directory entry, read as a stream.
pub fn file_hash(data: &dyn Bytes, layout: &Layout, alg: &DigestAlg) -> Option<Vec<u8>> {
    let end = layout.table.0 as u64;
    let (c, s) = (layout.checksum as u64, layout.security_entry as u64);
    if !(c + 4 <= s && s + 8 <= end && end <= data.size()) {
        return None;
    }
    let parts = [(0, c), (c + 4, s), (s + 8, end)];
    match alg {
        DigestAlg::Sha1 => hash_parts::<Sha1>(data, &parts),
        DigestAlg::Sha256 => hash_parts::<Sha256>(data, &parts),
        DigestAlg::Sha384 => hash_parts::<Sha384>(data, &parts),
        DigestAlg::Sha512 => hash_parts::<Sha512>(data, &parts),
    }
}

fn hash_parts<D: Digest>(data: &dyn Bytes, parts: &[(u64, u64)]) -> Option<Vec<u8>> {
    let mut d = D::new();
    for &(from, to) in parts {
        if !data.stream(from, to, &mut |b| d.update(b)) {
            return None;
        }
    }
    Some(d.finalize().to_vec())
}

/// The signature block of a signed PowerShell script (`# SIG # Begin signature block`,
/// base64 PKCS#7 in comment lines): who signed it. The script's hash is not checked.
pub fn script_signature(text: &[u8]) -> Option<Signature> {
    use base64::Engine;
    let text = String::from_utf8_lossy(text);
    let mut lines = text.lines().map(str::trim);
    lines.find(|l| *l == "# SIG # Begin signature block")?;
    let b64: String = lines
        .take_while(|l| *l != "# SIG # End signature block")
        .map(|l| l.trim_start_matches('#').trim())
        .collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(b64.as_bytes())
        .ok()?;
    parse_signed_data(&der).ok().map(|(s, _)| s)
}

// --- DER ---------------------------------------------------------------------------

const SEQUENCE: u8 = 0x30;
const SET: u8 = 0x31;
const OID: u8 = 0x06;
const INTEGER: u8 = 0x02;
const OCTETS: u8 = 0x04;
const CTX0: u8 = 0xa0;
const CTX1: u8 = 0xa1;
const CTX0_IMPLICIT_SET: u8 = 0xa0;

/// One DER element: its tag, its content, and the whole encoding.
#[derive(Clone, Copy)]
struct Tlv<'a> {
    tag: u8,
    content: &'a [u8],
    whole: &'a [u8],
}

/// The elements of a constructed value, in order.
struct Der<'a> {
    rest: &'a [u8],
}

impl<'a> Der<'a> {
    fn new(data: &'a [u8]) -> Self {
        Der { rest: data }
    }

    fn next(&mut self) -> Result<Option<Tlv<'a>>, DerError> {
        if self.rest.is_empty() {
            return Ok(None);
        }
        let data = self.rest;
        let tag = data[0];
        if tag & 0x1f == 0x1f {
            return Err(DerError::MultiByteTag);
        }
        let first = *data.get(1).ok_or(DerError::LengthCutOff)?;
        let (len, head) = if first < 0x80 {
            (first as usize, 2)
        } else {
            let n = (first & 0x7f) as usize;
            if n == 0 || n > 4 {
                return Err(DerError::BadLength);
            }
            let bytes = data.get(2..2 + n).ok_or(DerError::LengthCutOff)?;
            (
                bytes.iter().fold(0usize, |acc, b| (acc << 8) | *b as usize),
                2 + n,
            )
        };
        let end = head.checked_add(len).ok_or(DerError::LengthOverflow)?;
        let whole = data.get(..end).ok_or(DerError::Truncated {
            len,
            remain: data.len() - head,
        })?;
        self.rest = &data[end..];
        Ok(Some(Tlv {
            tag,
            content: &whole[head..],
            whole,
        }))
    }

    /// The next element, which must have `tag`.
    fn expect(&mut self, tag: u8, what: &'static str) -> Result<Tlv<'a>, DerError> {
        match self.next()? {
            Some(t) if t.tag == tag => Ok(t),
            Some(t) => Err(DerError::WrongTag {
                what,
                found: t.tag,
                expected: tag,
            }),
            None => Err(DerError::Missing(what)),
        }
    }
}

fn inside(t: Tlv<'_>) -> Der<'_> {
    Der::new(t.content)
}

const OID_SIGNED_DATA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02];
const OID_SPC_INDIRECT_DATA: &[u8] = &[0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x02, 0x01, 0x04];
const OID_COUNTERSIGNATURE: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x06];
const OID_RFC3161_TIMESTAMP: &[u8] = &[0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x03, 0x03, 0x01];

/// The signature's facts and (algorithm, signed file hash).
type Parsed = (Signature, Option<(DigestAlg, Vec<u8>)>);

/// Read a PKCS#7 ContentInfo holding Authenticode SignedData.
pub fn parse_signed_data(pkcs7: &[u8]) -> Result<Parsed, DerError> {
    let mut top = Der::new(pkcs7);
    let content_info = top.expect(SEQUENCE, "ContentInfo")?;
    let mut ci = inside(content_info);
    if ci.expect(OID, "ContentInfo type")?.content != OID_SIGNED_DATA {
        return Err(DerError::NotSignedData);
    }
    let explicit = ci.expect(CTX0, "SignedData")?;
    let signed_data = inside(explicit).expect(SEQUENCE, "SignedData")?;
    let mut sd = inside(signed_data);
    sd.expect(INTEGER, "SignedData version")?;
    sd.expect(SET, "digestAlgorithms")?;
    let (alg, digest) = indirect_data(sd.expect(SEQUENCE, "contentInfo")?)?;
    let mut certs: Vec<Tlv> = Vec::new();
    let mut signer_infos = None;
    while let Some(t) = sd.next()? {
        match t.tag {
            CTX0_IMPLICIT_SET => {
                let mut c = inside(t);
                while let Some(cert) = c.next()? {
                    certs.push(cert);
                }
            }
            CTX1 => {} // CRLs
            SET => signer_infos = Some(t),
            other => return Err(DerError::UnexpectedTag(other)),
        }
    }
    let signer_infos = signer_infos.ok_or(DerError::Missing("signerInfos"))?;
    let signer = inside(signer_infos)
        .next()?
        .ok_or(DerError::Empty("signerInfos"))?;
    let (issuer_serial, timestamped) = signer_info(signer)?;
    let cert = certs.iter().find_map(|c| {
        let n = cert_names(*c).ok()?;
        (issuer_serial == (n.issuer, n.serial)).then_some((*c, n))
    });
    let (subject, issuer, thumbprint) = match cert {
        Some((c, n)) => (
            Some(name_string(n.subject)),
            Some(name_string(n.issuer)),
            Some(hex_upper(&Sha1::digest(c.whole))),
        ),
        None => (None, Some(name_string(issuer_serial.0)), None),
    };
    let facts = Signature {
        digest_algorithm: alg.map(|a| a.name().to_string()),
        subject,
        issuer,
        thumbprint,
        timestamped,
        digest_matches: None,
        problem: alg
            .is_none()
            .then(|| "the file hash uses a digest algorithm this tool does not know".into()),
    };
    Ok((facts, alg.map(|a| (a, digest))))
}

/// The SpcIndirectDataContent's DigestInfo: (algorithm, if known; digest).
fn indirect_data(content_info: Tlv<'_>) -> Result<(Option<DigestAlg>, Vec<u8>), DerError> {
    let mut ci = inside(content_info);
    if ci.expect(OID, "contentInfo type")?.content != OID_SPC_INDIRECT_DATA {
        return Err(DerError::NotIndirectData);
    }
    let explicit = ci.expect(CTX0, "SpcIndirectDataContent")?;
    let spc = inside(explicit).expect(SEQUENCE, "SpcIndirectDataContent")?;
    let mut s = inside(spc);
    s.expect(SEQUENCE, "SpcAttributeTypeAndOptionalValue")?;
    let digest_info = s.expect(SEQUENCE, "DigestInfo")?;
    let mut di = inside(digest_info);
    let alg_id = di.expect(SEQUENCE, "DigestInfo algorithm")?;
    let oid = inside(alg_id).expect(OID, "digest algorithm")?;
    let digest = di.expect(OCTETS, "DigestInfo digest")?;
    Ok((DigestAlg::from_oid(oid.content), digest.content.to_vec()))
}

/// A certificate's identity as a signer names it: (issuer name as DER, serial number).
type IssuerSerial<'a> = (&'a [u8], &'a [u8]);

/// A certificate's names: issuer and subject (as DER), and its serial number.
struct CertNames<'a> {
    issuer: &'a [u8],
    serial: &'a [u8],
    subject: &'a [u8],
}

/// The signer's (issuer name, serial number) and whether it is timestamped.
fn signer_info(signer: Tlv<'_>) -> Result<(IssuerSerial<'_>, bool), DerError> {
    let mut s = inside(signer);
    s.expect(INTEGER, "SignerInfo version")?;
    let ias = s.expect(SEQUENCE, "issuerAndSerialNumber")?;
    let mut i = inside(ias);
    let issuer = i.expect(SEQUENCE, "issuer")?.whole;
    let serial = i.expect(INTEGER, "serial number")?.content;
    let mut timestamped = false;
    while let Some(t) = s.next()? {
        if t.tag == CTX1 {
            let mut attrs = inside(t);
            while let Some(attr) = attrs.next()? {
                let oid = inside(attr).expect(OID, "attribute type")?;
                timestamped |=
                    oid.content == OID_COUNTERSIGNATURE || oid.content == OID_RFC3161_TIMESTAMP;
            }
        }
    }
    Ok(((issuer, serial), timestamped))
}

/// A certificate's issuer, serial number and subject (the names as whole DER).
fn cert_names(cert: Tlv<'_>) -> Result<CertNames<'_>, DerError> {
    let tbs = inside(cert).expect(SEQUENCE, "tbsCertificate")?;
    let mut t = inside(tbs);
    let mut first = t.next()?.ok_or(DerError::Empty("tbsCertificate"))?;
    if first.tag == CTX0 {
        first = t.next()?.ok_or(DerError::Missing("serial number"))?; // skip the version
    }
    let serial = first.content;
    t.expect(SEQUENCE, "signature algorithm")?;
    let issuer = t.expect(SEQUENCE, "issuer")?.whole;
    t.expect(SEQUENCE, "validity")?;
    let subject = t.expect(SEQUENCE, "subject")?.whole;
    Ok(CertNames {
        issuer,
        serial,
        subject,
    })
}

/// An X.500 name as `CN=..., O=...` (the attributes this tool knows, in order).
fn name_string(name: &[u8]) -> String {
    let mut parts = Vec::new();
    let mut outer = Der::new(name);
    let Ok(Some(seq)) = outer.next() else {
        return String::new();
    };
    let mut rdns = inside(seq);
    while let Ok(Some(rdn)) = rdns.next() {
        let mut atvs = inside(rdn);
        while let Ok(Some(atv)) = atvs.next() {
            let mut a = inside(atv);
            let (Ok(oid), Ok(Some(value))) = (a.expect(OID, "attribute"), a.next()) else {
                continue;
            };
            let key = match oid.content {
                [0x55, 0x04, 0x03] => "CN",
                [0x55, 0x04, 0x06] => "C",
                [0x55, 0x04, 0x07] => "L",
                [0x55, 0x04, 0x08] => "ST",
                [0x55, 0x04, 0x0a] => "O",
                [0x55, 0x04, 0x0b] => "OU",
                _ => continue,
            };
            parts.push(format!("{key}={}", der_string(value)));
        }
    }
    parts.join(", ")
}

fn der_string(v: Tlv<'_>) -> String {
    match v.tag {
        // BMPString: UTF-16 big-endian.
        0x1e => {
            let units: Vec<u16> = v
                .content
                .chunks_exact(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]]))
                .collect();
            String::from_utf16_lossy(&units)
        }
        // T61String: treated as Latin-1.
        0x14 => v.content.iter().map(|&b| b as char).collect(),
        _ => String::from_utf8_lossy(v.content).into_owned(),
    }
}

fn hex_upper(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn der_lengths_are_bounded() {
        // A long-form length far past the end, and a cut-off header.
        assert!(
            Der::new(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff])
                .next()
                .is_err()
        );
        assert!(Der::new(&[0x30]).next().is_err());
        assert!(Der::new(&[0x30, 0x80]).next().is_err());
        let mut d = Der::new(&[0x02, 0x01, 0x05]);
        assert_eq!(d.next().unwrap().unwrap().content, &[5]);
        assert!(d.next().unwrap().is_none());
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for n in 0..64u8 {
            let bytes: Vec<u8> = (0..n).map(|i| i.wrapping_mul(37) ^ 0x30).collect();
            let _ = parse_signed_data(&bytes);
        }
    }
}
