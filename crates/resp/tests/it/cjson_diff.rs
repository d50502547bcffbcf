//! The `cjson` library against a real `redis-server`: random JSON texts, well formed, in the
//! spellings CJSON tolerates (hexadecimal, `+1`, `NaN`, leading zeros), or damaged (cut
//! short, a byte inserted or dropped), decoded and encoded back; random Lua values encoded;
//! each after random calls to the setting functions. The replies must be the same, error
//! texts and positions included, and so must the settings a second script sees (they last
//! from one script to the next until `SCRIPT FLUSH`).
//!
//! Runs only when `BYO_REDIS_SERVER` names a `redis-server` binary (CI sets it).

use byo_resp::Frame;
use proptest::prelude::*;

use crate::real_redis::differential;
use crate::server::Conn;

fn pick(choices: &'static [&'static str]) -> impl Strategy<Value = String> + Clone {
    prop::sample::select(choices).prop_map(str::to_owned)
}

/// A JSON text: scalars in every spelling CJSON reads (and a few it refuses), arrays and
/// objects nested up to four deep, with varying whitespace.
fn json() -> impl Strategy<Value = String> {
    let number = pick(&[
        "0",
        "-0",
        "1",
        "-7",
        "0.1",
        "1.5e-7",
        "2.5e-310",
        "1e400",
        "123456789012345678",
        "1e15",
        "0x1F",
        "-0x10",
        "+1",
        "007",
        "1.",
        "-.5",
        "NaN",
        "-Infinity",
        "inf",
        "1e",
        "-",
        "1e+2",
        "3.14159265358979",
        "nan(1)",
    ]);
    let string = pick(&[
        r#""""#,
        r#""text""#,
        r#""a\/b""#,
        r#""\u00e9\u20ac""#,
        r#""\ud83d\ude00""#,
        r#""\ud800""#,
        r#""\udc00x""#,
        r#""\u12""#,
        r#""\x""#,
        r#""\"\\\b\f\n\r\t""#,
        "\"raw\ttab\"",
        "\"é\"",
        r#""\u0000""#,
        r#""unterminated"#,
    ]);
    let word = pick(&["true", "false", "null", "tru", "nul", "falsey", "True"]);
    let leaf = prop_oneof![3 => number, 3 => string, 1 => word];
    let key = pick(&[r#""a""#, r#""b""#, r#""1""#, r#""2""#, r#""""#, r#""a""#, "1", r#""k"  "#]);
    let value = leaf.prop_recursive(4, 32, 5, move |inner| {
        let space = pick(&["", " ", "\n\t", " \r\n "]);
        prop_oneof![
            (prop::collection::vec(inner.clone(), 0..5), space.clone()).prop_map(
                |(items, space)| format!("[{space}{}]", items.join(&format!(",{space}")))
            ),
            (prop::collection::vec((key.clone(), inner), 0..5), space).prop_map(
                |(members, space)| {
                    let members: Vec<String> =
                        members.into_iter().map(|(k, v)| format!("{k}:{space}{v}")).collect();
                    format!("{{{space}{}}}", members.join(","))
                }
            ),
        ]
    });
    (
        value,
        0..6usize,
        any::<prop::sample::Index>(),
        pick(&["[", "]", "{", "}", ",", ":", "\"", "\\", " ", "x", "0", "\0"]),
    )
        .prop_map(|(text, damage, at, byte)| {
            let at = at.index(text.len() + 1);
            let cut =
                |text: &str, at: usize| text.is_char_boundary(at).then(|| text[..at].to_owned());
            match damage {
                0 => cut(&text, at).unwrap_or(text),
                1 if text.is_char_boundary(at) => format!("{}{byte}{}", &text[..at], &text[at..]),
                2 if at < text.len()
                    && text.is_char_boundary(at)
                    && text.is_char_boundary(at + 1) =>
                {
                    format!("{}{}", &text[..at], &text[at + 1..])
                }
                3 => format!("  {text}  "),
                _ => text,
            }
        })
}

/// Calls to the setting functions, in range and out of it, and with arguments of the wrong
/// kind; any of them may end the script with an error.
fn settings() -> impl Strategy<Value = String> {
    let call = pick(&[
        "cjson.decode_max_depth(1)",
        "cjson.decode_max_depth(3)",
        "cjson.decode_max_depth(0)",
        "cjson.decode_max_depth('2')",
        "cjson.encode_max_depth(2)",
        "cjson.encode_max_depth(2.9)",
        "cjson.encode_max_depth({})",
        "cjson.encode_max_depth(1, 2)",
        "cjson.decode_invalid_numbers(false)",
        "cjson.decode_invalid_numbers('on')",
        "cjson.decode_invalid_numbers('no')",
        "cjson.encode_invalid_numbers(true)",
        "cjson.encode_invalid_numbers('null')",
        "cjson.encode_invalid_numbers({})",
        "cjson.encode_number_precision(3)",
        "cjson.encode_number_precision(15)",
        "cjson.encode_number_precision('x')",
        "cjson.encode_sparse_array(true)",
        "cjson.encode_sparse_array(false, 1, 2)",
        "cjson.encode_sparse_array(nil, 0)",
        "cjson.encode_sparse_array(true, -1)",
        "cjson.encode_keep_buffer(false)",
        "cjson.new().encode_number_precision(1)",
    ]);
    prop::collection::vec(call, 0..3).prop_map(|calls| calls.join("\n"))
}

/// A Lua value for `cjson.encode`: every type, numbers it must refuse or format, strings
/// that need escapes, arrays with holes, sparse arrays, keys of every type.
fn lua_value() -> impl Strategy<Value = String> {
    let leaf = pick(&[
        "0",
        "-0.0",
        "0.1",
        "1/3",
        "1e300",
        "2^53",
        "1/0",
        "-(1/0)",
        "0/0",
        "123456789012345678",
        "-7",
        "'a/b'",
        "'\\0\\1\\31\\127\\128\\255'",
        "'\"q\"'",
        "'é'",
        "'\\\\'",
        "''",
        "'\\n\\t\\r\\b\\f'",
        "true",
        "false",
        "nil",
        "cjson.null",
        "function() end",
        "coroutine.create(function() end)",
    ]);
    let key = pick(&[
        "'x'", "'y'", "1", "2", "3", "10", "11", "20", "0", "-1", "1.5", "true", "2^31", "3e9",
        "1/0", "'1'",
    ]);
    leaf.prop_recursive(4, 32, 5, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5)
                .prop_map(|items| format!("{{{}}}", items.join(", "))),
            prop::collection::vec((key.clone(), inner), 0..5).prop_map(|members| {
                let members: Vec<String> =
                    members.into_iter().map(|(k, v)| format!("[{k}] = {v}")).collect();
                format!("{{{}}}", members.join(", "))
            }),
        ]
    })
}

/// The settings as a script sees them.
const SHOW_SETTINGS: &str = "return {cjson.encode_max_depth(), cjson.decode_max_depth(), \
    cjson.encode_number_precision(), tostring(cjson.encode_invalid_numbers()), \
    tostring(cjson.decode_invalid_numbers()), tostring(cjson.encode_keep_buffer()), \
    tostring((cjson.encode_sparse_array())), select(2, cjson.encode_sparse_array()), \
    select(3, cjson.encode_sparse_array())}";

/// From a fresh script state: the script after `settings`, the same script alone (under the
/// settings the first one left), and the settings.
fn outcome(conn: &mut Conn, settings: &str, script: &str, argv: &[&str]) -> Vec<Frame> {
    assert_eq!(conn.call(&["SCRIPT", "FLUSH"]), Frame::Simple("OK".into()));
    let first = format!("{settings}\n{script}");
    let mut outcome = Vec::new();
    for body in [first.as_str(), script, SHOW_SETTINGS] {
        let mut call = vec!["EVAL", body, "0"];
        call.extend_from_slice(argv);
        outcome.push(conn.call(&call));
    }
    outcome
}

#[test]
fn random_json_decodes_and_encodes_as_redis_does() {
    const SCRIPT: &str = "return {cjson.encode(cjson.decode(ARGV[1]))}";
    differential(
        (settings(), json()),
        |conn, (settings, text)| outcome(conn, settings, SCRIPT, &[text]),
        |(settings, text)| format!("settings:\n{settings}\njson: {text:?}"),
    );
}

#[test]
fn random_lua_values_encode_as_redis_does() {
    differential(
        (settings(), lua_value()),
        |conn, (settings, value)| {
            outcome(conn, settings, &format!("return cjson.encode({value})"), &[])
        },
        |(settings, value)| format!("settings:\n{settings}\nvalue: {value}"),
    );
}
