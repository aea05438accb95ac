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

    /// A theme by name: the user's `themes/NAME.toml` in the config directory first, then
    /// the built-in ones.
    pub fn load(name: &str, user_dir: Option<&Path>) -> Result<Theme, String> {
        if let Some(dir) = user_dir {
            let p = dir.join(format!("{name}.toml"));
            if p.exists() {
                let text =
                    std::fs::read_to_string(&p).map_err(|e| format!("{}: {e}", p.display()))?;
                return Theme::parse(&p.display().to_string(), &text);
            }
        }
        match BUILT_IN.iter().find(|(n, _)| *n == name) {
            Some((n, text)) => Theme::parse(&format!("themes/{n}.toml"), text),
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
}

#[cfg(test)]
mod tests {
    use super::*;

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
