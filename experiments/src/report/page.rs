//! The report page: styles, headings, tables.

use crate::check::fmt_num;
use sim::Summary;
use std::fmt::Write as _;

const STYLE: &str = r#"
body { font-family: "DejaVu Sans", "Segoe UI", Helvetica, Arial, sans-serif; margin: 0; color: #222; background: #f6f7f9; }
header { background: #1f3a5f; color: #fff; padding: 18px 32px; }
header h1 { margin: 0 0 4px 0; font-size: 24px; }
header p { margin: 0; opacity: 0.85; }
nav { margin-top: 8px; font-size: 13px; }
nav a { color: #cfe0f5; margin-right: 14px; text-decoration: none; }
main { max-width: 960px; margin: 0 auto; padding: 8px 32px 48px; }
section { background: #fff; border: 1px solid #dde1e6; border-radius: 6px; padding: 12px 20px; margin: 18px 0; }
h2 { font-size: 19px; margin: 6px 0 10px; color: #1f3a5f; }
h3 { font-size: 15px; margin: 14px 0 6px; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; font-size: 13px; margin: 6px 0 10px; }
th, td { padding: 3px 10px; border-bottom: 1px solid #e6e8eb; text-align: right; }
th { background: #f0f2f5; }
td:first-child, th:first-child, td.t, th.t { text-align: left; }
td { white-space: nowrap; }
td.t:last-child { white-space: normal; }
.legend span { display: inline-block; margin-right: 14px; font-size: 13px; }
.legend i { display: inline-block; width: 12px; height: 12px; margin-right: 5px; vertical-align: -1px; border-radius: 2px; }
.note { color: #666; font-size: 13px; }
svg { max-width: 100%; height: auto; display: block; margin: 6px 0; }
details summary { cursor: pointer; font-weight: bold; margin: 6px 0; }
"#;

/// Escapes text for HTML.
pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A page with `title`, a subtitle line, links to its sections and the body sections.
pub fn page(title: &str, subtitle: &str, body: &str) -> String {
    let mut nav = String::from("<nav>");
    for part in body.split("<section id=\"").skip(1) {
        let id = part.split('"').next().unwrap_or_default();
        let heading = part
            .split("<h2>")
            .nth(1)
            .and_then(|h| h.split("</h2>").next())
            .unwrap_or(id);
        let _ = write!(nav, "<a href=\"#{id}\">{heading}</a>");
    }
    nav.push_str("</nav>");
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{t}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<header><h1>{t}</h1><p>{s}</p>{nav}</header>\n<main>\n{body}</main>\n</body>\n</html>\n",
        t = esc(title),
        s = esc(subtitle)
    )
}

/// The anchor of a section: its heading in lower case, words joined by dashes.
fn anchor(heading: &str) -> String {
    heading
        .to_lowercase()
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join("-")
}

/// A section with a heading (and an anchor named after it, for links).
pub fn section(heading: &str, inner: &str) -> String {
    format!(
        "<section id=\"{}\">\n<h2>{}</h2>\n{inner}</section>\n",
        anchor(heading),
        esc(heading)
    )
}

/// A legend of coloured swatches.
pub fn legend(items: &[(String, String)]) -> String {
    let mut out = String::from("<div class=\"legend\">");
    for (name, colour) in items {
        let _ = write!(
            out,
            "<span><i style=\"background:{colour}\"></i>{}</span>",
            esc(name)
        );
    }
    out.push_str("</div>\n");
    out
}

/// A table of KPI summaries: name, mean, 95% CI, min, max, n.
pub fn summary_table(rows: &[(String, Summary)]) -> String {
    let mut out = String::from(
        "<table>\n<tr><th>KPI</th><th>mean</th><th>± 95% CI</th><th>min</th><th>max</th><th>n</th></tr>\n",
    );
    for (k, s) in rows {
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(k),
            fmt_num(s.mean),
            fmt_num(s.ci95_half_width),
            fmt_num(s.min),
            fmt_num(s.max),
            s.n
        );
    }
    out.push_str("</table>\n");
    out
}

/// Whether a cell reads as a number (right-aligned): `1,234`, `-0.5`, `26945 ± 447`, `—`.
fn numeric(cell: &str) -> bool {
    cell == "—"
        || cell
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_digit() || ((c == '-' || c == '+') && cell.len() > 1))
            && !cell.contains(' ')
        || cell.split(" ± ").all(|p| p.parse::<f64>().is_ok())
}

/// A plain table with a header row; columns of text are left-aligned, of numbers right.
pub fn table(head: &[String], rows: &[Vec<String>]) -> String {
    let text: Vec<bool> = (0..head.len())
        .map(|c| c == 0 || rows.iter().any(|r| r.get(c).is_some_and(|x| !numeric(x))))
        .collect();
    let class = |c: usize| if text[c] { " class=\"t\"" } else { "" };
    let mut out = String::from("<div class=\"scroll\"><table>\n<tr>");
    for (c, h) in head.iter().enumerate() {
        let _ = write!(out, "<th{}>{}</th>", class(c), esc(h));
    }
    out.push_str("</tr>\n");
    for r in rows {
        out.push_str("<tr>");
        for (c, x) in r.iter().enumerate() {
            let _ = write!(out, "<td{}>{}</td>", class(c.min(head.len() - 1)), esc(x));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</table></div>\n");
    out
}
