//! Pickers: a form field that names a rep, team, customer, product, region, stage or one
//! of a fixed set shows the best fuzzy matches of what is typed; `ctrl-n`/`ctrl-p` move
//! through them and `tab`/`enter` take the highlighted one. Fields whose value must be
//! one of the options (all but region) highlight the best match as soon as something is
//! typed; a region may be new, so nothing is highlighted until asked.

use super::{fuzzy_score, App, Form, Popup, Reply, Request};
use crate::app::edits::Pick;

/// How many suggestions a picker shows.
const SHOWN: usize = 6;

/// The suggestions under a focused picker field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Picker {
    pub matches: Vec<String>,
    /// The highlighted suggestion (taken by tab/enter), if any.
    pub chosen: Option<usize>,
}

/// The best matches of `text` among `options`, best first; `None` when there is nothing
/// to suggest (no options, no match, or the text already is an option).
pub fn rank(kind: Pick, text: &str, options: &[String]) -> Option<Picker> {
    let text = text.trim();
    if options.iter().any(|o| o.eq_ignore_ascii_case(text)) {
        return None;
    }
    let needle = text.to_lowercase();
    let mut scored: Vec<(i64, &String)> = options
        .iter()
        .filter_map(|o| fuzzy_score(&needle, &o.to_lowercase()).map(|s| (s, o)))
        .collect();
    // Best score first; among equals the shorter (closer) name, then the listed order.
    scored.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.len().cmp(&b.1.len())));
    let matches: Vec<String> = scored
        .into_iter()
        .take(SHOWN)
        .map(|(_, o)| o.clone())
        .collect();
    if matches.is_empty() {
        return None;
    }
    let chosen = (kind.strict() && !text.is_empty()).then_some(0);
    Some(Picker { matches, chosen })
}

impl Form {
    /// Moves the highlight through the suggestions (from none: the first or the last).
    pub(super) fn move_pick(&mut self, delta: i64) {
        if let Some(p) = &mut self.pick {
            let n = p.matches.len() as i64;
            p.chosen = Some(match p.chosen {
                None if delta > 0 => 0,
                None => (n - 1) as usize,
                Some(i) => (i as i64 + delta).rem_euclid(n) as usize,
            });
        }
    }

    /// Puts the highlighted suggestion into the field.
    pub(super) fn take_pick(&mut self) {
        if let Some(Picker {
            matches,
            chosen: Some(i),
        }) = self.pick.take()
        {
            if let Some(v) = matches.into_iter().nth(i) {
                let field = self.kind.fields()[self.focus].name;
                self.errors.retain(|(f, _)| f != field);
                self.values[self.focus] = v;
            }
        }
    }
}

impl App {
    /// Brings the open form's picker up to date with its focused field: asks the worker
    /// for the lists (once) and for customers matching what is typed.
    pub(super) fn sync_picker(&mut self) -> Vec<Request> {
        let Some(Popup::Form(form)) = &mut self.popup else {
            return Vec::new();
        };
        let mut out = Vec::new();
        let wants_lists =
            form.kind.fields().iter().any(
                |f| matches!(f.pick, Some(p) if !matches!(p, Pick::Fixed(_) | Pick::Customer)),
            );
        if wants_lists && self.pick_lists.is_none() && !self.pick_lists_pending {
            self.pick_lists_pending = true;
            out.push(Request::PickLists);
        }
        let Some(kind) = form.kind.fields().get(form.focus).and_then(|f| f.pick) else {
            form.pick = None;
            return out;
        };
        let text = form.values[form.focus].trim().to_string();
        let options: Vec<String> = match kind {
            Pick::Fixed(list) => list.iter().map(|s| s.to_string()).collect(),
            Pick::Customer => {
                if text.is_empty() {
                    Vec::new()
                } else {
                    if self.pick_customers.0 != text {
                        self.pick_customers.0 = text.clone();
                        out.push(Request::PickCustomers { text: text.clone() });
                    }
                    self.pick_customers.1.clone()
                }
            }
            other => self
                .pick_lists
                .as_ref()
                .and_then(|m| m.get(&other))
                .cloned()
                .unwrap_or_default(),
        };
        form.pick = rank(kind, &text, &options);
        out
    }
}

impl App {
    /// The worker's replies for this part of the screens; any other reply is given back.
    pub(super) fn picker_reply(&mut self, reply: Reply) -> Result<Vec<Request>, Reply> {
        Ok(match reply {
            Reply::PickLists(lists) => {
                self.pick_lists_pending = false;
                match lists {
                    Ok(l) => self.pick_lists = Some(l),
                    Err(e) => self.status = Some((format!("suggestions: {e}"), true)),
                }
                self.sync_picker()
            }
            Reply::PickCustomers { text, names } => {
                if self.pick_customers.0 == text {
                    self.pick_customers.1 = names;
                    return Ok(self.sync_picker());
                }
                Vec::new()
            }
            other => return Err(other),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn ranks_word_starts_first_and_knows_when_to_highlight() {
        let reps = names(&["Hannah Lee", "Anna Schmidt", "Johann Ek", "Bo Li"]);
        let p = rank(Pick::Rep, "an", &reps).unwrap();
        assert_eq!(p.matches[0], "Anna Schmidt", "{p:?}");
        assert_eq!(
            p.chosen,
            Some(0),
            "a rep must be one of them: best highlighted"
        );
        assert!(!p.matches.contains(&"Bo Li".to_string()));
        // An exact value needs no suggestion; nothing typed lists the options.
        assert_eq!(rank(Pick::Rep, "bo li", &reps), None);
        let all = rank(Pick::Rep, "", &reps).unwrap();
        assert_eq!((all.matches.len(), all.chosen), (4, None));
        // A region may be new: suggestions, nothing highlighted.
        let regions = names(&["EMEA", "Americas", "APAC"]);
        let r = rank(Pick::Region, "am", &regions).unwrap();
        assert_eq!((r.matches[0].as_str(), r.chosen), ("Americas", None));
        assert_eq!(rank(Pick::Region, "Nordics", &regions), None);
    }
}
