//! A time-series recorder: named columns sampled at instants chosen by the model.

use crate::time::SimTime;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;

/// One cell of a sample: a number or a label (such as a machine state).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum SampleValue {
    /// A measured quantity.
    Number(f64),
    /// A categorical value.
    Label(Cow<'static, str>),
}

/// Rows of samples under fixed column names.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TimeSeries {
    columns: Vec<String>,
    rows: Vec<(SimTime, Vec<SampleValue>)>,
}

impl TimeSeries {
    /// A recorder with these column names (time is implicit).
    pub fn new(columns: Vec<String>) -> Self {
        Self {
            columns,
            rows: Vec::new(),
        }
    }

    /// Column names, without the time column.
    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    /// Adds one row; `values` must have one value per column.
    pub fn push(&mut self, time: SimTime, values: Vec<SampleValue>) {
        debug_assert_eq!(values.len(), self.columns.len());
        self.rows.push((time, values));
    }

    /// The rows, in the order they were recorded.
    pub fn rows(&self) -> &[(SimTime, Vec<SampleValue>)] {
        &self.rows
    }

    /// Joins series sampled at the same instants side by side, columns in the order given.
    /// Returns `None` if their sampling instants differ.
    pub fn join_columns(parts: Vec<TimeSeries>) -> Option<TimeSeries> {
        let mut parts = parts.into_iter();
        let mut joined = parts.next()?;
        for part in parts {
            if part.rows.len() != joined.rows.len()
                || part.rows.iter().zip(&joined.rows).any(|(a, b)| a.0 != b.0)
            {
                return None;
            }
            joined.columns.extend(part.columns);
            for (row, (_, values)) in joined.rows.iter_mut().zip(part.rows) {
                row.1.extend(values);
            }
        }
        Some(joined)
    }

    /// Takes the rows recorded so far, leaving none (a caller writing them as the run goes).
    pub fn take_rows(&mut self) -> Vec<(SimTime, Vec<SampleValue>)> {
        std::mem::take(&mut self.rows)
    }

    /// The series as CSV text: a `time_s` column, then the named columns. Numbers are written
    /// with up to six decimals so the text is the same on every platform.
    pub fn to_csv(&self) -> String {
        self.csv_header() + &Self::csv_rows(&self.rows)
    }

    /// The CSV header line of [`TimeSeries::to_csv`].
    pub fn csv_header(&self) -> String {
        let mut out = String::from("time_s");
        for c in &self.columns {
            out.push(',');
            out.push_str(c);
        }
        out.push('\n');
        out
    }

    /// `rows` as the CSV lines of [`TimeSeries::to_csv`].
    pub fn csv_rows(rows: &[(SimTime, Vec<SampleValue>)]) -> String {
        let mut out = String::new();
        for (t, values) in rows {
            out.push_str(&format_number(t.as_secs_f64()));
            for v in values {
                out.push(',');
                match v {
                    SampleValue::Number(x) => out.push_str(&format_number(*x)),
                    SampleValue::Label(l) => out.push_str(l),
                }
            }
            out.push('\n');
        }
        out
    }
}

fn format_number(x: f64) -> String {
    let s = format!("{x:.6}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".to_string()
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn join_columns_side_by_side() {
        let mut a = TimeSeries::new(vec!["a".into()]);
        let mut b = TimeSeries::new(vec!["b".into()]);
        for t in [0, 5] {
            a.push(SimTime(t), vec![SampleValue::Number(t as f64)]);
            b.push(SimTime(t), vec![SampleValue::Label("x".into())]);
        }
        let j = TimeSeries::join_columns(vec![a.clone(), b]).unwrap();
        assert_eq!(j.columns(), ["a", "b"]);
        assert_eq!(
            j.rows()[1].1,
            vec![SampleValue::Number(5.0), SampleValue::Label("x".into())]
        );
        let mut c = TimeSeries::new(vec!["c".into()]);
        c.push(SimTime(1), vec![SampleValue::Number(0.0)]);
        assert!(TimeSeries::join_columns(vec![a, c]).is_none());
    }

    #[test]
    fn csv_layout() {
        let mut ts = TimeSeries::new(vec!["level".into(), "state".into()]);
        ts.push(
            SimTime(1_500_000_000),
            vec![
                SampleValue::Number(2.25),
                SampleValue::Label("working".into()),
            ],
        );
        ts.push(
            SimTime(3_000_000_000),
            vec![
                SampleValue::Number(-0.0000001),
                SampleValue::Label("down".into()),
            ],
        );
        assert_eq!(
            ts.to_csv(),
            "time_s,level,state\n1.5,2.25,working\n3,0,down\n"
        );
    }
}
