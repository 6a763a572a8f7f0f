//! The column data types of Windows Installer (Microsoft's "Column Data Types" pages):
//! what each category accepts. Each check returns why a value does not fit, or None.

/// Why `value` is not a valid `category`, or None when it is.
pub fn invalid(category: &str, value: &str) -> Option<String> {
    match category {
        "Identifier" | "CustomSource" => identifier(value),
        "Property" => identifier(value.strip_prefix('%').unwrap_or(value)),
        "UpperCase" => value
            .chars()
            .any(|c| c.is_lowercase())
            .then(|| "has lower-case letters".into()),
        "Guid" => guid(value),
        "Version" => version(value),
        "Language" => language(value),
        "Filename" => filename(value, false),
        "WildCardFilename" => filename(value, true),
        "DefaultDir" => default_dir(value),
        "Cabinet" => cabinet(value),
        "Formatted" | "FormattedSDDLText" | "KeyFormatted" => formatted(value),
        "RegPath" => reg_path(value),
        "Condition" => condition(value),
        _ => None,
    }
}

pub fn identifier(v: &str) -> Option<String> {
    let mut chars = v.chars();
    match chars.next() {
        None => Some("is empty".into()),
        Some(c) if !(c.is_ascii_alphabetic() || c == '_') => {
            Some("does not start with a letter or `_`".into())
        }
        _ if chars.any(|c| !(c.is_ascii_alphanumeric() || c == '_' || c == '.')) => {
            Some("has characters other than letters, digits, `_` and `.`".into())
        }
        _ => None,
    }
}

/// `{XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX}`, upper case.
pub fn guid(v: &str) -> Option<String> {
    let ok = v.len() == 38
        && v.starts_with('{')
        && v.ends_with('}')
        && v[1..37].char_indices().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_digit() || ('A'..='F').contains(&c),
        });
    (!ok).then(|| "is not a GUID in braces with upper-case hex digits".into())
}

/// One to four numbers up to 65535, `.`-separated.
pub fn version(v: &str) -> Option<String> {
    let parts: Vec<&str> = v.split('.').collect();
    let ok = parts.len() <= 4
        && parts.iter().all(|p| {
            !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) && p.parse::<u16>().is_ok()
        });
    (!ok).then(|| "is not a version (up to four numbers of at most 65535)".into())
}

fn language(v: &str) -> Option<String> {
    let ok = v.split(',').all(|p| p.trim().parse::<u16>().is_ok());
    (!ok).then(|| "is not a comma-separated list of language ids".into())
}

/// Characters no file name may hold.
const FORBIDDEN: &[char] = &['\\', '?', '|', '>', '<', ':', '/', '*', '"'];
/// Characters a short (8.3) name may not hold besides those.
const SHORT_FORBIDDEN: &[char] = &['+', ',', ';', '=', '[', ']', ' '];

/// `short|long` or a single name; with `wild`, `*` and `?` allowed.
fn filename(v: &str, wild: bool) -> Option<String> {
    let bad = |name: &str, short: bool| -> Option<String> {
        let forbidden = |c: char| {
            (FORBIDDEN.contains(&c) && !(wild && (c == '*' || c == '?')))
                || (short && SHORT_FORBIDDEN.contains(&c))
                || c.is_control()
        };
        if name.is_empty() {
            return Some("has an empty name".into());
        }
        if let Some(c) = name.chars().find(|c| forbidden(*c)) {
            return Some(format!(
                "has `{}`, which a file name cannot hold",
                c.escape_default()
            ));
        }
        if name.chars().all(|c| c == '.') {
            return Some("is only dots".into());
        }
        if short {
            let (stem, ext) = name.rsplit_once('.').unwrap_or((name, ""));
            if stem.len() > 8 || ext.len() > 3 || stem.contains('.') {
                return Some(format!("`{name}` is not a short (8.3) name"));
            }
        }
        None
    };
    match v.split_once('|') {
        Some((short, long)) => bad(short, true).or_else(|| bad(long, false)),
        None => {
            // A lone name must itself be a valid short name unless the database
            // declares long names; Windows accepts a long one in practice.
            bad(v, false)
        }
    }
}

/// `target[:source]`, each `.` or a Filename; a root folder's may be a property.
fn default_dir(v: &str) -> Option<String> {
    let part = |p: &str| {
        if p == "." { None } else { filename(p, false) }
    };
    let mut halves = v.split(':');
    let (target, source, extra) = (halves.next(), halves.next(), halves.next());
    if extra.is_some() {
        return Some("has more than one `:`".into());
    }
    target.and_then(part).or_else(|| source.and_then(part))
}

fn cabinet(v: &str) -> Option<String> {
    match v.strip_prefix('#') {
        Some(stream) => identifier(stream).map(|w| format!("names a stream that {w}")),
        None => filename(v, false),
    }
}

fn reg_path(v: &str) -> Option<String> {
    if v.starts_with('\\') {
        return Some("starts with `\\`".into());
    }
    formatted(v)
}

/// Formatted text: every `[` opens a reference that closes (`[PROPERTY]`, `[%ENV]`,
/// `[#file]`, `[!file]`, `[$component]`, `[\\x]` one character, `[~]` a null), a
/// nested reference included.
pub fn formatted(v: &str) -> Option<String> {
    let chars: Vec<char> = v.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        if chars[i] == '[' {
            match reference_end(&chars, i) {
                Ok(end) => i = end + 1,
                Err(bad) => return Some(bad.describe(&chars)),
            }
        } else {
            i += 1;
        }
    }
    None
}

/// Why a `[` opens no reference.
enum BadReference {
    /// The `[` at this index is never closed.
    Unclosed(usize),
    /// The `[` at this index closes at the second, around no property or file name.
    NotAReference(usize, usize),
}

impl BadReference {
    fn describe(&self, chars: &[char]) -> String {
        match *self {
            BadReference::Unclosed(open) => format!(
                "has a `[` at character {} that is never closed (a literal `[` is written `[\\[]`)",
                open + 1
            ),
            BadReference::NotAReference(open, close) => format!(
                "has `{}` at character {}, which is no property or file reference (a literal `[` is written `[\\[]`)",
                chars[open..=close].iter().collect::<String>(),
                open + 1
            ),
        }
    }
}

/// The index of the `]` that closes the reference opened at `open`.
fn reference_end(chars: &[char], open: usize) -> Result<usize, BadReference> {
    let at = |i: usize| chars.get(i).copied();
    match at(open + 1) {
        Some('\\') if at(open + 3) == Some(']') => return Ok(open + 3),
        Some('~') if at(open + 2) == Some(']') => return Ok(open + 2),
        _ => {}
    }
    let mut i = open + 1;
    if matches!(at(i), Some('#' | '!' | '$' | '%')) {
        i += 1;
    }
    let start = i;
    let mut name = String::new();
    while let Some(c) = at(i) {
        match c {
            ']' => break,
            '[' => {
                let end = reference_end(chars, i)?;
                name.push('x');
                i = end + 1;
                continue;
            }
            _ => name.push(c),
        }
        i += 1;
    }
    if at(i) != Some(']') {
        return Err(BadReference::Unclosed(open));
    }
    if chars[start..i].contains(&'[') {
        return Ok(i);
    }
    if identifier(&name).is_some() {
        return Err(BadReference::NotAReference(open, i));
    }
    Ok(i)
}

/// A condition's surface: balanced parentheses and quotes, and no empty text.
fn condition(v: &str) -> Option<String> {
    if v.trim().is_empty() {
        return Some("is blank".into());
    }
    let mut depth = 0i32;
    let mut quoted = false;
    for c in v.chars() {
        match c {
            '"' => quoted = !quoted,
            '(' if !quoted => depth += 1,
            ')' if !quoted => {
                depth -= 1;
                if depth < 0 {
                    return Some("closes a parenthesis it never opened".into());
                }
            }
            _ => {}
        }
    }
    if quoted {
        Some("has a string that is never closed".into())
    } else if depth != 0 {
        Some("leaves a parenthesis open".into())
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn categories_accept_what_windows_installer_does() {
        assert_eq!(identifier("_a.B9"), None);
        assert!(identifier("9a").is_some() && identifier("a-b").is_some());
        assert_eq!(guid("{6F1C2A3B-1111-4222-8333-944455556666}"), None);
        assert!(guid("{6f1c2a3b-1111-4222-8333-944455556666}").is_some());
        assert_eq!(version("1.2.3.4"), None);
        assert!(
            version("1.2.3.4.5").is_some() && version("1.65536").is_some() && version("").is_some()
        );
        assert_eq!(invalid("Filename", "HELLOS~1.EXE|hello-service.exe"), None);
        assert!(invalid("Filename", "a.exe:stream").is_some());
        assert!(invalid("Filename", "TOOLONGNAME.EXE|x.exe").is_some());
        assert_eq!(invalid("DefaultDir", "."), None);
        assert_eq!(invalid("DefaultDir", "PROGRA~1|Program Files:src"), None);
        assert!(invalid("DefaultDir", "a:b:c").is_some());
        assert_eq!(
            formatted("[INSTALLDIR]x.exe [\\[]hi[\\]] [~] [#f_1] [%PATH] [[P]]"),
            None
        );
        assert!(formatted("[hi there]").is_some());
        assert!(formatted("[open").is_some());
        assert_eq!(formatted("a ] b {x}"), None);
        assert_eq!(invalid("Condition", "NOT (A OR \"(\")"), None);
        assert!(invalid("Condition", "(A").is_some());
        assert_eq!(invalid("Cabinet", "#product.cab"), None);
        assert!(invalid("RegPath", "\\Software").is_some());
    }
}
