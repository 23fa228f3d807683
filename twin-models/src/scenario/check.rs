//! What every section's resolver shares: the field path of a value ([`Seg`], built with
//! [`at`], [`k`] and [`i`]), and the [`Checker`] that collects every problem against its
//! path, with the line and column found in the document (parsed once for all of them), and
//! the validators the sections have in common.

use super::error::{Diagnostic, ScenarioError, line_col};
use crate::distribution::Distribution;
use crate::units::parse_duration;
use sim::SimDuration;
use std::fmt::Write as _;
use toml::Spanned;
use toml::de::{DeArray, DeTable, DeValue};

/// Reads a file the scenario names (a `.map`), relative to the scenario; the error is the
/// reason to report.
pub type FileReader<'a> = &'a dyn Fn(&str) -> Result<String, String>;

/// One step of a field path.
#[derive(Clone, Debug)]
pub(crate) enum Seg {
    Key(String),
    Index(usize),
}

/// `base` followed by `more`.
pub(crate) fn at(base: &[Seg], more: &[Seg]) -> Vec<Seg> {
    base.iter().chain(more).cloned().collect()
}

/// A key of a table.
pub(crate) fn k(s: &str) -> Seg {
    Seg::Key(s.to_string())
}

/// An index of an array.
pub(crate) fn i(n: usize) -> Seg {
    Seg::Index(n)
}

/// The path as people write it: `lines[0].stations[2].speed`.
fn path_text(path: &[Seg]) -> String {
    let mut s = String::new();
    for seg in path {
        match seg {
            // A key that is itself a dotted path (a template's `set` change) is quoted.
            Seg::Key(k) if k.contains('.') => {
                let _ = write!(s, "{}\"{k}\"", if s.is_empty() { "" } else { "." });
            }
            Seg::Key(k) if s.is_empty() => s.push_str(k),
            Seg::Key(k) => {
                let _ = write!(s, ".{k}");
            }
            Seg::Index(i) => {
                let _ = write!(s, "[{i}]");
            }
        }
    }
    s
}

/// Where a value of a scenario made from templates was written, when not where its path
/// says ([`super::template`] knows).
pub(crate) trait WrittenAt {
    /// The written place of the value at `path`; `None` when it is at `path`.
    fn written(&self, path: &[Seg]) -> Option<Written<'_>>;
}

/// A value's written place.
pub(crate) struct Written<'a> {
    /// Its path in the file as written.
    pub path: Vec<Seg>,
    /// The template it came from, if it did.
    pub template: Option<&'a str>,
}

/// Collects the problems of one scenario file, each with its field path and, where the
/// document has the value, its line and column.
pub(crate) struct Checker<'a> {
    file: &'a str,
    text: &'a str,
    /// The document, parsed once for every diagnostic's position.
    doc: Option<Spanned<DeTable<'a>>>,
    /// Where the values of lines made from templates were written.
    origins: Option<&'a dyn WrittenAt>,
    diags: Vec<Diagnostic>,
}

impl<'a> Checker<'a> {
    /// A checker of `text`, named `file` in diagnostics.
    pub(crate) fn new(file: &'a str, text: &'a str) -> Self {
        Checker {
            file,
            text,
            doc: DeTable::parse(text).ok(),
            origins: None,
            diags: Vec::new(),
        }
    }

    /// This checker, finding the values of lines made from templates where they were
    /// written.
    pub(crate) fn with_origins(self, origins: &'a dyn WrittenAt) -> Self {
        Checker {
            origins: Some(origins),
            ..self
        }
    }

    /// Byte span of the value at `path` in the document.
    fn span_of(&self, path: &[Seg]) -> Option<std::ops::Range<usize>> {
        let doc = self.doc.as_ref()?;
        let mut span = doc.span();
        let mut table: Option<&DeTable<'_>> = Some(doc.get_ref());
        let mut array: Option<&DeArray<'_>> = None;
        for seg in path {
            let value = match seg {
                Seg::Key(k) => table?.get(k.as_str())?,
                Seg::Index(i) => array?.get(*i)?,
            };
            span = value.span();
            table = None;
            array = None;
            match value.get_ref() {
                DeValue::Table(t) => table = Some(t),
                DeValue::Array(a) => array = Some(a),
                _ => {}
            }
        }
        Some(span)
    }

    /// Records a problem with the value at `path`.
    pub(crate) fn fail(&mut self, path: &[Seg], reason: impl Into<String>) {
        let mut reason = reason.into();
        let written = self.origins.and_then(|o| o.written(path));
        let location = match &written {
            Some(w) => {
                if let Some(t) = w.template {
                    let _ = write!(reason, " (written in line template `{t}`)");
                }
                self.span_of(&w.path)
            }
            None => self.span_of(path),
        }
        .map(|s| line_col(self.text, s.start));
        self.diags.push(Diagnostic {
            file: self.file.to_string(),
            location,
            path: path_text(path),
            reason,
        });
    }

    /// Problems recorded so far.
    pub(crate) fn problems(&self) -> usize {
        self.diags.len()
    }

    /// Every problem recorded, as the error to return; `Ok` when there was none.
    pub(crate) fn finish(self) -> Result<(), ScenarioError> {
        if self.diags.is_empty() {
            Ok(())
        } else {
            Err(ScenarioError::Invalid(self.diags))
        }
    }

    /// A duration such as "90s" at `path`.
    pub(crate) fn duration(&mut self, path: &[Seg], text: &str) -> Option<SimDuration> {
        parse_duration(text).map_err(|e| self.fail(path, e)).ok()
    }

    /// A distribution such as "exp(45min)" at `path`.
    pub(crate) fn distribution(&mut self, path: &[Seg], text: &str) -> Option<Distribution> {
        Distribution::parse(text)
            .map_err(|e| self.fail(path, e))
            .ok()
    }

    /// Refuses `x` unless it is a finite number above zero; `what` names it (with its
    /// unit) in the message. Returns whether it is.
    pub(crate) fn positive(&mut self, path: &[Seg], x: f64, what: &str) -> bool {
        let ok = x.is_finite() && x > 0.0;
        if !ok {
            self.fail(path, format!("{what} must be a positive number, not {x}"));
        }
        ok
    }

    /// Refuses `x` unless it is a finite number of at least zero; `what` names it (with
    /// its unit) in the message.
    pub(crate) fn at_least_zero(&mut self, path: &[Seg], x: f64, what: &str) {
        if !(x.is_finite() && x >= 0.0) {
            self.fail(path, format!("{what} must be 0 or more, not {x}"));
        }
    }

    /// Refuses `x` unless it is a fraction between 0 and 1.
    pub(crate) fn fraction(&mut self, path: &[Seg], x: f64) {
        if !(0.0..=1.0).contains(&x) {
            self.fail(path, format!("must be a fraction between 0 and 1, not {x}"));
        }
    }
}
