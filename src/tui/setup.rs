//! The Setup screen: the organisation (teams, reps, products, stages) in four tabs, with
//! forms to add and edit each. Its state, keys and replies live here; `view::setup` draws it.

use super::action::Action;
use super::state::{App, Form, Popup, Screen};
use super::worker::Request;
use crate::app::edits::FormKind;
use crate::domain::setup::Organisation;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Tab {
    #[default]
    Teams,
    Reps,
    Products,
    Stages,
}

impl Tab {
    pub const ALL: [Tab; 4] = [Tab::Teams, Tab::Reps, Tab::Products, Tab::Stages];
    pub fn title(self) -> &'static str {
        match self {
            Tab::Teams => "Teams",
            Tab::Reps => "Reps",
            Tab::Products => "Products",
            Tab::Stages => "Stages",
        }
    }
    fn step(self, by: isize) -> Tab {
        let i = Tab::ALL.iter().position(|t| *t == self).unwrap_or(0) as isize;
        Tab::ALL[(i + by).rem_euclid(Tab::ALL.len() as isize) as usize]
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct SetupScreen {
    pub tab: Tab,
    pub data: Option<Organisation>,
    pub selected: usize,
    pub error: Option<String>,
    /// Where the table's view begins (kept between frames).
    pub scroll: crate::tui::view::table::Scroll,
}

impl SetupScreen {
    /// Rows in the current tab.
    pub fn len(&self) -> usize {
        let Some(d) = &self.data else { return 0 };
        match self.tab {
            Tab::Teams => d.teams.len(),
            Tab::Reps => d.reps.len(),
            Tab::Products => d.products.len(),
            Tab::Stages => d.stages.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The form that edits the selected row, prefilled; `None` when there is none.
    fn edit_form(&self) -> Option<Form> {
        let d = self.data.as_ref()?;
        use crate::app::edits::{product_values, rep_values, stage_values, team_values};
        Some(match self.tab {
            Tab::Teams => {
                let t = d.teams.get(self.selected)?;
                Form::new(FormKind::Team(Some(t.id)), &team_values(t)).at_version(t.version)
            }
            Tab::Reps => {
                let r = d.reps.get(self.selected)?;
                Form::new(FormKind::Rep(Some(r.id)), &rep_values(r)).at_version(r.version)
            }
            Tab::Products => {
                let p = d.products.get(self.selected)?;
                Form::new(FormKind::Product(Some(p.id)), &product_values(p)).at_version(p.version)
            }
            Tab::Stages => {
                let s = d.stages.get(self.selected)?;
                Form::new(FormKind::Stage(Some(s.id)), &stage_values(s)).at_version(s.version)
            }
        })
    }

    fn new_form(&self) -> Form {
        match self.tab {
            Tab::Teams => Form::new(FormKind::Team(None), &[]),
            Tab::Reps => Form::new(
                FormKind::Rep(None),
                &[("capacity", "1".into()), ("active", "yes".into())],
            ),
            Tab::Products => Form::new(FormKind::Product(None), &[]),
            Tab::Stages => Form::new(FormKind::Stage(None), &[("kind", "open".into())]),
        }
    }
}

impl App {
    /// Opens the Setup screen and loads the organisation.
    pub fn open_setup(&mut self) -> Vec<Request> {
        self.screen = Screen::Setup;
        vec![Request::Setup]
    }

    /// The Setup screen's keys; `None` for the ones it leaves to the rest of the app.
    pub(crate) fn setup_action(&mut self, action: Action) -> Option<Vec<Request>> {
        let s = &mut self.setup;
        let last = s.len().saturating_sub(1);
        match action {
            Action::NextPane | Action::PrevPane => {
                s.tab = s.tab.step(if action == Action::NextPane { 1 } else { -1 });
                s.selected = 0;
            }
            _ if super::state::move_in_list(&mut s.selected, last, action) => {}
            Action::Add => self.popup = Some(Popup::Form(s.new_form())),
            Action::Edit | Action::Open => match s.edit_form() {
                Some(f) => self.popup = Some(Popup::Form(f)),
                None => {
                    self.status = Some((
                        format!("no {} yet: `a` adds one", s.tab.title().to_lowercase()),
                        true,
                    ))
                }
            },
            _ => return None,
        }
        Some(Vec::new())
    }

    /// The organisation from the worker.
    pub(super) fn on_setup(&mut self, data: Result<Organisation, String>) {
        match data {
            Ok(d) => {
                self.setup.data = Some(d);
                self.setup.error = None;
                self.setup.selected = self.setup.selected.min(self.setup.len().saturating_sub(1));
            }
            Err(e) => self.setup.error = Some(e),
        }
    }
}
