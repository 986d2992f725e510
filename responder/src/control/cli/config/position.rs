//! Byte offsets (what the toml crate reports) turned into the `FILE:LINE:COL`
//! prefix editors and compilers use.

use std::ops::Range;
use std::path::Path;

/// 1-based line and column; the column counts characters, not bytes, so it
/// matches what an editor shows on a line with non-ASCII text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    pub line: usize,
    pub column: usize,
}

impl Position {
    /// The position of byte `offset` in `text`. An offset past the end (an
    /// error at end of file) is the end; one inside a character is that
    /// character.
    pub fn of(text: &str, offset: usize) -> Position {
        let mut end = offset.min(text.len());
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        let before = &text[..end];
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        Position { line: before.matches('\n').count() + 1, column: before[line_start..].chars().count() + 1 }
    }
}

/// `FILE:LINE:COL` of byte `offset`.
pub fn location(file: &Path, text: &str, offset: usize) -> String {
    let Position { line, column } = Position::of(text, offset);
    format!("{}:{line}:{column}", file.display())
}

/// `FILE:LINE:COL: message`, or `FILE: message` when there is no span.
pub fn located(file: &Path, text: &str, span: Option<Range<usize>>, message: &str) -> String {
    match span {
        Some(span) => format!("{}: {message}", location(file, text, span.start)),
        None => format!("{}: {message}", file.display()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_columns_count_from_one() {
        let text = "a = 1\n[server]\nlisten = 2\n";
        assert_eq!(Position::of(text, 0), Position { line: 1, column: 1 });
        assert_eq!(Position::of(text, 4), Position { line: 1, column: 5 });
        assert_eq!(Position::of(text, 6), Position { line: 2, column: 1 });
        assert_eq!(Position::of(text, 15 + 9), Position { line: 3, column: 10 });
    }

    #[test]
    fn columns_count_characters() {
        let text = "# é\nname = \"ü\" x";
        // 12 bytes precede 'x' on its line, but 11 characters (ü takes two bytes).
        assert_eq!(text.find('x'), Some(17));
        assert_eq!(Position::of(text, 17), Position { line: 2, column: 12 });
        // Inside the two bytes of 'ü': that character's column.
        assert_eq!(Position::of(text, 14), Position { line: 2, column: 9 });
    }

    #[test]
    fn the_end_of_the_file_is_a_position() {
        let text = "a\nbc";
        assert_eq!(Position::of(text, 4), Position { line: 2, column: 3 });
        assert_eq!(Position::of(text, 400), Position { line: 2, column: 3 });
        assert_eq!(Position::of("", 0), Position { line: 1, column: 1 });
    }

    #[test]
    fn messages_carry_the_position() {
        let file = Path::new("etc/r.toml");
        assert_eq!(located(file, "x\ny = 1", Some(2..3), "bad"), "etc/r.toml:2:1: bad");
        assert_eq!(located(file, "", None, "bad"), "etc/r.toml: bad");
    }
}
