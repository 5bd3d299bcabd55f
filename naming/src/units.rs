//! Units: the base units Prometheus recommends, the other units they replace, and the
//! abbreviations `promtool check metrics` rejects.

/// Base units a metric name may end with (before `_total`). Record values in these units:
/// seconds, not milliseconds; ratios from 0 to 1, not percentages.
pub const BASE_UNITS: &[&str] = &[
    "seconds", "bytes", "ratio", "meters", "metres", "volts", "amperes", "joules", "grams",
    "celsius", "kelvin",
];

/// Units that are not base units, with the base unit to use and how to convert.
const NON_BASE: &[(&str, &str, &str)] = &[
    ("minutes", "seconds", "multiply by 60"),
    ("hours", "seconds", "multiply by 3600"),
    ("days", "seconds", "multiply by 86400"),
    ("weeks", "seconds", "multiply by 604800"),
    ("percent", "ratio", "record 0–1 instead of 0–100"),
    ("percentage", "ratio", "record 0–1 instead of 0–100"),
    ("percents", "ratio", "record 0–1 instead of 0–100"),
    ("kelvins", "kelvin", "the unit is spelled `kelvin`"),
    ("fahrenheit", "celsius", "convert to degrees Celsius"),
    ("rankine", "celsius", "convert to degrees Celsius"),
    ("inches", "meters", "multiply by 0.0254"),
    ("yards", "meters", "multiply by 0.9144"),
    ("miles", "meters", "multiply by 1609.344"),
    ("bits", "bytes", "divide by 8"),
    ("calories", "joules", "multiply by 4.184"),
    ("pounds", "grams", "multiply by 453.592"),
    ("ounces", "grams", "multiply by 28.35"),
];

/// Singular spellings of base units.
const SINGULAR: &[(&str, &str)] = &[
    ("second", "seconds"),
    ("byte", "bytes"),
    ("meter", "meters"),
    ("metre", "metres"),
    ("volt", "volts"),
    ("ampere", "amperes"),
    ("joule", "joules"),
    ("gram", "grams"),
    ("ratios", "ratio"),
];

/// SI and binary prefixes: `milli` + `seconds` is not a base unit.
const PREFIXES: &[(&str, &str)] = &[
    ("pico", "divide by 1e12"),
    ("nano", "divide by 1e9"),
    ("micro", "divide by 1e6"),
    ("milli", "divide by 1000"),
    ("centi", "divide by 100"),
    ("deci", "divide by 10"),
    ("deca", "multiply by 10"),
    ("hecto", "multiply by 100"),
    ("kilo", "multiply by 1000"),
    ("kibi", "multiply by 1024"),
    ("mega", "multiply by 1e6"),
    ("mebi", "multiply by 1048576"),
    ("mibi", "multiply by 1048576"),
    ("giga", "multiply by 1e9"),
    ("gibi", "multiply by 1073741824"),
    ("tera", "multiply by 1e12"),
    ("tebi", "multiply by 1099511627776"),
    ("peta", "multiply by 1e15"),
    ("pebi", "multiply by 1125899906842624"),
];

/// Abbreviations `promtool check metrics` reports, with the base unit they stand for.
const ABBREVIATIONS: &[(&str, &str)] = &[
    ("s", "seconds"),
    ("sec", "seconds"),
    ("secs", "seconds"),
    ("ms", "seconds"),
    ("us", "seconds"),
    ("ns", "seconds"),
    ("m", "meters"),
    ("h", "seconds"),
    ("d", "seconds"),
    ("b", "bytes"),
    ("kb", "bytes"),
    ("mb", "bytes"),
    ("gb", "bytes"),
    ("tb", "bytes"),
    ("pb", "bytes"),
    ("pct", "ratio"),
];

/// What a word of a name says about units.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum UnitWord {
    Base,
    /// Not a base unit: the base unit to use and how to convert values.
    NonBase {
        base: &'static str,
        convert: Convert,
    },
    /// An abbreviation of a unit.
    Abbreviation {
        base: &'static str,
    },
    /// A singular spelling of a base unit.
    Singular {
        base: &'static str,
    },
    NotAUnit,
}

/// How to convert values to the base unit: the prefix's factor, then the unit's
/// (`megabits`: multiply by 1e6, then divide by 8).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Convert {
    prefix: Option<&'static str>,
    unit: Option<&'static str>,
}

impl std::fmt::Display for Convert {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.prefix, self.unit) {
            (Some(prefix), Some(unit)) => write!(f, "{prefix}, then {unit}"),
            (Some(one), None) | (None, Some(one)) => f.write_str(one),
            (None, None) => Ok(()),
        }
    }
}

pub(crate) fn classify(word: &str) -> UnitWord {
    if BASE_UNITS.contains(&word) {
        return UnitWord::Base;
    }
    if let Some(&(_, base, convert)) = NON_BASE.iter().find(|(w, _, _)| *w == word) {
        return UnitWord::NonBase {
            base,
            convert: Convert {
                prefix: None,
                unit: Some(convert),
            },
        };
    }
    // A prefix in front of any unit, base or not, as `promtool check metrics` reads it:
    // `kilobytes` → bytes, `megabits` → bytes (via bits), `kilocalories` → joules.
    for &(prefix, prefix_convert) in PREFIXES {
        let Some(rest) = word.strip_prefix(prefix) else {
            continue;
        };
        let base = BASE_UNITS
            .iter()
            .find(|u| **u == rest)
            .copied()
            .or_else(|| SINGULAR.iter().find(|(s, _)| *s == rest).map(|(_, p)| *p));
        if let Some(base) = base {
            return UnitWord::NonBase {
                base,
                convert: Convert {
                    prefix: Some(prefix_convert),
                    unit: None,
                },
            };
        }
        if let Some(&(_, base, unit_convert)) = NON_BASE.iter().find(|(w, _, _)| *w == rest) {
            return UnitWord::NonBase {
                base,
                convert: Convert {
                    prefix: Some(prefix_convert),
                    unit: Some(unit_convert),
                },
            };
        }
    }
    if let Some(&(_, base)) = ABBREVIATIONS.iter().find(|(w, _)| *w == word) {
        return UnitWord::Abbreviation { base };
    }
    if let Some(&(_, base)) = SINGULAR.iter().find(|(w, _)| *w == word) {
        return UnitWord::Singular { base };
    }
    UnitWord::NotAUnit
}

/// The base unit a metric name ends with (before `_total` for counters), if any:
/// `etl_run_duration_seconds` → `seconds`. Info metrics have no unit (`OpenMetrics` allows
/// none on them): `etl_timeout_seconds_info` → `None`.
pub fn unit_of(name: &str) -> Option<&'static str> {
    if name.ends_with("_info") {
        return None;
    }
    let stem = name.strip_suffix("_total").unwrap_or(name);
    let last = stem.rsplit('_').next()?;
    BASE_UNITS.iter().find(|u| **u == last).copied()
}
