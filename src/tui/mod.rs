//! The terminal UI: ratatui over crossterm (`ratatui::crossterm`, one crossterm build).
//! Keys become actions through the keymap; one `update` applies them; the database and
//! models run on a worker thread; the screen is redrawn only when something changed.

pub mod action;
pub mod agenda;
pub mod audit;
pub mod keymap;
pub mod line;
pub mod screens;
mod segments;
pub mod setup;
pub mod state;
pub mod theme;
pub mod view;
pub mod worker;

use ratatui::crossterm::event::{self, Event as TermEvent};
use state::App;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;
use theme::Theme;
use worker::{Reply, Request};

/// What wakes the UI thread.
pub enum Event {
    Term(TermEvent),
    Reply(Reply),
    /// SIGTERM or SIGHUP: restore the terminal and leave.
    Terminate,
}

fn wrap_reply(r: Reply) -> Event {
    Event::Reply(r)
}

/// Where user configuration lives (`~/.config/funnel` on Linux).
pub fn config_dir() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "funnel").map(|d| d.config_dir().to_path_buf())
}

/// Picks the theme: `NO_COLOR` wins, then `--theme`, then `theme =` in config.toml, then
/// dark. A theme named on the command line that cannot be loaded is an error; one named
/// in config.toml falls back to the default with a warning.
pub fn choose_theme(
    flag: Option<&str>,
    config: Option<&Path>,
) -> Result<(Theme, Option<String>), String> {
    if std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()) {
        return Ok((Theme::monochrome(), None));
    }
    let user_themes = config.map(|c| c.join("themes"));
    if let Some(name) = flag {
        return Theme::load(name, user_themes.as_deref()).map(|t| (t, None));
    }
    let configured = config.map(|c| c.join("config.toml")).and_then(|p| {
        let text = std::fs::read_to_string(&p).ok()?;
        Some((p, text))
    });
    if let Some((path, text)) = configured {
        let parsed: Result<toml::Table, _> = text.parse();
        let name = match parsed {
            Ok(t) => t.get("theme").and_then(|v| v.as_str()).map(str::to_string),
            Err(e) => {
                return Ok((
                    Theme::default_dark(),
                    Some(format!("{}: {e}", path.display())),
                ))
            }
        };
        if let Some(name) = name {
            return Ok(match Theme::load(&name, user_themes.as_deref()) {
                Ok(t) => (t, None),
                Err(e) => (
                    Theme::default_dark(),
                    Some(format!("{e}; using the dark theme")),
                ),
            });
        }
    }
    Ok((Theme::default_dark(), None))
}

/// Runs the TUI on the database at `db` until the user quits.
pub fn run(db: &Path, theme_flag: Option<&str>, today: chrono::NaiveDate) -> anyhow::Result<()> {
    let config = config_dir();
    let (keymap, key_warning) = match &config {
        Some(c) => keymap::load(&c.join("keymap.toml")),
        None => (keymap::Keymap::defaults(), None),
    };
    let (theme, theme_warning) =
        choose_theme(theme_flag, config.as_deref()).map_err(anyhow::Error::msg)?;
    // 24-bit colour only where the terminal says it shows it; else the 256-colour palette.
    let theme = if theme::truecolor(std::env::var("COLORTERM").ok().as_deref()) {
        theme
    } else {
        theme.to_256()
    };
    let mut app = App::new(
        keymap,
        theme,
        today,
        db.display().to_string(),
        key_warning.or(theme_warning),
    );

    let (events, inbox) = mpsc::channel::<Event>();
    let (requests, worker_inbox) = mpsc::channel::<Request>();
    worker::spawn(
        db.to_path_buf(),
        today,
        worker_inbox,
        events.clone(),
        wrap_reply,
    );
    {
        let events = events.clone();
        std::thread::spawn(move || {
            while let Ok(e) = event::read() {
                if events.send(Event::Term(e)).is_err() {
                    break;
                }
            }
        });
    }
    {
        use signal_hook::consts::{SIGHUP, SIGTERM};
        let mut signals = signal_hook::iterator::Signals::new([SIGTERM, SIGHUP])?;
        let events = events.clone();
        std::thread::spawn(move || {
            if signals.forever().next().is_some() {
                let _ = events.send(Event::Terminate);
            }
        });
    }

    // try_init enters the alternate screen and installs a panic hook that restores the
    // terminal before the panic message is printed.
    let mut terminal = ratatui::try_init()?;
    // The wheel scrolls lists (shift-drag still selects text in most terminals).
    let _ = ratatui::crossterm::execute!(
        std::io::stdout(),
        ratatui::crossterm::event::EnableMouseCapture
    );
    let result = event_loop(&mut terminal, &mut app, &inbox, &requests);
    let _ = ratatui::crossterm::execute!(
        std::io::stdout(),
        ratatui::crossterm::event::DisableMouseCapture
    );
    ratatui::restore();
    result
}

/// Restores the terminal, stops the process (SIGTSTP, as the shell's ctrl-z would), and
/// takes the terminal again when the shell resumes it.
fn suspend(terminal: &mut ratatui::DefaultTerminal) -> anyhow::Result<()> {
    let _ = ratatui::crossterm::execute!(
        std::io::stdout(),
        ratatui::crossterm::event::DisableMouseCapture
    );
    ratatui::restore();
    // SAFETY: raising a signal on our own process; the default action stops it until
    // SIGCONT, after which execution continues here.
    unsafe {
        libc::raise(libc::SIGTSTP);
    }
    // Raw mode and the alternate screen again (a new terminal would ask for the cursor
    // position, and the input thread would take the answer).
    ratatui::crossterm::terminal::enable_raw_mode()?;
    ratatui::crossterm::execute!(
        std::io::stdout(),
        ratatui::crossterm::terminal::EnterAlternateScreen,
        ratatui::crossterm::terminal::Clear(ratatui::crossterm::terminal::ClearType::All),
        ratatui::crossterm::event::EnableMouseCapture
    )?;
    // ratatui draws only what changed since its last frame: a blank frame first, so that
    // the next one is drawn whole (`Terminal::clear` would ask for the cursor position).
    terminal.draw(|_| {})?;
    Ok(())
}

fn event_loop(
    terminal: &mut ratatui::DefaultTerminal,
    app: &mut App,
    inbox: &mpsc::Receiver<Event>,
    requests: &mpsc::Sender<Request>,
) -> anyhow::Result<()> {
    if let Ok(size) = terminal.size() {
        app.resize(size.width, size.height);
    }
    let mut dirty = true;
    loop {
        if dirty {
            terminal.draw(|f| view::render(app, f))?;
            dirty = false;
        }
        // Sleep until something happens; tick the spinner only while work is pending.
        let first = if app.busy() {
            match inbox.recv_timeout(Duration::from_millis(120)) {
                Ok(e) => Some(e),
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    app.tick = app.tick.wrapping_add(1);
                    dirty = true;
                    None
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => return Ok(()),
            }
        } else {
            match inbox.recv() {
                Ok(e) => Some(e),
                Err(_) => return Ok(()),
            }
        };
        let mut batch: Vec<Event> = first.into_iter().collect();
        while let Ok(e) = inbox.try_recv() {
            batch.push(e);
        }
        for e in batch {
            let out = match e {
                // ctrl-z: give the terminal back and stop, as a shell job does; `fg` resumes.
                Event::Term(TermEvent::Key(k))
                    if k.code == ratatui::crossterm::event::KeyCode::Char('z')
                        && k.modifiers
                            .contains(ratatui::crossterm::event::KeyModifiers::CONTROL) =>
                {
                    suspend(terminal)?;
                    dirty = true;
                    continue;
                }
                Event::Term(TermEvent::Key(k)) => app.handle_key(k),
                Event::Term(TermEvent::Mouse(m)) => app.handle_mouse(m),
                Event::Term(TermEvent::Resize(w, h)) => {
                    app.resize(w, h);
                    Vec::new()
                }
                Event::Term(_) => continue,
                Event::Reply(r) => app.on_reply(r),
                Event::Terminate => {
                    app.quit = true;
                    Vec::new()
                }
            };
            dirty = true;
            for r in out {
                let _ = requests.send(r);
            }
        }
        if app.quit {
            return Ok(());
        }
    }
}
