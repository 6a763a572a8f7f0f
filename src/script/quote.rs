//! Quoting for the three languages the install scripts speak. Every user string passes
//! through exactly one of these functions on its way into a generated file.
//!
//! - [`argv`]: one argument for a Windows program's command line, as the Microsoft C
//!   runtime (and `CommandLineToArgvW`, and Rust's `std::env::args`) split it.
//! - [`split`]: the inverse of [`argv_line`], to read a command line back.
//! - [`argv_folder_aware`]: as [`argv`], and always quoted when the argument holds a
//!   folder placeholder (the folder may hold spaces once it is put in).
//! - cmd.exe text is written by `cmd.rs` (FOR /F literals), not here.
//! - [`ps_literal`]: a PowerShell single-quoted string.

/// Why a string cannot be written safely.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unrepresentable {
    pub reason: &'static str,
}

/// Quote `arg` so that the C runtime's argument splitter yields exactly `arg`.
/// Quotes only when needed (spaces, tabs, quotes, or empty).
pub fn argv(arg: &str) -> String {
    if !arg.is_empty() && !arg.contains([' ', '\t', '\n', '\u{b}', '"']) {
        return arg.to_string();
    }
    argv_quoted(arg)
}

/// As [`argv`], but always in quotes.
pub fn argv_quoted(arg: &str) -> String {
    let mut out = String::with_capacity(arg.len() + 2);
    out.push('"');
    let mut backslashes = 0usize;
    for c in arg.chars() {
        match c {
            '\\' => backslashes += 1,
            '"' => {
                // Backslashes before a quote are escaped, then the quote itself.
                out.extend(std::iter::repeat_n('\\', backslashes * 2 + 1));
                out.push('"');
                backslashes = 0;
            }
            _ => {
                out.extend(std::iter::repeat_n('\\', backslashes));
                backslashes = 0;
                out.push(c);
            }
        }
    }
    // Backslashes before the closing quote are doubled.
    out.extend(std::iter::repeat_n('\\', backslashes * 2));
    out.push('"');
    out
}

/// As [`argv`], but always quoted when `arg` holds `{dir}` or `{programdata}`: the
/// folder put in at install time may hold spaces. Every writer quotes arguments so.
pub fn argv_folder_aware(arg: &str) -> String {
    if arg.contains(super::DIR_PLACEHOLDER) || arg.contains(super::PROGRAMDATA_PLACEHOLDER) {
        argv_quoted(arg)
    } else {
        argv(arg)
    }
}

/// A whole command line from arguments.
pub fn argv_line<S: AsRef<str>>(args: &[S]) -> String {
    args.iter()
        .map(|a| argv(a.as_ref()))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Split a command line as the C runtime does (CommandLineToArgvW's rules for the
/// arguments after the program name).
pub fn split(line: &str) -> Vec<String> {
    let mut args = Vec::new();
    let chars: Vec<char> = line.chars().collect();
    let mut i = 0;
    loop {
        while i < chars.len() && (chars[i] == ' ' || chars[i] == '\t') {
            i += 1;
        }
        if i >= chars.len() {
            break;
        }
        let mut cur = String::new();
        let mut quoted = false;
        while i < chars.len() {
            let c = chars[i];
            if c == '\\' {
                let mut n = 0;
                while i < chars.len() && chars[i] == '\\' {
                    n += 1;
                    i += 1;
                }
                if i < chars.len() && chars[i] == '"' {
                    cur.extend(std::iter::repeat_n('\\', n / 2));
                    if n % 2 == 1 {
                        cur.push('"');
                        i += 1;
                    }
                } else {
                    cur.extend(std::iter::repeat_n('\\', n));
                }
                continue;
            }
            if c == '"' {
                if quoted && i + 1 < chars.len() && chars[i + 1] == '"' {
                    cur.push('"');
                    i += 2;
                    continue;
                }
                quoted = !quoted;
                i += 1;
                continue;
            }
            if !quoted && (c == ' ' || c == '\t') {
                break;
            }
            cur.push(c);
            i += 1;
        }
        args.push(cur);
    }
    args
}

/// A PowerShell single-quoted string literal. Inside single quotes nothing is special
/// except the quote itself, which PowerShell also recognises in its typographic forms
/// (U+2018..U+201B); each is doubled.
pub fn ps_literal(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('\'');
    for c in text.chars() {
        if matches!(c, '\'' | '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{201B}') {
            out.push(c);
        }
        out.push(c);
    }
    out.push('\'');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argv_examples() {
        assert_eq!(argv("plain"), "plain");
        assert_eq!(argv(""), "\"\"");
        assert_eq!(argv("a b"), "\"a b\"");
        assert_eq!(argv("a\"b"), "\"a\\\"b\"");
        assert_eq!(argv("C:\\dir with space\\"), "\"C:\\dir with space\\\\\"");
        assert_eq!(argv("a\\\\\"b"), "\"a\\\\\\\\\\\"b\"");
    }

    #[test]
    fn ps_examples() {
        assert_eq!(ps_literal("it's"), "'it''s'");
        assert_eq!(ps_literal("$env:X `n"), "'$env:X `n'");
        assert_eq!(ps_literal("\u{2019}"), "'\u{2019}\u{2019}'");
    }

    proptest::proptest! {
        #[test]
        fn argv_round_trips(args in proptest::collection::vec("\\PC*", 1..6)) {
            let line = argv_line(&args);
            proptest::prop_assert_eq!(split(&line), args);
        }

        #[test]
        fn argv_round_trips_nasty(args in proptest::collection::vec("[a \\\\\"\t%^&!]{0,12}", 1..5)) {
            let line = argv_line(&args);
            proptest::prop_assert_eq!(split(&line), args);
        }
    }
}
