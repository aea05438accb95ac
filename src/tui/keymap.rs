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

    pub const ALL: [Context; 13] = [
        Context::Global,
        Context::Welcome,
        Context::Dashboard,
        Context::Customers,
        Context::Pipeline,
        Context::Targets,
        Context::Reports,
        Context::Setup,
        Context::Audit,
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

fn b(context: Context, action: Action, keys: &[&str], description: &'static str) -> Binding {
    Binding {
        context,
        action,
        keys: keys
            .iter()
            .map(|k| parse_chord(k).expect("default keys parse"))
            .collect(),
        description,
    }
}

impl Keymap {
    pub fn defaults() -> Keymap {
        use Action::*;
        use Context::*;
        Keymap {
            bindings: vec![
                b(Global, Quit, &["q", "ctrl-c"], "quit"),
                b(Global, Help, &["?"], "keys for this screen"),
                b(Global, Palette, &[":"], "command palette"),
                b(Global, MoveDown, &["j", "down"], "down"),
                b(Global, MoveUp, &["k", "up"], "up"),
                b(Global, Top, &["g g", "home"], "first row"),
                b(Global, Bottom, &["G", "end"], "last row"),
                b(
                    Global,
                    HalfPageDown,
                    &["ctrl-d", "pagedown"],
                    "half a page down",
                ),
                b(Global, HalfPageUp, &["ctrl-u", "pageup"], "half a page up"),
                b(Global, Back, &["esc"], "back / close"),
                b(Global, Refresh, &["ctrl-r"], "reload data"),
                b(
                    Global,
                    Undo,
                    &["u"],
                    "undo the last edit, move, won or lost of this session",
                ),
                b(Welcome, LoadDemo, &["d"], "load demo data"),
                b(Dashboard, NextPane, &["tab", "l", "right"], "next pane"),
                b(
                    Dashboard,
                    PrevPane,
                    &["backtab", "h", "left"],
                    "previous pane",
                ),
                b(Dashboard, PaneCustomers, &["1"], "Customers pane"),
                b(Dashboard, PaneFunnel, &["2"], "Funnel pane"),
                b(Dashboard, PaneTargets, &["3"], "Targets pane"),
                b(Dashboard, PaneForecast, &["4"], "Forecast pane"),
                b(Dashboard, OpenReports, &["5"], "Reports screen"),
                b(
                    Dashboard,
                    OpenSetup,
                    &["6"],
                    "Setup screen: teams, reps, products, stages",
                ),
                b(
                    Dashboard,
                    OpenAudit,
                    &["7"],
                    "Audit screen: who changed what, when",
                ),
                b(
                    Audit,
                    Open,
                    &["enter"],
                    "show the entry's row before and after",
                ),
                b(Setup, NextPane, &["tab", "l", "right"], "next tab"),
                b(Setup, PrevPane, &["backtab", "h", "left"], "previous tab"),
                b(Setup, Add, &["a"], "add a team, rep, product or stage"),
                b(Setup, Edit, &["e", "enter"], "edit the selected row"),
                b(Targets, PrevPeriod, &["[", "h", "left"], "previous period"),
                b(Targets, NextPeriod, &["]", "l", "right"], "next period"),
                b(Targets, CyclePeriodKind, &["p"], "month / quarter / year"),
                b(
                    Targets,
                    CycleMetric,
                    &["m"],
                    "won revenue / won deals / activities / new customers",
                ),
                b(Targets, SetTarget, &["s"], "set a target"),
                b(
                    Targets,
                    ReviseTarget,
                    &["r"],
                    "revise the selected target, with a reason",
                ),
                b(
                    Targets,
                    ProposeTargets,
                    &["P"],
                    "propose targets (goal, performance, resource) to review",
                ),
                b(Reports, Open, &["enter"], "run the selected report"),
                b(
                    Reports,
                    NextPane,
                    &["l", "right"],
                    "scroll the columns right",
                ),
                b(Reports, PrevPane, &["h", "left"], "scroll the columns left"),
                b(
                    Reports,
                    CycleBreakdown,
                    &["b"],
                    "break down by rep / team / product / region / source / segment",
                ),
                b(
                    Reports,
                    ExportReport,
                    &["e"],
                    "export the report as CSV and Markdown files",
                ),
                b(
                    Dashboard,
                    Open,
                    &["enter"],
                    "open the screen behind the pane",
                ),
                b(
                    Dashboard,
                    Recompute,
                    &["R"],
                    "recompute forecasts in the background",
                ),
                b(Dashboard, Search, &["/"], "search customers"),
                b(
                    Dashboard,
                    ViewAsOfData,
                    &["T"],
                    "view as of the last day with data (again: back to today)",
                ),
                b(Customers, Open, &["enter"], "open the customer"),
                b(Customers, Search, &["/"], "search name, email, city"),
                b(Customers, ClearFilter, &["x"], "clear search and filters"),
                b(
                    Customers,
                    CycleSort,
                    &["s"],
                    "sort by name / created / city",
                ),
                b(
                    Customers,
                    FilterSegment,
                    &["f"],
                    "filter by segment (cycles)",
                ),
                b(Customers, FilterStatus, &["t"], "filter by status (cycles)"),
                b(Customers, Add, &["a"], "add a customer"),
                b(Customers, FilterOwner, &["o"], "filter by owner (rep name)"),
                b(Customers, FilterRegion, &["r"], "filter by region"),
                b(Customers, Edit, &["e"], "edit the customer"),
                b(
                    Customers,
                    AddContact,
                    &["c"],
                    "add a contact (customer view)",
                ),
                b(
                    Customers,
                    EditContact,
                    &["E"],
                    "edit the selected contact (customer view)",
                ),
                b(
                    Customers,
                    LogActivity,
                    &["n"],
                    "log a call, visit, email, meeting or note",
                ),
                b(
                    Customers,
                    Delete,
                    &["D"],
                    "delete the customer (list) or the selected contact or activity (customer view)",
                ),
                b(
                    Customers,
                    Merge,
                    &["M"],
                    "merge the customer into another (a duplicate)",
                ),
                b(
                    Customers,
                    NextPane,
                    &["tab"],
                    "customer view: contacts or activity timeline",
                ),
                b(
                    Customers,
                    PrevPane,
                    &["backtab"],
                    "customer view: contacts or activity timeline",
                ),
                b(Pipeline, Delete, &["D"], "delete the deal"),
                b(Text, CursorLeft, &["left", "ctrl-b"], "cursor left"),
                b(Text, CursorRight, &["right", "ctrl-f"], "cursor right"),
                b(Text, LineStart, &["home", "ctrl-a"], "start of the line"),
                b(Text, LineEnd, &["end", "ctrl-e"], "end of the line"),
                b(
                    Text,
                    DeleteBack,
                    &["backspace", "ctrl-h"],
                    "delete the character before the cursor",
                ),
                b(
                    Text,
                    DeleteForward,
                    &["delete", "ctrl-d"],
                    "delete the character under the cursor",
                ),
                b(Text, KillToStart, &["ctrl-u"], "delete to the start"),
                b(Text, KillToEnd, &["ctrl-k"], "delete to the end"),
                b(Text, KillWord, &["ctrl-w"], "delete the word before the cursor"),
                b(Form, Submit, &["ctrl-s"], "save the form"),
                b(
                    Form,
                    Confirm,
                    &["enter"],
                    "next field (takes the picked suggestion); on the last field, save",
                ),
                b(
                    Form,
                    NextField,
                    &["tab", "down"],
                    "next field (takes the picked suggestion)",
                ),
                b(Form, PrevField, &["backtab", "up"], "previous field"),
                b(
                    Form,
                    PickNext,
                    &["ctrl-n"],
                    "next suggestion of a picker (owner, team, customer, product, region, …)",
                ),
                b(Form, PickPrev, &["ctrl-p"], "previous suggestion"),
                b(
                    Form,
                    TakeTheirs,
                    &["ctrl-t"],
                    "after a conflict: take the values stored elsewhere",
                ),
                b(Form, Cancel, &["esc"], "close the form without saving"),
                b(Popup, Confirm, &["enter"], "run / apply / close"),
                b(Popup, Cancel, &["esc"], "close"),
                b(Popup, MoveDown, &["down", "ctrl-n"], "down"),
                b(Popup, MoveUp, &["up", "ctrl-p"], "up"),
                b(Popup, HalfPageDown, &["pagedown"], "a page down"),
                b(Popup, HalfPageUp, &["pageup"], "a page up"),
                b(Question, Confirm, &["y", "enter"], "yes"),
                b(
                    Question,
                    ConfirmAnyway,
                    &["F"],
                    "yes, anyway (a delete the revenue ledger depends on)",
                ),
                b(Question, Cancel, &["n", "esc"], "no"),
                b(Pipeline, Add, &["a"], "add a deal"),
                b(
                    Pipeline,
                    Edit,
                    &["e"],
                    "edit the deal: name, amount, close date, owner",
                ),
                b(
                    Pipeline,
                    NextPane,
                    &["l", "right", "tab"],
                    "next stage column",
                ),
                b(
                    Pipeline,
                    PrevPane,
                    &["h", "left", "backtab"],
                    "previous stage column",
                ),
                b(
                    Pipeline,
                    StageForward,
                    &[">"],
                    "move the deal to the next stage",
                ),
                b(Pipeline, StageBack, &["<"], "move the deal back a stage"),
                b(Pipeline, MarkWon, &["W"], "mark the deal won (today)"),
                b(
                    Pipeline,
                    MarkLost,
                    &["L"],
                    "mark the deal lost, with a reason",
                ),
                b(Pipeline, ToggleView, &["v"], "board or list"),
                b(
                    Pipeline,
                    Explain,
                    &["x"],
                    "why this win probability: each factor's effect",
                ),
            ],
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
