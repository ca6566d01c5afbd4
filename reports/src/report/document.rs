//! A report's text as sections of tables and plots, rendered as Markdown
//! or as one self-contained HTML page.

use std::fmt::Write as _;

/// A report's text: sections of tables and plots.
#[derive(Clone, PartialEq, Debug)]
pub struct Document {
    /// Title.
    pub title: String,
    /// Whether every check and assertion passed.
    pub passed: bool,
    /// The one-sentence answer, shown first.
    pub answer: String,
    /// Whether the answer is good news (every node got everything).
    pub answer_good: bool,
    /// Warnings shown under the answer, one sentence each.
    pub warnings: Vec<String>,
    /// The sections.
    pub sections: Vec<Section>,
}

/// One section of a [`Document`].
#[derive(Clone, PartialEq, Debug)]
pub struct Section {
    /// Heading.
    pub title: String,
    /// Content.
    pub blocks: Vec<Block>,
}

/// A piece of a [`Section`].
#[derive(Clone, PartialEq, Debug)]
pub enum Block {
    /// A table.
    Table {
        /// Column names (all empty: a table without a heading row).
        head: Vec<String>,
        /// Rows of cells.
        rows: Vec<Vec<String>>,
    },
    /// A plot (inline SVG in HTML, linked PNG in Markdown).
    Plot {
        /// Index into the SVGs handed to [`Document::to_html`].
        index: usize,
        /// File stem.
        stem: &'static str,
        /// Caption.
        caption: &'static str,
    },
}

impl Block {
    /// A two-column table of (name, value) rows without headings.
    pub(crate) fn pairs(pairs: &[(&str, String)]) -> Block {
        Block::Table {
            head: vec!["".into(), "".into()],
            rows: pairs
                .iter()
                .map(|(k, v)| vec![k.to_string(), v.clone()])
                .collect(),
        }
    }
}

/// A pass/fail cell: `ok` or `FAIL` (HTML gives these cells a class).
pub(crate) fn mark(ok: bool) -> &'static str {
    if ok { "ok" } else { "FAIL" }
}

fn md_cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// Escaped cell text with Markdown's `code` spans as `<code>` (the same
/// cells feed `summary.md`, where the backticks stay).
fn html_cell(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 16);
    for (k, part) in s.split('`').enumerate() {
        // An odd count of backticks leaves the last part as plain text.
        if k % 2 == 1 && s.matches('`').count() > k {
            let _ = write!(out, "<code>{}</code>", html_escape(part));
        } else {
            out.push_str(&html_escape(part));
        }
    }
    out
}

fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            _ => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font-family:sans-serif;max-width:1000px;margin:2em auto;padding:0 1em;color:#222}\
table{border-collapse:collapse;margin:0.5em 0 1.5em}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}\
th{background:#f4f4f4}.ok{color:#1a7f37;font-weight:bold}.FAIL{color:#cf222e;font-weight:bold}\
.answer{font-size:1.25em;border-left:6px solid #1a7f37;background:#f2f8f3;padding:0.6em 1em;margin:1em 0}\
.answer.ok{color:#222;font-weight:normal}.answer.FAIL{border-color:#cf222e;background:#fbf1f1;color:#222;font-weight:normal}\
.warnings{background:#fff8e5;border:1px solid #e8c66a;padding:0.5em 1em 0.5em 2em;margin:0 0 1.5em}\
code{background:#f0f0f0;padding:0 3px;border-radius:3px;font-size:0.92em}figure{margin:1em 0}figure svg{max-width:100%;height:auto}figcaption{color:#555}";

impl Document {
    /// As Markdown (`summary.md`; plots linked as PNG files beside it).
    pub fn to_markdown(&self) -> String {
        let mut out = format!(
            "# {}\n\n**{}**\n\n> {}\n",
            self.title,
            if self.passed { "PASSED" } else { "FAILED" },
            md_cell(&self.answer)
        );
        if !self.warnings.is_empty() {
            out.push('\n');
            for w in &self.warnings {
                let _ = writeln!(out, "* **Warning:** {}", md_cell(w));
            }
        }
        for sec in &self.sections {
            let _ = write!(out, "\n## {}\n\n", sec.title);
            for b in &sec.blocks {
                match b {
                    Block::Table { head, rows } => {
                        let _ = writeln!(
                            out,
                            "| {} |",
                            head.iter()
                                .map(|h| md_cell(h))
                                .collect::<Vec<_>>()
                                .join(" | ")
                        );
                        let _ = writeln!(out, "|{}", "---|".repeat(head.len()));
                        for r in rows {
                            let _ = writeln!(
                                out,
                                "| {} |",
                                r.iter().map(|c| md_cell(c)).collect::<Vec<_>>().join(" | ")
                            );
                        }
                        out.push('\n');
                    }
                    Block::Plot { stem, caption, .. } => {
                        let _ = writeln!(out, "![{caption}]({stem}.png)\n");
                    }
                }
            }
        }
        out
    }

    /// As one self-contained HTML page with `svgs` (in [`PLOTS`](super::PLOTS) order) inline.
    pub fn to_html(&self, svgs: &[String]) -> String {
        let mut out = format!(
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<h1>{}</h1>\n<p class=\"{}\">{}</p>\n",
            html_escape(&self.title),
            html_escape(&self.title),
            mark(self.passed),
            if self.passed { "PASSED" } else { "FAILED" }
        );
        let _ = writeln!(
            out,
            "<p class=\"answer {}\">{}</p>",
            mark(self.answer_good),
            html_escape(&self.answer)
        );
        if !self.warnings.is_empty() {
            out.push_str("<ul class=\"warnings\">\n");
            for w in &self.warnings {
                let _ = writeln!(out, "<li><b>Warning:</b> {}</li>", html_escape(w));
            }
            out.push_str("</ul>\n");
        }
        for sec in &self.sections {
            let _ = writeln!(out, "<h2>{}</h2>", html_escape(&sec.title));
            for b in &sec.blocks {
                match b {
                    Block::Table { head, rows } => {
                        out.push_str("<table>\n");
                        // Every heading cell, empty ones included, so that the
                        // headings stay over their columns.
                        if head.iter().any(|h| !h.is_empty()) {
                            out.push_str("<tr>");
                            for h in head {
                                let _ = write!(out, "<th>{}</th>", html_escape(h));
                            }
                            out.push_str("</tr>\n");
                        }
                        for r in rows {
                            out.push_str("<tr>");
                            for c in r {
                                if c == "ok" || c == "FAIL" {
                                    let _ = write!(out, "<td class=\"{c}\">{c}</td>");
                                } else {
                                    let _ = write!(out, "<td>{}</td>", html_cell(c));
                                }
                            }
                            out.push_str("</tr>\n");
                        }
                        out.push_str("</table>\n");
                    }
                    Block::Plot { index, caption, .. } => {
                        out.push_str("<figure>\n");
                        if let Some(svg) = svgs.get(*index) {
                            out.push_str(strip_xml_declaration(svg));
                        }
                        let _ = writeln!(
                            out,
                            "\n<figcaption>{}</figcaption>\n</figure>",
                            html_escape(caption)
                        );
                    }
                }
            }
        }
        out.push_str("</body>\n</html>\n");
        out
    }
}

fn strip_xml_declaration(svg: &str) -> &str {
    match svg.find("<svg") {
        Some(i) => &svg[i..],
        None => svg,
    }
}
