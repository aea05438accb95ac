//! Keys inside popups and text fields. They go through the keymap's `form`, `text`,
//! `popup` and `question` contexts like every other key, so they can be remapped in
//! keymap.toml and are listed by `?`.

use super::{App, FilterField, Popup, Request, Screen};
use crate::tui::action::Action;
use crate::tui::keymap::{Context, Key};
use crate::tui::line::{self, Edit};

/// What each context makes of one key press.
struct Meaning {
    text: Option<Action>,
    form: Option<Action>,
    popup: Option<Action>,
    question: Option<Action>,
    /// The key's meaning on the screen under the popup (`?` closes help, `x` an
    /// explanation, `j`/`k` scroll a popup without a text line).
    screen: Option<Action>,
}

impl App {
    fn meaning(&self, k: &Key) -> Meaning {
        let screen = match self.keymap.lookup(self.context(), std::slice::from_ref(k)) {
            crate::tui::keymap::Lookup::Action(a) => Some(a),
            _ => None,
        };
        Meaning {
            text: self.keymap.action_in(Context::Text, k),
            form: self.keymap.action_in(Context::Form, k),
            popup: self.keymap.action_in(Context::Popup, k),
            question: self.keymap.action_in(Context::Question, k),
            screen,
        }
    }

    /// A key while a popup is open.
    pub(super) fn popup_key(&mut self, k: Key) -> Vec<Request> {
        let m = self.meaning(&k);
        let Some(popup) = &mut self.popup else {
            return Vec::new();
        };
        match popup {
            Popup::Help { filter, scroll } => {
                match m.popup {
                    Some(Action::Cancel | Action::Confirm) => self.popup = None,
                    Some(Action::MoveDown) => *scroll += 1,
                    Some(Action::MoveUp) => *scroll = scroll.saturating_sub(1),
                    Some(Action::HalfPageDown) => *scroll += 10,
                    Some(Action::HalfPageUp) => *scroll = scroll.saturating_sub(10),
                    _ if filter.text.is_empty() && m.screen == Some(Action::Help) => {
                        self.popup = None
                    }
                    _ => {
                        if filter.apply(&k, m.text) == Edit::Changed {
                            *scroll = 0;
                        }
                    }
                }
                Vec::new()
            }
            Popup::Form(_) => self.form_key(&k, &m),
            Popup::Filter { field, input } => match m.popup {
                Some(Action::Cancel) => {
                    self.popup = None;
                    Vec::new()
                }
                Some(Action::Confirm) => {
                    let value = Some(input.text.trim().to_string()).filter(|v| !v.is_empty());
                    let f = &mut self.customers.filter;
                    match field {
                        FilterField::Owner => f.owner = value,
                        FilterField::Region => f.region = value,
                        FilterField::MinPredicted => {
                            let amount = value.as_deref().map(crate::domain::parse_amount);
                            match amount {
                                Some(Err(e)) => {
                                    // The popup stays open with what was typed.
                                    self.status = Some((format!("predicted value: {e}"), true));
                                    return Vec::new();
                                }
                                Some(Ok(m)) => f.min_predicted_cents = Some(m.0),
                                None => f.min_predicted_cents = None,
                            }
                        }
                    }
                    self.popup = None;
                    self.reload_customers()
                }
                _ => {
                    input.apply(&k, m.text);
                    Vec::new()
                }
            },
            Popup::Proposal {
                proposal,
                scroll,
                saving,
            } => {
                if *saving {
                    return Vec::new();
                }
                match m.popup.or(m.screen) {
                    Some(Action::Cancel | Action::Back) => {
                        self.popup = None;
                        self.status = Some(("proposal dropped: nothing saved".into(), false));
                    }
                    Some(Action::Confirm) => {
                        *saving = true;
                        return vec![Request::SaveProposal(proposal.clone())];
                    }
                    Some(Action::MoveDown) => {
                        *scroll = (*scroll + 1).min(proposal.rows.len().saturating_sub(1))
                    }
                    Some(Action::MoveUp) => *scroll = scroll.saturating_sub(1),
                    _ => {}
                }
                Vec::new()
            }
            Popup::Explain { .. } => {
                if matches!(m.popup, Some(Action::Cancel | Action::Confirm))
                    || m.screen == Some(Action::Explain)
                {
                    self.popup = None;
                }
                Vec::new()
            }
            Popup::Confirm {
                request, strong, ..
            } => {
                let go = match m.question {
                    Some(Action::ConfirmAnyway) => *strong,
                    Some(Action::Confirm) if *strong => {
                        let key = self
                            .keymap
                            .key_for(Context::Question, Action::ConfirmAnyway)
                            .unwrap_or_default();
                        self.status = Some((
                            format!("this one needs {key} to go ahead (or n / esc)"),
                            true,
                        ));
                        return Vec::new();
                    }
                    Some(Action::Confirm) => true,
                    Some(Action::Cancel) => {
                        self.popup = None;
                        self.status = Some(("nothing changed".into(), false));
                        return Vec::new();
                    }
                    _ => false,
                };
                if !go {
                    return Vec::new();
                }
                let r = (**request).clone();
                self.popup = None;
                self.status = Some(("saving…".into(), false));
                vec![r]
            }
            Popup::LostReason { deal_id, input, .. } => match m.popup {
                Some(Action::Cancel) => {
                    self.popup = None;
                    Vec::new()
                }
                Some(Action::Confirm) => {
                    let reason = input.text.trim().to_string();
                    if reason.is_empty() {
                        self.status =
                            Some(("a lost deal needs a reason (esc cancels)".into(), true));
                        return Vec::new();
                    }
                    let deal_id = *deal_id;
                    self.popup = None;
                    self.status = Some(("saving…".into(), false));
                    vec![Request::MoveDeal {
                        deal_id,
                        to: crate::domain::deals::Move::Lost(reason),
                    }]
                }
                _ => {
                    input.apply(&k, m.text);
                    Vec::new()
                }
            },
            Popup::Palette { .. } => self.palette_key(&k, &m),
        }
    }

    /// A key in the command palette: run, move, close, or edit its filter line.
    fn palette_key(&mut self, k: &Key, m: &Meaning) -> Vec<Request> {
        let Some(Popup::Palette { input, selected }) = &mut self.popup else {
            return Vec::new();
        };
        match m.popup {
            Some(Action::Cancel) => {
                self.popup = None;
                Vec::new()
            }
            Some(Action::Confirm) => {
                let at = *selected;
                let choice = self.palette_matches().get(at).map(|m| m.0);
                self.popup = None;
                match choice {
                    Some(a) => self.update(a),
                    None => Vec::new(),
                }
            }
            Some(Action::MoveDown) => {
                *selected += 1;
                let n = self.palette_matches().len();
                if let Some(Popup::Palette { selected, .. }) = &mut self.popup {
                    *selected = (*selected).min(n.saturating_sub(1));
                }
                Vec::new()
            }
            Some(Action::MoveUp) => {
                *selected = selected.saturating_sub(1);
                Vec::new()
            }
            _ => {
                if input.apply(k, m.text) == Edit::Changed {
                    *selected = 0;
                }
                Vec::new()
            }
        }
    }

    /// A key in a form: the form's keys first, then the focused field's line editing.
    fn form_key(&mut self, k: &Key, m: &Meaning) -> Vec<Request> {
        let Some(Popup::Form(form)) = &mut self.popup else {
            return Vec::new();
        };
        if form.saving {
            return Vec::new();
        }
        let last = form.values.len().saturating_sub(1);
        let highlighted = form.pick.as_ref().is_some_and(|p| p.chosen.is_some());
        let submit = m.form == Some(Action::Submit)
            || (m.form == Some(Action::Confirm) && form.focus == last && !highlighted);
        if submit {
            form.saving = true;
            if form.kind == crate::app::edits::FormKind::ProposeTargets {
                return vec![Request::Propose {
                    values: form.submission(),
                }];
            }
            return vec![Request::SaveForm {
                kind: form.kind,
                values: form.submission(),
                base: form.base.clone(),
            }];
        }
        match m.form {
            Some(Action::Cancel) => self.popup = None,
            Some(Action::TakeTheirs) if !form.theirs.is_empty() => {
                form.take_theirs();
                self.status = Some((
                    "took the stored values; ctrl-s saves (or esc leaves it as stored)".into(),
                    false,
                ));
            }
            Some(Action::NextField | Action::Confirm) => {
                form.take_pick();
                form.focus_on((form.focus + 1).min(last));
                return self.sync_picker();
            }
            Some(Action::PrevField) => {
                form.focus_on(form.focus.saturating_sub(1));
                return self.sync_picker();
            }
            Some(Action::PickNext) => form.move_pick(1),
            Some(Action::PickPrev) => form.move_pick(-1),
            _ => {
                let field = form.kind.fields()[form.focus].name;
                if line::apply(&mut form.values[form.focus], &mut form.cursor, k, m.text)
                    == Edit::Changed
                {
                    // The field's error goes once its value is edited.
                    form.errors.retain(|(f, _)| f != field);
                    return self.sync_picker();
                }
            }
        }
        Vec::new()
    }

    /// A key while the customer search line is edited: every character is text.
    pub(super) fn search_key(&mut self, k: Key) -> Vec<Request> {
        let m = self.meaning(&k);
        let c = &mut self.customers;
        match m.popup {
            Some(Action::Confirm) => c.editing_search = false,
            Some(Action::Cancel) => {
                c.editing_search = false;
                if !c.filter.search.is_empty() {
                    c.filter.search.clear();
                    return self.reload_customers();
                }
            }
            _ => {
                if line::apply(&mut c.filter.search, &mut c.search_cursor, &k, m.text)
                    == Edit::Changed
                {
                    if self.screen != Screen::Customers {
                        self.screen = Screen::Customers;
                    }
                    return self.reload_customers();
                }
            }
        }
        Vec::new()
    }
}
