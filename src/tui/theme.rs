//! Colours by role, from TOML: the built-in themes in themes/ (embedded in the binary) and
//! the user's own in the config directory's themes/ folder. `NO_COLOR` gives a theme
//! without colour that marks focus and selection with bold and reverse video.

use ratatui::style::{Color, Modifier, Style};
use std::path::Path;
use std::str::FromStr;

const BUILT_IN: &[(&str, &str)] = &[
    ("dark", include_str!("../../themes/dark.toml")),
    ("light", include_str!("../../themes/light.toml")),
    (
        "high-contrast",
        include_str!("../../themes/high-contrast.toml"),
    ),
];

#[derive(Debug, Clone, PartialEq)]
pub struct Theme {
    pub name: String,
    pub base: Style,
    pub muted: Style,
    pub accent: Style,
    pub title: Style,
    pub border: Style,
    pub focus: Style,
    pub selected: Style,
    pub danger: Style,
    pub warning: Style,
    pub won: Style,
    pub lost: Style,
    pub forecast: Style,
    pub bar: Style,
}

const ROLES: [&str; 15] = [
    "base",
    "background",
    "muted",
    "accent",
    "title",
    "border",
    "focus",
    "selected_fg",
    "selected_bg",
    "danger",
    "warning",
    "won",
    "lost",
    "forecast",
    "bar",
];

impl Theme {
    pub fn default_dark() -> Theme {
        Theme::parse("themes/dark.toml", BUILT_IN[0].1).expect("built-in theme parses")
    }

    /// No colours at all (NO_COLOR): emphasis by modifiers only.
    pub fn monochrome() -> Theme {
        let plain = Style::default();
        Theme {
            name: "no-color".into(),
            base: plain,
            muted: plain.add_modifier(Modifier::DIM),
            accent: plain.add_modifier(Modifier::BOLD),
            title: plain.add_modifier(Modifier::BOLD),
            border: plain,
            focus: plain.add_modifier(Modifier::BOLD),
            selected: plain.add_modifier(Modifier::REVERSED),
            danger: plain.add_modifier(Modifier::BOLD),
            warning: plain.add_modifier(Modifier::BOLD),
            won: plain,
            lost: plain,
            forecast: plain.add_modifier(Modifier::ITALIC),
            bar: plain,
        }
    }

    /// Parses a theme file; errors name the file and the key.
    pub fn parse(file: &str, text: &str) -> Result<Theme, String> {
        let table: toml::Table = text
            .parse()
            .map_err(|e: toml::de::Error| format!("{file}: {e}"))?;
        let name = table
            .get("name")
            .and_then(|v| v.as_str())
            .unwrap_or(file)
            .to_string();
        let colors = table
            .get("colors")
            .and_then(|v| v.as_table())
            .ok_or_else(|| format!("{file}: missing [colors] table"))?;
        for key in colors.keys() {
            if !ROLES.contains(&key.as_str()) {
                return Err(format!(
                    "{file}: colors.{key}: unknown role (roles: {})",
                    ROLES.join(", ")
                ));
            }
        }
        let color = |role: &str| -> Result<Color, String> {
            match colors.get(role) {
                None => Err(format!("{file}: colors.{role}: missing")),
                Some(v) => {
                    let s = v
                        .as_str()
                        .ok_or_else(|| format!("{file}: colors.{role}: must be a string"))?;
                    Color::from_str(s)
                        .map_err(|_| format!("{file}: colors.{role}: '{s}' is not a colour"))
                }
            }
        };
        let bg = color("background")?;
        let fg =
            |role: &str| -> Result<Style, String> { Ok(Style::default().fg(color(role)?).bg(bg)) };
        Ok(Theme {
            name,
            base: fg("base")?,
            muted: fg("muted")?,
            accent: fg("accent")?,
            title: fg("title")?.add_modifier(Modifier::BOLD),
            border: fg("border")?,
            focus: fg("focus")?.add_modifier(Modifier::BOLD),
            selected: Style::default()
                .fg(color("selected_fg")?)
                .bg(color("selected_bg")?),
            danger: fg("danger")?,
            warning: fg("warning")?,
            won: fg("won")?,
            lost: fg("lost")?,
            forecast: fg("forecast")?,
            bar: fg("bar")?,
        })
    }

    /// The same theme for a terminal that shows 256 colours: every 24-bit colour becomes
    /// the nearest of the xterm palette (terminals that do not announce 24-bit colour in
    /// `COLORTERM`, such as tmux with `tmux-256color`, would otherwise show them wrongly).
    pub fn to_256(&self) -> Theme {
        let map = |s: Style| Style {
            fg: s.fg.map(nearest_256),
            bg: s.bg.map(nearest_256),
            ..s
        };
        Theme {
            name: self.name.clone(),
            base: map(self.base),
            muted: map(self.muted),
            accent: map(self.accent),
            title: map(self.title),
            border: map(self.border),
            focus: map(self.focus),
            selected: map(self.selected),
            danger: map(self.danger),
            warning: map(self.warning),
            won: map(self.won),
            lost: map(self.lost),
            forecast: map(self.forecast),
            bar: map(self.bar),
        }
    }

    /// A theme by name: the user's `themes/NAME.toml` in the config directory first, then
    /// the built-in ones. A theme with `inherits = "dark"` (or another theme's name) names
    /// only the roles it changes; the rest come from its parent.
    pub fn load(name: &str, user_dir: Option<&Path>) -> Result<Theme, String> {
        let (file, text) = theme_text(name, user_dir)?;
        let mut table: toml::Table = text
            .parse()
            .map_err(|e: toml::de::Error| format!("{file}: {e}"))?;
        let mut seen = vec![name.to_string()];
        while let Some(parent) = table.remove("inherits") {
            let parent = parent
                .as_str()
                .ok_or_else(|| format!("{file}: inherits: must be a theme's name"))?
                .to_string();
            if seen.contains(&parent) {
                return Err(format!(
                    "{file}: inherits: '{parent}' leads back to itself ({})",
                    seen.join(" -> ")
                ));
            }
            let (pfile, ptext) =
                theme_text(&parent, user_dir).map_err(|e| format!("{file}: inherits: {e}"))?;
            let mut ptable: toml::Table = ptext
                .parse()
                .map_err(|e: toml::de::Error| format!("{pfile}: {e}"))?;
            let own = table
                .remove("colors")
                .and_then(|c| c.as_table().cloned())
                .unwrap_or_default();
            let mut colors = ptable
                .remove("colors")
                .and_then(|c| c.as_table().cloned())
                .unwrap_or_default();
            colors.extend(own);
            table.insert("colors".into(), toml::Value::Table(colors));
            if let Some(next) = ptable.remove("inherits") {
                table.insert("inherits".into(), next);
            }
            seen.push(parent);
        }
        if !table.contains_key("name") {
            table.insert("name".into(), toml::Value::String(name.into()));
        }
        Theme::parse(&file, &table.to_string())
    }
}

/// A theme's file name and text: the user's own first, then the built-in ones.
fn theme_text(name: &str, user_dir: Option<&Path>) -> Result<(String, String), String> {
    if let Some(dir) = user_dir {
        let p = dir.join(format!("{name}.toml"));
        if p.exists() {
            let text = std::fs::read_to_string(&p).map_err(|e| format!("{}: {e}", p.display()))?;
            return Ok((p.display().to_string(), text));
        }
    }
    match BUILT_IN.iter().find(|(n, _)| *n == name) {
        Some((n, text)) => Ok((format!("themes/{n}.toml"), text.to_string())),
        None => Err(format!(
            "no theme named '{name}' (built in: {})",
            BUILT_IN
                .iter()
                .map(|(n, _)| *n)
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

/// Whether the terminal announces 24-bit colour (`COLORTERM=truecolor` or `24bit`).
pub fn truecolor(colorterm: Option<&str>) -> bool {
    colorterm.is_some_and(|c| {
        let c = c.to_ascii_lowercase();
        c == "truecolor" || c == "24bit"
    })
}

/// The xterm-256 colour nearest to a 24-bit one (the 6x6x6 cube or the grey ramp, which
/// ever is closer); other colours as they are.
pub fn nearest_256(c: Color) -> Color {
    let Color::Rgb(r, g, b) = c else { return c };
    let level = |v: u8| -> (u8, u8) {
        // The cube's levels are 0, 95, 135, 175, 215, 255.
        const LEVELS: [u8; 6] = [0, 95, 135, 175, 215, 255];
        let i = LEVELS
            .iter()
            .enumerate()
            .min_by_key(|(_, l)| (**l as i32 - v as i32).abs())
            .map(|(i, _)| i)
            .unwrap_or(0);
        (i as u8, LEVELS[i])
    };
    let (ri, rv) = level(r);
    let (gi, gv) = level(g);
    let (bi, bv) = level(b);
    let dist = |x: (u8, u8, u8)| {
        let d = |a: u8, b: u8| (a as i32 - b as i32).pow(2);
        d(x.0, r) + d(x.1, g) + d(x.2, b)
    };
    let cube = 16 + 36 * ri + 6 * gi + bi;
    let mean = (r as u32 + g as u32 + b as u32) / 3;
    let grey_i = ((mean.saturating_sub(8)) / 10).min(23) as u8;
    let grey_v = 8 + 10 * grey_i;
    if dist((grey_v, grey_v, grey_v)) < dist((rv, gv, bv)) {
        Color::Indexed(232 + grey_i)
    } else {
        Color::Indexed(cube)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_truecolor_themes_use_the_256_palette() {
        assert!(truecolor(Some("truecolor")) && truecolor(Some("24BIT")));
        assert!(!truecolor(None) && !truecolor(Some("")));
        assert_eq!(nearest_256(Color::Rgb(255, 0, 0)), Color::Indexed(196));
        assert_eq!(nearest_256(Color::Rgb(0, 0, 0)), Color::Indexed(16));
        assert_eq!(nearest_256(Color::Rgb(128, 128, 128)), Color::Indexed(244));
        assert_eq!(nearest_256(Color::Reset), Color::Reset);
        for (name, _) in BUILT_IN {
            let t = Theme::load(name, None).unwrap().to_256();
            for s in [t.base, t.muted, t.selected, t.bar, t.focus] {
                for c in [s.fg, s.bg].into_iter().flatten() {
                    assert!(!matches!(c, Color::Rgb(..)), "{name}: {c:?}");
                }
            }
        }
        // The light theme paints its own background rather than trusting the terminal's.
        let light = Theme::load("light", None).unwrap();
        assert!(matches!(light.base.bg, Some(Color::Rgb(..))));
    }

    #[test]
    fn built_in_themes_parse() {
        for (name, _) in BUILT_IN {
            let t = Theme::load(name, None).unwrap();
            assert_eq!(&t.name, name);
        }
    }

    #[test]
    fn broken_theme_names_file_and_key() {
        let e = Theme::parse("mine.toml", "[colors]\nbase = \"chartreuse-ish\"\n").unwrap_err();
        assert!(e.contains("mine.toml") && e.contains("colors."), "{e}");
        let full = BUILT_IN[0].1.replace("#e06c75", "notacolour");
        let e = Theme::parse("mine.toml", &full).unwrap_err();
        assert!(
            e.contains("mine.toml: colors.danger: 'notacolour' is not a colour"),
            "{e}"
        );
        let e = Theme::parse(
            "mine.toml",
            &format!("{}\nsparkle = \"red\"\n", BUILT_IN[0].1),
        )
        .unwrap_err();
        assert!(e.contains("colors.sparkle: unknown role"), "{e}");
        assert!(Theme::load("nope", None)
            .unwrap_err()
            .contains("built in: dark, light, high-contrast"));
    }

    #[test]
    fn a_theme_names_only_what_it_changes_and_inherits_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("mine.toml"),
            "name = \"mine\"\ninherits = \"dark\"\n[colors]\ndanger = \"#ff0000\"\n",
        )
        .unwrap();
        let mine = Theme::load("mine", Some(dir.path())).unwrap();
        let dark = Theme::load("dark", None).unwrap();
        assert_eq!(mine.danger.fg, Some(Color::Rgb(255, 0, 0)));
        assert_eq!((mine.base, mine.bar), (dark.base, dark.bar));
        std::fs::write(
            dir.path().join("loop.toml"),
            "inherits = \"loop\"\n[colors]\n",
        )
        .unwrap();
        let e = Theme::load("loop", Some(dir.path())).unwrap_err();
        assert!(e.contains("leads back to itself"), "{e}");
        let e = Theme::load("mine", None).unwrap_err();
        assert!(e.contains("no theme named 'mine'"), "{e}");
    }

    #[test]
    fn user_themes_come_first() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("mine.toml"),
            BUILT_IN[1].1.replace("name = \"light\"", "name = \"mine\""),
        )
        .unwrap();
        assert_eq!(Theme::load("mine", Some(dir.path())).unwrap().name, "mine");
    }
}
