//! The manifest of a multi-part append-only file, in Redis 7's format.
//!
//! Redis 7 keeps the AOF as a directory (`appendonlydir`) of parts: one **base** file, a
//! snapshot of the dataset written by a rewrite, and **incr** files, the commands logged since,
//! in order. A small text file, the manifest, names them, one per line:
//!
//! ```text
//! file appendonly.aof.3.base.aof seq 3 type b
//! file appendonly.aof.5.incr.aof seq 5 type i
//! ```
//!
//! The manifest is the commit point of a rewrite: it is replaced atomically (written to a
//! temporary file, synced, renamed over the old one, directory synced), so a crash leaves
//! either the old set of parts or the new one. Real Redis reads a directory written here
//! (and this server reads one written by Redis with `aof-use-rdb-preamble no`).

/// What a part holds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum PartType {
    /// `b`: the snapshot the incr files apply to.
    Base,
    /// `i`: commands logged after the base.
    Incr,
    /// `h`: a part a finished rewrite made obsolete, still to be deleted.
    History,
}

/// One line of the manifest.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Part {
    pub(crate) name: String,
    pub(crate) seq: u64,
    pub(crate) kind: PartType,
}

/// The parts of the AOF, base first, then incr files in order.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Manifest {
    pub(crate) base: Option<Part>,
    pub(crate) incrs: Vec<Part>,
    /// Obsolete parts to delete.
    pub(crate) history: Vec<Part>,
}

impl Manifest {
    /// Parses a manifest; the error says which line is wrong, as Redis's does.
    pub(crate) fn parse(text: &str) -> Result<Manifest, String> {
        let mut manifest = Manifest::default();
        for (number, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let words: Vec<&str> = line.split_whitespace().collect();
            let field = |key: &str| {
                words.chunks(2).find(|pair| pair[0] == key).and_then(|pair| pair.get(1)).copied()
            };
            let invalid = || format!("Invalid AOF manifest file format (line {})", number + 1);
            let name = field("file").ok_or_else(invalid)?;
            let seq = field("seq").and_then(|s| s.parse().ok()).ok_or_else(invalid)?;
            let kind = match field("type") {
                Some("b") => PartType::Base,
                Some("i") => PartType::Incr,
                Some("h") => PartType::History,
                _ => return Err(invalid()),
            };
            if name.contains('/') {
                return Err(invalid());
            }
            let part = Part { name: name.to_string(), seq, kind };
            match kind {
                PartType::Base if manifest.base.is_some() => {
                    return Err("Found duplicate base file information".into());
                }
                PartType::Base => manifest.base = Some(part),
                PartType::Incr => {
                    if manifest.incrs.last().is_some_and(|last| last.seq >= seq) {
                        return Err("Found a non-monotonic sequence number".into());
                    }
                    manifest.incrs.push(part);
                }
                PartType::History => manifest.history.push(part),
            }
        }
        if manifest.base.is_none() && manifest.incrs.is_empty() {
            return Err("Found an empty AOF manifest".into());
        }
        Ok(manifest)
    }

    /// The manifest's text: base, history, incr files, one line each.
    pub(crate) fn format(&self) -> String {
        let mut text = String::new();
        let letter = |kind| match kind {
            PartType::Base => 'b',
            PartType::Incr => 'i',
            PartType::History => 'h',
        };
        for part in self.base.iter().chain(&self.history).chain(&self.incrs) {
            text.push_str(&format!(
                "file {} seq {} type {}\n",
                part.name,
                part.seq,
                letter(part.kind)
            ));
        }
        text
    }

    /// The next base file: `<prefix>.<seq>.base.aof`.
    pub(crate) fn next_base(&self, prefix: &str) -> Part {
        let seq = self.base.as_ref().map_or(1, |b| b.seq + 1);
        Part { name: format!("{prefix}.{seq}.base.aof"), seq, kind: PartType::Base }
    }

    /// The next incr file: `<prefix>.<seq>.incr.aof`.
    pub(crate) fn next_incr(&self, prefix: &str) -> Part {
        let seq = self.incrs.last().map_or(1, |i| i.seq + 1);
        Part { name: format!("{prefix}.{seq}.incr.aof"), seq, kind: PartType::Incr }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_it_writes_and_what_redis_writes() {
        let redis = "file appendonly.aof.1.base.rdb seq 1 type b\n\
                     file appendonly.aof.1.incr.aof seq 1 type i\n\
                     file appendonly.aof.2.incr.aof seq 2 type i\n";
        let manifest = Manifest::parse(redis).unwrap();
        assert_eq!(manifest.base.as_ref().map(|b| b.seq), Some(1));
        assert_eq!(manifest.incrs.len(), 2);
        assert_eq!(manifest.format(), redis);
        assert_eq!(manifest.next_incr("appendonly.aof").name, "appendonly.aof.3.incr.aof");
        assert_eq!(manifest.next_base("appendonly.aof").name, "appendonly.aof.2.base.aof");
    }

    #[test]
    fn refuses_damaged_manifests() {
        for bad in [
            "",
            "file a seq x type b\n",
            "file a seq 1 type q\n",
            "file a seq 1\n",
            "file ../etc/passwd seq 1 type i\n",
            "file a seq 1 type b\nfile b seq 2 type b\n",
            "file a seq 2 type i\nfile b seq 1 type i\n",
        ] {
            assert!(Manifest::parse(bad).is_err(), "{bad:?}");
        }
    }
}
