//! Splitting an inline command line into arguments, with Redis's quoting rules
//! (`sdssplitargs`).
//!
//! Inline commands are what a person types into `telnet`: `SET key "hello world"`. Arguments
//! are separated by whitespace. Inside double quotes, `\n`, `\r`, `\t`, `\b`, `\a`, `\xHH` and
//! `\<any>` are escapes; inside single quotes only `\'` is. A closing quote must be followed by
//! whitespace or the end of the line, and a quote may open in the middle of an argument
//! (`a"b c"` is the one argument `ab c`).

/// The arguments of `line`, or `None` if its quotes are unbalanced.
pub(crate) fn split_args(line: &[u8]) -> Option<Vec<Vec<u8>>> {
    let mut args = Vec::new();
    let mut at = 0;
    loop {
        while line.get(at).is_some_and(|&b| is_space(b)) {
            at += 1;
        }
        if at == line.len() {
            return Some(args);
        }
        let mut arg = Vec::new();
        let mut quote = None;
        loop {
            let Some(&byte) = line.get(at) else {
                // The line ended: fine between arguments, unbalanced inside quotes.
                if quote.is_some() {
                    return None;
                }
                break;
            };
            match quote {
                Some(b'"') => match byte {
                    b'\\'
                        if line.get(at + 1) == Some(&b'x')
                            && line.get(at + 2).and_then(|&b| hex(b)).is_some()
                            && line.get(at + 3).and_then(|&b| hex(b)).is_some() =>
                    {
                        let high = line.get(at + 2).and_then(|&b| hex(b)).unwrap_or(0);
                        let low = line.get(at + 3).and_then(|&b| hex(b)).unwrap_or(0);
                        arg.push(high * 16 + low);
                        at += 3;
                    }
                    b'\\' if at + 1 < line.len() => {
                        at += 1;
                        arg.push(match line[at] {
                            b'n' => b'\n',
                            b'r' => b'\r',
                            b't' => b'\t',
                            b'b' => 0x08,
                            b'a' => 0x07,
                            other => other,
                        });
                    }
                    b'"' => {
                        at = closing_quote(line, at)?;
                        break;
                    }
                    other => arg.push(other),
                },
                Some(_) => match byte {
                    b'\\' if line.get(at + 1) == Some(&b'\'') => {
                        arg.push(b'\'');
                        at += 1;
                    }
                    b'\'' => {
                        at = closing_quote(line, at)?;
                        break;
                    }
                    other => arg.push(other),
                },
                None => match byte {
                    b if is_space(b) => break,
                    b'"' | b'\'' => quote = Some(byte),
                    other => arg.push(other),
                },
            }
            at += 1;
        }
        args.push(arg);
    }
}

/// Where scanning goes on after the closing quote at `at`, which must end its argument.
fn closing_quote(line: &[u8], at: usize) -> Option<usize> {
    match line.get(at + 1) {
        Some(&next) if !is_space(next) => None,
        _ => Some(at + 1),
    }
}

/// C's `isspace` in the "C" locale.
fn is_space(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

fn hex(byte: u8) -> Option<u8> {
    (byte as char).to_digit(16).map(|d| d as u8)
}

#[cfg(test)]
mod tests {
    use super::split_args;

    fn split(line: &str) -> Option<Vec<String>> {
        split_args(line.as_bytes()).map(|args| {
            args.into_iter().map(|a| String::from_utf8_lossy(&a).into_owned()).collect()
        })
    }

    #[test]
    fn redis_quoting_rules() {
        assert_eq!(split("  set  k v "), Some(vec!["set".into(), "k".into(), "v".into()]));
        assert_eq!(split(""), Some(vec![]));
        assert_eq!(
            split(r#"set "a b" 'c d'"#),
            Some(vec!["set".into(), "a b".into(), "c d".into()])
        );
        assert_eq!(
            split(r#""\x41\n\t\"\\" '\'x\n'"#),
            Some(vec!["A\n\t\"\\".into(), "'x\\n".into()])
        );
        assert_eq!(split(r#"a"b c"d"#), None, "a closing quote must end the argument");
        assert_eq!(split(r#"a"b c""#), Some(vec!["ab c".into()]));
        assert_eq!(split(r#""unterminated"#), None);
        assert_eq!(split("'unterminated"), None);
        assert_eq!(split(r#""\x4""#), Some(vec!["x4".into()]), "not a hex escape: \\x is x");
        assert_eq!(split(r#"""""#), None);
    }
}
