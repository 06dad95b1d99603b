//! A PDF's text as a reader would copy it, by an implementation other
//! than the one that wrote it: poppler's `pdftotext`.

use std::io::Write as _;
use std::process::{Command, Stdio};

/// The text of `pdf`, page by page (form feeds between pages).
#[track_caller]
pub fn text(pdf: &[u8]) -> String {
    let mut child = Command::new("pdftotext")
        .args(["-enc", "UTF-8", "-", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("pdftotext (Debian's poppler-utils) could not start: {e}"));
    child
        .stdin
        .take()
        .map(|mut stdin| stdin.write_all(pdf))
        .transpose()
        .unwrap_or_else(|e| panic!("writing to pdftotext: {e}"));
    let out = child
        .wait_with_output()
        .unwrap_or_else(|e| panic!("pdftotext: {e}"));
    assert!(out.status.success(), "pdftotext failed: {}", out.status);
    String::from_utf8(out.stdout).unwrap_or_else(|e| panic!("pdftotext wrote no UTF-8: {e}"))
}
