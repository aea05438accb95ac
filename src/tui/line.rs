//! A text field that edits like a shell line: the cursor moves (←/→, Home/End, ctrl-a/
//! ctrl-e), Backspace and Delete remove around it, ctrl-u clears to the start, ctrl-k to
//! the end, ctrl-w removes the word before it. A field entered with text in it starts
//! selected, so typing replaces the text and a movement key keeps it.

use super::action::Action;
use super::keymap::Key;
use ratatui::crossterm::event::KeyCode;

/// What a key did to the line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Edit {
    /// The text changed.
    Changed,
    /// Only the cursor (or the selection) changed.
    Moved,
    /// Not a line-editing key.
    Ignored,
}

/// A line's cursor (a character index) and whether its whole text is selected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Cursor {
    pub at: usize,
    pub selected: bool,
}

impl Cursor {
    /// Entering a field: at its end, the text selected when there is any.
    pub fn enter(text: &str) -> Cursor {
        Cursor {
            at: text.chars().count(),
            selected: !text.is_empty(),
        }
    }
}

fn byte(text: &str, at: usize) -> usize {
    text.char_indices().nth(at).map_or(text.len(), |(i, _)| i)
}

/// Applies a key to `text` at `cur`: `action` is what the keymap's text context makes of
/// it (`None`: a plain character is typed, anything else is not a line key).
pub fn apply(text: &mut String, cur: &mut Cursor, k: &Key, action: Option<Action>) -> Edit {
    let len = text.chars().count();
    cur.at = cur.at.min(len);
    let replace_selection = |text: &mut String, cur: &mut Cursor| {
        if cur.selected {
            text.clear();
            cur.at = 0;
            cur.selected = false;
        }
    };
    let Some(action) = action else {
        return match k.code {
            KeyCode::Char(c) if !k.ctrl && !k.alt => {
                replace_selection(text, cur);
                let at = byte(text, cur.at);
                text.insert(at, c);
                cur.at += 1;
                Edit::Changed
            }
            _ => Edit::Ignored,
        };
    };
    match action {
        Action::DeleteBack => {
            if cur.selected {
                replace_selection(text, cur);
                return Edit::Changed;
            }
            if cur.at == 0 {
                return Edit::Moved;
            }
            let at = byte(text, cur.at - 1);
            text.remove(at);
            cur.at -= 1;
            Edit::Changed
        }
        Action::DeleteForward => {
            if cur.selected {
                replace_selection(text, cur);
                return Edit::Changed;
            }
            if cur.at < len {
                let at = byte(text, cur.at);
                text.remove(at);
                return Edit::Changed;
            }
            Edit::Moved
        }
        Action::CursorLeft => {
            cur.selected = false;
            cur.at = cur.at.saturating_sub(1);
            Edit::Moved
        }
        Action::CursorRight => {
            cur.selected = false;
            cur.at = (cur.at + 1).min(len);
            Edit::Moved
        }
        Action::LineStart => {
            cur.selected = false;
            cur.at = 0;
            Edit::Moved
        }
        Action::LineEnd => {
            cur.selected = false;
            cur.at = len;
            Edit::Moved
        }
        Action::KillToStart => {
            let at = if cur.selected { len } else { cur.at };
            let cut = byte(text, at);
            text.replace_range(..cut, "");
            *cur = Cursor::default();
            Edit::Changed
        }
        Action::KillToEnd => {
            if cur.selected {
                replace_selection(text, cur);
            } else {
                let cut = byte(text, cur.at);
                text.truncate(cut);
            }
            Edit::Changed
        }
        Action::KillWord => {
            if cur.selected {
                replace_selection(text, cur);
                return Edit::Changed;
            }
            let chars: Vec<char> = text.chars().collect();
            let mut start = cur.at;
            while start > 0 && chars[start - 1] == ' ' {
                start -= 1;
            }
            while start > 0 && chars[start - 1] != ' ' {
                start -= 1;
            }
            let (from, to) = (byte(text, start), byte(text, cur.at));
            text.replace_range(from..to, "");
            cur.at = start;
            Edit::Changed
        }
        _ => Edit::Ignored,
    }
}

/// A one-line text input with its cursor (search, filters, the palette, reasons).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Input {
    pub text: String,
    pub cursor: Cursor,
}

/// The text with the cursor drawn in it.
impl std::fmt::Display for Input {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (before, after) = self.split();
        write!(f, "{before}▏{after}")
    }
}

impl Input {
    pub fn apply(&mut self, k: &Key, action: Option<Action>) -> Edit {
        apply(&mut self.text, &mut self.cursor, k, action)
    }

    /// The text before and after the cursor, for drawing it.
    pub fn split(&self) -> (&str, &str) {
        self.text.split_at(byte(&self.text, self.cursor.at))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::keymap::{Context, Keymap};

    fn key(code: KeyCode, ctrl: bool) -> Key {
        Key {
            code,
            ctrl,
            alt: false,
        }
    }

    fn typed(text: &str, keys: &[Key]) -> (String, Cursor) {
        let mut t = text.to_string();
        let mut c = Cursor::enter(text);
        let map = Keymap::defaults();
        for k in keys {
            apply(&mut t, &mut c, k, map.action_in(Context::Text, k));
        }
        (t, c)
    }

    #[test]
    fn edits_like_a_shell_line() {
        let ch = |c| key(KeyCode::Char(c), false);
        // Entering a prefilled field selects it: typing replaces.
        assert_eq!(typed("Acme", &[ch('Z')]).0, "Z");
        // A movement key keeps the text; then typing inserts at the cursor.
        assert_eq!(
            typed("Acme", &[key(KeyCode::Home, false), ch('X')]).0,
            "XAcme"
        );
        assert_eq!(
            typed("Acme", &[key(KeyCode::Left, false), ch('-')]).0,
            "Acm-e"
        );
        assert_eq!(
            typed(
                "new york city",
                &[key(KeyCode::End, false), key(KeyCode::Char('w'), true)]
            )
            .0,
            "new york "
        );
        assert_eq!(
            typed(
                "a b",
                &[key(KeyCode::Left, false), key(KeyCode::Char('u'), true)]
            )
            .0,
            "b"
        );
        assert_eq!(
            typed(
                "abc",
                &[key(KeyCode::Char('a'), true), key(KeyCode::Delete, false)]
            )
            .0,
            "bc"
        );
        assert_eq!(
            typed(
                "abc",
                &[key(KeyCode::Char('a'), true), key(KeyCode::Char('k'), true)]
            )
            .0,
            ""
        );
        assert_eq!(
            typed(
                "héllo",
                &[key(KeyCode::Left, false), key(KeyCode::Backspace, false)]
            )
            .0,
            "hélo"
        );
        // An empty field is not selected; backspace at the start does nothing.
        assert_eq!(typed("", &[key(KeyCode::Backspace, false), ch('x')]).0, "x");
    }
}
