//! Keymaps are data: defaults here, overrides from `keymap.toml` that name only what they
//! change, per-screen bindings, multi-key chords (`g g`), duplicate and prefix clashes
//! refused at load. One list feeds `?` help, the footer hints and the `:` palette.

use super::action::Action;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use std::collections::HashMap;
use std::fmt;

/// Where a binding applies. Global bindings apply everywhere unless a screen binds the
/// same keys itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Context {
    Global,
    Welcome,
    Dashboard,
    Customers,
    Pipeline,
    Targets,
    Reports,
    Setup,
    Audit,
    Segments,
    Agenda,
    /// Inside a form (with `Text` for the focused field).
    Form,
    /// Every text field: forms, search, filters, the palette, reasons.
    Text,
    /// Lists and filters in popups: help, palette, proposals, explanations.
    Popup,
    /// A yes/no question.
    Question,
}

impl Context {
    pub fn name(self) -> &'static str {
        match self {
            Context::Global => "global",
            Context::Welcome => "welcome",
            Context::Dashboard => "dashboard",
            Context::Customers => "customers",
            Context::Pipeline => "pipeline",
            Context::Targets => "targets",
            Context::Reports => "reports",
            Context::Setup => "setup",
            Context::Audit => "audit",
            Context::Segments => "segments",
            Context::Agenda => "agenda",
            Context::Form => "form",
            Context::Text => "text",
            Context::Popup => "popup",
            Context::Question => "question",
        }
    }

    /// Contexts of popups and text fields: single keys, no global fallback (a `q` typed
    /// into a field is text, not quit).
    pub fn is_popup(self) -> bool {
        matches!(
            self,
            Context::Form | Context::Text | Context::Popup | Context::Question
        )
    }

    pub const ALL: [Context; 15] = [
        Context::Global,
        Context::Welcome,
        Context::Dashboard,
        Context::Customers,
        Context::Pipeline,
        Context::Targets,
        Context::Reports,
        Context::Setup,
        Context::Audit,
        Context::Segments,
        Context::Agenda,
        Context::Form,
        Context::Text,
        Context::Popup,
        Context::Question,
    ];

    fn from_name(s: &str) -> Option<Context> {
        Context::ALL.into_iter().find(|c| c.name() == s)
    }
}

/// One key press: a code and its modifiers (shift folded into the character).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key {
    pub code: KeyCode,
    pub ctrl: bool,
    pub alt: bool,
}

impl Key {
    pub fn from_event(e: KeyEvent) -> Key {
        Key {
            code: e.code,
            ctrl: e.modifiers.contains(KeyModifiers::CONTROL),
            alt: e.modifiers.contains(KeyModifiers::ALT),
        }
    }

    /// Parses `j`, `G`, `?`, `ctrl-d`, `alt-x`, `enter`, `esc`, `tab`, `backtab`, `space`,
    /// `up`, `down`, `left`, `right`, `pageup`, `pagedown`, `home`, `end`, `f1`.
    pub fn parse(text: &str) -> Result<Key, String> {
        let mut ctrl = false;
        let mut alt = false;
        let mut rest = text;
        loop {
            if let Some(r) = rest.strip_prefix("ctrl-") {
                ctrl = true;
                rest = r;
            } else if let Some(r) = rest.strip_prefix("alt-") {
                alt = true;
                rest = r;
            } else {
                break;
            }
        }
        let code = match rest {
            "enter" => KeyCode::Enter,
            "esc" => KeyCode::Esc,
            "tab" => KeyCode::Tab,
            "backtab" => KeyCode::BackTab,
            "space" => KeyCode::Char(' '),
            "up" => KeyCode::Up,
            "down" => KeyCode::Down,
            "left" => KeyCode::Left,
            "right" => KeyCode::Right,
            "pageup" => KeyCode::PageUp,
            "pagedown" => KeyCode::PageDown,
            "home" => KeyCode::Home,
            "end" => KeyCode::End,
            "backspace" => KeyCode::Backspace,
            "delete" => KeyCode::Delete,
            f if f.len() > 1 && f.starts_with('f') && f[1..].parse::<u8>().is_ok() => KeyCode::F(
                f[1..]
                    .parse()
                    .map_err(|_| format!("'{text}' is not a key"))?,
            ),
            s if s.chars().count() == 1 => KeyCode::Char(s.chars().next().unwrap_or(' ')),
            _ => return Err(format!("'{text}' is not a key")),
        };
        Ok(Key { code, ctrl, alt })
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.ctrl {
            f.write_str("ctrl-")?;
        }
        if self.alt {
            f.write_str("alt-")?;
        }
        match self.code {
            KeyCode::Char(' ') => f.write_str("space"),
            KeyCode::Char(c) => write!(f, "{c}"),
            KeyCode::Enter => f.write_str("enter"),
            KeyCode::Esc => f.write_str("esc"),
            KeyCode::Tab => f.write_str("tab"),
            KeyCode::BackTab => f.write_str("backtab"),
            KeyCode::Up => f.write_str("up"),
            KeyCode::Down => f.write_str("down"),
            KeyCode::Left => f.write_str("left"),
            KeyCode::Right => f.write_str("right"),
            KeyCode::PageUp => f.write_str("pageup"),
            KeyCode::PageDown => f.write_str("pagedown"),
            KeyCode::Home => f.write_str("home"),
            KeyCode::End => f.write_str("end"),
            KeyCode::Backspace => f.write_str("backspace"),
            KeyCode::Delete => f.write_str("delete"),
            KeyCode::F(n) => write!(f, "f{n}"),
            other => write!(f, "{other:?}"),
        }
    }
}

/// A sequence of keys, written space-separated: `g g`.
pub type Chord = Vec<Key>;

pub fn parse_chord(text: &str) -> Result<Chord, String> {
    let keys: Vec<Key> = text
        .split_whitespace()
        .map(Key::parse)
        .collect::<Result<_, _>>()?;
    if keys.is_empty() {
        return Err("an empty key".into());
    }
    Ok(keys)
}

pub fn chord_text(c: &Chord) -> String {
    c.iter()
        .map(|k| k.to_string())
        .collect::<Vec<_>>()
        .join(" ")
}

#[derive(Debug, Clone, PartialEq)]
pub struct Binding {
    pub context: Context,
    pub action: Action,
    pub keys: Vec<Chord>,
    pub description: &'static str,
}

#[derive(Debug, Clone)]
pub struct Keymap {
    pub bindings: Vec<Binding>,
}

/// What a key sequence means so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lookup {
    Action(Action),
    /// The keys so far begin a chord: wait for the next one.
    Pending,
    None,
}

/// The default keys, embedded (`data/keymap.toml`, one binding a line).
const DEFAULTS: &str = include_str!("../../data/keymap.toml");

#[derive(serde::Deserialize)]
struct DefaultFile {
    bindings: Vec<DefaultBinding>,
}

#[derive(serde::Deserialize)]
struct DefaultBinding {
    context: String,
    action: String,
    keys: Vec<String>,
    about: String,
}

/// The embedded defaults, read once. The file is part of the binary and checked by the
/// tests (every context, action and key in it must parse), so a failure here is a build
/// that was never tested.
fn default_bindings() -> &'static [Binding] {
    static PARSED: std::sync::OnceLock<Vec<Binding>> = std::sync::OnceLock::new();
    PARSED.get_or_init(|| {
        let file: DefaultFile = toml::from_str(DEFAULTS).expect("data/keymap.toml parses");
        let about: &'static [DefaultBinding] = Box::leak(file.bindings.into_boxed_slice());
        about
            .iter()
            .map(|d| Binding {
                context: Context::from_name(&d.context).expect("a known context"),
                action: Action::from_name(&d.action).expect("a known action"),
                keys: d
                    .keys
                    .iter()
                    .map(|k| parse_chord(k).expect("default keys parse"))
                    .collect(),
                description: d.about.as_str(),
            })
            .collect()
    })
}

impl Keymap {
    pub fn defaults() -> Keymap {
        Keymap {
            bindings: default_bindings().to_vec(),
        }
    }

    /// Defaults with the overrides of a keymap.toml applied:
    ///
    /// ```toml
    /// [global]
    /// quit = "ctrl-q"            # one chord
    /// [customers]
    /// search = ["/", "ctrl-f"]   # or several
    /// ```
    pub fn with_overrides(toml_text: &str) -> Result<Keymap, String> {
        let table: toml::Table = toml_text
            .parse()
            .map_err(|e: toml::de::Error| e.to_string())?;
        let mut map = Keymap::defaults();
        for (ctx_name, entries) in &table {
            let context = Context::from_name(ctx_name).ok_or_else(|| {
                format!(
                    "[{ctx_name}]: no such screen (use {})",
                    Context::ALL.map(|c| c.name()).join(", ")
                )
            })?;
            let entries = entries
                .as_table()
                .ok_or_else(|| format!("[{ctx_name}] must be a table of action = \"keys\""))?;
            for (action_name, value) in entries {
                let action = Action::from_name(action_name)
                    .ok_or_else(|| format!("[{ctx_name}] {action_name}: no such action"))?;
                let texts: Vec<&str> = match value {
                    toml::Value::String(s) => vec![s.as_str()],
                    toml::Value::Array(a) => a
                        .iter()
                        .map(|v| {
                            v.as_str().ok_or_else(|| {
                                format!("[{ctx_name}] {action_name}: keys must be strings")
                            })
                        })
                        .collect::<Result<_, _>>()?,
                    _ => {
                        return Err(format!(
                        "[{ctx_name}] {action_name}: keys must be a string or a list of strings"
                    ))
                    }
                };
                let keys: Vec<Chord> = texts
                    .iter()
                    .map(|t| parse_chord(t).map_err(|e| format!("[{ctx_name}] {action_name}: {e}")))
                    .collect::<Result<_, _>>()?;
                match map
                    .bindings
                    .iter_mut()
                    .find(|b| b.context == context && b.action == action)
                {
                    Some(b) => b.keys = keys,
                    None => {
                        let description = map
                            .bindings
                            .iter()
                            .find(|b| b.action == action)
                            .map(|b| b.description)
                            .unwrap_or("");
                        map.bindings.push(Binding {
                            context,
                            action,
                            keys,
                            description,
                        });
                    }
                }
            }
        }
        map.validate()?;
        Ok(map)
    }

    /// Refuses two actions on the same keys in one context, and a chord that another
    /// binding's keys begin (it could never be typed).
    pub fn validate(&self) -> Result<(), String> {
        for b in self.bindings.iter().filter(|b| b.context.is_popup()) {
            if let Some(k) = b.keys.iter().find(|k| k.len() > 1) {
                return Err(format!(
                    "[{}] {}: '{}': popups and text fields take single keys, not chords",
                    b.context.name(),
                    b.action.name(),
                    chord_text(k)
                ));
            }
        }
        // A form's field and a popup's filter line read keys through two contexts at once.
        for (a, b) in [
            (Context::Form, Context::Text),
            (Context::Popup, Context::Text),
        ] {
            for x in self.bindings.iter().filter(|x| x.context == a) {
                for y in self.bindings.iter().filter(|y| y.context == b) {
                    if let Some(k) = x.keys.iter().find(|k| y.keys.contains(k)) {
                        return Err(format!(
                            "'{}' is bound to both [{}] {} and [{}] {} (they apply together)",
                            chord_text(k),
                            a.name(),
                            x.action.name(),
                            b.name(),
                            y.action.name()
                        ));
                    }
                }
            }
        }
        for ctx in Context::ALL {
            let mut seen: Vec<(&Chord, Action)> = Vec::new();
            for b in self.bindings.iter().filter(|b| b.context == ctx) {
                for k in &b.keys {
                    for (other, action) in &seen {
                        if *other == k && *action != b.action {
                            return Err(format!(
                                "[{}] '{}' is bound to both {} and {}",
                                ctx.name(),
                                chord_text(k),
                                action.name(),
                                b.action.name()
                            ));
                        }
                        let (short, long) = if other.len() < k.len() {
                            (*other, k)
                        } else {
                            (k, *other)
                        };
                        if short.len() < long.len() && long.starts_with(short) {
                            return Err(format!(
                                "[{}] '{}' begins '{}', so the longer one could never be typed",
                                ctx.name(),
                                chord_text(short),
                                chord_text(long)
                            ));
                        }
                    }
                    seen.push((k, b.action));
                }
            }
        }
        Ok(())
    }

    /// The bindings that apply in a context: its own first, then the global ones whose keys
    /// it does not take.
    pub fn active(&self, context: Context) -> Vec<&Binding> {
        let own: Vec<&Binding> = self
            .bindings
            .iter()
            .filter(|b| b.context == context)
            .collect();
        let taken: Vec<&Chord> = own.iter().flat_map(|b| b.keys.iter()).collect();
        let mut out = own.clone();
        if context != Context::Global && !context.is_popup() {
            out.extend(
                self.bindings
                    .iter()
                    .filter(|b| {
                        b.context == Context::Global && !own.iter().any(|o| o.action == b.action)
                    })
                    .filter(|b| b.keys.iter().all(|k| !taken.contains(&k))),
            );
        }
        out
    }

    pub fn lookup(&self, context: Context, pressed: &[Key]) -> Lookup {
        let mut pending = false;
        for b in self.active(context) {
            for k in &b.keys {
                if k.as_slice() == pressed {
                    return Lookup::Action(b.action);
                }
                if k.len() > pressed.len() && k.starts_with(pressed) {
                    pending = true;
                }
            }
        }
        if pending {
            Lookup::Pending
        } else {
            Lookup::None
        }
    }

    /// The action one key press asks for in a popup or text context (no chords there).
    pub fn action_in(&self, context: Context, k: &Key) -> Option<Action> {
        match self.lookup(context, std::slice::from_ref(k)) {
            Lookup::Action(a) => Some(a),
            _ => None,
        }
    }

    /// Every key of an action in a context, as `y/enter`, for hints.
    pub fn keys_for(&self, context: Context, action: Action) -> String {
        self.active(context)
            .into_iter()
            .filter(|b| b.action == action)
            .flat_map(|b| b.keys.iter().map(chord_text))
            .collect::<Vec<_>>()
            .join("/")
    }

    /// The first key of an action in a context, for hints.
    pub fn key_for(&self, context: Context, action: Action) -> Option<String> {
        self.active(context)
            .into_iter()
            .find(|b| b.action == action)
            .and_then(|b| b.keys.first())
            .map(chord_text)
    }
}

/// Loads keymap.toml if it exists: the keymap and, if the file was refused, the warning
/// to show (the defaults are used then).
pub fn load(path: &std::path::Path) -> (Keymap, Option<String>) {
    match std::fs::read_to_string(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => (Keymap::defaults(), None),
        Err(e) => (
            Keymap::defaults(),
            Some(format!("{}: {e}; using default keys", path.display())),
        ),
        Ok(text) => match Keymap::with_overrides(&text) {
            Ok(k) => (k, None),
            Err(e) => (
                Keymap::defaults(),
                Some(format!("{}: {e}; using default keys", path.display())),
            ),
        },
    }
}

/// All bindings as (context, keys, action, description) rows, for help and the palette.
pub fn describe(map: &Keymap, context: Context) -> Vec<(String, Action, &'static str)> {
    let mut rows: Vec<(String, Action, &'static str)> = map
        .active(context)
        .into_iter()
        .map(|b| {
            let keys: Vec<String> = b.keys.iter().map(chord_text).collect();
            (keys.join(", "), b.action, b.description)
        })
        .collect();
    let mut seen = HashMap::new();
    rows.retain(|r| seen.insert(r.1, ()).is_none());
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(text: &str) -> Vec<Key> {
        parse_chord(text).unwrap()
    }

    #[test]
    fn defaults_are_valid_and_chords_wait() {
        let m = Keymap::defaults();
        m.validate().unwrap();
        assert_eq!(
            m.lookup(Context::Customers, &keys("j")),
            Lookup::Action(Action::MoveDown)
        );
        assert_eq!(m.lookup(Context::Customers, &keys("g")), Lookup::Pending);
        assert_eq!(
            m.lookup(Context::Customers, &keys("g g")),
            Lookup::Action(Action::Top)
        );
        assert_eq!(m.lookup(Context::Customers, &keys("z")), Lookup::None);
        assert_eq!(
            m.lookup(Context::Customers, &keys("ctrl-d")),
            Lookup::Action(Action::HalfPageDown)
        );
        assert_eq!(
            m.lookup(Context::Dashboard, &keys("tab")),
            Lookup::Action(Action::NextPane)
        );
        assert_eq!(
            m.lookup(Context::Targets, &keys("tab")),
            Lookup::None,
            "per-screen bindings"
        );
        // Popups and text fields: their own keys only, no global fallback (q is text).
        assert_eq!(m.action_in(Context::Text, &Key::parse("q").unwrap()), None);
        assert_eq!(
            m.action_in(Context::Text, &Key::parse("ctrl-w").unwrap()),
            Some(Action::KillWord)
        );
        assert_eq!(
            m.action_in(Context::Question, &Key::parse("F").unwrap()),
            Some(Action::ConfirmAnyway)
        );
    }

    #[test]
    fn popup_and_text_keys_are_remapped_and_checked_like_the_others() {
        let m = Keymap::with_overrides(
            "[text]\nkill_word = \"alt-backspace\"\n[form]\nsubmit = [\"ctrl-s\", \"f2\"]\n",
        )
        .unwrap();
        assert_eq!(
            m.action_in(Context::Text, &Key::parse("alt-backspace").unwrap()),
            Some(Action::KillWord)
        );
        assert_eq!(
            m.action_in(Context::Text, &Key::parse("ctrl-w").unwrap()),
            None
        );
        assert_eq!(
            m.action_in(Context::Form, &Key::parse("f2").unwrap()),
            Some(Action::Submit)
        );
        // A form key that a text field also reads would be ambiguous: refused.
        let err = Keymap::with_overrides("[form]\nsubmit = \"ctrl-w\"\n").unwrap_err();
        assert!(err.contains("ctrl-w") && err.contains("kill_word"), "{err}");
        let err = Keymap::with_overrides("[popup]\nconfirm = \"g g\"\n").unwrap_err();
        assert!(err.contains("single keys"), "{err}");
    }

    #[test]
    fn overrides_change_only_what_they_name() {
        let m = Keymap::with_overrides(
            "[global]\nquit = \"ctrl-q\"\n[customers]\nsearch = [\"/\", \"ctrl-f\"]\n",
        )
        .unwrap();
        assert_eq!(m.lookup(Context::Customers, &keys("q")), Lookup::None);
        assert_eq!(
            m.lookup(Context::Customers, &keys("ctrl-q")),
            Lookup::Action(Action::Quit)
        );
        assert_eq!(
            m.lookup(Context::Customers, &keys("ctrl-f")),
            Lookup::Action(Action::Search)
        );
        assert_eq!(
            m.lookup(Context::Customers, &keys("j")),
            Lookup::Action(Action::MoveDown)
        );
    }

    #[test]
    fn clashes_and_bad_files_are_refused_with_the_reason() {
        let e = Keymap::with_overrides("[customers]\nsearch = \"s\"\n").unwrap_err();
        assert!(e.contains("'s' is bound to both"), "{e}");
        let e = Keymap::with_overrides("[global]\nhelp = \"g\"\n").unwrap_err();
        assert!(e.contains("'g' begins 'g g'"), "{e}");
        assert!(Keymap::with_overrides("[global]\nfly = \"f\"\n")
            .unwrap_err()
            .contains("no such action"));
        assert!(Keymap::with_overrides("[nowhere]\nquit = \"q\"\n")
            .unwrap_err()
            .contains("no such screen"));
        assert!(Keymap::with_overrides("[global]\nquit = \"ctrl-\"\n")
            .unwrap_err()
            .contains("not a key"));
        assert!(Keymap::with_overrides("this is = not toml =").is_err());
    }

    #[test]
    fn a_bad_file_falls_back_with_a_warning() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("keymap.toml");
        std::fs::write(&p, "[global]\nquit = 3\n").unwrap();
        let (m, warning) = load(&p);
        assert_eq!(
            m.lookup(Context::Global, &keys("q")),
            Lookup::Action(Action::Quit)
        );
        assert!(warning.unwrap().contains("using default keys"));
        let (_, none) = load(&dir.path().join("missing.toml"));
        assert!(none.is_none());
    }
}
