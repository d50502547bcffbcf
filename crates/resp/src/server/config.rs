//! Configuration parameters, as `CONFIG GET` and `CONFIG SET` see them.
//!
//! Each parameter is a name, a kind that validates new values (with Redis's error text), and
//! its current value as text. Parameters fall into three groups:
//!
//! - **honoured**: the server reads them (`requirepass`, `maxclients`, `proto-max-bulk-len`,
//!   `client-query-buffer-limit`, `hz`, `notify-keyspace-events`, the `pubsub` class of
//!   `client-output-buffer-limit`, `appendonly`, `appendfsync`, `dir`, `stream-node-max-*`,
//!   ...);
//! - **fixed**: reported but immutable at run time (`port`, `bind`, `databases`);
//! - **accepted**: tuning knobs for Redis's compact encodings and features this server does not
//!   have (`list-max-listpack-size`, `lua-time-limit`, ...). They are validated and stored so that
//!   clients and test suites that set them keep working, and have no other effect. The README
//!   lists them.

use bytes::Bytes;

/// How a parameter's value is checked.
#[derive(Clone, Copy, Debug)]
enum Kind {
    /// An integer in a range.
    Int(i64, i64),
    /// A memory size (`1gb`, `512mb`, or bytes), in a range.
    Memory(i64, i64),
    /// `yes` or `no`.
    Bool,
    /// One of the given words.
    Enum(&'static [&'static str]),
    /// Any text.
    Text,
    /// Checked (and put in canonical form) by a function of the current and the new value.
    Special(fn(&str, &str) -> Result<String, String>),
}

/// Whether `CONFIG SET` may change a parameter.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Mutability {
    Mutable,
    Immutable,
}

#[derive(Clone, Debug)]
struct Param {
    name: &'static str,
    /// Older names Redis still accepts (`hash-max-ziplist-entries`).
    alias: Option<&'static str>,
    kind: Kind,
    mutability: Mutability,
    value: String,
}

/// The configuration.
#[derive(Clone, Debug)]
pub struct Config {
    params: Vec<Param>,
}

const GB: i64 = 1 << 30;

impl Default for Config {
    fn default() -> Self {
        use Kind::*;
        use Mutability::*;
        let p = |name, alias, kind, mutability, value: &str| Param {
            name,
            alias,
            kind,
            mutability,
            value: value.to_string(),
        };
        Config {
            params: vec![
                // Honoured.
                p("requirepass", None, Text, Mutable, ""),
                p("maxclients", None, Int(1, i64::from(u32::MAX)), Mutable, "10000"),
                p("proto-max-bulk-len", None, Memory(1024 * 1024, i64::MAX), Mutable, "536870912"),
                p(
                    "client-query-buffer-limit",
                    None,
                    Memory(1024 * 1024, GB),
                    Mutable,
                    "1073741824",
                ),
                p("hz", None, Int(1, 500), Mutable, "10"),
                p("timeout", None, Int(0, i64::from(i32::MAX)), Mutable, "0"),
                p("dir", None, Text, Mutable, "."),
                p("appendonly", None, Bool, Mutable, "no"),
                p("appendfsync", None, Enum(&["always", "everysec", "no"]), Mutable, "everysec"),
                p("appendfilename", None, Text, Immutable, "appendonly.aof"),
                p("appenddirname", None, Text, Immutable, "appendonlydir"),
                p("aof-load-truncated", None, Bool, Mutable, "yes"),
                p("auto-aof-rewrite-percentage", None, Int(0, i64::from(i32::MAX)), Mutable, "100"),
                p("auto-aof-rewrite-min-size", None, Memory(0, i64::MAX), Mutable, "67108864"),
                p("stream-node-max-bytes", None, Memory(0, i64::MAX), Mutable, "4096"),
                p("stream-node-max-entries", None, Int(0, i64::MAX), Mutable, "100"),
                // Fixed at start.
                p("port", None, Int(0, 65535), Immutable, "6379"),
                p("bind", None, Text, Immutable, "127.0.0.1"),
                p("databases", None, Int(1, i64::from(i32::MAX)), Immutable, "16"),
                // Accepted, no effect here (see the module documentation).
                p("save", None, Text, Mutable, ""),
                p("aof-use-rdb-preamble", None, Bool, Mutable, "yes"),
                p("aof-timestamp-enabled", None, Bool, Mutable, "no"),
                p("maxmemory", None, Memory(0, i64::MAX), Mutable, "0"),
                p(
                    "maxmemory-policy",
                    None,
                    Enum(&[
                        "volatile-lru",
                        "volatile-lfu",
                        "volatile-random",
                        "volatile-ttl",
                        "allkeys-lru",
                        "allkeys-lfu",
                        "allkeys-random",
                        "noeviction",
                    ]),
                    Mutable,
                    "noeviction",
                ),
                p(
                    "notify-keyspace-events",
                    None,
                    Special(|_, new| super::notify::validate(new)),
                    Mutable,
                    "",
                ),
                p(
                    "client-output-buffer-limit",
                    None,
                    Special(update_output_limits),
                    Mutable,
                    "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60",
                ),
                p(
                    "lua-time-limit",
                    Some("busy-reply-threshold"),
                    Int(0, i64::MAX),
                    Mutable,
                    "5000",
                ),
                p(
                    "hash-max-listpack-entries",
                    Some("hash-max-ziplist-entries"),
                    Int(0, i64::MAX),
                    Mutable,
                    "128",
                ),
                p(
                    "hash-max-listpack-value",
                    Some("hash-max-ziplist-value"),
                    Int(0, i64::MAX),
                    Mutable,
                    "64",
                ),
                p(
                    "list-max-listpack-size",
                    Some("list-max-ziplist-size"),
                    Int(i64::from(i32::MIN), i64::from(i32::MAX)),
                    Mutable,
                    "-2",
                ),
                p("list-compress-depth", None, Int(0, i64::from(i32::MAX)), Mutable, "0"),
                p("set-max-intset-entries", None, Int(0, i64::MAX), Mutable, "512"),
                p(
                    "zset-max-listpack-entries",
                    Some("zset-max-ziplist-entries"),
                    Int(0, i64::MAX),
                    Mutable,
                    "128",
                ),
                p(
                    "zset-max-listpack-value",
                    Some("zset-max-ziplist-value"),
                    Int(0, i64::MAX),
                    Mutable,
                    "64",
                ),
                p("replica-serve-stale-data", Some("slave-serve-stale-data"), Bool, Mutable, "yes"),
                p(
                    "rdb-key-save-delay",
                    None,
                    Int(i64::from(i32::MIN), i64::from(i32::MAX)),
                    Mutable,
                    "0",
                ),
                p("lazyfree-lazy-user-del", None, Bool, Mutable, "no"),
                p("lazyfree-lazy-user-flush", None, Bool, Mutable, "no"),
                p("lazyfree-lazy-expire", None, Bool, Mutable, "no"),
                p("activerehashing", None, Bool, Mutable, "yes"),
                p("latency-tracking", None, Bool, Mutable, "yes"),
            ],
        }
    }
}

/// Why a configuration value was refused; the text follows Redis's.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub(crate) String);

impl Config {
    fn find(&self, name: &str) -> Option<usize> {
        self.params.iter().position(|p| {
            p.name.eq_ignore_ascii_case(name)
                || p.alias.is_some_and(|a| a.eq_ignore_ascii_case(name))
        })
    }

    /// The current value of `name`, or `""` for a parameter that does not exist.
    pub fn get(&self, name: &str) -> &str {
        self.find(name).map_or("", |at| self.params[at].value.as_str())
    }

    /// The current value of an integer or memory parameter.
    pub(crate) fn get_int(&self, name: &str) -> i64 {
        self.get(name).parse().unwrap_or(0)
    }

    /// Every parameter (and alias) whose name matches `pattern`, with its value.
    pub(crate) fn matching(&self, pattern: &[u8]) -> Vec<(&'static str, &str)> {
        let mut found = Vec::new();
        for param in &self.params {
            for name in std::iter::once(param.name).chain(param.alias) {
                if super::glob::matches(pattern, name.as_bytes(), true) {
                    found.push((name, param.value.as_str()));
                }
            }
        }
        found
    }

    /// Checks and applies a set of changes, all or none (as Redis 7's multi-parameter
    /// `CONFIG SET` does).
    pub(crate) fn set_all(&mut self, changes: &[(Bytes, Bytes)]) -> Result<(), ConfigError> {
        let mut updated = self.clone();
        let mut seen = Vec::new();
        for (name, value) in changes {
            let name_text = String::from_utf8_lossy(name);
            let Some(at) = updated.find(&name_text) else {
                return Err(ConfigError(format!(
                    "ERR Unknown option or number of arguments for CONFIG SET - '{name_text}'"
                )));
            };
            if seen.contains(&at) {
                return Err(ConfigError(format!(
                    "ERR CONFIG SET failed (possibly related to argument '{name_text}') - duplicate parameter"
                )));
            }
            seen.push(at);
            let param = &mut updated.params[at];
            if param.mutability == Mutability::Immutable {
                return Err(ConfigError(format!(
                    "ERR CONFIG SET failed (possibly related to argument '{name_text}') - can't set immutable config"
                )));
            }
            let value_text = String::from_utf8_lossy(value).into_owned();
            param.value = validate(param.kind, &param.value, &value_text).map_err(|why| {
                ConfigError(format!(
                    "ERR CONFIG SET failed (possibly related to argument '{name_text}') - {why}"
                ))
            })?;
        }
        *self = updated;
        Ok(())
    }

    /// Sets a parameter before the server starts (immutable ones included), such as
    /// `config.set("requirepass", "secret")`.
    pub fn set(&mut self, name: &str, value: &str) -> Result<(), ConfigError> {
        let at =
            self.find(name).ok_or_else(|| ConfigError(format!("unknown parameter '{name}'")))?;
        let param = &mut self.params[at];
        param.value = validate(param.kind, &param.value, value).map_err(ConfigError)?;
        Ok(())
    }
}

/// Checks `value` against `kind`, returning the value in canonical form.
fn validate(kind: Kind, current: &str, value: &str) -> Result<String, String> {
    match kind {
        Kind::Text => Ok(value.to_string()),
        Kind::Special(check) => check(current, value),
        Kind::Bool => match value.to_ascii_lowercase().as_str() {
            "yes" => Ok("yes".into()),
            "no" => Ok("no".into()),
            _ => Err("argument must be 'yes' or 'no'".into()),
        },
        Kind::Enum(words) => {
            let lower = value.to_ascii_lowercase();
            if words.contains(&lower.as_str()) {
                Ok(lower)
            } else {
                Err("argument(s) must be one of the following: ".to_string() + &words.join(", "))
            }
        }
        Kind::Int(min, max) => {
            let n: i64 = value
                .parse()
                .map_err(|_| "argument couldn't be parsed into an integer".to_string())?;
            in_range(n, min, max)
        }
        Kind::Memory(min, max) => {
            let n =
                parse_memory(value).ok_or_else(|| "argument must be a memory value".to_string())?;
            in_range(n, min, max)
        }
    }
}

/// The client classes `client-output-buffer-limit` has, in the order it lists them.
const CLIENT_CLASSES: [&str; 3] = ["normal", "slave", "pubsub"];

/// `client-output-buffer-limit`: groups of `<class> <hard> <soft> <soft seconds>`, each
/// replacing that class's limits and leaving the others as they were (Redis's checks and texts).
fn update_output_limits(current: &str, new: &str) -> Result<String, String> {
    let mut limits: Vec<[String; 3]> = CLIENT_CLASSES
        .iter()
        .map(|class| {
            let fields = output_limit(current, class).unwrap_or([0, 0, 0]);
            fields.map(|n| n.to_string())
        })
        .collect();
    let words: Vec<&str> = new.split_whitespace().collect();
    if !words.len().is_multiple_of(4) {
        return Err("Wrong number of arguments in buffer limit configuration.".into());
    }
    for group in words.chunks(4) {
        let class = match group[0].to_ascii_lowercase().as_str() {
            "replica" => 1,
            name => CLIENT_CLASSES
                .iter()
                .position(|c| *c == name)
                .ok_or("Invalid client class specified in buffer limit configuration.")?,
        };
        let memory = |text: &str| parse_memory(text).filter(|n| *n >= 0);
        let (Some(hard), Some(soft), Some(seconds)) =
            (memory(group[1]), memory(group[2]), group[3].parse::<i32>().ok().filter(|s| *s >= 0))
        else {
            return Err(
                "Error in hard, soft or soft_seconds setting in buffer limit configuration.".into(),
            );
        };
        limits[class] = [hard.to_string(), soft.to_string(), seconds.to_string()];
    }
    let groups: Vec<String> = CLIENT_CLASSES
        .iter()
        .zip(&limits)
        .map(|(class, [hard, soft, seconds])| format!("{class} {hard} {soft} {seconds}"))
        .collect();
    Ok(groups.join(" "))
}

/// The `[hard, soft, soft seconds]` limits of `class` in a `client-output-buffer-limit` value.
pub(crate) fn output_limit(value: &str, class: &str) -> Option<[u64; 3]> {
    let words: Vec<&str> = value.split_whitespace().collect();
    let group = words.chunks(4).find(|group| group[0] == class)?;
    let number = |at: usize| group.get(at).and_then(|w| w.parse().ok());
    Some([number(1)?, number(2)?, number(3)?])
}

fn in_range(n: i64, min: i64, max: i64) -> Result<String, String> {
    if n < min || n > max {
        Err(format!("argument must be between {min} and {max} inclusive"))
    } else {
        Ok(n.to_string())
    }
}

/// A memory size as Redis writes them: bytes, or a number with `k`, `kb`, `m`, `mb`, `g`,
/// `gb` (case-insensitive; `k` is 1000 and `kb` 1024).
pub(crate) fn parse_memory(text: &str) -> Option<i64> {
    let lower = text.to_ascii_lowercase();
    let units: [(&str, i64); 6] = [
        ("kb", 1 << 10),
        ("mb", 1 << 20),
        ("gb", 1 << 30),
        ("k", 1000),
        ("m", 1_000_000),
        ("g", 1_000_000_000),
    ];
    for (suffix, scale) in units {
        if let Some(number) = lower.strip_suffix(suffix) {
            return number.parse::<i64>().ok()?.checked_mul(scale);
        }
    }
    lower.parse().ok()
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::{Config, output_limit, parse_memory};

    fn change(name: &str, value: &str) -> (Bytes, Bytes) {
        (Bytes::copy_from_slice(name.as_bytes()), Bytes::copy_from_slice(value.as_bytes()))
    }

    #[test]
    fn set_validates_all_before_applying_any() {
        let mut config = Config::default();
        config.set_all(&[change("maxclients", "100"), change("HZ", "20")]).unwrap();
        assert_eq!(config.get("maxclients"), "100");
        assert_eq!(config.get("hz"), "20");
        let err = config.set_all(&[change("maxclients", "50"), change("hz", "x")]).unwrap_err();
        assert!(err.0.contains("'hz'"), "{err:?}");
        assert_eq!(config.get("maxclients"), "100");
        assert!(config.set_all(&[change("port", "1")]).unwrap_err().0.contains("immutable"));
        assert!(config.set_all(&[change("nope", "1")]).unwrap_err().0.contains("Unknown option"));
    }

    #[test]
    fn aliases_and_patterns() {
        let mut config = Config::default();
        config.set_all(&[change("hash-max-ziplist-entries", "7")]).unwrap();
        assert_eq!(config.get("hash-max-listpack-entries"), "7");
        let found = config.matching(b"hash-max-*-entries");
        assert_eq!(found, [("hash-max-listpack-entries", "7"), ("hash-max-ziplist-entries", "7")]);
    }

    #[test]
    fn output_limits_change_one_class_at_a_time() {
        let mut config = Config::default();
        config.set_all(&[change("client-output-buffer-limit", "pubsub 1mb 512kb 5")]).unwrap();
        assert_eq!(
            config.get("client-output-buffer-limit"),
            "normal 0 0 0 slave 268435456 67108864 60 pubsub 1048576 524288 5"
        );
        assert_eq!(
            output_limit(config.get("client-output-buffer-limit"), "pubsub"),
            Some([1048576, 524288, 5])
        );
        for (bad, why) in [
            ("pubsub 1 2", "Wrong number of arguments"),
            ("master 1 2 3", "Invalid client class"),
            ("pubsub 1 2 -3", "Error in hard, soft"),
            ("pubsub x 2 3", "Error in hard, soft"),
        ] {
            let err = config.set_all(&[change("client-output-buffer-limit", bad)]).unwrap_err();
            assert!(err.0.contains(why), "{bad}: {}", err.0);
        }
    }

    #[test]
    fn memory_units() {
        assert_eq!(parse_memory("1gb"), Some(1 << 30));
        assert_eq!(parse_memory("2K"), Some(2000));
        assert_eq!(parse_memory("512"), Some(512));
        assert_eq!(parse_memory("x"), None);
    }
}
